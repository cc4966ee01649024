"""A table from the user's own CSV file, with one column chosen as the target.

What loading does, in order:

* Reads the bytes as text: UTF-8 (with or without a byte-order mark), UTF-16
  with a byte-order mark, or else GBK / GB18030 (spreadsheets saved on
  Chinese systems) or Windows-1252 / Latin-1 (saved on European ones),
  whichever reads more plausibly; binary bytes, zip archives (workbooks,
  Keras models) and text that reads as none of these are a `UserError`.
* Detects the separator (comma, semicolon, tab or pipe) from the first lines
  and reads the table with pandas. With a separator other than a comma, text
  columns such as ``5,1`` (a decimal comma) are read as numbers. A column
  whose values are at least 90% numbers is read as numbers, the stray words
  (``unknown``, ``-``) counting as missing values, with a note.
* Decides the task from the target (`DatasetChoice.task` ``"auto"``): text
  or true/false values, or at most `MAX_NUMERIC_CLASSES` distinct whole
  numbers, mean classification (class names are the distinct values,
  sorted); other numbers mean regression. A note says which and why;
  ``"classification"`` or ``"regression"`` chooses instead.
* Refuses numbers TensorFlow's float32 cannot hold: a feature beyond about
  ±3.4e38, or a regression target beyond ±1e15 (a batch of its squares, in the
  mean squared error, would overflow), naming the column and row.
* Keeps numeric feature columns (true/false counts as 0/1) and one-hot encodes
  text columns into ``column=value`` features. The values of a text column are
  taken from the whole file (only their names, so a value seen only in the
  test rows still gets a column). A text column with more than
  `MAX_TEXT_VALUES` values, or more than 10 values of which over half are
  different (names, tickets, ids), is skipped with a note.
* Missing values: rows with a missing target are always dropped. With
  ``missing="drop"`` every row with a missing feature is dropped too; with
  ``"fill"`` numbers are filled with the training rows' median and text with
  the training rows' most frequent value, after the split.
* Numeric columns stay in their own units: the model standardises them with
  the training rows' mean and standard deviation (see `datasets.inputs`);
  one-hot columns stay 0/1.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from datasets.base import CLASSIFICATION, REGRESSION
from datasets.choice import DatasetChoice
from datasets.csv_text import (
    DELIMITER_NAMES,
    _unique_names,
    detect_delimiter,
    header_names,
    read_text,
)
from datasets.inputs import InputFeature, number_inputs, one_hot_inputs
from datasets.unsplit import UnsplitData
from models.errors import UserError
from models.text import Text

MAX_NUMERIC_CLASSES = 20
MAX_TEXT_VALUES = 50
MAX_CLASSES_FROM_TEXT = 50
MOSTLY_NUMBERS = 0.9
EXTRA_MISSING_MARKERS = ["?"]
_LISTED_COLUMNS = 30
_FLOAT32_MAX = float(np.finfo(np.float32).max)
# A regression's loss is taken in the target's own units in float32: a batch's mean squared error
# adds up to 1,000,000 rows (the largest batch) of errors as large as 2·|y|. Within ±1e15 that sum
# stays below float32's largest number, 3.4e38 (4·1e30·1e6 = 4e36).
_MAX_TARGET = 1e15


def read_table(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """Reads a CSV file into a DataFrame.

    Returns:
        ``(table, notes)``; the notes name the encoding and separator, and any
        column of numbers that had a few stray words in it.

    Raises:
        UserError: for a missing, empty, binary or malformed file, or a header without rows.
    """
    text, encoding = read_text(path)
    delimiter = detect_delimiter(text)
    try:
        table = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            skipinitialspace=True,
            na_values=EXTRA_MISSING_MARKERS,
            low_memory=False,
        )
    except pd.errors.EmptyDataError as error:
        raise UserError.of("The CSV file '{name}' is empty; choose a file with a header and rows.", name=path.name) from error
    except (pd.errors.ParserError, ValueError) as error:
        raise UserError.of("'{name}' could not be read as a table ({reason}); check that every row has as many "
                           "separators as the header.", name=path.name, reason=str(error).strip()) from error
    if not isinstance(table.index, pd.RangeIndex):
        # pandas takes the first value(s) of every row as an index then, shifting the columns.
        raise UserError.of("'{name}' has rows with more values than its header has names; add the missing column "
                           "names to the header line, or remove the extra separators at the ends of the rows.",
                           name=path.name)
    header = header_names(text, delimiter, path.name)
    # pandas numbers repeated names before spaces are stripped, which can leave two
    # columns with one name; the header reader's names are unique and are the ones
    # the window offers as targets.
    table.columns = header if len(header) == len(table.columns) else _unique_names(
        [str(name).strip() for name in table.columns])
    if table.empty:
        raise UserError.of("'{name}' has a header but no rows of data; choose a file with at least a few rows.",
                           name=path.name)
    notes = [
        Text.of("Read {rows} rows and {columns} columns ({encoding}, {separator}-separated).",
                rows=len(table), columns=len(table.columns), encoding=encoding, separator=DELIMITER_NAMES[delimiter])
    ]
    notes += _read_numbers_in_text(table, decimal_comma=delimiter != ",")
    _infinities_as_missing(table, text, delimiter)
    return table, notes


_INFINITY_WORDS = ["inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"]


def _infinities_as_missing(table: pd.DataFrame, text: str, delimiter: str) -> None:
    """Counts the words ``inf`` and ``-inf`` as missing, in place: no model can learn from them.

    A number too large for any float (``1e400``) is read as infinite too, but
    it is a number the file holds, so it stays infinite and `load_csv` refuses
    it by name and row instead of quietly dropping it.
    """
    for position, name in enumerate(table.columns):
        if not pd.api.types.is_float_dtype(table[name]):
            continue
        values = table[name].to_numpy(dtype=np.float64, na_value=np.nan)
        infinite = np.isinf(values)
        if infinite.any():
            written = _written_values(text, delimiter, position, len(values))
            said = (
                infinite if written is None
                else infinite & written.str.strip().str.lower().isin(_INFINITY_WORDS).to_numpy()
            )
            table[name] = np.where(said, np.nan, values)


def _written_values(text: str, delimiter: str, position: int, n_rows: int) -> pd.Series | None:
    """One column's values as the file writes them, or None if they do not line up with the table."""
    try:
        column = pd.read_csv(
            io.StringIO(text), sep=delimiter, skipinitialspace=True, usecols=[position],
            dtype=str, keep_default_na=False, low_memory=False,
        ).iloc[:, 0]
    except (pd.errors.ParserError, ValueError, IndexError):
        return None
    return column.reset_index(drop=True) if len(column) == n_rows else None


