"""The Results tab: the run's figures above its diagnosis (or cross-validation's folds)."""

from __future__ import annotations

import html
import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QSplitter, QTextBrowser

from gui.diagnosis_view import DiagnosisView
from gui.i18n import tr


class ResultsPage(QSplitter):
    """The figures of the last run (``text``) above its diagnosis (``diagnosis``).

    Args:
        marks: the loss chart's `FindingMarks`, which follow the findings shown here.
    """

    problems_changed = Signal(int)  # how many problems the diagnosis shows now

    def __init__(self, marks, parent=None):
        super().__init__(Qt.Vertical, parent)
        self.marks = marks
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(False)
        self.text.setPlaceholderText(tr("Test-set results appear here when training ends."))
        self.diagnosis = DiagnosisView()
        self.addWidget(self.text)
        self.addWidget(self.diagnosis)
        self.setStretchFactor(0, 1)
        self.setStretchFactor(1, 3)
        self.setSizes([100, 300])
        self.setChildrenCollapsible(False)

    def add_findings(self, findings) -> None:
        """New findings of a run: a card each, and a mark on the loss chart at their epoch."""
        self.diagnosis.add_findings(findings)
        for finding in findings:
            self.marks.add(finding)
        self.problems_changed.emit(self.diagnosis.problem_count())

    def show_diagnosis(self, report) -> None:
        """The run's full diagnosis; the marks follow it (the end may drop a finding the run had shown)."""
        self.marks.clear()
        for finding in report.findings:
            self.marks.add(finding)
        self.diagnosis.show_report(report)
        self.problems_changed.emit(len(report.problems))

    def clear_for_a_run(self) -> None:
        self.text.clear()
        self.diagnosis.clear(keep_outcome=True)
        self.problems_changed.emit(0)


def tab_title(problems: int) -> str:
    """"Results", or "Results ⚠ 2" while the diagnosis shows problems."""
    return tr("Results") + (f" ⚠ {problems}" if problems else "")


def test_summary(result) -> str:
    """The test figures for the toolbar: the metric and the loss."""
    parts = [f"{tr('test')} {tr(key)} {result.test_metrics[key]:.4f}" for key in (result.metric, "loss")
             if key in result.test_metrics]
    return "  " + " · ".join(parts) if parts else ""


def run_html(result) -> str:
    """How the run ended, its test and final figures, and where its folder is."""
    rows = "".join(f"<tr><td>{tr('test')} {tr(key)}</td><td align=right><b>{value:.4f}</b></td></tr>"
                   for key, value in result.test_metrics.items())
    final = {key: values[-1] for key, values in result.history.items() if values}
    rows += "".join(f"<tr><td>{tr('final')} {tr(key)}</td><td align=right>{value:.4g}</td></tr>"
                    for key, value in final.items())
    reason = tr(result.reason_text)
    summary = tr("{epochs} epoch(s) in {seconds} s on {device}, {speed} training samples/s.",
                 epochs=result.epochs_run, seconds=f"{result.elapsed_s:.1f}", device=result.device,
                 speed=f"{result.train_samples_per_second:,.0f}")
    return (
        f"<h3>{reason[0].upper() + reason[1:]}</h3><p>{summary}</p>"
        f"<table cellspacing=4>{rows}</table>"
        + (f"<p>{tr('Run folder:')} <code>{result.run_dir}</code></p>" if result.run_dir and not result.save_error
           else "")
        # The views of the inside stopped where the instruments did: say why (the engine's English).
        + (f"<p>{html.escape(result.instruments_error)}</p>" if result.instruments_error else "")
    )


def crossval_html(done: list, fold: tuple[int, int] | None, outcome=None) -> str:
    """The folds' held-out scores so far, and their mean ± standard deviation once all are in."""
    folds = fold[1] if fold else len(done)
    names = list(dict.fromkeys(name for fold in done for name in fold.scores)) or ["loss"]
    head = "".join(f"<th align=right>{tr(name)}</th>" for name in names)
    rows = "".join(
        f"<tr><td>{tr('fold {fold}', fold=fold.fold)}</td><td align=right>{fold.train_rows:,}</td><td align=right>{fold.held_out_rows:,}</td>"
        + "".join(f"<td align=right>{fold.scores.get(name, math.nan):.4f}</td>" for name in names) + "</tr>"
        for fold in done)
    if outcome is not None and outcome.results:
        rows += (f"<tr><td><b>{tr('mean ± sd')}</b></td><td></td><td></td>"
                 + "".join(f"<td align=right><b>{outcome.mean(name):.4f} ± {outcome.std(name):.4f}</b></td>"
                           for name in names) + "</tr>")
    if outcome is None:
        status = tr("{done} of {folds} folds done", done=len(done), folds=folds)
    elif outcome.stopped:
        status = tr("Stopped: {done} of {folds} folds done", done=len(done), folds=folds)
    else:
        status = tr("All {folds} folds done", folds=folds)
    if outcome is not None and outcome.diverged:
        status += ". " + tr("The loss became NaN in fold(s) {folds}, so the means are NaN: lower the learning rate "
                            "or clip gradients", folds=", ".join(map(str, outcome.diverged)))
    explanation = tr(
        "The training rows are cut into K folds; K fresh models train with these settings, each on the "
        "other folds, and each is scored on the fold it did not see. The spread of the scores shows how much "
        "one split's luck can move a result. The test rows are not used.")
    return (
        f"<h3>{tr('{folds}-fold cross-validation', folds=folds)}</h3><p>{explanation}</p><p>{status}.</p>"
        f"<table cellspacing=6><tr><th align=left>{tr('fold')}</th><th align=right>{tr('trained on')}</th>"
        f"<th align=right>{tr('held out')}</th>{head}</tr>{rows}</table>"
    )
