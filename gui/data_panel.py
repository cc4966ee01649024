"""Choosing a data set and seeing it: settings on one side, a preview below the charts."""

from __future__ import annotations

import dataclasses
import html
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from datasets.choice import (
    MAX_NOISE,
    MAX_SAMPLES,
    MAX_SEED,
    MAX_TEST_FRACTION,
    MIN_SAMPLES,
    MIN_TEST_FRACTION,
    TASK_CHOICES,
)
from datasets.registry import DATASETS
from gui.charts import TimedPlotWidget, paced_interval_ms
from gui.i18n import error_text, tr
from gui.panel import ProjectPanel
from models.network.spec import Project

# Colours a colour-blind reader can tell apart (Okabe–Ito), for classes.
CLASS_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
                 "#999999", "#882255"]
# Short enough for the narrow settings tab; the tooltips say the rest.
MISSING_LABELS = {"drop": "Drop those rows", "fill": "Fill the gaps"}
MISSING_TIPS = {"drop": "Leave out every row that has an empty cell.",
                "fill": "Fill each empty cell: the median for a number column, the most frequent value for text."}
TASK_LABELS = {"auto": "Auto (from the target)", "classification": "Classification", "regression": "Regression"}
TASK_TIPS = {
    "auto": "Text, true/false, or at most 20 different whole numbers in the target mean classes; other numbers, "
            "a regression. The Data tab says which was chosen and why.",
    "classification": "Predict one of the target's values, as a class.",
    "regression": "Predict the target as a number (its column must hold numbers).",
}
# The form's rows, top to bottom ("" is the data set's description).
FORM_ROWS = ("Data set", "", "Samples", "Noise", "Test fraction", "Seed", "File", "Target column", "Task",
             "Missing values", "Leave out")
# How the undo menu names an edited choice ("data set → Two spirals").
EDIT_NAMES = {"name": "data set", "data_file": "data file", "test_fraction": "test fraction", "samples": "samples",
              "noise": "noise", "seed": "seed", "target": "target", "missing": "missing", "task": "task",
              "exclude": "left-out columns"}
LEGEND_TEXT_COLOUR = "#303030"  # as in the training charts; pyqtgraph's default is for dark plots


def _narrow_combo() -> QComboBox:
    """A choice box that may be narrower than its longest choice, which its list still shows in full.

    Sized by the longest choice, the form would be wider than its tab and cut off at the right.
    """
    combo = QComboBox()
    combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(10)
    return combo



_COLUMNS_CACHE: dict[tuple[str, float], list[str]] = {}


def _csv_columns(path: str) -> list[str]:
    """A CSV file's column names, read once per version of the file.

    The panel is redrawn on every edit and every undo; the header is read
    again only when the file itself has changed.
    """
    import os

    # The standard library only: no pandas import on the GUI thread.
    from datasets.csv_text import read_csv_columns

    try:
        key = (path, os.path.getmtime(path))
    except OSError:
        return read_csv_columns(path)  # raises the sentence for a missing file
    if key not in _COLUMNS_CACHE:
        _COLUMNS_CACHE[key] = read_csv_columns(path)
    return _COLUMNS_CACHE[key]

