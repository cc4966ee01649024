"""The network editor: the layer stack from input to output, one card per layer.

The editor keeps its own copy of the project. Every deliberate edit changes
that copy and emits ``changed(new_project, description)``; the window puts it
on its undo stack and may hand it straight back through
`NetworkEditor.set_project`. That call updates the cards in place while the
layer kinds are unchanged, so a spin box the student is typing in keeps its
focus and caret; only adding, removing or reordering layers rebuilds cards.
"""

from __future__ import annotations

import contextlib
from functools import partial

from PySide6.QtCore import (
    QByteArray,
    QEvent,
    QMimeData,
    QObject,
    QPoint,
    QPointF,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QDrag, QFont, QKeySequence, QPainter, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpacerItem,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gui.activation_explorer import ActivationExplorer
from gui.help_text import ACTIVATION_HELP, INITIALIZER_HELP, SETTING_HELP
from gui.i18n import tr
from models.network.params import (
    LayerCount,
    count_parameters,
    residual_projection_size,
    total_parameters,
)
from models.network.spec import (
    ACTIVATIONS,
    INITIALIZERS,
    MAX_LAYERS,
    BatchNormLayer,
    DenseLayer,
    DropoutLayer,
    Project,
    layer_from_dict,
    layer_to_dict,
)

LAYER_MIME_TYPE = "application/x-keras-trainer-layer"

LAYER_TITLES = {"dense": "Dense", "dropout": "Dropout", "batchnorm": "BatchNorm"}
_NEW_LAYER = {"dense": DenseLayer, "dropout": DropoutLayer, "batchnorm": BatchNormLayer}

# How each setting is named in the undo menu ("units of layer 2 → 128").
_SETTING_NAMES = {
    "units": "units",
    "activation": "activation",
    "negative_slope": "leaky slope",
    "kernel_initializer": "initializer",
    "l1": "L1",
    "l2": "L2",
    "use_bias": "bias",
    "residual": "residual connection",
    "rate": "dropout rate",
    "momentum": "batch-norm momentum",
}

# Alphas are 0-255: translucent tints read well on light and dark palettes alike.
_STYLE_SHEET = """
QFrame#layerCard {
    background: palette(base);
    border: 1px solid palette(mid);
    border-radius: 6px;
    padding: 1px;
}
QFrame#layerCard[role="input"] {
    background: rgba(66, 133, 244, 28);
    border: 1px solid rgba(66, 133, 244, 150);
}
QFrame#layerCard[role="output"] {
    background: rgba(52, 168, 83, 28);
    border: 1px solid rgba(52, 168, 83, 150);
}
QFrame#layerCard[selected="true"] {
    border: 2px solid palette(highlight);
    padding: 0px;
}
QFrame#dropIndicator {
    background: palette(highlight);
    border: none;
    border-radius: 1px;
}
"""


def _plural(count: int, one: str, many: str) -> str:
    """``one`` or ``many`` (translated templates with a ``{count}``), by the count."""
    return tr(one if count == 1 else many, count=f"{count:,}")


def _value_text(value) -> str:
    if isinstance(value, bool):
        return tr("on") if value else tr("off")
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def describe_edit(setting: str, index: int, value) -> str:
    """The undo-menu text for one changed setting, such as ``"units of layer 2 → 128"``.

    Args:
        setting: the layer field that changed, such as `"units"`.
        index: the layer's position, counting from 0.
        value: the new value.
    """
    return tr("{setting} of layer {number} → {value}", setting=tr(_SETTING_NAMES.get(setting, setting)),
              number=index + 1, value=_value_text(value))


@contextlib.contextmanager
def _signals_blocked(*widgets: QObject):
    """Sets widgets from the model without their signals reporting it as an edit."""
    previous = [widget.blockSignals(True) for widget in widgets]
    try:
        yield
    finally:
        for widget, was_blocked in zip(widgets, previous, strict=True):
            widget.blockSignals(was_blocked)


def _mute(label: QLabel, scale: float = 0.92) -> QLabel:
    """Greys a label and makes it a little smaller, for secondary information."""
    palette = label.palette()
    palette.setColor(QPalette.ColorRole.WindowText, palette.color(QPalette.ColorRole.PlaceholderText))
    label.setPalette(palette)
    font = label.font()
    if font.pointSizeF() > 0:
        font.setPointSizeF(font.pointSizeF() * scale)
    label.setFont(font)
    return label


def _bold(label: QLabel) -> QLabel:
    font = label.font()
    font.setWeight(QFont.Weight.Bold)
    label.setFont(font)
    return label


def _field_label(text: str, help_key: str) -> QLabel:
    label = QLabel(tr(text))
    label.setToolTip(tr(SETTING_HELP[help_key]))
    return label


def spec_range(layer_class, name: str) -> tuple:
    """(low, high) of a layer setting, from the project's own ranges (`models.network.spec`)."""
    allowed = layer_class.RANGES[name]
    return allowed.low, allowed.high


def _spin_box(low: int, high: int, help_key: str) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    # Typing emits once on Enter or leaving the box: one undo step, not one per digit.
    spin.setKeyboardTracking(False)
    spin.setAccelerated(True)
    spin.setToolTip(tr(SETTING_HELP[help_key]))
    spin.setObjectName(help_key)
    return spin


def _double_spin_box(low: float, high: float, decimals: int, step: float, help_key: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setDecimals(decimals)
    spin.setRange(low, high)
    spin.setSingleStep(step)
    spin.setKeyboardTracking(False)
    spin.setToolTip(tr(SETTING_HELP[help_key]))
    spin.setObjectName(help_key)
    return spin


def _combo_box(choices, item_help: dict, help_key: str) -> QComboBox:
    combo = QComboBox()
    for row, choice in enumerate(choices):
        combo.addItem(choice)
        combo.setItemData(row, tr(item_help.get(choice, "")), Qt.ItemDataRole.ToolTipRole)
    combo.setToolTip(tr(SETTING_HELP[help_key]))
    combo.setObjectName(help_key)
    return combo


def _show_int(spin: QSpinBox, value: int) -> None:
    # Skipping an equal value leaves a half-typed entry and its caret alone.
    if spin.value() != value:
        spin.setValue(value)


def _show_float(spin: QDoubleSpinBox, value: float) -> None:
    if spin.value() != round(value, spin.decimals()):
        spin.setValue(value)


def _show_choice(combo: QComboBox, value: str) -> None:
    row = combo.findText(value)
    if combo.currentIndex() != row:
        combo.setCurrentIndex(row)


class _FlowArrow(QWidget):
    """A thin downward arrow between two cards, labelled with how many values flow along it."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._text = ""
        self.setFixedHeight(20)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def text(self) -> str:
        return self._text

    def set_width(self, width: int | None) -> None:
        """Shows the number of values passed on; `None` when the data is not known yet."""
        self._text = "" if width is None else _plural(width, "{count} value", "{count} values")
        self.setToolTip("" if width is None else tr("Each sample reaches the next layer as {values}.", values=self._text))
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        color = self.palette().color(QPalette.ColorRole.PlaceholderText)
        painter.setPen(QPen(color, 1.2))
        x = self.width() / 2
        bottom = self.height() - 1.0
        painter.drawLine(QPointF(x, 1.0), QPointF(x, bottom - 4.0))
        painter.setBrush(color)
        painter.drawPolygon(QPolygonF([QPointF(x - 3.5, bottom - 5.0), QPointF(x + 3.5, bottom - 5.0), QPointF(x, bottom)]))
        if self._text:
            font = painter.font()
            if font.pointSizeF() > 0:
                font.setPointSizeF(font.pointSizeF() * 0.85)
            painter.setFont(font)
            text_area = self.rect().adjusted(int(x) + 8, 0, 0, 0)
            painter.drawText(text_area, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, self._text)


class _Card(QFrame):
    """The rounded frame every card shares; its role picks the tint."""

    def __init__(self, role: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("layerCard")
        self.setProperty("role", role)
        self.setProperty("selected", False)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)

    def _restyle(self) -> None:
        self.style().unpolish(self)
        self.style().polish(self)
        self.update()


class EndCard(_Card):
    """The input or output card: tinted, read-only, always first or last."""

    def __init__(self, role: str, title: str, parent: QWidget | None = None):
        super().__init__(role, parent)
        self.title_label = _bold(QLabel(title))
        self.detail_label = QLabel()
        self.detail_label.setObjectName(f"{role}Text")
        self.detail_label.setWordWrap(True)
        self.detail_label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.count_label = _mute(QLabel())
        self.count_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        # Title and count on top, the detail below it: a word-wrapped label
        # beside other widgets in one row is laid out a single line high.
        column = QVBoxLayout(self)
        column.setContentsMargins(10, 6, 10, 6)
        column.setSpacing(2)
        row = QHBoxLayout()
        row.addWidget(self.title_label)
        row.addStretch(1)
        row.addWidget(self.count_label)
        column.addLayout(row)
        column.addWidget(self.detail_label)

    def summary(self) -> str:
        """The card's text as one line, such as ``"Input · 2 features"``."""
        detail = self.detail_label.text()
        return f"{self.title_label.text()} · {detail}" if detail else self.title_label.text()

    def set_detail(self, text: str) -> None:
        self.detail_label.setText(text)

    def set_parameter_text(self, text: str, tooltip: str) -> None:
        self.count_label.setText(text)
        self.count_label.setToolTip(tooltip)


class LayerCard(_Card):
    """One hidden layer: a header with its name, parameter count and buttons, then its settings.

    Signals:
        edited(str, object): a setting was changed by the user: the layer field and its new value.
        action_requested(str): `"up"`, `"down"`, `"duplicate"` or `"remove"`.
        activated(): the card was clicked or one of its controls got the focus.
    """

    edited = Signal(str, object)
    action_requested = Signal(str)
    activated = Signal()

    kind = ""

    def __init__(self, layer, parent: QWidget | None = None):
        super().__init__("layer", parent)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self._index = 0
        self._press_position: QPoint | None = None

        self.handle = _mute(QLabel("⠿"), 1.15)
        self.handle.setCursor(Qt.CursorShape.OpenHandCursor)
        self.handle.setToolTip(tr("Drag to move this layer"))
        self.title_label = _bold(QLabel(LAYER_TITLES[self.kind]))
        self.number_label = _mute(QLabel())
        self.count_label = _mute(QLabel())
        self.count_label.setObjectName("parameterCount")
        self.count_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.up_button = self._tool_button("▲", tr("Move this layer up, nearer the input"), "up")
        self.down_button = self._tool_button("▼", tr("Move this layer down, nearer the output"), "down")
        self.duplicate_button = self._tool_button("❐", tr("Duplicate this layer"), "duplicate")
        self.remove_button = self._tool_button("✕", tr("Remove this layer (Delete)"), "remove")

        header = QHBoxLayout()
        header.setSpacing(6)
        header.addWidget(self.handle)
        header.addWidget(self.title_label)
        header.addWidget(self.number_label)
        header.addStretch(1)
        header.addWidget(self.count_label)
        header.addSpacing(4)
        buttons = QHBoxLayout()
        buttons.setSpacing(0)
        for button in (self.up_button, self.down_button, self.duplicate_button, self.remove_button):
            buttons.addWidget(button)
        header.addLayout(buttons)

        self.form = QGridLayout()
        self.form.setHorizontalSpacing(8)
        self.form.setVerticalSpacing(5)
        self.form.setColumnStretch(1, 1)
        self.form.setColumnStretch(3, 1)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(9, 5, 9, 9)
        outer.setSpacing(6)
        outer.addLayout(header)
        outer.addLayout(self.form)

        for control in self._build_form():
            control.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            if not isinstance(control, QCheckBox):
                control.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            control.installEventFilter(self)
        self.set_layer(layer)

    def _tool_button(self, text: str, tooltip: str, action: str) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tooltip)
        button.setAutoRaise(True)
        button.setObjectName(f"{action}Button")
        button.setFixedSize(24, 22)
        button.clicked.connect(partial(self.action_requested.emit, action))
        return button

    def _build_form(self) -> list[QWidget]:
        """Fills `self.form` and returns the controls the user edits."""
        raise NotImplementedError

    def set_layer(self, layer) -> None:
        """Shows the layer's settings without emitting `edited`."""
        raise NotImplementedError

    def index(self) -> int:
        return self._index

    def set_index(self, index: int, count: int) -> None:
        """Numbers the card and enables the move buttons that make sense at its place."""
        self._index = index
        self.number_label.setText(tr("layer {number}", number=index + 1))
        self.up_button.setEnabled(index > 0)
        self.down_button.setEnabled(index < count - 1)

    def set_parameter_text(self, text: str, tooltip: str) -> None:
        self.count_label.setText(text)
        self.count_label.setToolTip(tooltip)

    def is_selected(self) -> bool:
        return bool(self.property("selected"))

    def set_selected(self, selected: bool) -> None:
        if self.is_selected() != selected:
            self.setProperty("selected", selected)
            self._restyle()

    def drag_mime_data(self) -> QMimeData:
        """What a drag of this card carries: its layer's position."""
        data = QMimeData()
        data.setData(LAYER_MIME_TYPE, QByteArray(str(self._index).encode("ascii")))
        return data

    def start_drag(self) -> None:
        drag = QDrag(self)
        drag.setMimeData(self.drag_mime_data())
        drag.setPixmap(self.grab())
        drag.setHotSpot(self.handle.geometry().center())
        drag.exec(Qt.DropAction.MoveAction)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.FocusIn:
            self.activated.emit()
        elif event.type() == QEvent.Type.Wheel and not watched.hasFocus():
            # Scrolling the list over a spin box must scroll, not change the value.
            event.ignore()
            return True
        return super().eventFilter(watched, event)

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if event.button() == Qt.MouseButton.LeftButton:
            self._press_position = event.position().toPoint()
            self.setFocus(Qt.FocusReason.MouseFocusReason)
            self.activated.emit()
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if self._press_position is not None and event.buttons() & Qt.MouseButton.LeftButton:
            moved = (event.position().toPoint() - self._press_position).manhattanLength()
            if moved >= QApplication.startDragDistance():
                self._press_position = None
                self.start_drag()
                return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self._press_position = None
        super().mouseReleaseEvent(event)


class DenseCard(LayerCard):
    """Units, activation (with the leaky slope when it applies), initializer, L1/L2 and bias."""

    kind = "dense"

    def _build_form(self) -> list[QWidget]:
        self.title_label.setToolTip(tr(SETTING_HELP["dense_layer"]))
        self.units = _spin_box(*spec_range(DenseLayer, "units"), "units")
        self.activation = _combo_box(ACTIVATIONS, ACTIVATION_HELP, "activation")
        self.activation_curves_button = QToolButton()
        self.activation_curves_button.setText("ƒ(x)")
        self.activation_curves_button.setToolTip(tr("Show the activation functions and their derivatives"))
        self.activation_curves_button.setObjectName("activationCurvesButton")
        self.activation_curves_button.setAutoRaise(True)
        self.activation_curves_button.setFixedSize(26, 22)  # narrow: the card must fit a side panel
        self.negative_slope = _double_spin_box(*spec_range(DenseLayer, "negative_slope"), 3, 0.05, "negative_slope")
        self.negative_slope_label = _field_label("Slope α", "negative_slope")
        self.kernel_initializer = _combo_box(INITIALIZERS, INITIALIZER_HELP, "kernel_initializer")
        self.l1 = _double_spin_box(*spec_range(DenseLayer, "l1"), 6, 1e-4, "l1")
        self.l2 = _double_spin_box(*spec_range(DenseLayer, "l2"), 6, 1e-4, "l2")
        self.use_bias = QCheckBox(tr("Use bias"))
        self.use_bias.setToolTip(tr(SETTING_HELP["use_bias"]))
        self.use_bias.setObjectName("use_bias")
        self.residual = QCheckBox(tr("Residual"))
        self.residual.setToolTip(tr(SETTING_HELP["residual"]))
        self.residual.setObjectName("residual")

        form = self.form
        form.addWidget(_field_label("Units", "units"), 0, 0)
        form.addWidget(self.units, 0, 1)
        form.addWidget(_field_label("Activation", "activation"), 0, 2)
        activation_row = QHBoxLayout()
        activation_row.setSpacing(0)
        activation_row.addWidget(self.activation, 1)
        activation_row.addWidget(self.activation_curves_button)
        form.addLayout(activation_row, 0, 3)
        form.addWidget(_field_label("Initializer", "kernel_initializer"), 1, 0)
        form.addWidget(self.kernel_initializer, 1, 1)
        form.addWidget(self.negative_slope_label, 1, 2)
        form.addWidget(self.negative_slope, 1, 3)
        form.addWidget(_field_label("L1", "l1"), 2, 0)
        form.addWidget(self.l1, 2, 1)
        form.addWidget(_field_label("L2", "l2"), 2, 2)
        form.addWidget(self.l2, 2, 3)
        form.addWidget(self.use_bias, 3, 0, 1, 2)
        form.addWidget(self.residual, 3, 2, 1, 2)

        self.units.valueChanged.connect(partial(self._report, "units"))
        self.activation.currentTextChanged.connect(self._activation_chosen)
        self.activation_curves_button.clicked.connect(self.show_activation_explorer)
        self.negative_slope.valueChanged.connect(partial(self._report, "negative_slope"))
        self.kernel_initializer.currentTextChanged.connect(self._initializer_chosen)
        self.l1.valueChanged.connect(partial(self._report, "l1"))
        self.l2.valueChanged.connect(partial(self._report, "l2"))
        self.use_bias.toggled.connect(partial(self._report, "use_bias"))
        self.residual.toggled.connect(partial(self._report, "residual"))
        return [self.units, self.activation, self.negative_slope, self.kernel_initializer, self.l1, self.l2, self.use_bias,
                self.residual]

    def _report(self, setting: str, value) -> None:
        self.edited.emit(setting, value)

    def _activation_chosen(self, name: str) -> None:
        self._show_activation_help(name)
        self.edited.emit("activation", name)

    def show_activation_explorer(self) -> ActivationExplorer:
        """Opens the activation explorer (one per editor, not modal) at this layer's activation and slope."""
        owner = self._explorer_owner()
        explorer = owner.findChild(ActivationExplorer, options=Qt.FindChildOption.FindDirectChildrenOnly)
        if explorer is None:
            explorer = ActivationExplorer(owner)
        explorer.select(self.activation.currentText(), self.negative_slope.value())
        explorer.show()
        explorer.raise_()
        explorer.activateWindow()
        return explorer

    def _explorer_owner(self) -> QWidget:
        """The editor this card is in (the window when it is in none), which keeps the explorer between cards."""
        widget = self.parentWidget()
        while widget is not None and not isinstance(widget, NetworkEditor):
            widget = widget.parentWidget()
        return widget or self.window()

    def _initializer_chosen(self, name: str) -> None:
        self.kernel_initializer.setToolTip(tr(INITIALIZER_HELP.get(name, SETTING_HELP["kernel_initializer"])))
        self.edited.emit("kernel_initializer", name)

    def _show_activation_help(self, name: str) -> None:
        self.activation.setToolTip(tr(ACTIVATION_HELP.get(name, SETTING_HELP["activation"])))
        leaky = name == "leaky_relu"
        self.negative_slope.setVisible(leaky)
        self.negative_slope_label.setVisible(leaky)

    def set_layer(self, layer: DenseLayer) -> None:
        controls = (self.units, self.activation, self.negative_slope, self.kernel_initializer, self.l1, self.l2, self.use_bias,
                    self.residual)
        with _signals_blocked(*controls):
            _show_int(self.units, layer.units)
            _show_choice(self.activation, layer.activation)
            _show_float(self.negative_slope, layer.negative_slope)
            _show_choice(self.kernel_initializer, layer.kernel_initializer)
            _show_float(self.l1, layer.l1)
            _show_float(self.l2, layer.l2)
            if self.use_bias.isChecked() != layer.use_bias:
                self.use_bias.setChecked(layer.use_bias)
            if self.residual.isChecked() != layer.residual:
                self.residual.setChecked(layer.residual)
        self._show_skip(layer.residual)
        self._show_activation_help(layer.activation)
        self.kernel_initializer.setToolTip(tr(INITIALIZER_HELP.get(layer.kernel_initializer, SETTING_HELP["kernel_initializer"])))


    SKIP_MARGIN = 22  # room on the card's right for the skip arrow

    def _show_skip(self, residual: bool) -> None:
        """A residual layer's card draws its skip connection down its right side (see `paintEvent`)."""
        self._skip = residual
        margins = self.layout().contentsMargins()
        self.layout().setContentsMargins(margins.left(), margins.top(), 9 + (self.SKIP_MARGIN if residual else 0),
                                         margins.bottom())
        self.update()

    def paintEvent(self, event):  # noqa: N802 (Qt's name)
        super().paintEvent(event)
        if not getattr(self, "_skip", False):
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        colour = QColor(46, 125, 50)
        painter.setPen(QPen(colour, 2))
        x = self.width() - self.SKIP_MARGIN // 2 - 4
        top, bottom = 14, self.height() - 22
        painter.drawLine(x - 8, top, x, top)  # the layer's input leaves at the top…
        painter.drawLine(x, top, x, bottom - 8)  # …runs around the layer…
        painter.drawEllipse(QPointF(x, bottom - 2), 6, 6)  # …and is added (⊕) to its output
        painter.drawLine(QPointF(x - 4, bottom - 2), QPointF(x + 4, bottom - 2))
        painter.drawLine(QPointF(x, bottom - 6), QPointF(x, bottom + 2))
        painter.setBrush(colour)
        painter.drawPolygon(QPolygonF([QPointF(x - 4, bottom - 14), QPointF(x + 4, bottom - 14), QPointF(x, bottom - 8)]))
        painter.end()


class DropoutCard(LayerCard):
    """The dropout rate, with what it means in words."""

    kind = "dropout"

    def _build_form(self) -> list[QWidget]:
        self.title_label.setToolTip(tr(SETTING_HELP["rate"]))
        self.rate = _double_spin_box(*spec_range(DropoutLayer, "rate"), 2, 0.05, "rate")
        self.meaning_label = _mute(QLabel())
        self.form.addWidget(_field_label("Rate p", "rate"), 0, 0)
        self.form.addWidget(self.rate, 0, 1)
        self.form.addWidget(self.meaning_label, 0, 2, 1, 2)
        self.rate.valueChanged.connect(self._rate_chosen)
        return [self.rate]

    def _rate_chosen(self, rate: float) -> None:
        self._show_meaning(rate)
        self.edited.emit("rate", rate)

    def _show_meaning(self, rate: float) -> None:
        self.meaning_label.setText(tr("drops {share} while training", share=f"{rate:.0%}"))

    def set_layer(self, layer: DropoutLayer) -> None:
        with _signals_blocked(self.rate):
            _show_float(self.rate, layer.rate)
        self._show_meaning(layer.rate)


class BatchNormCard(LayerCard):
    """The running-average momentum of batch normalisation."""

    kind = "batchnorm"

    def _build_form(self) -> list[QWidget]:
        self.title_label.setToolTip(tr(SETTING_HELP["momentum_bn"]))
        self.momentum = _double_spin_box(*spec_range(BatchNormLayer, "momentum"), 4, 0.01, "momentum_bn")
        self.momentum.setObjectName("momentum")
        self.form.addWidget(_field_label("Momentum", "momentum_bn"), 0, 0)
        self.form.addWidget(self.momentum, 0, 1)
        # An empty right half keeps the spin box as wide as those on a Dense card.
        self.form.addItem(QSpacerItem(0, 0, QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum), 0, 2, 1, 2)
        self.momentum.valueChanged.connect(partial(self.edited.emit, "momentum"))
        return [self.momentum]

    def set_layer(self, layer: BatchNormLayer) -> None:
        with _signals_blocked(self.momentum):
            _show_float(self.momentum, layer.momentum)


_CARD_CLASSES = {"dense": DenseCard, "dropout": DropoutCard, "batchnorm": BatchNormCard}


class _CardColumn(QWidget):
    """The scrolled column of cards; takes the drops that reorder them.

    Signals:
        layer_dropped(int, int): the dragged layer's position and the gap it was
            dropped in (0 is above the first card, n below the last).
    """

    layer_dropped = Signal(int, int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.cards: list[LayerCard] = []
        self.gaps: list[_FlowArrow] = []
        self.scroll_area: QScrollArea | None = None
        self._indicator = QFrame(self)
        self._indicator.setObjectName("dropIndicator")
        self._indicator.hide()

    def gap_at(self, y: float) -> int:
        """The gap between cards nearest to height ``y``: the number of cards whose middle is above it."""
        return sum(1 for card in self.cards if card.geometry().center().y() < y)

    def dragged_index(self, event) -> int | None:
        """The position of the layer an event carries, or `None` if it is not one of ours."""
        mime = event.mimeData()
        if mime is None or not mime.hasFormat(LAYER_MIME_TYPE):
            return None
        source = event.source()
        if source is not None and not any(source is card for card in self.cards):
            return None
        try:
            index = int(bytes(mime.data(LAYER_MIME_TYPE).data()).decode("ascii"))
        except ValueError:
            return None
        return index if 0 <= index < len(self.cards) else None

    def _show_indicator(self, gap: int) -> None:
        if not 0 <= gap < len(self.gaps):
            self._indicator.hide()
            return
        arrow = self.gaps[gap].geometry()
        margin = 12
        self._indicator.setGeometry(margin, arrow.center().y() - 1, self.width() - 2 * margin, 3)
        self._indicator.show()
        self._indicator.raise_()

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if self.dragged_index(event) is None:
            event.ignore()
            return
        event.setDropAction(Qt.DropAction.MoveAction)
        event.accept()

    def dragMoveEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if self.dragged_index(event) is None:
            event.ignore()
            return
        position = event.position().toPoint()
        self._show_indicator(self.gap_at(position.y()))
        if self.scroll_area is not None:
            self.scroll_area.ensureVisible(position.x(), position.y(), 0, 40)
        event.setDropAction(Qt.DropAction.MoveAction)
        event.accept()

    def dragLeaveEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self._indicator.hide()
        super().dragLeaveEvent(event)

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self._indicator.hide()
        source = self.dragged_index(event)
        if source is None:
            event.ignore()
            return
        event.setDropAction(Qt.DropAction.MoveAction)
        event.accept()
        self.layer_dropped.emit(source, self.gap_at(event.position().y()))


class NetworkEditor(QWidget):
    """The hidden layers of a multilayer perceptron as cards between the input and the output.

    Signals:
        changed(Project, str): after every user edit: a new project holding the
            edited layers, and a short description for the undo menu.
    """

    changed = Signal(object, str)
    message = Signal(str)  # a sentence for the user, such as why a layer was not added

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._project = Project()
        self._cards: list[LayerCard] = []
        self._arrows: list[_FlowArrow] = []
        self._selected: int | None = None
        self._n_features: int | None = None
        self._output_units: int | None = None
        self._updating = False
        self.setStyleSheet(_STYLE_SHEET)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)

        self._column = _CardColumn()
        self._column.layer_dropped.connect(self.drop_layer)
        self._column_layout = QVBoxLayout(self._column)
        self._column_layout.setContentsMargins(8, 8, 8, 8)
        self._column_layout.setSpacing(0)
        self._input_card = EndCard("input", tr("Input"))
        self._output_card = EndCard("output", tr("Output"))
        self._scroll = QScrollArea()
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._scroll.setWidget(self._column)
        self._column.scroll_area = self._scroll

        self.add_buttons: dict[str, QPushButton] = {}
        add_row = QHBoxLayout()
        add_row.setContentsMargins(8, 0, 8, 0)
        add_tips = {
            "dense": SETTING_HELP["dense_layer"],
            "dropout": SETTING_HELP["rate"],
            "batchnorm": SETTING_HELP["momentum_bn"],
        }
        for kind, title in LAYER_TITLES.items():
            button = QPushButton(f"+ {title}")
            button.setToolTip(tr("Add a {layer} layer just before the output.", layer=title) + "\n" + tr(add_tips[kind]))
            button.clicked.connect(partial(self.add_layer, kind))
            add_row.addWidget(button)
            self.add_buttons[kind] = button

        self._total_label = QLabel()
        self._total_label.setObjectName("totalParameters")
        self._total_label.setToolTip(tr(SETTING_HELP["parameter_count"]))
        self._total_label.setContentsMargins(10, 0, 10, 0)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 6)
        layout.setSpacing(6)
        layout.addWidget(self._scroll, 1)
        layout.addLayout(add_row)
        layout.addWidget(self._total_label)

        self._rebuild_cards()
        self._show_data_shape("")

    # ----- what the window calls -----

    def set_project(self, project: Project) -> None:
        """Shows a project's layers, without emitting `changed`.

        The editor keeps its own copy. While the layer kinds stay the same the
        cards are updated in place, so a control being edited keeps its focus.

        Args:
            project: the project to show.
        """
        self._project = project.copy()
        self._updating = True
        try:
            if [layer.kind for layer in self._project.layers] == [card.kind for card in self._cards]:
                for card, layer in zip(self._cards, self._project.layers, strict=True):
                    card.set_layer(layer)
            else:
                self._rebuild_cards()
        finally:
            self._updating = False
        self.select_layer(self._selected)
        self._refresh_counts()

    def set_data_shape(self, n_features: int, output_units: int, output_text: str) -> None:
        """Tells the editor the width of the data, so it can count parameters.

        Args:
            n_features: the number of input features.
            output_units: the width of the output layer.
            output_text: the output layer and loss in words, such as
                ``"Dense(2, softmax) · loss: categorical cross-entropy"``; the
                card shows it after "Output ·".
        """
        self._n_features = n_features
        self._output_units = output_units
        self._show_data_shape(output_text)

    def project(self) -> Project:
        """A copy of the project as the editor shows it."""
        return self._project.copy()

    # ----- what tests and the window may look at -----

    def layer_cards(self) -> list[LayerCard]:
        """The cards of the hidden layers, from input to output."""
        return list(self._cards)

    def input_card(self) -> EndCard:
        return self._input_card

    def output_card(self) -> EndCard:
        return self._output_card

    def total_text(self) -> str:
        return self._total_label.text()

    def selected_index(self) -> int | None:
        """The position of the selected layer, or `None`."""
        return self._selected

    def select_layer(self, index: int | None) -> None:
        """Highlights one card (or none); Delete removes the highlighted card."""
        if index is not None and not 0 <= index < len(self._cards):
            index = None
        self._selected = index
        for position, card in enumerate(self._cards):
            card.set_selected(position == index)

    # ----- user edits: each changes the copy and emits `changed` once -----

    def add_layer(self, kind: str) -> None:
        """Adds a new layer of a kind (`"dense"`, `"dropout"`, `"batchnorm"`) just before the output."""
        if not self._room_for_a_layer():
            return
        layer = _NEW_LAYER[kind]()
        self._project.layers.append(layer)
        self._cards.append(self._make_card(layer))
        self._structure_changed(len(self._cards) - 1, tr("add {layer} layer", layer=LAYER_TITLES[kind]))

    def _room_for_a_layer(self) -> bool:
        """Whether one more layer is allowed (`MAX_LAYERS`); says so when not."""
        if len(self._project.layers) < MAX_LAYERS:
            return True
        self.message.emit(tr("The network already has {count} layers, the most a project may have.", count=MAX_LAYERS))
        return False

    def remove_layer(self, index: int) -> None:
        """Removes the layer at a position (counting from 0)."""
        if not 0 <= index < len(self._cards):
            return
        del self._project.layers[index]
        card = self._cards.pop(index)
        card.hide()
        card.deleteLater()
        selected = min(index, len(self._cards) - 1) if self._cards else None
        self._structure_changed(selected, tr("remove layer {number}", number=index + 1))

    def duplicate_layer(self, index: int) -> None:
        """Inserts a copy of a layer right after it."""
        if not 0 <= index < len(self._cards) or not self._room_for_a_layer():
            return
        twin = layer_from_dict(layer_to_dict(self._project.layers[index]), f"layer {index + 1}")
        self._project.layers.insert(index + 1, twin)
        self._cards.insert(index + 1, self._make_card(twin))
        self._structure_changed(index + 1, tr("duplicate layer {number}", number=index + 1))

    def move_layer(self, source: int, target: int) -> None:
        """Moves the layer at ``source`` so that it ends up at position ``target`` (both from 0)."""
        count = len(self._cards)
        if not (0 <= source < count and 0 <= target < count) or source == target:
            return
        self._project.layers.insert(target, self._project.layers.pop(source))
        self._cards.insert(target, self._cards.pop(source))
        if target == source + 1:
            description = tr("move layer {number} down", number=source + 1)
        elif target == source - 1:
            description = tr("move layer {number} up", number=source + 1)
        else:
            description = tr("move layer {number} to position {position}", number=source + 1, position=target + 1)
        self._structure_changed(target, description)

    def drop_layer(self, source: int, gap: int) -> None:
        """Moves a dragged layer into a gap between cards (0 above the first, n below the last)."""
        target = gap - 1 if gap > source else gap
        self.move_layer(source, target)

    # ----- inside -----

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        # Only reached when no spin box took the key: Delete inside a number edits the number.
        if self._selected is not None and (
            event.matches(QKeySequence.StandardKey.Delete) or event.key() == Qt.Key.Key_Delete
        ):
            self.remove_layer(self._selected)
            event.accept()
            return
        super().keyPressEvent(event)

    def _make_card(self, layer) -> LayerCard:
        card = _CARD_CLASSES[layer.kind](layer, self._column)
        card.edited.connect(partial(self._card_edited, card))
        card.action_requested.connect(partial(self._card_action, card))
        card.activated.connect(partial(self._card_activated, card))
        return card

    def _rebuild_cards(self) -> None:
        for card in self._cards:
            card.hide()
            card.deleteLater()
        self._cards = [self._make_card(layer) for layer in self._project.layers]
        self._lay_out_cards()

    def _lay_out_cards(self) -> None:
        """Puts input, arrows, cards and output into the column in the model's order."""
        layout = self._column_layout
        while layout.count():
            layout.takeAt(0)
        while len(self._arrows) < len(self._cards) + 1:
            self._arrows.append(_FlowArrow(self._column))
        while len(self._arrows) > len(self._cards) + 1:
            arrow = self._arrows.pop()
            arrow.hide()
            arrow.deleteLater()
        layout.addWidget(self._input_card)
        for arrow, card in zip(self._arrows, self._cards, strict=False):
            layout.addWidget(arrow)
            layout.addWidget(card)
        layout.addWidget(self._arrows[-1])
        layout.addWidget(self._output_card)
        layout.addStretch(1)
        for position, card in enumerate(self._cards):
            card.set_index(position, len(self._cards))
        self._column.cards = list(self._cards)
        self._column.gaps = list(self._arrows)

    def _structure_changed(self, selected: int | None, description: str) -> None:
        self._lay_out_cards()
        self.select_layer(selected)
        self._refresh_counts()
        if selected is not None:
            self._cards[selected].setFocus(Qt.FocusReason.OtherFocusReason)
            # The column's new size is only known after the next layout pass.
            QTimer.singleShot(0, self, self._reveal_selected)
        else:
            self.setFocus(Qt.FocusReason.OtherFocusReason)
        self._emit(description)

    def _reveal_selected(self) -> None:
        if self._selected is not None and self._selected < len(self._cards):
            self._scroll.ensureWidgetVisible(self._cards[self._selected], 0, 12)

    def _emit(self, description: str) -> None:
        if not self._updating:
            self.changed.emit(self._project.copy(), description)

    def _card_edited(self, card: LayerCard, setting: str, value) -> None:
        if self._updating or card not in self._cards:
            return
        index = self._cards.index(card)
        layer = self._project.layers[index]
        if getattr(layer, setting) == value:
            return
        setattr(layer, setting, value)
        self._refresh_counts()
        self._emit(describe_edit(setting, index, value))

    def _card_action(self, card: LayerCard, action: str) -> None:
        if card not in self._cards:
            return
        index = self._cards.index(card)
        if action == "up":
            self.move_layer(index, index - 1)
        elif action == "down":
            self.move_layer(index, index + 1)
        elif action == "duplicate":
            self.duplicate_layer(index)
        elif action == "remove":
            self.remove_layer(index)

    def _card_activated(self, card: LayerCard) -> None:
        if card in self._cards:
            self.select_layer(self._cards.index(card))

    def _show_data_shape(self, output_text: str) -> None:
        if self._n_features is None:
            self._input_card.set_detail(tr("choose a data set"))
        else:
            self._input_card.set_detail(_plural(self._n_features, "{count} feature", "{count} features"))
        if output_text.startswith(tr("Output")):
            output_text = output_text[len(tr("Output")):].lstrip(" ·")
        self._output_card.set_detail(output_text)
        self._refresh_counts()

    def _refresh_counts(self) -> None:
        if self._n_features is None or self._output_units is None:
            for card in self._cards:
                card.set_parameter_text("", "")
            self._output_card.set_parameter_text("", "")
            for arrow in self._arrows:
                arrow.set_width(None)
            self._total_label.setText(tr("Total: parameters are counted once a data set is chosen"))
            return
        rows = count_parameters(self._project, self._n_features, self._output_units)
        widths_in = [self._n_features] + [row.output_size for row in rows[:-1]]
        for card, layer, row, width_in in zip(self._cards, self._project.layers, rows, widths_in, strict=False):
            card.set_parameter_text(_plural(row.total, "{count} param", "{count} params"), _count_formula(layer, width_in, row))
            if isinstance(layer, DenseLayer) and hasattr(card, "residual"):  # the card says when the skip is projected
                projected = residual_projection_size(layer, width_in) > 0
                card.residual.setText(tr("Residual, projected {inputs}→{units}", inputs=width_in, units=layer.units)
                                      if projected else tr("Residual"))
        self._output_card.set_parameter_text(
            _plural(rows[-1].total, "{count} param", "{count} params"),
            _dense_formula(widths_in[-1], self._output_units, True, rows[-1])
        )
        for arrow, width in zip(self._arrows, widths_in, strict=True):
            arrow.set_width(width)
        trainable = sum(row.trainable for row in rows)
        self._total_label.setText(tr("Total: {total} parameters ({trainable} trainable)",
                                     total=f"{total_parameters(rows):,}", trainable=f"{trainable:,}"))


