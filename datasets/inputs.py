"""What each input of a model is: the raw value it takes, and how the model standardises it.

A data set's feature arrays hold raw values: numbers in their own units
(missing ones already filled), 0/1 for each category of a text column, and
image pixels in their original range. Standardising them with training
statistics is the model's own first layer (see `models.network.build`), so a saved
or exported model takes the same raw values a person would type in, and
`preprocessing.json` (see `models.saving.preprocessing`) tells anyone how to build
a row from a table.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

NUMBER = "number"
ONE_HOT = "one_hot"
PIXEL = "pixel"
INPUT_KINDS = (NUMBER, ONE_HOT, PIXEL)

_FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class InputFeature:
    """One input of the model, as it is read from a row of raw data.

    Args:
        name: the input's name, such as ``"bill_length_mm"`` or ``"island=Biscoe"``.
        kind: `NUMBER` (the raw value as a float), `ONE_HOT` (1.0 when the
            row's text in `column` equals `category`, else 0.0) or `PIXEL`.
        column: the table column the value is read from.
        category: for `ONE_HOT`, the text that makes this input 1.0.
        fill: the value training put in where the column was missing.
        mean: what the model subtracts first (training mean, or 0).
        std: what it then divides by (training standard deviation, or 1).
        minimum: the smallest training value (for a pixel, the format's
            lowest value); a hint for a person typing a value.
        maximum: the largest training value (for a pixel, the format's highest).
    """

    name: str
    kind: str
    column: str
    category: str | None = None
    fill: float = 0.0
    mean: float = 0.0
    std: float = 1.0
    minimum: float | None = None
    maximum: float | None = None

    @property
    def is_scaled(self) -> bool:
        """Whether the model changes this value before its first Dense layer."""
        return self.mean != 0.0 or self.std != 1.0


def column_statistics(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and standard deviation in float64; a constant column gets a deviation of 1."""
    block = np.asarray(values, dtype=np.float64)
    if len(block) == 0:
        return np.zeros(block.shape[1]), np.ones(block.shape[1])
    mean = block.mean(axis=0)
    std = block.std(axis=0)
    std[~(std >= 1e-12)] = 1.0  # constant, or too spread for float64 (inf or NaN)
    # The model computes in float32: a mean beyond its range would become infinite.
    return np.clip(mean, -_FLOAT32_MAX, _FLOAT32_MAX), np.minimum(std, _FLOAT32_MAX)


def number_inputs(
    names: list[str], x_train: np.ndarray, standardize: bool, fills: np.ndarray | None = None
) -> list[InputFeature]:
    """`NUMBER` inputs for columns of numbers, each named after its column.

    Args:
        names: one name per column of ``x_train``.
        x_train: the training rows, missing values already filled.
        standardize: whether the model standardises them with the training statistics.
        fills: per column, the value put in for a missing one. Defaults to
            the training median.
    """
    x_train = np.asarray(x_train, dtype=np.float64)
    mean, std = column_statistics(x_train) if standardize else (np.zeros(len(names)), np.ones(len(names)))
    if fills is None:
        fills = np.median(x_train, axis=0) if len(x_train) else np.zeros(len(names))
    low = x_train.min(axis=0) if len(x_train) else np.zeros(len(names))
    high = x_train.max(axis=0) if len(x_train) else np.zeros(len(names))
    return [
        InputFeature(name, NUMBER, name, fill=float(fills[i]), mean=float(mean[i]), std=float(std[i]),
                     minimum=float(low[i]), maximum=float(high[i]))
        for i, name in enumerate(names)
    ]


def pixel_inputs(
    n_pixels: int, x_train: np.ndarray | None, highest: float, standardize: bool
) -> list[InputFeature]:
    """`PIXEL` inputs named ``pixel_0``, ``pixel_1``, …, row by row.

    Args:
        n_pixels: height × width.
        x_train: the training images as rows; used for per-pixel statistics.
        highest: the format's brightest value (16 for the 8×8 digits, 255 for MNIST).
        standardize: per-pixel mean and deviation from ``x_train``; otherwise
            the model only divides by ``highest``, bringing pixels into [0, 1].
    """
    if standardize and x_train is not None:
        mean, std = column_statistics(x_train)
    else:
        mean, std = np.zeros(n_pixels), np.full(n_pixels, float(highest))
    return [
        InputFeature(f"pixel_{i}", PIXEL, f"pixel_{i}", fill=0.0, mean=float(mean[i]), std=float(std[i]),
                     minimum=0.0, maximum=float(highest))
        for i in range(n_pixels)
    ]


def one_hot_inputs(column: str, categories: list[str], fill_index: int) -> list[InputFeature]:
    """`ONE_HOT` inputs named ``column=category``; a missing value is filled with category ``fill_index``."""
    return [
        InputFeature(f"{column}={category}", ONE_HOT, column, category=category,
                     fill=1.0 if i == fill_index else 0.0, minimum=0.0, maximum=1.0)
        for i, category in enumerate(categories)
    ]


def input_scale(inputs: list[InputFeature]) -> tuple[np.ndarray, np.ndarray] | None:
    """The ``(mean, std)`` arrays the model's first layer applies, or `None` when it changes nothing."""
    if not any(feature.is_scaled for feature in inputs):
        return None
    mean = np.array([feature.mean for feature in inputs], dtype=np.float64)
    std = np.array([feature.std for feature in inputs], dtype=np.float64)
    return mean, std


def restate_statistics(inputs: list[InputFeature], x_train: np.ndarray) -> list[InputFeature]:
    """The same inputs with each standardised one's mean and deviation measured on ``x_train``.

    Used for a cross-validation fold, whose model must not learn its scale
    from the fold it is scored on. Inputs the model does not standardise, and
    pixels scaled only by their format's range, are kept as they are.
    """
    mean, std = column_statistics(x_train)
    restated = []
    for i, feature in enumerate(inputs):
        fixed_range = feature.kind == PIXEL and feature.mean == 0.0 and feature.std == feature.maximum
        if feature.is_scaled and feature.kind != ONE_HOT and not fixed_range:
            feature = replace(feature, mean=float(mean[i]), std=float(std[i]))
        restated.append(feature)
    return restated

