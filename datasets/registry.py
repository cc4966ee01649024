"""Every data set by name, and the one function that loads any of them.

`load_dataset` is the entry point for the window and the command line:

    from datasets.choice import DatasetChoice
    from datasets.registry import load_dataset

    data = load_dataset(DatasetChoice(name="spiral", samples=400, noise=0.1))
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import numpy as np

from datasets.base import CLASSIFICATION, REGRESSION, Dataset
from datasets.choice import DatasetChoice
from models.errors import UserError
from models.text import Text

POINTS = "points"
TABLE = "table"
IMAGES = "images"
CSV = "csv"
EITHER = "classification or regression"


@dataclass(frozen=True)
class DatasetInfo:
    """What a data set is and which settings apply to it.

    Args:
        name: registry name, as in `DatasetChoice.name`.
        title: short name to show, such as `"Two spirals"`.
        description: one sentence a student understands.
        kind: `"points"` (two synthetic features), `"table"`, `"images"` or `"csv"`.
        task: `"classification"`, `"regression"`, or `EITHER` when the
            chosen target column decides.
        uses_samples: whether `DatasetChoice.samples` matters.
        uses_noise: whether `DatasetChoice.noise` matters.
        needs_file: whether `DatasetChoice.data_file` must be given.
        accepts_file: whether `DatasetChoice.data_file` is read when given.
    """

    name: str
    title: str
    description: str
    kind: str
    task: str
    uses_samples: bool = False
    uses_noise: bool = False
    needs_file: bool = False
    accepts_file: bool = False


def _points(name: str, title: str, description: str, task: str = CLASSIFICATION) -> DatasetInfo:
    return DatasetInfo(name, title, description, POINTS, task, uses_samples=True, uses_noise=True)


_INFOS = [
    _points(
        "circles",
        "Circle in a ring",
        "Points inside a small circle against points on a ring around it.",
    ),
    _points(
        "xor",
        "XOR quadrants",
        "Points whose two coordinates have the same sign against those whose signs differ.",
    ),
    _points(
        "gauss",
        "Two clouds",
        "Two round clouds of points, one in the lower left and one in the upper right.",
    ),
    _points(
        "spiral",
        "Two spirals",
        "Two spiral arms wound around each other; the hardest point set to separate.",
    ),
    _points("moons", "Two moons", "Two interlocking half circles of points."),
    _points(
        "plane",
        "Tilted plane",
        "Predict a number that rises with x1 and falls with x2, plus noise.",
        REGRESSION,
    ),
    DatasetInfo(
        "linear",
        "Linear regression (D2L)",
        "1000 points with y = 2·x1 − 3.4·x2 + 4.2 + a little noise; a single Dense unit can learn w and b exactly.",
        POINTS,
        REGRESSION,
    ),
    DatasetInfo(
        "iris",
        "Iris flowers",
        "Tell three kinds of iris apart from the sizes of their petals and sepals.",
        TABLE,
        CLASSIFICATION,
    ),
    DatasetInfo(
        "wine",
        "Wine",
        "Tell three Italian wine grapes apart from 13 chemical measurements.",
        TABLE,
        CLASSIFICATION,
    ),
    DatasetInfo(
        "breast_cancer",
        "Breast cancer",
        "Tell malignant from benign tumours using 30 measurements of cell nuclei.",
        TABLE,
        CLASSIFICATION,
    ),
    DatasetInfo(
        "digits",
        "Handwritten digits 8×8",
        "Recognise small 8×8 pictures of handwritten digits 0 to 9.",
        TABLE,
        CLASSIFICATION,
    ),
    DatasetInfo(
        "diabetes",
        "Diabetes progression",
        "Predict how far diabetes progresses in a year from age, body mass and blood measurements.",
        TABLE,
        REGRESSION,
    ),
    DatasetInfo(
        "mnist",
        "MNIST digits",
        "Recognise 28×28 pictures of handwritten digits; 60,000 for training and 10,000 for testing.",
        IMAGES,
        CLASSIFICATION,
        accepts_file=True,
    ),
    DatasetInfo(
        "fashion_mnist",
        "Fashion-MNIST",
        "Recognise 28×28 pictures of ten kinds of clothing, such as shirts, trousers and sneakers.",
        IMAGES,
        CLASSIFICATION,
        accepts_file=True,
    ),
    DatasetInfo(
        "csv",
        "Your CSV file",
        "Your own table: choose a file and the column to predict.",
        CSV,
        EITHER,
        needs_file=True,
        accepts_file=True,
    ),
]

DATASETS: dict[str, DatasetInfo] = {info.name: info for info in _INFOS}

# Loaders are named, not imported: pandas and scikit-learn take seconds to
# import, and the window lists the data sets before its first paint.
_UNSPLIT_LOADERS: dict[str, str] = {
    "circles": "datasets.synthetic:load_points",
    "xor": "datasets.synthetic:load_points",
    "gauss": "datasets.synthetic:load_points",
    "spiral": "datasets.synthetic:load_points",
    "moons": "datasets.synthetic:load_points",
    "plane": "datasets.synthetic:load_plane",
    "linear": "datasets.synthetic:load_linear",
    "iris": "datasets.tables:load_table",
    "wine": "datasets.tables:load_table",
    "breast_cancer": "datasets.tables:load_table",
    "digits": "datasets.tables:load_table",
    "diabetes": "datasets.tables:load_table",
    "csv": "datasets.csv_table:load_csv",
}

# These keep their official train/test split, so they load straight into a Dataset.
_PRESPLIT_LOADERS: dict[str, str] = {
    "mnist": "datasets.mnist:load_images",
    "fashion_mnist": "datasets.mnist:load_images",
}


def _loader(reference: str):
    module, function = reference.split(":")
    return getattr(importlib.import_module(module), function)


def dataset_names() -> list[str]:
    """Every registry name, in the order to show them."""
    return list(DATASETS)


def dataset_info(name: str) -> DatasetInfo:
    """The `DatasetInfo` for `name`.

    Raises:
        UserError: for an unknown name, listing the known ones.
    """
    if name not in DATASETS:
        raise UserError.of("Unknown data set '{name}'; choose one of: {datasets}.",
                           name=name, datasets=", ".join(DATASETS))
    return DATASETS[name]


def load_dataset(choice: DatasetChoice) -> Dataset:
    """Loads the data set `choice` names, split into training and test arrays.

    Synthetic sets, scikit-learn tables and CSV files are split here with
    `choice.test_fraction` and `choice.seed` (stratified for classification),
    then their features are finished with training statistics only. MNIST
    and Fashion-MNIST keep their official split.

    Args:
        choice: the data set and its settings.

    Returns:
        A `Dataset` with float32 2-D x arrays and y of shape ``(n,)``: int32
        class indices for classification, float32 for regression.

    Raises:
        UserError: for invalid settings, an unknown name, or data that cannot be read.
    """
    problems = choice.problems()
    if problems:
        raise UserError(Text.joined(problems))
    dataset_info(choice.name)
    if choice.name in _PRESPLIT_LOADERS:
        return _loader(_PRESPLIT_LOADERS[choice.name])(choice)
    unsplit = _loader(_UNSPLIT_LOADERS[choice.name])(choice)
    dataset = unsplit.split(choice.name, choice.test_fraction, choice.seed)
    if dataset.task == REGRESSION and DATASETS[choice.name].kind in (TABLE, CSV):
        dataset.target_scale = training_target_scale(dataset.y_train)
    return dataset


def training_target_scale(y_train: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of the training targets (1 when they are all equal)."""
    # In float64: float32 targets near their bound overflow float32's sum of squares.
    spread = float(np.std(y_train, dtype=np.float64))
    return float(np.mean(y_train, dtype=np.float64)), spread if spread > 0 else 1.0
