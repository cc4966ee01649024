"""Live loss and metric charts for a training run.

The training side hands over plain numbers (``add_batch``, ``add_epoch``); they
go into growable numpy buffers and nothing is drawn until a 50 ms throttle
timer fires, so a fast run with hundreds of thousands of batches never floods
the GUI thread with repaints.
"""

from __future__ import annotations

import contextlib
import math
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QCoreApplication,
    QEvent,
    QIODevice,
    QSignalBlocker,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from gui.finding_marks import FindingMarks
from gui.i18n import error_text, tr
from models.files import atomic_path

TRAINING_COLOR = (31, 119, 180)  # blue
VALIDATION_COLOR = (255, 127, 14)  # orange
BATCH_ALPHA = 90
TEXT_COLOR = "#303030"
AXIS_COLOR = "#8a8a8a"
GRID_COLOR = "#e8e8e8"

REDRAW_INTERVAL_MS = 50
# The live charts take at most this share of the window's time: a redraw that cost c waits c / share.
REDRAW_SHARE = 0.25
# An epoch curve keeps its round markers up to this many points; beyond, they are a smear that costs
# a third of each paint.
MARKED_POINTS_AT_MOST = 60
DEFAULT_SMOOTHING = 0.6
MAX_SMOOTHING = 0.99

SERIES_NAMES = ("batch_loss", "loss", "val_loss", "batch_metric", "metric", "val_metric")
SAVE_FORMATS = (".png", ".svg")
PREVIOUS_SERIES = ("loss", "val_loss", "metric", "val_metric")

METRIC_TITLES = {"accuracy": "Accuracy", "mae": "MAE"}
METRIC_AXIS_LABELS = {"accuracy": "accuracy", "mae": "MAE"}
# Keras names a metric after its class or function as often as after the short
# string it was compiled with; any of these in the logs means the same thing.
METRIC_LOG_KEYS = {
    "accuracy": (
        "accuracy",
        "acc",
        "sparse_categorical_accuracy",
        "categorical_accuracy",
        "binary_accuracy",
    ),
    "mae": ("mae", "mean_absolute_error"),
}



def _epoch_curve(name: str, colour) -> pg.PlotDataItem:
    """A bold per-epoch curve with round markers."""
    return pg.PlotDataItem(
        name=name,
        pen=pg.mkPen(_color(colour), width=2.5),
        symbol="o",
        symbolSize=7,
        symbolBrush=pg.mkBrush(_color(colour)),
        symbolPen=pg.mkPen("w", width=1),
        antialias=True,
    )

def _mark_points_while_few(curve: pg.PlotDataItem, points: int) -> None:
    """Round markers on an epoch curve of at most `MARKED_POINTS_AT_MOST` points, none on a longer one."""
    symbol = "o" if points <= MARKED_POINTS_AT_MOST else None
    if curve.opts["symbol"] != symbol:
        curve.setSymbol(symbol)


class _Series:
    """An append-only pair of float64 arrays that doubles its capacity when full."""

    __slots__ = ("_x", "_y", "size")

    def __init__(self, capacity: int = 1024):
        self._x = np.empty(capacity)
        self._y = np.empty(capacity)
        self.size = 0

    def append(self, x: float, y: float) -> None:
        if self.size == len(self._x):
            self._grow()
        self._x[self.size] = x
        self._y[self.size] = y
        self.size += 1

    def _grow(self) -> None:
        # New arrays rather than resizing in place: a curve may still hold a view
        # of the old ones until its next setData.
        capacity = 2 * len(self._x)
        x = np.empty(capacity)
        y = np.empty(capacity)
        x[: self.size] = self._x[: self.size]
        y[: self.size] = self._y[: self.size]
        self._x, self._y = x, y

    @property
    def x(self) -> np.ndarray:
        return self._x[: self.size]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self.size]

    def clear(self, capacity: int = 1024) -> None:
        self._x = np.empty(capacity)
        self._y = np.empty(capacity)
        self.size = 0


