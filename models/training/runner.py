"""The one training runner, shared by the window and the command line.

On one device it trains with compiled functions traced once per network
structure and kept between runs (`models.training.compiled_loop`,
`models.training.model_cache`); across several devices, with Keras ``fit``.
It reports through a `TrainingListener` (`models.training.reports`):
progress at a human rate (`models.training.progress`) and, when asked, the
instruments' readings of every layer (`models.instruments.recorder`). A
`StopRequest` stops, pauses and steps a run. The run folder is written by
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
from models.text import Text
from models.training.fused_updates import fuse_optimizer_updates
from models.training.progress import as_float, make_progress_callback
from models.training.reports import (  # noqa: F401 (callers import the reports from here)
    COMPLETED,
    EARLY_STOPPING,
    NAN_LOSS,
    REASON_TEXT,
    STOPPED,
    BatchProgress,
    Continuation,
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
        return [error.text]
    from models.network.build import image_moves_problem

    moves = image_moves_problem(project, dataset)
    if moves is not None:
        return [moves]
    spec = project.training.early_stopping
    watchable = ("val_loss", "loss", f"val_{plan.metric}", plan.metric)
    if spec.enabled and spec.monitor not in watchable:
        task = Text("a classification") if plan.metric == "accuracy" else Text("a regression")
        return [Text.of("early stopping watches {monitor}, which {task} does not compute: watch {some} or {last}.",
                        monitor=spec.monitor, task=task, some=", ".join(watchable[:-1]), last=watchable[-1])]
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


def describe_exception(error: BaseException) -> Text:
    """A sentence for the user, from any exception training can raise."""
    if isinstance(error, UserError):
        return error.text
    name = type(error).__name__
    text = str(error).strip().splitlines()
    first = text[0] if text else ""
    if name == "ResourceExhaustedError" or isinstance(error, MemoryError):
        return Text("training ran out of memory: try a smaller batch size or a smaller network.")
    if first:
        return Text.of("training failed ({name}): {first}", name=name, first=first[:300])
    return Text.of("training failed ({name}).", name=name)


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
    continue_from: Continuation | None = None,
    callbacks: tuple = (),
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
        continue_from: a finished or stopped run of this project's network to
            train on ("train more", see `RunResult.continuation`): its model goes on from its weights and
            optimizer state for ``project.training.epochs`` more epochs,
            numbered on from its last, and the result's history holds both
            runs' epochs. Defaults to a new run from the seed's first weights.
        callbacks: more Keras callbacks, called after the program's own at the same points (a
            hyperparameter search's pruning, say); one that sets ``model.stop_training`` ends the
            run after that epoch. Defaults to none.

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
        options = _RunOptions(progress_interval, steps_per_execution, jit_compile, probe_x, instruments, diagnose,
                              continue_from, tuple(callbacks))
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
        result.save_error = Text.of("the run folder {path} could not be written ({reason}), so the trained model was "
                                    "not saved there", path=folder.path, reason=describe_os_error(error))
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
        raise UserError.of("this network has {parameters} parameters and needs about {needed} GB to train, but "
                           "{available} GB of memory is free: use fewer or narrower layers.",
                           parameters=f"{parameters:,}", needed=f"{needed / 1e9:,.1f}", available=f"{available / 1e9:,.1f}")


@dataclass
class _RunOptions:
    """How `run_training` was asked to train, beside the project itself."""

    progress_interval: float
    steps_per_execution: int | str
    jit_compile: bool | str
    probe_x: np.ndarray | None
    instruments: bool
    diagnose: bool = False
    continue_from: Continuation | None = None
    callbacks: tuple = ()


def _draws_a_loss_surface(project: Project, dataset: Dataset) -> bool:
    from models.instruments.surface import surface_applies

    return surface_applies(project, dataset)


def _train(project, listener, stop, dataset, folder, options: _RunOptions):
    steps_per_execution = options.steps_per_execution
    if dataset is None:
        dataset = load_dataset(project.dataset)
    problems = data_problems(project, dataset)
    if problems:
        raise UserError(Text.joined(problems))
    arrays = prepare_arrays(project, dataset)
    check_fits_in_memory(project, dataset.n_features, arrays.plan.units)

    from models.training.devices import import_tensorflow, strategy_for

    import_tensorflow()
    training = project.training
    batch_size, steps_per_epoch = batches_of(project, arrays)
    strategy, device_label = strategy_for(training.device)
    single = strategy.num_replicas_in_sync == 1
    if options.instruments and _draws_a_loss_surface(project, dataset):
        # The loss surface draws every step's weights (three numbers); a network of two inputs and no
        # hidden layer trains as fast either way.
        steps_per_execution = 1
    if steps_per_execution == "auto":
        # Several batches per call failed under MirroredStrategy across logical
        # devices (InvalidArgumentError inside multi_step_on_iterator); mirrored
        # runs keep one batch per call.
        steps_per_execution = (
            _automatic_steps_per_execution(project, dataset, arrays.plan, batch_size, steps_per_epoch) if single
            else 1
        )
    prepared = None
    try:
        if single:
            prepared = _prepared_model(project, dataset, arrays.plan, strategy, steps_per_epoch, options)
            model = prepared.model
        else:
            if options.continue_from is not None:
                raise UserError("training on from an earlier run works on one device: choose auto, cpu or one GPU.")
            model = _mirrored_model(project, dataset, arrays.plan, strategy, steps_per_epoch, steps_per_execution,
                                    options.jit_compile)
        return _fit_and_evaluate(project, listener, stop, dataset, folder, options, arrays, model, prepared,
                                 strategy, device_label, batch_size, steps_per_epoch, steps_per_execution)
    finally:
        if prepared is not None:
            from models.training.model_cache import MODELS

            MODELS.keep(prepared)


def _prepared_model(project: Project, dataset: Dataset, plan, strategy, steps_per_epoch: int, options: _RunOptions):
    """The model to train on one device: the one continued, a cached one of the same structure
    reset to this project's start, or a new one (`models.training.model_cache`)."""

    from models.training.model_cache import (
        DECAYING_SCHEDULES,
        MODELS,
        prepare,
        reset_for_run,
        same_network,
    )

    key = _run_key(project, dataset, plan, steps_per_epoch, options.jit_compile)
    continued = options.continue_from
    if continued is not None:
        if continued.model is None:
            raise UserError("that run has no model to train on: press Train to start a new one.")
        if continued.structure_key and not same_network(continued.structure_key, key):
            raise UserError(CHANGED_SINCE_RUN)
        if project.schedule.name not in DECAYING_SCHEDULES:  # "lower the rate and train on" works
            continued.model.optimizer.learning_rate = project.optimizer.learning_rate
        cached = MODELS.take(key)
        if cached is not None and cached.model is continued.model:
            return cached
        if cached is not None:
            MODELS.keep(cached)
        # A model loaded from a file (or evicted from the cache): traced anew, updating its weights as a
        # new model would, and not kept for new runs.
        _check_model_matches(continued.model, project, dataset, plan)
        if continued.model.optimizer.built and not continued.model.jit_compile:
            fuse_optimizer_updates(continued.model.optimizer)
        return prepare(continued.model, plan, key, reusable=False)
    cached = MODELS.take(key)
    if cached is not None:
        _seed_all_but_tensorflow(project.training.seed)
        reset_for_run(cached, project, dataset.n_features, plan, dataset.target_scale, dataset.input_scale)
        return cached
    return _new_prepared_model(project, dataset, plan, strategy, steps_per_epoch, options.jit_compile, key)


