"""`preprocessing.json`: what a trained model's inputs and outputs are, beside every saved model.

A model saved by Keras Trainer takes raw values (it standardises them in its
first layer, see `models.network.build.standardizing_layer`). This description says,
for each input in order, which column of a table it comes from and how
(a number, one category of a text column, or a pixel), what training filled
in for a missing value, and what the outputs mean (the class names in output
order, or the regression's target). With it, anyone with numpy can turn a raw
row into the model's input, as `models.saving.standalone_predict` does.

The file is versioned like projects; `load_preprocessing` reads a file from
anywhere (it is untrusted) and turns any damage into one `UserError` sentence.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from datasets.base import CLASSIFICATION, REGRESSION, Dataset
from datasets.inputs import INPUT_KINDS, NUMBER, ONE_HOT, PIXEL, InputFeature
from models.errors import UserError
from models.files import write_json_atomic

FORMAT = "keras-trainer-preprocessing"
VERSION = 1
FILE_NAME = "preprocessing.json"
SOFTMAX, SIGMOID, VALUE, SCORES = "softmax", "sigmoid", "value", "scores"
OUTPUT_KINDS = (SOFTMAX, SIGMOID, VALUE, SCORES)
MAX_FILE_BYTES = 64_000_000
MAX_INPUTS = 1_000_000


@dataclass
class Preprocessing:
    """What a model's inputs and outputs are.

    Args:
        task: `"classification"` or `"regression"`.
        target: the name of what is predicted (the CSV's target column).
        classes: class names in output order; empty for a regression.
        output: `"softmax"` (one probability per class), `"sigmoid"` (one
            output, the probability of ``classes[1]``), `"scores"` (one
            unnormalised score per class) or `"value"` (a regression's value
            in the target's units).
        inputs: one `InputFeature` per model input, in input order.
        dataset: the data set the model was trained on.
        image_shape: ``(height, width)`` when the inputs are an image's pixels.
    """

    task: str
    target: str
    classes: list[str]
    output: str
    inputs: list[InputFeature]
    dataset: str = ""
    image_shape: tuple[int, int] | None = None
    version: int = VERSION
    columns: list[str] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.columns = list(dict.fromkeys(feature.column for feature in self.inputs))

    @property
    def is_classification(self) -> bool:
        return self.task == CLASSIFICATION

    def categories(self, column: str) -> list[str]:
        """The categories of a text column, in input order; empty for a column of numbers."""
        return [f.category for f in self.inputs if f.column == column and f.kind == ONE_HOT]

    def to_dict(self) -> dict:
        """The JSON form, with the keys the issue and `models.saving.standalone_predict` read."""
        data = {
            "format": FORMAT, "version": self.version, "task": self.task, "target": self.target,
            "dataset": self.dataset,
        }
        if self.is_classification:
            data["classes"] = list(self.classes)
        data["output"] = self.output
        if self.image_shape is not None:
            data["image_shape"] = list(self.image_shape)
        data["inputs"] = [_input_dict(feature, self.image_shape) for feature in self.inputs]
        return data


def _input_dict(feature: InputFeature, image_shape) -> dict:
    entry = {"name": feature.name, "column": feature.column, "kind": feature.kind}
    if feature.kind == ONE_HOT:
        entry["category"] = feature.category
    if feature.kind == PIXEL and image_shape is not None:
        entry["image_shape"] = list(image_shape)
    entry["fill"] = feature.fill
    entry["mean"], entry["std"] = feature.mean, feature.std
    if feature.minimum is not None:
        entry["minimum"] = feature.minimum
    if feature.maximum is not None:
        entry["maximum"] = feature.maximum
    return entry


def output_kind(task: str, units: int, activation: str) -> str:
    """What the output layer gives: `"value"`, `"sigmoid"`, `"softmax"` or `"scores"`."""
    if task != CLASSIFICATION:
        return VALUE
    if units == 1:
        return SIGMOID
    return SOFTMAX if activation == "softmax" else SCORES


def describe_preprocessing(dataset: Dataset, plan) -> Preprocessing:
    """The description of a model trained on ``dataset`` with the output ``plan`` (see `resolve_output`)."""
    return Preprocessing(
        task=dataset.task,
        target=dataset.target_name,
        classes=list(dataset.class_names) if dataset.is_classification else [],
        output=output_kind(dataset.task, plan.units, plan.activation),
        inputs=dataset.input_features,
        dataset=dataset.name,
        image_shape=tuple(dataset.image_shape) if dataset.image_shape else None,
    )


def save_preprocessing(preprocessing: Preprocessing, path: str | Path) -> Path:
    """Writes the description as JSON, atomically; returns the path."""
    path = Path(path)
    write_json_atomic(path, preprocessing.to_dict())
    return path


def load_preprocessing(path: str | Path) -> Preprocessing:
    """Reads a `preprocessing.json` written by any version up to this one.

    Raises:
        UserError: for a missing, unreadable, oversized or damaged file, in a
            sentence that names the file and what is wrong.
    """
    path = Path(path)
    name = path.name
    try:
        if not path.is_file():
            raise UserError.of("there is no {file_name} at {path}: a model needs the description of its inputs that "
                               "Keras Trainer writes beside it; export the model again.",
                               file_name=FILE_NAME, path=path)
        if path.stat().st_size > MAX_FILE_BYTES:
            raise UserError.of("{name} is too large to be a description of a model's inputs.", name=name)
        text = path.read_text(encoding="utf-8-sig")  # a file saved again by Notepad starts with a BOM
    except OSError as error:
        raise UserError.of("{path} could not be read ({reason}).", path=path, reason=error.strerror or error) from None
    except UnicodeDecodeError:
        raise UserError.of("{name} is not text (UTF-8): it is damaged; export the model again.", name=name) from None
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        raise UserError.of("{name} is damaged (not valid JSON: {error}); export the model again.",
                           name=name, error=error) from None
    return preprocessing_from_dict(data, name)


def _refuse_constant(word: str):
    raise ValueError(f"{word} is not a number JSON allows")


def preprocessing_from_dict(data, name: str = FILE_NAME) -> Preprocessing:
    """The `Preprocessing` a JSON object describes.

    Raises:
        UserError: naming the first key that is missing or wrong.
    """
    def bad(what: str) -> UserError:
        return UserError.of("{name} is damaged: {what}; export the model again.", name=name, what=what)

    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UserError.of("{name} is not a Keras Trainer description of a model's inputs (its \"format\" should be "
                           '"{format}").', name=name, format=FORMAT)
    version = data.get("version")
    if not _is_int(version) or not 1 <= version < 1_000_000:
        raise bad('"version" is not a whole number from 1')
    if version > VERSION:
        raise UserError.of("{name} was written by a newer Keras Trainer (version {version}; this one reads up to "
                           "{newest}): update Keras Trainer to use this model.",
                           name=name, version=version, newest=VERSION)
    task = data.get("task")
    if task not in (CLASSIFICATION, REGRESSION):
        raise bad('"task" must be "classification" or "regression"')
    target = data.get("target", "")
    if not isinstance(target, str):
        raise bad('"target" is not text')
    output = data.get("output")
    if output not in OUTPUT_KINDS or (output == VALUE) != (task == REGRESSION):
        raise bad(f'"output" {output!r} does not fit a {task}')
    classes = data.get("classes", []) if task == CLASSIFICATION else []
    if task == CLASSIFICATION and (not isinstance(classes, list) or len(classes) < 2
                                   or not all(isinstance(c, str) for c in classes)
                                   or len(set(classes)) != len(classes)):
        raise bad('"classes" must list two or more different class names')
    if output == SIGMOID and len(classes) != 2:
        raise bad("a sigmoid output has two classes")
    image_shape = data.get("image_shape")
    if image_shape is not None:
        if not (isinstance(image_shape, list) and len(image_shape) == 2 and all(_is_int(n) and n > 0 for n in image_shape)):
            raise bad('"image_shape" must be [height, width]')
        image_shape = (image_shape[0], image_shape[1])
    raw_inputs = data.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs or len(raw_inputs) > MAX_INPUTS:
        raise bad('"inputs" must list the model\'s inputs')
    inputs = [_input_from_dict(entry, position, bad) for position, entry in enumerate(raw_inputs, start=1)]
    _check_columns(inputs, bad)
    if image_shape is not None and image_shape[0] * image_shape[1] != len(inputs):
        raise bad(f'"image_shape" {list(image_shape)} does not hold the {len(inputs)} inputs')
    dataset = data.get("dataset", "")
    return Preprocessing(task=task, target=target, classes=list(classes), output=output, inputs=inputs,
                         dataset=dataset if isinstance(dataset, str) else "", image_shape=image_shape)


def _check_columns(inputs: list[InputFeature], bad) -> None:
    """Each column is read one way: as one number (or pixel), or as one-hot inputs of different categories."""
    readings: dict[str, list[InputFeature]] = {}
    for feature in inputs:
        readings.setdefault(feature.column, []).append(feature)
    for column, features in readings.items():
        one_hot = [f.category for f in features if f.kind == ONE_HOT]
        if len(one_hot) != len(features) and len(features) > 1:
            raise bad(f"the column '{column}' is read in more than one way")
        if len(set(one_hot)) != len(one_hot):
            raise bad(f"a category of '{column}' is listed twice")


def _input_from_dict(entry, position: int, bad) -> InputFeature:
    if not isinstance(entry, dict):
        raise bad(f"input {position} is not an object")
    name, kind = entry.get("name"), entry.get("kind")
    if not isinstance(name, str) or not name:
        raise bad(f'input {position} has no "name"')
    if kind not in INPUT_KINDS:
        raise bad(f"input {position} ('{name}') has the kind {kind!r}, not one of {', '.join(INPUT_KINDS)}")
    column = entry.get("column", name)
    category = entry.get("category")
    if not isinstance(column, str) or not column:
        raise bad(f'input {position} (\'{name}\') has no "column"')
    if kind == ONE_HOT and not isinstance(category, str):
        raise bad(f'input {position} (\'{name}\') is one-hot but has no "category"')
    numbers = {}
    for key, default in (("fill", 0.0), ("mean", 0.0), ("std", 1.0), ("minimum", None), ("maximum", None)):
        value = entry.get(key, default)
        if value is not None and not _is_finite_number(value):
            raise bad(f'input {position} (\'{name}\') has "{key}" {value!r}, not a number')
        numbers[key] = None if value is None else float(value)
    if not numbers["std"] > 0:
        raise bad(f'input {position} (\'{name}\') has "std" {numbers["std"]!r}; it must be above 0')
    return InputFeature(name=name, kind=kind, column=column, category=category if kind == ONE_HOT else None,
                        **numbers)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_finite_number(value) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value) and abs(float(value)) <= 3.4e38  # what float32 can hold
    except OverflowError:  # an integer of hundreds of digits
        return False


__all__ = ["FILE_NAME", "FORMAT", "NUMBER", "ONE_HOT", "PIXEL", "Preprocessing", "VERSION",
           "describe_preprocessing", "load_preprocessing", "preprocessing_from_dict", "save_preprocessing"]
