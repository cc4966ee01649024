"""The main window: data, network, training settings, live charts and run control."""

from __future__ import annotations

import math
import time
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from gui.augmentation_view import AugmentationView
from gui.charts import TrainingCharts
from gui.data_panel import DataPanel, DataPreview
from gui.evaluation_view import EvaluationView
from gui.experiments import Experiments
from gui.i18n import CHINESE, ENGLISH, LANGUAGES, error_text, language, tr
from gui.inside_views import InsideViews
from gui.model_preparation import ModelPreparation
from gui.network_editor import NetworkEditor
from gui.predict_dialog import ModelFileActions
from gui.remedy_trials import RemedyTrials
from gui.report_export import save_report_dialog
from gui.results_page import ResultsPage, crossval_html, run_html, tab_title, test_summary
from gui.run_controls import RunControls
from gui.run_exports import RunExports
from gui.sample_gallery import PreviewHighlight
from gui.settings import AppSettings, runs_dir
from gui.training_panel import TrainingPanel
from gui.try_it import PreviewPointTrial, TryItView, model_from_run
from gui.worker import CrossValidationJob, FunctionJob, TrainingJob
from models.errors import UserError
from models.network.spec import Project, load_project, project_to_dict

APP_TITLE = "Keras Trainer"
LOSS_NAMES = {
    "mse": "mean squared error", "mae": "mean absolute error", "huber": "Huber",
    "binary_crossentropy": "binary cross-entropy", "categorical_crossentropy": "categorical cross-entropy",
    "sparse_categorical_crossentropy": "categorical cross-entropy",
}

def default_project() -> Project:
    """The ready-made first project: a spiral and a small tanh network, as in TensorFlow Playground."""
    from models.network.spec import DenseLayer

    # Measured: three ReLU layers of 64 separate the spiral (test accuracy about 0.95)
    # in 20 epochs; the playground's small tanh nets need hundreds.
    project = Project(name="Spiral", layers=[DenseLayer(64, "relu", kernel_initializer="he_normal") for _ in range(3)])
    project.optimizer.learning_rate = 0.01
    project.training.batch_size = 16
    project.training.epochs = 30
    return project