def _check_model_matches(model, project: Project, dataset: Dataset, plan) -> None:
    """Refuses a model to train on whose Dense layers are not the ones ``project`` describes."""
    from models.training.performance import project_kernel_sizes

    expected = project_kernel_sizes(project, dataset.n_features, plan.units)
    from models.network.build import is_network_dense

    found = [int(layer.kernel.shape[0]) * int(layer.kernel.shape[1]) for layer in model.layers
             if is_network_dense(layer) and len(layer.kernel.shape) == 2]
    if found != expected or int(model.input_shape[-1]) != dataset.n_features:
        raise UserError("the model to train on is not the network its project describes (its layers differ): "
                        "it belongs to another run.")


def _new_prepared_model(project: Project, dataset: Dataset, plan, strategy, steps_per_epoch: int, jit_compile,
                        key: str):
    """A new model for one device, its optimizer built and fused, wrapped for the cache."""
    from models.training.model_cache import prepare

    # No keras.backend.clear_session() and no tf.random.set_seed(): both clear TensorFlow's kernel
    # caches, which the cached models' functions would then rebuild (and the first's garbage
    # collection took 0.6 s in a window). The weights, dropout and shuffling are seeded explicitly.
    _seed_all_but_tensorflow(project.training.seed)
    with strategy.scope():
        model = build_model(
            project, dataset.n_features, dataset.task, dataset.n_classes, steps_per_epoch=steps_per_epoch,
            jit_compile=jit_compile, target_scale=dataset.target_scale, input_scale=dataset.input_scale,
        )
        # Create the optimizer's slots (momenta, RMS averages) now, eagerly. Left to
        # the first traced step, their zero initial values were baked into small
        # graphs that TensorFlow keeps for the life of the process: about 6 MB
        # lost per run of the notes' network.
        model.optimizer.build(model.trainable_variables)
        if not model.jit_compile:
            # One pass over the weights per update instead of a chain of small
            # operations (see models.training.fused_updates). XLA fuses on its own.
            fuse_optimizer_updates(model.optimizer)
    return prepare(model, plan, key)