def _is_text(column: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column))


def _text_as_numbers(text: pd.Series, decimal_comma: bool) -> np.ndarray:
    """Cleaned text parsed as numbers, NaN where a value is not a number."""
    if decimal_comma:
        text = text.str.replace(",", ".", regex=False)
    numbers = pd.to_numeric(text, errors="coerce")
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)


def _read_numbers_in_text(table: pd.DataFrame, decimal_comma: bool) -> list[str]:
    """Turns text columns that hold numbers into numbers, in place.

    A column counts as numbers when every value parses (with a decimal comma
    such as ``5,1`` when the separator is not a comma), or when at least
    `MOSTLY_NUMBERS` of its values do; the stray words then count as missing,
    with a note.
    """
    notes = []
    for name in table.columns:
        if not _is_text(table[name]):
            continue
        text = _clean_text(table[name])
        present = text.notna().to_numpy()
        n_present = int(present.sum())
        if n_present == 0:
            continue
        numbers = _text_as_numbers(text, decimal_comma)
        stray = present & np.isnan(numbers)
        n_stray = int(stray.sum())
        if n_stray > (1 - MOSTLY_NUMBERS) * n_present:
            continue
        table[name] = numbers
        if n_stray:
            examples = ", ".join(repr(str(word)) for word in text[stray].unique()[:3])
            notes.append(Text.of("'{name}' was read as numbers; its {count} value(s) that are not numbers "
                                 "(such as {examples}) count as missing.", name=name, count=n_stray, examples=examples))
    return notes


# ---------------------------------------------------------------- columns


def _clean_text(column: pd.Series) -> pd.Series:
    """Text values stripped of spaces, with empty strings counted as missing."""
    text = column.astype("string").str.strip()
    return text.mask(text == "")


def _as_numbers(column: pd.Series) -> np.ndarray:
    return column.astype(np.float64).to_numpy(dtype=np.float64, na_value=np.nan)


