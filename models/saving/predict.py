"""Predicting with a saved model from raw rows: the engine of `predict`, File ▸ Predict and "Try it".

A model is found from a run folder, a ``.keras`` file, or an exported
``.onnx`` / ``.tflite`` file or SavedModel folder with its
``preprocessing.json`` beside it. Rows are read as the CSV import reads them
(encoding, separator), turned into the model's inputs by the same functions
the exported ``predict.py`` uses (`models.saving.standalone_predict`), and the
predictions are written as CSV, atomically.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.errors import UserError
from models.files import csv_text, write_text_atomic
from models.saving import standalone_predict as rows_io
from models.saving.preprocessing import FILE_NAME, Preprocessing, load_preprocessing

# Where a run folder or an export folder keeps each format, in the order they are preferred.
MODEL_FILES = (("keras", "model.keras"), ("onnx", "model.onnx"), ("tflite", "model.tflite"),
               ("savedmodel", "saved_model"))
_SUFFIXES = {".keras": "keras", ".onnx": "onnx", ".tflite": "tflite"}
CHUNK_ROWS = 8192

Predictor = Callable[[np.ndarray], np.ndarray]


@dataclass
class LoadedModel:
    """A trained model ready to predict from raw values.

    Args:
        path: the model file or folder.
        fmt: `"keras"`, `"onnx"`, `"tflite"` or `"savedmodel"`.
        preprocessing: what its inputs and outputs are.
        predict: model inputs (float32 rows) in, outputs out.
    """

    path: Path
    fmt: str
    preprocessing: Preprocessing
    predict: Predictor

    def __post_init__(self) -> None:
        # One call at a time: a TFLite interpreter (and a Keras model being traced) fails when
        # the Try it view and a Predict-a-file job call it from two threads at once.
        unguarded, lock = self.predict, threading.Lock()

        def predict(x: np.ndarray) -> np.ndarray:
            with lock:
                return unguarded(x)

        self.predict = predict

    @property
    def description(self) -> dict:
        return self.preprocessing.to_dict()

    def predict_values(self, values: dict[str, str]) -> tuple[list[str], np.ndarray | None, np.ndarray, list[str]]:
        """Predicts one raw row given as ``{column: text}``.

        Returns:
            ``(predicted, probabilities, outputs, warnings)`` as `predict_rows` gives them.
        """
        header = list(values)
        return predict_rows(self, header, [[str(values[name]) for name in header]])


@dataclass
class PredictionReport:
    """What `predict_file` did."""

    rows: int
    out_path: Path
    warnings: list[str] = field(default_factory=list)
    score: tuple[str, float, int] | None = None  # (accuracy or mae, value, rows compared)
    predicted: list[str] = field(default_factory=list, repr=False)
    probabilities: np.ndarray | None = field(default=None, repr=False)


def find_model(path: str | Path) -> tuple[str, Path, Path]:
    """The format, the model's path and its description's path, from what the user named.

    Raises:
        UserError: when nothing there is a model Keras Trainer can read.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise UserError.of("there is no model at {path}: give a run folder, a .keras, .onnx or .tflite file, or a "
                           "SavedModel folder.", path=path)
    if path.is_dir():
        if (path / "saved_model.pb").exists():
            beside = path.parent / FILE_NAME
            return "savedmodel", path, beside if beside.exists() else path / FILE_NAME
        for fmt, name in MODEL_FILES:
            if (path / name).exists():
                return fmt, path / name, path / FILE_NAME
        raise UserError.of("{path} holds no model (model.keras, model.onnx, model.tflite or saved_model): give a run "
                           "folder whose run finished, or a model file.", path=path)
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise UserError.of("{name} is not a model file Keras Trainer reads: give a run folder, a .keras, .onnx or "
                           ".tflite file, or a SavedModel folder.", name=path.name)
    return fmt, path, path.with_name(FILE_NAME)


def load_model(path: str | Path) -> LoadedModel:
    """Loads a model and its ``preprocessing.json`` (Keras files in safe mode).

    Raises:
        UserError: for no model, no or a damaged description, a file its
            runtime cannot read, or a model whose input width differs from
            the description's.
    """
    from models.saving.export import load_exported

    fmt, model_path, description_path = find_model(path)
    if not description_path.exists():
        raise UserError.of("{name} has no {file_name} beside it, so its inputs are unknown: export the model again "
                           "from Keras Trainer (every export writes one).", name=model_path.name, file_name=FILE_NAME)
    preprocessing = load_preprocessing(description_path)
    predict = load_exported(fmt, model_path)
    loaded = LoadedModel(model_path, fmt, preprocessing, predict)
    _check_width(loaded)
    return loaded


