"""The activation explorer: each activation the editor offers, drawn with its derivative, formula and gradient note.

Opened from the ƒ(x) button beside a Dense layer's activation chooser. The
chosen activation is drawn solid and its derivative dashed on one set of
axes; the others can be laid faintly behind it for comparison. Softmax, which
works on a whole vector, has its own section: three scores on sliders and the
shares it turns them into as bars. Every number drawn comes from
`models.instruments.activations` (numpy only), so the dialog opens without
importing TensorFlow.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from gui.charts import TEXT_COLOR
from gui.help_text import SETTING_HELP
from gui.i18n import tr
from models.instruments.activations import (
    ACTIVATION_CURVES,
    DEFAULT_NEGATIVE_SLOPE,
    SOFTMAX_FORMULA,
    ActivationCurve,
    softmax,
)

X_RANGE = (-6.0, 6.0)
X = np.linspace(*X_RANGE, 1201)
FUNCTION_COLOUR = "#0072B2"  # the blue of the evaluation charts
DERIVATIVE_COLOUR = "#56B4E9"  # a lighter blue: the same family, told apart by its dashes
COMPARISON_PEN = pg.mkPen(120, 120, 120, 70, width=1.2)
AXIS_LINE_PEN = pg.mkPen("#b0b0b0", width=1)
BAR_COLOUR, LARGEST_BAR_COLOUR = "#9ecae1", FUNCTION_COLOUR
SLOPE_RANGE = (0.0, 1.0)  # as the editor's spin box (`DenseLayer.RANGES["negative_slope"]`)
SCORE_RANGE = (-5.0, 5.0)
SLIDER_STEPS_PER_UNIT = 10  # a slider moves a score in steps of 0.1
DEFAULT_SCORES = (2.0, 1.0, 0.1)
SCORE_NAMES = ("z₁", "z₂", "z₃")
SHARE_NAMES = ("p₁", "p₂", "p₃")
MINIMUM_SIZE = (780, 680)


def _plot_widget(x_label: str = "", y_label: str = "") -> pg.PlotWidget:
    """A white chart with dark axis text, as the window's other charts."""
    plot = pg.PlotWidget(background="w")
    plot.showGrid(x=True, y=True, alpha=0.15)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    for name, label in (("bottom", x_label), ("left", y_label)):
        axis = plot.getAxis(name)
        axis.setTextPen(pg.mkPen(TEXT_COLOR))
        axis.setPen(pg.mkPen("#909090"))
        if label:
            plot.setLabel(name, label, color=TEXT_COLOR)
    return plot


def _left_side(formula: str) -> str:
    """What a formula defines: ``"σ(x)"`` of ``"σ(x) = 1 / (1 + e⁻ˣ)"``."""
    return formula.split(" = ", 1)[0]


def _scaled_font(widget: QWidget, scale: float, bold: bool = False) -> QFont:
    font = QFont(widget.font())
    if font.pointSizeF() > 0:
        font.setPointSizeF(font.pointSizeF() * scale)
    font.setBold(bold)
    return font


