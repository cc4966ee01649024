"""Evaluation: where the trained model is right and where it is wrong, on the test, validation or training rows.

Everything shown comes from one `models.evaluation.Evaluation` per split
(compute once, show many ways, as fastai's ``Interpretation``): the test
split's arrives with the run; another split is predicted and evaluated in a
background job when it is first chosen. Every figure stands beside the
baseline a model that ignores its inputs would reach, and every cell of the
confusion matrix, every point of a regression's plots and the worst
predictions are one click from their samples (`gui.sample_gallery`).

`models.evaluation` imports scikit-learn (about a second), so it is imported
only once a run has finished, never when the window opens.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QRadioButton,
    QSlider,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from gui.charts import SAVE_FORMATS, figure_bytes
from gui.confusion_matrix import ConfusionMatrixPlot
from gui.data_panel import LEGEND_TEXT_COLOUR
from gui.i18n import error_text, tr
from gui.panel import DrawnWhenShown
from gui.sample_gallery import SampleSource, SamplesPanel
from gui.worker import FunctionJob
from models.files import atomic_path

CLASS_FIGURES, TWO_CLASS_FIGURES = ("matrix",), ("roc", "precision_recall")
REGRESSION_FIGURES = ("predicted", "histogram", "residuals")
CURVE_COLOUR, BASELINE_COLOUR, MARK_COLOUR = "#0072B2", "#909090", "#D55E00"
POINT_BRUSH = pg.mkBrush(0, 114, 178, 110)
DEFAULT_WORST = 24


def split_title(split: str) -> str:
    """How the window names a split: "test", "validation" or "training"."""
    return {"test": tr("test"), "validation": tr("validation"), "train": tr("training")}[split]


def figure_title(name: str) -> str:
    """How the Save menu and its messages name a figure of `EvaluationView.save_figure`."""
    return {"matrix": tr("confusion matrix"), "roc": tr("ROC curve"), "precision_recall": tr("precision–recall curve"),
            "predicted": tr("predicted-against-actual chart"), "histogram": tr("residual histogram"),
            "residuals": tr("residuals-against-predicted chart")}.get(name, name)


def predict_with(model):
    """A predict function for `models.evaluation.evaluate_split`, batched as the runner predicts the test rows."""
    return lambda x: model.predict(x, batch_size=256, verbose=0)


def read_csv_rows(path: str) -> tuple[list[str], list[list[str]]]:
    """A CSV file's header and rows as text (for showing samples as they are in the file)."""
    from models.saving.predict import read_rows

    header, rows, _delimiter = read_rows(path)
    return header, rows


def short_number(value: float) -> str:
    """A figure for a headline: four significant digits, or whole from 1000 up (never an exponent there)."""
    return f"{value:,.0f}" if math.isfinite(value) and abs(value) >= 1000 else f"{value:.4g}"


def threshold_point(matrix: np.ndarray) -> tuple[float, float, float]:
    """(false positive rate, recall, precision) of a two-class confusion matrix, the second class positive."""
    (tn, fp), (fn, tp) = np.asarray(matrix, dtype=np.float64)
    share = lambda top, bottom: top / bottom if bottom else math.nan  # noqa: E731
    return share(fp, fp + tn), share(tp, tp + fn), share(tp, tp + fp)


def _plot(x_label: str, y_label: str) -> pg.PlotWidget:
    plot = pg.PlotWidget(background="w")
    plot.showGrid(x=True, y=True, alpha=0.15)
    plot.setMenuEnabled(False)
    for name, label in (("bottom", x_label), ("left", y_label)):
        axis = plot.getAxis(name)
        axis.setTextPen(pg.mkPen(LEGEND_TEXT_COLOUR))
        axis.setPen(pg.mkPen("#909090"))
        plot.setLabel(name, label, color=LEGEND_TEXT_COLOUR)
    plot.setMinimumSize(160, 140)
    return plot


def _title(plot: pg.PlotWidget, text: str) -> None:
    plot.setTitle(text, color=LEGEND_TEXT_COLOUR, size="10pt")


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QTableWidget.NoEditTriggers)
    table.setSelectionBehavior(QTableWidget.SelectRows)
    table.setAlternatingRowColors(True)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 6)
    return table


