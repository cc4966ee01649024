"""The reports a run sends its listener, and the listener that receives them.

Reports are plain data (numbers, dicts and numpy arrays), so a window can
relay them as signals and a terminal can draw a progress bar.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

COMPLETED, STOPPED, EARLY_STOPPING, NAN_LOSS = "completed", "stopped", "early_stopping", "nan_loss"
REASON_TEXT = {
    COMPLETED: "finished all epochs",
    STOPPED: "stopped by request",
    EARLY_STOPPING: "early stopping: the monitored figure stopped improving",
    NAN_LOSS: "the loss became NaN (not a number): lower the learning rate or clip gradients",
}


@dataclass
class RunStarted:
    """Sent once, before the first batch."""

    epochs: int
    steps_per_epoch: int
    batch_size: int
    train_samples: int
    validation_samples: int
    test_samples: int
    parameters: int
    device: str
    metric: str
    # Epochs already trained when this run continues an earlier one ("train more"); its epochs
    # are numbered on from there, and a chart continues the same curves.
    initial_epoch: int = 0


@dataclass
class BatchProgress:
    """Sent at most every ``progress_interval`` seconds while an epoch runs."""

    epoch: int  # 1-based
    epochs: int
    step: int  # batches done in this epoch
    steps_per_epoch: int
    global_step: int
    loss: float
    metric: float | None
    samples_per_second: float
    elapsed_s: float
    eta_s: float
    # Every call into TensorFlow since the last report, as (epochs done as a
    # fraction, loss, metric), so a chart can draw each one though reports are
    # throttled. Each is the mean over that call's batches alone (not the
    # epoch's running mean, which `loss` and `metric` above are).
    points: list[tuple[float, float, float | None]] = field(default_factory=list)
    # The model's outputs on the probe points (and every unit's), sent when a run pauses mid-epoch.
    probe: np.ndarray | None = field(default=None, repr=False)
    unit_outputs: list | None = field(default=None, repr=False)


@dataclass
class EpochResult:
    """Sent after each epoch, validation included."""

    epoch: int  # 1-based
    epochs: int
    logs: dict[str, float]
    elapsed_s: float
    eta_s: float
    probe: np.ndarray | None = None  # the model's outputs on the probe points, when asked for
    # With the probe and the instruments on: every Dense layer's outputs on the probe points
    # (one (points, units) array per layer, input side first), for the Neurons view.
    unit_outputs: list[np.ndarray] | None = None


@dataclass
class RunResult:
    """What a finished run produced."""

    reason: str
    epochs_run: int
    history: dict[str, list[float]]
    test_metrics: dict[str, float]
    train_samples_per_second: float
    elapsed_s: float
    device: str
    metric: str
    run_dir: str = ""
    # A sentence when the run folder could not be written; the model is then only in `model`.
    save_error: str = ""
    probe: np.ndarray | None = field(default=None, repr=False)
    model: object = field(default=None, repr=False)
    # What the model's inputs and outputs are (a `models.saving.preprocessing.Preprocessing`).
    preprocessing: object = field(default=None, repr=False)
    # Where the model is right and wrong on the test rows (a `models.evaluation.Evaluation`), and
    # which of the data set's training rows it was fitted on and which validated it.
    evaluation: object = field(default=None, repr=False)
    fit_rows: np.ndarray | None = field(default=None, repr=False)
    validation_rows: np.ndarray | None = field(default=None, repr=False)
    test_row_numbers: np.ndarray | None = field(default=None, repr=False)  # evaluation.csv's `row` column
    # The instruments' readings (`models.instruments.readings.InstrumentReading`), when they were on.
    instruments: list = field(default_factory=list, repr=False)
    instruments_error: str = ""  # a sentence when the instruments stopped reading before the run ended
    instruments_seconds: float = 0.0  # the time the instruments' readings took, tracing included
    unit_outputs: list[np.ndarray] | None = field(default=None, repr=False)
    # The diagnosis' report (`models.diagnosis.findings.DiagnosisReport`), when it was asked for.
    diagnosis: object = field(default=None, repr=False)
    # What the model's traced functions depend on (`models.training.model_cache.structure_key`).
    structure_key: str = field(default="", repr=False)
    learning_rates: list[float] = field(default_factory=list, repr=False)  # at each epoch's end

    def continuation(self) -> Continuation:
        """This run, for `run_training`'s ``continue_from`` ("train more")."""
        return Continuation(self.model, self.epochs_run, self.history, self.structure_key)

    @property
    def reason_text(self) -> str:
        return REASON_TEXT[self.reason]


