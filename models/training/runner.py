"""The one training runner, shared by the window and the command line.

It trains a project with Keras ``fit`` and reports through a `TrainingListener`
(`models.training.reports`): progress at a human rate
(`models.training.progress`) and, when asked, the instruments' readings of
every layer (`models.instruments.recorder`). The rows are fed by
`models.training.batches`; the run folder is written by
`models.training.run_folder`.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, fields

import numpy as np

from datasets.base import Dataset
from datasets.registry import load_dataset
from datasets.split import split_indices
from models.errors import UserError
from models.instruments.recorder import unit_outputs
from models.network.build import OutputPlan, build_model, encode_targets, resolve_output
from models.network.spec import Project
from models.saving.preprocessing import describe_preprocessing
from models.training.batches import ShuffledBatches  # noqa: F401 (callers import it from here)
from models.training.fused_updates import fuse_optimizer_updates
from models.training.progress import as_float, make_progress_callback, probe_outputs
from models.training.reports import (  # noqa: F401 (callers import the reports from here)
    COMPLETED,
    EARLY_STOPPING,
    NAN_LOSS,
    REASON_TEXT,
    STOPPED,
    BatchProgress,
    EpochResult,
    RunResult,
    RunStarted,
    StopRequest,
    TrainingListener,
)
from models.training.run_folder import COMPLETED as FOLDER_COMPLETED
from models.training.run_folder import FAILED as FOLDER_FAILED
from models.training.run_folder import STOPPED as FOLDER_STOPPED
from models.training.run_folder import RunFolder, describe_os_error


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
    instruments: bool = False,
    diagnose: bool = False,
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
        instruments: read every Dense layer's weights, gradients and outputs
            on a probe batch while training (`models.instruments.recorder`);
            the listener's ``on_instruments`` gets each reading, the result
            keeps them, the run folder gets ``instruments.json``, and with
            ``probe_x`` every unit's outputs on the probe points come with
            the probe. Defaults to `False`.
        diagnose: diagnose the run (`models.diagnosis`): static checks before
            the first batch, live checks after each epoch and reading (the
            listener's ``on_findings`` gets each new finding), and the report
            in ``result.diagnosis`` and the run folder's ``diagnosis.json``.
            The layer checks need ``instruments``. Defaults to `False`.

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
        options = _RunOptions(progress_interval, steps_per_execution, jit_compile, probe_x, instruments, diagnose)
        result = _train(project, listener, stop, dataset, folder, options)
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


@dataclass
class _RunOptions:
    """How `run_training` was asked to train, beside the project itself."""

    progress_interval: float
    steps_per_execution: int | str
    jit_compile: bool | str
    probe_x: np.ndarray | None
    instruments: bool
    diagnose: bool = False


def _draws_a_loss_surface(project: Project, dataset: Dataset) -> bool:
    from models.instruments.surface import surface_applies

    return surface_applies(project, dataset)


def _train(project, listener, stop, dataset, folder, options: _RunOptions):
    steps_per_execution, probe_x = options.steps_per_execution, options.probe_x
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
    if options.instruments and _draws_a_loss_surface(project, dataset):
        # The loss surface draws every step's weights (three numbers); a network of two inputs and no
        # hidden layer trains as fast either way.
        steps_per_execution = 1
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
            jit_compile=options.jit_compile, target_scale=dataset.target_scale, input_scale=dataset.input_scale,
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
    diagnosing = None
    if options.diagnose:
        diagnosing = _diagnosing_listener(listener, project, dataset, arrays, int(model.count_params()))
        listener = diagnosing
    progress = make_progress_callback(keras)(
        listener, stop, training.epochs, steps_per_epoch, batch_size, len(arrays.x_train),
        arrays.plan.metric, options.progress_interval, probe_x=probe_x,
        exact_call_means=strategy.num_replicas_in_sync == 1, probe_units=options.instruments,
    )
    callbacks = [progress, *_schedule_callbacks(keras, project, has_validation)]
    early = _early_stopping_callback(keras, project, has_validation)
    if early is not None:
        callbacks.append(early)
    recorder = (_instruments_callback(keras, project, dataset, arrays, steps_per_epoch, listener)
                if options.instruments else None)
    if recorder is not None:  # after early stopping, so its last reading sees the weights it restores
        callbacks.append(recorder)
    listener.on_run_started(RunStarted(
        epochs=training.epochs, steps_per_epoch=steps_per_epoch, batch_size=batch_size,
        train_samples=len(arrays.x_train), validation_samples=len(arrays.x_val) if has_validation else 0,
        test_samples=len(arrays.x_test), parameters=int(model.count_params()), device=device_label,
        metric=arrays.plan.metric,
    ))
    if diagnosing is not None:
        diagnosing.report_static()
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
        test_metrics = {key: as_float(value) for key, value in evaluated.items()}
    _forget_custom_gradients_since(gradients_before)
    result = RunResult(
        reason=reason, epochs_run=progress.epochs_done,
        history={key: [as_float(v) for v in values] for key, values in history.history.items()},
        test_metrics=test_metrics,
        train_samples_per_second=progress.samples_seen / progress.train_seconds if progress.train_seconds else 0.0,
        elapsed_s=time.perf_counter() - started, device=device_label, metric=arrays.plan.metric,
        run_dir=str(folder.path) if folder is not None else "", model=model,
        probe=None if probe_x is None else probe_outputs(model, probe_x),
        unit_outputs=unit_outputs(model, probe_x) if probe_x is not None and options.instruments else None,
        instruments=recorder.readings if recorder is not None else [],
        instruments_error=recorder.failure if recorder is not None else "",
        instruments_seconds=recorder.seconds if recorder is not None else 0.0,
        preprocessing=describe_preprocessing(dataset, arrays.plan),
        fit_rows=arrays.fit_rows, validation_rows=arrays.validation_rows,
    )
    if test_metrics:
        _evaluate_test_rows(model, dataset, result, batch_size, strategy.num_replicas_in_sync)
    if diagnosing is not None:
        restored = early.best_epoch + 1 if early is not None and early.restore_best_weights and early.best_weights \
            is not None else None
        result.diagnosis = diagnosing.diagnosis.report(reason, progress.epochs_done, test_metrics, restored)
        result.diagnosis.training_seconds, result.diagnosis.instruments_seconds = result.elapsed_s, \
            result.instruments_seconds
    return result


def _diagnosing_listener(listener, project: Project, dataset: Dataset, arrays: TrainingArrays, parameters: int):
    """``listener`` wrapped so a `models.diagnosis.Diagnosis` watches the run."""
    from models.diagnosis.diagnosis import DiagnosingListener, Diagnosis
    from models.diagnosis.facts import run_facts

    validation_y = None if arrays.validation_rows is None else dataset.y_train[arrays.validation_rows]
    facts = run_facts(project, dataset, arrays.plan, dataset.y_train[arrays.fit_rows], validation_y, parameters)
    return DiagnosingListener(listener, Diagnosis(project, dataset, facts))


def _instruments_callback(keras, project: Project, dataset: Dataset, arrays: TrainingArrays, steps_per_epoch: int,
                          listener):
    """The instruments' callback, reading a probe batch of training rows drawn once from the run's seed."""
    from models.instruments.recorder import draw_probe_rows, make_instruments_callback

    rows = draw_probe_rows(len(arrays.x_train), project.training.seed)
    on_reading = getattr(listener, "on_instruments", None) or (lambda reading: None)
    return make_instruments_callback(keras)(
        arrays.x_train[rows], arrays.y_train[rows], steps_per_epoch, on_reading,
        record_path=_draws_a_loss_surface(project, dataset))


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
