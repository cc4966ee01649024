"""The main window, driven through its real widgets: build, train, stop, close, undo, save, export."""

import csv
import dataclasses
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QSpinBox

from models.network.spec import project_to_dict

TRAINING_TIMEOUT_MS = 60_000


def _type_number(qtbot, spin: QSpinBox, text: str) -> None:
    """Replaces a spin box's number the way a user does: select all, type, Enter."""
    spin.setFocus()
    qtbot.keyClick(spin, Qt.Key_A, Qt.ControlModifier)
    qtbot.keyClicks(spin, text)
    qtbot.keyClick(spin, Qt.Key_Return)


def _train(qtbot, window):
    """Clicks Train and waits for the run to end; returns its result."""
    with qtbot.waitSignal(window.training_done, timeout=TRAINING_TIMEOUT_MS) as done:
        qtbot.mouseClick(window.train_button, Qt.LeftButton)
    return done.args[0]


def _wait_until_training_reports(qtbot, window) -> None:
    """Waits for the first batch or epoch of a run to reach the charts."""
    qtbot.waitUntil(lambda: window.charts.points_count()["batch"] + window.charts.points_count()["epoch"] > 0,
                    timeout=TRAINING_TIMEOUT_MS)


def test_network_built_in_the_editor_becomes_the_project(qtbot, make_window, tiny_project):
    window = make_window(tiny_project())
    editor = window.network_editor

    qtbot.mouseClick(editor.add_buttons["dense"], Qt.LeftButton)
    _type_number(qtbot, editor.layer_cards()[-1].units, "12")

    assert [layer.units for layer in window.project.layers] == [4, 12]
    assert window.undo_stack.count() == 2
    assert window.windowTitle().endswith("*")
    assert "parameters" in editor.total_text()


def test_training_end_to_end_feeds_the_charts(qtbot, make_window, tiny_project):
    window = make_window(tiny_project(epochs=3))

    result = _train(qtbot, window)

    assert result is not None and result.reason == "completed"
    assert result.epochs_run == 3
    window.charts.redraw_now()
    assert window.charts.points_count()["epoch"] == 3
    x, y = window.charts.curve_data("loss")
    assert list(x) == [1.0, 2.0, 3.0] and np.all(np.isfinite(y))
    assert len(window.charts.curve_data("val_metric")[0]) == 3
    assert window.result is result and result.model is not None
    assert "test accuracy" in window.results.toPlainText()
    assert window.progress.format().startswith("Done")


def test_training_done_leaves_the_window_ready_to_train_again(qtbot, make_window, tiny_project):
    window = make_window(tiny_project(epochs=2))

    _train(qtbot, window)

    assert window.job is None
    assert window.train_button.isEnabled() and not window.stop_button.isEnabled()
    assert window.export_action.isEnabled() and window.export_history_action.isEnabled()
    assert _train(qtbot, window).reason == "completed"


def test_two_feature_data_shows_the_decision_boundary_after_training(qtbot, make_window, tiny_project):
    window = make_window(tiny_project(epochs=2))

    _train(qtbot, window)

    assert window.bottom_tabs.currentWidget() is window.preview
    assert window.preview.currentWidget() is window.preview.plot
    assert window.preview.boundary.image is not None
    assert "accuracy" in window.progress_label.text()


@pytest.mark.parametrize("how", ["stop button", "escape key"])
def test_stop_ends_training_with_reason_stopped(qtbot, make_window, tiny_project, how):
    window = make_window(tiny_project(epochs=500))
    window.activateWindow()
    qtbot.waitActive(window)

    with qtbot.waitSignal(window.training_done, timeout=TRAINING_TIMEOUT_MS) as done:
        qtbot.mouseClick(window.train_button, Qt.LeftButton)
        _wait_until_training_reports(qtbot, window)
        assert window.stop_button.isEnabled() and window.stop_action.isEnabled()
        if how == "stop button":
            qtbot.mouseClick(window.stop_button, Qt.LeftButton)
        else:
            qtbot.keyClick(window.network_editor, Qt.Key_Escape)

    result = done.args[0]
    assert result.reason == "stopped"
    assert result.epochs_run < 500
    assert "stopped" in window.progress.format()
    assert window.job is None and window.train_button.isEnabled()