def _capitalised(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


def _format_seconds(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "…"
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _first_size() -> tuple[int, int]:
    """1400×860, or less on a smaller screen (a 1366×768 laptop)."""
    from PySide6.QtGui import QGuiApplication

    screen = QGuiApplication.primaryScreen()
    if screen is None:
        return 1400, 860
    available = screen.availableGeometry()
    return min(1400, int(available.width() * 0.97)), min(860, int(available.height() * 0.95))


class ProjectEdit(QUndoCommand):
    """One undoable edit: the whole project before and after, as plain dicts."""

    def __init__(self, window: MainWindow, before: Project, after: Project, text: str):
        super().__init__(text)
        self.window, self.before, self.after = window, before.copy(), after.copy()

    def redo(self):
        self.window.apply_project(self.after)

    def undo(self):
        self.window.apply_project(self.before)


class MainWindow(QMainWindow):
    """The whole program in one window. It owns the project, the data set and the one training job."""

    dataset_ready = Signal(object)  # Dataset
    # RunResult, or None after a failure; sent once the job's thread has ended, so the
    # window can train again as soon as it arrives.
    training_done = Signal(object)
    message_shown = Signal(str)  # every sentence shown to the user (tests read it)

    def __init__(self, settings: AppSettings | None = None, project: Project | None = None):
        super().__init__()
        self.settings = settings or AppSettings()
        self.project = project or self.settings.last_project() or default_project()
        self.project_path: str | None = None
        self.saved_state = project_to_dict(self.project)
        self.dataset = None
        self.result = None
        self.job: TrainingJob | None = None
        self._outcome = None  # what the running job produced, sent with training_done
        self._trained_with = (self.project, None)  # the project and data set of the last run
        self._fold = None  # (fold, folds) while cross-validating
        self._fold_results = []
        # What the charts' current and dashed previous curves were trained on (`_comparison_key`).
        self._shown_key = self._previous_key = None
        self._jobs: set = set()
        self._closing = False
        self._dataset_generation = 0
        self._train_on_load = False  # a remedy changed the data set: train once it has loaded
        self._dataset_loading = False
        self.undo_stack = QUndoStack(self)
        self._build_widgets()
        self._build_actions()
        self._connect()
        self.apply_project(self.project)
        self._restore_layout()
        self._update_title()
        # Loading starts once the window is on screen: a background import of
        # scikit-learn or pandas would otherwise slow its first paint (the GIL).
        QTimer.singleShot(0, self.load_dataset)
        # Said once the window is on screen, so the message opens above it, not behind it.
        for message in self._start_up_messages(project):
            QTimer.singleShot(0, lambda message=message: self.show_message(message))

    def _start_up_messages(self, project) -> list[str]:
        """What went wrong with the settings or the last project before the window opened."""
        messages = []
        if self.settings.recovered_from_corruption:
            messages.append(tr("The settings file could not be read, so it was set aside and defaults are used."))
        if self.settings.unusable_reason:
            messages.append(tr("The settings folder cannot be used ({reason}), so settings will not be remembered "
                               "after this session.", reason=self.settings.unusable_reason))
        if self.settings.last_project_problem and project is None:
            messages.append(tr("The project from the last time could not be opened, so the default project is "
                               "shown: {reason}", reason=self.settings.last_project_problem))
        return messages

    # ----------------------------------------------------------------- layout
    def _build_widgets(self) -> None:
        self.resize(*_first_size())
        self.data_panel = DataPanel()
        self.training_panel = TrainingPanel()
        self.network_editor = NetworkEditor()
        self.charts = TrainingCharts()
        self.preview = DataPreview()
        self.results_page = ResultsPage(self.charts.finding_marks)
        self.results = self.results_page.text
        self.try_it = TryItView()
        self.point_trial = PreviewPointTrial(self.preview, self.try_it, parent=self)
        self.evaluation = EvaluationView(start_job=self._start_job)
        self.evaluation_marks = PreviewHighlight(self.preview)
        self.remedies = RemedyTrials(lambda: self.project, self.record_edit, self.train_when_data_ready, parent=self)
        self.model_files = ModelFileActions(self, lambda: self.try_it.model, self._start_job, lambda: str(runs_dir()))
        self.exports = RunExports(self)
        self.export_model, self.export_history = self.exports.export_model, self.exports.export_history
        self.preparation = ModelPreparation(lambda: (self.project, self.dataset), lambda: self.job is None,
                                            self._start_job, parent=self)
        self.run_controls = RunControls(self.start_training, self._continuable,
                                        lambda: self.job is None and self.dataset is not None, parent=self)

        self.settings_tabs = QTabWidget()
        self.settings_tabs.addTab(self.data_panel, tr("Data"))
        self.settings_tabs.addTab(self.training_panel, tr("Training"))
        self.settings_tabs.setMinimumWidth(290)

        network_box = QWidget()
        network_layout = QVBoxLayout(network_box)
        network_layout.setContentsMargins(0, 0, 0, 0)
        title = QLabel(f"<b>{tr('Network')}</b>")
        title.setContentsMargins(6, 4, 0, 0)
        network_layout.addWidget(title)
        network_layout.addWidget(self.network_editor)
        network_box.setMinimumWidth(max(430, self.network_editor.minimumSizeHint().width()))

        self.bottom_tabs = QTabWidget()
        self.bottom_tabs.addTab(self.preview, tr("Data preview"))
        self.bottom_tabs.addTab(self.results_page, tr("Results"))
        self.bottom_tabs.addTab(self.try_it, tr("Try it"))

        self.chart_tabs = QTabWidget()
        self.chart_tabs.addTab(self.charts, tr("Training"))
        self.chart_tabs.addTab(self.evaluation, tr("Evaluation"))
        self.inside = InsideViews(self.chart_tabs)
        self.experiments = Experiments(self)
        self.augmentation_view = AugmentationView.attach(self)
        self.history, self.sweep, self.search = self.experiments.history, self.experiments.sweep, self.experiments.search
        self.overlays = self.experiments.overlays

        self.right_splitter = QSplitter(Qt.Vertical)
        self.right_splitter.addWidget(self.chart_tabs)
        self.right_splitter.addWidget(self.bottom_tabs)
        self.right_splitter.setStretchFactor(0, 3)
        self.right_splitter.setStretchFactor(1, 2)

        self.main_splitter = QSplitter(Qt.Horizontal)
        self.main_splitter.addWidget(self.settings_tabs)
        self.main_splitter.addWidget(network_box)
        self.main_splitter.addWidget(self.right_splitter)
        self.main_splitter.setStretchFactor(2, 1)
        self.main_splitter.setSizes([300, 440, 660])
        self.setCentralWidget(self.main_splitter)

        self.train_button = QPushButton("▶  " + tr("Train"))
        self.train_button.setToolTip(tr("Train the network on the training set (Ctrl+Enter)."))
        self.crossval_button = QPushButton(tr("Cross-validate…"))
        self.crossval_button.setToolTip(tr(
            "K-fold cross-validation (Ctrl+K): cut the training rows into K folds, train K fresh models, each on the "
            "other folds, and score each on the fold it did not see. Shows how much a score depends on the split."))
        self.stop_button = QPushButton("■  " + tr("Stop"))
        self.stop_button.setToolTip(tr("Stop after the current batch, keeping the weights learned so far (Esc)."))
        self.stop_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setMinimumWidth(260)
        self.progress.setFormat(tr("Ready"))
        self.progress.setTextVisible(True)
        self.progress.setValue(0)
        self.progress_label = QLabel("")
        self.progress_label.setMinimumWidth(260)
        toolbar = QToolBar(tr("Run"))
        toolbar.setObjectName("run_toolbar")
        toolbar.setMovable(False)
        toolbar.addWidget(self.train_button)
        toolbar.addWidget(self.crossval_button)
        toolbar.addWidget(self.stop_button)
        toolbar.addWidget(self.run_controls.widget)
        toolbar.addSeparator()
        toolbar.addWidget(self.progress)
        toolbar.addWidget(self.progress_label)
        self.addToolBar(Qt.TopToolBarArea, toolbar)

        self.device_label = QLabel(tr("Starting TensorFlow…"))
        self.speed_label = QLabel("")
        self.statusBar().addPermanentWidget(self.speed_label)
        self.statusBar().addPermanentWidget(self.device_label)

    def _action(self, menu, text, slot, shortcut=None, tip="") -> QAction:
        action = QAction(tr(text), self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tr(tip))
        action.setToolTip(tr(tip))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_actions(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu(tr("&File"))
        self._action(file_menu, "&New project", self.new_project, QKeySequence.New, "Start again from the default project.")
        self._action(file_menu, "&Open project…", self.open_project_dialog, QKeySequence.Open, "Open a saved project (JSON).")
        self.recent_menu = file_menu.addMenu(tr("Open &recent"))
        self._action(file_menu, "&Save project", self.save_project, QKeySequence.Save, "Save the project.")
        self._action(file_menu, "Save project &as…", self.save_project_as, QKeySequence.SaveAs, "Save the project under a new name.")
        file_menu.addSeparator()
        self.export_action = self._action(file_menu, "&Export trained model…", self.exports.export_model_dialog, "Ctrl+E",
                                          "Write the trained model in the chosen format.")
        self.export_history_action = self._action(file_menu, "Export &history as CSV…", self.exports.export_history_dialog, None,
                                                  "Write the loss and metrics of every epoch to a CSV file.")
        self.report_action = self._action(file_menu, "Save &report…", lambda: save_report_dialog(self), None,
                                          "Save the last run as a web page and a PDF to hand out: its settings, "
                                          "charts, evaluation and diagnosis.")
        file_menu.addSeparator()
        self._action(file_menu, "Open &trained model…", self.model_files.open_model_dialog, None,
                     "Open a run folder or a model file to try it and to predict files with it.")
        self.predict_action = self._action(file_menu, "&Predict a file…", self.model_files.predict_file_dialog, None,
                                           "Predict every row of a CSV file with the current model.")
        self.predict_action.setEnabled(False)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.Quit, "Close the window.")

        edit_menu = bar.addMenu(tr("&Edit"))
        undo = self.undo_stack.createUndoAction(self, tr("&Undo"))
        undo.setShortcut(QKeySequence("Ctrl+Z"))
        redo = self.undo_stack.createRedoAction(self, tr("&Redo"))
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        edit_menu.addAction(undo)
        edit_menu.addAction(redo)
        self.undo_action, self.redo_action = undo, redo

        run_menu = bar.addMenu(tr("&Run"))
        self.train_action = self._action(run_menu, "&Train", lambda: self.start_training(), None, "Train the network.")
        self.train_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self.crossval_action = self._action(
            run_menu, "&Cross-validate…", self.cross_validate_dialog, "Ctrl+K",
            "K-fold cross-validation: K fresh models, each scored on the training rows it did not see.")
        self.stop_action = self._action(run_menu, "&Stop", self.stop_training, "Esc", "Stop training after this batch.")
        run_menu.addActions(self.run_controls.actions)
        run_menu.addSeparator()
        self.repair_action = self._action(
            run_menu, "Repair &automatically", lambda: self.remedies.start_repair(), None,
            "Try the remedies of the last run's worst finding one after another, keep the best run, and report "
            "every attempt.")
        help_menu = bar.addMenu(tr("&Help"))
        self._build_language_menu(help_menu)
        self._action(help_menu, "&Lessons", self.experiments.show_lessons, None,
                     "The notes' chapters as guided experiments, each claim checked.")
        self._action(help_menu, "&About", self.show_about, None, "What this program is.")
        self._refresh_recent_menu()
        self._update_run_controls(False)

    def _connect(self) -> None:
        self.network_editor.changed.connect(self.record_edit)
        self.training_panel.changed.connect(self.record_edit)
        self.data_panel.changed.connect(self.record_edit)
        self.train_button.clicked.connect(lambda: self.start_training())  # not clicked(bool) as a step
        self.stop_button.clicked.connect(self.stop_training)
        self.crossval_button.clicked.connect(self.cross_validate_dialog)
        self.charts.message.connect(self.show_message)
        self.evaluation.message.connect(self.show_message)
        self.evaluation.points_chosen.connect(self.evaluation_marks.show_points)
        diagnosis = self.results_page.diagnosis
        diagnosis.remedy_chosen.connect(self.remedies.try_remedy)
        diagnosis.repair_requested.connect(self.remedies.start_repair)
        self.remedies.outcome.connect(diagnosis.show_outcome)
        self.remedies.outcome.connect(lambda sentence, _good: self.statusBar().showMessage(sentence, 15000))
        self.training_done.connect(self.remedies.run_ended)
        self.results_page.problems_changed.connect(lambda problems: self.bottom_tabs.setTabText(
            self.bottom_tabs.indexOf(self.results_page), tab_title(problems)))
        self.network_editor.message.connect(self.show_message)
        self.run_controls.message.connect(self.show_message)
        self.try_it.model_changed.connect(self.predict_action.setEnabled)
        self.experiments.connect()
        self.model_files.model_opened.connect(lambda loaded: self.try_it.set_model(loaded, self.dataset))
        self.model_files.status.connect(self.statusBar().showMessage)
        self.model_files.message.connect(self.show_message)
        # Bound methods, not lambdas: the stack emits these while the window is being
        # deleted, and only a method connection is dropped in time.
        self.undo_stack.cleanChanged.connect(self._update_title)
        self.undo_stack.indexChanged.connect(self._update_title)
        QApplication.instance().focusChanged.connect(self._watch_focused_spin_box)

    def _watch_focused_spin_box(self, _old, new) -> None:
        if isinstance(new, QAbstractSpinBox) and self.isAncestorOf(new):
            new.installEventFilter(self)  # installing twice keeps one filter

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        # A spin box's own text undo would swallow Ctrl+Z right after a value was typed
        # and committed, so undo and redo of the project win there.
        if event.type() == QEvent.ShortcutOverride and isinstance(watched, QAbstractSpinBox):
            pressed = QKeySequence(event.keyCombination())
            if any(pressed.matches(key) == QKeySequence.ExactMatch
                   for key in self.undo_action.shortcuts() + self.redo_action.shortcuts()):
                event.ignore()
                return True
        return super().eventFilter(watched, event)

    # --------------------------------------------------------------- project
    def record_edit(self, project: Project, text: str) -> None:
        """A panel changed the project: push it as one undoable step."""
        self.undo_stack.push(ProjectEdit(self, self.project, project, text))

    def apply_project(self, project: Project) -> None:
        """Makes ``project`` current and shows it in every panel.

        A project that holds values no control can show is refused whole,
        before any panel sees it, so the panels never show half of it.
        """
        project.check_values()
        dataset_changed = project.dataset != self.project.dataset
        self.project = project.copy()
        self.data_panel.set_project(self.project)
        self.training_panel.set_project(self.project)
        self.network_editor.set_project(self.project)
        self.experiments.follow_project(self.project)
        self._update_title()
        if dataset_changed:
            self.load_dataset()
        else:
            self._update_shapes()
            self.inside.follow_project(self.project, self.dataset)

    def _update_title(self) -> None:
        name = Path(self.project_path).name if self.project_path else self.project.name
        dirty = project_to_dict(self.project) != self.saved_state
        self.setWindowTitle(f"{APP_TITLE} — {name}{' *' if dirty else ''}")

    def _update_shapes(self) -> None:
        """Tells the network editor the input and output sizes of the current data."""
        if self.dataset is None:
            return
        from models.network.build import resolve_output

        try:
            plan = resolve_output(self.project, self.dataset.task, self.dataset.n_classes)
        except UserError as error:
            self.network_editor.set_data_shape(self.dataset.n_features, 1, f"{tr('Output')} · {error_text(error)}")
            return
        loss = tr(LOSS_NAMES.get(plan.loss, plan.loss))
        text = f"{tr('Output')} · Dense({plan.units}, {plan.activation}) · {tr('loss')}: {loss}"
        self.network_editor.set_data_shape(self.dataset.n_features, plan.units, text)
        self.charts.set_metric(plan.metric)
        self.preparation.schedule()  # so that Train finds this network built and traced

    def new_project(self) -> None:
        if not self._confirm_discard():
            return
        self.project_path = None
        project = default_project()
        self.saved_state = project_to_dict(project)
        self.undo_stack.clear()
        self.apply_project(project)

    def _confirm_discard(self) -> bool:
        if project_to_dict(self.project) == self.saved_state:
            return True
        answer = QMessageBox.question(
            self, APP_TITLE, tr("The project has unsaved changes. Discard them?"),
            QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Cancel,
        )
        return answer == QMessageBox.Discard

    def open_project_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, tr("Open project"), "",
                                              tr("Keras Trainer project") + " (*.json);;" + tr("All files") + " (*)")
        if path:
            self.open_project(path)

    def open_project(self, path: str) -> bool:
        """Opens a project file; a bad file is a message, and the open project stays as it was."""
        try:
            project = load_project(path)
        except UserError as error:
            self.show_message(tr("Could not open {name}: {error}", name=Path(path).name, error=error_text(error)))
            return False
        self.project_path = str(path)
        self.saved_state = project_to_dict(project)
        self.undo_stack.clear()
        self.apply_project(project)
        self._refresh_recent_menu(self.settings.add_recent_file(path))
        return True

    def save_project(self) -> bool:
        if not self.project_path:
            return self.save_project_as()
        return self.save_project_to(self.project_path)

    def save_project_as(self) -> bool:
        path, _ = QFileDialog.getSaveFileName(self, tr("Save project"), f"{self.project.name}.json",
                                              tr("Keras Trainer project") + " (*.json)")
        return bool(path) and self.save_project_to(path)

    def save_project_to(self, path: str) -> bool:
        try:
            self.project.save(path)
        except OSError as error:
            self.show_message(tr("Could not save the project to {path}: {error}. Nothing was overwritten.",
                                 path=path, error=error.strerror or error))
            return False
        self.project_path = str(path)
        self.saved_state = project_to_dict(self.project)
        self.undo_stack.setClean()
        self._refresh_recent_menu(self.settings.add_recent_file(path))
        self._update_title()
        self.statusBar().showMessage(tr("Saved {path}", path=path), 4000)
        return True

    def _refresh_recent_menu(self, files: list[str] | None = None) -> None:
        self.recent_menu.clear()
        files = files if files is not None else self.settings.recent_files()
        for path in files:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _checked=False, p=path: self.open_project(p))
        self.recent_menu.setEnabled(bool(files))

    # ------------------------------------------------------------------ data
    def load_dataset(self) -> None:
        """Loads the project's data set in the background; a newer request makes older ones moot."""
        from datasets.registry import load_dataset

        if self._closing:  # the first load is queued at start and may come after a quick close
            return
        self._dataset_generation += 1
        generation = self._dataset_generation
        self.dataset = None
        self._dataset_loading = True
        self.data_panel.show_loading()
        self._update_run_controls(self.job is not None)
        job = FunctionJob(load_dataset, self.project.dataset.__class__(**self.project.dataset.to_dict()), parent=self)
        job.succeeded.connect(lambda dataset: self._dataset_loaded(generation, dataset))
        job.failed.connect(lambda message: self._dataset_failed(generation, message))
        self._start_job(job)

    def _start_job(self, job) -> None:
        self._jobs.add(job)
        job.finished.connect(lambda: self._jobs.discard(job))
        job.start()

    def _dataset_loaded(self, generation: int, dataset) -> None:
        if generation != self._dataset_generation:
            return
        self._dataset_loading = False
        self.dataset = dataset
        self.data_panel.show_dataset(dataset)
        self.point_trial.clear()
        self.evaluation_marks.clear()
        self.preview.show_dataset(dataset)
        self.inside.show_dataset(dataset, self.project)
        self._update_shapes()
        self._update_run_controls(self.job is not None)
        self.dataset_ready.emit(dataset)
        if self._train_on_load:
            self._train_on_load = False
            if not self.start_training():
                self.remedies.run_ended(None)

    def _dataset_failed(self, generation: int, message: str) -> None:
        if generation != self._dataset_generation:
            return
        self._dataset_loading = False
        if self._train_on_load:  # a remedy waiting for this data set will not train
            self._train_on_load = False
            self.remedies.run_ended(None)
        self.data_panel.show_error(message)
        self.preview.clear()
        self.show_message(tr("Could not load the data: {message}", message=message))
        self._update_run_controls(self.job is not None)

    # -------------------------------------------------------------- training
    def _ready_to_train(self) -> bool:
        """Whether a job can start now; says why not when it cannot."""
        if self.job is not None:
            return False
        if self.experiments.running:
            self.show_message(self.experiments.busy_sentence())
            return False
        if self.dataset is None:
            self.show_message(tr("The data set is not loaded yet (or could not be loaded): see the Data tab."))
            return False
        if self.exports.writing() or self.model_files.job is not None:
            self.show_message(tr("The trained model is still being exported or predicting a file: train again "
                                 "when that is done."))
            return False
        from models.training.runner import data_problems

        problems = self.project.problems() or data_problems(self.project, self.dataset)
        if problems:
            self.show_message(tr("Cannot train yet:") + " " + " ".join(error_text(problem) for problem in problems))
            return False
        return True

    def _comparison_key(self) -> tuple:
        """What two runs must share for one's curves to be a yardstick for the other's:
        the data (set, file, target) and the loss."""
        from models.network.build import resolve_output

        choice = self.project.dataset
        try:
            loss = resolve_output(self.project, self.dataset.task, self.dataset.n_classes).loss
        except UserError:
            loss = None
        return choice.name, choice.data_file, choice.target, loss

    def _clear_for_a_job(self, comparable: bool = True, keep_curves: bool = False) -> None:
        """Empties charts and results; the finished run stays dashed when the next one compares with it.

        Args:
            comparable: whether this job's curves may serve as the next run's
                "previous run" (not so for cross-validation's folds).
            keep_curves: the job trains the shown run on: its curves go on.
        """
        if not keep_curves:
            key = self._comparison_key()
            keep = key == self._shown_key
            self.charts.clear(keep_as_previous=keep)
            if not keep and key != self._previous_key:
                self.charts.forget_previous()
            if keep:
                self._previous_key = key
            self._shown_key = key if comparable else None
        self.results_page.clear_for_a_run()
        self.result = None
        self.try_it.set_model(None)  # the next model is trained in another thread: not to be called meanwhile
        self.point_trial.clear()
        self.evaluation.clear()
        self.evaluation_marks.clear()
        self._outcome = None
        self._fold = None
        self._trained_with = (self.project.copy(), self.dataset)

    def _continuable(self, check: bool = True):
        """The last run as a `Continuation` to train on, or `None`; with ``check``, `None` also when the
        network changed since (see `RunControls`)."""
        from models.training.model_cache import same_network
        from models.training.runner import structure_key_for

        result = self.result
        if result is None or result.model is None or self.dataset is None or not result.structure_key:
            return None
        if check:
            try:
                if not same_network(structure_key_for(self.project, self.dataset), result.structure_key):
                    return None
            except UserError:
                return None
        return result.continuation()

    def start_training(self, step: str | None = None, continue_from=None, epochs: int | None = None) -> bool:
        """Starts the one training job; refuses with a sentence when it cannot.

        Args:
            step: `"batch"` or `"epoch"`: pause after that much (see `RunControls`).
            continue_from: a `Continuation` to train on; its curves go on.
            epochs: how many epochs (more, when training on); the project's when `None`.
        """
        if not self._ready_to_train():
            return False
        project = self.project.copy()
        if epochs is not None:
            project.training.epochs = epochs
        whole = project.copy()
        if continue_from is not None:
            whole.training.epochs += continue_from.epochs_done
        run_dir = self._claim_run_folder(whole)
        self._clear_for_a_job(keep_curves=continue_from is not None)
        # The boundary grid belongs to the previewed data; any other data has other inputs.
        probe_x = self.preview.probe_points() if self.preview.dataset is self.dataset else None
        self.job = TrainingJob(project, self.dataset, run_dir, parent=self, probe_x=probe_x, instruments=True,
                               diagnose=True, continue_from=continue_from)
        if step is not None:
            self.job.stop_request.step(step)
        self.job.run_finished.connect(self._run_finished)
        self.job.findings_found.connect(self.results_page.add_findings)
        self.results_page.diagnosis.start_run()
        self.inside.start_run(self.job, self.project, self.dataset, continuing=continue_from is not None)
        self.run_controls.follow(self.job)
        self._start_training_job()
        return True

    @property
    def data_loading(self) -> bool:
        """Whether the project's data set is loading in the background."""
        return self._dataset_loading

    def train_when_data_ready(self) -> bool:
        """Trains now, or as soon as the data set loads (a remedy that leaves a column out reloads it)."""
        if self.dataset is not None:
            return self.start_training()
        if not self._dataset_loading:
            self.show_message(tr("The data set could not be loaded: see the Data tab."))
            return False
        self._train_on_load = True
        return True

    def _claim_run_folder(self, project: Project):
        """A new run folder for ``project``, checked before training; `None` (and a sentence) when none can be written."""
        from models.training.run_folder import RunFolder

        try:
            folder = RunFolder.claim_new(runs_dir(), f"{time.strftime('%Y%m%d-%H%M%S')}-{project.dataset.name}")
            folder.start(project)
            return folder
        except UserError as error:
            self.show_message(tr("The run will not be saved on its own: {error} When it ends, use File ▸ Export to "
                                 "save the trained model where you choose.", error=error_text(error)))
            return None

    def _start_training_job(self) -> None:
        """Connects what every training job reports, and starts it."""
        self.job.run_started.connect(self._run_started)
        self.job.batch_progress.connect(self._batch_progress)
        self.job.epoch_ended.connect(self._epoch_ended)
        self.job.run_failed.connect(self._run_failed)
        self.job.finished.connect(self._job_thread_finished)
        self._update_run_controls(True)
        self.progress.setRange(0, 0)
        self.progress.setFormat(tr("Building the model…"))
        self.job.start()

    def cross_validate_dialog(self) -> None:
        from models.training.crossval import MAX_FOLDS

        try:
            remembered = int(self.settings.value("cross_validation_folds", 5))
        except (TypeError, ValueError):
            remembered = 5
        folds, accepted = QInputDialog.getInt(
            self, tr("Cross-validate"), tr("Folds (K): train K models, each scored on the training rows it did not see."),
            min(max(remembered, 2), MAX_FOLDS), 2, MAX_FOLDS)
        if accepted:
            self.settings.set_value("cross_validation_folds", folds)
            self.start_cross_validation(folds)

    def start_cross_validation(self, folds: int) -> bool:
        """Starts K-fold cross-validation of the project; refuses with a sentence when it cannot."""
        if not self._ready_to_train():
            return False
        self._clear_for_a_job(comparable=False)
        self.inside.show_dataset(self.dataset, self.project)  # the folds are not read: the last run's readings go
        self._fold = (0, folds)
        self._fold_results = []
        self.job = CrossValidationJob(self.project, self.dataset, folds, parent=self)
        self.job.fold_started.connect(self._fold_started)
        self.job.fold_finished.connect(self._fold_finished)
        self.job.cv_finished.connect(self._cross_validation_finished)
        self._start_training_job()
        self.results.setHtml(crossval_html(self._fold_results, self._fold))
        self.bottom_tabs.setCurrentWidget(self.results_page)
        return True

    def _fold_started(self, fold: int, folds: int) -> None:
        self._fold = (fold, folds)
        self.charts.clear(keep_as_previous=False)  # each fold is a fresh model; its curves start again

    def _fold_finished(self, result) -> None:
        self._fold_results.append(result)
        self.results.setHtml(crossval_html(self._fold_results, self._fold))

    def _fold_prefix(self) -> str:
        """What the progress text starts with: the fold under cross-validation, "Paused" when paused."""
        paused = tr("Paused") + " · " if self.run_controls.paused() else ""
        return paused + (tr("fold {fold}/{folds}", fold=self._fold[0], folds=self._fold[1]) + " · " if self._fold else "")

    def _cross_validation_finished(self, outcome) -> None:
        self.charts.redraw_now()
        if outcome.stopped:
            self.progress.setFormat(tr("Done: cross-validated on {done} of {folds} folds", done=len(outcome.results),
                                       folds=outcome.folds))
        else:
            self.progress.setFormat(tr("Done: cross-validated on {folds} folds", folds=outcome.folds))
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        metric = outcome.metric
        self.progress_label.setText(
            f"  {tr(metric)} {outcome.mean(metric):.4f} ± {outcome.std(metric):.4f}" if outcome.results else "")
        self.results.setHtml(crossval_html(self._fold_results, self._fold, outcome))
        self.bottom_tabs.setCurrentWidget(self.results_page)
        self._outcome = outcome

    def stop_training(self) -> None:
        if self.job is not None:
            self.job.request_stop()
            self.progress.setFormat(tr("Stopping…"))

    def _update_run_controls(self, running: bool) -> None:
        can_train = not running and self.dataset is not None and not self.experiments.running
        self.train_button.setEnabled(can_train)
        self.crossval_button.setEnabled(can_train)
        if hasattr(self, "train_action"):
            self.train_action.setEnabled(can_train)
            self.crossval_action.setEnabled(can_train)
            self.stop_action.setEnabled(running)
            has_model = self.result is not None and self.result.model is not None
            self.export_action.setEnabled(has_model and not running)
            self.export_history_action.setEnabled(self.result is not None and not running)
            self.report_action.setEnabled(self.result is not None and not running)
            self.repair_action.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.results_page.diagnosis.set_running(running)
        self.run_controls.update()

    def _run_started(self, info) -> None:
        self._run_info = info
        total = info.epochs * info.steps_per_epoch
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(info.initial_epoch * info.steps_per_epoch)
        self.progress.setFormat(self._fold_prefix() + tr("epoch {epoch}/{epochs}", epoch=1, epochs=info.epochs))
        self.device_label.setText(tr("Device: {device}", device=info.device))
        self.charts.set_metric(info.metric)
        self.statusBar().showMessage(tr(
            "Training {parameters} parameters on {samples} samples ({validation} validation)",
            parameters=f"{info.parameters:,}", samples=f"{info.train_samples:,}",
            validation=f"{info.validation_samples:,}"), 5000)

    def _batch_progress(self, progress) -> None:
        for position, loss, metric in progress.points:
            self.charts.add_batch(position, loss, metric)
        self.progress.setValue(progress.global_step)
        self.progress.setFormat(self._fold_prefix() + tr("epoch {epoch}/{epochs}", epoch=progress.epoch, epochs=progress.epochs)
                                + " · " + tr("batch {step}/{steps}", step=progress.step, steps=progress.steps_per_epoch))
        self.progress_label.setText("  " + tr("loss {loss} · {left} left", loss=f"{progress.loss:.4f}",
                                              left=_format_seconds(progress.eta_s)))
        if progress.samples_per_second > 0:  # the report flushed after an epoch's end has no speed of its own
            self.speed_label.setText(tr("{speed} samples/s", speed=f"{progress.samples_per_second:,.0f}"))
        self._show_probe(progress.probe, now=self.run_controls.paused())  # a run paused inside an epoch shows the boundary it paused at

    def _epoch_ended(self, result) -> None:
        self.charts.add_epoch(result.epoch, result.logs)
        info = getattr(self, "_run_info", None)
        if info is not None:
            self.progress.setValue(result.epoch * info.steps_per_epoch)
        self.progress.setFormat(self._fold_prefix() + tr("epoch {epoch}/{epochs}", epoch=result.epoch, epochs=result.epochs))
        self.progress_label.setText("  " + tr("loss {loss} · {left} left", loss=f"{result.logs.get('loss', math.nan):.4f}",
                                              left=_format_seconds(result.eta_s)))
        self._show_probe(result.probe, now=self.run_controls.paused())

    def _show_probe(self, probe, now: bool = False) -> None:
        # The data set may have been changed while training: its grid is not the one probed.
        if probe is not None and self.preview.dataset is self._trained_with[1]:
            self.preview.show_probe(probe, now=now)

    def _run_finished(self, result) -> None:
        self.result = result
        self._show_probe(result.probe, now=True)  # the trained model's boundary, whatever the pace
        self.charts.redraw_now()
        self.progress.setFormat(tr("Done: {reason}", reason=tr(result.reason_text)))
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.speed_label.setText(tr("{speed} samples/s", speed=f"{result.train_samples_per_second:,.0f}"))
        self.progress_label.setText(test_summary(result))
        self.results.setHtml(run_html(result))
        if result.diagnosis is not None:
            self.results_page.show_diagnosis(result.diagnosis)
        self.try_it.set_model(model_from_run(result), self._trained_with[1])
        trained_on = self._trained_with[0].dataset
        self.evaluation.set_result(result, self._trained_with[1], trained_on.data_file if trained_on.name == "csv" else None)
        if result.save_error:
            self.show_message(tr("{error}. The trained model is kept in memory: use File ▸ Export to save it where "
                                 "you choose.", error=_capitalised(error_text(result.save_error))))
        # For two features the decision boundary says more than the table, so it stays in view;
        # the test figures are in the toolbar as well.
        if result.probe is None:
            self.bottom_tabs.setCurrentWidget(self.results_page)
        self._outcome = result

    def _run_failed(self, message: str) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat(tr("Failed"))
        self.progress_label.setText("")
        self.show_message(message[0].upper() + message[1:] if message else tr("Training failed."))
        self._outcome = None

    def _job_thread_finished(self) -> None:
        self.job = None
        self._update_run_controls(False)
        outcome, self._outcome = self._outcome, None
        self.training_done.emit(outcome)

    # ------------------------------------------------------------- messages
    def show_message(self, text: str) -> None:
        """Shows a sentence to the user without blocking (tests read `message_shown`)."""
        self.statusBar().showMessage(text, 15000)
        self.message_shown.emit(text)
        box = QMessageBox(QMessageBox.Warning, APP_TITLE, text, QMessageBox.Ok, self)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.setWindowModality(Qt.WindowModal)
        box.open()

    def _build_language_menu(self, help_menu) -> None:
        """Help ▸ Language: English or 简体中文, saved for the next start."""
        from PySide6.QtGui import QActionGroup

        menu = help_menu.addMenu("Language / 语言")
        group = QActionGroup(self)
        self.language_actions = {}
        for code, name in LANGUAGES.items():
            action = menu.addAction(name)
            action.setCheckable(True)
            action.setChecked(code == language())
            action.triggered.connect(lambda _checked, code=code: self.choose_language(code))
            group.addAction(action)
            self.language_actions[code] = action

    def choose_language(self, code: str) -> None:
        """Saves the language for the next start and says so, in that language."""
        self.settings.set_value("language", code)
        if code != language():
            message = {ENGLISH: "The window will be in English from the next start.",
                       CHINESE: "下次启动时，窗口将显示为简体中文。"}[code]
            self.show_message(message)

    def show_about(self) -> None:
        QMessageBox.about(self, APP_TITLE, "<b>Keras Trainer</b><p>" + tr(
            "Build a neural network by point and click, train it with real Keras, watch it learn, and export it.") + "</p>")

    def set_devices(self, options) -> None:
        self.training_panel.set_devices(options)
        gpus = [option.label for option in options if option.key.startswith("gpu:")]
        self.device_label.setText(tr("TensorFlow ready") + " · " + (", ".join(gpus) if gpus else tr("CPU only")))

    def set_tensorflow_failed(self, message: str) -> None:
        self.device_label.setText(tr("TensorFlow could not start"))
        self.show_message(tr("TensorFlow could not start: {message}", message=message))

    # --------------------------------------------------------------- closing
    def _restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        splitter = self.settings.value("window/splitter")
        for value, restore in ((geometry, self.restoreGeometry), (state, self.restoreState),
                               (splitter, self.main_splitter.restoreState)):
            if isinstance(value, QByteArray):
                restore(value)

    def closeEvent(self, event) -> None:
        self._closing = True
        self.settings.set_value("window/geometry", self.saveGeometry())
        self.settings.set_value("window/state", self.saveState())
        self.settings.set_value("window/splitter", self.main_splitter.saveState())
        self.settings.set_last_project(self.project)
        self.settings.sync()
        self.preparation.stop()
        self.experiments.stop()
        if self.job is not None:
            self.job.request_stop()
        # Off the screen at once: a background import cannot be interrupted and
        # may need a few seconds to end, and a window that lingers looks frozen.
        self.hide()
        self.wait_for_jobs()
        super().closeEvent(event)

    def wait_for_jobs(self) -> None:
        """Blocks until every background job has ended (used when quitting)."""
        if self.job is not None:
            self.job.wait()
        self.experiments.wait()
        for job in list(self._jobs):
            job.wait()
