"""What every data set gives the trainer."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from datasets.inputs import InputFeature, input_scale, number_inputs

CLASSIFICATION = "classification"
REGRESSION = "regression"


@dataclass
class Dataset:
    """Train and test arrays with the names that explain them.

    Args:
        name: registry name it came from.
        task: `"classification"` or `"regression"`.
        x_train: float32 array, one row per sample, one column per feature,
            in raw units: numbers as the data has them, 0/1 per category of
            a text column, pixels in their original range (see `inputs`).
        y_train: class indices (int32, shape ``(n,)``) for classification;
            float32 targets, shape ``(n,)``, for regression.
        x_test: like `x_train`.
        y_test: like `y_train`.
        feature_names: one name per column of `x_train`.
        class_names: one name per class; empty for regression.
        target_name: what is predicted. Defaults to `"y"`.
        image_shape: ``(height, width)`` when each row is an image. Defaults to `None`.
        notes: sentences about what loading did (rows dropped, columns encoded).
        target_scale: ``(mean, standard deviation)`` of the training targets of
            a regression on real data, whose units (a price, say) are far from
            1. The network then ends with ``y = z·sd + mean`` so its last Dense
            layer learns a standardised value while loss and MAE stay in the
            target's own units. `None` for classification and synthetic sets.
        inputs: one `InputFeature` per column of `x_train`, saying what the
            raw value is and how the model standardises it. Empty means
            plain numbers the model takes as they are.
        train_rows: for a CSV, each training row's data-row number in the
            file (1 for the first row below the header), so a view can show
            the row as the file has it. `None` for other sets.
        test_rows: the same for the test rows.
    """

    name: str
    task: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    feature_names: list[str]
    class_names: list[str] = field(default_factory=list)
    target_name: str = "y"
    image_shape: tuple[int, int] | None = None
    notes: list[str] = field(default_factory=list)
    target_scale: tuple[float, float] | None = None
    inputs: list[InputFeature] = field(default_factory=list)
    train_rows: np.ndarray | None = None
    test_rows: np.ndarray | None = None

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])

    @functools.cached_property
    def input_features(self) -> list[InputFeature]:
        """`inputs`, or plain unscaled numbers named after the features when none were given.

        Worked out once: for plain numbers it takes the median of every column
        (a second for 60,000 × 784), and the window asks again as a run ends.
        """
        if self.inputs:
            return list(self.inputs)
        return number_inputs(list(self.feature_names), self.x_train, standardize=False)

    @property
    def input_scale(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(mean, std)`` that the model's first layer standardises the inputs with, or `None`."""
        return input_scale(self.inputs)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def is_classification(self) -> bool:
        return self.task == CLASSIFICATION

    def class_counts(self) -> dict[str, int]:
        """How many training and test samples each class has."""
        if not self.is_classification:
            return {}
        labels = np.concatenate([self.y_train, self.y_test])
        counts = np.bincount(labels.astype(np.int64), minlength=self.n_classes)
        return {name: int(count) for name, count in zip(self.class_names, counts, strict=False)}

    def summary(self) -> str:
        """One line such as ``spiral: 480 train / 120 test, 2 features, 2 classes``."""
        what = f"{self.n_classes} classes" if self.is_classification else f"regression of {self.target_name}"
        return (
            f"{self.name}: {len(self.x_train)} train / {len(self.x_test)} test, "
            f"{self.n_features} features, {what}"
        )
