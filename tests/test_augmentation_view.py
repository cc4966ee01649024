"""The Augmentation tab and the Residual box in the window: they follow the project's edits."""

import pyqtgraph as pg

from models.network.spec import AugmentationSpec


def test_the_augmentation_tab_shows_images_and_their_draws_and_follows_an_edit(qtbot, make_window, tiny_project):
    project = tiny_project("digits")
    window = make_window(project)
    view = window.augmentation_view
    window.bottom_tabs.setCurrentWidget(view)
    view.draw()
    assert "Augmentation is off" in view.note.text() and view.samples is None
    edited = window.project.copy()
    edited.augmentation = AugmentationSpec(shift=0.125, rotate=10)
    window.record_edit(edited, "augment")
    qtbot.waitUntil(lambda: view.samples is not None, timeout=5000)  # redrawn after the edit
    images = [item for item in view.canvas.scene().items() if isinstance(item, pg.ImageItem)]
    assert len(images) == 6 * 4 and view.samples.image_shape == (8, 8)  # six images, each with three draws
    before = view.samples.augmented.copy()
    view.redraw_button.click()
    assert (view.samples.augmented != before).any()
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: view.samples is None, timeout=5000)


def test_moving_points_in_the_tab_is_a_sentence(make_window, tiny_project):
    window = make_window(tiny_project("moons"))
    view = window.augmentation_view
    window.bottom_tabs.setCurrentWidget(view)
    window.project.augmentation = AugmentationSpec(rotate=10)  # as a hand-edited project file could hold
    view.draw()
    assert "rows are not images: use augmentation noise instead" in view.note.text()


def test_the_residual_box_is_an_undoable_edit_that_counts_the_projection(make_window, tiny_project):
    window = make_window(tiny_project("xor"))
    card = window.network_editor._cards[0]
    before = window.network_editor._total_label.text()
    card.residual.setChecked(True)
    assert window.project.layers[0].residual
    assert window.network_editor._total_label.text() != before  # 2 inputs × 4 units of projection more
    assert card.count_label.text() == "20 params"  # 2 × 4 + 4 biases + the projection 2 × 4
    assert "+ the residual projection 2 × 4 = 20 parameters" in card.count_label.toolTip()
    assert card.residual.text() == "Residual, projected 2→4"  # the card says the skip goes through P
    window.undo_stack.undo()
    assert not window.project.layers[0].residual and not card.residual.isChecked()
