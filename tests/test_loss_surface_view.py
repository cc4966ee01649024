"""The loss-surface view: the bowl, the least-squares star, and the path growing as readings come."""

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from datasets.base import Dataset
from datasets.choice import DatasetChoice
from datasets.inputs import InputFeature
from datasets.registry import load_dataset
from gui.loss_surface_view import LossSurfaceView
from models.instruments.readings import Histogram, InstrumentReading, LayerReading
from models.instruments.surface import closed_form
from models.network.spec import DenseLayer, OptimizerSpec, Project


@pytest.fixture(scope="module")
def linear():
    return load_dataset(DatasetChoice(name="linear"))


@pytest.fixture
def view(qtbot):
    widget = LossSurfaceView()
    widget.resize(600, 500)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def no_hidden() -> Project:
    return Project(dataset=DatasetChoice(name="linear"), layers=[])


def layer_reading(kernel=(0.5, -0.5), bias=0.1) -> LayerReading:
    empty = Histogram(np.linspace(-1.0, 1.0, 3), np.zeros(2, dtype=np.int64))
    return LayerReading(epoch=0.0, step=0, layer=0, name="output", activation="linear", weight_norm=1.0,
                        weight_mean=0.0, weight_std=0.5, near_zero_fraction=0.0, gradient_norm=1.0,
                        update_ratio=None, update_ratio_per_step=None, dead_fraction=None,
                        saturated_fraction=None, output_mean=0.0, output_std=1.0, batch_norm_mean=None,
                        batch_norm_std=None, weights=empty, gradients=empty, outputs=empty,
                        kernel=np.array(kernel, dtype=np.float32).reshape(-1, 1),
                        bias=np.array([bias], dtype=np.float32))


def reading(step, rows, epoch=None) -> InstrumentReading:
    rows = np.asarray(rows, dtype=np.float64)
    return InstrumentReading(epoch=step / 10 if epoch is None else epoch, step=step,
                             layers=[layer_reading(rows[-1, :2], rows[-1, 2])], path=rows)


def walk(steps=30, start=(-0.5, 0.5, 0.0), end=(2.0, -3.4, 4.2)) -> np.ndarray:
    """A straight path of ``steps + 1`` rows from ``start`` to ``end``."""
    return np.linspace(start, end, steps + 1)


def test_the_surface_shows_the_least_squares_solution_before_training(view, linear):
    view.set_dataset(linear, no_hidden())
    assert view.showing_surface
    w, b = closed_form(linear.x_train, linear.y_train)
    star_x, star_y = view.closed_form_marker.getData()
    assert np.allclose([star_x[0], star_y[0]], w)
    assert "w = [1.99" in view.solution_label.text() or "w = [2.00" in view.solution_label.text()
    assert f"b = {b:.4f}" in view.solution_label.text()
    assert view.image.image is not None and view.image.image.shape == (160, 160)
    assert view.drawn_path()[0].size == 0
    assert "Train the model" in view.trained_label.text()


def test_the_path_fills_as_readings_come(view, linear, qtbot):
    view.set_dataset(linear, no_hidden())
    rows = walk()
    view.add_reading(reading(0, rows[:1]))
    for start in range(1, 31, 10):
        view.add_reading(reading(start + 9, rows[start:start + 10]))
    assert len(view.path_points()) == 31
    qtbot.waitUntil(lambda: view.drawn_path()[0].size == 31, timeout=2000)  # the timer draws by itself
    x, y = view.drawn_path()
    assert np.allclose(np.column_stack([x, y]), rows[:, :2])
    assert np.allclose(np.column_stack(view.start_marker.getData()), [rows[0, :2]])
    assert np.allclose(np.column_stack(view.current_marker.getData()), [rows[-1, :2]])
    assert "step 30" in view.trained_label.text()
    assert "w = [2.0000, −3.4000], b = 4.2000" in view.trained_label.text()
    qtbot.wait(150)
    assert not view._redraw_timer.isActive()  # drawing does not schedule itself again


def test_the_view_widens_to_hold_a_path_that_wanders_off(view, linear):
    view.set_dataset(linear, no_hidden())
    view.add_reading(reading(0, [[0.0, 0.0, 0.0]]))
    view.add_reading(reading(1, [[-20.0, 15.0, 0.0]]))
    view.redraw_now()
    (x_low, x_high), (y_low, y_high) = view.plot.getPlotItem().vb.viewRange()
    assert x_low < -20 < 2 < x_high and y_low < -3.4 < 15 < y_high


def test_clear_forgets_the_path_and_keeps_the_surface(view, linear):
    view.set_dataset(linear, no_hidden())
    view.add_reading(reading(0, walk()[:5]))
    view.redraw_now()
    assert view.drawn_path()[0].size == 5
    view.clear()
    assert len(view.path_points()) == 0
    assert view.drawn_path()[0].size == 0
    assert view.start_marker.getData()[0].size == 0
    assert view.showing_surface and view.closed_form_marker.getData()[0].size == 1


def test_a_reading_before_the_first_step_starts_a_new_path(view, linear):
    view.set_dataset(linear, no_hidden())
    view.add_reading(reading(0, walk()[:4]))
    view.add_reading(reading(0, [[1.0, 1.0, 0.0]]))
    assert np.allclose(view.path_points(), [[1.0, 1.0, 0.0]])


