"""All the rows of a data set before the train/test split.

Loaders of synthetic sets, scikit-learn tables and CSV files return an
`UnsplitData`. The registry splits its rows, and only then are the features
finished (missing values filled, and the standardisation the model will apply
measured) with statistics taken from the training rows alone, so nothing
about the test rows leaks into training.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from datasets.base import CLASSIFICATION, Dataset
from datasets.inputs import InputFeature, number_inputs, pixel_inputs
from datasets.split import split_indices
from models.text import Text


class FeatureRows(Protocol):
    """Features that are turned into arrays once the split is known."""

    feature_names: list[str]

    def take(self, train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[InputFeature]]:
        """Returns raw float32 ``(x_train, x_test)`` for these row indices and what each column is."""
        ...


@dataclass
class ArrayFeatures:
    """Features that are already numbers, which the model may standardise.

    Args:
        x: one row per sample, one column per feature, in raw units.
        feature_names: one name per column.
        scale: the model standardises every column with the training mean
            and deviation. Defaults to `False`.
        pixel_range: for images, the brightest pixel value of the format
            (the columns are then `PIXEL` inputs). Defaults to `None`.
    """

    x: np.ndarray
    feature_names: list[str]
    scale: bool = False
    pixel_range: float | None = None

    def take(self, train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[InputFeature]]:
        x_train = self.x[train].astype(np.float32)
        x_test = self.x[test].astype(np.float32)
        if self.pixel_range is not None:
            inputs = pixel_inputs(x_train.shape[1], x_train, self.pixel_range, standardize=self.scale)
        else:
            inputs = number_inputs(list(self.feature_names), x_train, standardize=self.scale)
        return x_train, x_test, inputs



@dataclass
class UnsplitData:
    """Every row of a data set with what explains it, waiting to be split.

    Args:
        task: `"classification"` or `"regression"`.
        features: the feature rows.
        y: one target per row (class index or number).
        target_name: what is predicted.
        class_names: one name per class; empty for regression.
        image_shape: ``(height, width)`` when each row is an image.
        notes: sentences about what loading did.
        row_numbers: for a file, each row's data-row number in it (1 for the
            first row below the header); `None` otherwise.
    """

    task: str
    features: FeatureRows
    y: np.ndarray
    target_name: str = "y"
    class_names: list[str] = field(default_factory=list)
    image_shape: tuple[int, int] | None = None
    notes: list[str] = field(default_factory=list)
    row_numbers: np.ndarray | None = None

    def split(self, name: str, test_fraction: float, seed: int) -> Dataset:
        """Holds back `test_fraction` of the rows, stratified for classification.

        Args:
            name: registry name of the set.
            test_fraction: share of the rows held back as the test set.
            seed: seed of the shuffle.

        Returns:
            The finished `Dataset`, x float32 and y int32 (classes) or float32.
        """
        classification = self.task == CLASSIFICATION
        parts = split_indices(self.y, test_fraction, seed, stratify=classification)
        x_train, x_test, inputs = self.features.take(parts.train, parts.test)
        y_type = np.int32 if classification else np.float32
        notes = list(self.notes)
        if classification and not parts.stratified:
            notes.append(Text("A class has too few rows to keep class shares equal in the training and "
                              "test sets, so the rows were split at random instead."))
        return Dataset(
            name=name,
            task=self.task,
            x_train=np.ascontiguousarray(x_train, dtype=np.float32),
            y_train=self.y[parts.train].astype(y_type),
            x_test=np.ascontiguousarray(x_test, dtype=np.float32),
            y_test=self.y[parts.test].astype(y_type),
            feature_names=list(self.features.feature_names),
            class_names=list(self.class_names),
            target_name=self.target_name,
            image_shape=self.image_shape,
            notes=notes,
            inputs=inputs,
            train_rows=None if self.row_numbers is None else self.row_numbers[parts.train],
            test_rows=None if self.row_numbers is None else self.row_numbers[parts.test],
        )
