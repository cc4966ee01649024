"""Splitting, standardising, synthetic point sets, scikit-learn tables and the registry."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from datasets.base import CLASSIFICATION, REGRESSION
from datasets.choice import DatasetChoice
from datasets.inputs import PIXEL, column_statistics
from datasets.registry import DATASETS, EITHER, dataset_info, dataset_names, load_dataset
from datasets.split import split_indices, train_test_split_arrays, validation_split
from datasets.synthetic import LINEAR_BIAS, LINEAR_WEIGHTS, MAX_SAMPLES
from models.errors import UserError

POINT_SETS = ["circles", "xor", "gauss", "spiral", "moons"]
BUILT_IN = [name for name, info in DATASETS.items() if info.kind in ("points", "table")]


# ---------------------------------------------------------------- split


def test_stratified_split_keeps_class_shares():
    y = np.array([0] * 80 + [1] * 20)
    x = np.arange(100, dtype=np.float32).reshape(-1, 1)
    x_train, x_test, y_train, y_test = train_test_split_arrays(x, y, 0.25, seed=3, stratify=True)
    assert len(x_test) == 25 and len(x_train) == 75
    assert np.mean(y_test == 1) == pytest.approx(0.2, abs=0.01)
    assert np.mean(y_train == 1) == pytest.approx(0.2, abs=0.01)
    assert sorted(np.concatenate([x_train, x_test]).ravel()) == list(range(100))
    np.testing.assert_array_equal(y[x_train.ravel().astype(int)], y_train)


def test_split_falls_back_when_a_class_is_too_small():
    y = np.array([0] * 9 + [1])
    parts = split_indices(y, 0.2, seed=0, stratify=True)
    assert not parts.stratified
    assert len(parts.train) == 8 and len(parts.test) == 2


def test_split_same_seed_same_rows_other_seed_other_rows():
    y = np.arange(50) % 2
    first = split_indices(y, 0.2, seed=1, stratify=True)
    again = split_indices(y, 0.2, seed=1, stratify=True)
    other = split_indices(y, 0.2, seed=2, stratify=True)
    np.testing.assert_array_equal(first.test, again.test)
    assert not np.array_equal(first.test, other.test)


def test_split_needs_two_rows():
    with pytest.raises(UserError, match="at least 2"):
        split_indices(np.array([1.0]), 0.2, seed=0, stratify=False)


def test_validation_split_is_the_same_split():
    x = np.random.default_rng(0).normal(size=(40, 3))
    y = np.arange(40) % 4
    for got, expected in zip(
        validation_split(x, y, 0.25, 5, True),
        train_test_split_arrays(x, y, 0.25, 5, True),
        strict=True,
    ):
        np.testing.assert_array_equal(got, expected)


def standardized(data, x):
    """What the model's first layer makes of raw rows ``x``."""
    mean, std = data.input_scale
    return (x - mean) / std


def test_column_statistics_of_training_rows_and_constant_columns():
    rng = np.random.default_rng(0)
    train = np.column_stack([rng.normal(5.0, 3.0, 200), np.full(200, 7.0)])
    mean, std = column_statistics(train)
    np.testing.assert_allclose(mean, train.mean(axis=0))
    np.testing.assert_allclose(std, [train[:, 0].std(), 1.0])  # a constant column is only centred


# ---------------------------------------------------------------- synthetic points


def _load(name: str, **settings) -> object:
    return load_dataset(DatasetChoice(name=name, **settings))


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_built_in_set_has_the_promised_arrays(name):
    data = _load(name, samples=100)
    info = DATASETS[name]
    assert data.task == info.task
    assert data.x_train.dtype == np.float32 and data.x_test.dtype == np.float32
    assert data.x_train.ndim == 2 and data.x_test.shape[1] == data.x_train.shape[1]
    assert data.y_train.shape == (len(data.x_train),) and data.y_test.shape == (len(data.x_test),)
    assert len(data.feature_names) == data.n_features
    assert np.isfinite(data.x_train).all() and np.isfinite(data.x_test).all()
    if data.is_classification:
        assert data.y_train.dtype == np.int32
        assert data.n_classes >= 2 and set(np.unique(data.y_train)) == set(range(data.n_classes))
    else:
        assert data.y_train.dtype == np.float32 and data.class_names == []
    if info.kind == "points":
        assert data.n_features == 2


