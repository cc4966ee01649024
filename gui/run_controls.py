"""Pause, resume, step and train on: the run toolbar's second row of buttons and their Run menu entries.

As in TensorFlow Playground, a lecture can go one epoch (F8) or one batch
(Shift+F8) at a time, the charts, the boundary and the inner views
following each step. Pause (Ctrl+P) holds a run between two calls into
TensorFlow and Resume lets it go on. "Train more" (Ctrl+M) continues the last
run from its weights and optimizer state for N more epochs, its curves
drawn on. None of the shortcuts is a key that typing in a field uses.

The window owns the runs; this module asks it for them through three
callables and steers the running job's `StopRequest`.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QSpinBox, QWidget

from gui.i18n import tr

PAUSE_KEY, STEP_EPOCH_KEY, STEP_BATCH_KEY, MORE_KEY = "Ctrl+P", "F8", "Shift+F8", "Ctrl+M"
DEFAULT_MORE_EPOCHS = 10


class RunControls(QObject):
    """The buttons and actions that steer a run.

    Args:
        start: ``start(step=None, continue_from=None) -> bool`` starts a
            training job (paused after ``step``, `"batch"` or `"epoch"`, when
            given; training on from a `Continuation` when given).
        continuable: ``(check) -> Continuation | None``, the run "Train more"
            and a step when idle would go on from: `None` when there is none,
            and with ``check``, when the network changed since.
        can_train: ``() -> bool``, whether a new job could start now.
    """

    message = Signal(str)  # a sentence for the user

    def __init__(self, start, continuable, can_train, parent=None):
        super().__init__(parent)
        self._start, self._continuable, self._can_train = start, continuable, can_train
        self.job = None
        self.widget = QWidget()
        row = QHBoxLayout(self.widget)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        self.pause_button = QPushButton()
        self.step_epoch_button = QPushButton("»  " + tr("1 epoch"))
        self.step_batch_button = QPushButton("›  " + tr("1 batch"))
        self.more_button = QPushButton("⟳  " + tr("Train more"))
        self.more_epochs = QSpinBox()
        self.more_epochs.setRange(1, 100_000)
        self.more_epochs.setValue(DEFAULT_MORE_EPOCHS)
        self.more_epochs.setSuffix(" " + tr("epochs"))
        self.more_epochs.setToolTip(tr("How many more epochs “Train more” runs."))
        for widget in (self.pause_button, self.step_epoch_button, self.step_batch_button, self.more_button,
                       self.more_epochs):
            row.addWidget(widget)
        self.pause_action = self._action(tr("&Pause"), PAUSE_KEY, self.toggle_pause, self.pause_button)
        self.step_epoch_action = self._action(tr("Step one &epoch"), STEP_EPOCH_KEY, lambda: self.step("epoch"),
                                              self.step_epoch_button)
        self.step_batch_action = self._action(tr("Step one &batch"), STEP_BATCH_KEY, lambda: self.step("batch"),
                                              self.step_batch_button)
        self.more_action = self._action(tr("Train &more"), MORE_KEY, self.train_more, self.more_button)
        self.step_epoch_button.setToolTip(tr(
            "Train one epoch, then pause, the charts and the boundary showing where it got ({key}). With no run "
            "going, it goes on from the last run, or starts one.", key=STEP_EPOCH_KEY))
        self.step_batch_button.setToolTip(tr(
            "Train one batch (one gradient step), then pause ({key}).", key=STEP_BATCH_KEY))
        self.more_button.setToolTip(tr(
            "Go on training the last run's model from its weights and optimizer state for the epochs beside; its "
            "curves continue ({key}).", key=MORE_KEY))
        self.update()

    def _action(self, text: str, key: str, slot, button: QPushButton) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(key))
        action.triggered.connect(slot)
        button.clicked.connect(slot)
        return action

    @property
    def actions(self) -> list[QAction]:
        return [self.pause_action, self.step_epoch_action, self.step_batch_action, self.more_action]

    # ------------------------------------------------------------ the job
    def follow(self, job) -> None:
        """Steers ``job`` (a training job, not cross-validation) until it ends."""
        self.job = job
        for signal in (job.batch_progress, job.epoch_ended, job.finished):
            signal.connect(self.update)
        job.finished.connect(lambda job=job: self._ended(job))
        self.update()

    def _ended(self, job) -> None:
        if job is self.job:
            self.job = None
        self.update()

    def paused(self) -> bool:
        return self.job is not None and self.job.stop_request.is_paused()

    # ------------------------------------------------------------ the buttons
    def toggle_pause(self) -> None:
        if self.job is None:
            return
        if self.paused():
            self.job.stop_request.resume()
        else:
            self.job.stop_request.pause()
        self.update()

    def step(self, unit: str) -> None:
        """One ``unit`` more: of the running job, else of the last run trained on, else of a new run."""
        if self.job is not None:
            self.job.stop_request.step(unit)
        elif self._can_train():
            self._start(step=unit, continue_from=self._continuable(True))
        self.update()

    def train_more(self) -> None:
        if self.job is not None or not self._can_train() or self._continuable(False) is None:
            return
        continuation = self._continuable(True)
        if continuation is None:  # the sentence models.training.runner.CHANGED_SINCE_RUN gives the command line
            self.message.emit(tr("The network, its output or its optimizer changed since that run, so its model "
                                 "cannot train on with these settings: press Train to start a new run."))
            return
        self._start(step=None, continue_from=continuation, epochs=self.more_epochs.value())
        self.update()

    def update(self, *_args) -> None:
        """Shows what each button would do now."""
        running = self.job is not None
        paused = self.paused()
        self.pause_button.setText(("▶  " + tr("Resume")) if paused else ("‖  " + tr("Pause")))
        self.pause_button.setToolTip(tr("Go on training ({key}).", key=PAUSE_KEY) if paused else tr(
            "Hold the run after the current call into TensorFlow; resume or step from there ({key}).", key=PAUSE_KEY))
        self.pause_action.setText(tr("&Resume") if paused else tr("&Pause"))
        idle_ok = not running and self._can_train()
        for widget in (self.pause_button, self.pause_action):
            widget.setEnabled(running)
        for widget in (self.step_epoch_button, self.step_epoch_action, self.step_batch_button, self.step_batch_action):
            widget.setEnabled(running or idle_ok)
        can_go_on = idle_ok and self._continuable(False) is not None
        for widget in (self.more_button, self.more_action, self.more_epochs):
            widget.setEnabled(can_go_on)