def _check_width(loaded: LoadedModel) -> None:
    width = len(loaded.preprocessing.inputs)
    try:
        outputs = np.asarray(loaded.predict(np.zeros((1, width), dtype=np.float32)))
    except Exception as error:  # a runtime's own message for a wrong shape
        raise UserError.of("{name} does not take the {width} inputs its {file_name} lists (they belong to different "
                           "models): export the model again.", name=loaded.path.name, width=width, file_name=FILE_NAME) from error
    expected = len(loaded.preprocessing.classes) if loaded.preprocessing.output in ("softmax", "scores") else 1
    if outputs.reshape(1, -1).shape[1] != expected:
        raise UserError.of("{name} gives {outputs} output(s) but its {file_name} expects {expected}: they belong to "
                           "different models; export the model again.",
                           name=loaded.path.name, outputs=outputs.reshape(1, -1).shape[1], file_name=FILE_NAME, expected=expected)


def read_rows(path: str | Path) -> tuple[list[str], list[list[str]], str]:
    """The header, rows (as text) and separator of a CSV, read as the CSV import reads files.

    Raises:
        UserError: for a missing, binary, empty or header-only file.
    """
    from datasets.csv_text import detect_delimiter, read_text

    path = Path(path).expanduser()
    text, _encoding = read_text(path)
    delimiter = detect_delimiter(text)
    try:
        header, rows = rows_io.split_rows(text, delimiter)
    except rows_io.PredictionError as error:
        raise UserError.of("'{name}': {error}", name=path.name, error=error) from None
    return header, rows, delimiter


def predict_rows(
    loaded: LoadedModel,
    header: list[str],
    rows: list[list[str]],
    delimiter: str = ",",
    progress: Callable[[float], None] | None = None,
) -> tuple[list[str], np.ndarray | None, np.ndarray, list[str]]:
    """Predictions for raw rows.

    Returns:
        ``(predicted, probabilities, outputs, warnings)``: class names (or
        values as text), one probability per class (None for a regression),
        the model's raw outputs, and sentences about filled or unknown values.

    Raises:
        UserError: when a column the model needs is missing.
    """
    description = loaded.description
    try:
        x, warnings = rows_io.encode_rows(description, header, rows, delimiter)
    except rows_io.PredictionError as error:
        raise UserError(str(error)) from None
    outputs = []
    for start in range(0, len(x), CHUNK_ROWS):
        outputs.append(np.asarray(loaded.predict(x[start:start + CHUNK_ROWS])).reshape(-1, _output_width(loaded)))
        if progress is not None:
            progress(min(1.0, (start + CHUNK_ROWS) / len(x)))
    outputs = np.concatenate(outputs) if outputs else np.zeros((0, _output_width(loaded)), dtype=np.float32)
    predicted, probabilities = rows_io.decode_outputs(description, outputs)
    return predicted, probabilities, outputs, warnings


def _output_width(loaded: LoadedModel) -> int:
    return len(loaded.preprocessing.classes) if loaded.preprocessing.output in ("softmax", "scores") else 1


def default_output_path(data_file: str | Path) -> Path:
    """``rows.csv`` → ``rows.predictions.csv`` beside it."""
    data_file = Path(data_file).expanduser()
    return data_file.with_name(data_file.stem + ".predictions.csv")


def predict_file(
    model: str | Path | LoadedModel,
    data_file: str | Path,
    out: str | Path | None = None,
    progress: Callable[[float], None] | None = None,
) -> PredictionReport:
    """Predicts every row of ``data_file`` and writes the predictions CSV.

    Args:
        model: a `LoadedModel`, or what `load_model` takes.
        data_file: a CSV of raw rows (columns in any order; extra ones ignored).
        out: where the predictions go. Defaults to `default_output_path`.
        progress: called with the fraction done, from 0 to 1.

    Raises:
        UserError: for any problem with the model, the rows or the output file.
    """
    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    header, rows, delimiter = read_rows(data_file)
    out = Path(out).expanduser() if out else default_output_path(data_file)
    if out.is_dir():
        raise UserError.of("{out} is a folder: give a file name for the predictions.", out=out)
    if out.resolve() == Path(data_file).expanduser().resolve():
        raise UserError("the predictions would overwrite the rows they come from: choose another --out file.")
    predicted, probabilities, _outputs, warnings = predict_rows(loaded, header, rows, delimiter, progress)
    table = rows_io.prediction_table(loaded.description, predicted, probabilities)
    try:
        write_text_atomic(out, csv_text(table))
    except OSError as error:
        raise UserError.of("the predictions could not be written to {out} ({reason}).",
                           out=out, reason=error.strerror or error) from None
    score = rows_io.target_score(loaded.description, header, rows, predicted)
    return PredictionReport(len(rows), out, warnings, score, predicted, probabilities)
