"""The Neurons view draws exactly the unit outputs and weights it is given, and says when it cannot."""

import numpy as np
import pytest
from tiny_data import tiny_dataset

from datasets.base import CLASSIFICATION, Dataset
from gui.data_panel import boundary_image, probe_grid
from gui.neurons_view import MAX_UNITS_SHOWN, NEGATIVE_COLOUR, POSITIVE_COLOUR, NeuronsView
from models.instruments.readings import Histogram, InstrumentReading, LayerReading

GRID = NeuronsView.GRID
WHITE = (255, 255, 255)


def plane_dataset() -> Dataset:
    """50 points of two features in [-2, 2] × [-1, 3], two classes split by x₁."""
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.uniform(-2, 2, 50), rng.uniform(-1, 3, 50)]).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int32)
    return Dataset(name="plane", task=CLASSIFICATION, x_train=x[:40], y_train=y[:40], x_test=x[40:], y_test=y[40:],
                   feature_names=["x1", "x2"], class_names=["left", "right"])


def layer_reading(index: int, name: str, activation: str, kernel: np.ndarray, bias: np.ndarray) -> LayerReading:
    empty = Histogram(np.linspace(-1.0, 1.0, 3), np.zeros(2, dtype=np.int64))
    return LayerReading(epoch=1, step=10, layer=index, name=name, activation=activation, weight_norm=1.0,
                        weight_mean=0.0, weight_std=1.0, near_zero_fraction=0.0, gradient_norm=1.0, update_ratio=None,
                        update_ratio_per_step=None, dead_fraction=None, saturated_fraction=None, output_mean=0.0,
                        output_std=1.0, batch_norm_mean=None, batch_norm_std=None, weights=empty, gradients=empty,
                        outputs=empty, kernel=kernel, bias=bias)


def network_reading(widths=(3, 40), seed=1) -> InstrumentReading:
    """A 2-3-40-1 network's weights: tanh, relu, and a sigmoid output."""
    rng = np.random.default_rng(seed)
    sizes = (2, *widths, 1)
    activations = ["tanh", "relu"][:len(widths)] + ["sigmoid"]
    names = [f"dense_{n}" for n in range(1, len(widths) + 1)] + ["output"]
    layers = [layer_reading(index, names[index], activations[index],
                            rng.normal(size=(sizes[index], sizes[index + 1])).astype(np.float32),
                            rng.normal(size=sizes[index + 1]).astype(np.float32))
              for index in range(len(sizes) - 1)]
    return InstrumentReading(epoch=1, step=10, layers=layers)


def grid_outputs(dataset: Dataset) -> list[np.ndarray]:
    """Unit outputs over the dataset's probe grid: unit 0 of the first layer is the sign of x₁, unit 1 of x₂."""
    _, _, points = probe_grid(np.concatenate([dataset.x_train, dataset.x_test]), GRID)
    first = np.column_stack([np.sign(points[:, 0]), np.sign(points[:, 1] - 1.0), np.tanh(points.sum(axis=1))])
    second = np.maximum(0.0, points @ np.linspace(-1, 1, 80).reshape(2, 40))
    output = 1.0 / (1.0 + np.exp(-3 * points[:, :1]))
    return [first.astype(np.float32), second.astype(np.float32), output.astype(np.float32)]


@pytest.fixture
def view(show_widget):
    return show_widget(NeuronsView(), 1000, 640)


def hover(view: NeuronsView, column: int, unit: int) -> str:
    view.canvas.scene().sigMouseMoved.emit(view.node_scene_position(column, unit))
    return view.info.text()