def test_data_the_preview_does_not_show_is_trained_without_a_boundary_probe(qtbot, make_window, tiny_project):
    from datasets.registry import load_dataset

    window = make_window(tiny_project(epochs=2))  # the preview holds the xor grid
    window.dataset = load_dataset(dataclasses.replace(window.project.dataset, name="iris"))  # as the benchmark does

    result = _train(qtbot, window)

    assert result is not None and result.reason == "completed" and result.probe is None


def test_stop_action_stops_training(qtbot, make_window, tiny_project):
    window = make_window(tiny_project(epochs=500))

    with qtbot.waitSignal(window.training_done, timeout=TRAINING_TIMEOUT_MS) as done:
        assert window.start_training()
        _wait_until_training_reports(qtbot, window)
        window.stop_action.trigger()

    assert done.args[0].reason == "stopped"


def test_changing_the_data_set_mid_training_keeps_the_old_boundary_off_the_new_data(qtbot, make_window, tiny_project):
    window = make_window(tiny_project(epochs=500))
    combo = window.data_panel.name_combo

    with qtbot.waitSignal(window.training_done, timeout=TRAINING_TIMEOUT_MS) as done:
        qtbot.mouseClick(window.train_button, Qt.LeftButton)
        _wait_until_training_reports(qtbot, window)
        with qtbot.waitSignal(window.dataset_ready, timeout=30_000):
            combo.setCurrentIndex(combo.findData("gauss"))
        assert not window.train_button.isEnabled()  # still one job at a time
        qtbot.mouseClick(window.stop_button, Qt.LeftButton)

    assert done.args[0].reason == "stopped"
    assert window.preview.dataset.name == "gauss"
    assert window.preview.boundary.image is None
    assert window.train_button.isEnabled()


def test_closing_mid_training_stops_and_waits_for_the_thread(qtbot, make_window, tiny_project):
    window = make_window(tiny_project(epochs=500))
    qtbot.mouseClick(window.train_button, Qt.LeftButton)
    _wait_until_training_reports(qtbot, window)
    job = window.job

    started = time.perf_counter()
    window.close()
    seconds = time.perf_counter() - started

    assert seconds < 10, f"closing took {seconds:.1f} s"
    assert job.isFinished()
    assert window.job is None or window.job.isFinished()
    assert not window.isVisible()


def test_closing_while_the_data_loads_waits_for_the_loader(qtbot, make_window, tiny_project):
    window = make_window(tiny_project(), wait=False)
    jobs = list(window._jobs)

    window.close()

    assert all(job.isFinished() for job in jobs)