class DataPanel(ProjectPanel):
    """The data-set choice and its settings, with sizes and class counts once loaded.

    Same contract as the other panels: `set_project` shows without emitting;
    each user edit emits `changed` with a new project and a description.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        body = QWidget()
        column = QVBoxLayout(body)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        self.name_combo = _narrow_combo()
        for info in DATASETS.values():
            self.name_combo.addItem(tr(info.title), info.name)
            self.name_combo.setItemData(self.name_combo.count() - 1, tr(info.description), Qt.ToolTipRole)
        self.name_combo.setToolTip(tr("The data set to learn from. Hover over a choice for what it is."))
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setStyleSheet("color: #444;")
        self.samples = QSpinBox()
        self.samples.setRange(MIN_SAMPLES, MAX_SAMPLES)
        self.samples.setSingleStep(100)
        self.samples.setToolTip(tr("How many points to draw for a synthetic data set."))
        self.noise = QDoubleSpinBox()
        self.noise.setRange(0, MAX_NOISE)
        self.noise.setDecimals(2)
        self.noise.setSingleStep(0.05)
        self.noise.setToolTip(tr("How much random noise is added to each point; more noise makes the classes overlap."))
        self.test_fraction = QDoubleSpinBox()
        self.test_fraction.setRange(MIN_TEST_FRACTION, MAX_TEST_FRACTION)
        self.test_fraction.setSingleStep(0.05)
        self.test_fraction.setToolTip(tr("Share of rows held back as the test set, never seen during training."))
        self.seed = QSpinBox()
        self.seed.setRange(0, MAX_SEED)
        self.seed.setToolTip(tr("Seed for drawing the data and for the train/test split."))
        self.file_edit = QLineEdit()
        self.file_edit.setPlaceholderText(tr("Choose a file…"))
        self.file_edit.setToolTip(tr("The CSV file to learn from, or a downloaded mnist.npz / idx folder for MNIST."))
        self.browse = QPushButton(tr("Browse…"))
        self.browse.setToolTip(tr("Pick the file."))
        file_row = QHBoxLayout()
        file_row.addWidget(self.file_edit, 1)
        file_row.addWidget(self.browse)
        self.target = _narrow_combo()
        self.target.setEditable(False)
        self.target.setToolTip(tr("The column to predict. Text or few whole-number values make it classification; other numbers, regression."))
        self.missing = _narrow_combo()
        for key, label in MISSING_LABELS.items():
            self.missing.addItem(tr(label), key)
            self.missing.setItemData(self.missing.count() - 1, tr(MISSING_TIPS[key]), Qt.ToolTipRole)
        self.missing.setToolTip(tr("What to do with rows that have an empty cell."))
        self.task = _narrow_combo()
        for key in TASK_CHOICES:
            self.task.addItem(tr(TASK_LABELS[key]), key)
            self.task.setItemData(self.task.count() - 1, tr(TASK_TIPS[key]), Qt.ToolTipRole)
        self.task.setToolTip(tr("Whether to predict classes or a number from the target column."))
        self.exclude = QLineEdit()
        self.exclude.setPlaceholderText(tr("none"))
        self.exclude.setToolTip(tr("CSV columns not to use as inputs, separated by commas: a column that gives the "
                                   "answer away, or an id."))
        for spin in (self.samples, self.noise, self.test_fraction, self.seed):
            spin.setKeyboardTracking(False)
        self._rows = {}
        widgets = (self.name_combo, self.description, self.samples, self.noise, self.test_fraction, self.seed,
                   file_row, self.target, self.task, self.missing, self.exclude)
        for label, widget in zip(FORM_ROWS, widgets, strict=True):
            form.addRow(tr(label) if label else "", widget)
            self._rows[label] = widget
        column.addLayout(form)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.RichText)
        self.status.setTextInteractionFlags(Qt.TextSelectableByMouse)
        column.addWidget(self.status)
        column.addStretch(1)
        self.setWidget(body)
        self._form = form
        self.name_combo.currentIndexChanged.connect(lambda _i: self._edit("name", self.name_combo.currentData()))
        self.samples.valueChanged.connect(lambda value: self._edit("samples", int(value)))
        self.noise.valueChanged.connect(lambda value: self._edit("noise", float(value)))
        self.test_fraction.valueChanged.connect(lambda value: self._edit("test_fraction", float(value)))
        self.seed.valueChanged.connect(lambda value: self._edit("seed", int(value)))
        self.file_edit.editingFinished.connect(lambda: self._edit("data_file", self.file_edit.text().strip()))
        self.browse.clicked.connect(self._browse)
        self.target.currentIndexChanged.connect(lambda _i: self._edit("target", self.target.currentData() or ""))
        self.missing.currentIndexChanged.connect(lambda _i: self._edit("missing", self.missing.currentData()))
        self.task.currentIndexChanged.connect(lambda _i: self._edit("task", self.task.currentData()))
        self.exclude.editingFinished.connect(
            lambda: self._edit("exclude", [name.strip() for name in self.exclude.text().split(",") if name.strip()]))
        self.set_project(self._project)

    # ------------------------------------------------------------ showing
    def set_project(self, project: Project) -> None:
        """Shows ``project``'s data-set choice; emits nothing."""
        self._project = project.copy()
        choice = self._project.dataset
        widgets = (self.name_combo, self.samples, self.noise, self.test_fraction, self.seed, self.file_edit,
                   self.target, self.task, self.missing, self.exclude)
        for widget in widgets:
            widget.blockSignals(True)
        self.exclude.setText(", ".join(choice.exclude))
        self.name_combo.setCurrentIndex(max(self.name_combo.findData(choice.name), 0))
        self.samples.setValue(choice.samples)
        self.noise.setValue(choice.noise)
        self.test_fraction.setValue(choice.test_fraction)
        self.seed.setValue(choice.seed)
        self.file_edit.setText(choice.data_file)
        self._fill_targets(choice.data_file, choice.target)
        self.missing.setCurrentIndex(max(self.missing.findData(choice.missing), 0))
        self.task.setCurrentIndex(max(self.task.findData(choice.task), 0))
        for widget in widgets:
            widget.blockSignals(False)
        self._show_relevant_rows()

    def _fill_targets(self, path: str, current: str) -> None:
        from models.errors import UserError

        self.target.clear()
        columns = []
        if path and self._project.dataset.name == "csv":
            try:
                columns = _csv_columns(path)
            except UserError:
                columns = []
        for column in columns:
            self.target.addItem(column, column)
        if current and self.target.findData(current) < 0:
            self.target.addItem(current, current)
        if not current and columns:
            self.target.insertItem(0, tr("— choose the column to predict —"), "")
        self.target.setCurrentIndex(max(self.target.findData(current), 0))

    def _show_relevant_rows(self) -> None:
        info = DATASETS.get(self._project.dataset.name)
        if info is None:
            return
        self.description.setText(tr(info.description))
        visible = {"Samples": info.uses_samples, "Noise": info.uses_noise, "File": info.needs_file or info.accepts_file,
                   "Target column": info.kind == "csv", "Missing values": info.kind == "csv", "Task": info.kind == "csv",
                   "Leave out": info.kind == "csv",
                   "Test fraction": info.kind != "images"}
        for label, shown in visible.items():
            self._form.setRowVisible(self._form_row(label), shown)

    def _form_row(self, label: str) -> int:
        for row in range(self._form.rowCount()):
            item = self._form.itemAt(row, QFormLayout.LabelRole)
            if item is not None and item.widget() is not None and item.widget().text() == tr(label):
                return row
        return -1

    def show_loading(self) -> None:
        self.status.setText(f"<i>{tr('Loading the data…')}</i>")

    def show_error(self, message: str) -> None:
        self.status.setText(f"<span style='color:#b00020'><b>{tr('Could not load:')}</b> {html.escape(message)}</span>")

    def show_dataset(self, dataset) -> None:
        """Sizes, class counts and what loading did."""
        lines = [tr("<b>{train}</b> training rows, <b>{test}</b> test rows, <b>{features}</b> features.",
                    train=f"{len(dataset.x_train):,}", test=f"{len(dataset.x_test):,}", features=dataset.n_features)]
        if dataset.is_classification:
            counts = ", ".join(f"{html.escape(name)}: {count:,}" for name, count in dataset.class_counts().items())
            lines.append(tr("Classification into {classes} classes ({counts}).", classes=dataset.n_classes, counts=counts))
        else:
            lines.append(tr("Regression of <b>{target}</b> (mean {mean}, sd {sd}).", target=html.escape(dataset.target_name),
                            mean=f"{float(np.mean(dataset.y_train)):.4g}", sd=f"{float(np.std(dataset.y_train)):.4g}"))
        lines += [f"<span style='color:#555'>{html.escape(error_text(note))}</span>" for note in dataset.notes]
        self.status.setText("<br>".join(lines))

    # ------------------------------------------------------------ editing
    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, tr("Choose a data file"), self.file_edit.text(),
                                              tr("Data files") + " (*.csv *.tsv *.txt *.npz *.gz);;" + tr("All files") + " (*)")
        if path:
            self.file_edit.setText(path)
            self._edit("data_file", path)

    def _edit(self, name: str, value) -> None:
        choice = self._project.dataset
        if getattr(choice, name) == value:
            return
        changes = {name: value}
        if name == "data_file" and choice.name == "csv":
            changes["target"] = ""  # a new file has its own columns
        if name == "name" and value == "csv":
            changes["target"] = ""
        if name == "name" and value != "csv":
            changes["task"] = "auto"  # only a CSV's task can be chosen
        project = self._project.copy()
        project.dataset = dataclasses.replace(choice, **changes)
        self.set_project(project)
        label = tr(EDIT_NAMES.get(name, name))
        shown = tr(DATASETS[value].title) if name == "name" and value in DATASETS else value
        if name == "exclude":
            shown = ", ".join(value) or tr("none")
        self.changed.emit(project.copy(), f"{label} → {shown}")


