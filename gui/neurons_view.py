"""Neurons: the network drawn as TensorFlow Playground draws it, for data with two inputs.

Each unit is a small square showing its output over the input plane (x₁
across, x₂ up), a column of squares per layer: the two inputs first, then
the hidden layers, then the output, whose square is the decision boundary.
Lines between units are their weights: blue for positive, orange for
negative, thicker for larger |w|. Hovering a unit names its incoming weights
and bias.

The view only draws. The unit outputs (one array per Dense layer, evaluated
on `gui.data_panel.probe_grid`) and the weights (an `InstrumentReading`) are
computed in the training thread and arrive a few times a second; a redraw is
a handful of numpy operations and one ``setImage`` per drawn unit.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainterPath, QTransform
from PySide6.QtWidgets import (
    QGraphicsPathItem,
    QGraphicsRectItem,
    QLabel,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from gui.data_panel import (
    CLASS_COLOURS,
    LEGEND_TEXT_COLOUR,
    DataPreview,
    boundary_image,
    probe_grid,
)
from gui.i18n import tr
from gui.panel import DrawnWhenShown

# TensorFlow Playground's colours: orange for negative, blue for positive, white at 0.
NEGATIVE_COLOUR, ZERO_COLOUR, POSITIVE_COLOUR = (245, 147, 34), (255, 255, 255), (8, 119, 189)
MAX_UNITS_SHOWN = 16  # a wider layer shows its first units and says how many more it has
MAX_WEIGHTS_IN_TEXT = 8  # a hover text lists this many incoming weights, then how many in all
MAX_CLASS_KEY = 6  # the decision boundary's header names the class colours up to this many classes
SUBSCRIPTED = {"x1": "x₁", "x2": "x₂"}

SQUARE = 1.0  # a unit's square, in the picture's own units
ROW_PITCH = 1.3
MIN_COLUMN_GAP, MAX_COLUMN_GAP = 2.0, 8.0  # room for the lines between columns; spread to fit the view
OUTPUT_SQUARE = 3.0  # the decision boundary, drawn larger
MARGIN_PX = 8
LARGEST_SCALE = 64  # pixels per square at most: a small network is not blown up to fill a large view
HEADER_WIDTH_PX = (70, 150)  # a column's header wraps to its column's width within these

# Lines fall into buckets by |w| relative to the largest drawn weight; one curve item per
# sign and bucket keeps a redraw to a few setData calls whatever the network's size.
LINE_BUCKET_EDGES = (0.1, 0.25, 0.5, 0.75)
LINE_WIDTHS = (0.6, 1.0, 1.8, 2.8, 4.0)
LINE_STRENGTHS = (0.25, 0.4, 0.6, 0.8, 0.95)  # how far from white toward the full colour
FIXED_RANGE_ACTIVATIONS = ("sigmoid", "softmax", "hard_sigmoid")  # outputs in 0..1: coloured on a fixed scale


def diverging_colour_map() -> pg.ColorMap:
    """Orange (negative) through white (0) to blue (positive), as TensorFlow Playground colours values."""
    return pg.ColorMap([0.0, 0.5, 1.0], [NEGATIVE_COLOUR, ZERO_COLOUR, POSITIVE_COLOUR])


# An odd number of colours, so that 0 falls on the middle one: pure white.
DIVERGING_LOOKUP = diverging_colour_map().getLookupTable(0.0, 1.0, 255, alpha=True).astype(np.ubyte)
DIVERGING_WORDS = np.ascontiguousarray(DIVERGING_LOOKUP).view(np.uint32).ravel()


def colour_reach(values: np.ndarray, activation: str | None) -> np.ndarray:
    """The value each unit's colour scale reaches, symmetric about 0 so that white is always 0.

    Sigmoid and softmax outputs lie in 0..1 and are shown on that fixed scale;
    every other unit is scaled to its own largest |output| (ReLU's 0..max,
    tanh's and linear's ±max).
    """
    if activation in FIXED_RANGE_ACTIVATIONS:
        return np.ones(values.shape[1], dtype=np.float32)
    reach = np.abs(values).max(axis=0) if len(values) else np.zeros(values.shape[1])
    return np.where(reach > 0, reach, 1.0).astype(np.float32)


def unit_pixels(values: np.ndarray, activation: str | None, size: int) -> np.ndarray:
    """RGBA images (units × size × size × 4) of each unit's output over the grid, rows along x₂."""
    values = np.nan_to_num(np.asarray(values, dtype=np.float32))  # a diverged run's NaN shows as 0, not as noise
    scaled = np.clip(values.T / colour_reach(values, activation)[:, None], -1.0, 1.0)
    index = np.rint((scaled + 1.0) * 127).astype(np.uint8, order="C")
    # One 32-bit word per colour: a lookup four times cheaper than indexing rows of four bytes.
    pixels = DIVERGING_WORDS[index]
    return pixels.view(np.ubyte).reshape(values.shape[1], size, size, 4)