def debiased_ema(
    values: np.ndarray, weight: float, last: float = 0.0, count: int = 0
) -> tuple[np.ndarray, float, int]:
    """Smooths values with TensorBoard's debiased exponential moving average.

    ``s_t = w·s_(t-1) + (1-w)·x_t`` starting from 0, divided by ``1 - w^t`` so
    the first points are not pulled towards zero. Non-finite values pass
    through unchanged and do not enter the average.

    Args:
        values: the raw values.
        weight: the smoothing weight ``w`` in [0, 1); 0 returns the values.
        last: the running (biased) average before ``values[0]``, to continue an
            earlier call. Defaults to `0.0`.
        count: how many finite values that running average has seen.
            Defaults to `0`.

    Returns:
        The smoothed values (a new array), and the ``last`` and ``count`` to pass
        to the next call for the values that follow.
    """
    out = np.array(values, dtype=np.float64, copy=True)
    if weight <= 0.0 or out.size == 0:
        return out, last, count
    finite = np.isfinite(out)
    all_finite = bool(finite.all())
    raw = out if all_finite else out[finite]
    smoothed = np.empty_like(raw)
    # Vectorised per chunk: s_i = w^(i+1)·last + (1-w)·w^i·Σ_(j≤i) x_j·w^(-j).
    # The chunk is kept short enough that w^(-j) stays below 1e150.
    chunk = max(1, int(150.0 / -math.log10(weight)))
    for start in range(0, raw.size, chunk):
        segment = raw[start : start + chunk]
        steps = np.arange(segment.size, dtype=np.float64)
        power = weight**steps  # w^i
        running = weight * power * last + (1.0 - weight) * power * np.cumsum(segment / power)
        seen = count + steps + 1.0
        smoothed[start : start + segment.size] = running / (1.0 - weight**seen)
        last = float(running[-1])
        count += segment.size
    if all_finite:
        return smoothed, last, count
    out[finite] = smoothed
    return out, last, count


class _Smoother:
    """The smoothed copy of one series, extended as points arrive."""

    def __init__(self):
        self.weight = 0.0
        self.reset()

    def reset(self) -> None:
        self._values = np.empty(0)
        self._done = 0
        self._last = 0.0
        self._count = 0

    def smoothed(self, series: _Series, weight: float) -> np.ndarray:
        if weight <= 0.0:
            return series.y
        if weight != self.weight or series.size < self._done:
            self.weight = weight
            self.reset()
        if series.size > self._done:
            fresh, self._last, self._count = debiased_ema(
                series.y[self._done :], weight, self._last, self._count
            )
            if len(self._values) < series.size:
                grown = np.empty(max(series.size, 2 * len(self._values), 1024))
                grown[: self._done] = self._values[: self._done]
                self._values = grown
            self._values[self._done : series.size] = fresh
            self._done = series.size
        return self._values[: self._done]


def _previous_curve(colour) -> pg.PlotDataItem:
    """A pale dashed per-epoch curve for the previous run."""
    return pg.PlotDataItem(pen=pg.mkPen(_faint(colour), width=2, style=Qt.PenStyle.DashLine), antialias=True)


def _color(rgb: tuple[int, int, int], alpha: int = 255) -> tuple[int, int, int, int]:
    return (*rgb, alpha)


