"""Layers: what every Dense layer's gradients, weights and activations do while a run trains.

The view is fed `models.instruments.readings.InstrumentReading`s (``add_reading``
while training, ``set_readings`` for a whole run read from a file). Each reading
only goes into growable numpy buffers; a 100 ms single-shot timer hands the
changed curves to pyqtgraph, and only the chosen layer's strips are rebuilt, so
hundreds of readings never stall the window.

- top: ‖∂loss/∂W‖ per layer on a log axis, and the update ratio ‖ΔW‖ / ‖W‖ per
  step beside the healthy 1e-3; under them one row of numbered layer swatches
  and a sentence each, the first saying whether gradients vanish or explode on
  the way back;
- bottom: the chosen layer's weights and activations over time (a strip per
  reading, as TensorBoard's distributions: darker = more of the layer's values),
  and a table of every layer's dead and saturated shares (a bar and a number
  each) and its mean and std after batch normalisation, at the latest reading.

Titles are short and the detail is in tooltips, so that the view reads at the
window's default size (about 620 × 470 pixels for the view).
"""

from __future__ import annotations

import html
import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSignalBlocker, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from gui.charts import TEXT_COLOR, style_axes
from gui.i18n import tr
from models.instruments.readings import InstrumentReading, LayerReading

REDRAW_INTERVAL_MS = 100  # at most ten redraws a second
HEALTHY_UPDATE_RATIO = 1e-3
VANISHING_RATIO = 1e-3  # first layer's gradient norm / the last's, below which gradients vanish
EXPLODING_RATIO = 1e3
LARGE_SHARE = 0.25  # a dead or saturated share worth a sentence
MAX_STRIP_COLUMNS = 800
STRIP_COLOURS = [(255, 255, 255), (198, 219, 239), (66, 146, 198), (8, 48, 107)]  # white to dark blue
MEDIAN_COLOUR = "#D55E00"
DEAD_COLOUR, SATURATED_COLOUR = "#D55E00", "#7B3294"
TRACK_COLOUR = "#E8E8E8"  # the empty part of a share's bar
TITLE_SIZE = "9pt"
TITLE_HEIGHT = 20  # pixels
PLOTS_STRETCH, BOTTOM_STRETCH = 7, 9
# Symbols and an abbreviation, written alike in every language, so not passed through `tr`.
UPDATE_RATIO_SYMBOL = "‖ΔW‖ / ‖W‖"
BATCH_NORM_HEADER = "BN μ / σ"
MIN_WIDTH = 600  # pixels; the window's default size gives the view about 620 × 470
CAPTION_STYLE = f"color: {TEXT_COLOR}; font-size: 9pt;"
WARNING_STYLE = "color: #B2182B; font-size: 9pt; font-weight: bold;"


class _Rows:
    """An append-only float64 table of fixed width that doubles its capacity when full."""

    def __init__(self, width: int, capacity: int = 256):
        self._rows = np.empty((capacity, width))
        self.size = 0

    def append(self, row) -> None:
        if self.size == len(self._rows):
            # New array rather than resizing in place: a curve may still hold a view of the old one.
            grown = np.empty((2 * len(self._rows), self._rows.shape[1]))
            grown[: self.size] = self._rows[: self.size]
            self._rows = grown
        self._rows[self.size] = row
        self.size += 1

    @property
    def values(self) -> np.ndarray:
        return self._rows[: self.size]


def _number(value) -> float:
    return math.nan if value is None else float(value)


def _positive(values: np.ndarray) -> np.ndarray:
    """``values`` with zeros and negatives as NaN, which a log axis cannot draw."""
    return np.where(values > 0, values, np.nan)


def _shares_in(edges: np.ndarray, histogram) -> np.ndarray:
    """The share of a histogram's values in each bin of ``edges`` (its own edges, or others: re-binned linearly)."""
    counts = np.asarray(histogram.counts, dtype=np.float64)
    total = counts.sum()
    if total <= 0:
        return np.zeros(len(edges) - 1)
    cumulative = np.concatenate([[0.0], np.cumsum(counts) / total])
    if len(histogram.edges) == len(edges) and np.array_equal(histogram.edges, edges):
        return np.diff(cumulative)
    return np.diff(np.interp(edges, histogram.edges, cumulative))


def _median(edges: np.ndarray, shares: np.ndarray) -> float:
    if shares.sum() <= 0:
        return math.nan
    return float(np.interp(0.5, np.concatenate([[0.0], np.cumsum(shares)]), edges))


def layer_title(layer: LayerReading, count: int) -> str:
    """How the view names a layer: "layer 1 (dense_1, relu)", or "output (softmax)" for the last."""
    if layer.layer == count - 1:
        return tr("output ({activation})", activation=layer.activation or "linear")
    return tr("layer {number} ({name}, {activation})", number=layer.layer + 1, name=layer.name,
              activation=layer.activation or "linear")


def short_fraction(ratio: float) -> str:
    """``1/12,000`` for 8.3e-5: the reciprocal to two significant digits, with thousands separators."""
    reciprocal = 1.0 / ratio
    digits = max(0, int(math.floor(math.log10(reciprocal))) - 1)
    return f"1/{round(reciprocal, -digits):,.0f}"