def prepare_ahead(project: Project, dataset: Dataset, instruments: bool = True) -> bool:
    """Builds and traces the model a run of ``project`` on ``dataset`` will train, and keeps it for that run.

    The window calls it in the background while the learner edits, so that
    Train finds the work done: a run of a network already prepared reports its
    first epoch in about 0.05 s instead of 1–1.5 s. Tracing runs the compiled
    functions on no rows, which changes nothing. A run that asks for the model
    while it is being prepared waits for it.

    Returns:
        Whether a model was prepared (`False` when one is ready already, or
        the run would not train on one device).
    """
    from models.instruments.recorder import draw_probe_rows, traced_measure
    from models.training.devices import import_tensorflow, strategy_for
    from models.training.model_cache import MODELS

    project.validate()
    if data_problems(project, dataset):
        return False
    arrays = prepare_arrays(project, dataset)
    check_fits_in_memory(project, dataset.n_features, arrays.plan.units)
    tf = import_tensorflow()
    strategy, _ = strategy_for(project.training.device)
    if strategy.num_replicas_in_sync != 1:
        return False
    batch_size, steps_per_epoch = batches_of(project, arrays)
    key = _run_key(project, dataset, arrays.plan, steps_per_epoch, "auto")
    if not MODELS.reserve(key):
        return False
    try:
        prepared = _new_prepared_model(project, dataset, arrays.plan, strategy, steps_per_epoch, "auto", key)
        no_x, no_y = _on_device(strategy, arrays.x_train[:0], arrays.y_train[:0])
        with strategy.scope():
            prepared.functions.train_steps(no_x, no_y, tf.zeros([0], tf.int64), 0, 0, batch_size)
            prepared.functions.evaluate(no_x, no_y, batch_size)
            prepared.functions.predict_numpy(arrays.x_train[:1])
            if instruments:
                rows = draw_probe_rows(len(arrays.x_train), project.training.seed)
                probe_x, probe_y = np.asarray(arrays.x_train[rows], np.float32), arrays.y_train[rows]
                traced_measure(prepared.model, probe_x, probe_y)(probe_x, probe_y)
    except BaseException:
        MODELS.release(key)
        raise
    MODELS.keep(prepared)
    return True


CHANGED_SINCE_RUN = Text("the network, its output or its optimizer changed since that run, so its model cannot train "
                          "on with these settings: press Train to start a new run.")


def batches_of(project: Project, arrays: TrainingArrays) -> tuple[int, int]:
    """The batch size a run uses (no larger than its training rows) and the batches in an epoch."""
    batch_size = min(project.training.batch_size, len(arrays.x_train))
    return batch_size, math.ceil(len(arrays.x_train) / batch_size)