def test_each_square_is_its_units_output_with_x1_across_and_x2_up(view):
    dataset = plane_dataset()
    view.set_dataset(dataset)
    outputs = grid_outputs(dataset)
    view.show_weights(network_reading())
    view.show_units(outputs)

    xs, ys, _ = probe_grid(np.concatenate([dataset.x_train, dataset.x_test]), GRID)
    across = view.images[1][0].image  # sign(x₁): orange left of x₁ = 0, blue right of it, on every row
    assert across.shape == (GRID, GRID, 4)
    assert tuple(across[GRID // 2, np.argmax(xs > 0.2), :3]) == POSITIVE_COLOUR
    assert tuple(across[GRID // 2, np.argmax(xs > -0.2) - 1, :3]) == NEGATIVE_COLOUR
    up = view.images[1][1].image  # sign(x₂ − 1): rows run up x₂
    assert tuple(up[np.argmax(ys > 1.2), GRID // 2, :3]) == POSITIVE_COLOUR
    assert tuple(up[np.argmax(ys > 0.8) - 1, GRID // 2, :3]) == NEGATIVE_COLOUR
    # ReLU: white at 0 and the deepest blue at the unit's own largest output.
    relu = view.images[2][5].image.reshape(-1, 4)[:, :3]
    values = outputs[1][:, 5]
    assert tuple(relu[np.argmax(values)]) == POSITIVE_COLOUR
    assert tuple(relu[np.argmin(values)]) == WHITE
    # The inputs are x₁ and x₂ themselves.
    x1 = view.images[0][0].image
    assert tuple(x1[0, -1, :3]) == POSITIVE_COLOUR and tuple(x1[0, 0, :3]) == NEGATIVE_COLOUR
    # The one output unit is the decision boundary, as the data preview draws it, with its classes named.
    np.testing.assert_array_equal(view.images[3][0].image, boundary_image(outputs[2], GRID, 2))
    boundary_header = view._headers[3].textItem.toPlainText()
    assert "Decision boundary" in boundary_header and "left" in boundary_header and "right" in boundary_header


def test_a_wide_layer_draws_its_first_units_and_says_how_many_more(view):
    dataset = plane_dataset()
    view.set_dataset(dataset)
    view.show_weights(network_reading())
    view.show_units(grid_outputs(dataset))

    assert [len(column) for column in view.images] == [2, 3, MAX_UNITS_SHOWN, 1]
    notes = [note.textItem.toPlainText() for note in view._notes]
    assert f"+{40 - MAX_UNITS_SHOWN} more" in notes


def test_lines_are_the_drawn_weights_by_sign(view):
    view.set_dataset(plane_dataset())
    reading = network_reading()
    view.show_weights(reading)

    drawn = [reading.layers[0].kernel, reading.layers[1].kernel[:, :MAX_UNITS_SHOWN],
             reading.layers[2].kernel[:MAX_UNITS_SHOWN]]
    for sign in (1, -1):
        segments = sum(len(item.xData) // 2 for (item_sign, _), item in view.lines.items() if item_sign == sign)
        expected = sum(int(((kernel >= 0) if sign > 0 else (kernel < 0)).sum()) for kernel in drawn)
        assert segments == expected
    strongest = np.unravel_index(np.argmax(np.abs(drawn[0])), drawn[0].shape)
    sign = 1 if drawn[0][strongest] >= 0 else -1
    assert len(view.lines[(sign, len(view.lines) // 2 - 1)].xData) > 0  # the largest |w| is in the thickest bucket


def test_hovering_a_unit_names_its_incoming_weights_and_bias(view):
    view.set_dataset(plane_dataset())
    reading = network_reading()
    view.show_weights(reading)

    text = hover(view, 1, 2)
    first = reading.layers[0]
    weights = ", ".join(f"{w:.3g}" for w in first.kernel[:, 2])
    assert text == f"dense_1 unit 3: b = {first.bias[2]:.3g}; w = [{weights}]"
    assert view.highlight.isVisible()

    wide = hover(view, 3, 0)  # the output unit: 40 incoming weights, cut short
    assert wide.startswith(f"output unit 1: b = {reading.layers[2].bias[0]:.3g}; w = [")
    assert "40 in all" in wide and wide.count(",") < 15
    assert "decision boundary" in wide

    assert "x2" in hover(view, 0, 1)


def test_clear_blanks_the_squares_and_lines_but_keeps_the_network(view):
    dataset = plane_dataset()
    view.set_dataset(dataset)
    view.show_weights(network_reading())
    view.show_units(grid_outputs(dataset))

    view.clear()

    assert [len(column) for column in view.images] == [2, 3, MAX_UNITS_SHOWN, 1]
    assert all(image.image is None for column in view.images[1:] for image in column)
    assert view.images[0][0].image is not None  # the inputs do not depend on training
    assert all(len(item.xData) == 0 for item in view.lines.values())
    assert "b =" not in hover(view, 1, 0)  # the weights went with the run


def test_data_without_two_inputs_gets_a_sentence(view):
    view.set_dataset(tiny_dataset(CLASSIFICATION))

    assert view.pages.currentWidget() is view.needs_two_inputs
    assert "two inputs" in view.needs_two_inputs.text()
    view.show_units(grid_outputs(plane_dataset()))  # nothing to draw on: no error
    view.set_dataset(plane_dataset())
    assert view.pages.currentWidget() is view.canvas


def test_a_new_network_is_drawn_afresh(view):
    view.set_dataset(plane_dataset())
    view.show_weights(network_reading())
    view.show_weights(network_reading(widths=(5,)))

    assert [len(column) for column in view.images] == [2, 5, 1]
    assert hover(view, 1, 4).startswith("dense_1 unit 5: b =")
