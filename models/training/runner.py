"""The one training runner, shared by the window and the command line.

It trains a project with Keras ``fit`` and reports through a `TrainingListener`.
Reports are plain data (numbers and dicts), sent at a human rate, so a window
can relay them as signals and a terminal can draw a progress bar.
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass, field, fields

import numpy as np

from datasets.base import Dataset
from datasets.registry import load_dataset
from datasets.split import split_indices
from models.errors import UserError
from models.network.build import OutputPlan, build_model, encode_targets, resolve_output
from models.network.spec import Project
from models.saving.preprocessing import describe_preprocessing
from models.training.fused_updates import fuse_optimizer_updates
from models.training.run_folder import COMPLETED as FOLDER_COMPLETED
from models.training.run_folder import FAILED as FOLDER_FAILED
from models.training.run_folder import STOPPED as FOLDER_STOPPED
from models.training.run_folder import RunFolder, describe_os_error

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


@dataclass
class EpochResult:
    """Sent after each epoch, validation included."""

    epoch: int  # 1-based
    epochs: int
    logs: dict[str, float]
    elapsed_s: float
    eta_s: float
    probe: np.ndarray | None = None  # the model's outputs on the probe points, when asked for


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

    @property
    def reason_text(self) -> str:
        return REASON_TEXT[self.reason]


class TrainingListener:
    """Receives a run's reports. Override what you need; every method is optional."""

    def on_run_started(self, info: RunStarted) -> None:
        """Called once the model is built, before the first batch."""

    def on_batch_progress(self, progress: BatchProgress) -> None:
        """Called during an epoch, at most about 20 times a second."""

    def on_epoch_ended(self, result: EpochResult) -> None:
        """Called after each epoch, with training and validation figures."""

    def on_saving(self) -> None:
        """Called after training, before the run folder is written."""

    def on_finished(self, result: RunResult) -> None:
        """Called once when training ends for any reason but an error."""

    def on_failed(self, message: str) -> None:
        """Called once when training cannot go on, with a sentence saying why."""


