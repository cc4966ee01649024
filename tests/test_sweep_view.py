"""The Sweep tab: a setting's values trained one after another, their final figures plotted, the runs in the history."""

import json

import numpy as np

TIMEOUT_MS = 180_000


def choose(view, text, values):
    view.setting_choice.setCurrentIndex(view.setting_choice.findText(text))
    view.values_field.setText(values)


def test_a_sweep_plots_each_values_final_figures_and_its_runs_join_the_history(qtbot, make_window, tiny_project):
    window = make_window(tiny_project())
    window.chart_tabs.setCurrentWidget(window.sweep)
    view = window.sweep
    choose(view, "Units of layer 1", "2,8")
    with qtbot.waitSignal(view.running_changed, timeout=5000, check_params_cb=lambda running: running):
        assert view.start()
    assert not window.train_button.isEnabled()  # one thing trains at a time
    with qtbot.waitSignal(view.running_changed, timeout=TIMEOUT_MS, check_params_cb=lambda running: not running):
        pass
    assert window.train_button.isEnabled()
    values, losses = view.curve_data("loss", "train")
    np.testing.assert_allclose(values, [2, 8])  # a log axis, drawn as log10, reads back as the values
    assert len(view.curve_data("metric", "val")[1]) == 2
    assert [point.value for point in view.points] == [2.0, 8.0]
    assert np.all(np.isfinite(losses))
    assert "Sweep done: 2 run(s)" in view.status.text()
    window.bottom_tabs.setCurrentWidget(window.history)  # a hidden History tab reads the folder when shown
    qtbot.waitUntil(lambda: len(window.history.records) == 2, timeout=10_000)
    assert sorted(record.project["layers"][0]["units"] for record in window.history.records) == [2, 8]
    written = json.loads(next((window.history.history.root.parent / "sweeps").glob("*/sweep.json")).read_text())
    assert written["param"] == "units:1" and [point["value"] for point in written["points"]] == [2.0, 8.0]


def test_a_stopped_sweep_keeps_the_points_it_has(qtbot, make_window, tiny_project):
    window = make_window(tiny_project(epochs=30))
    view = window.sweep
    choose(view, "Learning rate", "0.001,0.01,0.1,0.2")
    with qtbot.waitSignal(view.run_added, timeout=TIMEOUT_MS):  # the first value's run is in
        assert view.start()
    view.stop()
    with qtbot.waitSignal(view.running_changed, timeout=TIMEOUT_MS, check_params_cb=lambda running: not running):
        pass
    assert 1 <= len(view.points) < 4


def test_values_the_setting_cannot_take_are_a_sentence_and_nothing_starts(qtbot, make_window, tiny_project):
    window = make_window(tiny_project())
    view = window.sweep
    messages = []
    view.message.connect(messages.append)
    choose(view, "Dropout rate", "0.2,1.5")
    assert not view.start()
    assert messages == ["dropout must be a number from 0 to 0.95 (got 1.5)."] and view.job is None
    choose(view, "Units of layer 1", "2:8")
    assert not view.start()
    assert "start:stop:count" in messages[-1]


def test_the_settings_offered_follow_the_network_and_keep_what_the_learner_typed(qtbot, make_window, tiny_project):
    from models.network.spec import DenseLayer

    window = make_window(tiny_project())
    view = window.sweep
    choose(view, "Learning rate", "0.01,0.1")
    project = window.project.copy()
    project.layers = [DenseLayer(4), DenseLayer(4), DenseLayer(4)]
    window.apply_project(project)
    texts = [view.setting_choice.itemText(index) for index in range(view.setting_choice.count())]
    assert texts[:3] == ["Units of layer 1", "Units of layer 2", "Units of layer 3"]
    assert view.setting_choice.currentText() == "Learning rate" and view.values_field.text() == "0.01,0.1"


def test_a_sweep_leaves_the_model_the_window_shows_as_it_was(qtbot, make_window, tiny_project):
    """The runs of a sweep reuse kept models of the same network; the one the window holds (Try it,
    Evaluation, Export, Train more) is never among them."""
    window = make_window(tiny_project())
    with qtbot.waitSignal(window.training_done, timeout=TIMEOUT_MS):
        assert window.start_training()
    shown = [np.array(weights) for weights in window.result.model.get_weights()]
    choose(window.sweep, "Learning rate", "0.01,0.1")  # the same network: its kept model would be reused
    assert window.sweep.start()
    with qtbot.waitSignal(window.sweep.running_changed, timeout=TIMEOUT_MS,
                          check_params_cb=lambda running: not running):
        pass
    for before, after in zip(shown, window.result.model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