def _run_key(project: Project, dataset: Dataset, plan, steps_per_epoch: int, jit_compile) -> str:
    from models.training.model_cache import structure_key

    return structure_key(project, dataset.n_features, plan, steps_per_epoch, jit_compile, dataset.target_scale,
                         dataset.input_scale)


def structure_key_for(project: Project, dataset: Dataset, jit_compile: bool | str = "auto") -> str:
    """The `models.training.model_cache.structure_key` a run of ``project`` on ``dataset`` would have."""
    arrays = prepare_arrays(project, dataset)
    return _run_key(project, dataset, arrays.plan, batches_of(project, arrays)[1], jit_compile)


def _seed_all_but_tensorflow(seed: int) -> None:
    """``keras.utils.set_random_seed`` without ``tf.random.set_seed``, for a model reused from the cache.

    Setting TensorFlow's global seed clears its kernel caches, and the next
    call of every traced function then prepares its kernels again: 180 ms
    before the first epoch of a spiral run, against 6 ms for the epoch
    itself. Nothing a run does draws from that seed (the initializers,
    dropout and shuffling are seeded explicitly), so a reused model trains
    the same without it; a test compares the two.
    """
    import random

    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator
    from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED

    global_state.set_global_attribute(GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
    random.seed(seed)
    np.random.seed(seed)


def _mirrored_model(project: Project, dataset: Dataset, plan, strategy, steps_per_epoch: int,
                    steps_per_execution: int, jit_compile):
    """A new model mirrored across the strategy's devices, trained by Keras's ``fit``."""
    import keras

    keras.backend.clear_session(free_memory=True)
    keras.utils.set_random_seed(project.training.seed)
    with strategy.scope():
        model = build_model(
            project, dataset.n_features, dataset.task, dataset.n_classes, steps_per_epoch=steps_per_epoch,
            steps_per_execution=min(steps_per_execution, steps_per_epoch), jit_compile=jit_compile,
            target_scale=dataset.target_scale, input_scale=dataset.input_scale,
        )
        model.optimizer.build(model.trainable_variables)
    return model


def _fit_and_evaluate(project, listener, stop, dataset, folder, options, arrays, model, prepared, strategy,
                      device_label, batch_size, steps_per_epoch, steps_per_execution):
    import keras

    training = project.training
    continued = options.continue_from
    initial_epoch = continued.epochs_done if continued is not None else 0
    epochs = initial_epoch + training.epochs if continued is not None else training.epochs
    if folder is not None:  # the model file holds the weights and the optimizer's slots
        numbers = sum(int(np.prod(variable.shape)) for variable in model.variables + model.optimizer.variables)
        folder.check_room(4 * numbers + 100_000)  # float32, and the archive's own few files
    has_validation = arrays.x_val is not None and len(arrays.x_val) > 0
    diagnosing = None
    if options.diagnose:
        diagnosing = _diagnosing_listener(listener, project, dataset, arrays, int(model.count_params()))
        listener = diagnosing
    predict = prepared.functions.predict_numpy if prepared is not None else None
    probe = prepared.functions.predict_soon if prepared is not None else None
    progress = make_progress_callback(keras)(
        listener, stop, epochs, steps_per_epoch, batch_size, len(arrays.x_train),
        arrays.plan.metric, options.progress_interval, probe_x=options.probe_x,
        exact_call_means=prepared is not None or strategy.num_replicas_in_sync == 1,
        probe_units=options.instruments, initial_epoch=initial_epoch, predict=probe,
    )
    callbacks = [progress, *_schedule_callbacks(keras, project, has_validation)]
    early = _early_stopping_callback(keras, project, has_validation)
    if early is not None:
        callbacks.append(early)
    recorder = (_instruments_callback(keras, project, dataset, arrays, steps_per_epoch, listener, initial_epoch)
                if options.instruments else None)
    if recorder is not None:  # after early stopping, so its last reading sees the weights it restores
        callbacks.append(recorder)
    callbacks.extend(options.callbacks)
    listener.on_run_started(RunStarted(
        epochs=epochs, steps_per_epoch=steps_per_epoch, batch_size=batch_size,
        train_samples=len(arrays.x_train), validation_samples=len(arrays.x_val) if has_validation else 0,
        test_samples=len(arrays.x_test), parameters=int(model.count_params()), device=device_label,
        metric=arrays.plan.metric, initial_epoch=initial_epoch,
    ))
    if diagnosing is not None:
        diagnosing.report_static()
    started = time.perf_counter()
    if folder is not None:
        folder.begin_training()  # from here on the folder holds this run, whatever happens
    gradients_before = _custom_gradient_names()
    fit = _fit_on_one_device if prepared is not None else _fit_mirrored
    history = fit(model, prepared, arrays, project, callbacks, progress, stop, batch_size, epochs, initial_epoch,
                  steps_per_execution, has_validation, strategy)
    reason = progress.reason
    if early is not None and early.stopped_epoch > 0 and reason == COMPLETED:
        reason = EARLY_STOPPING
    test_metrics = {}
    evaluation_rows = _evaluation_batch_size(batch_size, len(arrays.x_test), strategy.num_replicas_in_sync)
    if len(arrays.x_test) and reason != NAN_LOSS:
        if prepared is not None:
            test_metrics = prepared.functions.evaluate(*_on_device(strategy, arrays.x_test, arrays.y_test),
                                                       evaluation_rows)
        else:
            evaluated = model.evaluate(arrays.x_test, arrays.y_test, verbose=0, return_dict=True,
                                       batch_size=evaluation_rows)
            test_metrics = {key: as_float(value) for key, value in evaluated.items()}
    _forget_custom_gradients_since(gradients_before)
    predict = predict or (lambda x: model.predict(x, batch_size=evaluation_rows, verbose=0))
    probe_x = options.probe_x
    result = RunResult(
        reason=reason, epochs_run=progress.epochs_done,
        history=_continued_history(continued, history),
        test_metrics=test_metrics,
        train_samples_per_second=progress.samples_seen / progress.train_seconds if progress.train_seconds else 0.0,
        elapsed_s=time.perf_counter() - started - progress.paused_seconds, device=device_label, metric=arrays.plan.metric,
        run_dir=str(folder.path) if folder is not None else "", model=model,
        probe=None if probe_x is None else predict(probe_x),
        unit_outputs=unit_outputs(model, probe_x) if probe_x is not None and options.instruments else None,
        instruments=recorder.readings if recorder is not None else [],
        instruments_error=recorder.failure if recorder is not None else "",
        instruments_seconds=recorder.seconds if recorder is not None else 0.0,
        preprocessing=describe_preprocessing(dataset, arrays.plan),
        fit_rows=arrays.fit_rows, validation_rows=arrays.validation_rows,
        structure_key=prepared.key if prepared is not None else "", learning_rates=progress.learning_rates,
    )
    if test_metrics:
        _evaluate_test_rows(predict, dataset, result)
    if diagnosing is not None:
        restored = early.best_epoch + 1 if early is not None and early.restore_best_weights and early.best_weights \
            is not None else None
        result.diagnosis = diagnosing.diagnosis.report(reason, progress.epochs_done, test_metrics, restored)
        result.diagnosis.training_seconds, result.diagnosis.instruments_seconds = result.elapsed_s, \
            result.instruments_seconds
    return result


def _continued_history(continued, history: dict) -> dict[str, list[float]]:
    """This run's history as floats, after the continued run's own when there is one: every figure
    either has, one value per epoch, NaN where one run did not compute it."""
    history = {key: [as_float(value) for value in values] for key, values in history.items()}
    if continued is None:
        return history
    before, now = continued.epochs_done, max((len(values) for values in history.values()), default=0)

    def padded(values: list[float], length: int) -> list[float]:
        return list(values)[:length] + [math.nan] * (length - len(values))

    return {key: padded(continued.history.get(key, []), before) + padded(history.get(key, []), now)
            for key in {**continued.history, **history}}


def _on_device(strategy, *arrays):
    """The arrays as tensors on the device that trains (the default one, or a one-device strategy's)."""
    import contextlib

    from models.training.devices import import_tensorflow

    tf = import_tensorflow()
    one_device = isinstance(strategy, tf.distribute.OneDeviceStrategy)
    with tf.device(strategy.extended.worker_devices[0]) if one_device else contextlib.nullcontext():
        return tuple(tf.identity(tf.constant(array)) for array in arrays)


def _fit_on_one_device(model, prepared, arrays, project, callbacks, progress, stop, batch_size, epochs,
                       initial_epoch, steps_per_execution, has_validation, strategy):
    """Trains with the model's compiled functions (`models.training.compiled_loop`)."""
    from models.training.compiled_loop import fit_compiled

    training = project.training
    x, y = _on_device(strategy, arrays.x_train, arrays.y_train)
    validation = _on_device(strategy, arrays.x_val, arrays.y_val) if has_validation else None
    with strategy.scope():
        return fit_compiled(
            prepared.functions, x, y, batch_size=batch_size, epochs=epochs, initial_epoch=initial_epoch,
            shuffle=training.shuffle, seed=training.seed, validation=validation,
            validation_batch_size=_evaluation_batch_size(batch_size, len(arrays.x_val) if has_validation else 0, 1,
                                                         at_least=batch_size),
            callbacks=callbacks, steps_per_call=steps_per_execution, steps_allowed=stop.batches_allowed,
            on_steps=progress.record_steps,
        )


def _fit_mirrored(model, prepared, arrays, project, callbacks, progress, stop, batch_size, epochs, initial_epoch,
                  steps_per_execution, has_validation, strategy):
    """Trains a mirrored model with Keras's ``fit``, which splits plain arrays across the replicas itself."""
    training = project.training
    history = model.fit(
        x=arrays.x_train, y=arrays.y_train, batch_size=batch_size, shuffle=training.shuffle, epochs=epochs,
        initial_epoch=initial_epoch,
        validation_data=(arrays.x_val, arrays.y_val) if has_validation else None,
        validation_batch_size=_evaluation_batch_size(batch_size, len(arrays.x_val) if has_validation else 0,
                                                     strategy.num_replicas_in_sync, at_least=batch_size),
        callbacks=callbacks, verbose=0,
    )
    return history.history


def _diagnosing_listener(listener, project: Project, dataset: Dataset, arrays: TrainingArrays, parameters: int):
    """``listener`` wrapped so a `models.diagnosis.Diagnosis` watches the run."""
    from models.diagnosis.diagnosis import DiagnosingListener, Diagnosis
    from models.diagnosis.facts import run_facts

    validation_y = None if arrays.validation_rows is None else dataset.y_train[arrays.validation_rows]
    facts = run_facts(project, dataset, arrays.plan, dataset.y_train[arrays.fit_rows], validation_y, parameters)
    return DiagnosingListener(listener, Diagnosis(project, dataset, facts))


def _instruments_callback(keras, project: Project, dataset: Dataset, arrays: TrainingArrays, steps_per_epoch: int,
                          listener, initial_epoch: int = 0):
    """The instruments' callback, reading a probe batch of training rows drawn once from the run's seed."""
    from models.instruments.recorder import draw_probe_rows, make_instruments_callback

    rows = draw_probe_rows(len(arrays.x_train), project.training.seed)
    on_reading = getattr(listener, "on_instruments", None) or (lambda reading: None)
    return make_instruments_callback(keras)(
        arrays.x_train[rows], arrays.y_train[rows], steps_per_epoch, on_reading,
        record_path=_draws_a_loss_surface(project, dataset), initial_epoch=initial_epoch)


def _evaluate_test_rows(predict, dataset, result: RunResult) -> None:
    """Sets the result's `Evaluation` of the test rows; left `None` when the outputs are not all numbers."""
    from models.evaluation import evaluate_split

    try:
        evaluation, rows = evaluate_split(predict, dataset, "test", result.preprocessing.output, result.fit_rows,
                                          result.validation_rows)
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
