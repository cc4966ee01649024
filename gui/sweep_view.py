"""The Sweep tab: one setting over several values, each value's final figures plotted against it (`SweepView`).

Over a layer's width this draws the notes' model-complexity curve (the
training loss keeps falling, the validation loss turns back up); over the
share of training rows, the learning curve. The runs go one after another
in a background thread (`SweepJob`, which emits only plain data), each in its
own run folder, so the History tab lists them as they finish.
"""

from __future__ import annotations

import datetime

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QThread, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)

from gui.charts import (
    METRIC_AXIS_LABELS,
    METRIC_TITLES,
    TEXT_COLOR,
    TRAINING_COLOR,
    VALIDATION_COLOR,
    style_axes,
)
from gui.experiment_view import ExperimentView
from gui.i18n import error_text, tr
from models.errors import UserError
from models.experiments.sweep import SweepParam, apply_value, param_slug, parse_values

# What each setting's values start as, in the field: a learner edits them rather than starting blank.
SUGGESTED_VALUES = {
    "units": "2,4,8,16,32,64,128", "layers": "1,2,3,4,6", "lr": "0.0001:0.3:8:log", "batch_size": "4,8,16,32,64,128",
    "dropout": "0,0.1,0.2,0.3,0.5", "l1": "0,0.00001,0.0001,0.001,0.01", "l2": "0,0.00001,0.0001,0.001,0.01",
    "epochs": "2,5,10,20,40", "train_share": "0.1,0.2,0.4,0.6,0.8,1",
}


def setting_choices(hidden_layers: int) -> list[tuple[str, SweepParam]]:
    """The settings offered, named in the window's language: one width per hidden Dense layer, then the rest."""
    choices = [(tr("Units of layer {number}", number=number), SweepParam("units", number))
               for number in range(1, hidden_layers + 1)]
    return choices + [
        (tr("Hidden layers"), SweepParam("layers")), (tr("Learning rate"), SweepParam("lr")),
        (tr("Batch size"), SweepParam("batch_size")), (tr("Dropout rate"), SweepParam("dropout")),
        (tr("L1"), SweepParam("l1")), (tr("L2"), SweepParam("l2")), (tr("Epochs"), SweepParam("epochs")),
        (tr("Share of training rows"), SweepParam("train_share")),
    ]


class SweepJob(QThread):
    """Trains one run per value in a background thread; reports each point, the end, or a sentence."""

    point_done = Signal(object)  # SweepPoint
    sweep_done = Signal(object)  # Sweep
    failed = Signal(str)

    def __init__(self, project, param, values, dataset, runs_root, out, parent=None):
        super().__init__(parent)
        from models.training.reports import StopRequest

        self.project, self.param, self.values, self.dataset = project.copy(), param, list(values), dataset
        self.runs_root, self.out = runs_root, out
        self.stop_request = StopRequest()

    def run(self) -> None:
        from models.experiments.sweep import run_sweep
        from models.training.runner import TrainingFailed, run_training

        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")

        def one_run(project, dataset, folder):
            return run_training(project, stop=self.stop_request, dataset=dataset, run_dir=folder)

        try:
            sweep = run_sweep(self.project, self.param, self.values, self.dataset, out=self.out,
                              runs_root=self.runs_root, stamp=stamp, run=one_run, on_point=self.point_done.emit,
                              stopped=self.stop_request.is_set)
        except (UserError, TrainingFailed) as error:
            self.failed.emit(error_text(error))
        except Exception as error:  # a bug of ours: a sentence, never a crash
            self.failed.emit(tr("the sweep failed unexpectedly ({error})", error=f"{type(error).__name__}: {error}"))
        else:
            self.sweep_done.emit(sweep)


