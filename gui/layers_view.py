"""Layers: what every Dense layer's gradients, weights and activations do while a run trains.

The view is fed `models.instruments.readings.InstrumentReading`s (``add_reading``
while training, ``set_readings`` for a whole run read from a file). Each reading
only goes into growable numpy buffers; a 100 ms single-shot timer hands the
changed curves to pyqtgraph, and only the chosen layer's strips are rebuilt, so
hundreds of readings never stall the window.

- top left: ‖∂loss/∂W‖ per layer on a log axis, with a caption that says
  whether gradients vanish or explode on the way back;
- top right: the update ratio ‖ΔW‖ / ‖W‖ per step, beside the healthy 1e-3;
- bottom: the chosen layer's weights and activations over time (a strip per
  reading, as TensorBoard's distributions: darker = more of the layer's values),
  and the dead and saturated shares of every layer at the latest reading.
"""

from __future__ import annotations

import html
import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
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
    if not (first > 0 and last > 0 and math.isfinite(first) and math.isfinite(last)):
        return ""
    ratio = first / last
    if ratio < VANISHING_RATIO:
        return tr("The first layer's gradient is {fraction} of the last's: gradients vanish on the way back.",
                  fraction=short_fraction(ratio))
    if ratio > EXPLODING_RATIO:
        return tr("The first layer's gradient is {times}× the last's: gradients explode on the way back.",
                  times=f"{ratio:,.0f}")
    if ratio < 1:
        return tr("The first layer's gradient is {fraction} of the last's: gradients reach every layer.",
                  fraction=short_fraction(ratio))
    return tr("The first layer's gradient is {times}× the last's: gradients reach every layer.",
              times=f"{ratio:.2g}")


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


def _plot(title: str, y_label: str, x_label: str, log_y: bool = False) -> pg.PlotWidget:
    """A plot in the training charts' style: white, grey axes, an opaque grid at the major ticks."""
    axes = {"left": _LogAxis("left")} if log_y else None
    plot = pg.PlotWidget(background="w", axisItems=axes)
    plot.setMinimumSize(200, 150)
    item = plot.getPlotItem()
    style_axes(item)
    item.setTitle(title, color=TEXT_COLOR, size="10pt", bold=True)
    item.setLabel("left", y_label, color=TEXT_COLOR)
    item.setLabel("bottom", x_label, color=TEXT_COLOR)
    if log_y:
        item.setLogMode(x=False, y=True)
    return plot


def _legend_html(entries) -> str:
    """A one-paragraph legend: a coloured square before each text, entries kept whole when it wraps."""
    return "&nbsp;&nbsp; ".join(
        f'<span style="color:{colour}; font-size:11pt;">&#9632;</span>&nbsp;'
        + html.escape(text).replace(" ", "&nbsp;")
        for colour, text in entries)


def _caption() -> QLabel:
    label = QLabel("")
    label.setWordWrap(True)
    label.setStyleSheet(CAPTION_STYLE)
    return label


