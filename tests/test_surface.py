"""The loss surface of y = Xw + b: least squares, raw weights, the loss grid, and a real run down the bowl."""

import numpy as np
import pytest

from datasets.base import Dataset
from datasets.choice import DatasetChoice
from datasets.registry import load_dataset
from models.instruments.surface import (
    QuadraticLoss,
    closed_form,
    loss_grid,
    raw_linear_weights,
    split_path,
    surface_applies,
    surface_extent,
)
from models.network.spec import (
    BatchNormLayer,
    DenseLayer,
    DropoutLayer,
    OptimizerSpec,
    OutputSpec,
    Project,
)

TRUE_W, TRUE_B = np.array([2.0, -3.4]), 4.2


@pytest.fixture(scope="module")
def linear():
    return load_dataset(DatasetChoice(name="linear"))


def regression(features=2, n=60, seed=0, target_scale=None) -> Dataset:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype(np.float32)
    y = (x @ np.arange(1.0, features + 1) + 0.5 + rng.normal(0, 0.1, n)).astype(np.float32)
    return Dataset("plain", "regression", x, y, x[:5], y[:5], [f"x{i}" for i in range(features)],
                   target_scale=target_scale)


def no_hidden_project(**optimizer) -> Project:
    project = Project(dataset=DatasetChoice(name="linear"), layers=[])
    if optimizer:
        project.optimizer = OptimizerSpec(**optimizer)
    return project


def test_the_closed_form_on_linear_is_the_notes_solution(linear):
    w, b = closed_form(linear.x_train, linear.y_train)
    assert np.allclose(w, TRUE_W, atol=0.01)
    assert abs(b - TRUE_B) < 0.01


def test_the_closed_form_solves_the_normal_equations():
    data = regression(features=3)
    w, b = closed_form(data.x_train, data.y_train)
    design = np.column_stack([data.x_train, np.ones(len(data.x_train))]).astype(np.float64)
    expected = np.linalg.inv(design.T @ design) @ design.T @ data.y_train
    assert np.allclose(np.append(w, b), expected, atol=1e-6)


def test_raw_weights_undo_the_models_standardising_layers():
    from models.network.build import build_model

    rng = np.random.default_rng(1)
    x = rng.normal([10.0, -200.0], [3.0, 50.0], size=(20, 2)).astype(np.float32)
    input_scale = (np.array([10.0, -200.0]), np.array([3.0, 50.0]))
    target_scale = (1000.0, 250.0)
    model = build_model(no_hidden_project(), 2, "regression", 0, input_scale=input_scale, target_scale=target_scale)
    kernel, bias = np.array([[0.7], [-1.3]], np.float32), np.array([0.2], np.float32)
    model.get_layer("output").set_weights([kernel, bias])

    w, b = raw_linear_weights(kernel[:, 0], bias[0], input_scale, target_scale)

    predicted = model.predict(x, verbose=0)[:, 0]
    assert np.allclose(predicted, x.astype(np.float64) @ w + b, rtol=1e-5, atol=1e-2)


def test_raw_weights_of_many_path_rows_match_one_at_a_time():
    path = np.array([[0.1, 0.2, 0.3], [1.0, -2.0, 0.5], [3.0, 0.0, -1.0]])
    input_scale, target_scale = (np.array([1.0, 2.0]), np.array([0.5, 4.0])), (3.0, 2.0)
    kernels, biases = split_path(path)
    w, b = raw_linear_weights(kernels, biases, input_scale, target_scale)
    assert w.shape == (3, 2) and b.shape == (3,)
    for row, (kernel, bias) in enumerate(zip(kernels, biases, strict=True)):
        one_w, one_b = raw_linear_weights(kernel, bias, input_scale, target_scale)
        assert np.allclose(w[row], one_w) and np.isclose(b[row], one_b)


def test_raw_weights_without_scales_are_the_models_own():
    w, b = raw_linear_weights(np.array([2.0, -3.4]), 4.2)
    assert np.allclose(w, [2.0, -3.4]) and np.isclose(b, 4.2)


def test_the_loss_grid_is_lowest_at_the_closed_form_point(linear):
    w, _ = closed_form(linear.x_train, linear.y_train)
    w1 = w[0] + np.linspace(-1.0, 1.0, 41)  # the solution is the middle grid point
    w2 = w[1] + np.linspace(-1.5, 1.5, 31)
    grid = loss_grid(linear.x_train, linear.y_train, w1, w2)
    assert grid.shape == (41, 31)
    assert np.unravel_index(np.argmin(grid), grid.shape) == (20, 15)
    # The noise of σ = 0.01 is all that is left at the bottom.
    assert grid.min() == pytest.approx(1e-4, rel=0.2)


