"""The Lessons panel: the start page, a lesson's page, its steps run in the window (a run, K-fold, a sweep),
what they showed, their overlay, and the claim checked in the background."""

from PySide6.QtCore import QUrl

from gui.settings import AppSettings

TIMEOUT_MS = 240_000


def open_lesson(view, lesson_id: str) -> None:
    view.chooser.setCurrentIndex([lesson.id for lesson in view.lessons].index(lesson_id) + 1)


def test_the_panel_opens_on_its_start_page_at_the_first_launch_and_then_as_it_was_left(qtbot, make_window, tmp_path):
    first = make_window(settings=AppSettings(tmp_path / "settings"))
    view = first.experiments.lessons
    assert first.experiments.lessons_dock.isVisible() and view.lesson is None
    page = view.page.toHtml()
    assert "Welcome to Keras Trainer" in view.page.toPlainText()
    assert all(f'href="lesson:{lesson.id}"' in page for lesson in view.lessons) and len(view.lessons) == 15
    view._link_clicked(QUrl("lesson:kfold"))  # a click on the start page's link
    assert view.lesson.id == "kfold" and "K-fold" in view.page.toPlainText()
    first.experiments.lessons_dock.close()  # its × button
    first.close()
    second = make_window(settings=AppSettings(tmp_path / "settings"))
    assert not second.experiments.lessons_dock.isVisible()
    second.experiments.show_lessons()  # Help ▸ Lessons
    assert second.experiments.lessons_dock.isVisible()


def test_a_lessons_step_sets_the_project_trains_shows_its_figures_and_can_be_undone(qtbot, make_window):
    window = make_window()
    view = window.experiments.lessons
    open_lesson(view, "optimizers")
    assert "What the notes say" in view.page.toPlainText() and "Adam" in view.page.toPlainText()
    assert [button.text() for button in view.step_buttons] == [
        "▶  1. SGD", "▶  2. SGD + momentum 0.9", "▶  3. RMSprop", "▶  4. Adam"]
    assert not view.overlay_button.isEnabled()
    before = window.project.optimizer.name
    with qtbot.waitSignal(window.training_done, timeout=TIMEOUT_MS):
        view.step_buttons[3].click()
    assert window.project.optimizer.name == "adam" and window.project.training.epochs == 40
    assert [layer.units for layer in window.project.layers] == [64, 64, 64]
    assert window.result is not None and len(window.result.history["loss"]) == 40
    final_loss = window.result.history["loss"][-1]
    assert f"Adam: training loss = {final_loss:.4g}" in view.page.toPlainText()  # What your runs showed
    assert view.overlay_button.isEnabled()
    with qtbot.waitSignal(view.overlay_requested) as overlay:
        view.overlay_button.click()
    assert [label for label, _history in overlay.args[0]] == ["Adam"]
    assert [run.label for run in window.experiments.overlays.runs] == ["Adam"]
    window.undo_stack.undo()
    assert window.project.optimizer.name == before


def test_a_kfold_step_cross_validates_in_the_window_and_shows_the_folds_spread(qtbot, make_window):
    window = make_window()
    view = window.experiments.lessons
    open_lesson(view, "kfold")
    with qtbot.waitSignal(window.training_done, timeout=TIMEOUT_MS) as done:
        view.step_buttons[1].click()  # 5-fold cross-validation, once the iris flowers have loaded
    outcome = done.args[0]
    assert window.project.dataset.name == "iris" and len(outcome.results) == 5
    scores = [fold.scores["accuracy"] for fold in outcome.results]
    assert f"best fold's accuracy minus the worst's = {max(scores) - min(scores):.4g}" in view.page.toPlainText()


def test_a_sweep_step_runs_in_the_sweep_tab(qtbot, make_window):
    window = make_window()
    view, sweep = window.experiments.lessons, window.experiments.sweep
    open_lesson(view, "learning_rate_batch")
    view.step_buttons[1].click()  # the batch size: 8, 32, 128, 512
    qtbot.waitUntil(lambda: sweep.running, timeout=TIMEOUT_MS)
    assert window.chart_tabs.currentWidget() is sweep
    with qtbot.waitSignal(sweep.running_changed, timeout=TIMEOUT_MS, check_params_cb=lambda running: not running):
        pass
    assert [point.value for point in sweep.points] == [8, 32, 128, 512]
    assert window.project.dataset.name == "spiral" and window.project.optimizer.learning_rate == 0.01


def test_checking_a_lessons_claim_runs_its_steps_and_says_it_held(qtbot, make_window):
    window = make_window()
    view = window.experiments.lessons
    open_lesson(view, "dying_relu")
    assert view.check_claim()
    assert not window.train_button.isEnabled()
    open_lesson(view, "kfold")  # the learner looks at another lesson while the check trains
    with qtbot.waitSignal(view.running_changed, timeout=TIMEOUT_MS, check_params_cb=lambda running: not running):
        pass
    assert view.status.text().startswith("6. The claim held.")
    assert "✓ relu: the diagnosis finds" in view.status.text()
    assert "The claim held." not in view.page.toPlainText()  # the result is dying ReLU's, not K-fold's
    open_lesson(view, "dying_relu")
    assert "The claim held." in view.page.toPlainText()  # on its own page, for the report
    assert window.train_button.isEnabled()


def test_a_run_that_is_not_the_steps_own_is_not_taken_for_it(make_window):
    from types import SimpleNamespace

    window = make_window()
    view = window.experiments.lessons
    open_lesson(view, "optimizers")
    step = view.lesson.steps[0]
    view.step_started(step, view.lesson.project_for(step))
    other = window.project.copy()  # the step's data set failed to load, say, and the learner trained this
    view.step_finished(SimpleNamespace(history={"loss": [0.5]}), other, window.dataset)
    assert view.runs.step_runs == {} and view.pending is None and not view.overlay_button.isEnabled()


def test_save_report_of_a_lesson_holds_its_page_what_the_runs_showed_and_a_pdf(qtbot, make_window, tmp_path,
                                                                              monkeypatch):
    window = make_window()
    view = window.experiments.lessons
    open_lesson(view, "softmax_iris")
    with qtbot.waitSignal(window.training_done, timeout=TIMEOUT_MS):
        view.step_buttons[0].click()
    chosen = tmp_path / "lesson.html"
    monkeypatch.setattr("gui.report_export.QFileDialog.getSaveFileName", lambda *args: (str(chosen), ""))
    view.report_button.click()
    page = chosen.read_text(encoding="utf-8")
    assert "2. Softmax regression on iris" in page and "What the notes say" in page
    assert "What your runs showed" in page and "Train softmax regression: test accuracy = " in page
    assert "data:image/png;base64," in page  # the window's charts of the run
    assert chosen.with_suffix(".pdf").read_bytes().startswith(b"%PDF")
