"""A confusion matrix drawn with pyqtgraph: true classes down, predicted across, the figure in each cell."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics

from gui.data_panel import LEGEND_TEXT_COLOUR
from gui.i18n import tr

# White to dark blue (as matplotlib's "Blues"), light enough at zero for dark figures to read.
LOW_COLOUR, HIGH_COLOUR = (247, 251, 255), (8, 69, 148)
SELECTED_COLOUR = "#E69F00"
MAX_AXIS_NAME_WIDTH = 150  # pixels; longer class names are cut with "…"


def cell_texts(matrix: np.ndarray, normalized: bool) -> list[list[str]]:
    """The figure each cell shows: a count, or a share with two decimals."""
    if normalized:
        return [[f"{value:.2f}" for value in row] for row in matrix]
    return [[f"{int(value)}" for value in row] for row in matrix]


class ConfusionMatrixPlot(pg.PlotWidget):
    """Row = true class, column = predicted class, coloured by value; a click on a cell sends ``cell_clicked``."""

    cell_clicked = Signal(int, int)  # true class index, predicted class index

    def __init__(self, parent=None):
        super().__init__(parent, background="w")
        self.setMouseEnabled(False, False)
        self.setMenuEnabled(False)
        self.hideButtons()
        self.plotItem.invertY(True)  # the first class at the top, as the matrix is written
        self.plotItem.setAspectLocked(True)
        for name in ("left", "bottom"):
            axis = self.getAxis(name)
            axis.setTextPen(pg.mkPen(LEGEND_TEXT_COLOUR))
            axis.setPen(pg.mkPen("#909090"))
            axis.setStyle(tickLength=0)
        self.image = pg.ImageItem(axisOrder="row-major")
        colours = pg.ColorMap([0.0, 1.0], [LOW_COLOUR, HIGH_COLOUR])
        self.image.setLookupTable(colours.getLookupTable(nPts=256))
        self.addItem(self.image)
        self.selection = pg.QtWidgets.QGraphicsRectItem()
        self.selection.setPen(pg.mkPen(SELECTED_COLOUR, width=3))
        self.selection.setZValue(10)
        self.selection.hide()
        self.addItem(self.selection)
        self._texts: list[pg.TextItem] = []
        self.matrix = np.zeros((0, 0))
        self.classes: list[str] = []
        self.normalized = False
        self.selected: tuple[int, int] | None = None
        self.scene().sigMouseClicked.connect(self._clicked)
        self.plotItem.vb.sigResized.connect(self._fit_font)
        self.setMinimumSize(200, 180)

    def set_matrix(self, matrix: np.ndarray, classes: list[str], normalized: bool = False) -> None:
        """Shows ``matrix`` (counts, or rows divided by their totals when ``normalized``)."""
        matrix = np.asarray(matrix, dtype=np.float64)
        size = len(classes)
        resized = size != len(self.classes) or list(classes) != self.classes
        self.matrix, self.classes, self.normalized = matrix, list(classes), normalized
        high = 1.0 if normalized else max(1.0, float(matrix.max()) if matrix.size else 1.0)
        self.image.setImage(matrix, levels=(0.0, high), autoLevels=False)
        self.image.setRect(QRectF(0, 0, size, size))
        if resized:
            self._label_axes()
            for text in self._texts:
                self.removeItem(text)
            self._texts = []
            for row in range(size):
                for column in range(size):
                    text = pg.TextItem(anchor=(0.5, 0.5))
                    text.setPos(column + 0.5, row + 0.5)
                    self.addItem(text, ignoreBounds=True)
                    self._texts.append(text)
            self.setRange(xRange=(0, size), yRange=(0, size), padding=0.02)
            self.selected = None
            self.selection.hide()
        for (row, column), shown in zip(np.ndindex(size, size), (t for line in cell_texts(matrix, normalized) for t in line)):
            text = self._texts[row * size + column]
            text.setText(shown)
            dark_cell = matrix[row, column] > 0.55 * high
            text.setColor("w" if dark_cell else LEGEND_TEXT_COLOUR)
        self._fit_font()

    def select(self, true_class: int | None, predicted_class: int | None = None) -> None:
        """Outlines one cell; `None` removes the outline."""
        if true_class is None or not self.classes:
            self.selected = None
            self.selection.hide()
            return
        self.selected = (int(true_class), int(predicted_class))
        self.selection.setRect(QRectF(predicted_class, true_class, 1, 1))
        self.selection.show()

    def cell_at(self, scene_pos) -> tuple[int, int] | None:
        """The (true, predicted) cell under a point of the scene, or `None` outside the matrix."""
        if not self.classes:
            return None
        point = self.plotItem.vb.mapSceneToView(scene_pos)
        column, row = int(np.floor(point.x())), int(np.floor(point.y()))
        size = len(self.classes)
        return (row, column) if 0 <= row < size and 0 <= column < size else None

    def cell_centre(self, true_class: int, predicted_class: int):
        """Where a cell's centre is in the widget's own coordinates (tests click there)."""
        scene = self.plotItem.vb.mapViewToScene(pg.Point(predicted_class + 0.5, true_class + 0.5))
        return self.mapFromScene(scene)

    def _clicked(self, event) -> None:
        if event.button() != Qt.LeftButton:
            return
        cell = self.cell_at(event.scenePos())
        if cell is not None:
            self.cell_clicked.emit(*cell)

    def _label_axes(self) -> None:
        """Class names on both axes; numbers across when the names would not fit under their columns."""
        left, bottom = self.getAxis("left"), self.getAxis("bottom")
        metrics = QFontMetrics(left.style.get("tickFont") or self.font())
        names = [metrics.elidedText(name, Qt.ElideRight, MAX_AXIS_NAME_WIDTH) for name in self.classes]
        widest = max((metrics.horizontalAdvance(name) for name in names), default=0)
        numbered = len(names) * (widest + 8) > 330
        left.setTicks([[(i + 0.5, f"{name} ({i})" if numbered else name) for i, name in enumerate(names)]])
        bottom.setTicks([[(i + 0.5, str(i) if numbered else name) for i, name in enumerate(names)]])
        names_width = widest + (metrics.horizontalAdvance(" (0)") if numbered else 0)
        # The axis's width holds its title too (one line high, turned on its side).
        left.setWidth(min(MAX_AXIS_NAME_WIDTH + 60, names_width) + metrics.height() + 16)
        self.setLabel("left", tr("true class"))
        self.setLabel("bottom", tr("predicted class"))

    def _fit_font(self, *_args) -> None:
        """Cell figures as large as the cells allow: a 2×2 matrix reads from afar, a 10×10 one still fits."""
        if not self._texts:
            return
        box = self.plotItem.vb
        cell = min(box.width(), box.height()) / max(1, len(self.classes))  # square cells
        font = QFont(self.font())
        longest = max((len(text.toPlainText()) for text in self._texts), default=1)
        font.setPixelSize(int(max(8, min(22, cell * 0.8 / max(2, longest) * 1.6, cell * 0.5))))
        for text in self._texts:
            text.setFont(font)
