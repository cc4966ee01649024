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
import functools
import io
import math
import os
import re
import sys
import tempfile
import unicodedata
from pathlib import Path

import numpy as np

FORMAT = "keras-trainer-preprocessing"
# What pandas, and so Keras Trainer's CSV import, reads as a missing value (and "?").
MISSING_MARKERS = frozenset({
    "", "?", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
})
_TRUE, _FALSE = {"true", "True", "TRUE"}, {"false", "False", "FALSE"}
DELIMITERS = (",", ";", "\t", "|")
_SNIFF_CHARACTERS = 65536
_SNIFF_LINES = 50


class PredictionError(Exception):
    """A problem with the input rows, in one sentence for the user."""


# ---------------------------------------------------------------- reading a CSV


CHINESE_ENCODINGS = (("gbk", "GBK"), ("gb18030", "GB18030"))
LATIN_ENCODINGS = (("cp1252", "Windows-1252"), ("latin-1", "Latin-1"))
MIN_PLAUSIBILITY = 0.3
_SCORED_RUNS = 5000
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")
_LATIN_PUNCTUATION = set("€‚„…†‡‰‹›‘’“”•–—˜™°±²³´µ·¹º»«¼½¾¿¡£¥§©®¬×÷¢\xa0")


def _strict_decoding(raw: bytes, encodings: tuple[tuple[str, str], ...]) -> tuple[str | None, str]:
    """The first of `encodings` that decodes `raw` without an error, as ``(text, name)``."""
    for codec, name in encodings:
        try:
            return raw.decode(codec), name
        except UnicodeDecodeError:
            continue
    return None, ""


def _runs(text: str):
    """The first runs of non-ASCII characters, each with the characters either side."""
    for number, match in enumerate(_NON_ASCII_RUN.finditer(text)):
        if number == _SCORED_RUNS:
            return
        start, end = match.span()
        yield match.group(), text[start - 1 : start], text[end : end + 1]


@functools.lru_cache(maxsize=8192)
def _chinese_character_score(character: str) -> float:
    """How plausible one character of a GBK reading is: common hanzi 1, rare ones less."""
    try:
        character.encode("gb2312")
    except UnicodeEncodeError:
        # GBK's extension areas: traditional and rare characters. Latin-1 bytes read
        # as GBK land here, an accented letter and the ASCII letter after it becoming one.
        return 0.3 if unicodedata.category(character) == "Lo" else 0.0
    return 1.0 if "\u4e00" <= character <= "\u9fff" else 0.8  # else full-width punctuation


def _chinese_score(text: str) -> float:
    """Mean plausibility of the non-ASCII characters of a GBK or GB18030 reading.

    Chinese words rarely sit between two ASCII letters; accented letters read
    as GBK do (``coração`` becomes ``cora玢o``), so such runs count half.
    """
    total = count = 0.0
    for run, before, after in _runs(text):
        score = sum(_chinese_character_score(c) for c in run)
        if _is_ascii_letter(before) and _is_ascii_letter(after):
            score /= 2
        total += score
        count += len(run)
    return total / count if count else 0.0


def _is_ascii_letter(character: str) -> bool:
    return character.isascii() and character.isalpha()


def _latin_run_score(run: str, before: str, after: str) -> float:
    """How plausible a run of non-ASCII characters is in a European language.

    Accented letters sit inside words of ASCII letters (``Zürich``, ``café``,
    ``ções``); Chinese bytes read as Latin-1 give long runs of accented
    letters (``ÐÕÃû``) or control characters.
    """
    if any(unicodedata.category(c) == "Cc" for c in run):
        return 0.0
    if all(c in _LATIN_PUNCTUATION for c in run):
        return 0.8
    letters_beside = _is_ascii_letter(before) + _is_ascii_letter(after)
    if not all(c.isalpha() or c in _LATIN_PUNCTUATION for c in run):
        return 0.1
    if len(run) == 1:
        return 1.0 if letters_beside else 0.6
    if len(run) == 2:
        return (0.3, 0.7, 0.9)[letters_beside]
    return 0.1


def _latin_score(text: str) -> float:
    """Mean plausibility, per non-ASCII character, of a Windows-1252 or Latin-1 reading."""
    total = count = 0.0
    for run, before, after in _runs(text):
        total += _latin_run_score(run, before, after) * len(run)
        count += len(run)
    return total / count if count else 0.0