@dataclass
class NumericColumn:
    """A feature column of numbers; NaN marks a missing value."""

    name: str
    values: np.ndarray

    @property
    def feature_names(self) -> list[str]:
        return [self.name]


@dataclass
class TextColumn:
    """A text feature column as indices into `categories`; -1 marks a missing value."""

    name: str
    codes: np.ndarray
    categories: list[str]

    @property
    def feature_names(self) -> list[str]:
        return [f"{self.name}={category}" for category in self.categories]


def _fill_value_numeric(train_values: np.ndarray, all_values: np.ndarray) -> float:
    """The training median, or the whole column's when no training row has a value."""
    present = train_values[~np.isnan(train_values)]
    if present.size:
        return float(np.median(present))
    present = all_values[~np.isnan(all_values)]
    return float(np.median(present)) if present.size else 0.0


def _fill_value_text(train_codes: np.ndarray, all_codes: np.ndarray, n_categories: int) -> int:
    """The training rows' most frequent category (the whole column's when they have none)."""
    present = train_codes[train_codes >= 0]
    if present.size == 0:
        present = all_codes[all_codes >= 0]
    return int(np.bincount(present, minlength=n_categories).argmax())


@dataclass
class CsvFeatures:
    """Feature columns of a CSV table, finished once the split is known."""

    columns: list[NumericColumn | TextColumn]

    @property
    def feature_names(self) -> list[str]:
        return [name for column in self.columns for name in column.feature_names]

    def take(self, train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[InputFeature]]:
        """Raw features for these rows, missing values filled from the training rows alone.

        Returns:
            ``(x_train, x_test, inputs)``: numbers in their own units, one 0/1
            column per category, and what each column is with the training
            statistics the model standardises numbers with.
        """
        x_train, x_test, inputs = [], [], []
        for column in self.columns:
            block, fill = _filled_block(column, train)
            x_train.append(block[train])
            x_test.append(block[test])
            if isinstance(column, NumericColumn):
                inputs += number_inputs([column.name], block[train], standardize=True, fills=np.array([fill]))
            else:
                inputs += one_hot_inputs(column.name, column.categories, fill)
        return (np.concatenate(x_train, axis=1).astype(np.float32),
                np.concatenate(x_test, axis=1).astype(np.float32), inputs)


def _filled_block(column: NumericColumn | TextColumn, train: np.ndarray) -> tuple[np.ndarray, float | int]:
    """The column's feature values for every row, missing ones filled from the training rows.

    Returns:
        ``(block, fill)``: one column of numbers, or one 0/1 column per
        category; and the number, or the category's index, that fills a gap.
    """
    if isinstance(column, NumericColumn):
        values = column.values
        fill = _fill_value_numeric(values[train], values)
        if np.isnan(values).any():
            values = np.where(np.isnan(values), fill, values)
        return values.reshape(-1, 1), fill
    codes = column.codes
    fill = _fill_value_text(codes[train], codes, len(column.categories))
    if (codes < 0).any():
        codes = np.where(codes < 0, fill, codes)
    return np.eye(len(column.categories), dtype=np.float32)[codes], fill


# ---------------------------------------------------------------- target


def _find_target(table: pd.DataFrame, wanted: str, file_name: str) -> str:
    wanted = wanted.strip()
    if wanted in table.columns:
        return wanted
    by_case = [name for name in table.columns if name.casefold() == wanted.casefold()]
    if len(by_case) == 1:
        return by_case[0]
    listed = ", ".join(repr(name) for name in table.columns[:_LISTED_COLUMNS])
    more = (
        Text.of(" and {count} more", count=len(table.columns) - _LISTED_COLUMNS)
        if len(table.columns) > _LISTED_COLUMNS
        else ""
    )
    raise UserError.of("'{file_name}' has no column named '{wanted}'. Its columns are {listed}{more}; choose one of "
                       "them as the target.", file_name=file_name, wanted=wanted, listed=listed, more=more)


