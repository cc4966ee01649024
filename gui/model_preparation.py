"""Preparing the next run's model while the learner edits, so that Train answers at once.

Building a network and tracing its training, validation, prediction and
instruments' functions takes 1–1.5 s on a 2-core machine; a run of a
network prepared before reports its first epoch in about 0.1 s. So a short
while after each edit, when no job is running, the project's model is built
and traced in a background thread (`models.training.runner.prepare_ahead`)
and kept for the run. A Train pressed while that is under way waits for it
rather than doing it twice.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

from gui.worker import FunctionJob

# How long after the last edit the preparation starts (an edit in a spin box comes key by key).
QUIET_MS = 400
ENABLED = True  # the tests turn it off where they do not watch it


class ModelPreparation(QObject):
    """Prepares the current project's model in the background after edits.

    Args:
        current: ``() -> (project, dataset)``, what the next run would train.
        idle: ``() -> bool``, whether no training job is running (one would be slowed down).
        start_job: starts a `FunctionJob` and keeps it until it ends.
    """

    def __init__(self, current, idle, start_job, parent=None):
        super().__init__(parent)
        self._current, self._idle, self._start_job = current, idle, start_job
        self.job: FunctionJob | None = None
        self.prepared = 0  # models prepared so far (tests read it)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(QUIET_MS)
        self._timer.timeout.connect(self._prepare)

    def schedule(self) -> None:
        """Prepares the current project's model once the edits pause."""
        if ENABLED:
            self._timer.start()

    def stop(self) -> None:
        """No preparation starts from now on (the window is closing)."""
        self._timer.stop()
        self._current = lambda: (None, None)

    def _prepare(self) -> None:
        from models.training.runner import prepare_ahead

        project, dataset = self._current()
        if dataset is None or project is None or project.problems():
            return
        if self.job is not None or not self._idle():
            self._timer.start()  # later, when the run or the previous preparation has ended
            return
        self.job = FunctionJob(prepare_ahead, project.copy(), dataset, parent=self)
        self.job.succeeded.connect(self._done)
        self.job.finished.connect(self._ended)
        self._start_job(self.job)

    def _done(self, prepared: bool) -> None:
        self.prepared += bool(prepared)

    def _ended(self) -> None:
        self.job = None
