"""Cross-validation from the window: the dialog, the folds' table, the progress and a stop."""

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QInputDialog

from models.training.crossval import CrossValidationResult

TIMEOUT_MS = 90_000


def _answer_fold_dialog(folds: int) -> QTimer:
    """Answers the folds dialog as a user would once it opens: types K and presses OK."""
    timer = QTimer()
    timer.setInterval(10)

    def answer():
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, QInputDialog):
            timer.stop()
            dialog.setIntValue(folds)
            dialog.accept()

    timer.timeout.connect(answer)
    timer.start()
    return timer


def test_cross_validate_button_runs_k_folds_and_tabulates_their_scores(qtbot, make_window, tiny_project):
    window = make_window(tiny_project(epochs=3))
    fold_formats = []
    timer = _answer_fold_dialog(3)
    with qtbot.waitSignal(window.training_done, timeout=TIMEOUT_MS) as done:
        qtbot.mouseClick(window.crossval_button, Qt.LeftButton)
        assert window.job is not None and not window.crossval_button.isEnabled()
        window.job.epoch_ended.connect(lambda _result: fold_formats.append(window.progress.format()))
    timer.stop()

    outcome = done.args[0]
    assert isinstance(outcome, CrossValidationResult)
    assert outcome.complete and [fold.fold for fold in outcome.results] == [1, 2, 3]
    assert sum(fold.held_out_rows for fold in outcome.results) == len(window.dataset.x_train)
    assert fold_formats[0].startswith("fold 1/3 · epoch") and fold_formats[-1].startswith("fold 3/3 · epoch")
    text = window.results.toPlainText()
    assert "3-fold cross-validation" in text and "All 3 folds done" in text and "mean ± sd" in text
    assert f"{outcome.mean('accuracy'):.4f} ± {outcome.std('accuracy'):.4f}" in text
    assert window.bottom_tabs.currentWidget() is window.results_page
    assert window.progress.format() == "Done: cross-validated on 3 folds"
    assert window.result is None and not window.export_action.isEnabled()  # K models, none to export
    assert window.crossval_button.isEnabled() and window.train_button.isEnabled()
    assert int(window.settings.value("cross_validation_folds")) == 3  # the dialog offers it next time


def test_stopping_cross_validation_keeps_the_folds_done(qtbot, make_window, tiny_project):
    window = make_window(tiny_project(epochs=100_000))  # a fold this long cannot end before the stop
    with qtbot.waitSignal(window.training_done, timeout=TIMEOUT_MS) as done:
        assert window.start_cross_validation(4)
        qtbot.waitUntil(lambda: window.charts.points_count()["batch"] > 0, timeout=TIMEOUT_MS)
        qtbot.mouseClick(window.stop_button, Qt.LeftButton)

    outcome = done.args[0]
    assert outcome.stopped and outcome.results == []  # the first fold was cut short: no score
    assert "Stopped: 0 of 4 folds done" in window.results.toPlainText()
    assert window.job is None and window.train_button.isEnabled()


@pytest.mark.parametrize("folds", [1, 1000])
def test_an_impossible_fold_count_is_a_message(qtbot, make_window, tiny_project, dismiss_messages, folds):
    window = make_window(tiny_project(epochs=2))
    with qtbot.waitSignal(window.training_done, timeout=TIMEOUT_MS) as done:
        assert window.start_cross_validation(folds)
    assert done.args[0] is None
    assert any("folds" in text for text in dismiss_messages(window))
    assert window.train_button.isEnabled()
