"""Trying remedies: what one remedy changed, and AUTOTRAINER's automatic repair.

`remedy_outcome` compares the diagnosis of a run with that of the run after
a remedy ("validation loss 0.41 → 0.28, overfitting gone"). `Repair` is the
repair loop's plan as plain data: the caller trains each project it hands
out and records the outcome; the window and the command line drive it the
same way, each with its own way of training.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from models.diagnosis.findings import (
    FIGURE_NAMES,
    PROBLEM,
    TITLES,
    DiagnosisReport,
    Finding,
    Remedy,
    Text,
)
from models.diagnosis.remedies import apply_edit
from models.errors import UserError
from models.network.spec import project_to_dict


@dataclass
class RemedyOutcome:
    """What a remedy did to a finding.

    Args:
        code: the finding's code.
        gone: whether the run after the remedy no longer has it.
        figure: the figure compared (a key of `FIGURE_NAMES`).
        before: its value before the remedy.
        after: its value after.
    """

    code: str
    gone: bool
    figure: str
    before: float
    after: float

    def sentence(self) -> Text:
        change = Text.of("{figure} {before} → {after}", figure=Text.of(FIGURE_NAMES.get(self.figure, self.figure)),
                         before=_shown(self.before), after=_shown(self.after))
        if self.gone:
            return Text.of("{title}: gone ({change}).", title=Text.of(TITLES[self.code]), change=change)
        return Text.of("{title}: still there ({change}).", title=Text.of(TITLES[self.code]), change=change)


def _shown(value: float) -> str:
    return f"{value:.4g}" if math.isfinite(value) else "NaN"


def _value(report: DiagnosisReport, finding: Finding | None, name: str) -> float:
    if finding is not None and finding.figure is not None and finding.figure[0] == name:
        return float(finding.figure[1])
    return float(report.figures.get(name, math.nan))


def remedy_outcome(code: str, before: DiagnosisReport, after: DiagnosisReport) -> RemedyOutcome:
    """How the finding ``code`` of ``before`` fared in ``after``, with the figure that shows it.

    The figure is the finding's own when both runs have it, else the
    validation loss (or the training loss without validation).
    """
    old, new = before.find(code), after.find(code)
    name = old.figure[0] if old is not None and old.figure is not None else ""
    first, second = _value(before, old, name), _value(after, new, name)
    if not name or not math.isfinite(second):
        name = "val_loss" if "val_loss" in before.figures else "loss"
        first, second = _value(before, None, name), _value(after, None, name)
    return RemedyOutcome(code, new is None, name, first, second)


def score(report: DiagnosisReport) -> float:
    """The figure a repair minimises among runs alike in problems: the final validation loss, else the
    training loss; infinite when not a number."""
    value = report.figures.get("val_loss", report.figures.get("loss", math.nan))
    return value if value is not None and math.isfinite(value) else math.inf


@dataclass
class Attempt:
    """One run of a repair: the original (no remedy) or one remedy tried."""

    remedy: Remedy | None
    project: object
    report: DiagnosisReport | None
    run_dir: str = ""
    failure: str = ""  # a sentence when the run could not train
    stopped: bool = False  # stopped by the user before its end: its diagnosis judges nothing

    @property
    def judged(self) -> bool:
        """Whether the run's diagnosis can say if a finding is gone: it trained to its end."""
        return self.report is not None and not self.stopped

    @property
    def rank(self) -> tuple:
        if not self.judged:
            return (math.inf, math.inf)
        return (len(self.report.problems), score(self.report))


@dataclass
class Repair:
    """AUTOTRAINER's repair loop: the remedies of the worst finding, one run each, until one cures it.

    A remedy that improved the run without curing it is kept, and the next is tried on top of
    it (wider layers, then also a second layer, then also more epochs), as AUTOTRAINER carries
    a repair forward. Two remedies of the same kind (÷10, then ÷100) are alternatives: the
    second replaces the first.

    Args:
        original: the first run, already diagnosed.
        attempts: the most remedies to try (retrains). Defaults to `3`.
    """

    original: Attempt
    attempts: int = 3
    tried: list[Attempt] = field(default_factory=list)

    def __post_init__(self):
        report = self.original.report
        self.target: Finding | None = None
        if report is not None:
            self.target = next((finding for finding in report.findings if finding.remedies
                                and finding.severity == PROBLEM), None) or \
                next((finding for finding in report.findings if finding.remedies), None)
        self._remedies = list(self.target.remedies) if self.target else []
        self._base = self.original  # the best run so far, on which the next remedy is tried
        self._base_kinds: list[str] = []  # the edits that made it

    @property
    def repaired(self) -> bool:
        return any(self.cured(attempt) for attempt in self.tried)

    def cured(self, attempt: Attempt) -> bool:
        return self.target is not None and attempt.judged and attempt.report.find(self.target.code) is None

    def next_try(self) -> tuple[Remedy, object] | None:
        """The next remedy and the project it makes, or `None` when cured, out of remedies or of attempts."""
        while self._remedies and not self.repaired and len(self.tried) < self.attempts:
            remedy = self._remedies.pop(0)
            on_top = remedy.edit.get("kind") not in self._base_kinds
            base = self._base if on_top else self.original
            try:
                edited = apply_edit(base.project, remedy.edit)
            except UserError as error:  # a remedy this project cannot take: counted, not run
                self.tried.append(Attempt(remedy, self.original.project, None, failure=str(error)))
                continue
            if project_to_dict(edited) != project_to_dict(base.project):  # one that changes nothing is skipped
                return remedy, edited
        return None

    def record(self, attempt: Attempt) -> None:
        self.tried.append(attempt)
        if attempt.judged and attempt.rank < self._base.rank:
            on_top = attempt.remedy.edit.get("kind") not in self._base_kinds
            self._base_kinds = [*(self._base_kinds if on_top else []), attempt.remedy.edit.get("kind")]
            self._base = attempt

    def best(self) -> Attempt:
        """The run to keep: a cured run with the fewest problems and the lowest loss, else the best of all."""
        cured = [attempt for attempt in self.tried if self.cured(attempt)]
        pool = cured or [self.original, *[attempt for attempt in self.tried if attempt.judged]]
        return min(pool, key=lambda attempt: attempt.rank)

    def outcome(self, attempt: Attempt) -> RemedyOutcome | None:
        if self.target is None or not attempt.judged or self.original.report is None:
            return None
        return remedy_outcome(self.target.code, self.original.report, attempt.report)
