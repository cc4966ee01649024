"""The diagnosis: each finding with its evidence, cause and remedies, and a button to try each remedy.

The view only shows and asks: it receives findings (live, as a run finds
them) and the final report, and emits ``remedy_chosen`` or
``repair_requested`` when the user asks for one. What a remedy does is
`gui.remedy_trials`' business.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from gui.i18n import tr

PROBLEM_COLOR, NOTE_COLOR, GOOD_COLOR = "#b03a2e", "#6b6b6b", "#1e7b34"


def _text(value) -> str:
    """A finding's `Text` in the window's language, escaped for rich text."""
    return html.escape(value.translated(tr), quote=False)


class FindingCard(QFrame):
    """One finding: what, where, the evidence, the cause, and a button per remedy."""

    remedy_chosen = Signal(object, object)  # Finding, Remedy

    def __init__(self, finding, parent=None):
        super().__init__(parent)
        self.finding = finding
        problem = finding.severity == "problem"
        color = PROBLEM_COLOR if problem else NOTE_COLOR
        self.setObjectName("findingCard")
        self.setStyleSheet(f"#findingCard {{ border: 1px solid #d8d8d8; border-left: 4px solid {color}; "
                           "border-radius: 3px; background: white; }")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 8, 6)
        layout.setSpacing(3)
        where = finding.where(tr)
        tag = tr("Problem") if problem else tr("Note")
        header = QLabel(f"<span style='color:{color}'><b>{tag}</b></span> · <b>{html.escape(tr(finding.title))}</b>"
                        + (f" <span style='color:#777'>· {' · '.join(where)}</span>" if where else "")
                        + f" <span style='color:#999'><code>{finding.code}</code></span>")
        layout.addWidget(header)
        for text in (_text(finding.evidence), f"<i>{tr('Why:')}</i> {_text(finding.cause)}"):
            label = QLabel(text)
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextSelectableByMouse)
            layout.addWidget(label)
        self.buttons: list[QPushButton] = []
        for remedy in finding.remedies:
            row = QHBoxLayout()
            row.setSpacing(6)
            label = QLabel("→ " + _text(remedy.text))
            label.setWordWrap(True)
            label.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
            button = QPushButton(tr("Try this remedy"))
            button.setToolTip(tr("Apply this change to the project (Edit ▸ Undo takes it back), train again, and "
                                 "compare with this run."))
            button.clicked.connect(lambda _=False, remedy=remedy: self.remedy_chosen.emit(self.finding, remedy))
            row.addWidget(label, 1)
            row.addWidget(button, 0, Qt.AlignTop)
            layout.addLayout(row)
            self.buttons.append(button)


class DiagnosisView(QWidget):
    """The findings of the current run, live while it trains and in full when it ends."""

    remedy_chosen = Signal(object, object)  # Finding, Remedy
    repair_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.cards: list[FindingCard] = []
        self.report = None
        self._running = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        top = QHBoxLayout()
        self.status = QLabel(tr("The diagnosis of a run appears here: what went wrong, the evidence, the cause, and "
                                "remedies to try."))
        self.status.setWordWrap(True)
        self.repair_button = QPushButton(tr("Repair automatically"))
        self.repair_button.setToolTip(tr("Try the remedies of the worst finding one after another (at most 3 "
                                         "retrains), keep the best run, and report every attempt."))
        self.repair_button.clicked.connect(self.repair_requested)
        self.repair_button.setEnabled(False)
        top.addWidget(self.status, 1)
        top.addWidget(self.repair_button, 0, Qt.AlignTop)
        layout.addLayout(top)
        self.outcome = QLabel("")
        self.outcome.setWordWrap(True)
        self.outcome.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.outcome.hide()
        layout.addWidget(self.outcome)
        self._list = QWidget()
        self._list_layout = QVBoxLayout(self._list)
        self._list_layout.setContentsMargins(0, 0, 0, 0)
        self._list_layout.setSpacing(6)
        self._list_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setWidget(self._list)
        layout.addWidget(scroll, 1)

    # ------------------------------------------------------------- showing
    def clear(self, keep_outcome: bool = False) -> None:
        """Forgets the findings (a new run starts); the last remedy's outcome stays when asked."""
        for card in self.cards:
            card.setParent(None)
            card.deleteLater()
        self.cards = []
        self.report = None
        if not keep_outcome:
            self.outcome.hide()
            self.outcome.setText("")
        self.repair_button.setEnabled(False)

    def start_run(self) -> None:
        self.clear(keep_outcome=True)
        self._running = True
        self.status.setText(tr("Watching the run: findings appear here the epoch they are seen."))

    def add_findings(self, findings) -> None:
        """Adds findings first seen during the run, each as a card."""
        for finding in findings:
            self._add_card(finding)
        problems = self.problem_count()
        self.status.setText(tr("Watching the run: {problems} problem(s) and {notes} note(s) so far.",
                               problems=problems, notes=len(self.cards) - problems))

    def show_report(self, report) -> None:
        """The run's full diagnosis (`DiagnosisReport`), replacing the live cards."""
        self.clear(keep_outcome=True)
        self._running = False
        self.report = report
        for finding in report.findings:
            self._add_card(finding)
        color = GOOD_COLOR if report.healthy else PROBLEM_COLOR
        mark = "✓" if report.healthy else "⚠"
        self.status.setText(f"<span style='color:{color}'><b>{mark} {_text(report.summary())}</b></span>")
        self.repair_button.setEnabled(any(finding.remedies for finding in report.findings))

    def show_outcome(self, sentence: str, good: bool) -> None:
        """What the last remedy did, above the findings."""
        color = GOOD_COLOR if good else PROBLEM_COLOR
        self.outcome.setText(f"<span style='color:{color}'><b>{html.escape(sentence, quote=False)}</b></span>")
        self.outcome.show()

    def set_running(self, running: bool) -> None:
        """Remedies cannot be tried while a job runs."""
        self._running = running
        for card in self.cards:
            for button in card.buttons:
                button.setEnabled(not running)
        self.repair_button.setEnabled(not running and self.report is not None
                                      and any(finding.remedies for finding in self.report.findings))

    def _add_card(self, finding) -> None:
        card = FindingCard(finding)
        card.remedy_chosen.connect(self.remedy_chosen)
        for button in card.buttons:
            button.setEnabled(not self._running)
        self._list_layout.insertWidget(self._list_layout.count() - 1, card)
        self.cards.append(card)

    def problem_count(self) -> int:
        return sum(card.finding.severity == "problem" for card in self.cards)

    def codes(self) -> list[str]:
        """The codes of the findings shown, in order."""
        return [card.finding.code for card in self.cards]