# Columns measured to fit their text; past these they keep the default width. Measuring is
# per cell, and 784 pixel columns took over a second on the window's thread.
FITTED_COLUMNS = 40


def fit_first_columns(table, count: int = FITTED_COLUMNS) -> None:
    """Sizes the first ``count`` columns of a table view to their contents."""
    model = table.model()
    for column in range(min(count, model.columnCount() if model is not None else 0)):
        table.resizeColumnToContents(column)


class _FrameModel(QAbstractTableModel):
    """A read-only table over a header and rows of text."""

    def __init__(self, header: list[str], rows: list[list[str]]):
        super().__init__()
        self.header, self.rows = header, rows

    def rowCount(self, parent=None):
        return 0 if parent is not None and parent.isValid() else len(self.rows)

    def columnCount(self, parent=None):
        return 0 if parent is not None and parent.isValid() else len(self.header)

    def data(self, index, role=Qt.DisplayRole):
        if role == Qt.DisplayRole:
            return self.rows[index.row()][index.column()]
        return None

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if role != Qt.DisplayRole:
            return None
        return self.header[section] if orientation == Qt.Horizontal else str(section + 1)


def probe_grid(x: np.ndarray, size: int = 60):
    """A ``size``×``size`` grid of points covering two-feature data, with a margin."""
    low, high = x.min(axis=0), x.max(axis=0)
    margin = (high - low) * 0.1 + 1e-6
    xs = np.linspace(low[0] - margin[0], high[0] + margin[0], size, dtype=np.float32)
    ys = np.linspace(low[1] - margin[1], high[1] + margin[1], size, dtype=np.float32)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2).astype(np.float32)
    return xs, ys, grid