class StopRequest:
    """A flag the window or a signal handler sets; the runner checks it after each batch."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()


@dataclass
class TrainingArrays:
    """The arrays a run feeds to Keras, targets already encoded for the loss."""

    plan: OutputPlan
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray | None
    y_val: np.ndarray | None
    x_test: np.ndarray
    y_test: np.ndarray
    # Which rows of the data set's training rows are fitted on and which validate (indices).
    fit_rows: np.ndarray | None = None
    validation_rows: np.ndarray | None = None


def prepare_arrays(project: Project, dataset: Dataset) -> TrainingArrays:
    """Carves the validation rows out of the training set and encodes the targets."""
    plan = resolve_output(project, dataset.task, dataset.n_classes)
    fraction = project.training.validation_fraction
    x_train, y_train, x_val, y_val = dataset.x_train, dataset.y_train, None, None
    fit_rows, validation_rows = np.arange(len(dataset.x_train)), None
    if fraction > 0:
        fit_rows, validation_rows, _ = split_indices(
            dataset.y_train, fraction, project.training.seed, dataset.is_classification, held_back="validation")
        x_train, x_val = dataset.x_train[fit_rows], dataset.x_train[validation_rows]
        y_train, y_val = dataset.y_train[fit_rows], dataset.y_train[validation_rows]
    if len(x_train) == 0:
        raise UserError("no training rows are left after the validation split: lower the validation fraction.")
    return TrainingArrays(
        plan=plan,
        x_train=x_train, y_train=encode_targets(y_train, plan),
        x_val=x_val, y_val=None if y_val is None else encode_targets(y_val, plan),
        x_test=dataset.x_test, y_test=encode_targets(dataset.y_test, plan),
        fit_rows=fit_rows, validation_rows=validation_rows,
    )


class ShuffledBatches:
    """The training rows, fed to Keras one shuffled batch per step, reshuffled every epoch.

    Keras's own path for numpy arrays spent about a third of each step on
    the CPU feeding the data (measured on the notes' 784-512-10 network,
    batch 128: 42,000 samples/s, against 60,000-65,000 this way). Here the
    rows live in one tensor and each batch is gathered through a permutation
    that a callback redraws at the start of every epoch, from the seed and
    the epoch number, so the same seed gives the same order.

    Two ways to gather. `dataset` is a `tf.data` pipeline of batches, for
    any device. `step_numbers` is a pipeline of step numbers only, for
    training on the CPU with `gather_in_step` installed on the model: the
    batch is then gathered inside the compiled training step, by the same
    threads that train, instead of being handed over from tf.data's own
    threads at every step.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool, seed: int):
        from models.training.devices import import_tensorflow

        tf = import_tensorflow()
        self.tf, self.shuffle, self.seed, self.batch_size = tf, shuffle, seed, batch_size
        self.rows = len(x)
        with tf.device("/cpu:0"):
            self.x, self.y = tf.constant(x), tf.constant(y)
            self.order = tf.Variable(tf.range(self.rows, dtype=tf.int64), trainable=False)
        steps = math.ceil(self.rows / batch_size)
        self.step_numbers = tf.data.Dataset.range(steps).prefetch(2)
        self.dataset = tf.data.Dataset.range(steps).map(self.batch).prefetch(2)

    def batch(self, step):
        """The rows and targets of batch ``step`` (a scalar tensor) in this epoch's order."""
        tf = self.tf
        rows = self.order[step * self.batch_size: tf.minimum((step + 1) * self.batch_size, self.rows)]
        return tf.gather(self.x, rows), tf.gather(self.y, rows)

    def gather_in_step(self, model) -> None:
        """Makes ``model`` train on step numbers from `step_numbers`, gathering each batch itself.

        Only the model instance changes (its ``train_step`` attribute); a saved
        model knows nothing of it.
        """
        keras_train_step = model.train_step
        model.train_step = lambda step: keras_train_step(self.batch(step))

    def stop_gathering(self, model) -> None:
        """Gives ``model`` back Keras's own ``train_step``, so it no longer holds the rows."""
        if "train_step" in vars(model):
            del model.train_step
            model.train_function = None

    def reshuffle(self, epoch: int) -> None:
        """Draws the row order for ``epoch``; the same seed and epoch give the same order."""
        if self.shuffle:
            tf = self.tf
            keys = tf.random.stateless_uniform([self.rows], seed=(self.seed, epoch))
            self.order.assign(tf.cast(tf.argsort(keys), tf.int64))

    def callback(self, keras):
        batches = self

        class Reshuffle(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                batches.reshuffle(epoch)

        return Reshuffle()


def _as_float(value) -> float:
    return float(np.asarray(value))


def _make_progress_callback(keras):
    """Defines the Keras callback lazily, so importing this module does not import Keras."""

    class ProgressCallback(keras.callbacks.Callback):
        """Relays progress at a human rate and turns a stop request into ``stop_training``.

        Like Keras's ``EarlyStopping``, it has one job and ends training by
        setting ``self.model.stop_training``. It reads the loss (which waits
        for the device) only when a report is due, so the hot path stays cheap.
        """

        def __init__(self, listener, stop, epochs, steps_per_epoch, batch_size, train_samples, metric, interval,
                     probe_x=None, probe_interval=0.25, exact_call_means=True):
            super().__init__()
            # Under several replicas Keras's logs average each replica's own running
            # mean, and a batch split unevenly breaks the differencing: report those as they come.
            self.exact_call_means = exact_call_means
            self.probe_x, self.probe_interval, self._last_probe = probe_x, probe_interval, -math.inf
            self.listener, self.stop = listener, stop
            self.epochs, self.steps_per_epoch = epochs, steps_per_epoch
            self.batch_size, self.train_samples = batch_size, train_samples
            self.metric, self.interval = metric, interval
            self.reason = COMPLETED
            self.epochs_done = 0
            self.train_seconds = 0.0
            self.samples_seen = 0
            self._epoch_start = self._last_report = self._run_start = 0.0
            self._steps_before_epoch = 0
            self._pending = []
            self._last_step = 0
            # (epoch, samples, running loss, running metric) of the last point turned into a call mean.
            self._previous = (-1, 0, 0.0, None)

        def on_train_begin(self, logs=None):
            self._run_start = time.perf_counter()

        def on_epoch_begin(self, epoch, logs=None):
            self._epoch = epoch
            self._epoch_start = self._last_report = time.perf_counter()

        def _eta(self, now: float, epoch_fraction: float) -> float:
            done = self._epoch + epoch_fraction
            elapsed = now - self._run_start
            return elapsed / done * (self.epochs - done) if done > 0 else math.nan

        def _check_stop(self):
            if self.stop.is_set():
                self.reason = STOPPED
                self.model.stop_training = True

        def on_train_batch_end(self, batch, logs=None):
            # Keras numbers a short last call as if it were full: never past the epoch's end.
            step = self._last_step = min(batch + 1, self.steps_per_epoch)
            # Keep the call's figures as tensors (no waiting for the device) until a report is due.
            if logs and "loss" in logs:
                self._pending.append((self._epoch + step / self.steps_per_epoch, self._epoch,
                                      min(step * self.batch_size, self.train_samples), logs["loss"], logs.get(self.metric)))
            now = time.perf_counter()
            if now - self._last_report < self.interval:
                self._check_stop()
                return
            self._report(step, self._steps_before_epoch + step, now)
            self._check_stop()  # the listener may have asked for the stop just now

        def on_train_end(self, logs=None):
            if self._pending:  # the last calls since the last report, after the last epoch ended
                self._report(self._last_step, self._steps_before_epoch, time.perf_counter())

        def _report(self, step, global_step, now):
            self._last_report = now
            running = [(x, epoch, samples, _as_float(loss), None if metric is None else _as_float(metric))
                       for x, epoch, samples, loss, metric in self._pending]
            self._pending = []
            loss, metric = (running[-1][3], running[-1][4]) if running else (math.nan, None)
            points = [self._call_mean(*point) for point in running]
            if not math.isfinite(loss):
                self.reason = NAN_LOSS
                self.model.stop_training = True
            seconds = now - self._epoch_start if self._epoch_start else 0.0
            samples = min(step * self.batch_size, self.train_samples)
            self.listener.on_batch_progress(BatchProgress(
                epoch=self._epoch + 1, epochs=self.epochs, step=step, steps_per_epoch=self.steps_per_epoch,
                global_step=global_step, loss=loss, metric=metric,
                samples_per_second=samples / seconds if seconds > 0 else 0.0,
                elapsed_s=now - self._run_start, eta_s=self._eta(now, step / self.steps_per_epoch),
                points=points,
            ))

        def _call_mean(self, x, epoch, samples, loss, metric):
            """One call's own mean loss and metric, from the epoch's running means before and after it.

            Keras reports running means that restart each epoch, weighted by
            samples; the mean over the batches of one call is the difference of
            the running totals: (n·m − n′·m′) / (n − n′). A chart of these shows
            the noise of mini-batch training, not an average that settles
            within every epoch.
            """
            if not self.exact_call_means:
                return x, loss, metric
            previous_epoch, previous_samples, previous_loss, previous_metric = self._previous
            if previous_epoch != epoch:
                previous_samples, previous_loss, previous_metric = 0, 0.0, 0.0
            self._previous = (epoch, samples, loss, metric)
            span = samples - previous_samples
            if span <= 0:
                return x, loss, metric

            def own(mean, previous):
                return (samples * mean - previous_samples * previous) / span

            call_metric = None if metric is None or previous_metric is None else own(metric, previous_metric)
            return x, own(loss, previous_loss), call_metric

        def on_test_begin(self, logs=None):
            # Validation time is not training throughput.
            self._count_training_time()

        def _count_training_time(self):
            if self._epoch_start:
                self.train_seconds += time.perf_counter() - self._epoch_start
                self._epoch_start = 0.0

        def on_epoch_end(self, epoch, logs=None):
            self._count_training_time()
            now = time.perf_counter()
            logs = {key: _as_float(value) for key, value in (logs or {}).items()}
            logs["learning_rate"] = _as_float(self.model.optimizer.learning_rate)
            self.epochs_done = epoch + 1
            self.samples_seen += self.train_samples
            self._steps_before_epoch += self.steps_per_epoch
            if not math.isfinite(logs.get("loss", 0.0)):
                self.reason = NAN_LOSS
                self.model.stop_training = True
            self._check_stop()
            self.listener.on_epoch_ended(EpochResult(
                epoch=epoch + 1, epochs=self.epochs, logs=logs,
                elapsed_s=now - self._run_start, eta_s=self._eta(now, 1.0), probe=self._probe_if_due(now),
            ))

        def _probe_if_due(self, now):
            """The model's outputs on the probe points, a few times a second at most."""
            if self.probe_x is None or now - self._last_probe < self.probe_interval:
                return None
            self._last_probe = now
            return probe_outputs(self.model, self.probe_x)

    return ProgressCallback


def probe_outputs(model, x: np.ndarray) -> np.ndarray:
    """The model's outputs for ``x`` in inference mode, as a numpy array."""
    return np.asarray(model(x, training=False))


def _schedule_callbacks(keras, project: Project, has_validation: bool) -> list:
    callbacks = []
    schedule = project.schedule
    if schedule.name == "reduce_on_plateau":
        callbacks.append(keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss" if has_validation else "loss", factor=schedule.factor,
            patience=schedule.patience, min_lr=schedule.min_learning_rate, verbose=0,
        ))
    return callbacks