def detect_delimiter(text: str) -> str:
    """Picks the separator whose column count on the first lines is most steady.

    A candidate must split the header into at least two columns; among those,
    the one giving the header's column count on the most lines wins, then the
    one giving more columns. This keeps decimal commas (``5,1;3,5``) from
    being taken for separators. Defaults to a comma.
    """
    head = text[:_SNIFF_CHARACTERS]
    lines = head.splitlines()
    if len(head) < len(text) and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut off
    lines = [line for line in lines[:_SNIFF_LINES] if line.strip()]
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        widths = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        if not widths or widths[0] < 2:
            continue
        agreement = sum(width == widths[0] for width in widths) / len(widths)
        score = (agreement, widths[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best




def _unique_names(names: list[str]) -> list[str]:
    """Column names made unique by numbering repeats: ``a``, ``a.1``, ``a.2``.

    The first of each name keeps it, so a column the file itself calls
    ``a.1`` keeps that name; a repeat takes the next number that is neither
    in the header nor given out already (``a,a,a.1`` gives ``a``, ``a.2``,
    ``a.1``, as pandas names them).
    """
    in_header = set(names)
    taken: set[str] = set()
    counts: dict[str, int] = {}
    unique = []
    for name in names:
        candidate, count = name, counts.get(name, 0)
        if name in taken:
            while candidate in taken or candidate in in_header:
                count += 1
                candidate = f"{name}.{count}"
        counts[name] = count
        taken.add(candidate)
        unique.append(candidate)
    return unique


def decode_csv_bytes(raw: bytes) -> str:
    """The text of a CSV file, in the encoding Keras Trainer's CSV import would choose.

    A byte-order mark decides (UTF-8 or UTF-16); else strict UTF-8; else the
    GBK (GB18030) and Windows-1252 (Latin-1) readings are scored for how
    plausible their letters are, and the better one is taken.
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    latin_text, _ = _strict_decoding(raw, LATIN_ENCODINGS)
    chinese_text, _ = _strict_decoding(raw, CHINESE_ENCODINGS)
    if chinese_text is not None and _chinese_score(chinese_text) > _latin_score(latin_text):
        return chinese_text
    return latin_text


def split_rows(text: str, delimiter: str) -> tuple[list[str], list[list[str]]]:
    """The header's names and the data rows of a CSV text.

    As pandas reads a file for training: only truly empty lines are skipped
    (a line of separators alone is a row of missing values, and counts), and
    repeated header names are numbered (``a``, ``a.1``), so the rows keep the
    numbers training gave them.
    """
    rows = [row for row in csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter) if row]
    if not rows:
        raise PredictionError("the CSV file is empty: it needs a header line and at least one row.")
    header = _unique_names([name.strip() for name in rows[0]])
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
    return split_rows(text, detect_delimiter(text))


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


def _cell(row: list[str], position: int) -> str | None:
    """A cell's text as training reads it, or None when it is missing.

    As pandas with ``skipinitialspace``: leading spaces go before the missing
    markers are looked for (``NA`` is missing, ``NA `` is not); then the text
    is stripped, and blank text is missing too.
    """
    text = row[position].lstrip() if position < len(row) else ""
    if text in MISSING_MARKERS:
        return None
    text = text.strip()
    return text or None


def _boolean_name(text: str) -> str:
    """``true``/``TRUE`` as ``True`` (and so for false): pandas reads them as booleans, named so in training."""
    if text in _TRUE:
        return "True"
    if text in _FALSE:
        return "False"
    return text


def _shown(text: str, limit: int = 40) -> str:
    """A value as a warning quotes it, cut short: a stray quote can swallow many lines into one cell."""
    return repr(text if len(text) <= limit else text[:limit - 1] + "…")


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
            text = _cell(row, position)
            if text is None:
                filled[column] = filled.get(column, 0) + 1
                for index, feature in features:
                    x[row_number, index] = feature.get("fill", 0.0)
                continue
            if categories:
                text = _boolean_name(text)
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
        warnings.append(f"{count} value(s) in '{column}' are not numbers (such as {_shown(example)}) and were filled as in training.")
    for column, values in unseen.items():
        shown = ", ".join(_shown(value) for value in list(values)[:5])
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
    if not path.parent.is_dir():
        raise PredictionError(f"the folder {path.parent} does not exist: choose where the predictions go.")
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".tmp-{path.name}-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            csv.writer(file).writerows(table)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # as an ordinary new file, not mkstemp's private one
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
    truth = [_cell(row, position) for row in rows]
    pairs = [(t, p) for t, p in zip(truth, predicted) if t is not None]
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
    text = _boolean_name(text)
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
        delimiter = detect_delimiter(text)
        header, rows = split_rows(text, delimiter)
        x, warnings = encode_rows(description, header, rows, delimiter)
        predicted, probabilities = decode_outputs(description, predict(x))
        write_csv_atomically(out, prediction_table(description, predicted, probabilities))
    except (PredictionError, OSError, ValueError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # a damaged description or model: still one line
        print(f"error: could not predict ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}); "
              "export the model again.", file=sys.stderr)
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