def _number_name(value: float) -> str:
    """A class name for a number: ``3`` for a whole number, ``2.5`` or ``1e+30`` otherwise."""
    if value == np.round(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _encode_classes(target: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Class indices and sorted class names of a non-missing target."""
    if pd.api.types.is_bool_dtype(target):
        codes, uniques = pd.factorize(target, sort=True)
        return codes.astype(np.int32), [str(bool(value)) for value in uniques]
    if pd.api.types.is_numeric_dtype(target):
        # + 0.0 makes -0.0 into 0.0, so the two cannot give one class two names.
        codes, uniques = pd.factorize(_as_numbers(target) + 0.0, sort=True)
        return codes.astype(np.int32), [_number_name(value) for value in uniques]
    codes, uniques = pd.factorize(_clean_text(target), sort=True)
    return codes.astype(np.int32), [str(value) for value in uniques]


def _can_be_classes(n_values: int, n_rows: int) -> bool:
    """Whether this many different values in this many rows can be told apart as classes."""
    return n_values <= MAX_CLASSES_FROM_TEXT or n_values <= n_rows / 2


def _check_classes(name: str, class_names: list[str], n_rows: int, numbers: bool = False) -> None:
    if len(class_names) < 2:
        only = f" ('{class_names[0]}')" if class_names else ""
        raise UserError.of("The target column '{name}' has only one value{only}, so there is nothing to tell apart; "
                           "choose a column with at least two different values.", name=name, only=only)
    if _can_be_classes(len(class_names), n_rows):
        return
    if numbers:
        raise UserError.of("The target column '{name}' has {classes} different numbers in {n_rows} rows, too "
                           "many to learn as classes; choose regression (the Task setting, or --task regression) to "
                           "predict it as a number.",
                           name=name, classes=f"{len(class_names):,}", n_rows=f"{n_rows:,}")
    raise UserError.of("The target column '{name}' has {classes} different values in {n_rows} rows, which "
                       "looks like names or ids rather than classes; choose a column whose values repeat.",
                       name=name, classes=len(class_names), n_rows=n_rows)


def _choose_task(target: pd.Series, name: str, wanted: str) -> tuple[str, Text]:
    """The task for this target column and the note that says why.

    Args:
        target: the target column, without missing values.
        name: its name.
        wanted: `DatasetChoice.task`: ``"auto"``, ``"classification"`` or ``"regression"``.

    Raises:
        UserError: when regression is asked of a column of text or true/false values.
    """
    if _is_text(target) or pd.api.types.is_bool_dtype(target):
        holds = Text("text" if _is_text(target) else "true/false values")
        if wanted == REGRESSION:
            raise UserError.of("The target column '{name}' cannot be a regression because the column holds {holds}, "
                               "not numbers; choose classification, or a column of numbers.", name=name, holds=holds)
        return CLASSIFICATION, Text.of("Task: classification, because '{name}' holds {holds}.", name=name, holds=holds)
    if wanted == CLASSIFICATION:
        return CLASSIFICATION, Text.of("Task: classification, as chosen; each value of '{name}' is a class.", name=name)
    if wanted == REGRESSION:
        return REGRESSION, Text.of("Task: regression, as chosen; '{name}' is predicted as a number.", name=name)
    numbers = _as_numbers(target)
    n_values = int(pd.Series(numbers + 0.0).nunique())
    whole = bool(np.all(numbers == np.round(numbers)))
    if whole and n_values <= MAX_NUMERIC_CLASSES:
        return CLASSIFICATION, Text.of(
            "Task: classification, because '{name}' holds {count} different whole numbers (at most {most} count as "
            "classes); choose regression (the Task setting, or --task regression) to predict it as a number.",
            name=name, count=n_values, most=MAX_NUMERIC_CLASSES)
    values = {"name": name, "count": f"{n_values:,}", "not_whole": "" if whole else Text(" (not all whole numbers)")}
    if _can_be_classes(n_values, len(target)):
        return REGRESSION, Text.of("Task: regression, because '{name}' holds numbers with {count} different values"
                                   "{not_whole}; choose classification (the Task setting, or --task classification) "
                                   "to treat each value as a class.", **values)
    return REGRESSION, Text.of("Task: regression, because '{name}' holds numbers with {count} different values"
                               "{not_whole}.", **values)


def _regression_target(target: pd.Series, name: str) -> np.ndarray:
    """The target as float32 numbers, refusing values whose squared error would overflow.

    The loss is computed in the target's own units in float32, and the mean
    squared error squares them and adds a batch of them up, so values beyond
    `_MAX_TARGET` could make the loss infinite.
    """
    values = _as_numbers(target)
    too_big = np.abs(values) > _MAX_TARGET
    if too_big.any():
        row = int(np.flatnonzero(too_big)[0])
        raise UserError.of("The target column '{name}' in {row} holds {number}, whose squared error would overflow "
                           "TensorFlow's 32-bit numbers (target values must stay within about ±{max_target}); "
                           "rescale that column (into thousands or millions, say) or remove the row.",
                           name=name, row=_row_label(target.index[row]), number=_shown_number(values[row]), max_target=f"{_MAX_TARGET:.1e}")
    return values.astype(np.float32)


def _check_number_range(table: pd.DataFrame, features: list[str]) -> None:
    """Refuses a feature number beyond float32's range, naming its column and row."""
    for name in features:
        column = table[name]
        if _is_text(column) or pd.api.types.is_bool_dtype(column):
            continue
        values = _as_numbers(column)
        too_big = np.abs(values) > _FLOAT32_MAX  # NaN compares False
        if too_big.any():
            row = int(np.flatnonzero(too_big)[0])
            raise UserError.of("'{name}' {row} holds {number}, beyond what TensorFlow's 32-bit numbers can hold "
                               "(about ±{float32_max}); rescale that column or remove the row.",
                               name=name, row=_row_label(table.index[row]), number=_shown_number(values[row]), float32_max=f"{_FLOAT32_MAX:.1e}")


def _shown_number(value: float) -> str:
    return f"{value:g}" if np.isfinite(value) else Text("a number too large for any computer (such as 1e400)")


def _row_label(index: int) -> str:
    """How a row is named to the user: its place among the file's rows of data."""
    return Text.of("row {row} (counting data rows below the header)", row=int(index) + 1)


# ---------------------------------------------------------------- features


def _skip_reason(name: str, column: pd.Series) -> Text | None:
    """Why a feature column cannot be used, or None when it can."""
    present = int((~_is_missing(column)).sum())
    if present == 0:
        return Text.of("'{name}' was skipped because it is empty.", name=name)
    if not _is_text(column):
        return None
    distinct = _clean_text(column).nunique()
    if distinct > MAX_TEXT_VALUES or (distinct > 10 and distinct > present / 2):
        return Text.of("'{name}' was skipped because its text has {count} different values, too many to encode "
                       "(names or ids tell the model nothing general).", name=name, count=distinct)
    return None


def _feature_column(name: str, column: pd.Series) -> NumericColumn | TextColumn:
    if _is_text(column):
        codes, uniques = pd.factorize(_clean_text(column), sort=True)
        return TextColumn(name, codes.astype(np.int64), [str(value) for value in uniques])
    return NumericColumn(name, _as_numbers(column))


def _choose_features(table: pd.DataFrame, target: str, exclude=()) -> tuple[list[str], list[Text]]:
    """Names of the usable feature columns, and notes about the skipped ones."""
    used, notes = [], []
    left_out = [name for name in table.columns if name in exclude and name != target]
    if left_out:
        notes.append(Text.of("Left out as the project asks: {names}.", names=", ".join(repr(name) for name in left_out)))
    for name in table.columns:
        if name == target or name in left_out:
            continue
        reason = _skip_reason(name, table[name])
        if reason:
            notes.append(reason)
        else:
            used.append(name)
    if not used:
        detail = Text.of(" {notes}", notes=Text.joined(notes)) if notes else ""
        raise UserError.of("No column is left to learn '{target}' from.{detail} Choose a file with at least one "
                           "other column of numbers or short text.", target=target, detail=detail)
    return used, notes


def _answer_giving_columns(table: pd.DataFrame, features: list[str], y: np.ndarray) -> list[str]:
    """Feature columns whose values match the classes one to one (like titanic's 'alive')."""
    n_classes = int(y.max()) + 1
    found = []
    for name in features:
        column = table[name]
        codes = pd.factorize(_clean_text(column) if _is_text(column) else column)[0]
        present = codes >= 0
        pairs = pd.DataFrame({"value": codes[present], "cls": y[present]}).drop_duplicates()
        if len(pairs) == n_classes and pairs["value"].is_unique and pairs["cls"].is_unique:
            found.append(name)
    return found


# ---------------------------------------------------------------- missing values


def _is_missing(column: pd.Series) -> np.ndarray:
    """Missing values, counting blank text as missing."""
    return (_clean_text(column) if _is_text(column) else column).isna().to_numpy()


def _drop_missing_target(table: pd.DataFrame, target: str) -> tuple[pd.DataFrame, list[Text]]:
    missing = _is_missing(table[target])
    if not missing.any():
        return table, []
    if missing.all():
        raise UserError.of("The target column '{target}' has no values; choose another column.", target=target)
    note = Text.of("Dropped {count} row(s) with no value in the target column '{target}'.",
                   count=int(missing.sum()), target=target)
    return table.loc[~missing], [note]


def _missing_mask(table: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    return pd.DataFrame({name: _is_missing(table[name]) for name in features})


def _handle_missing(
    table: pd.DataFrame, features: list[str], how: str
) -> tuple[pd.DataFrame, list[Text]]:
    """Drops rows with missing features (``"drop"``) or counts the values to fill (``"fill"``)."""
    missing = _missing_mask(table, features)
    per_column = missing.sum().sort_values(ascending=False)
    if per_column.iloc[0] == 0:
        return table, []
    worst = ", ".join(f"'{name}' ({int(count)})" for name, count in per_column.items() if count > 0)
    if how == "fill":
        return table, [
            Text.of("Filled {count} missing value(s) in {worst}: numbers with the training rows' median, text with "
                    "the training rows' most frequent value.", count=int(per_column.sum()), worst=worst)
        ]
    rows_missing = missing.any(axis=1).to_numpy()
    if rows_missing.all():
        raise UserError.of("Every row has a missing value (missing per column: {worst}), so dropping them leaves "
                           "nothing; choose 'fill' for missing values, or remove the emptiest columns from the file.",
                           worst=worst)
    note = Text.of("Dropped {count} of {rows} rows that had a missing value (missing per column: {worst}); "
                   "choose 'fill' to keep them.", count=int(rows_missing.sum()), rows=len(table), worst=worst)
    return table.loc[~rows_missing], [note]


# ---------------------------------------------------------------- the set


def load_csv(choice: DatasetChoice) -> UnsplitData:
    """Loads `choice.data_file`, predicting the column `choice.target`.

    Args:
        choice: uses `data_file`, `target`, `missing` and `task`.

    Returns:
        The rows before the split; missing values are filled and numbers
        standardised with training statistics when the registry splits them.

    Raises:
        UserError: for a missing, empty, binary or malformed file, a header
            without rows, an unknown target column, a target with one class,
            no usable feature column, every row dropped for missing values,
            a number beyond float32's range, or a task the target cannot have.
    """
    path = Path(choice.data_file).expanduser()
    table, notes = read_table(path)
    target = _find_target(table, choice.target, path.name)
    features, skipped = _choose_features(table, target, choice.exclude)
    notes += skipped
    table, dropped = _drop_missing_target(table, target)
    notes += dropped
    table, missing_notes = _handle_missing(table, features, choice.missing)
    notes += missing_notes
    # Before the split, so a number only a test row holds is refused too.
    _check_number_range(table, features)

    task, task_note = _choose_task(table[target], target, choice.task)
    notes.append(task_note)
    if task == CLASSIFICATION:
        y, class_names = _encode_classes(table[target])
        _check_classes(target, class_names, len(table), numbers=not _is_text(table[target]))
        for name in _answer_giving_columns(table, features, y):
            notes.append(Text.of("'{name}' matches the target one to one, so a model can read the answer from it; "
                                 "remove that column from the file for a fair test.", name=name))
    else:
        y, class_names = _regression_target(table[target], target), []

    columns = [_feature_column(name, table[name]) for name in features]
    notes += _encoding_notes(columns)
    return UnsplitData(
        task=task,
        features=CsvFeatures(columns),
        y=y,
        target_name=target,
        class_names=class_names,
        notes=notes,
        row_numbers=table.index.to_numpy(dtype=np.int64) + 1,  # rows dropped above keep their numbers
    )


def _encoding_notes(columns: list[NumericColumn | TextColumn]) -> list[Text]:
    text = [column.name for column in columns if isinstance(column, TextColumn)]
    numeric = [column.name for column in columns if isinstance(column, NumericColumn)]
    notes = []
    if numeric:
        notes.append(Text("Numeric columns keep their units; the model standardises them with the training rows' "
                          "mean and standard deviation."))
    if text:
        notes.append(Text.of("Text column(s) {names} became one 0/1 column per value (values taken from the whole "
                             "file).", names=", ".join(text)))
    return notes
