"""Saving a trained model in the formats other programs read, and checking what was saved.

Every format is written to a temporary name and renamed into place (see
`models.files.atomic_path`), so a converter that fails never damages a file
already at the destination. Beside every export goes ``preprocessing.json``,
which says what the model's raw inputs and its outputs are (the model itself
standardises the inputs, see `models.network.build.standardizing_layer`). `load_exported` reads each format back with that
format's own runtime, which is how an export is verified.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from datasets.base import Dataset
from models.errors import UserError
from models.files import atomic_path
from models.network.spec import Project

# Format key -> (default file name, one-line description), in the order a menu lists them.
EXPORT_FORMATS: dict[str, tuple[str, str]] = {
    "keras": ("model.keras", "Keras model file: network, weights and optimizer state, for keras.saving.load_model."),
    "weights": ("model.weights.h5", "The weights alone, to load into the same network rebuilt from the project."),
    "savedmodel": ("saved_model", "TensorFlow SavedModel folder, for TensorFlow Serving and tf.saved_model.load."),
    "tflite": ("model.tflite", "TensorFlow Lite (LiteRT) file, for phones and small devices."),
    "onnx": ("model.onnx", "ONNX file, for ONNX Runtime and other frameworks."),
    "python": ("train.py", "A standalone Keras script, with its data in train_data.npz, that trains the same network, "
                           "and predict.py, which predicts from a CSV of raw rows with numpy and onnxruntime."),
}
PREDICT_SCRIPT_NAME = "predict.py"

# The formats that hold a trained network, so their predictions can be compared.
VERIFIABLE_FORMATS = ("keras", "weights", "savedmodel", "tflite", "onnx")

_LABELS = {
    "keras": "the Keras model",
    "weights": "the weights",
    "savedmodel": "the SavedModel",
    "tflite": "TFLite",
    "onnx": "ONNX",
    "python": "the training script",
}

# File names Keras insists on; checked first so the user gets a sentence, not a traceback.
_REQUIRED_ENDINGS = {"keras": ".keras", "weights": ".weights.h5", "tflite": ".tflite"}

Predictor = Callable[[np.ndarray], np.ndarray]

# Deprecation notes the converters print on every use, which the user can do nothing about.
warnings.filterwarnings("ignore", message=r".*np\.object.*", category=FutureWarning)
warnings.filterwarnings("ignore", message=r".*tf\.lite\.Interpreter is deprecated.*")

# Loggers that report progress at INFO or DEBUG when an application turns logging on.
_CHATTY_LOGGERS = {"tf2onnx": logging.ERROR, "tensorflow": logging.WARNING}


def check_format(fmt: str) -> str:
    """Returns ``fmt`` when it names a known export format.

    Raises:
        UserError: listing the known formats.
    """
    if fmt not in EXPORT_FORMATS:
        raise UserError.of("unknown export format {fmt}: choose one of {export_formats}.",
                           fmt=repr(fmt), export_formats=", ".join(EXPORT_FORMATS))
    return fmt


def default_path(fmt: str, out_dir: str | Path) -> Path:
    """Where `export_all` puts ``fmt`` inside ``out_dir``."""
    return Path(out_dir) / EXPORT_FORMATS[check_format(fmt)][0]


def export_model(
    model, fmt: str, path: str | Path, project: Project | None = None, dataset: Dataset | None = None
) -> list[Path]:
    """Writes ``model`` in one format, atomically.

    Args:
        model: a built Keras model (normally the trained one).
        fmt: a key of `EXPORT_FORMATS`.
        path: the file (or, for `savedmodel`, the folder) to write.
        project: the `Project` the model was built from; needed by `python`.
            Defaults to `None`.
        dataset: the `Dataset` it was trained on; needed by `python`.
            Defaults to `None`.

    Returns:
        The paths written: the export (for `python`: ``train.py``, its data
        and ``predict.py``), then ``preprocessing.json`` beside it when the
        project and data set are given.

    Raises:
        UserError: for an unknown format, a file name the format cannot use,
            or a converter that failed. Whatever was at ``path`` before is
            then left as it was.
    """
    check_format(fmt)
    path = Path(path)
    _check_file_name(fmt, path)
    if fmt == "python":
        return _export_script(path, project, dataset) + [_write_description(path, project, dataset)]
    try:
        with _quiet_converters():
            # The weights file keeps every layer (it loads into the network rebuilt from the project);
            # the others hold what predicts: no data augmentation (see `inference_model`).
            from models.network.build import inference_model

            _WRITERS[fmt](model if fmt == "weights" else inference_model(model), path)
    except UserError:
        raise
    except Exception as error:
        raise UserError.of("could not export {format}: {reason}", format=_LABELS[fmt], reason=_short_reason(error)) from error
    if project is None or dataset is None:
        return [path]
    return [path, _write_description(path, project, dataset)]


def _write_description(path: Path, project, dataset) -> Path:
    """Writes ``preprocessing.json`` beside an export (a SavedModel folder's too)."""
    from models.network.build import resolve_output
    from models.saving.preprocessing import FILE_NAME, describe_preprocessing, save_preprocessing

    description = describe_preprocessing(dataset, resolve_output(project, dataset.task, dataset.n_classes))
    return save_preprocessing(description, path.parent / FILE_NAME)


def export_all(
    model,
    formats: Iterable[str],
    out_dir: str | Path,
    project: Project | None = None,
    dataset: Dataset | None = None,
) -> dict[str, list[Path]]:
    """Writes ``model`` in several formats under their default names in ``out_dir``.

    The request is checked before anything is written. Each format is written
    atomically; when one fails, those before it stay written.

    Args:
        model: a built Keras model (normally the trained one).
        formats: keys of `EXPORT_FORMATS`; repeats are written once.
        out_dir: the folder to write into; created when missing.
        project: the `Project` the model was built from; needed by `python`.
            Defaults to `None`.
        dataset: the `Dataset` it was trained on; needed by `python`.
            Defaults to `None`.

    Returns:
        For each format, the paths written, in the order asked for.

    Raises:
        UserError: for an unknown format, a script asked for without its
            project and data, or the first export that failed.
    """
    wanted = list(dict.fromkeys(check_format(fmt) for fmt in formats))
    if "python" in wanted:
        _require_project(project, dataset)
    return {fmt: export_model(model, fmt, default_path(fmt, out_dir), project, dataset) for fmt in wanted}


def load_exported(
    fmt: str, path: str | Path, project: Project | None = None, dataset: Dataset | None = None
) -> Predictor:
    """Loads an export with its format's own runtime and returns its prediction function.

    Args:
        fmt: one of `VERIFIABLE_FORMATS`.
        path: what `export_model` wrote.
        project: for `weights`, the project whose network the weights belong to.
            Defaults to `None`.
        dataset: for `weights`, the data set that fixes the input and output
            widths. Defaults to `None`.

    Returns:
        ``predict(x)``: float32 rows in, the model's outputs as a numpy array out.

    Raises:
        UserError: when the file is missing, cannot be read by its runtime,
            or the format holds no trained network.
    """
    check_format(fmt)
    path = Path(path)
    if fmt == "python":
        raise UserError("a training script holds no trained network: run it to get model.keras, then load that.")
    if not path.exists():
        raise UserError.of("there is no {format} export at {path}.", format=_LABELS[fmt], path=path)
    try:
        with _quiet_converters():
            if fmt == "weights":
                return _weights_predictor(path, _network_for(project, dataset))
            return _LOADERS[fmt](path)
    except UserError:
        raise
    except Exception as error:
        raise UserError.of("could not load {format} from {name}: {reason}",
                           format=_LABELS[fmt], name=path.name, reason=_short_reason(error)) from error


def verify_export(
    model,
    fmt: str,
    path: str | Path,
    x: np.ndarray,
    atol: float = 1e-4,
    project: Project | None = None,
    dataset: Dataset | None = None,
) -> float:
    """Checks that an export predicts what ``model`` predicts.

    For `python`, which holds no trained weights, it checks instead that the
    script is valid Python and its data file opens, and returns 0.

    Args:
        model: the Keras model that was exported.
        fmt: a key of `EXPORT_FORMATS`.
        path: what `export_model` wrote (for `python`, the script).
        x: some input rows to predict, such as the test set.
        atol: the largest absolute difference accepted. Defaults to `1e-4`.
        project: for `weights`, the project to rebuild the network from;
            without it a copy of ``model``'s architecture is used. Defaults to `None`.
        dataset: for `weights`, with ``project``. Defaults to `None`.

    Returns:
        The largest absolute difference between the two predictions.

    Raises:
        UserError: when the export cannot be loaded or predicts differently.
    """
    check_format(fmt)
    if fmt == "python":
        _check_script(Path(path))
        return 0.0
    x = np.asarray(x, dtype=np.float32)
    if fmt == "weights" and project is None:
        predict = _weights_predictor(Path(path), _clone_architecture(model))
    else:
        predict = load_exported(fmt, path, project, dataset)
    expected = np.asarray(model.predict(x, verbose=0))
    try:
        got = predict(x)
    except Exception as error:
        raise UserError.of("{format} export could not predict: {reason}",
                           format=_LABELS[fmt], reason=_short_reason(error)) from error
    if got.shape != expected.shape:
        raise UserError.of("{format} export gives outputs of shape {shape}, but the model gives {shape2}.",
                           format=_LABELS[fmt], shape=got.shape, shape2=expected.shape)
    difference = float(np.max(np.abs(got.astype(np.float64) - expected))) if expected.size else 0.0
    if not difference <= atol:  # also catches NaN
        raise UserError.of("{format} export predicts differently from the trained model (largest difference "
                           "{difference}, allowed {atol}): export it again.",
                           format=_LABELS[fmt], difference=f"{difference:.3g}", atol=f"{atol:g}")
    return difference


# Writers -------------------------------------------------------------------


def _write_keras(model, path: Path) -> None:
    with atomic_path(path) as temporary:
        model.save(temporary)


def _write_weights(model, path: Path) -> None:
    with atomic_path(path) as temporary:
        model.save_weights(temporary)


def _write_saved_model(model, path: Path) -> None:
    with atomic_path(path, directory=True) as temporary:
        model.export(temporary, format="tf_saved_model", verbose=False)


def _write_tflite(model, path: Path) -> None:
    # Keras exports with the batch dimension left open (shape_signature -1).
    with atomic_path(path) as temporary:
        model.export(temporary, format="litert", verbose=False)


def _write_onnx(model, path: Path) -> None:
    _ensure_called(model)
    with atomic_path(path) as temporary:
        model.export(temporary, format="onnx", verbose=False)


_WRITERS = {
    "keras": _write_keras,
    "weights": _write_weights,
    "savedmodel": _write_saved_model,
    "tflite": _write_tflite,
    "onnx": _write_onnx,
}


def _export_script(path: Path, project, dataset) -> list[Path]:
    from models.files import write_text_atomic
    from models.saving import standalone_predict
    from models.saving.script import write_training_script

    _require_project(project, dataset)
    try:
        written = write_training_script(project, dataset, path)
        predictor = path.with_name(PREDICT_SCRIPT_NAME)
        write_text_atomic(predictor, Path(standalone_predict.__file__).read_text(encoding="utf-8"))
        return [*written, predictor]
    except UserError:
        raise
    except Exception as error:
        raise UserError.of("could not export {format}: {reason}", format=_LABELS["python"], reason=_short_reason(error)) from error


def _require_project(project, dataset) -> None:
    if project is None or dataset is None:
        raise UserError("the training script needs the project and its data set: train the project first.")


def _ensure_called(model) -> None:
    """Runs the model once on a row of zeros.

    The ONNX exporter refuses a model that was built but never called, which
    is the case for a network exported before training.
    """
    width = model.input_shape[-1]
    model(np.zeros((1, width), dtype=np.float32), training=False)


def _check_file_name(fmt: str, path: Path) -> None:
    ending = _REQUIRED_ENDINGS.get(fmt)
    if ending and not path.name.endswith(ending):
        raise UserError.of("{format} file name must end with {ending} (got {name}).",
                           format=_LABELS[fmt], ending=ending, name=repr(path.name))
    if fmt != "savedmodel" and path.is_dir():
        raise UserError.of("{path} is a folder: choose a file name for {format}.", path=path, format=_LABELS[fmt])
    if fmt == "savedmodel" and path.exists() and not path.is_dir():
        raise UserError.of("{path} is a file, but a SavedModel is a folder: choose another name.", path=path)


# Loaders -------------------------------------------------------------------


def _load_keras(path: Path) -> Predictor:
    import keras

    model = keras.saving.load_model(path, safe_mode=True)  # a file from anywhere: no code runs from it
    return lambda x: np.asarray(model.predict(_as_input(x), verbose=0))


def _load_saved_model(path: Path) -> Predictor:
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    serve = loaded.signatures["serving_default"]
    (input_name,) = serve.structured_input_signature[1]

    def predict(x: np.ndarray) -> np.ndarray:
        outputs = serve(**{input_name: tf.constant(_as_input(x))})
        (output,) = outputs.values()
        return output.numpy()

    predict.saved_model = loaded  # keeps the variables alive as long as the function
    return predict


def _tflite_interpreter_class():
    """LiteRT's interpreter when installed, else TensorFlow's (deprecated) one."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        return tf.lite.Interpreter
    return Interpreter


def _load_tflite(path: Path) -> Predictor:
    interpreter = _tflite_interpreter_class()(model_path=str(path))
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]

    def predict(x: np.ndarray) -> np.ndarray:
        x = _as_input(x)
        interpreter.resize_tensor_input(input_index, list(x.shape), strict=True)
        interpreter.allocate_tensors()
        interpreter.set_tensor(input_index, x)
        interpreter.invoke()
        return interpreter.get_tensor(output_index).copy()

    return predict


def _load_onnx(path: Path) -> Predictor:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    return lambda x: session.run(None, {input_name: _as_input(x)})[0]


_LOADERS = {
    "keras": _load_keras,
    "savedmodel": _load_saved_model,
    "tflite": _load_tflite,
    "onnx": _load_onnx,
}


def _network_for(project, dataset):
    """A freshly built network for the project, ready for `load_weights`."""
    from models.network.build import build_model

    if project is None or dataset is None:
        raise UserError("loading a weights file needs the project and data set it was trained with.")
    return build_model(project, dataset.n_features, dataset.task, dataset.n_classes,
                       target_scale=dataset.target_scale, input_scale=dataset.input_scale)


def _clone_architecture(model):
    import keras

    return keras.models.clone_model(model)


def _weights_predictor(path: Path, network) -> Predictor:
    optimizer = getattr(network, "optimizer", None)
    if optimizer is not None and not optimizer.built:
        # A trained model's weights file holds the optimizer's state too; with the
        # optimizer built it loads as well, instead of being skipped with a warning.
        optimizer.build(network.trainable_variables)
    network.load_weights(path)
    return lambda x: np.asarray(network.predict(_as_input(x), verbose=0))


def _check_script(path: Path) -> None:
    from models.saving.script import DATA_FILE_NAME

    try:
        compile(path.read_text(encoding="utf-8"), str(path), "exec")
        with np.load(path.with_name(DATA_FILE_NAME)) as data:
            missing = {"x_train", "y_train", "x_test", "y_test"} - set(data.files)
    except (OSError, SyntaxError, ValueError) as error:
        raise UserError.of("the training script export is not usable: {reason}", reason=_short_reason(error)) from error
    if missing:
        raise UserError.of("{data_file_name} lacks {missing}: export the training script again.",
                           data_file_name=DATA_FILE_NAME, missing=", ".join(sorted(missing)))


# Helpers -------------------------------------------------------------------


def _as_input(x) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float32)


@contextlib.contextmanager
def _quiet_converters():
    """Hides the converters' progress messages, not their errors."""
    loggers = {logging.getLogger(name): level for name, level in _CHATTY_LOGGERS.items()}
    previous = {logger: logger.level for logger in loggers}
    for logger, level in loggers.items():
        logger.setLevel(max(level, logger.level))
    try:
        yield
    finally:
        for logger, level in previous.items():
            logger.setLevel(level)


def _short_reason(error: BaseException) -> str:
    """The first line of an exception's message, as the end of a sentence."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    reason = lines[0] if lines else type(error).__name__
    if len(reason) > 200:
        reason = reason[:197] + "..."
    return reason if reason.endswith((".", "!", "?")) else reason + "."