def data_problems(project: Project, dataset: Dataset) -> list[str]:
    """What keeps ``project`` from training on ``dataset`` though each setting is allowed, one sentence each.

    The output and loss must suit the data's task, and early stopping must
    watch a figure that task computes. The window asks before it trains; the
    runner refuses the same before building anything.
    """
    try:
        plan = resolve_output(project, dataset.task, dataset.n_classes)
    except UserError as error:
        return [str(error)]
    spec = project.training.early_stopping
    watchable = ("val_loss", "loss", f"val_{plan.metric}", plan.metric)
    if spec.enabled and spec.monitor not in watchable:
        task = "a classification" if plan.metric == "accuracy" else "a regression"
        return [f"early stopping watches {spec.monitor}, which {task} does not compute: "
                f"watch {', '.join(watchable[:-1])} or {watchable[-1]}."]
    return []


def _early_stopping_callback(keras, project: Project, has_validation: bool):
    spec = project.training.early_stopping
    if not spec.enabled:
        return None
    if spec.monitor.startswith("val_") and not has_validation:
        raise UserError("early stopping watches a validation figure, but there is no validation set: set a validation fraction above 0.")
    return keras.callbacks.EarlyStopping(
        monitor=spec.monitor, patience=spec.patience, min_delta=spec.min_delta,
        restore_best_weights=spec.restore_best_weights, verbose=0,
    )


