"""The Weights view shows each kernel W as given, names the weight under the mouse, and draws units as images."""

import numpy as np
import pytest
from tiny_data import tiny_dataset

from datasets.base import CLASSIFICATION, Dataset
from gui.weights_view import MAX_UNIT_IMAGES, WeightsView, unit_mosaic
from models.instruments.readings import Histogram, InstrumentReading, LayerReading


def reading_of(*kernels: np.ndarray) -> InstrumentReading:
    """A reading of Dense layers with these kernels, named dense_1, dense_2, … and output."""
    names = [f"dense_{n}" for n in range(1, len(kernels))] + ["output"]
    empty = Histogram(np.linspace(-1.0, 1.0, 3), np.zeros(2, dtype=np.int64))
    layers = [LayerReading(epoch=1, step=4, layer=index, name=name, activation="relu", weight_norm=1.0,
                           weight_mean=0.0, weight_std=1.0, near_zero_fraction=0.0, gradient_norm=1.0,
                           update_ratio=None, update_ratio_per_step=None, dead_fraction=0.0, saturated_fraction=None,
                           output_mean=0.0, output_std=1.0, batch_norm_mean=None, batch_norm_std=None, weights=empty,
                           gradients=empty, outputs=empty, kernel=kernel, bias=np.zeros(kernel.shape[1], np.float32))
              for index, (name, kernel) in enumerate(zip(names, kernels, strict=True))]
    return InstrumentReading(epoch=1, step=4, layers=layers)


def kernels(*shape: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(rows, columns)).astype(np.float32) for rows, columns in zip(shape, shape[1:])]


def image_dataset() -> Dataset:
    """Twelve 8×8 'images' of two classes."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 16, size=(12, 64)).astype(np.float32)
    y = np.arange(12, dtype=np.int32) % 2
    return Dataset(name="tiny images", task=CLASSIFICATION, x_train=x[:10], y_train=y[:10], x_test=x[10:],
                   y_test=y[10:], feature_names=[f"pixel_{i}" for i in range(64)], class_names=["a", "b"],
                   image_shape=(8, 8))


@pytest.fixture
def view(show_widget):
    return show_widget(WeightsView(), 800, 560)


def hover(view: WeightsView, i: int, j: int) -> str:
    view.canvas.scene().sigMouseMoved.emit(view.cell_scene_position(i, j))
    return view.info.text()


def choose(view: WeightsView, index: int) -> None:
    view.layer_box.setCurrentIndex(index)


def test_the_chosen_layers_kernel_is_the_heatmap_centred_on_zero(view):
    first, second, last = kernels(5, 7, 4, 3)
    view.set_dataset(tiny_dataset(CLASSIFICATION))
    view.show_reading(reading_of(first, second, last))

    assert view.layer_box.count() == 3
    assert "5 × 7" in view.layer_box.itemText(0) and "output" in view.layer_box.itemText(2)
    np.testing.assert_array_equal(view.image.image, first)
    reach = np.abs(first).max()
    np.testing.assert_allclose(view.image.levels, [-reach, reach], rtol=1e-6)
    np.testing.assert_allclose(view.colour_bar.levels(), [-reach, reach], rtol=1e-6)

    choose(view, 1)
    np.testing.assert_array_equal(view.image.image, second)
    view.show_reading(reading_of(*kernels(5, 7, 4, 3, seed=1)))  # the next reading keeps the choice
    assert view.layer_box.currentIndex() == 1
    np.testing.assert_array_equal(view.image.image, kernels(5, 7, 4, 3, seed=1)[1])


def test_hovering_a_cell_names_the_weight_its_input_and_its_unit(view):
    first, second = kernels(5, 6, 2)
    view.set_dataset(tiny_dataset(CLASSIFICATION))
    view.show_reading(reading_of(first, second))

    text = hover(view, 3, 4)
    assert text.startswith(f"w[4, 5] = {first[3, 4]:.4g}: ")
    assert "feature 3" in text and "unit 5 of dense_1" in text

    choose(view, 1)
    text = hover(view, 5, 1)
    assert text.startswith(f"w[6, 2] = {second[5, 1]:.4g}: from unit 6 of dense_1 to unit 2 of output")


def test_clear_empties_the_view(view):
    view.set_dataset(tiny_dataset(CLASSIFICATION))
    view.show_reading(reading_of(*kernels(5, 6, 2)))

    view.clear()

    assert view.layer_box.count() == 0
    assert view.image.image is None
    assert "Train" in view.info.text()
    view.show_reading(reading_of(*kernels(5, 3, 2)))  # a new run's network fills it again
    assert view.image.image.shape == (5, 3)


def test_an_image_data_sets_first_layer_can_show_its_units_as_images(view):
    first, second = kernels(64, 40, 2)
    view.set_dataset(image_dataset())
    view.show_reading(reading_of(first, second))
    assert view.as_images.isVisible()

    view.as_images.setChecked(True)

    mosaic = view.image.image
    assert mosaic.shape == (6 * 9 - 1, 6 * 9 - 1)  # the first 36 of 40 units, six across, a one-pixel gap between
    np.testing.assert_array_equal(mosaic[:8, :8], first[:, 0].reshape(8, 8))
    np.testing.assert_array_equal(mosaic[9:17, 18:26], first[:, 8].reshape(8, 8))  # unit 9: second row, third
    assert np.isnan(mosaic[8, 0]) and np.isnan(mosaic[0, 8])
    text = hover(view, 10, 8)
    assert text.startswith(f"w[11, 9] = {first[10, 8]:.4g}: ")
    assert "row 2, column 3" in text and "unit 9 of dense_1" in text

    choose(view, 1)  # a hidden layer's inputs are no picture
    assert not view.as_images.isVisible()
    np.testing.assert_array_equal(view.image.image, second)
    choose(view, 0)
    assert view.image.image.shape == mosaic.shape


def test_the_toggle_is_hidden_for_data_that_are_not_images(view):
    view.set_dataset(tiny_dataset(CLASSIFICATION))
    view.show_reading(reading_of(*kernels(5, 6, 2)))
    view.as_images.setChecked(True)

    assert not view.as_images.isVisible()
    np.testing.assert_array_equal(view.image.image, view.kernel)


def test_a_mosaic_holds_at_most_the_units_there_are():
    kernel = np.arange(4 * 5, dtype=np.float32).reshape(4, 5)
    mosaic, across = unit_mosaic(kernel, (2, 2), MAX_UNIT_IMAGES)
    assert across == 3 and mosaic.shape == (2 * 3 - 1, 3 * 3 - 1)
    np.testing.assert_array_equal(mosaic[3:, 3:5], kernel[:, 4].reshape(2, 2))
    assert np.isnan(mosaic[3:, 6:]).all()  # the sixth place is empty