def gradient_caption(first: float, last: float) -> str:
    """A sentence reading the first layer's gradient norm against the last layer's, or "" when they cannot be compared."""
    if not (first >= 0 and last >= 0 and math.isfinite(first) and math.isfinite(last)):
        return ""
    if first == 0:
        if last == 0:
            return tr("No layer's weights get any gradient: they no longer learn.")
        return tr("The first layer gets no gradient at all: nothing reaches it on the way back.")
    if last == 0:
        return ""
    ratio = first / last
    if ratio < VANISHING_RATIO:
        return tr("The first layer's gradient is {fraction} of the last's: gradients vanish on the way back.",
                  fraction=short_fraction(ratio))
    if ratio > EXPLODING_RATIO:
        return tr("The first layer's gradient is {times}× the last's: gradients explode on the way back.",
                  times=f"{ratio:,.0f}")
    if 0.5 <= ratio <= 2:  # "1/1 of the last's" read oddly
        return tr("The first layer's gradient is about as large as the last's: gradients reach every layer.")
    if ratio < 1:
        return tr("The first layer's gradient is {fraction} of the last's: gradients reach every layer.",
                  fraction=short_fraction(ratio))
    return tr("The first layer's gradient is {times}× the last's: gradients reach every layer.",
              times=f"{ratio:.2g}")


def gradients_in_trouble(first: float, last: float) -> bool:
    """Whether the first layer's gradient norm against the last's says gradients vanish, explode or are gone."""
    if not (first >= 0 and last >= 0 and math.isfinite(first) and math.isfinite(last)):
        return False
    if first == 0:
        return True
    return last > 0 and not VANISHING_RATIO <= first / last <= EXPLODING_RATIO


def update_caption(ratios: np.ndarray) -> str:
    """A sentence on the latest update ratios per step (one per layer), or "" when there are none yet."""
    finite = ratios[np.isfinite(ratios) & (ratios > 0)]
    if finite.size == 0:
        return ""
    typical = float(np.median(finite))
    if typical > 10 * HEALTHY_UPDATE_RATIO:
        return tr("Updates are large ({ratio} per step): the learning rate may be too high.", ratio=f"{typical:.1e}")
    if typical < HEALTHY_UPDATE_RATIO / 10:
        return tr("Updates are small ({ratio} per step): the learning rate may be too low.", ratio=f"{typical:.1e}")
    return tr("Updates are near the healthy 1e-3 per step ({ratio}).", ratio=f"{typical:.1e}")


def group_layer_readings(records: list[LayerReading]) -> list[InstrumentReading]:
    """Layer readings in file order (one per layer per reading) gathered back into `InstrumentReading`s."""
    readings: list[InstrumentReading] = []
    for record in records:
        if not readings or record.layer <= readings[-1].layers[-1].layer:
            readings.append(InstrumentReading(epoch=record.epoch, step=record.step, layers=[]))
        readings[-1].layers.append(record)
    return readings


_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def power_of_ten_text(value: float) -> str:
    """``10⁻⁴``, ``5·10⁻⁴``, ``1`` or ``10``: a log axis's tick as a textbook writes it."""
    exponent = math.floor(math.log10(value) + 1e-9)
    mantissa = round(value / 10.0**exponent)
    if exponent in (0, 1, 2):
        return f"{mantissa * 10 ** exponent:g}"
    power = "10" + str(exponent).translate(_SUPERSCRIPTS)
    return power if mantissa == 1 else f"{mantissa}·{power}"