def describe_exception(error: BaseException) -> str:
    """A sentence for the user, from any exception training can raise."""
    if isinstance(error, UserError):
        return str(error)
    name = type(error).__name__
    text = str(error).strip().splitlines()
    first = text[0] if text else ""
    if name == "ResourceExhaustedError" or isinstance(error, MemoryError):
        return "training ran out of memory: try a smaller batch size or a smaller network."
    return f"training failed ({name}): {first[:300]}" if first else f"training failed ({name})."


class TrainingFailed(UserError):
    """Raised by `run_training` after it has told the listener why."""


def run_training(
    project: Project,
    listener: TrainingListener | None = None,
    stop: StopRequest | None = None,
    dataset: Dataset | None = None,
    run_dir: str | os.PathLike | None = None,
    progress_interval: float = 0.05,
    steps_per_execution: int | str = "auto",
    jit_compile: bool | str = "auto",
    probe_x: np.ndarray | None = None,
) -> RunResult:
    """Trains ``project`` and returns what came of it.

    Args:
        project: what to train; it is validated first.
        listener: receives the reports. Defaults to one that ignores them.
        stop: set it from any thread to stop after the current batch; the
            model keeps the weights it has. Defaults to a fresh `StopRequest`.
        dataset: the loaded data; loaded from ``project.dataset`` when `None`.
        run_dir: a folder to write ``project.json``, ``history.csv``,
            ``metrics.json`` and ``model.keras`` into. Defaults to none.
        progress_interval: the least time between two batch reports, in
            seconds. Defaults to `0.05` (20 a second).
        steps_per_execution: batches TensorFlow runs per call from Python;
            `"auto"` sizes a call to about 100 ms of work, so progress and a
            stop request are still handled many times a second (see
            `models.training.performance`). A stop takes effect at the end of the
            current call. Defaults to `"auto"`.
        jit_compile: XLA compilation, as `Model.compile` takes it. Defaults to `"auto"`.
        probe_x: points (in the model's input space) whose outputs are sent
            with some epoch reports and with the result, so a window can draw
            the decision boundary as it forms. Defaults to none.

    Raises:
        TrainingFailed: after calling ``listener.on_failed`` with the reason.
    """
    listener = listener or TrainingListener()
    stop = stop or StopRequest()
    folder = None
    try:
        project.validate()
        if run_dir is not None:
            folder = run_dir if isinstance(run_dir, RunFolder) else RunFolder.claim(run_dir)
            if not folder.started:  # the window and the command line start theirs before loading data
                folder.start(project)
        result = _train(project, listener, stop, dataset, folder, progress_interval, steps_per_execution, jit_compile, probe_x)
    except Exception as error:  # every failure becomes one sentence for the user
        message = describe_exception(error)
        if folder is not None:
            folder.give_up("error", message)
        listener.on_failed(message)
        raise TrainingFailed(message) from error
    except BaseException:  # a second Ctrl+C: quit at once, but say so in the folder
        if folder is not None:
            folder.give_up("interrupted", "quit at once, before the model was saved", status=FOLDER_STOPPED)
        raise
    if folder is not None:
        saving = getattr(listener, "on_saving", None)  # a listener may define only what it needs
        try:
            if saving is not None:
                saving()
            _save_results(folder, project, result)
        except KeyboardInterrupt:
            folder.give_up("interrupted", "quit while the run folder was written")
            raise
    listener.on_finished(result)
    return result