def test_undo_and_redo_a_units_edit_with_the_keyboard(qtbot, make_window, tiny_project):
    window = make_window(tiny_project())
    window.activateWindow()
    qtbot.waitActive(window)
    spin = window.network_editor.layer_cards()[0].units

    _type_number(qtbot, spin, "9")
    assert window.project.layers[0].units == 9
    assert window.undo_action.text() == "&Undo units of layer 1 → 9"

    # The keys go where the user's focus still is: the spin box just typed in.
    assert QApplication.focusWidget() is spin
    qtbot.keyClick(spin, Qt.Key_Z, Qt.ControlModifier)
    assert window.project.layers[0].units == 4
    assert spin.value() == 4
    assert not window.windowTitle().endswith("*")

    qtbot.keyClick(spin, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert window.project.layers[0].units == 9
    assert spin.value() == 9

    qtbot.keyClick(window.network_editor, Qt.Key_Z, Qt.ControlModifier)
    qtbot.keyClick(window.network_editor, Qt.Key_Y, Qt.ControlModifier)
    assert window.project.layers[0].units == 9


def test_undo_restores_training_and_data_panels(qtbot, make_window, tiny_project):
    window = make_window(tiny_project())
    epochs = window.training_panel.editor("training", "epochs")
    samples = window.data_panel.samples

    _type_number(qtbot, epochs, "7")
    with qtbot.waitSignal(window.dataset_ready, timeout=30_000):
        _type_number(qtbot, samples, "200")
    assert window.project.training.epochs == 7 and window.project.dataset.samples == 200
    assert len(window.dataset.x_train) + len(window.dataset.x_test) == 200

    with qtbot.waitSignal(window.dataset_ready, timeout=30_000):
        window.undo_action.trigger()
    assert samples.value() == 100 and window.project.dataset.samples == 100
    assert len(window.dataset.x_train) + len(window.dataset.x_test) == 100
    window.undo_action.trigger()
    assert epochs.value() == 3 and window.project.training.epochs == 3
    assert not window.undo_action.isEnabled()

    window.redo_action.trigger()
    assert epochs.value() == 7


def test_save_then_open_gives_the_same_project(qtbot, make_window, tiny_project, tmp_path):
    window = make_window(tiny_project())
    qtbot.mouseClick(window.network_editor.add_buttons["dropout"], Qt.LeftButton)
    _type_number(qtbot, window.training_panel.editor("training", "epochs"), "11")
    saved = project_to_dict(window.project)
    path = tmp_path / "项目.json"

    assert window.save_project_to(str(path))
    assert not window.windowTitle().endswith("*") and "项目.json" in window.windowTitle()

    qtbot.mouseClick(window.network_editor.add_buttons["dense"], Qt.LeftButton)
    assert project_to_dict(window.project) != saved
    assert window.open_project(str(path))
    assert project_to_dict(window.project) == saved
    assert [card.kind for card in window.network_editor.layer_cards()] == ["dense", "dropout"]
    assert window.training_panel.editor("training", "epochs").value() == 11
    assert not window.undo_action.isEnabled()


def test_opening_a_broken_project_file_is_a_message(qtbot, make_window, tiny_project, tmp_path, dismiss_messages):
    window = make_window(tiny_project())
    before = project_to_dict(window.project)
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="utf-8")

    with qtbot.waitSignal(window.message_shown) as shown:
        assert not window.open_project(str(path))

    assert "broken.json" in shown.args[0] and "not valid JSON" in shown.args[0]
    assert project_to_dict(window.project) == before
    assert dismiss_messages(window) == [shown.args[0]]


def test_export_keras_model_and_history(qtbot, make_window, tiny_project, tmp_path):
    import keras

    window = make_window(tiny_project(epochs=2))
    result = _train(qtbot, window)
    path = tmp_path / "model.keras"

    job = window.export_model("keras", str(path))
    with qtbot.waitSignal(job.succeeded, timeout=TRAINING_TIMEOUT_MS) as exported:
        pass

    assert exported.args[0] == [path, tmp_path / "preprocessing.json"]
    loaded = keras.saving.load_model(path)
    x = window.dataset.x_test[:16]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), result.model.predict(x, verbose=0), atol=1e-5)

    history = tmp_path / "history.csv"
    assert window.export_history(str(history))
    rows = list(csv.DictReader(history.open(encoding="utf-8")))
    assert len(rows) == 2
    assert {"epoch", "loss", "val_loss"} <= set(rows[0])


def test_export_after_editing_the_network_writes_the_trained_one(qtbot, make_window, tiny_project, tmp_path):
    window = make_window(tiny_project(epochs=2))
    _train(qtbot, window)
    _type_number(qtbot, window.network_editor.layer_cards()[0].units, "30")  # the panels move on

    for fmt, name in (("weights", "model.weights.h5"), ("python", "train.py")):
        job = window.export_model(fmt, str(tmp_path / name))
        with qtbot.waitSignal(job.succeeded, timeout=TRAINING_TIMEOUT_MS):
            pass

    script = (tmp_path / "train.py").read_text(encoding="utf-8")
    assert "keras.layers.Dense(4," in script and "keras.layers.Dense(30," not in script


def test_exports_wait_for_a_trained_model(qtbot, make_window, tiny_project, tmp_path, dismiss_messages):
    window = make_window(tiny_project())
    assert not window.export_action.isEnabled()

    with qtbot.waitSignal(window.message_shown) as shown:
        assert window.export_model("keras", str(tmp_path / "model.keras")) is None
    assert "train" in shown.args[0]
    assert not window.export_history(str(tmp_path / "history.csv"))
    assert not (tmp_path / "model.keras").exists() and not (tmp_path / "history.csv").exists()
    dismiss_messages(window)


