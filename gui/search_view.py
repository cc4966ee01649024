"""The Search tab: Bayesian hyperparameter search with Optuna, live (`SearchView`).

The learner ticks the settings to search and their ranges, picks the
objective, the number of trials and a time budget, and starts. Each trial's
curve (its objective after every epoch) is drawn as it trains; the trial
table fills in (sortable, filtered by state); after each trial the
optimisation history (every value, and the best so far) and the settings'
importances (Optuna's default evaluator, PED-ANOVA) are redrawn with
pyqtgraph. The best trial's settings can be applied to the project (an
undoable edit) or its run shown in the History tab. The work runs in
`SearchJob`, a thread that emits only plain data.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QThread, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.charts import TEXT_COLOR, TRAINING_COLOR, VALIDATION_COLOR, style_axes
from gui.experiment_view import ExperimentView, SortedItem
from gui.i18n import error_text, tr
from models.errors import UserError

# The settings offered, with the range each starts with: (name, from, to, log, used at first).
NUMERIC_ROWS = (
    ("lr", "0.0001", "0.1", True, True), ("units:1", "4", "256", True, True), ("layers", "1", "4", False, False),
    ("batch_size", "8", "128", True, False), ("dropout", "0", "0.5", False, False), ("l1", "0.000001", "0.01", True, False),
    ("l2", "0.000001", "0.01", True, False), ("epochs", "5", "50", False, False),
)
CHOICE_ROWS = (("activation", "relu|tanh|gelu", False), ("optimizer", "adam|sgd|rmsprop", False))
STATE_COLOURS = {"COMPLETE": (44, 160, 44), "PRUNED": (160, 160, 160), "FAIL": (214, 39, 40)}


def setting_names() -> dict[str, str]:
    """Each searchable setting in the window's language."""
    return {"lr": tr("Learning rate"), "units:1": tr("Units of layer {number}", number=1),
            "layers": tr("Hidden layers"), "batch_size": tr("Batch size"), "dropout": tr("Dropout rate"),
            "l1": tr("L1"), "l2": tr("L2"), "epochs": tr("Epochs"), "activation": tr("Activation"),
            "optimizer": tr("Optimizer")}


def objective_names() -> dict[str, str]:
    return {"auto": tr("automatic: validation accuracy (loss for a regression)"),
            "val_loss": tr("validation loss"), "val_metric": tr("validation metric"),
            "kfold": tr("K-fold mean loss (5 folds)")}


def state_names() -> dict[str, str]:
    return {"COMPLETE": tr("complete"), "PRUNED": tr("pruned"), "FAIL": tr("failed"), "RUNNING": tr("running")}


class SearchJob(QThread):
    """Runs the study in a background thread and reports plain data."""

    epoch_done = Signal(int, int, float)  # trial number, epoch, objective value
    trial_done = Signal(object)  # TrialOutcome
    search_done = Signal(object)  # {"rows", "importances", "direction", "best"}
    failed = Signal(str)

    def __init__(self, project, plan, dataset, runs_root, metric, parent=None):
        super().__init__(parent)
        from models.training.reports import StopRequest

        self.project, self.plan, self.dataset = project.copy(), plan, dataset
        self.runs_root, self.metric = runs_root, metric
        # One folder per study name, so that searching again under that name continues the study.
        self.out = runs_root / f"{re.sub(r'[^A-Za-z0-9_.:-]+', '_', plan.study_name)}-search"
        self.stop_request = StopRequest()

    def run(self) -> None:
        from models.experiments.search import direction_of, importances, run_search, trial_rows
        from models.training.runner import TrainingFailed

        try:
            study, outcomes = run_search(self.project, self.plan, self.dataset, runs_root=self.runs_root, out=self.out,
                                         metric=self.metric, stop=self.stop_request, on_epoch=self.epoch_done.emit,
                                         on_trial=self.trial_done.emit)
            rows = trial_rows(study)
            complete = [row for row in rows if row["state"] == "COMPLETE"]
            self.search_done.emit({"rows": rows, "importances": importances(study),
                                   "direction": direction_of(self.plan.objective, self.metric),
                                   "best": study.best_trial.params if complete else None,
                                   "best_run": study.best_trial.user_attrs.get("run_dir", "") if complete else "",
                                   "ran": len(outcomes), "study": study.study_name})
        except (UserError, TrainingFailed) as error:
            self.failed.emit(error_text(error))
        except Exception as error:  # a bug of ours, or the database's: a sentence, never a crash
            self.failed.emit(tr("the search failed unexpectedly ({error})", error=f"{type(error).__name__}: {error}"))


