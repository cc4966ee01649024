"""The Lessons tab: a lesson's page, a step trained from its button, the claim checked in the background."""

TIMEOUT_MS = 240_000


def test_a_lessons_step_sets_the_project_trains_and_can_be_undone(qtbot, make_window):
    window = make_window()
    view = window.experiments.lessons
    window.bottom_tabs.setCurrentWidget(view)
    view.list.setCurrentRow([lesson.id for lesson in view.lessons].index("optimizers"))
    assert "What the notes say" in view.page.toPlainText() and "Adam" in view.page.toPlainText()
    assert [button.text() for button in view.step_buttons] == ["▶  1. SGD", "▶  2. Adam"]
    before = window.project.optimizer.name
    with qtbot.waitSignal(window.training_done, timeout=TIMEOUT_MS):
        view.step_buttons[1].click()
    assert window.project.optimizer.name == "adam" and window.project.training.epochs == 20
    assert [layer.units for layer in window.project.layers] == [64, 64, 64]
    assert window.result is not None and len(window.result.history["loss"]) == 20
    window.undo_stack.undo()
    assert window.project.optimizer.name == before


def test_checking_a_lessons_claim_runs_its_steps_and_says_it_held(qtbot, make_window):
    window = make_window()
    view = window.experiments.lessons
    view.list.setCurrentRow([lesson.id for lesson in view.lessons].index("dying_relu"))
    assert view.check_claim()
    assert not window.train_button.isEnabled()
    with qtbot.waitSignal(view.running_changed, timeout=TIMEOUT_MS, check_params_cb=lambda running: not running):
        pass
    assert view.status.text().startswith("The claim held.")
    assert "✓ relu: the diagnosis finds dying_relu" in view.status.text()
    assert window.train_button.isEnabled()
