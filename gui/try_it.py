"""Try it: give a trained model one row (typed, drawn, or clicked) and see what it predicts.

Every prediction goes through `models.saving.predict.LoadedModel.predict_values`, the
same path File ▸ Predict and the command line take, so what this view shows
is what ``predict`` gives for those raw values.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFontMetrics, QImage, QPainter, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from datasets.inputs import ONE_HOT, PIXEL
from gui.data_panel import LEGEND_TEXT_COLOUR
from gui.i18n import error_text, tr
from models.errors import UserError
from models.saving.predict import LoadedModel

DRAW_INTERVAL_MS = 33  # at most about 30 predictions a second while drawing
CHOSEN_BAR, OTHER_BAR = "#0072B2", "#a6c8e0"  # the predicted class, and the others


# ------------------------------------------------------------ plain helpers (no widgets)
def model_from_run(result) -> LoadedModel | None:
    """A `LoadedModel` over a just-trained, in-memory Keras model; `None` when the run left none."""
    if result is None or getattr(result, "model", None) is None or getattr(result, "preprocessing", None) is None:
        return None
    model = result.model
    return LoadedModel(Path(result.run_dir or "."), "keras", result.preprocessing,
                       lambda x: np.asarray(model(x, training=False)))


def number_text(value: float) -> str:
    """A raw value as a person would type it (six significant digits)."""
    return f"{float(value):.6g}"


def row_values(preprocessing, row) -> dict[str, str]:
    """``{column: text}`` for one row of model inputs (a data set's raw row)."""
    values: dict[str, str] = {}
    for index, feature in enumerate(preprocessing.inputs):
        if feature.kind == ONE_HOT:
            if row[index] >= 0.5:
                values[feature.column] = feature.category
            else:
                values.setdefault(feature.column, "")
        else:
            values[feature.column] = number_text(row[index])
    return values


def fill_values(preprocessing) -> dict[str, str]:
    """``{column: text}`` made of what training put in for missing values."""
    return row_values(preprocessing, [feature.fill for feature in preprocessing.inputs])


def dataset_fits(preprocessing, dataset) -> bool:
    """Whether ``dataset``'s rows are inputs of this model (the same inputs, in the same order)."""
    if dataset is None or preprocessing is None or len(dataset.x_test) == 0:
        return False
    return [f.name for f in dataset.input_features] == [f.name for f in preprocessing.inputs]


def true_text(dataset, index: int) -> str:
    """The true class (or value) of test row ``index``."""
    target = dataset.y_test[index]
    return dataset.class_names[int(target)] if dataset.is_classification else number_text(target)


def pixel_maximum(preprocessing) -> float:
    """The brightest pixel value the model was trained on (16 for digits, 255 for MNIST)."""
    highest = [f.maximum for f in preprocessing.inputs if f.kind == PIXEL and f.maximum is not None]
    return float(max(highest)) if highest else 1.0


def pixel_values(pixels: np.ndarray) -> dict[str, str]:
    """An image's pixels as ``{pixel_i: text}``, row by row, as preprocessing.json names them."""
    return {f"pixel_{i}": number_text(value) for i, value in enumerate(np.asarray(pixels).ravel())}


# ------------------------------------------------------------ widgets
class ProbabilityBars(pg.PlotWidget):
    """One horizontal bar per class, class names on the left, the top class drawn strongest."""

    def __init__(self, parent=None):
        super().__init__(parent, background="w")
        self.setMouseEnabled(False, False)
        self.setMenuEnabled(False)
        self.hideButtons()
        self.plotItem.showGrid(x=True, y=False, alpha=0.15)
        for name in ("left", "bottom"):
            axis = self.getAxis(name)
            axis.setTextPen(pg.mkPen(LEGEND_TEXT_COLOUR))
            axis.setPen(pg.mkPen("#909090"))
        self.getAxis("left").setStyle(tickLength=0)
        self.bars = pg.BarGraphItem(x0=[], y=[], height=0.7, width=[])
        self.addItem(self.bars)
        self._labels: list[pg.TextItem] = []
        self._classes: list[str] = []
        self.setMinimumSize(160, 120)

    def set_classes(self, classes: list[str], axis_title: str) -> None:
        self._classes = list(classes)
        count = len(classes)
        # The first class on top, as in the form and the predictions file.
        axis = self.getAxis("left")
        axis.setTicks([[(count - 1 - i, name) for i, name in enumerate(classes)]])
        # Wide enough for the longest name: pyqtgraph leaves out tick labels that do not fit.
        metrics = QFontMetrics(axis.style.get("tickFont") or self.font())
        axis.setWidth(min(220, max(metrics.horizontalAdvance(name) for name in classes) + 14) if classes else None)
        self.setLabel("bottom", axis_title)
        for label in self._labels:
            self.removeItem(label)
        self._labels = []
        for _ in classes:
            label = pg.TextItem(color=LEGEND_TEXT_COLOUR, anchor=(0, 0.5))
            self.addItem(label)
            self._labels.append(label)
        self.setYRange(-0.6, count - 0.4, padding=0)
        self.show_values(np.zeros(count))

    def show_values(self, values: np.ndarray, probabilities: bool = True) -> None:
        values = np.asarray(values, dtype=np.float64).ravel()
        count = len(values)
        chosen = int(np.argmax(values)) if count else -1
        brushes = [pg.mkBrush(CHOSEN_BAR if i == chosen else OTHER_BAR) for i in range(count)]
        y = [count - 1 - i for i in range(count)]
        self.bars.setOpts(x0=np.minimum(values, 0), y=y, height=0.7, width=np.abs(values), brushes=brushes)
        high = 1.0 if probabilities else max(1e-6, float(np.max(np.abs(values))) if count else 1.0)
        low = 0.0 if probabilities else min(0.0, float(values.min()) if count else 0.0)
        # Room on the right for the last bar's figure.
        self.setXRange(low, high * 1.02, padding=0)
        for label, value, position in zip(self._labels, values, y, strict=False):
            label.setText(f"{value * 100:.0f} %" if probabilities else f"{value:.3g}")
            inside = value > 0.6 * high  # a long bar holds its figure; a short one has it after its end
            label.setAnchor((1, 0.5) if inside else (0, 0.5))
            label.setColor("w" if inside else LEGEND_TEXT_COLOUR)
            label.setPos(value - high * 0.015 if inside else max(value, 0) + high * 0.015, position)


class DrawingCanvas(QWidget):
    """An image drawn with the mouse at the data's own resolution, shown large.

    The left button paints in the brightest pixel value with soft edges; the
    right button rubs out. `paint_at` is what the mouse calls, in pixel units
    (the centre of pixel (row r, column c) is at ``(c + 0.5, r + 0.5)``).
    """

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._pixels = np.zeros((8, 8), dtype=np.float32)
        self.maximum = 16.0
        self._last: tuple[float, float] | None = None
        self._erasing = False
        self.setMinimumSize(150, 150)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setCursor(Qt.CrossCursor)
        self.setToolTip(tr("Draw with the left mouse button; the right button rubs out."))

    # ------------------------------------------------------------ the image
    def set_format(self, shape: tuple[int, int], maximum: float) -> None:
        self._pixels = np.zeros(shape, dtype=np.float32)
        self.maximum = float(maximum)
        self.update()

    def pixels(self) -> np.ndarray:
        return self._pixels.copy()

    def set_pixels(self, pixels) -> None:
        self._pixels = np.clip(np.asarray(pixels, dtype=np.float32).reshape(self._pixels.shape), 0, self.maximum)
        self.update()
        self.changed.emit()

    def clear(self) -> None:
        self.set_pixels(np.zeros_like(self._pixels))

    def _brush(self) -> tuple[float, float]:
        """(full-strength radius, outer radius) in pixels: a pen about as wide as the data's strokes."""
        return (1.0, 2.2) if max(self._pixels.shape) >= 20 else (0.45, 0.95)

    def paint_at(self, x: float, y: float, erase: bool = False) -> None:
        height, width = self._pixels.shape
        core, edge = self._brush()
        columns, rows = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
        strength = np.clip((edge - np.hypot(columns - x, rows - y)) / (edge - core), 0, 1) * self.maximum
        if erase:
            self._pixels = np.minimum(self._pixels, self.maximum - strength)
        else:
            self._pixels = np.maximum(self._pixels, strength)
        self.update()
        self.changed.emit()

    def stroke(self, start: tuple[float, float], end: tuple[float, float], erase: bool = False) -> None:
        """Paints along a line, a quarter pixel at a time, so a quick move leaves no gaps."""
        steps = max(1, int(np.ceil(np.hypot(end[0] - start[0], end[1] - start[1]) * 4)))
        blocked = self.signalsBlocked()
        self.blockSignals(True)
        for t in np.linspace(0, 1, steps + 1)[1:]:
            self.paint_at(start[0] + (end[0] - start[0]) * t, start[1] + (end[1] - start[1]) * t, erase)
        self.blockSignals(blocked)
        self.changed.emit()

    # ------------------------------------------------------------ geometry
    def _square(self) -> QRectF:
        side = min(self.width(), self.height()) - 2
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def cell_at(self, position: QPointF) -> tuple[float, float]:
        """Widget coordinates → pixel units."""
        square = self._square()
        height, width = self._pixels.shape
        return ((position.x() - square.left()) / square.width() * width,
                (position.y() - square.top()) / square.height() * height)

    def position_of(self, x: float, y: float) -> QPoint:
        """Pixel units → widget coordinates (the inverse of `cell_at`)."""
        square = self._square()
        height, width = self._pixels.shape
        return QPoint(round(square.left() + x / width * square.width()),
                      round(square.top() + y / height * square.height()))

    # ------------------------------------------------------------ Qt
    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        square = self._square()
        height, width = self._pixels.shape
        shade = np.ascontiguousarray(255 - np.clip(self._pixels / self.maximum * 255, 0, 255).astype(np.uint8))
        image = QImage(shade.data, width, height, width, QImage.Format_Grayscale8)
        painter.drawImage(square, image)
        painter.setPen(QPen(QColor(0, 0, 0, 28 if width >= 20 else 50), 1))
        for i in range(1, width):
            x = square.left() + i * square.width() / width
            painter.drawLine(QPointF(x, square.top()), QPointF(x, square.bottom()))
        for i in range(1, height):
            y = square.top() + i * square.height() / height
            painter.drawLine(QPointF(square.left(), y), QPointF(square.right(), y))
        painter.setPen(QPen(QColor("#909090"), 1))
        painter.drawRect(square)
        painter.end()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() not in (Qt.LeftButton, Qt.RightButton):
            return
        self._erasing = event.button() == Qt.RightButton
        self._last = self.cell_at(event.position())
        self.paint_at(*self._last, erase=self._erasing)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        # A flag, not event.buttons(): a synthetic move may not say which button is held.
        if self._last is None:
            return
        point = self.cell_at(event.position())
        self.stroke(self._last, point, erase=self._erasing)
        self._last = point

    def mouseReleaseEvent(self, _event) -> None:  # noqa: N802
        self._last = None


class TableForm(QWidget):
    """One field per column of the table the model learned from; emits `edited` on every change."""

    edited = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._layout = QFormLayout(self)
        self._layout.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        self._layout.setContentsMargins(4, 4, 4, 4)
        self.fields: dict[str, QLineEdit | QComboBox] = {}

    def set_columns(self, preprocessing) -> None:
        while self._layout.rowCount():
            self._layout.removeRow(0)
        self.fields = {}
        # Grouped once: looking each column up among all inputs took 0.1 s for 784 pixel columns.
        features = {}
        for feature in preprocessing.inputs:
            features.setdefault(feature.column, []).append(feature)
        for column in preprocessing.columns:
            categories = [f.category for f in features[column] if f.kind == ONE_HOT]
            if categories:
                field = QComboBox()
                field.addItems(categories)
                field.currentIndexChanged.connect(lambda _i: self.edited.emit())
            else:
                field = QLineEdit()
                field.setMinimumWidth(70)
                feature = features[column][0]
                if feature.minimum is not None and feature.maximum is not None:
                    hint = tr("from {low} to {high}", low=number_text(feature.minimum), high=number_text(feature.maximum))
                    field.setPlaceholderText(hint)
                    field.setToolTip(tr("In training, {column} went {range}.", column=column, range=hint))
                field.textEdited.connect(lambda _text: self.edited.emit())
            label = QLabel(column)
            label.setToolTip(column)
            self._layout.addRow(label, field)
            self.fields[column] = field

    def values(self) -> dict[str, str]:
        return {column: field.currentText() if isinstance(field, QComboBox) else field.text()
                for column, field in self.fields.items()}

    def set_values(self, values: dict[str, str]) -> None:
        """Shows ``values`` without emitting `edited`."""
        for column, field in self.fields.items():
            field.blockSignals(True)
            if isinstance(field, QComboBox):
                field.setCurrentIndex(field.findText(values.get(column, "")))
            else:
                field.setText(values.get(column, ""))
            field.blockSignals(False)


class TryItView(QStackedWidget):
    """Give the current model a row and see its prediction: a form for tables, a canvas for images.

    `set_model` makes a model current (or none). With the data set it was
    trained on, the form starts from a real test row and can step through
    them; without one, from the values training filled gaps with.
    """

    prediction_shown = Signal()
    model_changed = Signal(bool)  # whether there is a model to try

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model: LoadedModel | None = None
        self.dataset = None
        self.predicted: str = ""  # what the last prediction was (a class name or a value)
        self.shown_values: dict[str, str] = {}  # the raw row it was made from
        self.probabilities: np.ndarray | None = None  # its probability (or score) per class
        self.warnings: list[str] = []
        self._test_index = 0
        self._draw_timer = QTimer(self)
        self._draw_timer.setSingleShot(True)
        self._draw_timer.setInterval(DRAW_INTERVAL_MS)
        self._draw_timer.timeout.connect(self._predict_drawing)
        self._build()

    # ------------------------------------------------------------ layout
    def _build(self) -> None:
        self.empty = QLabel(tr("Train a model first (Run ▸ Train), or open one with File ▸ Open trained model…; "
                               "then try it here."))
        self.empty.setAlignment(Qt.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setMargin(20)
        self.empty.setStyleSheet("color: #555;")

        self.outcome = QLabel()
        self.outcome.setTextFormat(Qt.RichText)
        self.outcome.setWordWrap(True)
        self.warning = QLabel()
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #a15c00;")
        self.warning.hide()
        self.bars = ProbabilityBars()
        answer = QWidget()
        answer_layout = QVBoxLayout(answer)
        answer_layout.setContentsMargins(4, 0, 0, 0)
        answer_layout.addWidget(self.outcome)
        answer_layout.addWidget(self.warning)
        answer_layout.addWidget(self.bars, 1)
        answer_layout.addStretch(0)  # keeps a regression's value at the top when there are no bars
        self._answer = answer

        # Tables and two-feature points: a form.
        self.form = TableForm()
        self.next_row_button = QPushButton(tr("Next test row"))
        self.next_row_button.setToolTip(tr("Fill the form with the next row of the test set, which the model never saw."))
        self.next_row_button.clicked.connect(self.next_test_row)
        self.row_label = QLabel()
        self.row_label.setWordWrap(True)
        self.row_label.setStyleSheet("color: #444;")
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form)
        scroll.setFrameShape(QScrollArea.NoFrame)
        self.form.edited.connect(self._predict_form)
        table_page = QWidget()
        table_left = QVBoxLayout()
        top = QHBoxLayout()
        top.addWidget(self.next_row_button)
        top.addWidget(self.row_label, 1)
        table_left.addLayout(top)
        table_left.addWidget(scroll, 1)
        self._table_layout = QHBoxLayout(table_page)
        self._table_layout.setContentsMargins(6, 6, 6, 6)
        self._table_layout.addLayout(table_left, 5)
        # The answer moves to whichever page the model needs; it always has a parent, since
        # a parentless widget would outlive the window and be destroyed at a random later time.
        self._table_layout.addWidget(answer, 5)
        self.table_page = table_page

        # Images: a canvas.
        self.canvas = DrawingCanvas()
        self.canvas.changed.connect(self._draw_timer.start)
        self.clear_button = QPushButton(tr("Clear"))
        self.clear_button.setToolTip(tr("Start the drawing again from an empty image."))
        self.clear_button.clicked.connect(self.canvas.clear)
        self.test_image_button = QPushButton(tr("Load a test image"))
        self.test_image_button.setToolTip(tr("Show the next image of the test set, which the model never saw."))
        self.test_image_button.clicked.connect(self.next_test_row)
        self.image_label = QLabel()
        self.image_label.setWordWrap(True)
        self.image_label.setStyleSheet("color: #444;")
        buttons = QVBoxLayout()
        buttons.addWidget(self.clear_button)
        buttons.addWidget(self.test_image_button)
        buttons.addWidget(self.image_label)
        buttons.addStretch(1)
        image_page = QWidget()
        self._image_layout = QHBoxLayout(image_page)
        self._image_layout.setContentsMargins(6, 6, 6, 6)
        self._image_layout.addWidget(self.canvas, 4)
        self._image_layout.addLayout(buttons, 2)
        self.image_page = image_page

        for page in (self.empty, self.table_page, self.image_page):
            self.addWidget(page)
        self.setCurrentWidget(self.empty)

    # ------------------------------------------------------------ the model
    def set_model(self, model: LoadedModel | None, dataset=None) -> None:
        """Makes ``model`` the one to try; ``dataset`` gives test rows when its inputs are the model's."""
        self._draw_timer.stop()
        self.model = model
        self.predicted, self.shown_values, self.warnings, self.probabilities = "", {}, [], None
        if model is None:
            self.dataset = None
            self.setCurrentWidget(self.empty)
            self.model_changed.emit(False)
            return
        preprocessing = model.preprocessing
        self.dataset = dataset if dataset_fits(preprocessing, dataset) else None
        self._test_index = 0
        if preprocessing.is_classification:
            title = tr("score") if preprocessing.output == "scores" else tr("probability")
            self.bars.set_classes(preprocessing.classes, title)
        self.bars.setVisible(preprocessing.is_classification)
        page = self.image_page if preprocessing.image_shape else self.table_page
        if self._answer.parent() is not page:
            page.layout().addWidget(self._answer, 5)
        if preprocessing.image_shape:
            self.canvas.set_format(tuple(preprocessing.image_shape), pixel_maximum(preprocessing))
        else:
            self.form.set_columns(preprocessing)
        has_rows = self.dataset is not None
        self.next_row_button.setVisible(has_rows)
        self.test_image_button.setVisible(has_rows)
        self.setCurrentWidget(page)
        if has_rows:
            self.show_test_row(0)
        elif preprocessing.image_shape:
            self.image_label.setText(tr("Draw a figure like the ones the model learned."))
            self.canvas.clear()
            self._predict_drawing()
        else:
            self.row_label.setText(tr("Starting from the values training filled gaps with."))
            self.show_values(fill_values(preprocessing))
        self.model_changed.emit(True)

    def show_test_row(self, index: int) -> None:
        """Shows test row ``index`` (in the form or on the canvas) and what the model predicts for it."""
        if self.model is None or self.dataset is None:
            return
        rows = len(self.dataset.x_test)
        self._test_index = index % rows
        row = self.dataset.x_test[self._test_index]
        preprocessing = self.model.preprocessing
        truth = true_text(self.dataset, self._test_index)
        if preprocessing.is_classification:
            about = tr("Test row {row} of {rows}: true class {truth}", row=self._test_index + 1, rows=rows, truth=truth)
        else:
            about = tr("Test row {row} of {rows}: true {target} {truth}", row=self._test_index + 1, rows=rows,
                       target=preprocessing.target, truth=truth)
        if preprocessing.image_shape:
            self.image_label.setText(about)
            self.canvas.set_pixels(row)
            self._predict_drawing()
        else:
            self.row_label.setText(about)
            self.show_values(row_values(preprocessing, row))

    def next_test_row(self) -> None:
        self.show_test_row(self._test_index + 1)

    def show_values(self, values: dict[str, str]) -> None:
        """Puts ``values`` in the form and predicts them."""
        self.form.set_values(values)
        self._predict_form()

    # ------------------------------------------------------------ predicting
    @property
    def drawing_pending(self) -> bool:
        """Whether the canvas has changed since the last prediction."""
        return self._draw_timer.isActive()

    def _predict_form(self) -> None:
        self.predict(self.form.values())

    def _predict_drawing(self) -> None:
        self._draw_timer.stop()
        if self.model is not None and self.model.preprocessing.image_shape:
            self.predict(pixel_values(self.canvas.pixels()))

    def predict(self, values: dict[str, str]):
        """Predicts one raw row and shows it; returns ``(predicted, probabilities)`` or `None` after a failure."""
        if self.model is None:
            return None
        try:
            predicted, probabilities, outputs, warnings = self.model.predict_values(values)
        except UserError as error:
            self.outcome.setText(html.escape(error_text(error)))
            return None
        except Exception as error:  # a runtime's own failure: a sentence, never a crash
            self.outcome.setText(html.escape(tr("The model could not predict this row ({error}).",
                                                error=f"{type(error).__name__}: {error}")))
            return None
        self.predicted, self.shown_values, self.warnings = predicted[0], dict(values), warnings
        self.probabilities = None if probabilities is None else np.asarray(probabilities[0], dtype=np.float64)
        preprocessing = self.model.preprocessing
        if probabilities is not None:
            row = np.asarray(probabilities[0], dtype=np.float64)
            chosen = preprocessing.classes.index(predicted[0])
            share = f" · {row[chosen] * 100:.0f} %" if preprocessing.output != "scores" else ""
            self.outcome.setText(f"{tr('Predicted class:')} <span style='font-size:14pt'><b>"
                                 f"{html.escape(predicted[0])}</b></span>{share}")
            self.bars.show_values(row, probabilities=preprocessing.output != "scores")
        else:
            self.outcome.setText(tr("Predicted {target}:", target=html.escape(preprocessing.target or "y"))
                                 + f" <span style='font-size:14pt'><b>{_shown_value(predicted[0])}</b></span>")
        self.warning.setText(" ".join(warnings))
        self.warning.setVisible(bool(warnings))
        self.prediction_shown.emit()
        return predicted[0], None if probabilities is None else probabilities[0]


class PreviewPointTrial(QObject):
    """Clicking the data preview of two-feature data asks the Try it view about that point.

    The point is marked on the preview with what the model predicts there,
    and the Try it view's form shows it with every class's probability.
    """

    def __init__(self, preview, view: TryItView, parent=None):
        super().__init__(parent)
        self.preview, self.view = preview, view
        self.marker = pg.ScatterPlotItem(size=16, symbol="star", brush=pg.mkBrush("#ffd400"), pen=pg.mkPen("k", width=1.2))
        self.label = pg.TextItem(color="#202020", fill=pg.mkBrush(255, 255, 255, 225), border=pg.mkPen("#909090"),
                                 anchor=(-0.08, 1.1))
        for item in (self.marker, self.label):
            item.setZValue(20)
            item.hide()
            # Out of the auto-range: a TextItem's bounds are its anchor, not where it is.
            preview.plot.addItem(item, ignoreBounds=True)
        preview.plot.scene().sigMouseClicked.connect(self._clicked)
        # Once the form shows other values, the mark no longer stands for them.
        view.form.edited.connect(self.clear)
        view.next_row_button.clicked.connect(self.clear)

    def applies(self) -> bool:
        """Whether the model can answer for a point of the data the preview shows."""
        model, dataset = self.view.model, self.preview.dataset
        if model is None or dataset is None or self.preview.currentWidget() is not self.preview.plot:
            return False
        preprocessing = model.preprocessing
        if len(preprocessing.inputs) != 2 or preprocessing.image_shape or any(f.kind != "number" for f in preprocessing.inputs):
            return False
        if self.view.dataset is not None:
            return self.view.dataset is dataset
        return preprocessing.columns == list(dataset.feature_names)

    def _clicked(self, event) -> None:
        if event.button() != Qt.LeftButton or not self.applies():
            return
        box = self.preview.plot.plotItem.vb
        if not box.sceneBoundingRect().contains(event.scenePos()):
            return
        point = box.mapSceneToView(event.scenePos())
        self.try_point(point.x(), point.y())

    def try_point(self, x: float, y: float) -> bool:
        """Predicts the point (x, y) in data units, marks it, and shows it in the Try it view."""
        if not self.applies():
            return False
        first, second = self.view.model.preprocessing.columns
        self.view.show_values({first: number_text(x), second: number_text(y)})
        if not self.view.predicted:
            return False
        self.view.row_label.setText(tr("The point clicked on the data preview."))
        self.marker.setData([x], [y])
        self.label.setText(self._label_text())
        self.label.setPos(x, y)
        self.marker.show()
        self.label.show()
        # A TextItem keeps the view's scale from when it was last shown; the view may have moved since.
        self.label.updateTransform(force=True)
        return True

    def _label_text(self) -> str:
        preprocessing = self.view.model.preprocessing
        if not preprocessing.is_classification:
            return f"{preprocessing.target or 'y'} = {self.view.predicted}"
        if self.view.probabilities is None or preprocessing.output == "scores":
            return self.view.predicted
        share = self.view.probabilities[preprocessing.classes.index(self.view.predicted)]
        return f"{self.view.predicted} · {share * 100:.0f} %"

    def clear(self) -> None:
        self.marker.hide()
        self.label.hide()


def _shown_value(text: str) -> str:
    """A regression's value to read at a glance: five significant digits, thousands grouped (263.14, 3,456.8)."""
    try:
        value = float(text)
    except ValueError:
        return html.escape(text)
    return html.escape(f"{value:,.5g}" if abs(value) < 1e5 else f"{value:,.0f}")
