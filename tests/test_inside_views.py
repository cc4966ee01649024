"""The views of the inside of the network, driven through the window: they fill while a run trains,
follow a change of data set, and start empty for each new run."""

import dataclasses

import numpy as np

from models.network.spec import DenseLayer

TRAINING_TIMEOUT_MS = 60_000


def _train(qtbot, window):
    with qtbot.waitSignal(window.training_done, timeout=TRAINING_TIMEOUT_MS) as done:
        assert window.start_training()
    assert done.args[0] is not None
    return done.args[0]


def _change_data(qtbot, window, **changes):
    project = window.project.copy()
    project.dataset = dataclasses.replace(project.dataset, **changes)
    with qtbot.waitSignal(window.dataset_ready, timeout=30_000):
        window.record_edit(project, "data")


def test_the_views_fill_while_training(qtbot, make_window, tiny_project):
    window = make_window(tiny_project(epochs=4))
    inside = window.inside
    seen_while_training = []
    assert window.start_training()
    window.job.epoch_ended.connect(lambda _result: seen_while_training.append(inside.layers.reading_count()))
    with qtbot.waitSignal(window.training_done, timeout=TRAINING_TIMEOUT_MS):
        pass
    assert seen_while_training and seen_while_training[0] >= 1  # the reading before training came first
    result = window.result
    assert inside.layers.reading_count() == len(result.instruments)
    inside.redraw_now()
    epochs, norms = inside.layers.gradient_curve_data(0)
    assert len(epochs) == len(result.instruments)
    np.testing.assert_allclose(norms, [reading.layers[0].gradient_norm for reading in result.instruments], rtol=1e-6)
    # Weights: the last reading's first kernel; Neurons: the last unit outputs and the weights' lines.
    np.testing.assert_array_equal(inside.weights.image.image, result.instruments[-1].layers[0].kernel)
    assert all(image.image is not None for column in inside.neurons.images[1:] for image in column)
    assert any(len(item.xData) for item in inside.neurons.lines.values())


def test_a_new_run_starts_every_view_empty(qtbot, make_window, tiny_project):
    window = make_window(tiny_project())
    _train(qtbot, window)
    inside = window.inside
    assert inside.layers.reading_count() > 0
    assert window.start_training()
    # Cleared the moment the run starts, before its first reading arrives.
    assert inside.layers.reading_count() == 0 and inside.layers.is_empty()
    assert inside.weights.image.image is None
    assert all(image.image is None for column in inside.neurons.images[1:] for image in column)
    with qtbot.waitSignal(window.training_done, timeout=TRAINING_TIMEOUT_MS):
        pass
    assert inside.layers.reading_count() == len(window.result.instruments)


def test_the_views_follow_a_change_of_data_set(qtbot, make_window, tiny_project):
    window = make_window(tiny_project())
    _train(qtbot, window)
    inside = window.inside
    assert inside.neurons.images and not inside.surface.showing_surface

    _change_data(qtbot, window, name="digits")
    assert inside.layers.reading_count() == 0  # the readings were of the other data's network
    assert inside.weights.image.image is None
    assert inside.neurons.pages.currentWidget() is inside.neurons.needs_two_inputs
    _train(qtbot, window)
    inside.redraw_now()  # the Weights tab is behind another: it draws when shown (gui.panel.DrawnWhenShown)
    assert not inside.weights.as_images.isHidden()  # digits are images: the first layer's units can be shown as such

    project = window.project.copy()
    project.layers = [layer for layer in project.layers if not isinstance(layer, DenseLayer)]
    window.record_edit(project, "no hidden layer")
    _change_data(qtbot, window, name="linear")
    assert inside.surface.showing_surface
    result = _train(qtbot, window)
    assert len(inside.surface.path_points()) == result.instruments[-1].step + 1  # the start and every step


def test_a_new_run_starts_the_loss_surface_path_afresh(qtbot, make_window, tiny_project):
    window = make_window(tiny_project())
    project = window.project.copy()
    project.layers = []
    window.record_edit(project, "no hidden layer")
    _change_data(qtbot, window, name="linear")
    surface = window.inside.surface
    assert surface.showing_surface
    _train(qtbot, window)
    assert len(surface.path_points()) > 1
    assert window.start_training()
    assert len(surface.path_points()) == 0  # emptied as the run starts
    with qtbot.waitSignal(window.training_done, timeout=TRAINING_TIMEOUT_MS):
        pass
    assert len(surface.path_points()) == window.result.instruments[-1].step + 1


def test_a_hidden_view_draws_what_it_missed_when_shown(qtbot, make_window, tiny_project):
    window = make_window(tiny_project(epochs=2))
    inside = window.inside
    _train(qtbot, window)
    assert not inside.weights.isVisible()
    assert inside.weights.image.image is None  # behind the Training tab: nothing drawn yet
    window.chart_tabs.setCurrentWidget(inside.weights_page)
    qtbot.waitUntil(lambda: inside.weights.image.image is not None)
    np.testing.assert_array_equal(inside.weights.image.image, window.result.instruments[-1].layers[0].kernel)