class SweepView(ExperimentView):
    """Choose a setting and its values, sweep, and watch each value's final figures appear
    (arguments and signals as `ExperimentView`'s)."""

    def __init__(self, context, may_start, runs_root, parent=None):
        super().__init__(context, may_start, runs_root, parent)
        self.points, self.values = [], []
        self.param: SweepParam | None = None
        self._build()
        self.follow_project(None)

    # ------------------------------------------------------------ layout
    def _build(self) -> None:
        self.setting_choice = QComboBox()
        self.setting_choice.setToolTip(tr("The setting to sweep: one run per value, everything else as the project has it."))
        self.setting_choice.currentIndexChanged.connect(self._setting_changed)
        self.values_field = QLineEdit()
        self.values_field.setToolTip(tr(
            "A list (2,8,32) or a range start:stop:count, with :log for a geometric step (0.0001:0.1:7:log)."))
        self.values_field.setMinimumWidth(180)
        self.start_button = QPushButton("▶  " + tr("Sweep"))
        self.start_button.setToolTip(tr("Train one run per value, one after another; each lands in the History tab."))
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("■  " + tr("Stop"))
        self.stop_button.setToolTip(tr("Stop the sweep after the current run's current batch."))
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.setEnabled(False)

        tools = QHBoxLayout()
        tools.addWidget(QLabel(tr("Setting:")))
        tools.addWidget(self.setting_choice)
        tools.addWidget(QLabel(tr("Values:")))
        tools.addWidget(self.values_field, 1)
        tools.addWidget(self.start_button)
        tools.addWidget(self.stop_button)

        self.plots, self.curves, self.legends = {}, {}, {}
        charts = QHBoxLayout()
        for chart in ("loss", "metric"):
            plot = pg.PlotWidget(background="w")
            plot.setMinimumSize(240, 180)
            item = plot.getPlotItem()
            style_axes(item)
            # Accuracy rises to the right: its legend goes below the curves.
            legend = item.addLegend(offset=(-8, -8) if chart == "metric" else (-8, 8),
                                    brush=pg.mkBrush(255, 255, 255, 200), labelTextColor=TEXT_COLOR)
            self.legends[chart] = legend
            for figure, colour in (("train", TRAINING_COLOR), ("val", VALIDATION_COLOR)):
                name = tr("training") if figure == "train" else tr("validation")
                curve = pg.PlotDataItem(name=name, pen=pg.mkPen(colour, width=2.5), symbol="o", symbolSize=8,
                                        symbolBrush=pg.mkBrush(colour), symbolPen=pg.mkPen("w"), antialias=True)
                item.addItem(curve)
                self.curves[(chart, figure)] = curve
            self.plots[chart] = plot
            charts.addWidget(plot, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(tools)
        layout.addWidget(self.status)
        layout.addLayout(charts, 1)

    def follow_project(self, project) -> None:
        """Offers a width per hidden Dense layer of ``project`` (keeps the chosen setting when it is still there)."""
        from models.experiments.sweep import hidden_dense_indices

        hidden = len(hidden_dense_indices(project)) if project is not None else 1
        chosen = self.setting_choice.currentData()
        self.setting_choice.blockSignals(True)
        self.setting_choice.clear()
        for label, param in setting_choices(hidden):
            self.setting_choice.addItem(label, param)
        index = self._index_of(chosen)
        self.setting_choice.setCurrentIndex(max(0, index))
        self.setting_choice.blockSignals(False)
        if index < 0:
            self._setting_changed()

    def _index_of(self, param: SweepParam | None) -> int:
        """The choice holding ``param`` (compared by value: Qt's findData compares Python objects by identity)."""
        return next((index for index in range(self.setting_choice.count())
                     if param is not None and self.setting_choice.itemData(index) == param), -1)

    def _setting_changed(self) -> None:
        param = self.setting_choice.currentData()
        if param is not None:
            self.values_field.setText(SUGGESTED_VALUES[param.name])

    # ------------------------------------------------------------ running
    def start_with(self, param_text: str, values: list) -> bool:
        """Chooses the setting ``param_text`` (``lr``, ``units:1`` …) and ``values``, and starts (a lesson's step)."""
        from models.experiments.sweep import parse_param

        self.follow_project(self.context()[0])
        index = self._index_of(parse_param(param_text))
        if index < 0:
            self.say(tr("The sweep cannot vary {param} in this network.", param=param_text))
            return False
        self.setting_choice.setCurrentIndex(index)
        self.values_field.setText(",".join(f"{float(value):g}" for value in values))
        return self.start()

    def start(self) -> bool:
        """Starts the sweep of the chosen setting; a sentence (and `False`) when it cannot start."""
        context = self.ready(tr("A sweep starts when the data set has loaded and no run is training."))
        if context is None:
            return False
        project, dataset = context
        param = self.setting_choice.currentData()
        try:
            values = parse_values(self.values_field.text(), param)
            for value in values:
                apply_value(project, param, value).validate()
        except UserError as error:
            self.say(error_text(error))
            return False
        root = self.runs_root()
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        out = root.parent / "sweeps" / f"{stamp}-{project.dataset.name}-{param_slug(param)}"
        self.param, self.points, self.values = param, [], values
        self._draw()
        job = SweepJob(project, param, values, dataset, root, out, parent=self)
        job.point_done.connect(self._point_done)
        job.sweep_done.connect(lambda sweep: self.say(tr("Sweep done: {count} run(s). sweep.json is in {folder}.",
                                                          count=len(sweep.points), folder=out)))
        self.launch(job, tr("Training run {number} of {count}…", number=1, count=len(values)))
        return True

    def _point_done(self, point) -> None:
        self.points.append(point)
        self.run_added.emit()
        if len(self.points) < len(self.values):
            self.status.setText(tr("Training run {number} of {count}…", number=len(self.points) + 1,
                                   count=len(self.values)))
        self._draw()

    def set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.setting_choice.setEnabled(not running)
        self.values_field.setEnabled(not running)
        super().set_running(running)

    # ------------------------------------------------------------ drawing
    def _draw(self) -> None:
        """Each value's final training and validation figures, against the value."""
        param = self.param
        metric = next((key for point in self.points for key in point.figures
                       if not key.startswith(("val_", "test_")) and key != "loss"), "")
        values = self.values
        log_x = param is not None and param.log_axis and all(value > 0 for value in values)
        # A log axis as log10 of the value, ticked at the swept values themselves: pyqtgraph's own log
        # axis labels every minor tick, a smear at this width.
        position = np.log10 if log_x else np.asarray
        ticks = [[(float(position(value)), f"{value:g}") for value in values]] if values else None
        label = self.setting_choice.itemText(max(0, self._index_of(param))) if param else ""
        if metric:
            self.legends["metric"].setOffset((-8, -8) if metric == "accuracy" else (-8, 8))
        for chart, key in (("loss", "loss"), ("metric", metric)):
            item = self.plots[chart].getPlotItem()
            item.getAxis("bottom").setTicks(ticks)
            item.setLabel("bottom", label, color=TEXT_COLOR)
            title = tr("Loss") if chart == "loss" else tr(METRIC_TITLES.get(metric, metric or " "))
            item.setTitle(title, color=TEXT_COLOR, size="11pt", bold=True)
            for figure, prefix in (("train", ""), ("val", "val_")):
                shown = [(point.value, point.figures[f"{prefix}{key}"]) for point in self.points
                         if key and f"{prefix}{key}" in point.figures]
                x = np.asarray(position(np.array([value for value, _ in shown], dtype=float)), dtype=float)
                y = np.array([figure_value for _, figure_value in shown], dtype=float)
                self.curves[(chart, figure)].setData(x, y)
        self.plots["metric"].getPlotItem().getAxis("left").setLabel(
            tr(METRIC_AXIS_LABELS.get(metric, metric)) if metric else "", color=TEXT_COLOR)
        self.plots["loss"].getPlotItem().getAxis("left").setLabel(tr("loss"), color=TEXT_COLOR)

    def curve_data(self, chart: str, figure: str) -> tuple[np.ndarray, np.ndarray]:
        """The (values, figures) drawn: ``chart`` "loss" or "metric", ``figure`` "train" or "val"
        (the values as swept, also on a log axis)."""
        x, y = self.curves[(chart, figure)].getData()
        if x is None:
            return np.empty(0), np.empty(0)
        log_x = self.param is not None and self.param.log_axis and all(value > 0 for value in self.values)
        return (10 ** np.asarray(x) if log_x else np.asarray(x)), np.asarray(y)

