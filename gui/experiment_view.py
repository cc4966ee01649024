"""What the Sweep and Search tabs share: a background job, its start and stop, its sentences (`ExperimentView`),
and a table cell that sorts by value (`SortedItem`)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QTableWidgetItem, QWidget


class SortedItem(QTableWidgetItem):
    """A table cell that sorts by a key (a number, a date) rather than by its text."""

    def __init__(self, text: str, key):
        super().__init__(text)
        self.key = key

    def __lt__(self, other):  # noqa: D105
        mine, theirs = self.key, getattr(other, "key", None)
        if isinstance(mine, (int, float)) and isinstance(theirs, (int, float)):
            return mine < theirs
        return str(mine) < str(theirs)


class ExperimentView(QWidget):
    """A tab that trains runs in one background job at a time (``self.job``, a QThread with a
    ``stop_request``), while the window's own training and the other experiment wait.

    Args:
        context: ``() -> (project, dataset)``, what the window would train now.
        may_start: ``() -> bool``, whether nothing else trains.
        runs_root: ``() -> Path``, the runs folder.

    Signals:
        running_changed(bool): the job started or ended.
        run_added(): one of its runs finished (its folder is in the history).
        message(str): a sentence for the status bar.
    """

    running_changed = Signal(bool)
    run_added = Signal()
    message = Signal(str)

    def __init__(self, context, may_start, runs_root, parent=None):
        super().__init__(parent)
        self.context, self.may_start, self.runs_root = context, may_start, runs_root
        self.job = None
        self.status = QLabel()
        self.status.setWordWrap(True)

    @property
    def running(self) -> bool:
        return self.job is not None

    def ready(self, refusal: str):
        """``(project, dataset)`` when a job may start now; else `None`, and ``refusal`` said."""
        if self.job is not None:
            return None
        project, dataset = self.context()
        if dataset is None or not self.may_start():
            self.message.emit(refusal)
            return None
        return project, dataset

    def launch(self, job, first_status: str) -> None:
        """Starts ``job``, whose end (or failure, through its ``failed`` signal) the tab then shows."""
        self.job = job
        job.failed.connect(self.say)
        job.finished.connect(self._job_finished)
        self.status.setText(first_status)
        self.set_running(True)
        job.start()

    def stop(self) -> None:
        """Asks the job to end after the current batch of its current run."""
        if self.job is not None:
            self.job.stop_request.set()

    def stop_requested(self) -> bool:
        return self.job is not None and self.job.stop_request.is_set()

    def say(self, sentence: str) -> None:
        """Shows ``sentence`` in the tab and in the status bar."""
        self.status.setText(sentence)
        self.message.emit(sentence)

    def _job_finished(self) -> None:
        self.job = None
        self.set_running(False)

    def set_running(self, running: bool) -> None:
        """Subclasses enable and disable their controls, then call this."""
        self.running_changed.emit(running)