@pytest.mark.parametrize("name", POINT_SETS)
def test_point_sets_draw_the_asked_samples_with_balanced_classes(name):
    data = _load(name, samples=201, test_fraction=0.2)
    assert len(data.x_train) + len(data.x_test) == 201
    assert sorted(data.class_counts().values()) == [100, 101]
    assert len(data.x_test) == 41


@pytest.mark.parametrize("name", [*POINT_SETS, "plane", "linear"])
def test_same_seed_same_points_other_seed_other_points(name):
    first, again, other = _load(name, seed=4), _load(name, seed=4), _load(name, seed=5)
    np.testing.assert_array_equal(first.x_train, again.x_train)
    np.testing.assert_array_equal(first.y_test, again.y_test)
    assert not np.array_equal(first.x_train, other.x_train)


def _all_points(data):
    return np.concatenate([data.x_train, data.x_test]), np.concatenate([data.y_train, data.y_test])


def test_noise_moves_points():
    quiet, _ = _all_points(_load("gauss", noise=0.0))
    loud, _ = _all_points(_load("gauss", noise=2.0))
    assert loud.std() > 2 * quiet.std()


def test_circles_disc_inside_ring():
    x, y = _all_points(_load("circles", noise=0.0))
    radius = np.hypot(x[:, 0], x[:, 1])
    assert radius[y == 0].max() <= 0.5 < 0.7 <= radius[y == 1].min()
    assert DATASETS["circles"].kind == "points"


def test_xor_classes_are_sign_agreement():
    x, y = _all_points(_load("xor", noise=0.0))
    np.testing.assert_array_equal((x[:, 0] * x[:, 1] > 0).astype(np.int32), y)


def test_spiral_arms_alternate_along_a_ray():
    x, y = _all_points(_load("spiral", samples=6000, noise=0.0))
    angle = np.arctan2(x[:, 1], x[:, 0])
    on_ray = np.abs(angle) < 0.05
    by_radius = y[on_ray][np.argsort(np.hypot(x[on_ray, 0], x[on_ray, 1]))]
    changes = np.count_nonzero(np.diff(by_radius))
    assert changes >= 3  # 1.75 turns: arm A, arm B, arm A, arm B outwards


def test_spiral_is_not_linearly_separable():
    from sklearn.linear_model import LogisticRegression

    spiral = _load("spiral", samples=1000, noise=0.0)
    gauss = _load("gauss", samples=1000, noise=0.0)
    spiral_score = (
        LogisticRegression().fit(spiral.x_train, spiral.y_train).score(spiral.x_test, spiral.y_test)
    )
    gauss_score = (
        LogisticRegression().fit(gauss.x_train, gauss.y_train).score(gauss.x_test, gauss.y_test)
    )
    assert spiral_score < 0.75 < 0.95 < gauss_score


def test_plane_is_a_regression_of_both_features():
    data = _load("plane", noise=0.0)
    coefficients, *_ = np.linalg.lstsq(data.x_train, data.y_train, rcond=None)
    np.testing.assert_allclose(coefficients, [2.0, -1.0], atol=1e-5)


def test_linear_is_the_d2l_data_regardless_of_settings():
    data = _load("linear", samples=50, noise=3.0)
    assert len(data.x_train) + len(data.x_test) == 1000
    x = np.column_stack([data.x_train, np.ones(len(data.x_train))])
    solution, *_ = np.linalg.lstsq(x, data.y_train, rcond=None)
    np.testing.assert_allclose(solution[:2], LINEAR_WEIGHTS, atol=0.01)
    assert solution[2] == pytest.approx(LINEAR_BIAS, abs=0.01)
    assert abs(data.x_train.mean()) < 0.2 and 0.8 < data.x_train.std() < 1.2  # N(0, 1), unscaled
    assert not DATASETS["linear"].uses_samples and not DATASETS["linear"].uses_noise


