"""Weights: each Dense layer's kernel W (inputs × units) as a heatmap, and for images what each unit looks for.

Row i is input i and column j is unit j, as the notes write W in
y = activation(x·W + b); both count from 1. The colours are diverging and
centred on 0 (orange negative, white 0, blue positive, as in the Neurons
view), with a colour bar giving the scale. A kernel is one ``setImage``, so
784 × 512 weights redraw as fast as 2 × 8. For image data the first layer's
columns can be shown as images: unit j's weights laid out as the picture they
multiply.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSignalBlocker
from PySide6.QtGui import QPainterPath
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from gui.data_panel import LEGEND_TEXT_COLOUR
from gui.i18n import tr
from gui.neurons_view import diverging_colour_map
from gui.panel import DrawnWhenShown

MAX_UNIT_IMAGES = 36
MAX_NAMED_TICKS = 20  # the first layer's inputs are named on the axis up to this many
FRAME_COLOUR = "#a0a0a0"  # around each unit's picture, so that a white (zero) edge still shows where it ends


def symmetric_reach(kernel: np.ndarray) -> float:
    """The largest |w|, so the colour scale runs from −reach to +reach with white at 0."""
    finite = np.abs(kernel[np.isfinite(kernel)]) if kernel.size else np.zeros(0)
    reach = float(finite.max()) if finite.size else 0.0
    return reach if reach > 0 else 1.0


def unit_mosaic(kernel: np.ndarray, image_shape: tuple[int, int], count: int) -> tuple[np.ndarray, int]:
    """The first ``count`` columns of ``kernel`` as ``image_shape`` pictures in a square-ish grid.

    Returns the mosaic (rows of pictures top first, NaN in the one-pixel gaps)
    and how many pictures a row holds.
    """
    height, width = image_shape
    count = min(count, kernel.shape[1])
    across = max(1, math.ceil(math.sqrt(count)))
    down = max(1, math.ceil(count / across))
    mosaic = np.full((down * (height + 1) - 1, across * (width + 1) - 1), np.nan, dtype=np.float32)
    for unit in range(count):
        row, column = divmod(unit, across)
        top, left = row * (height + 1), column * (width + 1)
        mosaic[top:top + height, left:left + width] = kernel[:, unit].reshape(height, width)
    return mosaic, across


class WeightsView(DrawnWhenShown, QWidget):
    """A chosen Dense layer's W as an inputs × units heatmap; hovering a cell names w[i, j]."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.dataset = None
        self.image_shape: tuple[int, int] | None = None
        self.reading = None
        self.kernel: np.ndarray | None = None  # the kernel drawn now
        self._mosaic_across = 0
        self._layer_keys: list[tuple[str, tuple[int, ...]]] = []

        self.layer_box = QComboBox()
        self.layer_box.setToolTip(tr("The Dense layer whose weight matrix W is shown."))
        self.layer_box.currentIndexChanged.connect(self._draw)
        self.as_images = QCheckBox(tr("Show units as images"))
        self.as_images.setToolTip(tr("Show each of the first {count} units' incoming weights as the picture they "
                                     "multiply: what the unit looks for.", count=MAX_UNIT_IMAGES))
        self.as_images.toggled.connect(self._draw)
        self.as_images.hide()
        controls = QHBoxLayout()
        controls.addWidget(QLabel(tr("Layer:")))
        controls.addWidget(self.layer_box)
        controls.addWidget(self.as_images)
        controls.addStretch(1)

        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground("w")
        self.plot = self.canvas.addPlot()
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.invertY(True)  # input 1 at the top, as W is written
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setTextPen(pg.mkPen(LEGEND_TEXT_COLOUR))
            axis.setPen(pg.mkPen("#909090"))
        self.frames = QGraphicsPathItem()
        self.frames.setPen(pg.mkPen(FRAME_COLOUR, width=1, cosmetic=True))
        self.frames.setZValue(1)
        self.frames.hide()
        self.plot.addItem(self.frames)
        self.hovered = QGraphicsRectItem()
        self.hovered.setPen(pg.mkPen(LEGEND_TEXT_COLOUR, width=2, cosmetic=True))
        self.hovered.setZValue(2)
        self.hovered.hide()
        self.plot.addItem(self.hovered, ignoreBounds=True)
        self.image = pg.ImageItem(axisOrder="row-major", autoDownsample=True)
        self.plot.addItem(self.image)
        self.colour_bar = pg.ColorBarItem(values=(-1.0, 1.0), colorMap=diverging_colour_map(), interactive=False,
                                          label=tr("weight w"), colorMapMenu=False, pen=LEGEND_TEXT_COLOUR)
        self.colour_bar.setImageItem(self.image, insert_in=self.plot)
        self.canvas.scene().sigMouseMoved.connect(self._hovered)

        self.info = QLabel()
        self.info.setWordWrap(True)
        self.info.setStyleSheet(f"color: {LEGEND_TEXT_COLOUR};")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(controls)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.info)
        self.clear()

    # --- what the window calls -------------------------------------------------------------

    def set_dataset(self, dataset) -> None:
        """Remembers the inputs' names and, for image data, the picture's shape."""
        self.dataset = dataset
        self.image_shape = tuple(dataset.image_shape) if dataset is not None and dataset.image_shape else None
        self._draw()

    def clear(self) -> None:
        """Forgets the weights: an empty chooser and an empty heatmap."""
        self.reading = None
        self.kernel = None
        self._layer_keys = []
        with QSignalBlocker(self.layer_box):
            self.layer_box.clear()
        self.layer_box.setEnabled(False)
        self.image.clear()
        self.frames.hide()
        self.hovered.hide()
        self.as_images.hide()
        self._draw()

    def show_reading(self, reading) -> None:
        """Draws the chosen layer's kernel from an `InstrumentReading`, keeping the choice of layer."""
        self.reading = reading
        keys = [(layer.name, None if layer.kernel is None else tuple(layer.kernel.shape)) for layer in reading.layers]
        if keys != self._layer_keys:
            self._layer_keys = keys
            chosen = max(self.layer_box.currentIndex(), 0)
            with QSignalBlocker(self.layer_box):
                self.layer_box.clear()
                for layer, (name, shape) in zip(reading.layers, keys, strict=True):
                    self.layer_box.addItem(self._layer_title(layer.layer, name, shape, len(keys)))
                self.layer_box.setCurrentIndex(min(chosen, len(keys) - 1))
            self.layer_box.setEnabled(bool(keys))
        self._draw()

    # --- what a test or the hover asks -------------------------------------------------------

    def cell_text(self, x: float, y: float) -> str | None:
        """What hovering the picture at (x, y) says, or `None` outside every weight."""
        if self.kernel is None:
            return None
        if self.showing_images():
            return self._mosaic_text(x, y)
        inputs, units = self.kernel.shape
        i, j = int(math.floor(y)), int(math.floor(x))
        if not (0 <= i < inputs and 0 <= j < units):
            return None
        return tr("w[{i}, {j}] = {value}: from {input} to unit {j} of {layer}", i=i + 1, j=j + 1,
                  value=f"{self.kernel[i, j]:.4g}", input=self._input_name(i), layer=self._chosen_layer().name)

    def cell_scene_position(self, i: int, j: int):
        """The scene position of w[i, j]'s cell (0-based), in the heatmap or in unit j's picture (tests hover there)."""
        if self.showing_images():
            height, width = self.image_shape
            row, column = divmod(j, self._mosaic_across)
            y, x = divmod(i, width)
            point = pg.Point(column * (width + 1) + x + 0.5, row * (height + 1) + y + 0.5)
        else:
            point = pg.Point(j + 0.5, i + 0.5)
        return self.plot.vb.mapViewToScene(point)

    def showing_images(self) -> bool:
        """Whether the first layer's units are drawn as pictures rather than W as one heatmap."""
        return self._images_possible() and self.as_images.isChecked()

    # --- drawing -------------------------------------------------------------------------------

    def _chosen_layer(self):
        index = self.layer_box.currentIndex()
        if self.reading is None or not 0 <= index < len(self.reading.layers):
            return None
        return self.reading.layers[index]

    def _images_possible(self) -> bool:
        layer = self._chosen_layer()
        return (self.image_shape is not None and layer is not None and layer.layer == 0 and layer.kernel is not None
                and layer.kernel.shape[0] == self.image_shape[0] * self.image_shape[1])

    def _draw(self, *_args) -> None:
        if self.later(self._draw):
            return
        layer = self._chosen_layer()
        self.hovered.hide()
        self.as_images.setVisible(self._images_possible())
        self.colour_bar.setVisible(layer is not None and layer.kernel is not None)
        if layer is None or layer.kernel is None:
            self.kernel = None
            self.image.clear()
            self.frames.hide()
            for name in ("left", "bottom"):
                self.plot.showAxis(name, False)  # no numbers about nothing
            self._describe()
            return
        self.kernel = np.asarray(layer.kernel, dtype=np.float32)
        reach = symmetric_reach(self.kernel)
        if self.showing_images():
            picture, self._mosaic_across = unit_mosaic(self.kernel, self.image_shape, MAX_UNIT_IMAGES)
        else:
            picture = self.kernel
        self.image.setImage(picture, autoLevels=False, levels=(-reach, reach))
        self.colour_bar.setLevels(values=(-reach, reach))
        height, width = picture.shape
        self.image.setRect(QRectF(0, 0, width, height))
        self._label_axes(layer)
        self.frames.setVisible(self.showing_images())
        if self.showing_images():
            self.frames.setPath(self._picture_frames())
        self.plot.setRange(xRange=(0, width), yRange=(0, height), padding=0.02)
        self._describe()

    def _picture_frames(self) -> QPainterPath:
        height, width = self.image_shape
        path = QPainterPath()
        for unit in range(min(MAX_UNIT_IMAGES, self.kernel.shape[1])):
            row, column = divmod(unit, self._mosaic_across)
            path.addRect(QRectF(column * (width + 1), row * (height + 1), width, height))
        return path

    def _label_axes(self, layer) -> None:
        left, bottom = self.plot.getAxis("left"), self.plot.getAxis("bottom")
        images = self.showing_images()
        self.plot.setAspectLocked(images)
        for name in ("left", "bottom"):
            self.plot.showAxis(name, not images)  # a picture's rows and columns are pixels, not i and j
        if images:
            return
        inputs, units = self.kernel.shape
        self.plot.setLabel("left", tr("input i"), color=LEGEND_TEXT_COLOUR)
        self.plot.setLabel("bottom", tr("unit j of {layer}", layer=layer.name), color=LEGEND_TEXT_COLOUR)
        left.setTicks([[(i + 0.5, self._input_name(i)) for i in range(inputs)]] if inputs <= MAX_NAMED_TICKS
                      else self._whole_ticks(inputs))
        bottom.setTicks(self._whole_ticks(units))

    @staticmethod
    def _whole_ticks(count: int) -> list:
        """Ticks on cell centres, numbered from 1, about eight of them."""
        step = next(size * power for power in (10 ** k for k in range(7)) for size in (1, 2, 5)
                    if count / (size * power) <= 10)
        numbers = sorted({1, *range(step, count + 1, step)})
        return [[(n - 0.5, str(n)) for n in numbers]]

    def _layer_title(self, index: int, name: str, shape, count: int) -> str:
        where = tr("output layer") if index == count - 1 else tr("hidden layer {number}", number=index + 1)
        if shape is None:
            return f"{name} ({where})"
        return tr("{name} ({where}): W is {inputs} × {units}", name=name, where=where, inputs=shape[0], units=shape[1])

    def _input_name(self, i: int) -> str:
        layer = self._chosen_layer()
        if layer is not None and layer.layer == 0 and self._images_possible():
            row, column = divmod(i, self.image_shape[1])
            return tr("input {number} (the pixel in row {row}, column {column})", number=i + 1, row=row + 1,
                      column=column + 1)
        if layer is not None and layer.layer == 0:
            names = self.dataset.feature_names if self.dataset is not None else []
            if len(names) == self.kernel.shape[0]:
                return tr("input {number} ({name})", number=i + 1, name=names[i])
            return tr("input {number}", number=i + 1)
        previous = self.reading.layers[self._chosen_index() - 1].name if self._chosen_index() > 0 else ""
        return tr("unit {number} of {layer}", number=i + 1, layer=previous)

    def _chosen_index(self) -> int:
        return self.layer_box.currentIndex()

    def _mosaic_text(self, x: float, y: float) -> str | None:
        height, width = self.image_shape
        column, x_in = divmod(int(math.floor(x)), width + 1)
        row, y_in = divmod(int(math.floor(y)), height + 1)
        unit = row * self._mosaic_across + column
        if x < 0 or y < 0 or x_in >= width or y_in >= height or column >= self._mosaic_across:
            return None
        if unit >= min(MAX_UNIT_IMAGES, self.kernel.shape[1]):
            return None
        i = y_in * width + x_in
        return tr("w[{i}, {j}] = {value}: from {input} to unit {j} of {layer}", i=i + 1, j=unit + 1,
                  value=f"{self.kernel[i, unit]:.4g}", input=self._input_name(i), layer=self._chosen_layer().name)

    def _hovered(self, scene_position) -> None:
        if self.kernel is None:
            return
        point = self.plot.vb.mapSceneToView(scene_position)
        text = self.cell_text(point.x(), point.y())
        if text is None:
            self.hovered.hide()
            self._describe()
            return
        self.hovered.setRect(QRectF(math.floor(point.x()), math.floor(point.y()), 1, 1))
        self.hovered.show()
        self.info.setText(text)

    def _describe(self) -> None:
        """The line under the picture when no weight is hovered."""
        layer = self._chosen_layer()
        if layer is None or self.kernel is None:
            self.info.setText(tr("Train the network to see each Dense layer's weight matrix W."))
        elif self.showing_images():
            shown = min(MAX_UNIT_IMAGES, self.kernel.shape[1])
            self.info.setText(tr("The first {shown} of {units} units of {layer}, each unit's weights drawn as the "
                                 "picture they multiply: blue pixels raise its output, orange ones lower it.",
                                 shown=shown, units=self.kernel.shape[1], layer=layer.name))
        else:
            self.info.setText(tr("W of {layer}: row i holds input i's weights, column j unit j's; "
                                 "y = activation(x·W + b). Hover over a cell to read w[i, j].", layer=layer.name))
