"""The network editor: driven through its real widgets, the way a student uses it."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QWheelEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QComboBox, QDoubleSpinBox, QSpinBox, QWidget  # noqa: E402

from gui.network_editor import LAYER_MIME_TYPE, NetworkEditor  # noqa: E402
from models.network.params import count_parameters, total_parameters  # noqa: E402
from models.network.spec import BatchNormLayer, DenseLayer, DropoutLayer, Project  # noqa: E402

OUTPUT_TEXT = "Dense(2, softmax) · loss: categorical cross-entropy"


def _project(*layers) -> Project:
    return Project(layers=list(layers))


def _kinds(project: Project) -> list[str]:
    return [layer.kind for layer in project.layers]


@pytest.fixture
def make_editor(qtbot):
    """Builds a shown editor holding the given layers, for 2 features and 2 outputs."""

    def make(*layers) -> NetworkEditor:
        editor = NetworkEditor()
        qtbot.addWidget(editor)
        editor.set_project(_project(*layers))
        editor.set_data_shape(2, 2, OUTPUT_TEXT)
        editor.resize(420, 700)
        editor.show()
        qtbot.waitExposed(editor)
        return editor

    return make


@pytest.fixture
def editor(make_editor) -> NetworkEditor:
    return make_editor(DenseLayer(8, "tanh"), DenseLayer(8, "tanh"))


def _drag_over(editor: NetworkEditor, mime, y: float) -> QWidget:
    """Sends drag-enter and drag-move as Qt does: to the widget under the pointer, at height ``y`` of the column."""
    column = editor._column
    point = QPoint(column.width() // 2, int(y))
    receiver = column.childAt(point) or column
    local = receiver.mapFrom(column, point)  # QPoint: PySide6 6.11 takes no QPointF here
    for event_type in (QDragEnterEvent, QDragMoveEvent):
        event = event_type(
            local,
            Qt.DropAction.MoveAction,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(receiver, event)
    return receiver


def _drag_and_drop(editor: NetworkEditor, card_index: int, gap: int) -> None:
    """Drags a card's data over the gap ``gap`` (an arrow between cards) and drops it there."""
    column = editor._column
    mime = editor.layer_cards()[card_index].drag_mime_data()
    y = column.gaps[gap].geometry().center().y()
    receiver = _drag_over(editor, mime, y)
    assert column._indicator.isVisible()
    point = receiver.mapFrom(column, QPoint(column.width() // 2, y))
    drop = QDropEvent(
        QPointF(point),
        Qt.DropAction.MoveAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(receiver, drop)
    assert not column._indicator.isVisible()


def test_plus_dense_button_adds_a_dense_layer(qtbot, editor):
    with qtbot.waitSignal(editor.changed, timeout=1000) as blocker:
        qtbot.mouseClick(editor.add_buttons["dense"], Qt.MouseButton.LeftButton)
    project, description = blocker.args
    assert isinstance(project, Project)
    assert _kinds(project) == ["dense", "dense", "dense"]
    assert description == "add Dense layer"
    assert len(editor.layer_cards()) == 3
    assert editor.selected_index() == 2


def test_dropout_and_batchnorm_buttons_add_before_the_output(qtbot, editor):
    with qtbot.waitSignal(editor.changed, timeout=1000) as blocker:
        qtbot.mouseClick(editor.add_buttons["dropout"], Qt.MouseButton.LeftButton)
    assert blocker.args[1] == "add Dropout layer"
    with qtbot.waitSignal(editor.changed, timeout=1000) as blocker:
        qtbot.mouseClick(editor.add_buttons["batchnorm"], Qt.MouseButton.LeftButton)
    assert blocker.args[1] == "add BatchNorm layer"
    assert _kinds(blocker.args[0]) == ["dense", "dense", "dropout", "batchnorm"]
    assert editor.add_buttons["dense"].text() == "+ Dense"
    assert "Dropout" in editor.add_buttons["dropout"].toolTip()


def test_emitted_project_is_a_new_copy(qtbot, editor):
    given = _project(DenseLayer(8, "tanh"))
    editor.set_project(given)
    with qtbot.waitSignal(editor.changed, timeout=1000) as blocker:
        qtbot.mouseClick(editor.add_buttons["dense"], Qt.MouseButton.LeftButton)
    first = blocker.args[0]
    assert len(given.layers) == 1
    with qtbot.waitSignal(editor.changed, timeout=1000):
        qtbot.mouseClick(editor.add_buttons["dense"], Qt.MouseButton.LeftButton)
    assert len(first.layers) == 2


def test_typing_units_emits_once_on_enter(qtbot, editor):
    spin = editor.layer_cards()[1].findChild(QSpinBox, "units")
    seen = []
    editor.changed.connect(lambda project, text: seen.append((project, text)))
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, "128")
    assert seen == []
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert len(seen) == 1
    project, description = seen[0]
    assert description == "units of layer 2 → 128"
    assert project.layers[1].units == 128
    assert project.layers[0].units == 8


def test_units_through_value_and_editing_finished(qtbot, editor):
    spin = editor.layer_cards()[0].findChild(QSpinBox, "units")
    with qtbot.waitSignal(editor.changed, timeout=1000) as blocker:
        spin.setValue(16)
        spin.editingFinished.emit()
    assert blocker.args[1] == "units of layer 1 → 16"
    assert blocker.args[0].layers[0].units == 16


def test_activation_combo_and_leaky_slope(qtbot, editor):
    card = editor.layer_cards()[0]
    combo = card.findChild(QComboBox, "activation")
    slope = card.findChild(QDoubleSpinBox, "negative_slope")
    assert not slope.isVisible()
    assert combo.itemData(combo.findText("relu"), Qt.ItemDataRole.ToolTipRole).startswith("ReLU")
    with qtbot.waitSignal(editor.changed, timeout=1000) as blocker:
        combo.setCurrentIndex(combo.findText("leaky_relu"))
    assert blocker.args[1] == "activation of layer 1 → leaky_relu"
    assert blocker.args[0].layers[0].activation == "leaky_relu"
    assert slope.isVisible()
    with qtbot.waitSignal(editor.changed, timeout=1000) as blocker:
        slope.setValue(0.1)
    assert blocker.args[1] == "leaky slope of layer 1 → 0.1"
    with qtbot.waitSignal(editor.changed, timeout=1000):
        combo.setCurrentIndex(combo.findText("relu"))
    assert not slope.isVisible()


def test_leaky_slope_shown_for_a_loaded_leaky_layer(make_editor):
    editor = make_editor(DenseLayer(8, "relu"), DenseLayer(8, "leaky_relu", negative_slope=0.3))
    first, second = editor.layer_cards()
    assert not first.findChild(QDoubleSpinBox, "negative_slope").isVisible()
    slope = second.findChild(QDoubleSpinBox, "negative_slope")
    assert slope.isVisible()
    assert slope.value() == pytest.approx(0.3)


def test_other_dense_settings(qtbot, editor):
    card = editor.layer_cards()[0]
    with qtbot.waitSignal(editor.changed, timeout=1000) as blocker:
        combo = card.findChild(QComboBox, "kernel_initializer")
        combo.setCurrentIndex(combo.findText("he_normal"))
    assert blocker.args[1] == "initializer of layer 1 → he_normal"
    with qtbot.waitSignal(editor.changed, timeout=1000) as blocker:
        card.findChild(QDoubleSpinBox, "l2").setValue(0.0001)
    assert blocker.args[1] == "L2 of layer 1 → 0.0001"
    assert blocker.args[0].layers[0].l2 == pytest.approx(1e-4)
    with qtbot.waitSignal(editor.changed, timeout=1000) as blocker:
        qtbot.mouseClick(
            card.use_bias, Qt.MouseButton.LeftButton, pos=QPoint(6, card.use_bias.height() // 2)
        )
    assert blocker.args[1] == "bias of layer 1 → off"
    assert blocker.args[0].layers[0].use_bias is False
    assert card.count_label.text() == "16 params"



def test_dropout_rate_and_batchnorm_momentum(qtbot, make_editor):
    editor = make_editor(DenseLayer(8), DropoutLayer(0.2), BatchNormLayer())
    dropout, batchnorm = editor.layer_cards()[1:]
    with qtbot.waitSignal(editor.changed, timeout=1000) as blocker:
        dropout.findChild(QDoubleSpinBox, "rate").setValue(0.5)
    assert blocker.args[1] == "dropout rate of layer 2 → 0.5"
    assert blocker.args[0].layers[1].rate == pytest.approx(0.5)
    assert dropout.findChild(QDoubleSpinBox, "rate").maximum() == pytest.approx(0.95)
    with qtbot.waitSignal(editor.changed, timeout=1000) as blocker:
        batchnorm.findChild(QDoubleSpinBox, "momentum").setValue(0.9)
    assert blocker.args[1] == "batch-norm momentum of layer 3 → 0.9"
    assert batchnorm.count_label.text() == "32 params"


def test_remove_button(qtbot, make_editor):
    editor = make_editor(DenseLayer(8), DropoutLayer(0.3))
    with qtbot.waitSignal(editor.changed, timeout=1000) as blocker:
        qtbot.mouseClick(editor.layer_cards()[0].remove_button, Qt.MouseButton.LeftButton)
    project, description = blocker.args
    assert description == "remove layer 1"
    assert _kinds(project) == ["dropout"]
    assert len(editor.layer_cards()) == 1
    assert editor.layer_cards()[0].number_label.text() == "layer 1"


def test_duplicate_button(qtbot, make_editor):
    editor = make_editor(DenseLayer(8), DenseLayer(32, "elu", l1=0.001))
    with qtbot.waitSignal(editor.changed, timeout=1000) as blocker:
        qtbot.mouseClick(editor.layer_cards()[1].duplicate_button, Qt.MouseButton.LeftButton)
    project, description = blocker.args
    assert description == "duplicate layer 2"
    assert project.layers[2] == project.layers[1]
    assert project.layers[2] is not project.layers[1]
    assert editor.layer_cards()[2].findChild(QSpinBox, "units").value() == 32


def test_move_buttons(qtbot, make_editor):
    editor = make_editor(DenseLayer(8), DropoutLayer(0.3), BatchNormLayer())
    first = editor.layer_cards()[0]
    assert not first.up_button.isEnabled()
    assert not editor.layer_cards()[2].down_button.isEnabled()
    with qtbot.waitSignal(editor.changed, timeout=1000) as blocker:
        qtbot.mouseClick(first.down_button, Qt.MouseButton.LeftButton)
    assert blocker.args[1] == "move layer 1 down"
    assert _kinds(blocker.args[0]) == ["dropout", "dense", "batchnorm"]
    assert editor.layer_cards()[1] is first
    assert first.up_button.isEnabled()
    with qtbot.waitSignal(editor.changed, timeout=1000) as blocker:
        qtbot.mouseClick(editor.layer_cards()[2].up_button, Qt.MouseButton.LeftButton)
    assert blocker.args[1] == "move layer 3 up"
    assert _kinds(blocker.args[0]) == ["dropout", "batchnorm", "dense"]


def test_drop_handler_moves_the_dragged_card(qtbot, make_editor):
    editor = make_editor(DenseLayer(8), DropoutLayer(0.3), BatchNormLayer())
    # Drop the first card into the gap below the last one.
    with qtbot.waitSignal(editor.changed, timeout=1000) as blocker:
        _drag_and_drop(editor, 0, 3)
    assert blocker.args[1] == "move layer 1 to position 3"
    assert _kinds(blocker.args[0]) == ["dropout", "batchnorm", "dense"]
    assert [card.kind for card in editor.layer_cards()] == ["dropout", "batchnorm", "dense"]
    # Drop the last card above the first.
    with qtbot.waitSignal(editor.changed, timeout=1000) as blocker:
        _drag_and_drop(editor, 2, 0)
    assert _kinds(blocker.args[0]) == ["dense", "dropout", "batchnorm"]


def test_pressing_and_moving_on_a_card_starts_a_drag(qtbot, monkeypatch, editor):
    card = editor.layer_cards()[1]
    started = []
    monkeypatch.setattr(card, "start_drag", lambda: started.append(card.index()))
    grip = card.handle.geometry().center()
    qtbot.mousePress(card, Qt.MouseButton.LeftButton, pos=grip)
    assert editor.selected_index() == 1
    qtbot.mouseMove(card, grip + QPoint(0, 40))
    qtbot.mouseRelease(card, Qt.MouseButton.LeftButton, pos=grip + QPoint(0, 40))
    assert started == [1]
    assert card.drag_mime_data().data(LAYER_MIME_TYPE).data() == b"1"


def test_drop_in_place_or_foreign_data_changes_nothing(qtbot, make_editor):
    editor = make_editor(DenseLayer(8), DropoutLayer(0.3))
    with qtbot.assertNotEmitted(editor.changed):
        _drag_and_drop(editor, 0, 0)
        _drag_and_drop(editor, 0, 1)
    # A layer position this editor does not have is refused at the door and never dropped.
    mime = editor.layer_cards()[0].drag_mime_data()
    mime.setData(LAYER_MIME_TYPE, b"7")
    enter = QDragEnterEvent(
        QPoint(10, 10),
        Qt.DropAction.MoveAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(editor._column, enter)
    assert not enter.isAccepted()
    drop = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.MoveAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.assertNotEmitted(editor.changed):
        editor._column.dropEvent(drop)
    assert not drop.isAccepted()


def test_drop_gap_follows_card_positions(make_editor):
    editor = make_editor(DenseLayer(8), DropoutLayer(0.3), BatchNormLayer())
    column = editor._column
    cards = editor.layer_cards()
    assert column.gap_at(cards[0].geometry().top() + 2) == 0
    assert column.gap_at(cards[1].geometry().bottom() - 2) == 2
    assert column.gap_at(column.height()) == 3


def test_total_matches_count_parameters(editor):
    # (2·8 + 8) + (8·8 + 8) + (8·2 + 2) = 24 + 72 + 18
    rows = count_parameters(editor.project(), 2, 2)
    assert total_parameters(rows) == 114
    assert editor.total_text() == "Total: 114 parameters (114 trainable)"
    cards = editor.layer_cards()
    assert cards[0].count_label.text() == "24 params"
    assert cards[1].count_label.text() == "72 params"
    assert editor.output_card().count_label.text() == "18 params"


def test_total_counts_untrained_batchnorm_statistics(qtbot, editor):
    with qtbot.waitSignal(editor.changed, timeout=1000):
        qtbot.mouseClick(editor.add_buttons["batchnorm"], Qt.MouseButton.LeftButton)
    # 114 + γ, β (16 trained) + moving mean and variance (16 not trained)
    assert editor.total_text() == "Total: 146 parameters (130 trainable)"


def test_total_updates_live(qtbot, editor):
    spin = editor.layer_cards()[0].findChild(QSpinBox, "units")
    with qtbot.waitSignal(editor.changed, timeout=1000):
        spin.setValue(16)
    rows = count_parameters(editor.project(), 2, 2)
    assert (
        editor.total_text()
        == f"Total: {total_parameters(rows):,} parameters ({total_parameters(rows):,} trainable)"
    )


def test_input_and_output_cards(editor):
    assert editor.input_card().summary() == "Input · 2 features"
    assert editor.output_card().summary() == f"Output · {OUTPUT_TEXT}"
    assert not hasattr(editor.input_card(), "remove_button")


def test_set_project_does_not_emit(qtbot, editor):
    with qtbot.assertNotEmitted(editor.changed):
        editor.set_project(_project(DenseLayer(4), DropoutLayer(0.1)))
        editor.set_project(_project(DenseLayer(5), DropoutLayer(0.2)))
        editor.set_data_shape(3, 4, "Dense(4, softmax)")
    assert editor.layer_cards()[0].findChild(QSpinBox, "units").value() == 5
    assert editor.total_text() == "Total: 44 parameters (44 trainable)"


def test_set_project_in_place_keeps_cards_and_half_typed_entry(qtbot, editor):
    cards = editor.layer_cards()
    spin = cards[1].findChild(QSpinBox, "units")
    editor.activateWindow()
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=1000)
    spin.selectAll()
    qtbot.keyClicks(spin, "12")
    editor.set_project(editor.project())
    assert editor.layer_cards() == cards
    assert spin.hasFocus()
    assert spin.text() == "12"
    # A change to another layer arrives (undo, say): this card's entry is still left alone.
    changed = editor.project()
    changed.layers[0].units = 4
    editor.set_project(changed)
    assert cards[0].findChild(QSpinBox, "units").value() == 4
    assert spin.text() == "12"
    with qtbot.waitSignal(editor.changed, timeout=1000) as blocker:
        qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert blocker.args[1] == "units of layer 2 → 12"
    assert blocker.args[0].layers[0].units == 4


def test_set_project_rebuilds_when_structure_changes(editor):
    old_cards = editor.layer_cards()
    editor.set_project(_project(DenseLayer(8), DropoutLayer(0.2)))
    assert [card.kind for card in editor.layer_cards()] == ["dense", "dropout"]
    assert editor.layer_cards()[1] is not old_cards[1]


def test_click_selects_and_delete_removes(qtbot, editor):
    card = editor.layer_cards()[1]
    qtbot.mouseClick(card, Qt.MouseButton.LeftButton, pos=QPoint(card.width() // 2, 8))
    assert editor.selected_index() == 1
    assert card.is_selected()
    assert not editor.layer_cards()[0].is_selected()
    with qtbot.waitSignal(editor.changed, timeout=1000) as blocker:
        qtbot.keyClick(card, Qt.Key.Key_Delete)
    assert blocker.args[1] == "remove layer 2"
    assert len(blocker.args[0].layers) == 1


def test_delete_inside_a_spin_box_edits_the_number(qtbot, editor):
    spin = editor.layer_cards()[0].findChild(QSpinBox, "units")
    editor.activateWindow()
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=1000)
    assert editor.selected_index() == 0
    with qtbot.assertNotEmitted(editor.changed):
        qtbot.keyClick(spin, Qt.Key.Key_Home)
        qtbot.keyClick(spin, Qt.Key.Key_Delete)
    assert len(editor.layer_cards()) == 2


def test_renders_four_layer_network(qtbot, make_editor, tmp_path):
    editor = make_editor(
        DenseLayer(64, "relu"), DropoutLayer(0.2), BatchNormLayer(), DenseLayer(32, "leaky_relu")
    )
    path = tmp_path / "network_editor.png"
    assert editor.grab().save(str(path))
    assert path.stat().st_size > 0
    # Nothing is squeezed sideways at a side-panel width.
    assert editor._column.minimumSizeHint().width() <= editor._scroll.viewport().width()
    assert editor.total_text() == "Total: 2,594 parameters (2,466 trainable)"


def test_wheel_over_an_unfocused_spin_box_scrolls_instead(qtbot, editor):
    spin = editor.layer_cards()[0].findChild(QSpinBox, "units")
    assert not spin.hasFocus()
    center = QPointF(spin.rect().center())
    wheel = QWheelEvent(
        center, QPointF(spin.mapToGlobal(center)), QPoint(0, 0), QPoint(0, 120),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
    )
    with qtbot.assertNotEmitted(editor.changed):
        QApplication.sendEvent(spin, wheel)
    assert spin.value() == 8