def test_too_many_samples_is_a_user_error():
    with pytest.raises(UserError, match="samples must be a whole number from 10 to 1,000,000"):
        _load("spiral", samples=MAX_SAMPLES + 1)


# ---------------------------------------------------------------- tables


def test_iris_keeps_centimetres_and_the_model_standardises_with_training_rows():
    data = _load("iris", test_fraction=0.2)
    assert (len(data.x_train), len(data.x_test)) == (120, 30)
    assert data.class_names == ["setosa", "versicolor", "virginica"]
    assert 4.0 < data.x_train[:, 0].mean() < 7.0  # sepal length in cm, as measured
    np.testing.assert_allclose(standardized(data, data.x_train).mean(axis=0), 0.0, atol=1e-5)
    assert not np.allclose(standardized(data, data.x_test).mean(axis=0), 0.0, atol=1e-3)
    assert [feature.column for feature in data.inputs] == data.feature_names
    assert data.class_counts() == {"setosa": 50, "versicolor": 50, "virginica": 50}
    assert list(np.bincount(data.y_test)) == [10, 10, 10]


def test_digits_are_raw_8x8_pixels_that_the_model_standardises_per_pixel():
    data = _load("digits")
    assert data.image_shape == (8, 8) and data.n_features == 64
    assert data.x_train.min() == 0 and data.x_train.max() == 16  # the original range
    assert {feature.kind for feature in data.inputs} == {PIXEL} and data.inputs[0].name == "pixel_0"
    scaled = standardized(data, data.x_train)
    np.testing.assert_allclose(scaled.mean(axis=0), 0.0, atol=1e-5)
    varying = data.x_train.std(axis=0) > 0
    np.testing.assert_allclose(scaled.std(axis=0)[varying], 1.0, atol=1e-4)
    assert data.class_names == [str(d) for d in range(10)]


def test_diabetes_is_regression_and_breast_cancer_binary():
    diabetes = _load("diabetes")
    assert diabetes.task == REGRESSION and diabetes.n_features == 10
    assert diabetes.y_train.min() > 10  # target kept in its own units
    cancer = _load("breast_cancer")
    assert cancer.class_names == ["malignant", "benign"] and cancer.n_features == 30


def test_table_split_follows_seed():
    first, again, other = _load("wine", seed=1), _load("wine", seed=1), _load("wine", seed=2)
    np.testing.assert_array_equal(first.x_test, again.x_test)
    assert not np.array_equal(first.y_test, other.y_test) or not np.array_equal(
        first.x_test, other.x_test
    )


# ---------------------------------------------------------------- registry


def test_registry_lists_every_set_with_a_sentence():
    assert dataset_names()[:4] == ["circles", "xor", "gauss", "spiral"]
    assert {
        "moons",
        "plane",
        "linear",
        "iris",
        "wine",
        "breast_cancer",
        "digits",
        "diabetes",
        "mnist",
        "fashion_mnist",
        "csv",
    } <= set(dataset_names())
    for info in DATASETS.values():
        assert info.kind in ("points", "table", "images", "csv")
        assert info.task in (CLASSIFICATION, REGRESSION, EITHER)
        assert info.description.endswith(".") and info.title
        assert not info.needs_file or info.accepts_file
    assert DATASETS["csv"].needs_file and DATASETS["mnist"].accepts_file
    assert not DATASETS["mnist"].needs_file
    with pytest.raises(dataclasses.FrozenInstanceError):
        DATASETS["iris"].title = "changed"


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(UserError, match="Unknown data set 'nope'.*spiral"):
        load_dataset(DatasetChoice(name="nope"))
    with pytest.raises(UserError, match="iris"):
        dataset_info("nope")


def test_invalid_choice_is_a_user_error():
    with pytest.raises(UserError, match="test fraction"):
        load_dataset(DatasetChoice(name="iris", test_fraction=0.9))
    with pytest.raises(UserError, match="needs a file"):
        load_dataset(DatasetChoice(name="csv", target="y"))