@dataclass
class Continuation:
    """A run to train on ("train more", ``train --resume``): its model, with its weights and optimizer
    state, the epochs it has run and its history; ``structure_key`` (when known) must match the project's."""

    model: object
    epochs_done: int
    history: dict[str, list[float]]
    structure_key: str = ""


class TrainingListener:
    """Receives a run's reports. Override what you need; every method is optional."""

    def on_run_started(self, info: RunStarted) -> None:
        """Called once the model is built, before the first batch."""

    def on_batch_progress(self, progress: BatchProgress) -> None:
        """Called during an epoch, at most about 20 times a second."""

    def on_epoch_ended(self, result: EpochResult) -> None:
        """Called after each epoch, with training and validation figures."""

    def on_instruments(self, reading) -> None:
        """Called with each `models.instruments.readings.InstrumentReading`, when the instruments are on."""

    def on_findings(self, findings: list) -> None:
        """Called with the diagnosis' new `models.diagnosis.findings.Finding`s, when the run is diagnosed:
        the static ones before the first batch, then each as it is first seen."""

    def on_saving(self) -> None:
        """Called after training, before the run folder is written."""

    def on_finished(self, result: RunResult) -> None:
        """Called once when training ends for any reason but an error."""

    def on_failed(self, message: str) -> None:
        """Called once when training cannot go on, with a sentence saying why."""


class StopRequest:
    """How the window or a signal handler steers a run: stop, pause, resume, step. Safe from any thread.

    The runner checks it between calls into TensorFlow: a stop ends the run
    after the current call, a pause holds it before the next one. A step
    (`step`) lets one batch or one epoch run and then pauses again, as
    TensorFlow Playground's step button does.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._condition = threading.Condition()
        self._paused = False
        self._stepping: str | None = None  # "batch" or "epoch" while a step runs

    def set(self) -> None:
        """Stop: the run ends after the current call (and at once when it is paused)."""
        self._event.set()
        with self._condition:
            self._condition.notify_all()

    def is_set(self) -> bool:
        return self._event.is_set()

    def pause(self) -> None:
        self._steer(paused=True, stepping=None)

    def resume(self) -> None:
        self._steer(paused=False, stepping=None)

    def step(self, unit: str) -> None:
        """Lets one ``"batch"`` or one ``"epoch"`` run, then pauses."""
        if unit not in ("batch", "epoch"):
            raise ValueError(f"a step is a batch or an epoch, not {unit!r}")
        self._steer(paused=False, stepping=unit)

    def _steer(self, paused: bool, stepping: str | None) -> None:
        with self._condition:
            self._paused, self._stepping = paused, stepping
            self._condition.notify_all()

    def is_paused(self) -> bool:
        return self._paused

    def batches_allowed(self, left: int) -> int:
        """How many of the epoch's ``left`` batches the next call may run: one while stepping by batch."""
        return 1 if self._stepping == "batch" else left

    def batches_done(self) -> None:
        """Called after each call into TensorFlow: a batch step is over."""
        self._finish_step("batch")

    def epoch_done(self) -> None:
        """Called after each epoch: an epoch step is over."""
        self._finish_step("epoch")

    def _finish_step(self, unit: str) -> None:
        with self._condition:
            if self._stepping == unit:
                self._paused, self._stepping = True, None

    def wait_while_paused(self, on_pause=None) -> None:
        """Blocks while the run is paused and not stopped; calls ``on_pause()`` first when it has to wait."""
        if not self._paused or self.is_set():
            return
        if on_pause is not None:
            on_pause()
        with self._condition:
            self._condition.wait_for(lambda: not self._paused or self._event.is_set())