FOLDER_STATUS = {COMPLETED: FOLDER_COMPLETED, EARLY_STOPPING: FOLDER_COMPLETED, STOPPED: FOLDER_STOPPED,
                 NAN_LOSS: FOLDER_FAILED}


def _save_results(folder: RunFolder, project: Project, result: RunResult) -> None:
    """Writes the run folder; when that fails the model stays in ``result`` and ``save_error`` says why."""
    try:
        folder.write_results(project, result)
    except OSError as error:
        result.save_error = (f"the run folder {folder.path} could not be written ({describe_os_error(error)}), "
                             "so the trained model was not saved there")
        folder.give_up(result.reason, result.save_error)
        return
    folder.finish(FOLDER_STATUS[result.reason], result.reason, REASON_TEXT[result.reason])
    folder.keep()


# Bytes per parameter while training: the weight, its gradient and up to two optimizer slots
# (Adam's moments), in float32.
TRAINING_BYTES_PER_PARAMETER = 16


def check_fits_in_memory(project: Project, n_features: int, output_units: int) -> None:
    """Refuses, with a sentence, a network too large to train in this machine's free memory."""
    import psutil

    from models.network.params import count_parameters, total_parameters

    parameters = total_parameters(count_parameters(project, n_features, output_units))
    needed = parameters * TRAINING_BYTES_PER_PARAMETER
    available = psutil.virtual_memory().available
    if needed > available:
        raise UserError(
            f"this network has {parameters:,} parameters and needs about {needed / 1e9:,.1f} GB to train, "
            f"but {available / 1e9:,.1f} GB of memory is free: use fewer or narrower layers.")