def test_a_reading_without_a_path_adds_its_current_weights(view, linear):
    view.set_dataset(linear, no_hidden())
    view.add_reading(InstrumentReading(epoch=0.0, step=0, layers=[layer_reading((0.3, -0.2), 0.5)]))
    assert np.allclose(view.path_points(), [[0.3, -0.2, 0.5]], atol=1e-6)


def test_readings_of_a_network_with_a_hidden_layer_are_ignored(view, linear):
    view.set_dataset(linear, no_hidden())
    wide = InstrumentReading(epoch=0.0, step=0, layers=[layer_reading((1.0, 2.0, 3.0, 4.0)), layer_reading()])
    view.add_reading(wide)
    view.add_reading(InstrumentReading(epoch=0.0, step=0, layers=[], path=np.zeros((3, 5))))
    view.add_reading(InstrumentReading(epoch=0.5, step=5, layers=[], path=np.zeros(0)))
    assert len(view.path_points()) == 0


def test_the_path_is_shown_in_the_datas_own_units(view):
    rng = np.random.default_rng(0)
    x = rng.normal([10.0, -5.0], [2.0, 4.0], size=(50, 2)).astype(np.float32)
    y = (x @ np.array([1.0, 2.0]) + 3.0).astype(np.float32)
    inputs = [InputFeature("a", "number", "a", mean=10.0, std=2.0), InputFeature("b", "number", "b", mean=-5.0, std=4.0)]
    data = Dataset("scaled", "regression", x, y, x[:5], y[:5], ["a", "b"], inputs=inputs, target_scale=(3.0, 10.0))
    view.set_dataset(data, no_hidden())
    view.add_reading(reading(0, [[0.2, 0.8, 0.5]]))  # k = [0.2, 0.8], c = 0.5 behind the scaling layers
    w1, w2, b = view.path_points()[0]
    assert np.allclose([w1, w2], [0.2 * 10 / 2, 0.8 * 10 / 4])
    assert b == pytest.approx(0.5 * 10 + 3.0 - (w1 * 10.0 + w2 * -5.0))


def test_a_data_set_it_cannot_draw_shows_what_it_needs(view, linear):
    view.set_dataset(load_dataset(DatasetChoice(name="spiral")), no_hidden())
    assert not view.showing_surface
    assert view.explanation.isVisible()
    assert "linear data set (or any regression with two inputs) and no hidden layer" in view.explanation.text()
    view.add_reading(reading(0, walk()[:3]))  # nothing to draw it on
    assert len(view.path_points()) == 0
    view.set_dataset(linear, no_hidden())
    assert view.showing_surface and not view.explanation.isVisible()


def test_a_hidden_layer_shows_what_it_needs(view, linear):
    view.set_dataset(linear, Project(layers=[DenseLayer(4, "relu")]))
    assert not view.showing_surface


def test_a_new_data_set_moves_the_star_and_forgets_the_path(view, linear):
    view.set_dataset(linear, no_hidden())
    view.add_reading(reading(0, walk()[:5]))
    view.set_dataset(linear, no_hidden())  # the same data again (only the network changed): the path stays
    assert len(view.path_points()) == 5
    rng = np.random.default_rng(2)
    x = rng.normal(size=(40, 2)).astype(np.float32)
    y = (x @ np.array([-1.0, 0.5]) + 2.0).astype(np.float32)
    view.set_dataset(Dataset("other", "regression", x, y, x[:5], y[:5], ["x1", "x2"]), no_hidden())
    assert len(view.path_points()) == 0
    assert np.allclose(np.ravel(view.closed_form_marker.getData()), [-1.0, 0.5], atol=1e-4)


def test_hovering_reads_the_loss_under_the_mouse(view, linear):
    view.set_dataset(linear, no_hidden())
    view.redraw_now()
    box = view.plot.getPlotItem().vb
    centre = box.mapViewToScene(QPointF(2.0, -3.4))
    view.plot.scene().sigMouseMoved.emit(centre)
    text = view.hover_label.text()
    assert text.startswith("At w = [2.0000, −3.4000]: loss ")
    assert float(text.split("loss ")[1].split()[0].replace("−", "-")) == pytest.approx(1e-4, rel=0.2)  # the noise


def test_a_real_run_walks_down_to_the_star(view, linear, qtbot):
    from models.training.runner import TrainingListener, run_training

    class Readings(TrainingListener):
        def __init__(self):
            self.readings = []

        def on_instruments(self, reading):
            self.readings.append(reading)

    view.set_dataset(linear, no_hidden())
    project = no_hidden()
    project.optimizer = OptimizerSpec("sgd", learning_rate=0.02, momentum=0.9)
    project.training.epochs = 8
    listener = Readings()
    run_training(project, listener, dataset=linear, instruments=True)
    for one in listener.readings:
        view.add_reading(one)
    qtbot.waitUntil(lambda: view.drawn_path()[0].size == len(view.path_points()) > 10, timeout=2000)
    path = view.path_points()
    w, b = closed_form(linear.x_train, linear.y_train)
    assert np.linalg.norm(path[0, :2] - w) > 1.0
    assert np.allclose(path[-1, :2], w, atol=0.05) and abs(path[-1, 2] - b) < 0.05
    assert "distance to the least-squares solution 0.0" in view.trained_label.text()
