"""Predicts with a model Keras Trainer exported, from a CSV of raw rows.

Run it with:

    python predict.py rows.csv [predictions.csv]

It reads preprocessing.json from its own folder, which says what each input
of the model is, builds the model's input rows from the CSV's columns (in any
order; extra columns are ignored), runs model.onnx with onnxruntime (or
model.keras with Keras when there is no ONNX file) and writes one row per
input row: ``row`` (1-based), ``predicted`` (a class name, or a value in the
target's units) and, for classes, ``probability_<class>`` for each class.
It needs only numpy and onnxruntime (or Keras).

Keras Trainer's own ``predict`` command uses the functions of this file, so
both write the same CSV.
"""

from __future__ import annotations

import csv
import io
import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

FORMAT = "keras-trainer-preprocessing"
# What pandas, and so Keras Trainer's CSV import, reads as a missing value (and "?").
MISSING_MARKERS = frozenset({
    "", "?", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
})
_TRUE, _FALSE = {"true", "True", "TRUE"}, {"false", "False", "FALSE"}


class PredictionError(Exception):
    """A problem with the input rows, in one sentence for the user."""


# ---------------------------------------------------------------- reading a CSV


def decode_csv_bytes(raw: bytes) -> str:
    """The text of a CSV file: UTF-8 (with or without BOM), UTF-16 with BOM, GB18030, else Windows-1252."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            pass
    return raw.decode("cp1252", errors="replace")


def guess_delimiter(text: str) -> str:
    """The separator among comma, semicolon, tab and pipe that splits the first line most often."""
    first_line = text.lstrip("\ufeff").split("\n", 1)[0]
    counts = {delimiter: first_line.count(delimiter) for delimiter in (",", ";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def split_rows(text: str, delimiter: str) -> tuple[list[str], list[list[str]]]:
    """The header's names (stripped) and the rows of a CSV text, blank lines left out."""
    rows = [row for row in csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter) if any(cell.strip() for cell in row)]
    if not rows:
        raise PredictionError("the CSV file is empty: it needs a header line and at least one row.")
    header = [name.strip() for name in rows[0]]
    if len(rows) == 1:
        raise PredictionError("the CSV file has a header but no rows to predict.")
    return header, rows[1:]


def read_csv_file(path) -> tuple[list[str], list[list[str]]]:
    """The header and rows of the CSV file at ``path``, as text."""
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise PredictionError(f"{path} could not be read ({error.strerror or error}).") from None
    text = decode_csv_bytes(raw)
    return split_rows(text, guess_delimiter(text))


# ---------------------------------------------------------------- building the inputs