class _Strip:
    """One layer quantity (weights or activations) over time: a heat image with the median drawn on it."""

    def __init__(self, title: str, y_label: str):
        self.plot = _plot(title, y_label, tr("epoch"))
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
        self._gradient_plot = _plot(tr("Gradient norm per layer (log scale)"), tr("‖∂loss/∂W‖"), tr("epoch"),
                                    log_y=True)
        self._gradient_caption = _caption()
        # One legend for both plots above it, outside them, so it never hides a line.
        self._legend_label = QLabel("")
        self._legend_label.setWordWrap(True)
        self._legend_label.setTextFormat(Qt.TextFormat.RichText)
        self._legend_label.setStyleSheet(CAPTION_STYLE)

        self._update_plot = _plot(tr("Update ratio per step (log scale)"), tr("‖ΔW‖ / ‖W‖"), tr("epoch"),
                                  log_y=True)
        update_item = self._update_plot.getPlotItem()
        self._healthy_line = pg.InfiniteLine(
            pos=math.log10(HEALTHY_UPDATE_RATIO), angle=0, movable=False,
            pen=pg.mkPen("#707070", width=1.5, style=Qt.PenStyle.DashLine),
            label=tr("≈1e-3 healthy"),
            labelOpts={"position": 0.02, "color": "#505050", "anchors": [(0, 0), (0, 0)]})
        update_item.addItem(self._healthy_line, ignoreBounds=True)
        # Invisible, so that the automatic range always reaches the healthy line.
        self._healthy_anchor = pg.PlotDataItem([0.0], [HEALTHY_UPDATE_RATIO], pen=None, symbol=None)
        update_item.addItem(self._healthy_anchor)
        self._update_caption = _caption()

        self._layer_box = QComboBox()
        self._layer_box.setToolTip(tr("The layer whose weights and activations are drawn below."))
        self._layer_box.currentIndexChanged.connect(self._layer_chosen)
        layer_label = QLabel(tr("Layer"))
        layer_label.setBuddy(self._layer_box)
        self._weights = _Strip(tr("Weights distribution"), tr("weight value"))
        self._outputs = _Strip(tr("Activations distribution"), tr("activation value"))
        strip_caption = QLabel(tr("One column per reading: the darker, the more of the layer's values lie there; "
                                  "the orange line is the median."))
        strip_caption.setWordWrap(True)
        strip_caption.setStyleSheet(CAPTION_STYLE)

        self._bars_plot = _plot(tr("Dead and saturated units"), tr("% of the layer's units"), tr("layer"))
        bars_item = self._bars_plot.getPlotItem()
        bars_item.setMouseEnabled(False, False)
        bars_item.hideButtons()
        bars_item.setYRange(0, 110, padding=0)
        bars_item.getAxis("left").setTicks([[(v, f"{v}") for v in (0, 25, 50, 75, 100)]])
        self._dead_bars = pg.BarGraphItem(x=[], height=[], width=0.38, brush=DEAD_COLOUR, pen=None)
        self._saturated_bars = pg.BarGraphItem(x=[], height=[], width=0.38, brush=SATURATED_COLOUR, pen=None)
        bars_item.addItem(self._dead_bars)
        bars_item.addItem(self._saturated_bars)
        self._bars_legend = QLabel(_legend_html([(DEAD_COLOUR, tr("dead (ReLU)")),
                                                 (SATURATED_COLOUR, tr("saturated (sigmoid, tanh)"))]))
        self._bars_legend.setWordWrap(True)
        self._bars_legend.setStyleSheet(CAPTION_STYLE)
        self._bar_texts: list[pg.TextItem] = []
        self._bars_caption = _caption()
        self._batch_norm_label = _caption()

        top = QHBoxLayout()
        top.setSpacing(8)
        for plot, caption in ((self._gradient_plot, self._gradient_caption),
                              (self._update_plot, self._update_caption)):
            column = QVBoxLayout()
            column.setSpacing(2)
            column.addWidget(plot, 1)
            column.addWidget(caption)
            top.addLayout(column, 1)

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
        units.setSpacing(2)
        units.addWidget(self._bars_plot, 1)
        units.addWidget(self._bars_legend)
        units.addWidget(self._bars_caption)
        units.addWidget(self._batch_norm_label)
        bottom = QHBoxLayout()
        bottom.setSpacing(8)
        bottom.addLayout(chosen, 2)
        bottom.addLayout(units, 1)

        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(top, 1)
        layout.addWidget(self._legend_label)
        layout.addLayout(bottom, 1)
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
        colours = self._layer_colours(len(layers))
        self._legend_label.setText(_legend_html(zip((colour.name() for colour in colours), self._titles)))
        self._gradient_curves, self._update_curves = [], []
        for colour in colours:
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
            self._layer_box.addItems(self._titles)
            self._layer_box.setCurrentIndex(0 if layers else -1)
        bars_item = self._bars_plot.getPlotItem()
        for text in self._bar_texts:
            bars_item.removeItem(text)
        self._bar_texts = []
        for _ in range(2 * len(layers)):
            text = pg.TextItem(anchor=(0.5, 1.0), color=TEXT_COLOR)
            bars_item.addItem(text, ignoreBounds=True)
            self._bar_texts.append(text)
        ticks = [(i, str(i + 1)) for i in range(len(layers) - 1)] + ([(len(layers) - 1, tr("out"))] if layers else [])
        bars_item.getAxis("bottom").setTicks([ticks])
        bars_item.setXRange(-0.6, max(len(layers), 1) - 0.4, padding=0)

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
        positions = np.arange(len(dead), dtype=np.float64)
        self._dead_bars.setOpts(x=positions - 0.2, height=np.nan_to_num(dead * 100))
        self._saturated_bars.setOpts(x=positions + 0.2, height=np.nan_to_num(saturated * 100))
        for layer, pair in enumerate(zip(dead, saturated)):
            for kind, (share, offset) in enumerate(zip(pair, (-0.2, 0.2))):
                text = self._bar_texts[2 * layer + kind]
                text.setText("–" if math.isnan(share) else f"{share * 100:.0f}")
                text.setPos(layer + offset, 0.0 if math.isnan(share) else share * 100)

    def _write_captions(self) -> None:
        if self._epochs.size == 0 or not self._latest:
            for label in (self._gradient_caption, self._update_caption, self._bars_caption, self._batch_norm_label):
                label.setText("")
            return
        latest_gradients = self._gradient_norms.values[-1]
        first, last = float(latest_gradients[0]), float(latest_gradients[-1])
        if len(latest_gradients) > 1:
            self._gradient_caption.setText(gradient_caption(first, last))
        else:
            self._gradient_caption.setText(tr("One layer only: no layer lies further back to compare."))
        troubled = len(latest_gradients) > 1 and first > 0 and last > 0 and not (
            VANISHING_RATIO <= first / last <= EXPLODING_RATIO)
        self._gradient_caption.setStyleSheet(WARNING_STYLE if troubled else CAPTION_STYLE)
        self._update_caption.setText(update_caption(self._update_ratios.values[-1]))
        self._bars_caption.setText(self._units_sentence())
        batch_norm = [
            tr("{layer}: mean {mean}, std {std}", layer=self._short_name(layer.layer),
               mean=f"{layer.batch_norm_mean:.2f}", std=f"{layer.batch_norm_std:.2f}")
            for layer in self._latest
            if layer.batch_norm_mean is not None and layer.batch_norm_std is not None
        ]
        self._batch_norm_label.setVisible(bool(batch_norm))
        self._batch_norm_label.setText(
            tr("After batch normalisation (ideal: mean 0, std 1): {layers}", layers="; ".join(batch_norm))
            if batch_norm else "")

    def _short_name(self, index: int) -> str:
        if index == len(self._latest) - 1:
            return tr("output")
        return tr("layer {number}", number=index + 1)

    def _units_sentence(self) -> str:
        dead, saturated = self.bar_values()
        worst_dead = int(np.nanargmax(dead)) if np.isfinite(dead).any() else -1
        worst_saturated = int(np.nanargmax(saturated)) if np.isfinite(saturated).any() else -1
        if worst_dead >= 0 and dead[worst_dead] >= LARGE_SHARE:
            return tr("{share} of {layer}'s units are dead: they output 0 for every probe row and no longer learn.",
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
        """The layers' names as the legend and the chooser show them."""
        return list(self._titles)

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
        """The sentences under the plots: "gradient", "update", "units" and "batch_norm"."""
        return {"gradient": self._gradient_caption.text(), "update": self._update_caption.text(),
                "units": self._bars_caption.text(), "batch_norm": self._batch_norm_label.text()}

    def bar_values(self) -> tuple[np.ndarray, np.ndarray]:
        """The dead and the saturated share (0–1) of each layer at the latest reading; NaN where it does not apply."""
        dead = np.array([_number(layer.dead_fraction) for layer in self._latest], dtype=np.float64)
        saturated = np.array([_number(layer.saturated_fraction) for layer in self._latest], dtype=np.float64)
        return dead, saturated

    def bar_heights(self) -> tuple[np.ndarray, np.ndarray]:
        """The heights (per cent) the dead and the saturated bars are drawn at."""
        return (np.array(self._dead_bars.opts["height"], dtype=np.float64),
                np.array(self._saturated_bars.opts["height"], dtype=np.float64))

    def bar_labels(self) -> list[str]:
        """The numbers written on the bars: dead then saturated, layer by layer."""
        return [text.textItem.toPlainText() for text in self._bar_texts]

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
