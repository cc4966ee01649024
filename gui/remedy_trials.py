"""Trying remedies in the window: one click ("Try this remedy") and the automatic repair.

A remedy is an undoable edit of the project followed by a new run; when that
run ends, the finding it was meant to cure is looked for again and the
figure that showed it compared (`models.diagnosis.repair`). The automatic
repair does the same for each remedy of the worst finding in turn, as
``train --auto-remedy`` does, and then keeps the best run's project.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from gui.i18n import error_text, tr
from models.diagnosis.remedies import apply_edit
from models.diagnosis.repair import Attempt, Repair, remedy_outcome
from models.errors import UserError
from models.network.spec import project_to_dict

# Retrains the window's repair makes at most, as `train --auto-remedy 3`.
REPAIR_ATTEMPTS = 3


class RemedyTrials(QObject):
    """Applies remedies, retrains, and says what came of it.

    Args:
        project: returns the window's current project.
        edit: ``edit(project, text)`` makes ``project`` current as one undoable step.
        train: starts a run of the current project; returns whether it started.
    """

    outcome = Signal(str, bool)  # a sentence for the user, and whether it is good news
    busy_changed = Signal(bool)  # a remedy or a repair is under way

    def __init__(self, project, edit, train, parent=None):
        super().__init__(parent)
        self._project, self._edit, self._train = project, edit, train
        self.report = None  # the last finished run's DiagnosisReport
        self.run_dir = ""
        self._pending = None  # (finding code, report before) while a remedy's run trains
        self.repair: Repair | None = None

    @property
    def busy(self) -> bool:
        return self._pending is not None or self.repair is not None

    # ------------------------------------------------------------- one remedy
    def try_remedy(self, finding, remedy) -> bool:
        """Applies ``remedy`` (undoable) and trains; the outcome comes when the run ends."""
        if self.busy or self.report is None:
            return False
        try:
            edited = apply_edit(self._project(), remedy.edit)
        except UserError as error:
            self.outcome.emit(tr("This remedy cannot be applied: {error}", error=error_text(error)), False)
            return False
        self._edit(edited, tr("Remedy: {remedy}", remedy=remedy.text.translated(tr)))
        self._pending = (finding.code, self.report)
        if not self._train():
            self._pending = None
            return False
        self.busy_changed.emit(True)
        return True

    # -------------------------------------------------------------- repair
    def start_repair(self, attempts: int = REPAIR_ATTEMPTS) -> bool:
        """Tries the remedies of the worst finding, one run each, until one cures it."""
        if self.busy:
            return False
        if self.report is None:
            self.outcome.emit(tr("Train first: the repair starts from a diagnosed run."), False)
            return False
        repair = Repair(Attempt(None, self._project(), self.report, self.run_dir), attempts=attempts)
        if repair.target is None:
            self.outcome.emit(tr("Nothing to repair: no finding has a remedy."), True)
            return False
        self.repair = repair
        self.busy_changed.emit(True)
        self._next_attempt()
        return True

    def _next_attempt(self) -> None:
        step = self.repair.next_try()
        if step is None:
            self._finish_repair()
            return
        remedy, edited = step
        number = len(self.repair.tried) + 1
        self._edit(edited, tr("Automatic repair, attempt {number}: {remedy}", number=number,
                              remedy=remedy.text.translated(tr)))
        self._remedy = remedy
        if not self._train():
            self.repair.record(Attempt(remedy, edited, None, failure=tr("the run could not start")))
            self._next_attempt()

    def _finish_repair(self) -> None:
        repair, self.repair = self.repair, None
        lines = []
        for number, attempt in enumerate(repair.tried, start=1):
            outcome = repair.outcome(attempt)
            if outcome is not None:
                said = outcome.sentence().translated(tr)
            else:
                said = tr("Stopped before its end, so not judged.") if attempt.stopped else attempt.failure
            lines.append(tr("Attempt {number}: {remedy} {outcome}", number=number,
                            remedy=attempt.remedy.text.translated(tr), outcome=said))
        best = repair.best()
        if best is repair.original:
            kept = tr("The original run stays the best, so its settings are back.")
        else:
            kept = tr("Kept attempt {number}'s settings; its model is in {folder} (the charts show the last "
                      "attempt).", number=repair.tried.index(best) + 1, folder=best.run_dir or tr("not saved"))
        if project_to_dict(best.project) != project_to_dict(self._project()):
            self._edit(best.project, tr("Automatic repair: keep the best run's settings"))
        verdict = tr("Repaired.") if repair.repaired else tr("Not repaired.")
        self.outcome.emit(" ".join([verdict, *lines, kept]), repair.repaired)
        self.busy_changed.emit(False)

    # ------------------------------------------------------------ run ends
    def run_ended(self, result) -> None:
        """A run ended (``result`` is `None` after a failure): report on a remedy, go on with a repair.

        A run the user stopped proves nothing about a finding: it is not compared, and it ends a repair.
        """
        report = getattr(result, "diagnosis", None) if result is not None else None
        stopped = result is not None and getattr(result, "reason", "") == "stopped"
        if self.repair is not None:
            failure = "" if result is not None else tr("the run failed")
            self.repair.record(Attempt(self._remedy, self._project(), report, getattr(result, "run_dir", "") or "",
                                       failure=failure, stopped=stopped))
            if stopped:
                self.repair.attempts = len(self.repair.tried)
            self._remember(result, report, stopped)
            self._next_attempt()
            return
        if self._pending is not None:
            code, before = self._pending
            self._pending = None
            if stopped:
                self.outcome.emit(tr("The run after the remedy was stopped before its end, so it cannot say "
                                     "whether the finding went away."), False)
            elif report is None:
                self.outcome.emit(tr("The run after the remedy did not finish, so nothing can be compared."), False)
            else:
                change = remedy_outcome(code, before, report)
                self.outcome.emit(change.sentence().translated(tr), change.gone)
            self.busy_changed.emit(False)
        self._remember(result, report, stopped)

    def _remember(self, result, report, stopped: bool = False) -> None:
        if report is not None and not stopped:
            self.report = report
            self.run_dir = getattr(result, "run_dir", "") or ""