def _cell(text: str, bold: bool = False, number: bool = True) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if number:
        item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
    if bold:
        font = QFont(item.font())
        font.setBold(True)
        item.setFont(font)
    return item


class EvaluationView(DrawnWhenShown, QWidget):
    """The confusion matrix, per-class figures, curves or residuals of a finished run, with their samples."""

    message = Signal(str)
    points_chosen = Signal(object)  # an n×2 array: samples to ring on the data preview (two-feature data)
    split_shown = Signal(str)  # a split's evaluation is on screen (after its job, when it needed one)

    def __init__(self, start_job=None, parent=None):
        super().__init__(parent)
        self._start_job = start_job or self._start_own_job
        self._own_jobs: set = set()
        self._generation = 0
        self._result = self._dataset = None
        self._splits: dict = {}  # split → (Evaluation at the model's own threshold, SplitRows)
        self._curves: dict = {}  # split → (RocCurve, PrecisionRecallCurve) or a sentence saying why none
        self._csv: tuple[list[str], list[list[str]]] | None = None
        self._selection: tuple = ("worst", DEFAULT_WORST)
        self.split = "test"
        self.evaluation = None
        self._build()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.split_box = QComboBox()
        for split in ("test", "validation", "train"):
            self.split_box.addItem(split_title(split), split)
        self.split_box.setToolTip(tr("Which rows to evaluate: the test rows, the validation rows, or the rows trained "
                                     "on. A perfect training matrix beside a poor test one is what overfitting looks "
                                     "like."))
        self.split_box.activated.connect(lambda index: self.choose_split(self.split_box.itemData(index)))
        self.headline = QLabel()
        self.headline.setWordWrap(True)
        self.headline.setTextFormat(Qt.RichText)
        self.save_button = QPushButton(tr("Save figure…"))
        self.save_button.setToolTip(tr("Save the confusion matrix or a chart as a PNG image or an SVG drawing."))
        self.save_menu = QMenu(self.save_button)
        self.save_menu.aboutToShow.connect(self._fill_save_menu)
        self.save_button.setMenu(self.save_menu)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        split_label = QLabel(tr("Rows:"))
        split_label.setBuddy(self.split_box)
        top.addWidget(split_label)
        top.addWidget(self.split_box)
        top.addWidget(self.headline, 1)
        top.addWidget(self.save_button, 0, Qt.AlignTop)

        self.threshold_slider = QSlider(Qt.Horizontal)
        self.threshold_slider.setRange(0, 100)
        self.threshold_slider.setValue(50)
        self.threshold_label = QLabel()
        self.threshold_value = QLabel("0.50")
        self.threshold_value.setMinimumWidth(self.threshold_value.fontMetrics().horizontalAdvance("0.000"))
        self.threshold_slider.valueChanged.connect(self._threshold_moved)
        self.threshold_row = QWidget()
        row = QHBoxLayout(self.threshold_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.threshold_label)
        row.addWidget(self.threshold_slider, 1)
        row.addWidget(self.threshold_value)

        self.figures = QTabWidget()
        self.matrix = ConfusionMatrixPlot()
        self.matrix.cell_clicked.connect(self.show_cell)
        self.counts_button, self.recall_button = QRadioButton(tr("Counts")), QRadioButton(tr("Shares of each true class (recall)"))
        self.counts_button.setChecked(True)
        group = QButtonGroup(self)
        for button in (self.counts_button, self.recall_button):
            group.addButton(button)
        self.recall_button.toggled.connect(lambda _on: self._draw_matrix())
        self.matrix_page = QWidget()
        matrix_layout = QVBoxLayout(self.matrix_page)
        matrix_layout.setContentsMargins(2, 2, 2, 2)
        toggles = QHBoxLayout()
        toggles.addWidget(self.counts_button)
        toggles.addWidget(self.recall_button)
        toggles.addStretch(1)
        matrix_layout.addLayout(toggles)
        matrix_layout.addWidget(self.matrix, 1)

        self.report_table = _table([tr("precision"), tr("recall"), tr("F1"), tr("support")])
        self.confused_table = _table([tr("true"), tr("predicted as"), tr("count")])
        self.confused_table.cellClicked.connect(self._confused_row_clicked)
        self.report_page = QSplitter(Qt.Vertical)
        confused_box = QWidget()
        confused_layout = QVBoxLayout(confused_box)
        confused_layout.setContentsMargins(0, 4, 0, 0)
        confused_layout.addWidget(QLabel(f"<b>{tr('Most confused')}</b>"))
        confused_layout.addWidget(self.confused_table)
        self.report_page.addWidget(self.report_table)
        self.report_page.addWidget(confused_box)

        self.roc_plot = _plot(tr("false positive rate"), tr("true positive rate (recall)"))
        self.pr_plot = _plot(tr("recall"), tr("precision"))
        for plot in (self.roc_plot, self.pr_plot):
            plot.setMouseEnabled(False, False)
            plot.hideButtons()
            plot.setRange(xRange=(0, 1), yRange=(0, 1.02), padding=0.02)
        self.roc_curve = self.roc_plot.plot(pen=pg.mkPen(CURVE_COLOUR, width=2))
        self.roc_plot.plot([0, 1], [0, 1], pen=pg.mkPen(BASELINE_COLOUR, style=Qt.DashLine))
        self.pr_curve = self.pr_plot.plot(pen=pg.mkPen(CURVE_COLOUR, width=2))
        self.pr_baseline = self.pr_plot.plot(pen=pg.mkPen(BASELINE_COLOUR, style=Qt.DashLine))
        self.roc_mark = pg.ScatterPlotItem(size=11, brush=pg.mkBrush(MARK_COLOUR), pen=pg.mkPen("w"))
        self.pr_mark = pg.ScatterPlotItem(size=11, brush=pg.mkBrush(MARK_COLOUR), pen=pg.mkPen("w"))
        self.roc_plot.addItem(self.roc_mark)
        self.pr_plot.addItem(self.pr_mark)

        self.predicted_plot = _plot(tr("actual"), tr("predicted"))
        self.histogram_plot = _plot(tr("residual (actual − predicted)"), tr("rows"))
        self.residual_plot = _plot(tr("predicted"), tr("residual"))
        self.identity_line = self.predicted_plot.plot(pen=pg.mkPen(BASELINE_COLOUR, style=Qt.DashLine))
        self.predicted_points = pg.ScatterPlotItem(size=6, brush=POINT_BRUSH, pen=None)
        self.residual_points = pg.ScatterPlotItem(size=6, brush=POINT_BRUSH, pen=None)
        self.histogram = self.histogram_plot.plot(stepMode="center", fillLevel=0, brush=pg.mkBrush(0, 114, 178, 150),
                                                  pen=pg.mkPen(CURVE_COLOUR))
        self.histogram_plot.addItem(pg.InfiniteLine(0, angle=90, pen=pg.mkPen(BASELINE_COLOUR, style=Qt.DashLine)))
        self.residual_plot.addItem(pg.InfiniteLine(0, angle=0, pen=pg.mkPen(BASELINE_COLOUR, style=Qt.DashLine)))
        self.point_marks = []
        for plot, points in ((self.predicted_plot, self.predicted_points), (self.residual_plot, self.residual_points)):
            plot.addItem(points)
            points.sigClicked.connect(lambda _item, clicked, _event: self.show_row(clicked[0].index()) if len(clicked) else None)
            mark = pg.ScatterPlotItem(size=14, symbol="o", brush=None, pen=pg.mkPen(MARK_COLOUR, width=2.5))
            plot.addItem(mark, ignoreBounds=True)
            self.point_marks.append(mark)
        self.residuals_page = QSplitter(Qt.Vertical)
        self.residuals_page.addWidget(self.histogram_plot)
        self.residuals_page.addWidget(self.residual_plot)

        self.samples = SamplesPanel()
        self.samples.top_losses_requested.connect(self.show_top_losses)
        self.body = QSplitter(Qt.Horizontal)
        self.body.addWidget(self.figures)
        self.body.addWidget(self.samples)
        self.body.setStretchFactor(0, 1)
        self.body.setStretchFactor(1, 1)
        self.body.setSizes([360, 240])

        self.content = QWidget()
        layout = QVBoxLayout(self.content)
        layout.setContentsMargins(4, 4, 4, 2)
        layout.setSpacing(3)
        layout.addLayout(top)
        layout.addWidget(self.threshold_row)
        layout.addWidget(self.body, 1)
        self.empty = QLabel(tr("Train a model to see where it is right and where it is wrong: a confusion matrix, "
                               "per-class figures and the worst predictions, each beside a baseline."))
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignCenter)
        self.empty.setMargin(20)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.empty)
        self.pages.addWidget(self.content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.pages)

    # ------------------------------------------------------------------ a run
    def clear(self, text: str = "") -> None:
        """Forgets the run; a job still under way will be ignored when it ends."""
        self._generation += 1
        self._waiting = None  # a run waiting for the view to be shown: forgotten too
        self._result = self._dataset = self.evaluation = None
        self._splits, self._curves, self._csv = {}, {}, None
        self.samples.clear()
        self.empty.setText(text or self.empty.text())
        self.pages.setCurrentWidget(self.empty)

    def set_result(self, result, dataset, data_file: str | None = None) -> None:
        """Shows a finished run's test evaluation (computed by the run) and makes the other splits available.

        Args:
            result: a `models.training.runner.RunResult`.
            dataset: the data set the run trained on.
            data_file: the CSV file the data came from, to show samples as its raw rows.
        """
        self.clear()
        if result is None or result.model is None or dataset is None:
            return
        # Behind another tab (as after every run) it fills in when shown: filling took 0.1-0.2 s of the
        # window's time at each run's end.
        self._waiting = (result, dataset, data_file)
        if self.later(self._fill_waiting):
            return
        self._fill_waiting()

    def _fill_waiting(self) -> None:
        waiting, self._waiting = getattr(self, "_waiting", None), None
        if waiting is None:
            return
        result, dataset, data_file = waiting
        from models.evaluation import split_rows

        self._result, self._dataset = result, dataset
        validation = result.validation_rows is not None and len(result.validation_rows) > 0
        self._enable_split("validation", validation)
        self._enable_split("train", len(dataset.x_train) > 0)
        self._enable_split("test", result.evaluation is not None)
        self._selection = ("worst", DEFAULT_WORST)
        if data_file and dataset.test_rows is not None:
            self._read_csv(data_file)
        self.pages.setCurrentWidget(self.content)
        if result.evaluation is None:
            self.split = ""
            self.headline.setText(tr("The test rows could not be evaluated (there are none, or the model's outputs "
                                     "are not numbers). Choose other rows above."))
            self._set_pages(dataset.is_classification, two_classes=False)
            self.samples.clear(" ")
            return
        self._splits["test"] = (result.evaluation, split_rows(dataset, "test"))
        self._show_split("test")

    def choose_split(self, split: str) -> FunctionJob | None:
        """Shows ``split``'s evaluation: at once when it is known, else after a background job (returned)."""
        if self._result is None or split == self.split and split in self._splits:
            return None
        if split in self._splits:
            self._show_split(split)
            return None
        from models.evaluation import evaluate_split

        generation, result = self._generation, self._result
        job = FunctionJob(evaluate_split, predict_with(result.model), self._dataset, split,
                          result.preprocessing.output, result.fit_rows, result.validation_rows, parent=self)
        job.succeeded.connect(lambda answer: self._split_evaluated(generation, split, answer))
        job.failed.connect(lambda text: self._split_failed(generation, text))
        self.split_box.setEnabled(False)
        self.headline.setText(tr("Evaluating the {split} rows…", split=split_title(split)))
        self._start_job(job)
        return job

    def _split_evaluated(self, generation: int, split: str, answer) -> None:
        if generation != self._generation:
            return
        self.split_box.setEnabled(True)
        self._splits[split] = answer
        self._show_split(split)

    def _split_failed(self, generation: int, text: str) -> None:
        if generation != self._generation:
            return
        self.split_box.setEnabled(True)
        self._select_split_box(self.split)
        if self.split in self._splits:
            self._show_headline()
        self.message.emit(tr("Could not evaluate those rows: {reason}", reason=text))

    def _show_split(self, split: str) -> None:
        self.split = split
        self._select_split_box(split)
        base = self._splits[split][0]
        two = base.is_classification and len(base.classes) == 2
        self._set_pages(base.is_classification, two)
        if two:
            self.threshold_label.setText(tr("Predict “{positive}” from a probability of", positive=base.classes[1]))
            self.evaluation = base.with_threshold(self.threshold())
            self._draw_curves()
        else:
            self.evaluation = base
        self._refresh()
        self.split_shown.emit(split)

    def _read_csv(self, path: str) -> None:
        generation = self._generation
        job = FunctionJob(read_csv_rows, path, parent=self)
        job.succeeded.connect(lambda table: self._csv_read(generation, table))
        job.failed.connect(lambda text: None if generation != self._generation else self.message.emit(
            tr("The samples are shown without the CSV's own text: {reason}", reason=text)))
        self._start_job(job)

    def _csv_read(self, generation: int, table) -> None:
        if generation == self._generation:
            self._csv = table
            self._reselect()

    def _start_own_job(self, job) -> None:
        self._own_jobs.add(job)
        job.finished.connect(lambda: self._own_jobs.discard(job))
        job.start()

    def wait_for_jobs(self) -> None:
        for job in list(self._own_jobs):
            job.wait()

    # ------------------------------------------------------------------ what is shown
    def threshold(self) -> float:
        return self.threshold_slider.value() / 100.0

    def set_threshold(self, threshold: float) -> None:
        """Moves a two-class model's decision threshold (the slider's value)."""
        self.threshold_slider.setValue(round(threshold * 100))

    def _threshold_moved(self, value: int) -> None:
        self.threshold_value.setText(f"{value / 100:.2f}")
        base = self._splits.get(self.split, (None,))[0]
        if base is None or not base.is_classification or len(base.classes) != 2:
            return
        self.evaluation = base.with_threshold(value / 100.0)
        self._refresh()

    def _refresh(self) -> None:
        self._show_headline()
        if self.evaluation.is_classification:
            self._draw_matrix()
            self._fill_report()
            if len(self.evaluation.classes) == 2:
                self._mark_threshold()
        else:
            self._draw_regression()
        self._reselect()

    def _set_pages(self, classification: bool, two_classes: bool) -> None:
        pages = [(self.matrix_page, tr("Matrix")), (self.report_page, tr("Per class"))] if classification else \
            [(self.predicted_plot, tr("Predicted against actual")), (self.residuals_page, tr("Residuals"))]
        if two_classes:
            pages += [(self.roc_plot, tr("ROC")), (self.pr_plot, tr("Precision–recall"))]
        current = [self.figures.widget(i) for i in range(self.figures.count())]
        if current != [page for page, _ in pages]:
            self.figures.clear()
            for page, title in pages:
                self.figures.addTab(page, title)
        self.threshold_row.setVisible(two_classes)

    def _show_headline(self) -> None:
        self.headline.setText(self.headline_text())

    def headline_text(self) -> str:
        """The main figures beside their baselines, and a plain sentence when the model does not beat them."""
        evaluation = self.evaluation
        base = evaluation.baseline()
        split = split_title(evaluation.split)
        rows = tr("{count} {split} rows", count=f"{evaluation.size:,}", split=split)
        if evaluation.is_classification:
            parts = [tr("accuracy <b>{accuracy}</b> (always answering the most common class, “{majority}”: {baseline})",
                        accuracy=f"{evaluation.accuracy():.3f}", majority=base["majority_class"],
                        baseline=f"{base['accuracy']:.3f}"),
                     tr("loss {loss} (answering the class frequencies: {baseline})",
                        loss=f"{float(np.mean(evaluation.losses)):.3f}", baseline=f"{base['loss']:.3f}")]
            worse = tr("The model does no better on the {split} rows than always answering “{majority}”, the most "
                       "common class in training.", split=split, majority=base["majority_class"])
        else:
            parts = [tr("MAE <b>{mae}</b> (training mean: {baseline})", mae=short_number(evaluation.mae()),
                        baseline=short_number(base["mae"])),
                     tr("RMSE {rmse} (training mean: {baseline})", rmse=short_number(evaluation.rmse()),
                        baseline=short_number(base["rmse"])),
                     tr("R² <b>{r2}</b> (training mean: 0)", r2=f"{evaluation.r2():.3f}")]
            worse = tr("The model does no better on the {split} rows than always answering the training mean, "
                       "{mean}.", split=split, mean=short_number(base["mean"]))
        text = f"{rows}: " + " · ".join(parts)
        if not evaluation.beats_baseline():
            text += f"<br><span style='color:#C0392B'><b>{worse}</b></span>"
        return text

    def _draw_matrix(self) -> None:
        if self.evaluation is None or not self.evaluation.is_classification:
            return
        normalized = self.recall_button.isChecked()
        self.matrix.set_matrix(self.evaluation.confusion_matrix(normalize=normalized), self.evaluation.classes,
                               normalized)
        if self._selection[0] == "cell":
            self.matrix.select(*self._selection[1:])

    def _fill_report(self) -> None:
        report = self.evaluation.per_class()
        self.report_table.setRowCount(len(report))
        names = list(report)
        self.report_table.setVerticalHeaderLabels([])
        for row, name in enumerate(names):
            scores = report[name]
            average = name.endswith(" avg")
            shown = {"macro avg": tr("macro average"), "weighted avg": tr("weighted average")}.get(name, name)
            self.report_table.setVerticalHeaderItem(row, QTableWidgetItem(shown))
            for column, key in enumerate(("precision", "recall", "f1", "support")):
                value = scores[key]
                text = f"{value:,}" if key == "support" else f"{value:.3f}"
                self.report_table.setItem(row, column, _cell(text, bold=average))
        self.report_table.verticalHeader().setVisible(True)
        confused = self.evaluation.most_confused()[:30]
        self.confused_table.setRowCount(len(confused))
        for row, (true, guess, count) in enumerate(confused):
            self.confused_table.setItem(row, 0, _cell(true, number=False))
            self.confused_table.setItem(row, 1, _cell(guess, number=False))
            self.confused_table.setItem(row, 2, _cell(f"{count:,}"))

    def _draw_curves(self) -> None:
        from models.errors import UserError

        if self.split not in self._curves:
            base = self._splits[self.split][0]
            try:
                self._curves[self.split] = (base.roc_curve(), base.precision_recall_curve())
            except UserError as error:
                self._curves[self.split] = error_text(error)
        curves = self._curves[self.split]
        if isinstance(curves, str):
            for curve in (self.roc_curve, self.pr_curve, self.pr_baseline):
                curve.setData([], [])
            _title(self.roc_plot, tr("No curve: the rows are all of one class"))
            _title(self.pr_plot, "")
            return
        roc, pr = curves
        self.roc_curve.setData(roc.fpr, roc.tpr)
        self.pr_curve.setData(pr.recall, pr.precision)
        prevalence = float(np.mean(self._splits[self.split][0].y_true == 1))
        self.pr_baseline.setData([0, 1], [prevalence, prevalence])
        _title(self.roc_plot, tr("ROC · AUC {auc} (chance: 0.5)", auc=f"{roc.auc:.3f}"))
        _title(self.pr_plot, tr("Precision–recall · AP {ap} (chance: {chance})", ap=f"{pr.average_precision:.3f}",
                                chance=f"{prevalence:.2f}"))

    def _mark_threshold(self) -> None:
        """The point of each curve where the slider's threshold is."""
        fpr, recall, precision = threshold_point(self.evaluation.confusion_matrix())
        for mark, x, y in ((self.roc_mark, fpr, recall), (self.pr_mark, recall, precision)):
            mark.setData(*(([x], [y]) if math.isfinite(x) and math.isfinite(y) else ([], [])))

    def _draw_regression(self) -> None:
        evaluation = self.evaluation
        actual, predicted, residuals = evaluation.y_true, evaluation.predicted, evaluation.residuals()
        target = self._dataset.target_name or "y"
        self.predicted_plot.setLabel("bottom", tr("actual {target}", target=target), color=LEGEND_TEXT_COLOUR)
        self.predicted_plot.setLabel("left", tr("predicted {target}", target=target), color=LEGEND_TEXT_COLOUR)
        self.predicted_points.setData(actual, predicted)
        low, high = float(min(actual.min(), predicted.min())), float(max(actual.max(), predicted.max()))
        self.identity_line.setData([low, high], [low, high])
        _title(self.predicted_plot, tr("R² {r2} · y = x is a perfect prediction", r2=f"{evaluation.r2():.3f}"))
        counts, edges = np.histogram(residuals, bins=int(np.clip(np.sqrt(len(residuals)), 5, 40)))
        self.histogram.setData(edges, counts)
        self.residual_points.setData(predicted, residuals)
        for plot in (self.predicted_plot, self.histogram_plot, self.residual_plot):
            plot.autoRange()

    # ------------------------------------------------------------------ samples
    def source(self) -> SampleSource | None:
        """The shown split's samples as the user knows them (raw rows, images)."""
        if self.evaluation is None:
            return None
        dataset = self._dataset
        header, rows = self._csv if self._csv is not None else (None, None)
        return SampleSource(self.evaluation, self._splits[self.split][1], list(dataset.feature_names),
                            dataset.target_name or "y", dataset.image_shape, header, rows)

    def show_cell(self, true_class: int, predicted_class: int) -> np.ndarray:
        """Shows the samples of one cell of the matrix (true class, predicted class); returns their indices."""
        evaluation = self.evaluation
        self._selection = ("cell", int(true_class), int(predicted_class))
        self.matrix.select(true_class, predicted_class)
        indices = evaluation.samples_in_cell(true_class, predicted_class)
        true, guess = evaluation.classes[true_class], evaluation.classes[predicted_class]
        title = tr("<b>{true}</b> predicted as <b>{predicted}</b>: {count} sample(s)", true=true, predicted=guess,
                   count=f"{len(indices):,}")
        self._show_samples(indices, title)
        return indices

    def show_top_losses(self, count: int = DEFAULT_WORST) -> np.ndarray:
        """Shows the ``count`` samples with the highest loss, worst first; returns their indices."""
        self._selection = ("worst", int(count))
        self.matrix.select(None)
        indices = self.evaluation.top_losses(count)
        self.samples.worst_count.setValue(int(count))
        self._show_samples(indices, tr("<b>Top losses</b>: the {count} worst predictions, worst first",
                                       count=len(indices)))
        return indices

    def show_row(self, index: int) -> None:
        """Shows one sample (a point clicked on a regression's plots) with its raw row."""
        self._selection = ("row", int(index))
        evaluation = self.evaluation
        for mark, (x, y) in zip(self.point_marks, ((evaluation.y_true, evaluation.predicted),
                                                   (evaluation.predicted, evaluation.residuals()))):
            mark.setData([x[index]], [y[index]])
        row = self._splits[self.split][1].row_numbers[index]
        self._show_samples([index], tr("Row {row}", row=row))

    def _show_samples(self, indices, title: str) -> None:
        source = self.source()
        self.samples.show_samples(source, indices, title)
        self._chosen_points = (np.asarray(source.rows.x)[np.asarray(indices, dtype=np.int64)]
                               if source.has_points else None)
        self._ring_chosen_points()
        if self._selection[0] != "row":
            for mark in self.point_marks:
                mark.setData([], [])

    def _ring_chosen_points(self) -> None:
        """Rings the chosen samples on the data preview, only while this view is shown: after a run the
        Training tab is in front, and rings there would say nothing about what the user is looking at."""
        points = getattr(self, "_chosen_points", None)
        if points is not None:
            self.points_chosen.emit(points if self.isVisible() else np.zeros((0, 2)))

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self._ring_chosen_points()

    def hideEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().hideEvent(event)
        self._ring_chosen_points()

    def _reselect(self) -> None:
        """Shows the chosen samples again, from the evaluation now shown."""
        if self.evaluation is None:
            return
        kind, *values = self._selection
        if kind == "cell" and self.evaluation.is_classification and max(values) < len(self.evaluation.classes):
            self.show_cell(*values)
        elif kind == "row" and values[0] < self.evaluation.size:
            self.show_row(values[0])
        else:
            self.show_top_losses(values[0] if kind == "worst" else DEFAULT_WORST)

    def _confused_row_clicked(self, row: int, _column: int) -> None:
        true, guess = self.confused_table.item(row, 0).text(), self.confused_table.item(row, 1).text()
        classes = self.evaluation.classes
        self.figures.setCurrentWidget(self.matrix_page)
        self.show_cell(classes.index(true), classes.index(guess))

    def _enable_split(self, split: str, enabled: bool) -> None:
        item = self.split_box.model().item(self.split_box.findData(split))
        item.setEnabled(enabled)

    def _select_split_box(self, split: str) -> None:
        index = self.split_box.findData(split)
        if index >= 0:
            self.split_box.setCurrentIndex(index)

    # ------------------------------------------------------------------ saving
    def figure_names(self) -> list[str]:
        """The figures the shown evaluation has, as `save_figure` names them."""
        if self.evaluation is None:
            return []
        if not self.evaluation.is_classification:
            return list(REGRESSION_FIGURES)
        return list(CLASS_FIGURES) + (list(TWO_CLASS_FIGURES) if len(self.evaluation.classes) == 2 else [])

    def _figure_item(self, name: str):
        plots = {"matrix": self.matrix, "roc": self.roc_plot, "precision_recall": self.pr_plot,
                 "predicted": self.predicted_plot, "histogram": self.histogram_plot, "residuals": self.residual_plot}
        return plots[name].getPlotItem()

    def save_figure(self, name: str, path: str | Path) -> bool:
        """Saves one figure as PNG or SVG (by the file's suffix) through a temporary file; `message` says how it went."""
        title, target = figure_title(name), Path(path)
        try:
            if name not in self.figure_names():
                raise ValueError(tr("there is no such figure now"))
            if target.suffix.lower() not in SAVE_FORMATS:
                raise ValueError(tr("the file name must end in .png or .svg"))
            data = figure_bytes(self._figure_item(name), target.suffix.lower())
            with atomic_path(target) as temporary:
                temporary.write_bytes(data)
        except Exception as error:  # any failure becomes a sentence, never a crash
            reason = error.strerror if isinstance(error, OSError) and error.strerror else error_text(error)
            self.message.emit(tr("Could not save the {title} to {target}: {reason}. Choose another folder or file "
                                 "name and try again.", title=title, target=target, reason=reason))
            return False
        self.message.emit(tr("Saved the {title} to {target}.", title=title, target=target))
        return True

    def _fill_save_menu(self) -> None:
        self.save_menu.clear()
        for name in self.figure_names():
            title = figure_title(name)
            action = self.save_menu.addAction(title[0].upper() + title[1:] + "…")
            action.triggered.connect(lambda _checked=False, name=name: self._save_interactively(name))
        if self.save_menu.isEmpty():
            self.save_menu.addAction(tr("Train a model first")).setEnabled(False)

    def _save_interactively(self, name: str) -> None:
        path, selected = QFileDialog.getSaveFileName(
            self, tr("Save the {title}", title=figure_title(name)), f"{name}.png",
            tr("PNG image") + " (*.png);;" + tr("SVG drawing") + " (*.svg)")
        if path:
            if Path(path).suffix.lower() not in SAVE_FORMATS:
                path += ".svg" if "svg" in selected.lower() else ".png"
            self.save_figure(name, path)