def _train(project, listener, stop, dataset, folder, progress_interval, steps_per_execution, jit_compile, probe_x):
    if dataset is None:
        dataset = load_dataset(project.dataset)
    problems = data_problems(project, dataset)
    if problems:
        raise UserError(" ".join(problems))
    arrays = prepare_arrays(project, dataset)
    check_fits_in_memory(project, dataset.n_features, arrays.plan.units)

    from models.training.devices import import_tensorflow, strategy_for

    import_tensorflow()
    import keras

    keras.backend.clear_session(free_memory=True)
    keras.utils.set_random_seed(project.training.seed)
    training = project.training
    batch_size = min(training.batch_size, len(arrays.x_train))
    steps_per_epoch = math.ceil(len(arrays.x_train) / batch_size)
    strategy, device_label = strategy_for(training.device)
    if steps_per_execution == "auto":
        # Several batches per call failed under MirroredStrategy across logical
        # devices (InvalidArgumentError inside multi_step_on_iterator); mirrored
        # runs keep one batch per call.
        steps_per_execution = (
            1 if strategy.num_replicas_in_sync > 1
            else _automatic_steps_per_execution(project, dataset, arrays.plan, batch_size, steps_per_epoch)
        )
    with strategy.scope():
        model = build_model(
            project, dataset.n_features, dataset.task, dataset.n_classes,
            steps_per_epoch=steps_per_epoch, steps_per_execution=min(steps_per_execution, steps_per_epoch),
            jit_compile=jit_compile, target_scale=dataset.target_scale, input_scale=dataset.input_scale,
        )
        # Create the optimizer's slots (momenta, RMS averages) now, eagerly. Left to
        # the first traced step, their zero initial values were baked into small
        # graphs that TensorFlow keeps for the life of the process: about 6 MB
        # lost per run of the notes' network.
        model.optimizer.build(model.trainable_variables)
        if folder is not None:  # the model file holds the weights and the optimizer's slots
            numbers = sum(int(np.prod(variable.shape)) for variable in model.variables + model.optimizer.variables)
            folder.check_room(4 * numbers + 100_000)  # float32, and the archive's own few files
        if strategy.num_replicas_in_sync == 1 and not model.jit_compile:
            # One pass over the weights per update instead of a chain of small
            # operations (see models.training.fused_updates). XLA fuses on its own, and
            # mirrored weights need Keras's cross-device update.
            fuse_optimizer_updates(model.optimizer)
    has_validation = arrays.x_val is not None and len(arrays.x_val) > 0
    progress = _make_progress_callback(keras)(
        listener, stop, training.epochs, steps_per_epoch, batch_size, len(arrays.x_train),
        arrays.plan.metric, progress_interval, probe_x=probe_x,
        exact_call_means=strategy.num_replicas_in_sync == 1,
    )
    callbacks = [progress, *_schedule_callbacks(keras, project, has_validation)]
    early = _early_stopping_callback(keras, project, has_validation)
    if early is not None:
        callbacks.append(early)
    listener.on_run_started(RunStarted(
        epochs=training.epochs, steps_per_epoch=steps_per_epoch, batch_size=batch_size,
        train_samples=len(arrays.x_train), validation_samples=len(arrays.x_val) if has_validation else 0,
        test_samples=len(arrays.x_test), parameters=int(model.count_params()), device=device_label,
        metric=arrays.plan.metric,
    ))
    started = time.perf_counter()
    if folder is not None:
        folder.begin_training()  # from here on the folder holds this run, whatever happens
    gradients_before = _custom_gradient_names()
    batches = None
    if strategy.num_replicas_in_sync > 1:
        # Keras splits plain arrays across the replicas itself.
        inputs = {"x": arrays.x_train, "y": arrays.y_train, "batch_size": batch_size, "shuffle": training.shuffle}
    else:
        batches = ShuffledBatches(arrays.x_train, arrays.y_train, batch_size, training.shuffle, training.seed)
        if _has_gpu():
            inputs = {"x": batches.dataset, "shuffle": False}  # ShuffledBatches shuffles
        else:  # measured: 53,000 → 62,000 samples/s on the notes' network, 2-core CPU
            batches.gather_in_step(model)
            inputs = {"x": batches.step_numbers, "shuffle": False}
        callbacks.insert(0, batches.callback(keras))
    try:
        history = model.fit(
            **inputs, epochs=training.epochs,
            validation_data=(arrays.x_val, arrays.y_val) if has_validation else None,
            validation_batch_size=_evaluation_batch_size(batch_size, len(arrays.x_val) if has_validation else 0,
                                                         strategy.num_replicas_in_sync, at_least=batch_size),
            callbacks=callbacks, verbose=0,
        )
    finally:
        if batches is not None:
            batches.stop_gathering(model)
    reason = progress.reason
    if early is not None and early.stopped_epoch > 0 and reason == COMPLETED:
        reason = EARLY_STOPPING
    test_metrics = {}
    if len(arrays.x_test) and reason != NAN_LOSS:
        evaluated = model.evaluate(arrays.x_test, arrays.y_test, verbose=0, return_dict=True,
                                   batch_size=_evaluation_batch_size(batch_size, len(arrays.x_test), strategy.num_replicas_in_sync))
        test_metrics = {key: _as_float(value) for key, value in evaluated.items()}
    _forget_custom_gradients_since(gradients_before)
    result = RunResult(
        reason=reason, epochs_run=progress.epochs_done,
        history={key: [_as_float(v) for v in values] for key, values in history.history.items()},
        test_metrics=test_metrics,
        train_samples_per_second=progress.samples_seen / progress.train_seconds if progress.train_seconds else 0.0,
        elapsed_s=time.perf_counter() - started, device=device_label, metric=arrays.plan.metric,
        run_dir=str(folder.path) if folder is not None else "", model=model,
        probe=None if probe_x is None else probe_outputs(model, probe_x),
        preprocessing=describe_preprocessing(dataset, arrays.plan),
        fit_rows=arrays.fit_rows, validation_rows=arrays.validation_rows,
    )
    if test_metrics:
        _evaluate_test_rows(model, dataset, result, batch_size, strategy.num_replicas_in_sync)
    return result