class _LogAxis(pg.AxisItem):
    """A log axis labelled at powers of ten (and at 2 and 5 times them over a short range), never crowded."""

    MIN_LABEL_SPACING = 26  # pixels

    def logTickValues(self, minVal, maxVal, size, stdTicks):  # noqa: N802 (pyqtgraph's names)
        low, high = math.floor(minVal), math.ceil(maxVal)
        room = max(2, int(size // self.MIN_LABEL_SPACING))
        step = max(1, math.ceil((high - low) / room))
        ticks = [float(v) for v in range(low, high + 1) if v % step == 0 and minVal <= v <= maxVal]
        if high - low <= 2:
            ticks += [v + math.log10(m) for v in range(low, high) for m in (2, 5) if minVal <= v + math.log10(m) <= maxVal]
        if len(ticks) < 2:
            return super().logTickValues(minVal, maxVal, size, stdTicks)
        return [(None, sorted(ticks))]

    def logTickStrings(self, values, scale, spacing):  # noqa: N802
        return [power_of_ten_text(10.0**v * scale) for v in values]


class _PlotWidget(pg.PlotWidget):
    """A plot that asks for little room, so that the view's stretch factors, not pyqtgraph's
    generous size hint, share the height out between the two rows of plots."""

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(160, 110)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(140, 100)


def _plot(title: str, tooltip: str, y_label: str = "", x_label: str = "", log_y: bool = False) -> pg.PlotWidget:
    """A plot in the training charts' style (white, grey axes, an opaque grid at the major ticks), with a short
    title and the detail in its tooltip, so that it reads at the window's default size."""
    axes = {"left": _LogAxis("left")} if log_y else None
    plot = _PlotWidget(background="w", axisItems=axes)
    plot.setToolTip(tooltip)
    item = plot.getPlotItem()
    style_axes(item)
    if title:
        item.setTitle(title, color=TEXT_COLOR, size=TITLE_SIZE, bold=True)
        # pyqtgraph keeps 30 pixels for a title; a 9 pt one needs two thirds of that.
        item.layout.setRowFixedHeight(0, TITLE_HEIGHT)
        item.titleLabel.setMaximumHeight(TITLE_HEIGHT)
    if y_label:
        item.setLabel("left", y_label, color=TEXT_COLOR)
    if x_label:
        item.setLabel("bottom", x_label, color=TEXT_COLOR)
    if log_y:
        item.setLogMode(x=False, y=True)
    return plot


def _swatch_html(colour: str, text: str) -> str:
    """A coloured square before ``text``, kept on one line."""
    return (f'<span style="color:{colour}; font-size:11pt;">&#9632;</span>&nbsp;'
            + html.escape(text).replace(" ", "&nbsp;"))


def _swatch_icon(colour: QColor) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(colour)
    return QIcon(pixmap)


def _caption() -> QLabel:
    label = QLabel("")
    label.setWordWrap(True)
    label.setStyleSheet(CAPTION_STYLE)
    return label


def _say(label: QLabel, text: str) -> None:
    """Writes a caption; an empty one is hidden, so that it keeps no blank line."""
    label.setText(text)
    label.setVisible(bool(text))


def _title_label(text: str) -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setStyleSheet(f"color: {TEXT_COLOR}; font-size: {TITLE_SIZE}; font-weight: bold;")
    return label


def _two_decimals(value: float) -> str:
    """``0.02``; ``0.00`` rather than ``-0.00`` for a small negative value."""
    text = f"{value:.2f}"
    return text[1:] if text == "-0.00" else text


def share_text(share: float) -> str:
    """``40%`` for 0.4; a dash where the share does not apply (NaN)."""
    return "–" if math.isnan(share) else f"{share * 100:.0f}%"


class _UnitsTable(QWidget):
    """Each layer's dead or saturated share as a bar with its number, a row per layer, and the layer's
    mean and standard deviation after batch normalisation where a layer has one.

    Drawn by hand rather than as a chart: a row of text takes a sixth of the height
    a bar chart with axes and a legend needs. A layer is dead-prone (ReLU) or
    saturation-prone (sigmoid, tanh), so one bar a row, coloured by which, is enough.
    """

    GAP = 6  # pixels between columns

    def __init__(self):
        super().__init__()
        self._rows: list[tuple[str, QColor, float, float, str]] = []
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)

    def set_rows(self, rows: list[tuple[str, QColor, float, float, str]]) -> None:
        """Rows of (layer label, layer colour, dead share, saturated share, batch-norm text or "")."""
        self._rows = list(rows)
        self.updateGeometry()
        self.update()

    def header(self) -> list[str]:
        """The header row's texts: "BN μ / σ" over its column where a layer has batch normalisation, else none
        (the panel's title, in the bars' colours, says what the bars are)."""
        return [BATCH_NORM_HEADER] if self._has_batch_norm() else []

    def texts(self) -> list[tuple[str, ...]]:
        """What each row reads: (layer, share or shares[, BN μ / σ where a layer has it])."""
        with_norm = self._has_batch_norm()
        return [(label, self._share_text(dead, saturated)) + ((norm or "–",) if with_norm else ())
                for label, _, dead, saturated, norm in self._rows]

    def bar_lengths(self) -> tuple[np.ndarray, np.ndarray]:
        """The dead and the saturated bars' lengths as shares (0–1) of a full bar; 0 where a layer has no bar."""
        dead = np.array([row[2] for row in self._rows], dtype=np.float64)
        saturated = np.array([row[3] for row in self._rows], dtype=np.float64)
        return np.nan_to_num(np.clip(dead, 0.0, 1.0)), np.nan_to_num(np.clip(saturated, 0.0, 1.0))

    @staticmethod
    def _share_text(dead: float, saturated: float) -> str:
        shares = [share for share in (dead, saturated) if not math.isnan(share)]
        return " / ".join(share_text(share) for share in shares) if shares else "–"

    def _has_batch_norm(self) -> bool:
        return any(row[4] for row in self._rows)

    def _row_height(self) -> int:
        return self.fontMetrics().height() + 3

    def _row_count(self) -> int:
        return len(self._rows) + len(self.header()) if self._rows else 0

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(180, self._row_count() * self._row_height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        # Many layers squeeze their rows rather than push the plots off the view.
        return QSize(140, self._row_count() * min(self._row_height(), 12))

    def paintEvent(self, event) -> None:  # noqa: N802
        if not self._rows:
            return
        painter = QPainter(self)
        metrics = self.fontMetrics()
        height = min(self._row_height(), self.height() / self._row_count())
        header_rows = len(self.header())
        texts = self.texts()
        label_width = 14 + max(metrics.horizontalAdvance(row[0]) for row in texts)
        number_width = max(metrics.horizontalAdvance(text) for text in ["100%"] + [row[1] for row in texts])
        norm_width = 0
        if header_rows:
            norm_width = self.GAP + max(metrics.horizontalAdvance(text)
                                        for text in self.header() + [row[2] for row in texts])
        bar_left = label_width + self.GAP
        bar_width = max(12.0, self.width() - bar_left - number_width - norm_width - 4)
        number_left = bar_left + bar_width + 4
        norm_left = self.width() - norm_width + self.GAP
        text_colour = QColor(TEXT_COLOR)
        middle = Qt.AlignmentFlag.AlignVCenter

        painter.setPen(text_colour)
        for text in self.header():
            painter.drawText(QRectF(norm_left, 0, norm_width, height), middle, text)
        for index, (label, layer_colour, dead, saturated, _) in enumerate(self._rows):
            top = (index + header_rows) * height
            painter.fillRect(QRectF(0, top + height / 2 - 5, 10, 10), layer_colour)
            painter.setPen(text_colour)
            painter.drawText(QRectF(14, top, label_width - 14, height), middle, label)
            bars = [(share, QColor(colour)) for share, colour in ((dead, DEAD_COLOUR), (saturated, SATURATED_COLOUR))
                    if not math.isnan(share)]
            band = height * 0.6 / max(len(bars), 1)
            for number, (share, colour) in enumerate(bars):
                track = QRectF(bar_left, top + height * 0.2 + number * band, bar_width, band)
                painter.fillRect(track, QColor(TRACK_COLOUR))
                painter.fillRect(QRectF(track.left(), track.top(), bar_width * min(max(share, 0.0), 1.0), band),
                                 colour)
            painter.drawText(QRectF(number_left, top, number_width, height),
                             middle | Qt.AlignmentFlag.AlignRight, texts[index][1])
            if norm_width:
                painter.drawText(QRectF(norm_left, top, norm_width, height), middle, texts[index][2])
        painter.end()


class _Strip:
    """One layer quantity (weights or activations) over time: a heat image with the median drawn on it.

    Untitled: the layer chooser above says whose values they are, and the y label which.
    """

    def __init__(self, y_label: str, tooltip: str):
        self.plot = _plot("", tooltip, y_label=y_label, x_label=tr("epoch"))
        self.image = pg.ImageItem(axisOrder="row-major")
        ramp = pg.ColorMap(np.linspace(0.0, 1.0, len(STRIP_COLOURS)), STRIP_COLOURS)
        self.image.setLookupTable(ramp.getLookupTable(nPts=256))
        # Not antialiased: Qt's raster engine takes ~50 ms to smooth a jagged line of 500 points.
        self.median = pg.PlotDataItem(pen=pg.mkPen(MEDIAN_COLOUR, width=2), antialias=False)
        item = self.plot.getPlotItem()
        item.addItem(self.image)
        item.addItem(self.median)
        self.columns = np.zeros((0, 0))

    def show(self, epochs: np.ndarray, shares: np.ndarray, edges: np.ndarray, medians: np.ndarray) -> None:
        """Draws one column per reading (resampled to an even grid of epochs) and the medians."""
        if len(epochs) == 0:
            self.clear()
            return
        left, right, columns = _even_columns(epochs)
        self.columns = shares[columns].T  # bins up, time across
        high = float(self.columns.max())
        # The square root lets a tail of a few per cent show beside a bin that holds half the values.
        self.image.setImage(np.sqrt(self.columns), levels=(0.0, math.sqrt(high) if high > 0 else 1.0),
                            autoLevels=False)
        self.image.setRect(QRectF(left, edges[0], right - left, edges[-1] - edges[0]))
        self.median.setData(epochs, medians, connect="finite")
        item = self.plot.getPlotItem()
        item.setXRange(left, right, padding=0)
        item.setYRange(edges[0], edges[-1], padding=0)

    def clear(self) -> None:
        self.columns = np.zeros((0, 0))
        self.image.clear()
        self.median.setData([], [])


def _even_columns(epochs: np.ndarray) -> tuple[float, float, np.ndarray]:
    """An even grid of image columns over the readings' epochs: (left, right, the reading each column shows).

    Each reading covers the epochs nearer to it than to its neighbours, so readings
    taken at uneven times still sit at their own epoch.
    """
    if len(epochs) == 1:
        return float(epochs[0]) - 0.5, float(epochs[0]) + 0.5, np.zeros(1, dtype=np.intp)
    gaps = np.diff(epochs)
    left = float(epochs[0] - gaps[0] / 2)
    right = float(epochs[-1] + gaps[-1] / 2)
    if not right > left:
        return left - 0.5, right + 0.5, np.full(1, len(epochs) - 1, dtype=np.intp)
    count = int(min(MAX_STRIP_COLUMNS, max(64, 2 * len(epochs))))
    centres = left + (np.arange(count) + 0.5) * (right - left) / count
    middles = (epochs[:-1] + epochs[1:]) / 2
    return left, right, np.searchsorted(middles, centres).astype(np.intp)


class LayersView(QWidget):
    """Gradient norms, update ratios, weight and activation strips and dead or saturated units, per Dense layer.

    Feed it from the GUI thread with `add_reading` (or `set_readings` for a whole
    run); `clear` before a new run. A reading whose layers differ from the ones
    shown (another network), or that goes back in epochs, starts afresh.
    `redraw_now` draws at once instead of waiting for the timer.

    Signals:
        redrawn(): after the plots were handed the latest readings.
    """

    redrawn = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._dirty = False
        self._layout_key: tuple = ()
        self._last_redraw_seconds = 0.0
        self._build()
        self._reset_buffers([])

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REDRAW_INTERVAL_MS)
        self._timer.timeout.connect(self._redraw_if_visible)

    # ----------------------------------------------------------------- layout

    def _build(self) -> None:
        self._pages = QStackedWidget()
        self._empty = QLabel(tr("Train to see inside the network: gradients, weights and activations per layer."))
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty.setWordWrap(True)
        self._empty.setStyleSheet(f"color: {TEXT_COLOR}; font-size: 11pt;")
        self._pages.addWidget(self._empty)
        self._pages.addWidget(self._build_content())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._pages)

    def _build_content(self) -> QWidget:
        self._gradient_plot = _plot(
            tr("Gradient norm per layer"),
            tr("‖∂loss/∂W‖ of each layer's weights at each reading, on a log scale. When the first layers' "
               "lines lie far below the output layer's, the gradient vanishes on its way back."),
            y_label=tr("‖∂loss/∂W‖"), log_y=True)
        self._update_plot = _plot(
            tr("Update ratio per step"),
            tr("‖ΔW‖ / ‖W‖: how much one step changes each layer's weights, on a log scale. "
               "About 1e-3 is healthy; far above, the learning rate is too high; far below, too low."),
            y_label=UPDATE_RATIO_SYMBOL, log_y=True)
        update_item = self._update_plot.getPlotItem()
        self._healthy_line = pg.InfiniteLine(
            pos=math.log10(HEALTHY_UPDATE_RATIO), angle=0, movable=False,
            pen=pg.mkPen("#707070", width=1.5, style=Qt.PenStyle.DashLine),
            label=tr("≈1e-3 healthy"),
            labelOpts={"position": 0.02, "color": "#505050", "anchors": [(0, 0), (0, 0)],
                       "fill": pg.mkBrush(255, 255, 255, 210)})
        self._healthy_line.setZValue(5)  # its label over the curves, which cross it everywhere
        update_item.addItem(self._healthy_line, ignoreBounds=True)
        # Invisible, so that the automatic range always reaches the healthy line.
        self._healthy_anchor = pg.PlotDataItem([0.0], [HEALTHY_UPDATE_RATIO], pen=None, symbol=None)
        update_item.addItem(self._healthy_anchor)
        # One legend for both plots above it, outside them, so it never hides a line: a numbered
        # swatch per layer on one row; the full names are in its tooltip and in the layer chooser.
        self._legend_label = QLabel("")
        self._legend_label.setWordWrap(True)
        self._legend_label.setTextFormat(Qt.TextFormat.RichText)
        self._legend_label.setStyleSheet(CAPTION_STYLE)
        # The view's three findings, full width, so that each takes one line at the window's default size.
        self._gradient_caption = _caption()
        self._update_caption = _caption()
        self._bars_caption = _caption()

        self._layer_box = QComboBox()
        self._layer_box.setToolTip(tr("The layer whose weights and activations are drawn below."))
        self._layer_box.currentIndexChanged.connect(self._layer_chosen)
        layer_label = QLabel(tr("Layer"))
        layer_label.setBuddy(self._layer_box)
        strip_tip = tr("One column per reading: the darker, the more of the layer's values lie there; "
                       "the orange line is the median.")
        self._weights = _Strip(tr("weights"), strip_tip)
        self._outputs = _Strip(tr("activations"), strip_tip)
        strip_caption = _caption()
        strip_caption.setText(tr("Darker: more values there; orange line: the median."))
        strip_caption.setToolTip(strip_tip)

        # The title is the bars' legend: each word in its bars' colour.
        units_title = _title_label(tr("{dead} and {saturated} units",
                                      dead=f'<span style="color:{DEAD_COLOUR}">{html.escape(tr("Dead"))}</span>',
                                      saturated=f'<span style="color:{SATURATED_COLOUR}">'
                                                f'{html.escape(tr("saturated"))}</span>'))
        units_tip = tr("At the latest reading, the share of each layer's units that are dead (ReLU: 0 for every "
                       "probe row) or saturated (sigmoid, tanh: slope nearly 0). A dash: the activation has "
                       "neither.")
        units_title.setToolTip(units_tip)
        self._units_table = _UnitsTable()
        self._units_table.setToolTip(units_tip)
        self._batch_norm_label = _caption()

        plots = QHBoxLayout()
        plots.setSpacing(8)
        plots.addWidget(self._gradient_plot, 1)
        plots.addWidget(self._update_plot, 1)

        chooser = QHBoxLayout()
        chooser.addWidget(layer_label)
        chooser.addWidget(self._layer_box)
        chooser.addStretch(1)
        strips = QHBoxLayout()
        strips.setSpacing(4)
        strips.addWidget(self._weights.plot, 1)
        strips.addWidget(self._outputs.plot, 1)
        chosen = QVBoxLayout()
        chosen.setSpacing(2)
        chosen.addLayout(chooser)
        chosen.addLayout(strips, 1)
        chosen.addWidget(strip_caption)
        units = QVBoxLayout()
        units.setSpacing(4)
        units.addWidget(units_title)
        units.addWidget(self._units_table)
        units.addWidget(self._batch_norm_label)
        units.addStretch(1)
        bottom = QHBoxLayout()
        bottom.setSpacing(8)
        bottom.addLayout(chosen, 2)
        bottom.addLayout(units, 1)

        content = QWidget()
        # Narrower, the two log plots lose their decades and each sentence its single line.
        content.setMinimumWidth(MIN_WIDTH)
        layout = QVBoxLayout(content)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)
        # The bottom row also holds the layer chooser and a caption: this leaves its strips about as
        # tall as the plots above.
        layout.addLayout(plots, PLOTS_STRETCH)
        layout.addWidget(self._legend_label)
        layout.addWidget(self._gradient_caption)
        layout.addWidget(self._update_caption)
        layout.addWidget(self._bars_caption)
        layout.addSpacing(4)
        layout.addLayout(bottom, BOTTOM_STRETCH)
        return content

    # ------------------------------------------------------------------- data

    def _reset_buffers(self, layers: list[LayerReading]) -> None:
        count = len(layers)
        self._layout_key = tuple((layer.name, layer.activation) for layer in layers)
        self._epochs = _Rows(1)
        self._gradient_norms = _Rows(count)
        self._update_ratios = _Rows(count)
        self._weight_edges = [np.asarray(layer.weights.edges, dtype=np.float64) for layer in layers]
        self._output_edges = [np.asarray(layer.outputs.edges, dtype=np.float64) for layer in layers]
        self._weight_shares = [_Rows(len(edges) - 1) for edges in self._weight_edges]
        self._output_shares = [_Rows(len(edges) - 1) for edges in self._output_edges]
        self._weight_medians = _Rows(count)
        self._output_medians = _Rows(count)
        self._latest: list[LayerReading] = []
        self._titles = [layer_title(layer, count) for layer in layers]
        self._rebuild_layer_items(layers)

    def _rebuild_layer_items(self, layers: list[LayerReading]) -> None:
        gradient_item = self._gradient_plot.getPlotItem()
        update_item = self._update_plot.getPlotItem()
        for curve in getattr(self, "_gradient_curves", []):
            gradient_item.removeItem(curve)
        for curve in getattr(self, "_update_curves", []):
            update_item.removeItem(curve)
        self._colours = self._layer_colours(len(layers))
        self._legend_label.setText(
            html.escape(tr("layer")) + "&nbsp;&nbsp;" + "&nbsp;&nbsp; ".join(
                _swatch_html(colour.name(), self._short_label(index, len(layers)))
                for index, colour in enumerate(self._colours)) if layers else "")
        self._legend_label.setToolTip("\n".join(self._titles))
        self._gradient_curves, self._update_curves = [], []
        for colour in self._colours:
            pen = pg.mkPen(colour, width=2)
            # Not antialiased, as the median: a noisy curve of hundreds of readings would cost
            # tens of milliseconds a repaint.
            gradient = pg.PlotDataItem(pen=pen, antialias=False, connect="finite")
            update = pg.PlotDataItem(pen=pen, antialias=False, connect="finite")
            gradient_item.addItem(gradient)
            update_item.addItem(update)
            self._gradient_curves.append(gradient)
            self._update_curves.append(update)
        with QSignalBlocker(self._layer_box):
            self._layer_box.clear()
            for colour, title in zip(self._colours, self._titles):
                self._layer_box.addItem(_swatch_icon(colour), title)
            self._layer_box.setCurrentIndex(0 if layers else -1)

    @staticmethod
    def _short_label(index: int, count: int) -> str:
        """"1", "2", … and "out" for the last: a layer as the legend and the units table name it."""
        return tr("out") if index == count - 1 else str(index + 1)

    @staticmethod
    def _layer_colours(count: int) -> list[QColor]:
        """First layer to last along viridis, stopping before its pale yellow end."""
        ramp = pg.colormap.get("viridis")
        return [ramp.map(0.85 * i / max(count - 1, 1), mode=pg.ColorMap.QCOLOR) for i in range(count)]

    def clear(self) -> None:
        """Forgets every reading and shows the empty sentence."""
        self._timer.stop()
        self._dirty = False
        self._reset_buffers([])
        self._redraw()
        self._pages.setCurrentIndex(0)

    def add_reading(self, reading: InstrumentReading) -> None:
        """Appends one reading; drawn by the next timer tick."""
        self._append(reading)
        self._mark_dirty()

    def set_readings(self, readings: list) -> None:
        """Shows a whole run at once: `InstrumentReading`s, or `LayerReading`s in file order
        (as `models.instruments.readings.records_from_json` gives them)."""
        readings = list(readings)
        if readings and isinstance(readings[0], LayerReading):
            readings = group_layer_readings(readings)
        self._reset_buffers([])
        for reading in readings:
            self._append(reading)
        if self._epochs.size == 0:
            self.clear()
            return
        self.redraw_now()

    def _append(self, reading: InstrumentReading) -> None:
        layers = list(reading.layers)
        if not layers:
            return
        key = tuple((layer.name, layer.activation) for layer in layers)
        went_back = self._epochs.size and reading.epoch < self._epochs.values[-1, 0]
        if key != self._layout_key or went_back:
            self._reset_buffers(layers)
        self._epochs.append([reading.epoch])
        self._gradient_norms.append([_number(layer.gradient_norm) for layer in layers])
        self._update_ratios.append([_number(layer.update_ratio_per_step) for layer in layers])
        weight_medians, output_medians = [], []
        for index, layer in enumerate(layers):
            weights = _shares_in(self._weight_edges[index], layer.weights)
            outputs = _shares_in(self._output_edges[index], layer.outputs)
            self._weight_shares[index].append(weights)
            self._output_shares[index].append(outputs)
            weight_medians.append(_median(self._weight_edges[index], weights))
            output_medians.append(_median(self._output_edges[index], outputs))
        self._weight_medians.append(weight_medians)
        self._output_medians.append(output_medians)
        self._latest = layers
        if self._pages.currentIndex() != 1:
            self._pages.setCurrentIndex(1)

    # ----------------------------------------------------------------- redraw

    def _mark_dirty(self) -> None:
        self._dirty = True
        if not self._timer.isActive():
            self._timer.start()

    def redraw_now(self) -> None:
        """Hands every reading to the plots at once instead of waiting for the timer."""
        self._timer.stop()
        self._redraw()

    def _redraw_if_visible(self) -> None:
        # A hidden view (another tab) keeps its readings until it is shown again.
        if self.isVisible() and self._dirty:
            self._redraw()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if self._dirty and not self._timer.isActive():
            self._timer.start()

    def _redraw(self) -> None:
        started = time.perf_counter()
        self._dirty = False
        epochs = self._epochs.values[:, 0]
        gradients = self._gradient_norms.values
        updates = self._update_ratios.values
        for index, curve in enumerate(self._gradient_curves):
            curve.setData(epochs, _positive(gradients[:, index]))
        for index, curve in enumerate(self._update_curves):
            curve.setData(epochs, _positive(updates[:, index]))
        if len(epochs):
            self._healthy_anchor.setData([epochs[0]], [HEALTHY_UPDATE_RATIO])
        self._draw_strips()
        self._draw_bars()
        self._write_captions()
        self._last_redraw_seconds = time.perf_counter() - started
        self.redrawn.emit()

    def _draw_strips(self) -> None:
        index = self._layer_box.currentIndex()
        if index < 0 or index >= len(self._weight_shares) or self._epochs.size == 0:
            self._weights.clear()
            self._outputs.clear()
            return
        epochs = self._epochs.values[:, 0]
        self._weights.show(epochs, self._weight_shares[index].values, self._weight_edges[index],
                           self._weight_medians.values[:, index])
        self._outputs.show(epochs, self._output_shares[index].values, self._output_edges[index],
                           self._output_medians.values[:, index])

    def _draw_bars(self) -> None:
        dead, saturated = self.bar_values()
        count = len(self._latest)
        self._units_table.set_rows([
            (self._short_label(index, count), self._colours[index], dead[index], saturated[index],
             self._batch_norm_text(layer))
            for index, layer in enumerate(self._latest)])

    @staticmethod
    def _batch_norm_text(layer: LayerReading) -> str:
        if layer.batch_norm_mean is None or layer.batch_norm_std is None:
            return ""
        return f"{_two_decimals(layer.batch_norm_mean)} / {_two_decimals(layer.batch_norm_std)}"

    def _write_captions(self) -> None:
        if self._epochs.size == 0 or not self._latest:
            for label in (self._gradient_caption, self._update_caption, self._bars_caption, self._batch_norm_label):
                _say(label, "")
            return
        latest_gradients = self._gradient_norms.values[-1]
        first, last = float(latest_gradients[0]), float(latest_gradients[-1])
        if len(latest_gradients) > 1:
            _say(self._gradient_caption, gradient_caption(first, last))
        else:
            _say(self._gradient_caption, tr("One layer only: no layer lies further back to compare."))
        troubled = len(latest_gradients) > 1 and gradients_in_trouble(first, last)
        self._gradient_caption.setStyleSheet(WARNING_STYLE if troubled else CAPTION_STYLE)
        _say(self._update_caption, update_caption(self._latest_update_ratios()))
        _say(self._bars_caption, self._units_sentence())
        self._bars_caption.setStyleSheet(WARNING_STYLE if self._units_in_trouble() else CAPTION_STYLE)
        with_batch_norm = any(self._batch_norm_text(layer) for layer in self._latest)
        _say(self._batch_norm_label,
             tr("BN μ / σ: mean / std of the outputs after batch normalisation; ideally 0 / 1.")
             if with_batch_norm else "")

    def _latest_update_ratios(self) -> np.ndarray:
        """The update ratios of the latest reading that has any: the last reading of a run comes at
        the step of the one before it, so it has none."""
        ratios = self._update_ratios.values
        usable = np.flatnonzero(np.any(np.isfinite(ratios) & (ratios > 0), axis=1))
        return ratios[usable[-1]] if usable.size else np.full(ratios.shape[1], math.nan)

    def _short_name(self, index: int) -> str:
        if index == len(self._latest) - 1:
            return tr("output")
        return tr("layer {number}", number=index + 1)

    def _units_in_trouble(self) -> bool:
        dead, saturated = self.bar_values()
        return bool(np.any(np.nan_to_num(dead) >= LARGE_SHARE) or np.any(np.nan_to_num(saturated) >= LARGE_SHARE))

    def _units_sentence(self) -> str:
        dead, saturated = self.bar_values()
        worst_dead = int(np.nanargmax(dead)) if np.isfinite(dead).any() else -1
        worst_saturated = int(np.nanargmax(saturated)) if np.isfinite(saturated).any() else -1
        if worst_dead >= 0 and dead[worst_dead] >= LARGE_SHARE:
            return tr("{share} of {layer}'s units are dead: they always output 0 and no longer learn.",
                      share=f"{dead[worst_dead]:.0%}", layer=self._short_name(worst_dead))
        if worst_saturated >= 0 and saturated[worst_saturated] >= LARGE_SHARE:
            return tr("{share} of {layer}'s units are saturated: their slope is nearly 0, so little gradient passes.",
                      share=f"{saturated[worst_saturated]:.0%}", layer=self._short_name(worst_saturated))
        if worst_dead < 0 and worst_saturated < 0:
            return tr("Dead and saturated units apply to ReLU, sigmoid and tanh layers only.")
        return tr("Few dead or saturated units: every layer passes gradient back.")

    # ---------------------------------------------------- choosing and reading

    def _layer_chosen(self, _index: int) -> None:
        self._draw_strips()

    def choose_layer(self, index: int) -> None:
        """Shows the weights and activations of the Dense layer at ``index`` (0 = the first)."""
        self._layer_box.setCurrentIndex(index)

    def chosen_layer(self) -> int:
        """The index of the layer whose strips are shown; -1 when there are no readings."""
        return self._layer_box.currentIndex()

    def layer_titles(self) -> list[str]:
        """The layers' full names, as the chooser and the legend's tooltip show them."""
        return list(self._titles)

    def chooser_items(self) -> list[str]:
        """The texts of the layer chooser's items."""
        return [self._layer_box.itemText(index) for index in range(self._layer_box.count())]

    def chooser_icons(self) -> list[QIcon]:
        """The colour swatches before the chooser's items, one per layer as its curves are drawn."""
        return [self._layer_box.itemIcon(index) for index in range(self._layer_box.count())]

    def cut_titles(self) -> list[str]:
        """The plot titles that do not fit inside their plot at its present size (none, if the layout works)."""
        cut = []
        for plot in (self._gradient_plot, self._update_plot):
            label = plot.getPlotItem().titleLabel
            text = label.item.mapRectToScene(label.item.boundingRect())
            if not plot.sceneRect().adjusted(-0.5, -0.5, 0.5, 0.5).contains(text):
                cut.append(label.item.toPlainText())
        return cut

    def units_table_is_whole(self) -> bool:
        """Whether the dead and saturated table has the room for every row at its natural height."""
        return self._units_table.height() >= self._units_table.sizeHint().height()

    def reading_count(self) -> int:
        return self._epochs.size

    def is_empty(self) -> bool:
        """Whether the empty sentence is shown instead of the plots."""
        return self._pages.currentIndex() == 0

    def empty_text(self) -> str:
        return self._empty.text()

    def gradient_curve_data(self, layer: int) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the (epoch, gradient norm) arrays last handed to a layer's curve."""
        return self._curve_data(self._gradient_curves[layer])

    def update_curve_data(self, layer: int) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the (epoch, update ratio per step) arrays last handed to a layer's curve."""
        return self._curve_data(self._update_curves[layer])

    @staticmethod
    def _curve_data(curve: pg.PlotDataItem) -> tuple[np.ndarray, np.ndarray]:
        x, y = curve.getOriginalDataset()
        if x is None:
            return np.empty(0), np.empty(0)
        return np.array(x, copy=True), np.array(y, copy=True)

    def curve_count(self) -> int:
        return len(self._gradient_curves)

    def captions(self) -> dict[str, str]:
        """The sentences under the plots: "gradient", "update", "units" and "batch_norm" (what BN μ / σ means)."""
        return {"gradient": self._gradient_caption.text(), "update": self._update_caption.text(),
                "units": self._bars_caption.text(), "batch_norm": self._batch_norm_label.text()}

    def bar_values(self) -> tuple[np.ndarray, np.ndarray]:
        """The dead and the saturated share (0–1) of each layer at the latest reading; NaN where it does not apply."""
        dead = np.array([_number(layer.dead_fraction) for layer in self._latest], dtype=np.float64)
        saturated = np.array([_number(layer.saturated_fraction) for layer in self._latest], dtype=np.float64)
        return dead, saturated

    def bar_lengths(self) -> tuple[np.ndarray, np.ndarray]:
        """The dead and the saturated bars' lengths in the table, as shares (0–1) of a full bar."""
        return self._units_table.bar_lengths()

    def units_header(self) -> list[str]:
        """The dead and saturated table's header row: "BN μ / σ" where a layer has batch normalisation, else none."""
        return self._units_table.header()

    def units_rows(self) -> list[tuple[str, ...]]:
        """What the dead and saturated table reads, a row per layer: (layer, share[, BN μ / σ])."""
        return self._units_table.texts()

    def strip_image(self, which: str) -> np.ndarray:
        """The shares (bins × columns) of the strip last drawn: "weights" or "activations"."""
        strip = {"weights": self._weights, "activations": self._outputs}[which]
        return strip.columns.copy()

    def strip_range(self, which: str) -> tuple[float, float]:
        """The values (bottom, top) the strip's image spans on its y axis."""
        strip = {"weights": self._weights, "activations": self._outputs}[which]
        rect = strip.image.mapRectToParent(strip.image.boundingRect())
        return rect.top(), rect.bottom()

    def last_redraw_seconds(self) -> float:
        """How long the latest redraw took (for the benchmark and the tests)."""
        return self._last_redraw_seconds