def _dense_formula(width_in: int, units: int, use_bias: bool, row: LayerCount) -> str:
    values = {"inputs": f"{width_in:,}", "units": f"{units:,}", "total": f"{row.total:,}"}
    if use_bias:
        return tr("{inputs} inputs × {units} units + {units} biases = {total} parameters", **values)
    return tr("{inputs} inputs × {units} units, no bias = {total} parameters", **values)


def _count_formula(layer, width_in: int, row: LayerCount) -> str:
    """How a layer's parameter count comes about, for its tooltip."""
    if isinstance(layer, DenseLayer):
        if residual_projection_size(layer, width_in):
            values = {"inputs": f"{width_in:,}", "units": f"{layer.units:,}", "total": f"{row.total:,}"}
            if layer.use_bias:
                return tr("{inputs} inputs × {units} units + {units} biases + the residual projection {inputs} × {units} "
                          "= {total} parameters", **values)
            return tr("{inputs} inputs × {units} units, no bias, + the residual projection {inputs} × {units} = {total} "
                      "parameters", **values)
        return _dense_formula(width_in, layer.units, layer.use_bias, row)
    if isinstance(layer, BatchNormLayer):
        return tr("γ and β: 2 × {width} = {trained} trained; running mean and variance: 2 × {width} = {kept} kept but not trained",
                  width=f"{width_in:,}", trained=f"{row.trainable:,}", kept=f"{row.non_trainable:,}")
    return tr("Dropout has no parameters: it only zeroes inputs while training.")