def _column_positions(header: list[str], inputs: list[dict]) -> dict[str, int]:
    """Where each input's column is in the header: the same name, else the same name in any case."""
    exact = {name: position for position, name in reversed(list(enumerate(header)))}
    folded = {name.casefold(): position for position, name in reversed(list(enumerate(header)))}
    positions, missing = {}, []
    for feature in inputs:
        column = feature.get("column", feature["name"])
        if column in positions:
            continue
        if column in exact:
            positions[column] = exact[column]
        elif column.casefold() in folded:
            positions[column] = folded[column.casefold()]
        elif column not in missing:
            missing.append(column)
    if missing:
        shown = ", ".join(repr(name) for name in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise PredictionError(f"the CSV file has no column {shown}, which the model needs; add it (a value may be left empty).")
    return positions


def _number(text: str, decimal_comma: bool) -> float | None:
    """The text as a number (true/false as 1/0), or None when it is not one."""
    if text in _TRUE:
        return 1.0
    if text in _FALSE:
        return 0.0
    try:
        value = float(text.replace(",", ".") if decimal_comma else text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def encode_rows(description: dict, header: list[str], rows: list[list[str]], delimiter: str = ",") -> tuple[np.ndarray, list[str]]:
    """The model's float32 input rows from raw CSV rows, and warnings about what was filled in.

    Args:
        description: the contents of preprocessing.json.
        header: the CSV's column names.
        rows: its rows, as text.
        delimiter: the CSV's separator; with one other than a comma, ``5,1`` reads as 5.1.

    Returns:
        ``(x, warnings)``: a missing or unreadable number gets the training fill
        value, a text value never seen in training gets 0 in every one of its
        column's inputs, and each warning counts them.

    Raises:
        PredictionError: when a column the model needs is not in the header.
    """
    inputs = description["inputs"]
    positions = _column_positions(header, inputs)
    x = np.zeros((len(rows), len(inputs)), dtype=np.float32)
    filled, unreadable, unseen = {}, {}, {}
    by_column: dict[str, list[tuple[int, dict]]] = {}
    for index, feature in enumerate(inputs):
        by_column.setdefault(feature.get("column", feature["name"]), []).append((index, feature))
    decimal_comma = delimiter != ","
    for column, features in by_column.items():
        position = positions[column]
        categories = {feature["category"]: index for index, feature in features if feature["kind"] == "one_hot"}
        for row_number, row in enumerate(rows):
            text = row[position].strip() if position < len(row) else ""
            if text in MISSING_MARKERS:
                filled[column] = filled.get(column, 0) + 1
                for index, feature in features:
                    x[row_number, index] = feature.get("fill", 0.0)
                continue
            if categories:
                if text in categories:
                    x[row_number, categories[text]] = 1.0
                else:
                    unseen.setdefault(column, {}).setdefault(text, 0)
                    unseen[column][text] += 1
                continue
            index, feature = features[0]
            value = _number(text, decimal_comma)
            if value is None:
                unreadable.setdefault(column, [0, text])[0] += 1
                value = feature.get("fill", 0.0)
            x[row_number, index] = value
    return x, _warnings(filled, unreadable, unseen)


def _warnings(filled: dict, unreadable: dict, unseen: dict) -> list[str]:
    warnings = []
    if filled:
        counts = ", ".join(f"{count} in '{column}'" for column, count in filled.items())
        warnings.append(f"{sum(filled.values())} missing value(s) were filled as in training ({counts}).")
    for column, (count, example) in unreadable.items():
        warnings.append(f"{count} value(s) in '{column}' are not numbers (such as {example!r}) and were filled as in training.")
    for column, values in unseen.items():
        shown = ", ".join(f"{value!r}" for value in list(values)[:5])
        warnings.append(f"'{column}' has value(s) never seen in training ({shown}; {sum(values.values())} row(s)); "
                        "they count as none of the known values.")
    return warnings


# ---------------------------------------------------------------- reading the outputs


def decode_outputs(description: dict, outputs: np.ndarray) -> tuple[list[str], np.ndarray | None]:
    """The predicted class names (or values as text) and, for classes, one probability per class.

    Args:
        description: the contents of preprocessing.json.
        outputs: the model's outputs, one row per input row.

    Returns:
        ``(predicted, probabilities)``; ``probabilities`` has one column per
        class in the order of ``description["classes"]``, or is None for a regression.
    """
    outputs = np.asarray(outputs, dtype=np.float64).reshape(len(outputs), -1)
    if description["task"] != "classification":
        return [format_number(value) for value in outputs[:, 0]], None
    classes = description["classes"]
    if description.get("output") == "sigmoid":
        probabilities = np.column_stack([1.0 - outputs[:, 0], outputs[:, 0]])
        chosen = (outputs[:, 0] >= 0.5).astype(int)
    else:
        probabilities = outputs
        chosen = np.argmax(outputs, axis=1)
    return [classes[int(i)] for i in chosen], probabilities


def format_number(value: float) -> str:
    """A float32 output as text that reads back as the same float32."""
    return f"{float(np.float32(value)):.9g}"


def prediction_table(description: dict, predicted: list[str], probabilities: np.ndarray | None) -> list[list[str]]:
    """The predictions CSV, header first: row, predicted and one probability column per class."""
    header = ["row", "predicted"]
    if probabilities is not None:
        header += [f"probability_{name}" for name in description["classes"]]
    table = [header]
    for index, label in enumerate(predicted):
        line = [str(index + 1), label]
        if probabilities is not None:
            line += [format_number(p) for p in probabilities[index]]
        table.append(line)
    return table


def write_csv_atomically(path, table: list[list[str]]) -> None:
    """Writes rows to ``path`` through a temporary file renamed into place."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".tmp-{path.name}-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            csv.writer(file).writerows(table)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def target_score(description: dict, header: list[str], rows: list[list[str]], predicted: list[str]) -> tuple[str, float, int] | None:
    """Accuracy (classes) or mean absolute error against the target column, when the CSV has it.

    Returns:
        ``(name, value, rows compared)``, or None when the column is absent or has no values.
    """
    target = description.get("target")
    positions = [i for i, name in enumerate(header) if name == target] or [
        i for i, name in enumerate(header) if target and name.casefold() == target.casefold()]
    if not positions:
        return None
    position = positions[0]
    truth = [(row[position].strip() if position < len(row) else "") for row in rows]
    pairs = [(t, p) for t, p in zip(truth, predicted) if t not in MISSING_MARKERS]
    if description["task"] == "classification":
        pairs = [(_class_text(t, description["classes"]), p) for t, p in pairs]
        return ("accuracy", sum(t == p for t, p in pairs) / len(pairs), len(pairs)) if pairs else None
    numbers = [(_number(t, False), float(p)) for t, p in pairs]
    numbers = [(t, p) for t, p in numbers if t is not None]
    if not numbers:
        return None
    return "mae", sum(abs(t - p) for t, p in numbers) / len(numbers), len(numbers)


def _class_text(text: str, classes: list[str]) -> str:
    """A target value as its class name: ``3.0`` is class ``3`` when the classes are numbers."""
    if text in classes:
        return text
    number = _number(text, False)
    if number is not None and number == round(number) and str(int(number)) in classes:
        return str(int(number))
    return text


# ---------------------------------------------------------------- running it


def _onnx_predictor(path: Path):
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: np.ascontiguousarray(x, dtype=np.float32)})[0]


def _keras_predictor(path: Path):
    import keras

    model = keras.saving.load_model(path, safe_mode=True, compile=False)
    return lambda x: np.asarray(model.predict(x, verbose=0))


def main(argv=None) -> int:
    """``predict.py rows.csv [predictions.csv]``: writes the predictions and prints where they went."""
    import json

    argv = sys.argv[1:] if argv is None else argv
    if not argv or len(argv) > 2 or argv[0] in ("-h", "--help"):
        print(__doc__.split("\n\n")[1].strip() if __doc__ else "usage: predict.py rows.csv [predictions.csv]")
        return 2
    here = Path(__file__).resolve().parent
    source = Path(argv[0])
    out = Path(argv[1]) if len(argv) > 1 else source.with_name(source.stem + ".predictions.csv")
    try:
        description = json.loads((here / "preprocessing.json").read_text(encoding="utf-8"))
        if description.get("format") != FORMAT:
            raise PredictionError("preprocessing.json beside this script is not Keras Trainer's description of the inputs.")
        if (here / "model.onnx").exists():
            predict = _onnx_predictor(here / "model.onnx")
        elif (here / "model.keras").exists():
            predict = _keras_predictor(here / "model.keras")
        else:
            raise PredictionError("there is no model.onnx or model.keras beside this script.")
        text = decode_csv_bytes(source.read_bytes())
        delimiter = guess_delimiter(text)
        header, rows = split_rows(text, delimiter)
        x, warnings = encode_rows(description, header, rows, delimiter)
        predicted, probabilities = decode_outputs(description, predict(x))
        write_csv_atomically(out, prediction_table(description, predicted, probabilities))
    except (PredictionError, OSError, ValueError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    score = target_score(description, header, rows, predicted)
    if score is not None:
        print(f"{score[0]} against '{description['target']}': {score[1]:.4g} over {score[2]} row(s)")
    print(f"wrote {len(predicted)} prediction(s) to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