def _hex_to_rgb(colour: str) -> np.ndarray:
    value = QColor(colour)
    return np.array([value.red(), value.green(), value.blue()], dtype=np.float32)


def boundary_image(outputs: np.ndarray, size: int, n_classes: int) -> np.ndarray:
    """RGBA pixels showing which class the model predicts over the grid, paler where unsure."""
    outputs = np.asarray(outputs, dtype=np.float32).reshape(size * size, -1)
    if outputs.shape[1] == 1 and n_classes == 2:
        p = np.clip(outputs[:, 0], 0, 1)
        probabilities = np.stack([1 - p, p], axis=1)
    elif outputs.shape[1] == 1:  # regression: shade by value
        value = outputs[:, 0]
        span = np.ptp(value) or 1.0
        t = ((value - value.min()) / span)[:, None]
        rgb = (1 - t) * _hex_to_rgb(CLASS_COLOURS[0]) + t * _hex_to_rgb(CLASS_COLOURS[1])
        rgba = np.concatenate([rgb, np.full((len(rgb), 1), 110.0)], axis=1)
        return rgba.reshape(size, size, 4).astype(np.ubyte)
    else:
        probabilities = outputs
    winner = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    colours = np.stack([_hex_to_rgb(CLASS_COLOURS[i % len(CLASS_COLOURS)]) for i in range(probabilities.shape[1])])
    rgb = colours[winner]
    chance = 1.0 / probabilities.shape[1]
    alpha = 30 + 140 * np.clip((confidence - chance) / (1 - chance), 0, 1)
    rgba = np.concatenate([rgb, alpha[:, None]], axis=1)
    return rgba.reshape(size, size, 4).astype(np.ubyte)


