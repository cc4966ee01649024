"""Gradient descent on a loss surface: the optimizer's path over the contours of y = Xw + b.

For a regression with two inputs and no hidden layer, the mean squared error
over (w₁, w₂) (the bias at its best for each pair) is drawn as a filled,
log-coloured map with contour lines; the least-squares solution
(XᵀX)⁻¹Xᵀy is a star at the bottom of the bowl; and every training step's
weights, taken from the instrument readings, are joined into a path, so
plain SGD, momentum and Adam can be told apart by the way they walk down.
The mathematics is in `models.instruments.surface`; this module only draws.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtWidgets import QLabel, QStackedLayout, QVBoxLayout, QWidget

from gui.data_panel import LEGEND_TEXT_COLOUR
from gui.i18n import tr
from models.instruments.readings import InstrumentReading
from models.instruments.surface import (
    QuadraticLoss,
    raw_linear_weights,
    split_path,
    surface_applies,
    surface_extent,
)

REDRAW_INTERVAL_MS = 50  # at most 20 redraws a second, however fast the readings come
GRID_POINTS = 160  # per side of the filled loss map
CONTOUR_LEVELS = 12  # each one's loss above the minimum is half the previous one's
MAX_DOTS = 3000  # past this many steps the path is drawn as a line alone: dots would merge into one
# Light cream at the bottom of the bowl to blue on its walls: the red path and the star stay readable on both.
SURFACE_COLOURS = [(255, 250, 230), (214, 232, 242), (150, 190, 222), (96, 146, 196)]
CONTOUR_COLOUR = (40, 50, 70, 110)
PATH_COLOUR = "#d62728"
START_COLOUR = "#2ca02c"
CLOSED_FORM_COLOUR = "#ffbf00"


def _number(value: float) -> str:
    """A weight as people write it: four decimals in a usual range, else four significant figures."""
    value = float(value)
    text = f"{value:.4f}" if 1e-3 <= abs(value) < 1e4 or value == 0 else f"{value:.4g}"
    return text.replace("-", "−")


def _vector(values) -> str:
    return "[" + ", ".join(_number(v) for v in values) + "]"


class _PathBuffer:
    """An append-only table of (w₁, w₂, b) rows that doubles its capacity when full."""

    def __init__(self, capacity: int = 1024):
        self._rows = np.empty((capacity, 3))
        self.size = 0

    def extend(self, rows: np.ndarray) -> None:
        needed = self.size + len(rows)
        if needed > len(self._rows):
            # A new array rather than resizing in place: a curve may still hold a view of the old one.
            grown = np.empty((max(needed, 2 * len(self._rows)), 3))
            grown[: self.size] = self._rows[: self.size]
            self._rows = grown
        self._rows[self.size:needed] = rows
        self.size = needed

    @property
    def rows(self) -> np.ndarray:
        return self._rows[: self.size]

    def clear(self) -> None:
        self._rows = np.empty((1024, 3))
        self.size = 0


class LossSurfaceView(QWidget):
    """The loss over (w₁, w₂) as contours, the least-squares solution, and the optimizer's path.

    Call `set_dataset` when the data set or the network changes, `clear` when
    a run starts, and `add_reading` with each `InstrumentReading` of the
    run; the path is redrawn from a timer at most 20 times a second.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self._loss: QuadraticLoss | None = None
        self._dataset = None
        self._input_scale = None
        self._target_scale = None
        self._path = _PathBuffer()
        self._extent: tuple[tuple[float, float], tuple[float, float]] | None = None
        self._progress: tuple[float, int] | None = None  # the latest reading's (epoch, step)
        self._surface_stale = True
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.setInterval(REDRAW_INTERVAL_MS)
        self._redraw_timer.timeout.connect(self.redraw_now)

        self.explanation = QLabel(tr("The loss surface over (w₁, w₂) needs the linear data set (or any regression "
                                     "with two inputs) and no hidden layer, with a linear output and the MSE loss."))
        self.explanation.setAlignment(Qt.AlignCenter)
        self.explanation.setWordWrap(True)
        self.explanation.setMargin(24)

        self.plot = self._make_plot()
        self.solution_label = QLabel()
        self.trained_label = QLabel()
        self.hover_label = QLabel()
        for label in (self.solution_label, self.trained_label, self.hover_label):
            label.setTextInteractionFlags(Qt.TextSelectableByMouse)
            label.setWordWrap(True)
            label.setContentsMargins(6, 1, 6, 1)
        self.hover_label.setStyleSheet("color: #606060;")
        surface_page = QWidget()
        column = QVBoxLayout(surface_page)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.plot, stretch=1)
        column.addWidget(self.solution_label)
        column.addWidget(self.trained_label)
        column.addWidget(self.hover_label)

        self._pages = QStackedLayout(self)
        self._pages.addWidget(self.explanation)
        self._pages.addWidget(surface_page)
        self._pages.setCurrentWidget(self.explanation)

    def _make_plot(self) -> pg.PlotWidget:
        plot = pg.PlotWidget(background="w")
        plot.setMenuEnabled(False)
        plot.setMinimumSize(220, 200)
        for name, label in (("bottom", "w₁"), ("left", "w₂")):
            axis = plot.getAxis(name)
            axis.setTextPen(pg.mkPen(LEGEND_TEXT_COLOUR))
            axis.setPen(pg.mkPen("#909090"))
            plot.setLabel(name, label, color=LEGEND_TEXT_COLOUR)
        plot.setTitle(tr("Mean squared error over (w₁, w₂), with b at its best"), color=LEGEND_TEXT_COLOUR,
                      size="10pt")
        plot.addLegend(offset=(-8, 8), brush=pg.mkBrush(255, 255, 255, 220), pen=pg.mkPen(210, 210, 210),
                       labelTextColor=LEGEND_TEXT_COLOUR)

        self.image = pg.ImageItem()  # column-major: the grid's first axis is w₁, along x
        self.image.setLookupTable(pg.ColorMap(np.linspace(0, 1, len(SURFACE_COLOURS)), SURFACE_COLOURS)
                                  .getLookupTable(nPts=256))
        self.image.setZValue(-20)
        plot.addItem(self.image)
        # Every contour ellipse in one curve, NaN between them: one item to draw, not one per level.
        self.contours = pg.PlotDataItem(pen=pg.mkPen(CONTOUR_COLOUR, width=1), connect="finite", antialias=True)
        self.contours.setZValue(-10)
        plot.addItem(self.contours)
        self.path_curve = pg.PlotDataItem(
            name=tr("optimizer path (one dot per step)"), pen=pg.mkPen(PATH_COLOUR, width=1.5), antialias=True,
            symbol="o", symbolSize=4, symbolBrush=pg.mkBrush(PATH_COLOUR), symbolPen=None,
        )
        plot.addItem(self.path_curve)
        self.start_marker = pg.ScatterPlotItem(
            name=tr("start"), symbol="o", size=11, brush=pg.mkBrush("w"), pen=pg.mkPen(START_COLOUR, width=2.5))
        plot.addItem(self.start_marker)
        self.current_marker = pg.ScatterPlotItem(
            name=tr("now"), symbol="o", size=14, brush=pg.mkBrush(214, 39, 40, 70), pen=pg.mkPen(PATH_COLOUR, width=2.5))
        self.current_marker.setZValue(6)  # a ring on the star once the path reaches it, the star showing through
        plot.addItem(self.current_marker)
        self.closed_form_marker = pg.ScatterPlotItem(
            name=tr("least squares (XᵀX)⁻¹Xᵀy"), symbol="star", size=20, brush=pg.mkBrush(CLOSED_FORM_COLOUR),
            pen=pg.mkPen("#303030", width=1))
        self.closed_form_marker.setZValue(5)  # above the path, which ends on it
        plot.addItem(self.closed_form_marker)
        plot.scene().sigMouseMoved.connect(self._show_loss_under_mouse)
        plot.getPlotItem().vb.sigRangeChanged.connect(self._view_changed)
        return plot

    # What the window calls

    def set_dataset(self, dataset, project) -> None:
        """Shows the loss surface of ``dataset`` for ``project``'s network, or says what it needs.

        The path is forgotten unless the data set is the one already shown
        (the window may call this again when only the network changes).

        Args:
            dataset: a `datasets.base.Dataset`, or `None` when none is loaded.
            project: the `models.network.spec.Project` being edited.
        """
        if not surface_applies(project, dataset):
            self._dataset, self._loss = None, None
            self._forget_path()
            self._pages.setCurrentWidget(self.explanation)
            return
        same = dataset is self._dataset and self._loss is not None
        self._dataset = dataset
        self._input_scale, self._target_scale = dataset.input_scale, dataset.target_scale
        self._pages.setCurrentIndex(1)
        if same:
            return
        self._loss = QuadraticLoss(dataset.x_train, dataset.y_train)
        self.closed_form_marker.setData([self._loss.w[0]], [self._loss.w[1]])
        self.solution_label.setText(tr("Least squares (XᵀX)⁻¹Xᵀy: w = {w}, b = {b}",
                                       w=_vector(self._loss.w), b=_number(self._loss.b)))
        self._forget_path()

    def clear(self) -> None:
        """Forgets the path (a new run starts); the surface stays."""
        self._forget_path()

    def add_reading(self, reading: InstrumentReading) -> None:
        """Adds the training steps a reading carries to the path, in the data's own units.

        A reading taken before any step (step 0) starts a new path. Readings
        of a network that is not y = Xw + b with two weights are ignored.
        """
        if self._loss is None:
            return
        rows = self._reading_rows(reading)
        if rows is None:
            return
        if reading.step == 0:
            self._path.clear()
        kernels, biases = split_path(rows)
        w, b = raw_linear_weights(kernels, biases, self._input_scale, self._target_scale)
        self._path.extend(np.column_stack([w, b]))
        self._progress = (float(reading.epoch), int(reading.step))
        if not self._redraw_timer.isActive():
            self._redraw_timer.start()

    @staticmethod
    def _reading_rows(reading: InstrumentReading) -> np.ndarray | None:
        """The reading's (kernel, bias) rows; its current weights alone when it has no path."""
        if reading.path is not None:
            rows = np.asarray(reading.path, dtype=np.float64)
            if rows.ndim != 2:  # no steps since the last reading (or not a table at all)
                return None
        elif len(reading.layers) == 1 and reading.layers[0].kernel is not None:
            layer = reading.layers[0]
            bias = np.zeros(1) if layer.bias is None else np.ravel(layer.bias)
            rows = np.concatenate([np.ravel(layer.kernel), bias])[None, :]
        else:
            return None
        return rows if rows.shape[1] == 3 else None

    # Drawing

    def redraw_now(self) -> None:
        """Draws the path as it is now, and the surface over what the plot shows (the timer does this by itself)."""
        self._redraw_timer.stop()
        if self._loss is None:
            return
        path = self._path.rows
        if self._extent is None or not self._holds(path[:, :2]):
            self._extent = surface_extent(np.vstack([self._loss.w, np.zeros(2), path[:, :2]]))
            self._show_extent()
        if self._surface_stale:
            self._draw_surface()
        if len(path) == 0:
            self.path_curve.setData([], [])
            self.start_marker.setData([], [])
            self.current_marker.setData([], [])
            self.trained_label.setText(tr("Train the model to draw the optimizer's path, one dot per step of "
                                          "gradient descent."))
            return
        self.path_curve.setData(path[:, 0], path[:, 1], symbol="o" if len(path) <= MAX_DOTS else None)
        self.start_marker.setData([path[0, 0]], [path[0, 1]])
        self.current_marker.setData([path[-1, 0]], [path[-1, 1]])
        self._show_trained(path[-1])

    def _holds(self, points: np.ndarray) -> bool:
        finite = points[np.all(np.isfinite(points), axis=1)]
        (x_low, x_high), (y_low, y_high) = self._extent
        return bool(np.all((finite[:, 0] >= x_low) & (finite[:, 0] <= x_high)
                           & (finite[:, 1] >= y_low) & (finite[:, 1] <= y_high)))

    def _show_extent(self) -> None:
        """Puts the solution, the start and the path in view."""
        (x_low, x_high), (y_low, y_high) = self._extent
        # Equal scales show the steps as they are, at right angles to the contours, unless the two
        # weights are of such different sizes that one axis would shrink to a line.
        sides = (x_high - x_low, y_high - y_low)
        self.plot.setAspectLocked(max(sides) <= 5 * min(sides))
        self.plot.setRange(xRange=(x_low, x_high), yRange=(y_low, y_high), padding=0)
        self._surface_stale = True

    def _view_changed(self) -> None:
        # The surface follows the view (a locked aspect widens it, and the user may pan and zoom),
        # redrawn with the path rather than at every step of a drag.
        self._surface_stale = True
        if self._loss is not None and not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def _draw_surface(self) -> None:
        """The filled map (colour by log of the loss above its minimum) and its contour ellipses, over the view."""
        self._surface_stale = False
        (x_low, x_high), (y_low, y_high) = self.plot.getPlotItem().vb.viewRange()
        w1 = np.linspace(x_low, x_high, GRID_POINTS)
        w2 = np.linspace(y_low, y_high, GRID_POINTS)
        excess = self._loss.grid(w1, w2) - self._loss.minimum
        top = float(excess.max())
        if not top > 0:  # every point of the grid at the minimum: nothing to colour
            top = 1.0
        floor = top * 1e-4  # four decades of colour below the highest point in view
        self.image.setImage(np.log10(excess + floor), levels=(math.log10(floor), math.log10(top + floor)),
                            autoLevels=False)
        step_x, step_y = w1[1] - w1[0], w2[1] - w2[0]
        # Pixel i is centred on w1[i], as the grid was computed.
        self.image.setRect(QRectF(x_low - step_x / 2, y_low - step_y / 2, step_x * GRID_POINTS,
                                  step_y * GRID_POINTS))
        ellipses = [self._loss.contour(self._loss.minimum + top * 0.5 ** level)
                    for level in range(1, CONTOUR_LEVELS + 1)]
        ellipses = [np.vstack([ellipse, [np.nan, np.nan]]) for ellipse in ellipses if ellipse is not None]
        if ellipses:
            joined = np.vstack(ellipses)
            self.contours.setData(joined[:, 0], joined[:, 1])
        else:
            self.contours.setData([], [])

    def _show_trained(self, point: np.ndarray) -> None:
        w, b = point[:2], point[2]
        distance = float(np.linalg.norm(np.append(w - self._loss.w, b - self._loss.b)))
        epoch, step = self._progress
        self.trained_label.setText(tr("Trained, epoch {epoch}, step {step}: w = {w}, b = {b}; "
                                      "distance to the least-squares solution {distance}",
                                      epoch=f"{epoch:g}", step=step, w=_vector(w), b=_number(b),
                                      distance=_number(distance)))

    def _show_loss_under_mouse(self, position) -> None:
        box = self.plot.getPlotItem().vb
        if self._loss is None or not box.sceneBoundingRect().contains(position):
            return
        point = box.mapSceneToView(position)
        w = np.array([point.x(), point.y()])
        self.hover_label.setText(tr("At w = {w}: loss {loss} (with b at its best)",
                                    w=_vector(w), loss=_number(float(self._loss(w[None, :])[0]))))

    def _forget_path(self) -> None:
        self._path.clear()
        self._progress = None
        self._extent = None
        self.hover_label.setText("")
        self.redraw_now()

    # For tests and screenshots

    def path_points(self) -> np.ndarray:
        """The path so far as (w₁, w₂, b) rows in the data's units, drawn or not."""
        return self._path.rows.copy()

    def drawn_path(self) -> tuple[np.ndarray, np.ndarray]:
        """The (w₁, w₂) the path curve shows now."""
        x, y = self.path_curve.getData()
        return (np.zeros(0), np.zeros(0)) if x is None else (np.asarray(x), np.asarray(y))

    @property
    def showing_surface(self) -> bool:
        return self._pages.currentIndex() == 1