def test_export_failure_is_a_message(qtbot, make_window, tiny_project, tmp_path, dismiss_messages):
    window = make_window(tiny_project(epochs=2))
    _train(qtbot, window)

    with qtbot.waitSignal(window.message_shown, timeout=TRAINING_TIMEOUT_MS) as shown:
        job = window.export_model("keras", str(tmp_path / "model.txt"))
    job.wait()

    assert shown.args[0].startswith("Export failed")
    dismiss_messages(window)


def test_bad_csv_is_a_message_and_the_window_carries_on(qtbot, make_window, tiny_project, tmp_path, dismiss_messages):
    from dataclasses import replace

    window = make_window(tiny_project(epochs=2))
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\x00\x01\x02\xff\xfe" * 200)
    project = window.project.copy()
    project.dataset = replace(project.dataset, name="csv", data_file=str(bad), target="y")

    with qtbot.waitSignal(window.message_shown, timeout=30_000) as shown:
        window.record_edit(project, "data file → bad.csv")

    sentence = shown.args[0]
    assert sentence.startswith("Could not load the data") and sentence.endswith(".")
    assert "Traceback" not in sentence
    assert window.dataset is None and not window.train_button.isEnabled()
    assert "Could not load" in window.data_panel.status.text()
    assert dismiss_messages(window) == [sentence]

    combo = window.data_panel.name_combo
    with qtbot.waitSignal(window.dataset_ready, timeout=30_000):
        combo.setCurrentIndex(combo.findData("gauss"))
    assert window.project.dataset.name == "gauss"
    assert window.train_button.isEnabled()
    assert _train(qtbot, window).reason == "completed"


def test_training_refused_with_a_sentence_while_the_project_is_invalid(qtbot, make_window, tiny_project, dismiss_messages):
    project = tiny_project()
    project.optimizer.clipnorm = 1.0
    project.optimizer.clipvalue = 1.0
    window = make_window(project)

    with qtbot.waitSignal(window.message_shown) as shown:
        qtbot.mouseClick(window.train_button, Qt.LeftButton)

    assert shown.args[0].startswith("Cannot train yet") and "clip" in shown.args[0]
    assert window.job is None
    dismiss_messages(window)


def test_devices_reach_the_training_panel_and_status_bar(qtbot, make_window, tiny_project):
    from models.training.devices import DeviceOption

    window = make_window(tiny_project())
    window.set_devices([DeviceOption("auto", "Auto (GPU 0)"), DeviceOption("cpu", "CPU"),
                        DeviceOption("gpu:0", "GPU 0: Test card")])

    combo = window.training_panel.editor("training", "device")
    assert [combo.itemData(i) for i in range(combo.count())] == ["auto", "cpu", "gpu:0"]
    assert "GPU 0: Test card" in window.device_label.text()
    combo.setCurrentIndex(2)
    assert window.project.training.device == "gpu:0"
    assert window.undo_stack.undoText() == "device → GPU 0: Test card"


def test_the_last_run_stays_dashed_only_while_it_is_comparable(qtbot, make_window, tiny_project):
    window = make_window(tiny_project(epochs=2))
    _train(qtbot, window)
    assert window.charts.previous_data("loss")[0].size == 0  # nothing before the first run
    first_losses = window.charts.raw_data("loss")[1]
    _train(qtbot, window)
    assert list(window.charts.previous_data("loss")[1]) == pytest.approx(list(first_losses))
    second_losses = window.charts.raw_data("loss")[1]

    with qtbot.waitSignal(window.training_done, timeout=TRAINING_TIMEOUT_MS):
        assert window.start_cross_validation(2)
    last_fold_losses = window.charts.raw_data("loss")[1]
    assert list(last_fold_losses) != pytest.approx(list(second_losses))
    _train(qtbot, window)  # after cross-validation: compared with the last run, not the last fold
    assert list(window.charts.previous_data("loss")[1]) == pytest.approx(list(second_losses))

    other = window.project.copy()
    other.dataset = dataclasses.replace(other.dataset, name="circles")
    with qtbot.waitSignal(window.dataset_ready, timeout=30_000):
        window.apply_project(other)
    _train(qtbot, window)  # other data: the xor runs are no yardstick
    assert window.charts.previous_data("loss")[0].size == 0
