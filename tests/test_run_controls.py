"""Pause, step and train on in the window, as a lecturer uses them (buttons and shortcuts)."""

import pytest
from PySide6.QtCore import Qt

from tests.test_main_window import TRAINING_TIMEOUT_MS, _train


def _counts(window) -> dict:
    return window.charts.points_count()


def test_stepping_from_idle_goes_one_epoch_then_one_batch_then_resumes(qtbot, make_window, tiny_project):
    window = make_window(tiny_project(epochs=3))
    controls = window.run_controls
    assert not controls.pause_button.isEnabled() and controls.step_epoch_button.isEnabled()
    assert not controls.more_button.isEnabled()  # nothing trained yet to go on from

    qtbot.mouseClick(controls.step_epoch_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: _counts(window)["epoch"] == 1 and controls.paused(), timeout=TRAINING_TIMEOUT_MS)
    assert window.job is not None and controls.pause_button.text().endswith("Resume")
    batches = _counts(window)["batch"]

    qtbot.keyClick(window, Qt.Key_F8, Qt.ShiftModifier)  # Run ▸ Step one batch
    qtbot.waitUntil(lambda: _counts(window)["batch"] == batches + 1, timeout=TRAINING_TIMEOUT_MS)
    assert controls.paused() and window.progress.format().startswith("Paused")
    assert _counts(window)["epoch"] == 1

    with qtbot.waitSignal(window.training_done, timeout=TRAINING_TIMEOUT_MS) as done:
        qtbot.mouseClick(controls.pause_button, Qt.LeftButton)  # Resume
    assert done.args[0].reason == "completed" and done.args[0].epochs_run == 3
    window.charts.redraw_now()
    assert _counts(window)["epoch"] == 3
    assert not controls.pause_button.isEnabled() and controls.more_button.isEnabled()


def test_train_more_goes_on_from_the_last_run_and_its_curves_continue(qtbot, make_window, tiny_project):
    window = make_window(tiny_project(epochs=3))
    first = _train(qtbot, window)
    window.run_controls.more_epochs.setValue(2)

    with qtbot.waitSignal(window.training_done, timeout=TRAINING_TIMEOUT_MS) as done:
        qtbot.keyClick(window, Qt.Key_M, Qt.ControlModifier)  # Run ▸ Train more
    more = done.args[0]
    assert more.model is first.model  # the same weights and optimizer, trained on
    assert more.epochs_run == 5 and len(more.history["loss"]) == 5
    assert more.history["loss"][:3] == first.history["loss"]
    assert int(more.model.optimizer.iterations) == 5 * window._run_info.steps_per_epoch
    window.charts.redraw_now()
    assert _counts(window)["epoch"] == 5
    x, _ = window.charts.curve_data("loss")
    assert list(x) == [1, 2, 3, 4, 5]


def test_train_more_after_the_network_changed_says_why_it_cannot(qtbot, make_window, tiny_project,
                                                                dismiss_messages):
    window = make_window(tiny_project(epochs=2))
    _train(qtbot, window)
    qtbot.mouseClick(window.network_editor.add_buttons["dense"], Qt.LeftButton)

    with qtbot.waitSignal(window.message_shown) as shown:
        qtbot.mouseClick(window.run_controls.more_button, Qt.LeftButton)
    assert "changed since that run" in shown.args[0]
    assert window.job is None
    dismiss_messages(window)


def test_pause_holds_a_run_until_resumed_and_stop_still_ends_it(qtbot, make_window, tiny_project):
    window = make_window(tiny_project(epochs=100_000))
    controls = window.run_controls
    qtbot.mouseClick(window.train_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: _counts(window)["epoch"] >= 1, timeout=TRAINING_TIMEOUT_MS)

    qtbot.keyClick(window, Qt.Key_P, Qt.ControlModifier)  # Run ▸ Pause
    assert controls.paused() and controls.pause_action.text() == "&Resume"
    qtbot.keyClick(window, Qt.Key_P, Qt.ControlModifier)  # Run ▸ Resume
    assert not controls.paused()
    qtbot.keyClick(window, Qt.Key_P, Qt.ControlModifier)
    with qtbot.waitSignal(window.training_done, timeout=TRAINING_TIMEOUT_MS) as done:
        qtbot.mouseClick(window.stop_button, Qt.LeftButton)  # a paused run stops at once
    assert done.args[0].reason == "stopped"


@pytest.mark.prepare_ahead
def test_the_window_prepares_the_edited_network_so_train_finds_it_built(qtbot, make_window, tiny_project):
    from models.training.model_cache import MODELS

    MODELS.clear()
    window = make_window(tiny_project(epochs=2))
    qtbot.waitUntil(lambda: window.preparation.prepared == 1 and window.preparation.job is None,
                    timeout=TRAINING_TIMEOUT_MS)
    (prepared,) = MODELS._models.values()
    result = _train(qtbot, window)
    assert result.model is prepared.model  # trained without building or tracing anew

    qtbot.mouseClick(window.network_editor.add_buttons["dense"], Qt.LeftButton)  # an edit: another network
    qtbot.waitUntil(lambda: window.preparation.prepared == 2, timeout=TRAINING_TIMEOUT_MS)
    assert len(MODELS) == 2
    MODELS.clear()
