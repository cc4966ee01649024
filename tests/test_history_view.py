"""The History tab: the window's runs listed, compared, overlaid on the charts, applied, deleted."""

import json
import shutil

import pytest

from gui.settings import runs_dir

TIMEOUT_MS = 120_000


@pytest.fixture
def window_with_runs(qtbot, make_window, tiny_project):
    """A window that has trained two runs of the tiny project, the second with another learning rate."""
    window = make_window(tiny_project())
    window.bottom_tabs.setCurrentWidget(window.history)
    for rate in (0.001, 0.05):
        project = window.project.copy()
        project.optimizer.learning_rate = rate
        window.apply_project(project)
        with qtbot.waitSignal(window.training_done, timeout=TIMEOUT_MS):
            assert window.start_training()
    # A finished run refreshes the history a moment later.
    qtbot.waitUntil(lambda: window.history.table.rowCount() == 2
                    and all(record.status == "completed" for record in window.history.records), timeout=10_000)
    return window


def test_each_run_of_the_window_is_listed_and_two_selected_show_what_differs(qtbot, window_with_runs):
    history = window_with_runs.history
    newest, older = history.shown_records()
    assert newest.project["optimizer"]["learning_rate"] == 0.05 and older.project["optimizer"]["learning_rate"] == 0.001
    assert newest.status == "completed" and newest.epochs_run == 3
    assert not history.overlay_button.isEnabled()
    history.select_runs([newest.name, older.name])
    assert history.overlay_button.isEnabled() and not history.apply_button.isEnabled()
    assert history.comparison.rowCount() == 1
    assert history.comparison.item(0, 0).text() == "Learning rate"
    assert {history.comparison.item(0, 1).text(), history.comparison.item(0, 2).text()} == {"0.05", "0.001"}


def test_selected_runs_are_overlaid_on_the_charts_with_legends_naming_the_difference(qtbot, window_with_runs):
    window = window_with_runs
    history = window.history
    history.select_runs([record.name for record in history.shown_records()])
    history.overlay_selected()
    assert window.overlays.count() == 2
    loss_plot, loss_legend = window.charts.plot_items()["loss"]
    labels = {label.text for _, label in loss_legend.items}
    assert {"Learning rate 0.05", "Learning rate 0.001"} <= labels
    drawn = [curve for plot, _, curve in window.overlays.items if plot is loss_plot]
    assert len(drawn) == 4  # training and validation of each run
    assert all(len(curve.getData()[0]) == 3 for curve in drawn)
    history.clear_overlay()
    assert window.overlays.count() == 0
    assert not {"Learning rate 0.05", "Learning rate 0.001"} & {label.text for _, label in loss_legend.items}


def test_a_runs_settings_can_be_applied_and_undone(qtbot, window_with_runs):
    window = window_with_runs
    older = window.history.shown_records()[1]
    window.history.select_runs([older.name])
    assert window.history.apply_button.isEnabled()
    window.history.apply_selected()
    assert window.project.optimizer.learning_rate == 0.001
    window.undo_stack.undo()
    assert window.project.optimizer.learning_rate == 0.05


def test_runs_deleted_in_the_tab_or_added_by_hand_are_what_it_shows(qtbot, window_with_runs):
    history = window_with_runs.history
    newest, older = history.shown_records()
    copy = runs_dir() / "20300101-000000-xor"
    shutil.copytree(older.path, copy)
    status = json.loads((copy / "status.json").read_text())
    (copy / "status.json").write_text(json.dumps({**status, "started": "2030-01-01T00:00:00+00:00"}))
    qtbot.waitUntil(lambda: history.table.rowCount() == 3, timeout=10_000)  # the folder watcher saw it
    assert history.shown_records()[0].name == copy.name
    history.select_runs([newest.name])
    asked = []
    history.delete_selected(confirm=lambda names: asked.append(names) or False)  # the user says no
    assert asked == [[newest.name]] and newest.path.exists()
    history.delete_selected(confirm=lambda names: True)
    assert not newest.path.exists()
    assert [record.name for record in history.shown_records()] == [copy.name, older.name]


def test_the_data_set_filter_keeps_only_that_data_sets_runs(qtbot, window_with_runs):
    history = window_with_runs.history
    [record] = history.shown_records()[:1]
    moved = runs_dir() / "20300101-000000-moons"
    shutil.copytree(record.path, moved)
    project = json.loads((moved / "project.json").read_text())
    project["dataset"]["name"] = "moons"
    (moved / "project.json").write_text(json.dumps(project))
    history.refresh()
    assert [history.dataset_choice.itemData(index) for index in range(history.dataset_choice.count())] == \
        ["", "moons", "xor"]
    history.dataset_choice.setCurrentIndex(history.dataset_choice.findData("moons"))
    assert [record.dataset for record in history.shown_records()] == ["moons"]
    assert history.table.rowCount() == 1