class SearchView(ExperimentView):
    """The search's settings, its live trial curves, its trial table, history and importances
    (arguments and signals as `ExperimentView`'s, and two more).

    Signals:
        apply_requested(dict): the best trial's settings, to apply to the project.
        show_run_requested(str): a run folder to show in the History tab.
    """

    apply_requested = Signal(dict)
    show_run_requested = Signal(str)

    def __init__(self, context, may_start, runs_root, parent=None):
        super().__init__(context, may_start, runs_root, parent)
        self.outcomes, self.curves, self.best, self.best_run = [], {}, None, ""
        self.direction = "minimize"
        self._build()

    # ------------------------------------------------------------ layout
    def _build(self) -> None:
        names = setting_names()
        self.space = QTableWidget(len(NUMERIC_ROWS) + len(CHOICE_ROWS), 4)
        self.space.setHorizontalHeaderLabels([tr("setting"), tr("from (or choices)"), tr("to"), tr("log scale")])
        self.space.verticalHeader().setVisible(False)
        self.space.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.space.setToolTip(tr("Tick the settings to search and give their ranges; a log scale suits rates, "
                                 "penalties and widths. Choices are separated by |."))
        self.rows = []
        for row, (name, low, high, log, used) in enumerate(NUMERIC_ROWS):
            self._space_row(row, name, names[name], low, high, log, used)
        for offset, (name, choices, used) in enumerate(CHOICE_ROWS):
            self._space_row(len(NUMERIC_ROWS) + offset, name, names[name], choices, None, None, used)

        self.objective_choice = QComboBox()
        # Sized by its longest choice it would take the room the ranges need; its list still shows all.
        self.objective_choice.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.objective_choice.setMinimumContentsLength(16)
        for key, label in objective_names().items():
            self.objective_choice.addItem(label, key)
        self.objective_choice.setToolTip(tr("What a trial is scored by: the last epoch's validation loss, the "
                                            "validation accuracy (or MAE), or the mean loss of 5-fold "
                                            "cross-validation (slower, steadier, never pruned). Automatic takes "
                                            "the accuracy for classes and the loss for a regression."))
        self.trials_spin = QSpinBox()
        self.trials_spin.setRange(1, 10_000)
        self.trials_spin.setValue(20)
        self.trials_spin.setToolTip(tr("How many finished trials the study should have: a study continued runs "
                                       "only those still missing."))
        self.minutes_spin = QSpinBox()
        self.minutes_spin.setRange(0, 24 * 60)
        self.minutes_spin.setSpecialValueText(tr("no limit"))
        self.minutes_spin.setSuffix(" " + tr("min"))
        self.study_field = QLineEdit()
        self.study_field.setPlaceholderText(tr("data set and settings"))
        self.study_field.setToolTip(tr("A study of this name in the runs folder is continued: its trials so far "
                                       "guide the next ones."))
        self.start_button = QPushButton("▶  " + tr("Search"))
        self.start_button.setToolTip(tr("Run the trials one after another; each trains into its own run folder."))
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("■  " + tr("Stop"))
        self.stop_button.setToolTip(tr("End the running trial now (it is pruned) and start no other."))
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.setEnabled(False)
        self.apply_button = QPushButton(tr("Apply best settings"))
        self.apply_button.setToolTip(tr("Set the project to the best trial's settings (Edit ▸ Undo takes them back)."))
        self.apply_button.clicked.connect(lambda: self.best and self.apply_requested.emit(dict(self.best)))
        self.show_run_button = QPushButton(tr("Show best run"))
        self.show_run_button.setToolTip(tr("Select the best trial's run in the History tab."))
        self.show_run_button.clicked.connect(lambda: self.best_run and self.show_run_requested.emit(self.best_run))
        for button in (self.apply_button, self.show_run_button):
            button.setEnabled(False)

        form = QGridLayout()
        form.addWidget(QLabel(tr("Objective:")), 0, 0)
        form.addWidget(self.objective_choice, 0, 1)
        form.addWidget(QLabel(tr("Trials:")), 1, 0)
        form.addWidget(self.trials_spin, 1, 1)
        form.addWidget(QLabel(tr("Time budget:")), 2, 0)
        form.addWidget(self.minutes_spin, 2, 1)
        form.addWidget(QLabel(tr("Study:")), 3, 0)
        form.addWidget(self.study_field, 3, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        form.addLayout(buttons, 4, 0, 1, 2)
        form.addWidget(self.apply_button, 5, 0, 1, 2)
        form.addWidget(self.show_run_button, 6, 0, 1, 2)
        form.setRowStretch(7, 1)
        settings = QHBoxLayout()
        settings.addWidget(self.space, 3)
        settings.addLayout(form, 2)

        self.curves_plot = self._plot(tr("Each trial's objective"), tr("epoch"))
        self.history_plot = self._plot(tr("Optimisation history"), tr("trial"))
        self.history_plot.getPlotItem().addLegend(offset=(-8, 8), brush=pg.mkBrush(255, 255, 255, 200),
                                                  labelTextColor=TEXT_COLOR)
        # One set of points per state, so the legend names the colours.
        self.history_points = {state: pg.ScatterPlotItem(size=8, pen=pg.mkPen("w"), brush=pg.mkBrush(*colour),
                                                         name=state_names()[state])
                               for state, colour in STATE_COLOURS.items()}
        for points in self.history_points.values():
            self.history_plot.addItem(points)
        self.best_line = pg.PlotDataItem(pen=pg.mkPen(VALIDATION_COLOR, width=2.5), name=tr("best so far"))
        self.history_plot.addItem(self.best_line)
        self.importance_plot = self._plot(tr("Importance"), tr("share of the variation"))
        self.importance_bars = None

        self.trial_table = QTableWidget(0, 5)
        self.trial_table.setHorizontalHeaderLabels([tr("trial"), tr("settings"), tr("value"), tr("state"), tr("time")])
        self.trial_table.verticalHeader().setVisible(False)
        self.trial_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.trial_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.trial_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.trial_table.horizontalHeader().setStretchLastSection(True)
        self.trial_table.setSortingEnabled(True)
        self.state_filter = QComboBox()
        self.state_filter.addItem(tr("all"), "")
        for state, label in state_names().items():
            if state != "RUNNING":
                self.state_filter.addItem(label, state)
        self.state_filter.currentIndexChanged.connect(lambda _index: self._filter_table())
        table_box = QWidget()
        table_layout = QVBoxLayout(table_box)
        table_layout.setContentsMargins(0, 0, 0, 0)
        filter_row = QHBoxLayout()
        filter_row.addWidget(QLabel(tr("Show:")))
        filter_row.addWidget(self.state_filter)
        filter_row.addStretch(1)
        table_layout.addLayout(filter_row)
        table_layout.addWidget(self.trial_table, 1)

        results = QGridLayout()
        results.addWidget(self.curves_plot, 0, 0)
        results.addWidget(self.history_plot, 0, 1)
        results.addWidget(table_box, 1, 0)
        results.addWidget(self.importance_plot, 1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(settings)
        layout.addWidget(self.status)
        layout.addLayout(results, 1)

    def _space_row(self, row, name, label, low, high, log, used) -> None:
        use = QCheckBox(label)
        use.setChecked(used)
        self.space.setCellWidget(row, 0, use)
        self.space.setItem(row, 1, QTableWidgetItem(low))
        high_item = QTableWidgetItem(high if high is not None else "")
        log_box = QCheckBox()
        if high is None:  # choices: no upper end, no scale
            high_item.setFlags(Qt.ItemFlag.NoItemFlags)
            log_box.setEnabled(False)
        else:
            log_box.setChecked(bool(log))
        self.space.setItem(row, 2, high_item)
        self.space.setCellWidget(row, 3, log_box)
        self.rows.append((name, use, log_box))

    def _plot(self, title: str, x_label: str) -> pg.PlotWidget:
        plot = pg.PlotWidget(background="w")
        plot.setMinimumSize(220, 150)
        item = plot.getPlotItem()
        style_axes(item)
        item.setTitle(title, color=TEXT_COLOR, size="10pt", bold=True)
        item.setLabel("bottom", x_label, color=TEXT_COLOR)
        return plot

    # ------------------------------------------------------------ the plan
    def space_text(self) -> str:
        """The ticked settings in `models.experiments.search.parse_space`'s form."""
        parts = []
        for row, (name, use, log_box) in enumerate(self.rows):
            if not use.isChecked():
                continue
            low, high = self.space.item(row, 1).text().strip(), self.space.item(row, 2).text().strip()
            if not log_box.isEnabled():
                parts.append(f"{name}={low}")
            else:
                parts.append(f"{name}={low}..{high}{':log' if log_box.isChecked() else ''}")
        return ",".join(parts)

    def set_space(self, used: dict[str, tuple]) -> None:
        """Ticks exactly the settings of ``used`` (``{name: (from, to, log)}``; tests and screenshots)."""
        for row, (name, use, log_box) in enumerate(self.rows):
            use.setChecked(name in used)
            if name in used:
                low, high, log = used[name]
                self.space.item(row, 1).setText(str(low))
                if log_box.isEnabled():
                    self.space.item(row, 2).setText(str(high))
                    log_box.setChecked(log)

    def plan(self, project):
        from models.experiments.search import SearchPlan, default_study_name, parse_space

        dimensions = parse_space(self.space_text())
        minutes = self.minutes_spin.value()
        name = self.study_field.text().strip() or default_study_name(project, dimensions)
        return SearchPlan(dimensions, self.objective_choice.currentData(), self.trials_spin.value(),
                          minutes * 60.0 if minutes else None, 5, name).check()

    # ------------------------------------------------------------ running
    def start_with(self, space: str, trials: int, objective: str = "auto", study_name: str = "") -> bool:
        """Sets the ranges from ``space`` (the search command's ``--space``), the trials, the objective and
        the study's name (a new study each time, for a lesson), and starts; a sentence (and `False`) when
        it cannot."""
        from models.experiments.search import parse_space

        try:
            dimensions = parse_space(space)
        except UserError as error:
            self.say(error_text(error))
            return False
        known = {name for name, *_ in self.rows}
        missing = [dimension.name for dimension in dimensions if dimension.name not in known]
        if missing:
            self.say(tr("The Search tab has no row for {names}.", names=", ".join(missing)))
            return False
        self.set_space({dimension.name: ("|".join(dimension.choices) if dimension.choices else f"{dimension.low:g}",
                                         f"{dimension.high:g}", dimension.log) for dimension in dimensions})
        self.trials_spin.setValue(int(trials))
        self.objective_choice.setCurrentIndex(max(0, self.objective_choice.findData(objective)))
        self.study_field.setText(study_name)
        return self.start()

    def start(self) -> bool:
        """Starts the search; a sentence (and `False`) when it cannot."""
        context = self.ready(tr("A search starts when the data set has loaded and no run is training."))
        if context is None:
            return False
        project, dataset = context
        from models.network.build import resolve_output

        try:
            plan = self.plan(project)
            metric = resolve_output(project, dataset.task, dataset.n_classes).metric
        except UserError as error:
            self.say(error_text(error))
            return False
        self._clear()
        from models.experiments.search import direction_of, resolved_objective

        shown = resolved_objective(plan.objective, metric)
        self.direction = direction_of(plan.objective, metric)  # the best-so-far line is drawn from the first trial
        label = (tr("validation accuracy") if metric == "accuracy" else tr("validation MAE")) \
            if shown == "val_metric" else objective_names()[shown]
        self.curves_plot.getPlotItem().setLabel("left", label, color=TEXT_COLOR)
        job = SearchJob(project, plan, dataset, self.runs_root(), metric, parent=self)
        job.epoch_done.connect(self._epoch_done)
        job.trial_done.connect(self._trial_done)
        job.search_done.connect(self._search_done)
        self.launch(job, tr("Study {name}: trial 1 of {count}…", name=plan.study_name, count=plan.trials))
        return True

    def _clear(self) -> None:
        self.outcomes, self.best, self.best_run = [], None, ""
        for curve in self.curves.values():
            self.curves_plot.removeItem(curve)
        self.curves = {}
        self.trial_table.setRowCount(0)
        for points in self.history_points.values():
            points.setData([], [])
        self.best_line.setData([], [])
        self._draw_importances({})

    def _epoch_done(self, number: int, epoch: int, value: float) -> None:
        curve = self.curves.get(number)
        if curve is None:
            for other in self.curves.values():  # the earlier trials fade as the new one trains
                other.setPen(pg.mkPen(TRAINING_COLOR + (70,), width=1))
            curve = self.curves[number] = pg.PlotDataItem(pen=pg.mkPen(TRAINING_COLOR, width=2))
            self.curves_plot.addItem(curve)
        x, y = curve.getData()
        x = np.append([] if x is None else x, epoch)
        y = np.append([] if y is None else y, value)
        curve.setData(x, y)

    def _trial_done(self, outcome) -> None:
        self.outcomes.append(outcome)
        self.run_added.emit()
        curve = self.curves.get(outcome.number)
        if curve is not None:
            colour = STATE_COLOURS.get(outcome.state, TRAINING_COLOR)
            curve.setPen(pg.mkPen(colour + (110,), width=1, style=Qt.PenStyle.DashLine
                                  if outcome.state == "PRUNED" else Qt.PenStyle.SolidLine))
        self._add_trial_row(outcome)
        total = self.job.plan.trials if self.job is not None else len(self.outcomes)
        if len(self.outcomes) < total:
            self.status.setText(tr("Trial {number} of {count}…", number=len(self.outcomes) + 1, count=total))
        self._draw_history()

    def _add_trial_row(self, outcome) -> None:
        self.trial_table.setSortingEnabled(False)
        row = self.trial_table.rowCount()
        self.trial_table.insertRow(row)
        params = "  ".join(f"{name}={value:.3g}" if isinstance(value, float) else f"{name}={value}"
                           for name, value in outcome.params.items())
        value = outcome.value if outcome.value is not None and math.isfinite(outcome.value) else math.nan
        cells = [(str(outcome.number), outcome.number), (params, params),
                 ("" if math.isnan(value) else f"{value:.4g}", value if not math.isnan(value) else math.inf),
                 (state_names().get(outcome.state, outcome.state), outcome.state),
                 (f"{outcome.seconds:.1f} s", outcome.seconds)]
        for column, (text, key) in enumerate(cells):
            item = SortedItem(text, key)
            item.setData(Qt.ItemDataRole.UserRole, outcome.state)
            self.trial_table.setItem(row, column, item)
        self.trial_table.setSortingEnabled(True)
        self._filter_table()

    def _filter_table(self) -> None:
        wanted = self.state_filter.currentData()
        for row in range(self.trial_table.rowCount()):
            state = self.trial_table.item(row, 0).data(Qt.ItemDataRole.UserRole)
            self.trial_table.setRowHidden(row, bool(wanted) and state != wanted)

    def _draw_history(self, rows=None) -> None:
        """Every trial's value (pruned ones grey, at their last report) and the best so far."""
        from models.experiments.search import best_so_far

        rows = rows or [{"number": outcome.number, "value": outcome.value, "state": outcome.state}
                        for outcome in self.outcomes]
        shown = [row for row in rows if row["value"] is not None and math.isfinite(row["value"])]
        for state, points in self.history_points.items():
            mine = [row for row in shown if row["state"] == state]
            points.setData([row["number"] for row in mine], [row["value"] for row in mine])
        line = best_so_far(rows, self.direction)
        points = [(row["number"], best) for row, best in zip(rows, line, strict=True) if best is not None]
        self.best_line.setData([number for number, _ in points], [best for _, best in points])

    def _draw_importances(self, shares: dict) -> None:
        if self.importance_bars is not None:
            self.importance_plot.removeItem(self.importance_bars)
            self.importance_bars = None
        axis = self.importance_plot.getPlotItem().getAxis("left")
        if not shares:
            axis.setTicks(None)
            return
        names = setting_names()
        items = list(shares.items())[::-1]  # the most important on top
        self.importance_bars = pg.BarGraphItem(x0=0, y=np.arange(len(items)), height=0.6,
                                               width=[share for _, share in items], brush=pg.mkBrush(TRAINING_COLOR))
        self.importance_plot.addItem(self.importance_bars)
        axis.setTicks([[(index, names.get(name, name)) for index, (name, _) in enumerate(items)]])
        self.importance_plot.getPlotItem().setXRange(0, 1)

    def _search_done(self, summary: dict) -> None:
        self.direction = summary["direction"]
        self._draw_history(summary["rows"])
        self._draw_importances(summary["importances"])
        self.best, self.best_run = summary["best"], summary["best_run"]
        self.apply_button.setEnabled(self.best is not None)
        self.show_run_button.setEnabled(bool(self.best_run))
        done = sum(1 for row in summary["rows"] if row["state"] == "COMPLETE")
        finished = sum(1 for row in summary["rows"] if row["state"] in ("COMPLETE", "PRUNED"))
        if not summary["ran"] and not self.stop_requested():
            self.say(tr("The study {name} already has {count} finished trial(s): raise Trials to run more.",
                        name=summary["study"], count=finished))
            return
        if self.best is None:
            text = tr("No trial completed: every one was pruned, failed or stopped.")
        else:
            best = next(row for row in summary["rows"] if row["params"] == self.best and row["state"] == "COMPLETE")
            shown = ", ".join(f"{setting_names().get(name, name)} {value:.3g}" if isinstance(value, float)
                              else f"{setting_names().get(name, name)} {value}" for name, value in self.best.items())
            text = tr("Best of {done} completed trial(s) in the study: trial {number}, {value} ({settings}).",
                      done=done, number=best["number"], value=f"{best['value']:.4g}", settings=shown)
        self.say(text)

    def set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.space.setEnabled(not running)
        for widget in (self.objective_choice, self.trials_spin, self.minutes_spin, self.study_field):
            widget.setEnabled(not running)
        if running:
            self.apply_button.setEnabled(False)
            self.show_run_button.setEnabled(False)
        super().set_running(running)

