"""Splitting rows into train and test (or validation) sets."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from models.errors import UserError
from models.scikit_learn import model_selection
from models.text import Text


class SplitIndices(NamedTuple):
    """Which rows went where.

    Args:
        train: row indices of the training part.
        test: row indices of the held-back part.
        stratified: whether each class kept its share in both parts. False when
            stratification was not asked for or a class was too small for it.
    """

    train: np.ndarray
    test: np.ndarray
    stratified: bool


def split_indices(
    y: np.ndarray, test_fraction: float, seed: int, stratify: bool, held_back: str = "test"
) -> SplitIndices:
    """Shuffles row indices and divides them into a training and a held-back part.

    Args:
        y: one target per row; its classes are kept in proportion when `stratify`.
        test_fraction: share of the rows held back, strictly between 0 and 1.
        seed: seed of the shuffle; the same seed gives the same split.
        stratify: keep each class's share equal in both parts (classification).
            When a class has too few rows for that, the rows are shuffled
            without stratifying instead of failing.
        held_back: what the held-back part is, `"test"` or `"validation"`,
            so an error names the split that failed and what to change.
            Defaults to `"test"`.

    Returns:
        The training and held-back row indices, in shuffled order.

    Raises:
        UserError: when there are too few rows to give both parts at least one.
    """
    n_rows = len(y)
    if not 0 < test_fraction < 1:
        raise UserError.of("The {held_back} fraction must be between 0 and 1 (got {test_fraction}).",
                           held_back=held_back, test_fraction=repr(test_fraction))
    n_held_back = int(np.ceil(test_fraction * n_rows))  # how scikit-learn rounds it
    if n_rows < 2 or n_held_back >= n_rows:
        raise UserError(_too_few_rows(n_rows, test_fraction, held_back))
    rows = np.arange(n_rows)
    if stratify:
        try:
            train, test = model_selection.train_test_split(
                rows, test_size=test_fraction, random_state=seed, shuffle=True, stratify=y
            )
            return SplitIndices(train, test, True)
        except ValueError:
            pass  # a class with a single row, or more classes than test rows
    try:
        train, test = model_selection.train_test_split(
            rows, test_size=test_fraction, random_state=seed, shuffle=True
        )
    except ValueError as error:
        raise UserError(_too_few_rows(n_rows, test_fraction, held_back)) from error
    return SplitIndices(train, test, False)


def _too_few_rows(n_rows: int, fraction: float, held_back: str) -> str:
    """The sentence for rows that cannot give both parts of a split at least one row."""
    if held_back == "validation":
        return (
            Text.of("The training set has {n_rows} row(s), too few to hold back a validation fraction of {fraction} "
                    "and still train on at least one; lower the validation fraction, or set it to 0 to train without "
                    "validation rows.", n_rows=n_rows, fraction=f"{fraction:g}")
        )
    return (
        Text.of("The data has {n_rows} usable row(s), too few to split into training and {held_back} rows with a "
                "{held_back} fraction of {fraction} (at least 2 rows are needed, and one left for training); use a "
                "file with more rows or a smaller {held_back} fraction.",
                n_rows=n_rows, held_back=held_back, fraction=f"{fraction:g}")
    )


def train_test_split_arrays(
    x: np.ndarray,
    y: np.ndarray,
    test_fraction: float,
    seed: int,
    stratify: bool,
    held_back: str = "test",
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffles rows and divides them into training and held-back arrays.

    Args:
        x: features, one row per sample.
        y: targets, one per row.
        test_fraction: share of the rows held back, strictly between 0 and 1.
        seed: seed of the shuffle; the same seed gives the same arrays.
        stratify: keep each class's share equal in both parts; falls back to a
            plain shuffled split when a class is too small to stratify.
        held_back: what the held-back part is called in an error. Defaults to `"test"`.

    Returns:
        ``(x_train, x_test, y_train, y_test)``, in scikit-learn's order.

    Raises:
        UserError: when there are too few rows to split.
    """
    parts = split_indices(y, test_fraction, seed, stratify, held_back)
    return x[parts.train], x[parts.test], y[parts.train], y[parts.test]


def validation_split(
    x: np.ndarray, y: np.ndarray, fraction: float, seed: int, stratify: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Carves validation rows out of a training set.

    The same split as `train_test_split_arrays`, named for the runner; its
    errors speak of the validation fraction.

    Returns:
        ``(x_fit, x_validation, y_fit, y_validation)``.

    Raises:
        UserError: when the training rows are too few to hold any back.
    """
    return train_test_split_arrays(x, y, fraction, seed, stratify, held_back="validation")

