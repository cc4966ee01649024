"""The samples behind a figure: a grid of images, or the raw rows, each with what the model said.

A `SampleSource` is plain data (one split's `Evaluation`, its rows, and the
data set's names); `SamplesPanel` shows any chosen samples of it, and
`PreviewHighlight` rings them on the data preview of two-feature data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from gui.data_panel import _FrameModel, fit_first_columns
from gui.i18n import tr

MAX_SHOWN = 300  # images or rows drawn at once; a cell of MNIST's diagonal holds about a thousand
MAX_PROBABILITY_COLUMNS = 10  # one probability column per class up to this many classes
RIGHT_COLOUR, WRONG_COLOUR = QColor("#303030"), QColor("#C0392B")
HIGHLIGHT_COLOUR = "#D81B60"


def value_text(value: float) -> str:
    """A number as a person reads it in a table: six significant digits."""
    return f"{float(value):.6g}"


@dataclass(frozen=True, eq=False)
class SampleSource:
    """One evaluated split and what is needed to show its samples as the user knows them.

    Args:
        evaluation: the split's `models.evaluation.Evaluation`.
        rows: its `models.evaluation.SplitRows` (raw inputs and row numbers).
        feature_names: the data set's input names, one per column of ``rows.x``.
        target_name: what the target is called.
        image_shape: ``(height, width)`` for image data, else `None`.
        csv_header: the CSV file's header, once it has been read (CSV data only).
        csv_rows: the CSV file's data rows as text; row number ``n`` is ``csv_rows[n - 1]``.
    """

    evaluation: object
    rows: object
    feature_names: list[str]
    target_name: str = "y"
    image_shape: tuple[int, int] | None = None
    csv_header: list[str] | None = None
    csv_rows: list[list[str]] | None = None

    @property
    def is_classification(self) -> bool:
        return self.evaluation.is_classification

    @property
    def has_points(self) -> bool:
        """Whether the samples are points of a plane (two numeric inputs), to mark on the data preview."""
        return self.image_shape is None and np.ndim(self.rows.x) == 2 and np.shape(self.rows.x)[1] == 2

    def true_text(self, index: int) -> str:
        evaluation = self.evaluation
        if self.is_classification:
            return evaluation.classes[int(evaluation.y_true[index])]
        return value_text(evaluation.y_true[index])

    def predicted_text(self, index: int) -> str:
        evaluation = self.evaluation
        if self.is_classification:
            return evaluation.classes[int(evaluation.predicted[index])]
        return value_text(evaluation.predicted[index])

    def predicted_probability(self, index: int) -> float:
        """The probability the model gave the class it predicted."""
        evaluation = self.evaluation
        return float(evaluation.probabilities[index, int(evaluation.predicted[index])])

    def is_right(self, index: int) -> bool:
        return not self.is_classification or bool(self.evaluation.correct[index])

    def raw_columns(self) -> tuple[list[str], callable]:
        """The raw input columns' names, and a function giving sample ``i``'s raw values as text.

        CSV data: the file's own columns and text, found by row number.
        Otherwise the data set's raw input values.
        """
        if self.csv_header is not None and self.csv_rows is not None:
            header, table, width = self.csv_header, self.csv_rows, len(self.csv_header)

            def csv_values(index: int) -> list[str]:
                number = int(self.rows.row_numbers[index])
                row = table[number - 1] if 1 <= number <= len(table) else []
                return (list(row) + [""] * width)[:width]

            return list(header), csv_values
        x = np.asarray(self.rows.x)
        if x.ndim != 2 or self.image_shape is not None:
            return [], lambda index: []
        names = list(self.feature_names) if len(self.feature_names) == x.shape[1] else \
            [f"x{i + 1}" for i in range(x.shape[1])]
        return names, lambda index: [value_text(value) for value in x[index]]

    def table(self, indices) -> tuple[list[str], list[list[str]]]:
        """A header and one text row per sample: row number, true, predicted, probabilities or residual, loss, raw values."""
        evaluation = self.evaluation
        raw_header, raw_values = self.raw_columns()
        header = [tr("row"), tr("true"), tr("predicted")]
        if self.is_classification:
            every_class = len(evaluation.classes) <= MAX_PROBABILITY_COLUMNS
            header += ([f"P({name})" for name in evaluation.classes] if every_class else [tr("probability")])
            header.append(tr("loss"))
        else:
            header.append(tr("residual"))
        header += raw_header
        rows = []
        for index in indices:
            index = int(index)
            row = [str(self.rows.row_numbers[index]), self.true_text(index), self.predicted_text(index)]
            if self.is_classification:
                probabilities = evaluation.probabilities[index] if every_class else \
                    [self.predicted_probability(index)]
                row += [f"{p:.3f}" for p in probabilities]
                row.append(f"{evaluation.losses[index]:.4g}")
            else:
                row.append(value_text(evaluation.y_true[index] - evaluation.predicted[index]))
            rows.append(row + raw_values(index))
        return header, rows


class ImageGrid(QWidget):
    """Images in rows as wide as the widget, each captioned "true → predicted" and the probability."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._images: list[tuple[QImage, str, str, bool]] = []
        self._cell = QSize(60, 80)
        self._scale = 1
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Minimum)
        self.setStyleSheet("background: white;")
        self.setAutoFillBackground(True)

    def set_images(self, pixels: list[np.ndarray], captions: list[tuple[str, str, bool]]) -> None:
        """Shows ``pixels`` (2-D arrays) with ``(first line, second line, right)`` captions."""
        self._images = []
        height, width = pixels[0].shape if pixels else (8, 8)
        self._scale = max(1, round(40 / max(height, width)))
        self._cell = QSize(max(width * self._scale, 44) + 6, height * self._scale + 32)
        for image, (first, second, right) in zip(pixels, captions):
            self._images.append((_grey_image(image, self._scale), first, second, right))
        self._fit_height()
        self.update()

    def columns(self) -> int:
        return max(1, self.width() // self._cell.width())

    def _fit_height(self) -> None:
        rows = -(-len(self._images) // self.columns())
        self.setMinimumHeight(rows * self._cell.height() + 4)

    def resizeEvent(self, event):  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._fit_height()

    def paintEvent(self, event):  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.white)
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        painter.setFont(font)
        columns, cell = self.columns(), self._cell
        for position, (image, first, second, right) in enumerate(self._images):
            x, y = (position % columns) * cell.width(), (position // columns) * cell.height() + 2
            painter.drawImage((cell.width() - image.width()) // 2 + x, y, image)
            painter.setPen(RIGHT_COLOUR if right else WRONG_COLOUR)
            text_y = y + image.height() + 1
            painter.drawText(QRect(x, text_y, cell.width(), 15), Qt.AlignHCenter, first)
            painter.drawText(QRect(x, text_y + 14, cell.width(), 15), Qt.AlignHCenter, second)
        painter.end()


def _grey_image(pixels: np.ndarray, scale: int) -> QImage:
    """Dark ink on white paper, stretched to full contrast, ``scale`` times larger."""
    pixels = np.asarray(pixels, dtype=np.float64)
    span = float(pixels.max() - pixels.min()) or 1.0
    grey = np.ascontiguousarray(255 - ((pixels - pixels.min()) / span * 255).astype(np.uint8))
    height, width = grey.shape
    image = QImage(grey.data, width, height, width, QImage.Format_Grayscale8).copy()
    return image.scaled(width * scale, height * scale)


class SamplesPanel(QWidget):
    """The samples of a matrix cell, of a clicked point, or the worst-predicted ones.

    Images are shown as a grid, other data as a table of raw rows. The
    panel keeps which samples it shows in `indices` (indices into the split).
    """

    top_losses_requested = Signal(int)  # how many

    def __init__(self, parent=None):
        super().__init__(parent)
        self.indices = np.zeros(0, dtype=np.int64)
        self.source: SampleSource | None = None
        self._title = ""
        self.title = QLabel(tr("Click a cell of the matrix to see its samples."))
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.RichText)
        self.worst_button = QPushButton(tr("Top losses"))
        self.worst_button.setToolTip(tr(
            "Show the samples the model got most wrong (the highest loss), worst first. "
            "This is how a mislabelled sample is found."))
        self.worst_count = QSpinBox()
        self.worst_count.setRange(1, MAX_SHOWN)
        self.worst_count.setValue(24)
        self.worst_count.setToolTip(tr("How many of the worst samples to show."))
        self.worst_button.clicked.connect(lambda: self.top_losses_requested.emit(self.worst_count.value()))
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.worst_button)
        bar.addWidget(self.worst_count)
        bar.addStretch(1)
        self.grid = ImageGrid()
        self.grid_scroll = QScrollArea()
        self.grid_scroll.setWidgetResizable(True)
        self.grid_scroll.setWidget(self.grid)
        self.grid_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.table = QTableView()
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.grid_scroll)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(self.title)
        layout.addWidget(self.stack, 1)

    def clear(self, text: str = "") -> None:
        self.indices = np.zeros(0, dtype=np.int64)
        self.source = None
        self.title.setText(text or tr("Click a cell of the matrix to see its samples."))
        self.table.setModel(None)
        self.grid.set_images([], [])

    def show_samples(self, source: SampleSource, indices, title: str) -> None:
        """Shows ``indices`` (into the split) of ``source``, in that order, under ``title``."""
        self.source, self._title = source, title
        self.indices = np.asarray(indices, dtype=np.int64)
        shown = self.indices[:MAX_SHOWN]
        if len(self.indices) > MAX_SHOWN:
            title += " " + tr("(the first {shown} shown)", shown=MAX_SHOWN)
        self.title.setText(title)
        if source.image_shape is not None:
            self._show_images(source, shown)
        else:
            header, rows = source.table(shown)
            self.table.setModel(_FrameModel(header, rows))
            fit_first_columns(self.table)
            self.stack.setCurrentWidget(self.table)

    def refresh(self) -> None:
        """Draws the same samples again (the CSV's raw rows have arrived, say)."""
        if self.source is not None:
            self.show_samples(self.source, self.indices, self._title)

    def _show_images(self, source: SampleSource, indices: np.ndarray) -> None:
        shape = source.image_shape
        pixels = [np.asarray(source.rows.x[i]).reshape(shape) for i in indices]
        captions = []
        for index in indices:
            index = int(index)
            first = f"{source.true_text(index)} → {source.predicted_text(index)}"
            captions.append((first, f"{source.predicted_probability(index) * 100:.0f} %", source.is_right(index)))
        self.grid.set_images(pixels, captions)
        self.stack.setCurrentWidget(self.grid_scroll)


class PreviewHighlight:
    """Rings chosen points on the data preview's scatter plot (two-feature data)."""

    def __init__(self, preview):
        self.preview = preview
        self.rings = pg.ScatterPlotItem(size=15, symbol="o", brush=None, pen=pg.mkPen(HIGHLIGHT_COLOUR, width=2.2))
        self.rings.setZValue(15)
        self.rings.hide()
        preview.plot.addItem(self.rings, ignoreBounds=True)

    def show_points(self, points) -> bool:
        """Rings ``points`` (an n×2 array in data units); whether the preview shows a plane to ring them on."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if self.preview.currentWidget() is not self.preview.plot:
            self.clear()
            return False
        self.rings.setData(points[:, 0], points[:, 1])
        self.rings.setVisible(len(points) > 0)
        return True

    def shown_points(self) -> np.ndarray:
        x, y = self.rings.getData()
        return np.column_stack([x, y]) if self.rings.isVisible() else np.zeros((0, 2))

    def clear(self) -> None:
        self.rings.setData([], [])
        self.rings.hide()