def test_the_loss_grid_is_the_mean_squared_error_with_the_best_bias():
    data = regression()
    x, y = data.x_train.astype(np.float64), data.y_train.astype(np.float64)
    w1, w2 = np.array([-1.0, 0.5, 3.0]), np.array([2.0, -0.5])
    grid = loss_grid(x, y, w1, w2)
    for i, a in enumerate(w1):
        for j, c in enumerate(w2):
            residual = y - x @ np.array([a, c])
            best_b = residual.mean()
            assert grid[i, j] == pytest.approx(np.mean((residual - best_b) ** 2), rel=1e-9)


def test_contours_are_where_the_loss_equals_their_level(linear):
    loss = QuadraticLoss(linear.x_train, linear.y_train)
    ellipse = loss.contour(loss.minimum + 2.0)
    assert np.allclose(loss(ellipse), loss.minimum + 2.0)
    assert loss.contour(loss.minimum) is None


def test_collinear_inputs_have_no_contour_ellipses_but_still_a_surface():
    x = np.column_stack([np.arange(10.0), 2 * np.arange(10.0)])
    loss = QuadraticLoss(x, x[:, 0] * 3)
    assert loss.contour(loss.minimum + 1.0) is None
    assert np.all(np.isfinite(loss.grid([0.0, 1.0], [0.0, 1.0])))


def test_the_extent_holds_every_point_with_a_margin():
    points = np.array([[2.0, -3.4], [0.0, 0.0], [-0.8, 0.6], [np.nan, 1.0]])
    (x_low, x_high), (y_low, y_high) = surface_extent(points)
    assert x_low < -0.8 and x_high > 2.0 and y_low < -3.4 and y_high > 0.6
    assert x_low < -0.8 - 0.3 and y_high > 0.6 + 0.3  # a margin, not a tight box


def test_the_extent_of_one_point_is_still_a_region():
    (x_low, x_high), (y_low, y_high) = surface_extent([[0.0, 0.0]])
    assert x_high - x_low > 0.5 and y_high - y_low > 0.5
    (x_low, x_high), (y_low, y_high) = surface_extent([[5.0, 5.0], [5.0, 5.1]])
    assert x_high - x_low >= 1.0 and x_low < 5.0 < x_high


def test_the_surface_applies_to_a_two_input_regression_with_no_hidden_layer(linear):
    assert surface_applies(no_hidden_project(), linear)
    assert surface_applies(Project(layers=[DropoutLayer(0.1)]), linear)
    assert surface_applies(Project(layers=[], output=OutputSpec("linear", "mse")), linear)


@pytest.mark.parametrize("change", ["hidden", "batchnorm", "sigmoid", "mae", "huber"])
def test_the_surface_does_not_apply_to_other_networks(linear, change):
    project = {
        "hidden": Project(layers=[DenseLayer(4, "relu")]),
        "batchnorm": Project(layers=[BatchNormLayer()]),
        "sigmoid": Project(layers=[], output=OutputSpec("sigmoid", "auto")),
        "mae": Project(layers=[], output=OutputSpec("auto", "mae")),
        "huber": Project(layers=[], output=OutputSpec("linear", "huber")),
    }[change]
    assert not surface_applies(project, linear)


def test_the_surface_does_not_apply_to_other_data():
    project = no_hidden_project()
    assert not surface_applies(project, None)
    assert not surface_applies(project, regression(features=3))
    assert not surface_applies(project, load_dataset(DatasetChoice(name="circles")))
    assert surface_applies(project, regression(features=2, target_scale=(10.0, 2.0)))


def _train_linear(**options):
    from models.training.runner import run_training

    project = no_hidden_project(name="sgd", learning_rate=0.05)
    project.training.epochs = 20
    project.training.validation_fraction = 0.0
    return project, run_training(project, **options)


def test_training_ends_at_the_closed_form(linear):
    project, result = _train_linear(dataset=linear)
    kernel, bias = result.model.get_layer("output").get_weights()
    w, b = raw_linear_weights(kernel[:, 0], bias[0], linear.input_scale, linear.target_scale)
    best_w, best_b = closed_form(linear.x_train, linear.y_train)
    assert np.allclose(w, best_w, atol=0.05)
    assert abs(b - best_b) < 0.05


def test_the_recorded_path_starts_away_from_the_closed_form_and_ends_near_it(linear):
    result = _train_linear(dataset=linear, instruments=True)[1]
    readings = result.instruments
    assert readings[0].epoch == 0 and readings[0].step == 0
    path = np.vstack([reading.path for reading in readings])
    assert path.shape[1] == 3 and len(path) > 20  # several weights per reading, kernel then bias
    w, b = raw_linear_weights(*split_path(path), linear.input_scale, linear.target_scale)
    best_w, best_b = closed_form(linear.x_train, linear.y_train)
    assert np.linalg.norm(w[0] - best_w) > 1.0
    assert np.allclose(w[-1], best_w, atol=0.05) and abs(b[-1] - best_b) < 0.05
    # The path's last row is the weights the model ended with.
    kernel, bias = readings[-1].layers[0].kernel, readings[-1].layers[0].bias
    assert np.allclose(path[-1], np.append(np.ravel(kernel), bias), atol=1e-6)
