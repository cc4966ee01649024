"""The Search tab: a study run from the window, its trials drawn and tabled, the best applied and shown."""

import math

import pytest

TIMEOUT_MS = 240_000


def wait_for_the_end(qtbot, view):
    with qtbot.waitSignal(view.running_changed, timeout=TIMEOUT_MS, check_params_cb=lambda running: not running):
        pass


def test_a_search_draws_each_trial_and_the_best_can_be_applied_and_shown(qtbot, make_window, tiny_project):
    window = make_window(tiny_project(epochs=4))
    view = window.search
    window.chart_tabs.setCurrentWidget(view)
    view.set_space({"lr": (0.001, 0.1, True), "units:1": (2, 16, True)})
    assert view.space_text() == "lr=0.001..0.1:log,units:1=2..16:log"
    view.trials_spin.setValue(4)
    assert view.start()
    assert not window.train_button.isEnabled() and not window.sweep.start()  # one thing trains at a time
    with qtbot.waitSignal(view.job.epoch_done, timeout=TIMEOUT_MS):
        pass
    qtbot.waitUntil(lambda: 0 in view.curves, timeout=5000)  # the first trial's curve, while it trains
    wait_for_the_end(qtbot, view)
    assert window.train_button.isEnabled()
    assert view.trial_table.rowCount() == 4 and len(view.curves) == 4
    assert all(len(curve.getData()[0]) >= 1 for curve in view.curves.values())  # each trial's live curve
    drawn = sum(len(points.getData()[0]) for points in view.history_points.values())
    assert drawn == sum(1 for outcome in view.outcomes if outcome.value is not None and math.isfinite(outcome.value))
    assert view.importance_bars is not None  # the first three trials are never pruned: importances exist
    assert view.best is not None and view.apply_button.isEnabled()
    assert view.direction == "maximize"  # automatic: the validation accuracy of a classification
    best = max((outcome for outcome in view.outcomes if outcome.state == "COMPLETE"), key=lambda o: o.value)
    assert "Best of" in view.status.text() and f"trial {best.number}," in view.status.text()
    view.apply_button.click()
    assert window.project.optimizer.learning_rate == pytest.approx(best.params["lr"])
    assert window.project.layers[0].units == best.params["units:1"]
    window.undo_stack.undo()
    assert window.project.layers[0].units == 4
    view.show_run_button.click()
    assert window.bottom_tabs.currentWidget() is window.history
    [selected] = window.history.selected_records()
    assert str(selected.path) == best.run_dir


def test_the_state_filter_hides_the_other_trials(qtbot, make_window, tiny_project):
    window = make_window(tiny_project(epochs=3))
    view = window.search
    view.set_space({"lr": (0.001, 0.1, True)})
    view.trials_spin.setValue(3)
    assert view.start()
    wait_for_the_end(qtbot, view)
    view.state_filter.setCurrentIndex(view.state_filter.findData("FAIL"))
    assert all(view.trial_table.isRowHidden(row) for row in range(view.trial_table.rowCount()))
    view.state_filter.setCurrentIndex(view.state_filter.findData("COMPLETE"))
    assert not view.trial_table.isRowHidden(0)


def test_a_range_that_cannot_be_searched_is_a_sentence(qtbot, make_window, tiny_project):
    window = make_window(tiny_project())
    view = window.search
    messages = []
    view.message.connect(messages.append)
    view.set_space({"lr": (0.1, 0.001, True)})
    assert not view.start() and view.job is None
    assert "low value below its high" in messages[-1]
    view.set_space({})
    assert not view.start()
    assert "say what to search" in messages[-1]


def test_stop_ends_the_search_with_the_trials_it_has(qtbot, make_window, tiny_project):
    window = make_window(tiny_project(epochs=40))
    view = window.search
    view.set_space({"lr": (0.001, 0.1, True)})
    view.trials_spin.setValue(50)
    with qtbot.waitSignal(view.run_added, timeout=TIMEOUT_MS):
        assert view.start()
    view.stop()
    wait_for_the_end(qtbot, view)
    assert 1 <= view.trial_table.rowCount() < 50