def _evaluate_test_rows(model, dataset, result: RunResult, batch_size: int, replicas: int) -> None:
    """Sets the result's `Evaluation` of the test rows; left `None` when the outputs are not all numbers."""
    from models.evaluation import evaluate_split

    size = _evaluation_batch_size(batch_size, len(dataset.x_test), replicas)
    try:
        evaluation, rows = evaluate_split(lambda x: model.predict(x, batch_size=size, verbose=0), dataset, "test",
                                          result.preprocessing.output, result.fit_rows, result.validation_rows)
    except UserError:  # outputs that are not numbers: the test metrics already say the model failed
        return
    result.evaluation, result.test_row_numbers = evaluation, rows.row_numbers


def _evaluation_batch_size(batch_size: int, rows: int, replicas: int, at_least: int = 256) -> int:
    """Rows per evaluation batch: at least ``at_least``, and under several replicas a size whose
    first batch splits evenly among them.

    Keras reduces the first batch across replicas before evaluating (to build
    the model's metrics), and that fails when the replicas' parts differ in
    size: 41 test rows on two devices stopped the run with an AddN shape error.
    Later batches may be uneven; only the first must not be.
    """
    size = max(batch_size, at_least)
    if replicas > 1 and rows >= replicas:
        size = max(replicas, min(size, rows) // replicas * replicas)
    return size


def _has_gpu() -> bool:
    from models.training.devices import import_tensorflow

    return bool(import_tensorflow().config.list_logical_devices("GPU"))


def _custom_gradient_names() -> set[str]:
    try:
        from tensorflow.python.framework import ops

        return {name for name in ops._gradient_registry._registry if name.startswith("CustomGradient-")}
    except (ImportError, AttributeError):  # a TensorFlow without this registry: nothing to forget
        return set()


def _forget_custom_gradients_since(before: set[str]) -> None:
    """Drops the gradient functions that tracing this run's training step registered.

    Keras's optimizer sums gradients through the distribution strategy's
    all_reduce, which registers a custom gradient in TensorFlow's global
    registry each time the step is traced; the entry holds the whole traced
    graph and is never removed, about 5 MB per run of the notes' network.
    Once traced, the step no longer needs it.
    """
    try:
        from tensorflow.python.framework import ops

        registry = ops._gradient_registry._registry
    except (ImportError, AttributeError):
        return
    for name in _custom_gradient_names() - before:
        registry.pop(name, None)


def _automatic_steps_per_execution(project, dataset, plan, batch_size: int, steps_per_epoch: int) -> int:
    from models.training.performance import (
        choose_steps_per_execution,
        dense_training_flops_per_sample,
        machine_matmul_flops,
        project_kernel_sizes,
    )

    flops = dense_training_flops_per_sample(project_kernel_sizes(project, dataset.n_features, plan.units))
    return choose_steps_per_execution(flops * batch_size, steps_per_epoch, machine_matmul_flops())


def result_summary(result: RunResult) -> dict:
    """The result without the model, ready for JSON."""
    left_out = ("model", "preprocessing", "evaluation", "fit_rows", "validation_rows", "test_row_numbers")
    return {f.name: getattr(result, f.name) for f in fields(result) if f.name not in left_out}