def number_text(value: float) -> str:
    return f"{float(value):.3g}"


def weights_text(weights: np.ndarray) -> str:
    """``0.31, -0.5, …`` with at most `MAX_WEIGHTS_IN_TEXT` numbers, then how many there are in all."""
    shown = ", ".join(number_text(w) for w in weights[:MAX_WEIGHTS_IN_TEXT])
    if len(weights) > MAX_WEIGHTS_IN_TEXT:
        shown += ", " + tr("… {count} in all", count=len(weights))
    return shown


@dataclass
class Node:
    """One drawn square: which column and unit it is and where it lies (x, y of its lower left corner)."""

    column: int  # 0 the inputs, then one per Dense layer; the decision boundary last when it has its own
    unit: int
    x: float
    y: float
    size: float = SQUARE

    def contains(self, x: float, y: float) -> bool:
        return self.x <= x <= self.x + self.size and self.y <= y <= self.y + self.size

    @property
    def left(self) -> tuple[float, float]:
        return self.x, self.y + self.size / 2

    @property
    def right(self) -> tuple[float, float]:
        return self.x + self.size, self.y + self.size / 2


class NeuronsView(DrawnWhenShown, QWidget):
    """Every unit's output over the input plane and every weight as a line (TensorFlow Playground's picture)."""

    GRID = DataPreview.GRID

    def __init__(self, parent=None):
        super().__init__(parent)
        self.dataset = None
        self.grid = None  # (xs, ys, points) of probe_grid
        self.layer_sizes: list[int] = []  # units per Dense layer, the output layer last
        self.layer_names: list[str] = []
        self.activations: list[str | None] = []
        self.reading = None
        self.unit_outputs: list[np.ndarray] | None = None
        self.columns: list[list[Node]] = []
        self.images: list[list[pg.ImageItem]] = []
        self.boundary_column: int | None = None  # the column whose one square is the decision boundary
        self._headers: list[pg.TextItem] = []
        self._notes: list[pg.TextItem] = []
        self._column_shapes: list[tuple[int, float]] = []  # (squares, their size) per column
        self._gap: float | None = None
        self._header_width = float(HEADER_WIDTH_PX[0])

        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground("w")
        self.box = self.canvas.addViewBox(lockAspect=True, enableMouse=False, enableMenu=False)
        self.box.sigResized.connect(self._fit_view)
        self.frames = QGraphicsPathItem()
        self.frames.setPen(pg.mkPen("#c8c8c8", width=1, cosmetic=True))
        self.frames.setZValue(5)
        self.box.addItem(self.frames)
        self.lines = {(sign, bucket): self._line_item(sign, bucket)
                      for sign in (-1, 1) for bucket in range(len(LINE_WIDTHS))}
        self.highlight = QGraphicsRectItem()
        self.highlight.setPen(pg.mkPen(LEGEND_TEXT_COLOUR, width=2.5, cosmetic=True))
        self.highlight.setZValue(7)
        self.highlight.hide()
        self.box.addItem(self.highlight)
        self.points = pg.ScatterPlotItem(size=4, pen=pg.mkPen("w", width=0.5), pxMode=True)
        self.points.setZValue(6)
        self.box.addItem(self.points)
        self.canvas.scene().sigMouseMoved.connect(self._hovered)

        self.needs_two_inputs = QLabel(tr("This view draws every neuron over the input plane, so it needs data with "
                                          "two inputs (spiral, moons, circles…)."))
        self.needs_two_inputs.setAlignment(Qt.AlignCenter)
        self.needs_two_inputs.setWordWrap(True)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.needs_two_inputs)
        self.pages.addWidget(self.canvas)
        self.legend = QLabel(self._legend_html())
        self.legend.setWordWrap(True)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.info.setStyleSheet(f"color: {LEGEND_TEXT_COLOUR};")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.pages, 1)
        layout.addWidget(self.legend)
        layout.addWidget(self.info)
        self._show_hint()
        self.set_dataset(None)  # until data are loaded, only the sentence

    # --- what the window calls -------------------------------------------------------------

    def set_dataset(self, dataset) -> None:
        """Shows the inputs of two-feature data over their plane, or says the view needs such data.

        What the network showed belongs to the previous data, so the squares and lines are blanked.
        The same data again (a new run) keeps the layout: laying it out took 75 ms of each Train.
        """
        if dataset is not None and dataset is self.dataset and self.grid is not None:
            self.clear()
            return
        self.dataset = dataset
        self.clear()
        if dataset is None or dataset.n_features != 2:
            self.grid = None
            self.pages.setCurrentWidget(self.needs_two_inputs)
            self.legend.hide()
            self.info.hide()
            return
        self.grid = probe_grid(np.concatenate([dataset.x_train, dataset.x_test]), self.GRID)
        self.pages.setCurrentWidget(self.canvas)
        self.legend.show()
        self.info.show()
        self._lay_out()
        self._draw_inputs()
        self._show_hint()

    def clear(self) -> None:
        """Blanks every unit's square and the lines, keeping the drawing of the current network."""
        self.reading = None
        self.unit_outputs = None
        for column in self.images[1:]:
            for image in column:
                image.clear()
        for item in self.lines.values():
            item.setData([], [])
        self.highlight.hide()
        self._show_hint()

    def show_units(self, unit_outputs: list[np.ndarray]) -> None:
        """Draws each unit's output over the plane: one array (grid points × units) per Dense layer."""
        if self.grid is None or not unit_outputs:
            return
        sizes = [int(np.shape(values)[1]) for values in unit_outputs]
        if len(unit_outputs[0]) != len(self.grid[2]):
            return  # computed on another data set's grid
        if sizes != self.layer_sizes:
            self._set_network(sizes, self.layer_names, self.activations)
        self.unit_outputs = unit_outputs
        self._draw_units()

    def show_weights(self, reading) -> None:
        """Draws the weights of an `InstrumentReading` as lines and keeps them for the hover texts."""
        if self.grid is None or not reading.layers or any(layer.kernel is None for layer in reading.layers):
            return  # a reading read back from instruments.json carries no kernels
        sizes = [layer.kernel.shape[1] for layer in reading.layers]
        names = [layer.name for layer in reading.layers]
        activations = [layer.activation for layer in reading.layers]
        colours_change = activations != self.activations
        if sizes != self.layer_sizes:
            self.unit_outputs = None
            self._set_network(sizes, names, activations)
        elif names != self.layer_names or colours_change:
            self.layer_names, self.activations = names, activations
            self._write_headers()
        self.reading = reading
        self._draw_lines()
        if colours_change and self.unit_outputs is not None:
            self._draw_units()
        if not self.info.text() or self.info.property("hint"):
            self._show_hint()

    # --- what a test or the hover asks -------------------------------------------------------

    def node_at(self, x: float, y: float) -> Node | None:
        """The square at a point of the picture, or `None`."""
        for column in self.columns:
            for node in column:
                if node.contains(x, y):
                    return node
        return None

    def node_scene_position(self, column: int, unit: int):
        """The scene position of a square's centre (tests hover there)."""
        node = self.columns[column][unit]
        return self.box.mapViewToScene(pg.Point(node.x + node.size / 2, node.y + node.size / 2))

    def node_text(self, node: Node) -> str:
        """What hovering a square says: an input's name, or a unit's incoming weights and bias."""
        if node.column == 0:
            return tr("Input {name}: its value over the plane ({x} across, {y} up).", name=self._input_names()[node.unit],
                      x=self._input_names()[0], y=self._input_names()[1])
        if node.column == self.boundary_column:
            return self._boundary_text()
        layer = node.column - 1
        name = self.layer_names[layer] if layer < len(self.layer_names) else tr("layer {number}", number=layer + 1)
        if self.reading is None or layer >= len(self.reading.layers) or self.reading.layers[layer].kernel is None:
            return tr("{layer} unit {unit}: its output over the plane.", layer=name, unit=node.unit + 1)
        reading = self.reading.layers[layer]
        bias = tr("none") if reading.bias is None else number_text(reading.bias[node.unit])
        text = tr("{layer} unit {unit}: b = {bias}; w = [{weights}]", layer=name, unit=node.unit + 1, bias=bias,
                  weights=weights_text(reading.kernel[:, node.unit]))
        if self.boundary_column is None and layer == len(self.layer_sizes) - 1:
            text += " " + self._boundary_text()
        return text

    # --- drawing -------------------------------------------------------------------------------

    def _line_item(self, sign: int, bucket: int) -> pg.PlotCurveItem:
        full = np.array(POSITIVE_COLOUR if sign > 0 else NEGATIVE_COLOUR, dtype=np.float64)
        # Opaque and paled toward white rather than translucent: Qt draws translucent
        # antialiased lines several times slower (30 ms against 6 ms for 600 lines).
        colour = np.rint(255 - (255 - full) * LINE_STRENGTHS[bucket]).astype(int)
        item = pg.PlotCurveItem(pen=pg.mkPen(tuple(colour), width=LINE_WIDTHS[bucket]), connect="pairs",
                                antialias=True)
        item.setZValue(-1 + bucket / 10)  # thick lines above thin ones
        self.box.addItem(item)
        return item

    def _set_network(self, sizes: list[int], names: list[str], activations: list) -> None:
        self.layer_sizes = list(sizes)
        self.layer_names = list(names) if len(names) == len(sizes) else []
        self.activations = list(activations) if len(activations) == len(sizes) else [None] * len(sizes)
        self._lay_out()
        self._draw_inputs()

    def _lay_out(self) -> None:
        """Makes a square per drawn unit, a header per column and a note under each column that hides units."""
        for column in self.images:
            for image in column:
                self.box.removeItem(image)
        for item in self._headers + self._notes:
            self.box.removeItem(item)
        counts = [2] + [min(size, MAX_UNITS_SHOWN) for size in self.layer_sizes]
        sizes = [SQUARE] * len(counts)
        output_units = self.layer_sizes[-1] if self.layer_sizes else 0
        self.boundary_column = None
        if output_units == 1:
            sizes[-1] = OUTPUT_SQUARE
        elif output_units > 1:
            counts.append(1)
            sizes.append(OUTPUT_SQUARE)
            self.boundary_column = len(counts) - 1
        self._column_shapes = list(zip(counts, sizes, strict=True))
        self.images = [[pg.ImageItem(axisOrder="row-major") for _ in range(count)] for count in counts]
        for images in self.images:
            for image in images:
                self.box.addItem(image)
        self._headers, self._notes = [], []
        for column, count in enumerate(counts):
            header = pg.TextItem(anchor=(0.5, 1.0))
            header.setTextWidth(self._header_width)
            self.box.addItem(header, ignoreBounds=True)
            self._headers.append(header)
            hidden = self.layer_sizes[column - 1] - count if 0 < column <= len(self.layer_sizes) else 0
            note = pg.TextItem(tr("+{count} more", count=hidden) if hidden > 0 else "", color=LEGEND_TEXT_COLOUR,
                               anchor=(0.5, 0.0))
            self.box.addItem(note, ignoreBounds=True)
            self._notes.append(note)
        self._write_headers()
        self._gap = None
        self._fit_view()

    def _place(self, gap: float) -> None:
        """Puts the columns ``gap`` apart, each centred on y = 0, and everything that hangs on them."""
        self._gap = gap
        self.columns = []
        path = QPainterPath()
        x = 0.0
        for column, (count, size) in enumerate(self._column_shapes):
            pitch = size + (ROW_PITCH - SQUARE)
            top = (count * pitch - (pitch - size)) / 2
            nodes = [Node(column, unit, x, top - unit * pitch - size, size) for unit in range(count)]
            for node, image in zip(nodes, self.images[column], strict=True):
                # Placed by hand: setRect scales by the image's size, and there may be no image yet.
                placing = QTransform.fromTranslate(node.x, node.y)
                image.setTransform(placing.scale(size / self.GRID, size / self.GRID))
                path.addRect(QRectF(node.x, node.y, size, size))
            self._headers[column].setPos(x + size / 2, top)
            self._notes[column].setPos(x + size / 2, nodes[-1].y)
            self.columns.append(nodes)
            x += size + gap
        self.frames.setPath(path)
        self.highlight.hide()
        self._draw_points()
        if self.reading is not None:
            self._draw_lines()

    def _write_headers(self) -> None:
        last = len(self.layer_sizes)
        for column, header in enumerate(self._headers):
            if column == 0:
                first, second = (SUBSCRIPTED.get(name, html.escape(name)) for name in self._input_names())
                title, detail = tr("Inputs"), tr("{first} and {second}", first=first, second=second)
            elif column == self.boundary_column or (column == last and self.boundary_column is None):
                title = tr("Decision boundary") if self._is_classification() else tr("Prediction")
                detail = "<br>".join(part for part in (self._layer_detail(last - 1) if column == last else "",
                                                       self._class_key()) if part)
            elif column == last:
                title, detail = tr("Output layer"), self._layer_detail(column - 1)
            else:
                title, detail = tr("Hidden layer {number}", number=column), self._layer_detail(column - 1)
            lines = f"<b>{title}</b>" + (f"<br>{detail}" if detail else "")
            header.setHtml(f'<div align="center" style="color: {LEGEND_TEXT_COLOUR};">{lines}</div>')
        self._fit_view()

    def _class_key(self) -> str:
        """Which colour is which class on the decision boundary (the data preview's colours), for a few classes."""
        if self.dataset is None or not self._is_classification() or not 0 < self.dataset.n_classes <= MAX_CLASS_KEY:
            return ""
        return " ".join(f'<span style="color: {CLASS_COLOURS[index % len(CLASS_COLOURS)]};">■</span>&nbsp;'
                        f"{html.escape(name)}" for index, name in enumerate(self.dataset.class_names))

    def _layer_detail(self, layer: int) -> str:
        units = self.layer_sizes[layer]
        text = tr("1 neuron") if units == 1 else tr("{count} neurons", count=units)
        activation = self.activations[layer] if layer < len(self.activations) else None
        # One line each: "64 neurons, relu" broke after the comma in narrow columns.
        return f"{text}<br>{html.escape(activation)}" if activation else text

    def _fit_view(self, *_args) -> None:
        """Spreads the columns to the view's shape and shows the whole network as large as it fits.

        The headers and notes keep their size in pixels, so the range leaves
        room for them; a header is as wide as its column's share of the view.
        """
        if not self._column_shapes:
            return
        width_px, height_px = self.box.width(), self.box.height()
        if width_px < 100 or height_px < 100:
            width_px, height_px = 800.0, 500.0  # not laid out yet: any sensible size
        tallest = max(count * (size + ROW_PITCH - SQUARE) - (ROW_PITCH - SQUARE) for count, size in self._column_shapes)
        squares = sum(size for _, size in self._column_shapes)
        gaps = max(len(self._column_shapes) - 1, 1)

        def text_px(items) -> float:
            return max((item.textItem.boundingRect().height() for item in items), default=0.0) + MARGIN_PX

        for _ in range(2):  # the headers' width sets their height, which sets the scale, which sets their width
            header_px, note_px = text_px(self._headers), text_px(self._notes)
            usable_width, usable_height = width_px - self._header_width, height_px - header_px - note_px
            # The tallest column sets the scale; the columns then spread to use the width.
            tall_scale = max(min(usable_height / tallest, LARGEST_SCALE), 1.0)
            gap = min(max((usable_width / tall_scale - squares) / gaps, MIN_COLUMN_GAP), MAX_COLUMN_GAP)
            scale = max(min(usable_width / (squares + gap * gaps), tall_scale), 1.0)
            header_width = min(max(HEADER_WIDTH_PX[0], (gap + SQUARE) * scale - MARGIN_PX), HEADER_WIDTH_PX[1])
            if abs(header_width - self._header_width) < 4:
                break
            self._header_width = header_width
            for header in self._headers:
                header.setTextWidth(header_width)
        if self._gap is None or abs(gap - self._gap) > 0.05 * self._gap:
            self._place(gap)
        nodes = [node for column in self.columns for node in column]
        left, right = min(n.x for n in nodes), max(n.x + n.size for n in nodes)
        bottom, top = min(n.y for n in nodes), max(n.y + n.size for n in nodes)
        # Centred, at exactly `scale` pixels per unit: the range is the view's own size in units.
        middle_x = (left + right) / 2
        middle_y = (bottom - note_px / scale + top + header_px / scale) / 2
        half_width, half_height = width_px / scale / 2, height_px / scale / 2
        self.box.setRange(xRange=(middle_x - half_width, middle_x + half_width),
                          yRange=(middle_y - half_height, middle_y + half_height), padding=0)

    def _input_names(self) -> list[str]:
        names = list(self.dataset.feature_names[:2]) if self.dataset is not None else []
        return names if len(names) == 2 else ["x1", "x2"]

    def _is_classification(self) -> bool:
        return self.dataset is None or self.dataset.is_classification

    def _draw_inputs(self) -> None:
        if self.grid is None or not self.images:
            return
        pixels = unit_pixels(self.grid[2], None, self.GRID)
        for image, picture in zip(self.images[0], pixels, strict=True):
            image.setImage(picture, autoLevels=False)

    def _draw_points(self) -> None:
        """The training points on the decision boundary, as Playground draws them on its output."""
        self.points.setData([], [])
        if self.grid is None or not self.columns or not self._is_classification() or not self.layer_sizes:
            return
        node = self.columns[-1][-1]
        xs, ys, _ = self.grid
        x0, x1 = xs[0] - (xs[1] - xs[0]) / 2, xs[-1] + (xs[1] - xs[0]) / 2
        y0, y1 = ys[0] - (ys[1] - ys[0]) / 2, ys[-1] + (ys[1] - ys[0]) / 2
        x, y = self.dataset.x_train[:, 0], self.dataset.x_train[:, 1]
        px = node.x + (x - x0) / (x1 - x0) * node.size
        py = node.y + (y - y0) / (y1 - y0) * node.size
        brushes = [pg.mkBrush(colour) for colour in CLASS_COLOURS]
        labels = np.asarray(self.dataset.y_train, dtype=np.intp) % len(CLASS_COLOURS)
        self.points.setData(px, py, brush=[brushes[label] for label in labels])

    def _draw_units(self) -> None:
        if self.later(self._draw_units) or self.unit_outputs is None:
            return
        outputs = self.unit_outputs
        last = len(outputs) - 1
        for layer, values in enumerate(outputs):
            images = self.images[layer + 1]
            if layer == last and self.boundary_column is None:
                self._draw_boundary(images[0], values)
                continue
            shown = np.asarray(values)[:, :len(images)]
            activation = self.activations[layer] if layer < len(self.activations) else None
            for image, picture in zip(images, unit_pixels(shown, activation, self.GRID), strict=True):
                image.setImage(picture, autoLevels=False)
        if self.boundary_column is not None:
            self._draw_boundary(self.images[self.boundary_column][0], outputs[last])

    def _draw_boundary(self, image: pg.ImageItem, outputs: np.ndarray) -> None:
        n_classes = max(self.dataset.n_classes, 1) if self.dataset is not None else 2
        image.setImage(boundary_image(outputs, self.GRID, n_classes), autoLevels=False)

    def _draw_lines(self) -> None:
        """Every drawn weight as a line from a unit's right edge to the next unit's left edge."""
        if self.later(self._draw_lines) or self.reading is None:
            return
        pairs = []
        for layer, reading in enumerate(self.reading.layers):
            if reading.kernel is None or layer + 1 >= len(self.columns):
                continue
            sources, targets = self.columns[layer], self.columns[layer + 1]
            kernel = np.asarray(reading.kernel, dtype=np.float64)[:len(sources), :len(targets)]
            if kernel.shape == (len(sources), len(targets)):
                pairs.append((sources, targets, kernel))
        largest = max((float(np.abs(kernel).max()) for *_, kernel in pairs), default=0.0)
        if not (largest > 0 and math.isfinite(largest)):
            largest = 1.0
        starts, ends, weights = [], [], []
        for sources, targets, kernel in pairs:
            start = np.array([node.right for node in sources])[:, None, :]
            end = np.array([node.left for node in targets])[None, :, :]
            starts.append(np.broadcast_to(start, (*kernel.shape, 2)).reshape(-1, 2))
            ends.append(np.broadcast_to(end, (*kernel.shape, 2)).reshape(-1, 2))
            weights.append(kernel.ravel())
        if weights:
            starts, ends, weights = np.concatenate(starts), np.concatenate(ends), np.concatenate(weights)
        else:
            starts = ends = np.zeros((0, 2))
            weights = np.zeros(0)
        signs = np.where(weights >= 0, 1, -1)
        buckets = np.digitize(np.nan_to_num(np.abs(weights)) / largest, LINE_BUCKET_EDGES)
        for (sign, bucket), item in self.lines.items():
            chosen = (signs == sign) & (buckets == bucket)
            # connect="pairs": the points alternate start, end, start, end…
            points = np.stack([starts[chosen], ends[chosen]], axis=1).reshape(-1, 2)
            item.setData(points[:, 0], points[:, 1], connect="pairs")

    # --- words -----------------------------------------------------------------------------------

    def _boundary_text(self) -> str:
        if self._is_classification():
            return tr("The decision boundary: the class the network predicts at each point of the plane, "
                      "paler where it is unsure; the dots are the training points.")
        return tr("The prediction at each point of the plane.")

    def _hovered(self, scene_position) -> None:
        if self.grid is None:
            return
        point = self.box.mapSceneToView(scene_position)
        node = self.node_at(point.x(), point.y())
        if node is None:
            self.highlight.hide()
            self._show_hint()
            return
        self.highlight.setRect(QRectF(node.x, node.y, node.size, node.size))
        self.highlight.show()
        self.info.setProperty("hint", False)
        self.info.setText(self.node_text(node))

    def _show_hint(self) -> None:
        self.info.setProperty("hint", True)
        if self.unit_outputs is None and self.reading is None:
            self.info.setText(tr("Train the network to see what each neuron computes; hover over a square "
                                 "to see its incoming weights and bias."))
        else:
            self.info.setText(tr("Hover over a square to see its incoming weights and bias."))

    @staticmethod
    def _legend_html() -> str:
        def swatch(colour) -> str:
            return (f'<span style="background-color: rgb{tuple(colour)}; color: rgb{tuple(colour)};">'
                    "&nbsp;&nbsp;&nbsp;&nbsp;</span>")

        return (f'<span style="color: {LEGEND_TEXT_COLOUR};">'
                + tr("Each square is a neuron's output over the input plane: {negative} negative, white 0, "
                     "{positive} positive. Lines are weights, the same colours, thicker where |w| is larger.",
                     negative=swatch(NEGATIVE_COLOUR), positive=swatch(POSITIVE_COLOUR))
                + "</span>")