class DataPreview(QStackedWidget):
    """A scatter plot for two-feature sets (with the decision boundary while training),
    a grid of images for digits and MNIST, and a table otherwise."""

    GRID = 60

    def __init__(self, parent=None):
        super().__init__(parent)
        self.dataset = None
        self._grid = None
        self._probe, self._next_probe = None, 0.0  # the boundary's outputs waiting to be drawn, and when
        self._probe_timer = QTimer(self)
        self._probe_timer.setSingleShot(True)
        self._probe_timer.timeout.connect(self._draw_probe)
        self.plot = TimedPlotWidget(background="w")
        self.plot.setAspectLocked(False)
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.addLegend(offset=(5, 5), brush=pg.mkBrush(255, 255, 255, 220), pen=pg.mkPen(210, 210, 210),
                            labelTextColor=LEGEND_TEXT_COLOUR)
        self.boundary = pg.ImageItem()
        self.boundary.setZValue(-10)
        self.plot.addItem(self.boundary)
        self.images = QLabel()
        self.images.setAlignment(Qt.AlignCenter)
        self.images.setStyleSheet("background: white;")
        self.table = QTableView()
        self.table.setAlternatingRowColors(True)
        self.empty = QLabel(tr("No data loaded."))
        self.empty.setAlignment(Qt.AlignCenter)
        for widget in (self.empty, self.plot, self.images, self.table):
            self.addWidget(widget)
        self._scatter_items = []

    def clear(self) -> None:
        self.dataset = None
        self._grid = None
        self._probe_timer.stop()
        self._probe = None
        self.setCurrentWidget(self.empty)

    def show_dataset(self, dataset) -> None:
        self.dataset = dataset
        self._grid = None
        if dataset.image_shape is not None:
            self._show_images(dataset)
        elif dataset.n_features == 2:
            self._show_points(dataset)
        else:
            self._show_table(dataset)

    def probe_points(self):
        """Grid points whose predictions draw the decision boundary, for two-feature data."""
        return None if self._grid is None else self._grid[2]

    def show_probe(self, outputs, now: bool = False) -> None:
        """Draws the decision boundary from the model's outputs on the grid: at once when ``now`` (a run's
        last), else paced so that drawing it takes at most a quarter of the window's time (the latest
        outputs win)."""
        self._probe = outputs
        if now:
            self._probe_timer.stop()
            self._draw_probe()
        elif not self._probe_timer.isActive():
            self._probe_timer.start(max(0, round((self._next_probe - time.perf_counter()) * 1000)))

    def _draw_probe(self) -> None:
        outputs, self._probe = self._probe, None
        if outputs is None or self._grid is None or self.dataset is None:
            return
        started = time.perf_counter()
        xs, ys, _ = self._grid
        image = boundary_image(outputs, self.GRID, max(self.dataset.n_classes, 1))
        # ImageItem's first axis is x; the grid's rows run along y.
        self.boundary.setImage(np.transpose(image, (1, 0, 2)), autoLevels=False)
        step_x, step_y = xs[1] - xs[0], ys[1] - ys[0]
        self.boundary.setRect(pg.QtCore.QRectF(xs[0] - step_x / 2, ys[0] - step_y / 2,
                                               xs[-1] - xs[0] + step_x, ys[-1] - ys[0] + step_y))
        cost = time.perf_counter() - started + self.plot.last_paint_s
        self._next_probe = time.perf_counter() + paced_interval_ms(cost, 0) / 1000

    def _show_points(self, dataset) -> None:
        for item in self._scatter_items:
            self.plot.removeItem(item)
        self._scatter_items = []
        self.boundary.clear()
        legend = self.plot.plotItem.legend
        if legend is not None:
            legend.clear()
        x = np.concatenate([dataset.x_train, dataset.x_test])
        self._grid = probe_grid(x, self.GRID)
        names = dataset.feature_names or ["x1", "x2"]
        self.plot.setLabel("bottom", names[0])
        self.plot.setLabel("left", names[1])
        if dataset.is_classification:
            for index, name in enumerate(dataset.class_names):
                colour = CLASS_COLOURS[index % len(CLASS_COLOURS)]
                for x_part, y_part, symbol, suffix in ((dataset.x_train, dataset.y_train, "o", ""),
                                                       (dataset.x_test, dataset.y_test, "t", tr(" (test)"))):
                    chosen = x_part[y_part == index]
                    item = pg.ScatterPlotItem(chosen[:, 0], chosen[:, 1], size=6, symbol=symbol,
                                              brush=pg.mkBrush(colour), pen=pg.mkPen("w", width=0.5),
                                              name=f"{name}{suffix}")
                    self.plot.addItem(item)
                    self._scatter_items.append(item)
        else:
            values = dataset.y_train
            span = np.ptp(values) or 1.0
            t = (values - values.min()) / span
            brushes = [pg.mkBrush(int(255 * v), int(120 * (1 - v)), int(255 * (1 - v))) for v in t]
            item = pg.ScatterPlotItem(dataset.x_train[:, 0], dataset.x_train[:, 1], size=6, brush=brushes,
                                      pen=None, name=tr("{target} (blue low, red high)", target=dataset.target_name))
            self.plot.addItem(item)
            self._scatter_items.append(item)
        self.plot.autoRange()
        self.setCurrentWidget(self.plot)

    def _show_images(self, dataset, count: int = 40, columns: int = 10) -> None:
        height, width = dataset.image_shape
        scale = max(1, 48 // max(height, width))
        cell_w, cell_h = width * scale + 8, height * scale + 22
        rows = int(np.ceil(min(count, len(dataset.x_train)) / columns))
        pixmap = QPixmap(columns * cell_w, rows * cell_h)
        pixmap.fill(Qt.white)
        painter = QPainter(pixmap)
        font = QFont()
        font.setPointSize(8)
        painter.setFont(font)
        shown = dataset.x_train
        for index in range(min(count, len(shown))):
            pixels = shown[index].reshape(height, width)
            # Pixels may be standardised; stretch each image to full contrast to show it.
            span = float(pixels.max() - pixels.min()) or 1.0
            pixels = ((pixels - pixels.min()) / span * 255).astype(np.uint8)
            pixels = np.ascontiguousarray(255 - pixels)  # dark ink on white paper
            image = QImage(pixels.data, width, height, width, QImage.Format_Grayscale8).scaled(width * scale, height * scale)
            x, y = (index % columns) * cell_w + 4, (index // columns) * cell_h + 2
            painter.drawImage(x, y, image)
            label = dataset.class_names[int(dataset.y_train[index])] if dataset.class_names else ""
            painter.drawText(x, y + height * scale + 2, width * scale, 16, Qt.AlignHCenter, label)
        painter.end()
        self.images.setPixmap(pixmap)
        self.setCurrentWidget(self.images)

    def _show_table(self, dataset, limit: int = 200) -> None:
        header = [*dataset.feature_names, f"→ {dataset.target_name}"]
        rows = []
        for features, target in zip(dataset.x_train[:limit], dataset.y_train[:limit]):
            shown_target = dataset.class_names[int(target)] if dataset.is_classification else f"{target:.4g}"
            rows.append([f"{value:.3g}" for value in features] + [shown_target])
        self.table.setModel(_FrameModel(header, rows))
        fit_first_columns(self.table)
        self.setCurrentWidget(self.table)