def _faint(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """The opaque colour that ``rgb`` at BATCH_ALPHA shows on a white background.

    Qt's raster engine strokes a translucent pen about ten times slower than an
    opaque one, and the per-batch line is redrawn twenty times a second.
    """
    return tuple(round(255 + (c - 255) * BATCH_ALPHA / 255) for c in rgb)


_CLOSE_PATH = re.compile(r"(?<!\S)[Zz](?=\s|$)")
_CLOSE_PATH_DUMMY = re.compile(r"Z[-+0-9.eE,]*")


@contextlib.contextmanager
def _svg_close_path_fix() -> Iterator[None]:
    """Lets pyqtgraph's SVG exporter read the "Z" (close path) that Qt writes.

    pyqtgraph 0.14.0 expects every token of a path to be an "x,y" pair and
    fails on Qt 6.12's bare "Z" (pyqtgraph issue #3495), so no plot could be
    saved as SVG. For the length of one export, each "Z" is handed over as
    "Z0,0" and the dummy pair is dropped again afterwards.
    """
    module = sys.modules.get("pyqtgraph.exporters.SVGExporter")
    original = getattr(module, "correctCoordinates", None)
    if original is None:
        yield
        return

    def correct_coordinates(node, defs, item, options):
        paths = node.getElementsByTagName("path")
        for path in paths:
            path.setAttribute("d", _CLOSE_PATH.sub("Z0,0", path.getAttribute("d")))
        original(node, defs, item, options)
        for path in paths:
            path.setAttribute("d", _CLOSE_PATH_DUMMY.sub("Z", path.getAttribute("d")))

    module.correctCoordinates = correct_coordinates
    try:
        yield
    finally:
        module.correctCoordinates = original


def style_axes(item: pg.PlotItem) -> None:
    """Grey axes and an opaque light grid at the major ticks, as every chart of the window has them.

    Only the major ticks: pyqtgraph's default translucent grid costs ~15 ms a
    repaint in Qt's raster engine.
    """
    item.showGrid(x=True, y=True, alpha=1.0)
    for side in ("left", "bottom"):
        axis = item.getAxis(side)
        axis.setPen(pg.mkPen(AXIS_COLOR))
        axis.setTextPen(pg.mkPen(TEXT_COLOR))
        axis.setTickPen(pg.mkPen(GRID_COLOR))
        axis.setStyle(tickAlpha=255, maxTickLevel=0)
        # Behind the view box (z -100), so the grid lies under curves and legend.
        axis.setZValue(-200)
        axis.enableAutoSIPrefix(False)


class TimedPlotWidget(pg.PlotWidget):
    """A PlotWidget that remembers how long its last paint took, so live drawing can pace itself
    (see `REDRAW_SHARE`)."""

    last_paint_s = 0.0

    def paintEvent(self, event):  # noqa: N802 (Qt's name)
        started = time.perf_counter()
        super().paintEvent(event)
        self.last_paint_s = time.perf_counter() - started


def paced_interval_ms(cost_s: float, least_ms: int) -> int:
    """How long to wait before the next live redraw that cost ``cost_s`` (its work and its paint)."""
    return max(least_ms, round(cost_s * 1000 / REDRAW_SHARE))


class _PlotWidget(TimedPlotWidget):
    """A PlotWidget that says when the mouse leaves it, so the hover marks can go."""

    sigMouseLeft = Signal()

    def leaveEvent(self, event):
        super().leaveEvent(event)
        self.sigMouseLeft.emit()


class _Panel:
    """One plot with its per-batch, training and validation curves and hover marks."""

    def __init__(self, title: str, y_label: str, names: tuple[str, str, str]):
        self.batch_name, self.train_name, self.val_name = names
        self.plot = _PlotWidget(background="w")
        self.plot.setMinimumSize(240, 180)
        item = self.plot.getPlotItem()
        item.setMenuEnabled(True)
        style_axes(item)
        item.setLabel("bottom", tr("epoch"), color=TEXT_COLOR)
        self.set_titles(title, y_label)
        self.legend = item.addLegend(
            offset=(-8, 8),
            # A little see-through: a run's curves may pass behind it.
            brush=pg.mkBrush(255, 255, 255, 200),
            pen=pg.mkPen(210, 210, 210),
            labelTextColor=TEXT_COLOR,
            labelTextSize="9pt",
        )

        self.train_curve = _epoch_curve(tr("training"), TRAINING_COLOR)
        self.val_curve = _epoch_curve(tr("validation"), VALIDATION_COLOR)
        # Hundreds of thousands of points: thin, no antialiasing, and reduced to
        # about two points per pixel column before Qt sees them.
        self.batch_curve = pg.PlotDataItem(
            name=tr("training, per batch"),
            pen=pg.mkPen(_faint(TRAINING_COLOR), width=1),
            antialias=False,
            skipFiniteCheck=True,
            autoDownsampleFactor=1.0,
        )
        self.batch_curve.setZValue(-1)
        # The previous run's epoch curves, dashed and pale, to compare settings
        # run after run; in the legend only while there is one.
        self.previous_curves = {
            self.train_name: _previous_curve(TRAINING_COLOR),
            self.val_name: _previous_curve(VALIDATION_COLOR),
        }
        for curve in (*self.previous_curves.values(), self.train_curve, self.val_curve, self.batch_curve):
            item.addItem(curve)
        for curve in self.previous_curves.values():
            curve.setZValue(-2)
            self.legend.removeItem(curve)
        # After addItem, which hands every curve the plot's own (menu) settings.
        self.batch_curve.setDownsampling(auto=True, method="peak")
        self.batch_curve.setClipToView(True)
        self.curves = {
            self.batch_name: self.batch_curve,
            self.train_name: self.train_curve,
            self.val_name: self.val_curve,
        }
        self.plotted: dict[str, tuple[np.ndarray, np.ndarray]] = {}

        self.crosshair = pg.InfiniteLine(
            angle=90,
            movable=False,
            pen=pg.mkPen(120, 120, 120, 160, width=1, style=Qt.PenStyle.DashLine),
        )
        self.marker = pg.PlotDataItem(
            symbol="o",
            symbolSize=11,
            symbolBrush=pg.mkBrush(255, 255, 255, 0),
            symbolPen=pg.mkPen(TEXT_COLOR, width=1.5),
            pen=None,
            antialias=True,
        )
        for mark in (self.crosshair, self.marker):
            item.addItem(mark, ignoreBounds=True)
            mark.setZValue(10)
        self.hide_hover()

    def show_previous(self, name: str, x: np.ndarray, y: np.ndarray) -> None:
        """Draws (or, with no points, removes) the previous run's curve of series ``name``.

        One legend entry stands for both dashed curves (same colours as now).
        """
        self.previous_curves[name].setData(x, y)
        entry = self.previous_curves[self.train_name]
        self.legend.removeItem(entry)
        if any(curve.getOriginalDataset()[0] is not None and len(curve.getOriginalDataset()[0])
               for curve in self.previous_curves.values()):
            self.legend.addItem(entry, tr("previous run (dashed)"))

    def set_titles(self, title: str, y_label: str) -> None:
        item = self.plot.getPlotItem()
        item.setTitle(tr(title), color=TEXT_COLOR, size="11pt", bold=True)
        item.setLabel("left", tr(y_label), color=TEXT_COLOR)

    def set_legend_corner(self, bottom: bool) -> None:
        self.legend.setOffset((-8, -8) if bottom else (-8, 8))

    def hide_hover(self) -> None:
        self.crosshair.hide()
        self.marker.hide()

    def nearest_point(self, scene_pos, log_y: bool) -> tuple[str, float, float] | None:
        """The plotted point nearest the mouse, as (series name, x, y), or None."""
        view = self.plot.getPlotItem().getViewBox()
        if not view.sceneBoundingRect().contains(scene_pos):
            return None
        mouse = view.mapSceneToView(scene_pos)
        rect = view.viewRect()
        width = rect.width() or 1.0
        height = rect.height() or 1.0
        best: tuple[float, str, float, float] | None = None
        for name, (xs, ys) in self.plotted.items():
            if len(xs) == 0 or not self.curves[name].isVisible():
                continue
            index = int(np.searchsorted(xs, mouse.x()))
            for i in (index - 1, index):
                if not 0 <= i < len(xs):
                    continue
                x, y = float(xs[i]), float(ys[i])
                shown_y = (math.log10(y) if y > 0 else math.nan) if log_y else y
                if not math.isfinite(shown_y):
                    continue
                distance = ((x - mouse.x()) / width) ** 2 + ((shown_y - mouse.y()) / height) ** 2
                if best is None or distance < best[0]:
                    best = (distance, name, x, y)
        return None if best is None else best[1:]

    def show_hover(self, x: float, y: float) -> None:
        self.crosshair.setPos(x)
        self.marker.setData([x], [y])
        self.crosshair.show()
        self.marker.show()


class TrainingCharts(QWidget):
    """Loss and metric (accuracy or MAE) curves of a training run, per batch and per epoch.

    Feed it from the GUI thread with ``add_batch`` and ``add_epoch``; both only
    append to buffers. A 50 ms single-shot timer, started by the first change
    after a redraw, hands the changed curves to pyqtgraph; while the widget is
    hidden the changes wait until it is shown. ``redraw_now`` draws at once,
    shown or not.

    Signals:
        message(str): a sentence for the status bar, e.g. after saving a chart
            or when a save failed.
    """

    message = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._metric = "accuracy"
        self._smoothing = DEFAULT_SMOOTHING
        self._log_y = False
        self._last_save_dir = Path.home()
        self._series = {name: _Series() for name in SERIES_NAMES}
        self._previous: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._previous_metric = ""
        self._smoothers = {"batch_loss": _Smoother(), "batch_metric": _Smoother()}
        self._dirty: set[str] = set()

        self._loss = _Panel("Loss", "loss", ("batch_loss", "loss", "val_loss"))
        self._metric_panel = _Panel(
            METRIC_TITLES["accuracy"],
            METRIC_AXIS_LABELS["accuracy"],
            ("batch_metric", "metric", "val_metric"),
        )
        self._metric_panel.set_legend_corner(bottom=True)
        self._panels = {"loss": self._loss, "metric": self._metric_panel}
        self._curve_owner = {
            name: panel for panel in self._panels.values() for name in panel.curves
        }

        # The diagnosis' findings, each a line at the epoch it was first seen.
        self.finding_marks = FindingMarks(self._loss.plot.getPlotItem())
        self._build_toolbar()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(self._toolbar)
        plots = QHBoxLayout()
        plots.setSpacing(6)
        plots.addWidget(self._loss.plot, 1)
        plots.addWidget(self._metric_panel.plot, 1)
        layout.addLayout(plots, 1)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REDRAW_INTERVAL_MS)
        self._timer.timeout.connect(self._redraw_if_visible)
        self._last_drawn = -1

        for panel in self._panels.values():
            panel.plot.sigMouseLeft.connect(self._on_mouse_left)
        # Hit-testing every mouse event against 500k points is wasteful; 30 a
        # second is smooth enough for a readout.
        self._mouse_proxies = [
            pg.SignalProxy(
                self._loss.plot.scene().sigMouseMoved,
                rateLimit=30,
                slot=self._on_loss_mouse_moved,
                threadSafe=False,
            ),
            pg.SignalProxy(
                self._metric_panel.plot.scene().sigMouseMoved,
                rateLimit=30,
                slot=self._on_metric_mouse_moved,
                threadSafe=False,
            ),
        ]

    # ----------------------------------------------------------------- layout

    def _build_toolbar(self) -> None:
        self._toolbar = QHBoxLayout()
        self._toolbar.setContentsMargins(4, 2, 4, 0)
        self._toolbar.setSpacing(8)

        self._log_check = QCheckBox(tr("log scale"))
        self._log_check.setToolTip(tr(
            "Show the loss on a logarithmic axis, so that small late improvements stay "
            "visible. Loss values of zero or below cannot be drawn on it and are left out."
        ))
        self._log_check.toggled.connect(self.set_log_y)

        smoothing_tip = tr(
            "Smooth the faint per-batch curves with an exponential moving average, as "
            "TensorBoard does: 0 shows the raw values, 0.99 averages over roughly the last "
            "hundred batches. The per-epoch curves and the recorded values are not changed."
        )
        smoothing_label = QLabel(tr("smoothing"))
        smoothing_label.setToolTip(smoothing_tip)
        self._smoothing_slider = QSlider(Qt.Orientation.Horizontal)
        self._smoothing_slider.setRange(0, round(MAX_SMOOTHING * 100))
        self._smoothing_slider.setFixedWidth(120)
        self._smoothing_slider.setToolTip(smoothing_tip)
        self._smoothing_spin = QDoubleSpinBox()
        self._smoothing_spin.setRange(0.0, MAX_SMOOTHING)
        self._smoothing_spin.setSingleStep(0.05)
        self._smoothing_spin.setDecimals(2)
        self._smoothing_spin.setToolTip(smoothing_tip)
        smoothing_label.setBuddy(self._smoothing_spin)
        self._sync_smoothing_controls()
        self._smoothing_slider.valueChanged.connect(lambda v: self.set_smoothing(v / 100.0))
        self._smoothing_spin.valueChanged.connect(self.set_smoothing)

        self._readout = QLabel("")
        self._readout.setToolTip(tr(
            "The value of the curve point nearest the mouse pointer in either chart."
        ))
        # Small enough that the window fits a 1366-pixel laptop screen; the label
        # takes whatever room the row has left.
        self._readout.setMinimumWidth(100)
        self._readout.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

        self._save_button = QPushButton(tr("Save chart…"))
        self._save_button.setToolTip(tr(
            "Save the loss chart or the metric chart as a PNG image or an SVG drawing."
        ))
        self._save_menu = QMenu(self._save_button)
        self._save_loss_action = self._save_menu.addAction(tr("Loss chart…"))
        self._save_loss_action.setToolTip(tr("Save the loss chart as PNG or SVG."))
        self._save_loss_action.triggered.connect(lambda: self._save_chart_interactively("loss"))
        self._save_metric_action = self._save_menu.addAction("")
        self._save_metric_action.triggered.connect(lambda: self._save_chart_interactively("metric"))
        self._save_menu.setToolTipsVisible(True)
        self._save_button.setMenu(self._save_menu)
        self._update_metric_texts()

        for widget in (self._log_check, smoothing_label):
            self._toolbar.addWidget(widget)
        self._toolbar.addWidget(self._smoothing_slider)
        self._toolbar.addWidget(self._smoothing_spin)
        self._toolbar.addStretch(1)
        self._toolbar.addWidget(self._readout)
        self._toolbar.addWidget(self._save_button)

    def _chart_title(self, which: str) -> str:
        """How a sentence names a chart: "loss", "accuracy" or "MAE"."""
        if which == "loss":
            return tr("loss")
        return tr(METRIC_AXIS_LABELS.get(self._metric, self._metric))

    def _update_metric_texts(self) -> None:
        self._save_metric_action.setText(tr("{title} chart…", title=tr(METRIC_TITLES.get(self._metric, self._metric))))
        self._save_metric_action.setToolTip(tr("Save the {title} chart as PNG or SVG.", title=self._chart_title("metric")))

    # --------------------------------------------------------------- data API

    def clear(self, keep_as_previous: bool = True) -> None:
        """Forgets every point, e.g. before a new run.

        Args:
            keep_as_previous: keep the finished run's epoch curves, drawn dashed as
                "previous run", so the next run can be compared with it.
                Defaults to `True`.
        """
        if keep_as_previous and self._series["loss"].size:
            self._previous = {name: (self._series[name].x.copy(), self._series[name].y.copy())
                              for name in PREVIOUS_SERIES}
            self._previous_metric = self._metric
        self._show_previous()
        for series in self._series.values():
            series.clear()
        for smoother in self._smoothers.values():
            smoother.reset()
        for panel in self._panels.values():
            panel.hide_hover()
            panel.plot.getPlotItem().enableAutoRange()
        self._readout.setText("")
        self.finding_marks.clear()
        self._mark_dirty(*SERIES_NAMES)

    def add_batch(self, x_epoch: float, loss: float, metric: float | None = None) -> None:
        """Records one batch's training loss and metric.

        Args:
            x_epoch: where the batch sits on the epoch axis,
                ``epoch - 1 + step / steps_per_epoch``.
            loss: the batch's (running) training loss.
            metric: the batch's training accuracy or MAE; None when not known.
        """
        self._series["batch_loss"].append(x_epoch, loss)
        if metric is None:
            self._mark_dirty("batch_loss")
            return
        self._series["batch_metric"].append(x_epoch, metric)
        self._mark_dirty("batch_loss", "batch_metric")

    def add_epoch(self, epoch: int, logs: dict) -> None:
        """Records the end-of-epoch values Keras reports.

        Args:
            epoch: the epoch just finished, counting from 1.
            logs: Keras' epoch logs, e.g. ``{"loss": .., "accuracy": ..,
                "val_loss": .., "val_accuracy": ..}``; missing keys are skipped.
        """
        metric_keys = METRIC_LOG_KEYS.get(self._metric, (self._metric,))
        wanted = {
            "loss": ("loss",),
            "val_loss": ("val_loss",),
            "metric": metric_keys,
            "val_metric": tuple(f"val_{key}" for key in metric_keys),
        }
        changed = []
        for name, keys in wanted.items():
            value = next((logs[key] for key in keys if logs.get(key) is not None), None)
            if value is None:
                continue
            self._series[name].append(float(epoch), float(value))
            changed.append(name)
        self._mark_dirty(*changed)

    def forget_previous(self) -> None:
        """Removes the previous run's curves (another data set makes them meaningless)."""
        self._previous = {}
        self._show_previous()

    def previous_data(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The previous run's (x, y) of an epoch series ("loss", "val_loss", "metric", "val_metric")."""
        return self._previous.get(name, (np.empty(0), np.empty(0)))

    def _show_previous(self) -> None:
        for name in PREVIOUS_SERIES:
            x, y = self.previous_data(name)
            if name in ("metric", "val_metric") and self._previous_metric != self._metric:
                x, y = np.empty(0), np.empty(0)  # another metric: not comparable
            self._curve_owner[name].show_previous(name, x, y)

    def _mark_dirty(self, *names: str) -> None:
        self._dirty.update(names)
        if self._dirty and not self._timer.isActive():
            self._timer.start()

    def redraw_now(self) -> None:
        """Hands every changed curve to pyqtgraph at once instead of waiting for the timer."""
        self._timer.stop()
        self._redraw_dirty()

    def _redraw_if_visible(self) -> None:
        # A hidden chart (another tab) keeps its changes until it is shown again.
        if not self.isVisible():
            return
        # One chart per turn of the event loop: both painted in one turn kept the window from
        # answering for 40-90 ms at a time while a small network reported 30 epochs a second.
        panel = self._next_panel_to_draw()
        started = time.perf_counter()
        self._redraw_dirty(panel)
        # The scene's queued updates, and with them the paint, happen now rather than in the next
        # batch of queued calls, where the other chart's could join them.
        QCoreApplication.sendPostedEvents(panel.plot.scene(), QEvent.Type.MetaCall)
        # Redrawing and painting thousands of points costs 10-25 ms: the next redraw waits so that
        # the charts take at most REDRAW_SHARE of the window's time.
        cost = time.perf_counter() - started
        interval = paced_interval_ms(cost, REDRAW_INTERVAL_MS // len(self._panels))
        self._timer.setInterval(interval)
        if self._dirty:
            self._timer.start()

    def _next_panel_to_draw(self) -> _Panel:
        """The panel with changes whose turn it is (the two take turns), or the other one."""
        panels = list(self._panels.values())
        order = panels[self._last_drawn + 1:] + panels[:self._last_drawn + 1]
        for panel in order:
            if any(self._curve_owner[name] is panel for name in self._dirty):
                self._last_drawn = panels.index(panel)
                return panel
        return order[0]

    def showEvent(self, event):
        super().showEvent(event)
        if self._dirty and not self._timer.isActive():
            self._timer.start()

    def _redraw_dirty(self, only: _Panel | None = None) -> None:
        """Hands the changed curves (of panel ``only``, or all) to pyqtgraph."""
        dirty = {name for name in self._dirty if only is None or self._curve_owner[name] is only}
        self._dirty -= dirty
        for name in SERIES_NAMES:
            if name not in dirty:
                continue
            series = self._series[name]
            x = series.x
            y = (
                self._smoothers[name].smoothed(series, self._smoothing)
                if name in self._smoothers
                else series.y
            )
            panel = self._curve_owner[name]
            curve = panel.curves[name]
            if name in PREVIOUS_SERIES:
                _mark_points_while_few(curve, len(x))
            curve.setData(x, y)
            panel.plotted[name] = (x, y)

    # ---------------------------------------------------------------- options

    def set_metric(self, name: str) -> None:
        """Chooses the metric drawn in the second chart: "accuracy" or "mae".

        Switching to another metric forgets the points of the old one.
        """
        if name == self._metric:
            return
        self._metric = name
        for series in ("batch_metric", "metric", "val_metric"):
            self._series[series].clear()
        self._smoothers["batch_metric"].reset()
        self._metric_panel.set_titles(
            METRIC_TITLES.get(name, name), METRIC_AXIS_LABELS.get(name, name)
        )
        # Accuracy rises towards the top right, an error falls away from it.
        self._metric_panel.set_legend_corner(bottom=name == "accuracy")
        self._metric_panel.hide_hover()
        self._update_metric_texts()
        self._show_previous()
        self._mark_dirty("batch_metric", "metric", "val_metric")

    def metric_name(self) -> str:
        """The metric drawn in the second chart."""
        return self._metric

    def set_log_y(self, enabled: bool) -> None:
        """Shows the loss on a logarithmic axis; values ≤ 0 are then left out."""
        enabled = bool(enabled)
        with QSignalBlocker(self._log_check):
            self._log_check.setChecked(enabled)
        if enabled == self._log_y:
            return
        self._log_y = enabled
        item = self._loss.plot.getPlotItem()
        item.setLogMode(x=False, y=enabled)
        item.enableAutoRange(y=True)
        self._loss.hide_hover()

    def is_log_y(self) -> bool:
        """Whether the loss axis is logarithmic."""
        return self._log_y

    def set_smoothing(self, weight: float) -> None:
        """Sets the moving-average weight for the per-batch curves, 0 (raw) to 0.99."""
        weight = min(max(float(weight), 0.0), MAX_SMOOTHING)
        weight = round(weight, 2)
        changed = weight != self._smoothing
        self._smoothing = weight
        self._sync_smoothing_controls()
        if changed:
            self._mark_dirty("batch_loss", "batch_metric")

    def smoothing(self) -> float:
        """The moving-average weight for the per-batch curves."""
        return self._smoothing

    def _sync_smoothing_controls(self) -> None:
        with QSignalBlocker(self._smoothing_slider), QSignalBlocker(self._smoothing_spin):
            self._smoothing_slider.setValue(round(self._smoothing * 100))
            self._smoothing_spin.setValue(self._smoothing)

    # ------------------------------------------------------- inspection (tests)

    def plot_items(self) -> dict[str, tuple[pg.PlotItem, pg.LegendItem]]:
        """The loss and metric plots with their legends, for curves drawn from elsewhere (other runs)."""
        return {name: (panel.plot.getPlotItem(), panel.legend) for name, panel in self._panels.items()}

    def points_count(self) -> dict[str, int]:
        """How many points each series holds; "batch" and "epoch" count the loss ones."""
        counts = {name: series.size for name, series in self._series.items()}
        counts["batch"] = counts["batch_loss"]
        counts["epoch"] = counts["loss"]
        return counts

    def curve_data(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the (x, y) arrays last handed to the named curve.

        Args:
            name: one of "batch_loss", "loss", "val_loss", "batch_metric",
                "metric", "val_metric".
        """
        if name not in self._curve_owner:
            raise ValueError(
                f"No curve is called {name!r}; choose one of {', '.join(SERIES_NAMES)}."
            )
        x, y = self._curve_owner[name].curves[name].getOriginalDataset()
        if x is None:
            return np.empty(0), np.empty(0)
        return np.array(x, copy=True), np.array(y, copy=True)

    def raw_data(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the recorded (x, y) values of a series, before any smoothing."""
        series = self._series[name]
        return series.x.copy(), series.y.copy()

    # ------------------------------------------------------------------ hover

    def _on_loss_mouse_moved(self, event) -> None:
        self._show_value_at(self._loss, event[0], self._log_y)

    def _on_metric_mouse_moved(self, event) -> None:
        self._show_value_at(self._metric_panel, event[0], False)

    def _on_mouse_left(self) -> None:
        for panel in self._panels.values():
            panel.hide_hover()
        self._readout.setText("")

    def _show_value_at(self, panel: _Panel, scene_pos, log_y: bool) -> None:
        for other in self._panels.values():
            if other is not panel:
                other.hide_hover()
        found = panel.nearest_point(scene_pos, log_y)
        if found is None:
            panel.hide_hover()
            self._readout.setText("")
            return
        name, x, y = found
        panel.show_hover(x, y)
        self._readout.setText(self._describe_point(name, x, y))

    def _describe_point(self, name: str, x: float, y: float) -> str:
        quantity = "loss" if "loss" in name else self._metric
        if name.startswith("val_"):
            return f"{tr('epoch')} {x:.0f} · {tr('val_' + quantity)} {y:.4g}"
        if name.startswith("batch_"):
            return f"{tr('epoch')} {x:.2f} · {tr(quantity)} {y:.4g}"
        return f"{tr('epoch')} {x:.0f} · {tr(quantity)} {y:.4g}"

    # ------------------------------------------------------------------ saving

    def save_chart(self, which: str, path: str | Path) -> bool:
        """Saves one chart as PNG or SVG (chosen by the suffix), through a temporary file.

        Args:
            which: "loss" or "metric".
            path: the file to write; it must end in ``.png`` or ``.svg``.

        Returns:
            Whether the file was written. Either way ``message`` says what happened.
        """
        title = self._chart_title(which)
        target = Path(path)
        try:
            panel = self._panels.get(which)
            if panel is None:
                raise ValueError(f'there is no chart called "{which}"; use "loss" or "metric"')
            suffix = target.suffix.lower()
            if suffix not in SAVE_FORMATS:
                raise ValueError("the file name must end in .png or .svg")
            self.redraw_now()
            data = self._render(panel, suffix)
            with atomic_path(target) as temporary:
                temporary.write_bytes(data)
        except Exception as error:  # any failure becomes a sentence, never a crash
            reason = error.strerror if isinstance(error, OSError) and error.strerror else error_text(error)
            self.message.emit(tr(
                "Could not save the {title} chart to {target}: {reason}. Choose another folder or file name and try again.",
                title=title, target=target, reason=reason))
            return False
        self._last_save_dir = target.parent
        self.message.emit(tr("Saved the {title} chart to {target}.", title=title, target=target))
        return True

    def image(self, which: str, scale: float = 1.0) -> bytes:
        """One chart ("loss" or "metric") as PNG bytes, as `save_chart` writes it; ``scale`` times as wide as shown."""
        self.redraw_now()
        return self._render(self._panels[which], ".png", scale)

    def chart_title(self, which: str) -> str:
        """A chart's title as the window shows it: "Loss", "Accuracy" or "MAE"."""
        return tr("Loss") if which == "loss" else tr(METRIC_TITLES.get(self._metric, self._metric))

    def _render(self, panel: _Panel, suffix: str, scale: float = 1.0) -> bytes:

        with self._without_hover(panel):
            return figure_bytes(panel.plot.getPlotItem(), suffix, scale)

    @contextlib.contextmanager
    def _without_hover(self, panel: _Panel) -> Iterator[None]:
        """Keeps the crosshair and marker out of a saved chart."""
        shown = panel.crosshair.isVisible()
        panel.hide_hover()
        try:
            yield
        finally:
            if shown:
                panel.crosshair.show()
                panel.marker.show()

    def _ask_save_path(self, which: str) -> str | None:
        """Asks the user where to save a chart; None when cancelled."""
        name = "loss" if which == "loss" else self._metric
        title = self._chart_title(which)
        path, selected = QFileDialog.getSaveFileName(
            self,
            tr("Save the {title} chart", title=title),
            str(self._last_save_dir / f"{name}.png"),
            tr("PNG image") + " (*.png);;" + tr("SVG drawing") + " (*.svg)",
        )
        if not path:
            return None
        if Path(path).suffix.lower() not in SAVE_FORMATS:
            path += ".svg" if "svg" in selected.lower() else ".png"
        return path

    def _save_chart_interactively(self, which: str) -> None:
        path = self._ask_save_path(which)
        if path:
            self.save_chart(which, path)


def figure_bytes(plot_item, suffix: str, scale: float = 1.0) -> bytes:
    """A pyqtgraph plot as PNG or SVG bytes (``suffix`` is ``.png`` or ``.svg``); a PNG ``scale`` times
    as wide as the plot is shown (a report's charts print sharper). Defaults to `1.0`."""
    from pyqtgraph import exporters

    if suffix == ".svg":
        with _svg_close_path_fix():
            return exporters.SVGExporter(plot_item).export(toBytes=True)
    exporter = exporters.ImageExporter(plot_item)
    if scale != 1.0:
        exporter.parameters()["width"] = max(1, round(plot_item.sceneBoundingRect().width() * scale))
    image = exporter.export(toBytes=True)
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise OSError("the image could not be encoded as PNG")
    return bytes(QByteArray(buffer.data()))