class ActivationExplorer(QDialog):
    """Every activation the editor offers with its derivative, and softmax on three scores.

    Args:
        parent: the widget it belongs to; the dialog is a window of its own either way.
        activation: the Keras name of the activation to show first. Defaults to `"relu"`.
        negative_slope: leaky ReLU's slope α below zero. Defaults to `0.2`.
    """

    def __init__(self, parent: QWidget | None = None, activation: str = "relu",
                 negative_slope: float = DEFAULT_NEGATIVE_SLOPE):
        super().__init__(parent)
        self.setWindowTitle(tr("Activation functions"))
        self.setObjectName("activationExplorer")
        self._curve = ACTIVATION_CURVES["relu"]
        self._build_activation_list()
        self._build_curve_view()
        self._build_softmax_section()
        self._lay_out()
        self.activation_list.currentItemChanged.connect(self._activation_chosen)
        self.slope_spin_box.valueChanged.connect(self._redraw_curves)
        self.compare_check_box.toggled.connect(self._show_comparison)
        for slider in self.score_sliders:
            slider.valueChanged.connect(self._redraw_softmax)
        self.select(activation, negative_slope)
        self._redraw_softmax()
        # Above the layout's own minimum: it counts a wrapped note as one line, and the plot would
        # slide under the softmax box when the window is at its smallest.
        self.setMinimumSize(MINIMUM_SIZE[0], MINIMUM_SIZE[1])
        self.resize(920, 700)

    # ----------------------------------------------------------------- building

    def _build_activation_list(self) -> None:
        self.activation_list = QListWidget()
        self.activation_list.setObjectName("activationList")
        for curve in ACTIVATION_CURVES.values():
            item = QListWidgetItem(curve.name)
            item.setData(Qt.ItemDataRole.UserRole, curve.name)
            item.setToolTip(curve.display_name)
            self.activation_list.addItem(item)
        width = max(self.activation_list.fontMetrics().horizontalAdvance(name) for name in ACTIVATION_CURVES)
        self.activation_list.setFixedWidth(width + 40)

    def _build_curve_view(self) -> None:
        self.title_label = QLabel()
        self.title_label.setFont(_scaled_font(self.title_label, 1.25, bold=True))
        self.formula_label = QLabel()
        self.formula_label.setObjectName("formula")
        self.formula_label.setFont(_scaled_font(self.formula_label, 1.1))
        self.formula_label.setTextFormat(Qt.TextFormat.RichText)
        self.formula_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note_label = QLabel()
        self.note_label.setTextFormat(Qt.TextFormat.PlainText)
        self.note_label.setObjectName("gradientNote")
        self.note_label.setWordWrap(True)

        self.slope_label = QLabel(tr("Slope α"))
        self.slope_spin_box = QDoubleSpinBox()
        self.slope_spin_box.setObjectName("negative_slope")
        self.slope_spin_box.setRange(*SLOPE_RANGE)
        self.slope_spin_box.setDecimals(3)
        self.slope_spin_box.setSingleStep(0.05)
        self.slope_spin_box.setToolTip(tr(SETTING_HELP["negative_slope"]))
        self.compare_check_box = QCheckBox(tr("Compare with the other activations"))
        self.compare_check_box.setToolTip(tr("Draw every other activation faintly behind the chosen one"))

        self.plot = _plot_widget("x")
        self.plot.setMinimumSize(360, 260)
        self.plot.setMouseEnabled(False, False)
        self.plot.setXRange(*X_RANGE, padding=0.02)
        self.plot.enableAutoRange(axis="x", enable=False)
        for angle in (0, 90):
            self.plot.addItem(pg.InfiniteLine(0, angle=angle, pen=AXIS_LINE_PEN), ignoreBounds=True)
        self.comparison_curves: dict[str, pg.PlotDataItem] = {}
        for curve in ACTIVATION_CURVES.values():
            faint = pg.PlotDataItem(X, curve.values(X), pen=COMPARISON_PEN)
            faint.setZValue(-5)
            faint.setVisible(False)
            self.plot.addItem(faint, ignoreBounds=True)  # the chosen curve alone sets the y range
            self.comparison_curves[curve.name] = faint
        self.derivative_curve = pg.PlotDataItem(
            pen=pg.mkPen(DERIVATIVE_COLOUR, width=2.5, style=Qt.PenStyle.DashLine), antialias=True)
        self.function_curve = pg.PlotDataItem(pen=pg.mkPen(FUNCTION_COLOUR, width=2.5), antialias=True)
        self.plot.addItem(self.derivative_curve)
        self.plot.addItem(self.function_curve)
        self.legend = self.plot.addLegend(offset=(8, 8), brush=pg.mkBrush(255, 255, 255, 220),
                                          pen=pg.mkPen(210, 210, 210), labelTextColor=TEXT_COLOR,
                                          labelTextSize="10pt")

    def _build_softmax_section(self) -> None:
        self.score_sliders: list[QSlider] = []
        self.score_value_labels: list[QLabel] = []
        low, high = (int(bound * SLIDER_STEPS_PER_UNIT) for bound in SCORE_RANGE)
        for name, score in zip(SCORE_NAMES, DEFAULT_SCORES):
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setObjectName(f"score_{name}")
            slider.setRange(low, high)
            slider.setPageStep(SLIDER_STEPS_PER_UNIT)
            slider.setValue(round(score * SLIDER_STEPS_PER_UNIT))
            slider.setToolTip(tr("The score {name} the layer gives before softmax", name=name))
            value_label = QLabel()
            value_label.setMinimumWidth(value_label.fontMetrics().horizontalAdvance("−5.0") + 6)
            value_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.score_sliders.append(slider)
            self.score_value_labels.append(value_label)
        self.softmax_formula_label = QLabel(SOFTMAX_FORMULA)
        self.softmax_formula_label.setFont(_scaled_font(self.softmax_formula_label, 1.1))
        self.softmax_note_label = QLabel(tr(
            "It turns scores into shares that are positive and add up to 1. The largest score gets the largest "
            "share, and adding the same number to every score changes nothing."))
        self.softmax_note_label.setWordWrap(True)
        self.shares_label = QLabel()
        self.shares_label.setObjectName("shares")

        self.softmax_plot = _plot_widget()
        self.softmax_plot.setMouseEnabled(False, False)
        self.softmax_plot.setMinimumWidth(260)
        self.softmax_plot.setFixedHeight(190)
        self.softmax_plot.setXRange(-0.6, len(SCORE_NAMES) - 0.4, padding=0)
        self.softmax_plot.setYRange(0.0, 1.2, padding=0)
        self.softmax_plot.getAxis("bottom").setTicks([list(enumerate(SHARE_NAMES))])
        self.softmax_plot.getAxis("left").setTicks([[(tick, f"{tick:g}") for tick in (0, 0.25, 0.5, 0.75, 1.0)]])
        self.softmax_bars = pg.BarGraphItem(x=np.arange(len(SCORE_NAMES)), height=np.zeros(len(SCORE_NAMES)),
                                            width=0.6, brush=BAR_COLOUR, pen=pg.mkPen("w"))
        self.softmax_plot.addItem(self.softmax_bars)
        self.share_texts: list[pg.TextItem] = []
        for index in range(len(SCORE_NAMES)):
            text = pg.TextItem(color=TEXT_COLOR, anchor=(0.5, 1.0))
            text.setPos(index, 0)
            self.softmax_plot.addItem(text)
            self.share_texts.append(text)

    def _lay_out(self) -> None:
        slope_row = QHBoxLayout()
        slope_row.addWidget(self.slope_label)
        slope_row.addWidget(self.slope_spin_box)
        slope_row.addStretch(1)
        slope_row.addWidget(self.compare_check_box)

        curve_column = QVBoxLayout()
        curve_column.addWidget(self.title_label)
        curve_column.addWidget(self.formula_label)
        curve_column.addWidget(self.note_label)
        curve_column.addLayout(slope_row)
        curve_column.addWidget(self.plot, 1)

        top = QHBoxLayout()
        top.addWidget(self.activation_list)
        top.addLayout(curve_column, 1)

        sliders = QGridLayout()
        sliders.setHorizontalSpacing(8)
        for row, (name, slider, value_label) in enumerate(
                zip(SCORE_NAMES, self.score_sliders, self.score_value_labels)):
            sliders.addWidget(QLabel(name), row, 0)
            sliders.addWidget(slider, row, 1)
            sliders.addWidget(value_label, row, 2)
        softmax_text = QVBoxLayout()
        softmax_text.addWidget(self.softmax_formula_label)
        softmax_text.addWidget(self.softmax_note_label)
        softmax_text.addLayout(sliders)
        softmax_text.addWidget(self.shares_label)
        softmax_text.addStretch(1)
        softmax_box = QGroupBox(tr("Softmax on three scores"))
        softmax_layout = QHBoxLayout(softmax_box)
        softmax_layout.addLayout(softmax_text, 3)
        softmax_layout.addSpacing(12)
        softmax_layout.addWidget(self.softmax_plot, 2)

        outer = QVBoxLayout(self)
        outer.addLayout(top, 1)
        outer.addWidget(softmax_box)

    # ------------------------------------------------------------------ showing

    def select(self, name: str, negative_slope: float | None = None) -> None:
        """Shows the activation with Keras name ``name``, and leaky ReLU's slope when given.

        Softmax is not a curve of x: choosing it leaves the curve as it is and
        puts the keyboard focus on the softmax sliders.
        """
        if negative_slope is not None:
            self.slope_spin_box.setValue(negative_slope)
        if name not in ACTIVATION_CURVES:
            self.score_sliders[0].setFocus()
            return
        row = list(ACTIVATION_CURVES).index(name)
        if self.activation_list.currentRow() != row:
            self.activation_list.setCurrentRow(row)  # redraws through `_activation_chosen`
        else:
            self._redraw_curves()

    def activation(self) -> str:
        """The Keras name of the activation shown."""
        return self._curve.name

    def negative_slope(self) -> float:
        return self.slope_spin_box.value()

    def scores(self) -> np.ndarray:
        """The three scores z on the sliders."""
        return np.array([slider.value() / SLIDER_STEPS_PER_UNIT for slider in self.score_sliders])

    def set_scores(self, scores) -> None:
        for slider, score in zip(self.score_sliders, scores):
            slider.setValue(round(score * SLIDER_STEPS_PER_UNIT))

    def shares(self) -> np.ndarray:
        """softmax(z) of the scores, as the bars show it."""
        return np.asarray(self.softmax_bars.opts["height"], dtype=np.float64)

    def _activation_chosen(self, item: QListWidgetItem | None, _previous=None) -> None:
        if item is None:
            return
        self._curve = ACTIVATION_CURVES[item.data(Qt.ItemDataRole.UserRole)]
        self._redraw_curves()

    def _redraw_curves(self) -> None:
        curve, slope = self._curve, self.negative_slope()
        self.function_curve.setData(X, curve.values(X, slope))
        self.derivative_curve.setData(X, curve.slopes(X, slope))
        self.comparison_curves["leaky_relu"].setData(X, ACTIVATION_CURVES["leaky_relu"].values(X, slope))
        self._show_comparison(self.compare_check_box.isChecked())
        leaky = curve.takes_negative_slope
        self.slope_label.setVisible(leaky)
        self.slope_spin_box.setVisible(leaky)
        self._show_texts(curve, slope)

    def _show_texts(self, curve: ActivationCurve, slope: float) -> None:
        formula, derivative_formula = curve.formula(slope), curve.derivative_formula(slope)
        self.title_label.setText(curve.display_name)
        self.formula_label.setText(f"{html.escape(formula)}<br>{html.escape(derivative_formula)}")
        self.note_label.setText(tr("Gradient: {note}", note=tr(curve.gradient_note)))
        self.legend.clear()
        self.legend.addItem(self.function_curve, _left_side(formula))
        self.legend.addItem(self.derivative_curve, _left_side(derivative_formula))

    def _show_comparison(self, shown: bool) -> None:
        for name, faint in self.comparison_curves.items():
            faint.setVisible(shown and name != self._curve.name)

    def _redraw_softmax(self) -> None:
        scores = self.scores()
        shares = softmax(scores)
        largest = int(np.argmax(shares))
        brushes = [pg.mkBrush(LARGEST_BAR_COLOUR if i == largest else BAR_COLOUR) for i in range(len(shares))]
        self.softmax_bars.setOpts(height=shares, brushes=brushes)
        for text, share in zip(self.share_texts, shares):
            text.setText(f"{share:.3f}")
            text.setPos(text.pos().x(), share + 0.02)
        for label, score in zip(self.score_value_labels, scores):
            label.setText(f"{score:.1f}".replace("-", "−"))
        shown_shares = ", ".join(f"{share:.3f}" for share in shares)
        self.shares_label.setText(f"p = softmax(z) = ({shown_shares}),  Σ p = {shares.sum():.3f}")
