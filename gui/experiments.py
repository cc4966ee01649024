"""The experiment tabs wired to the window: History, Sweep and Search (`Experiments`).

Kept out of `gui.main_window`, which only asks this one object whether an
experiment is training, tells it when the project changes, and stops it on
closing.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget

from gui.history_view import HistoryView
from gui.i18n import error_text, tr
from gui.lesson_steps import LessonSteps
from gui.lessons_view import LessonsView
from gui.run_overlays import OverlaidRun, RunOverlays
from gui.search_view import SearchView
from gui.settings import runs_dir
from gui.sweep_view import SweepView

START_PAGE_SHOWN = "lessons/start_page_shown"  # the settings' note that the first launch is over


class Experiments:
    """Builds the History tab (beside the data preview), the Sweep and Search tabs (beside the charts),
    and connects them to the window: overlays on its charts, undoable edits of its project, its messages."""

    def __init__(self, window):
        self.window = window
        self.history = HistoryView(runs_dir())
        self.overlays = RunOverlays(window.charts)
        context = lambda: (window.project, window.dataset)  # noqa: E731
        self.sweep = SweepView(context, lambda: self._may_start(self.search), runs_dir)
        self.search = SearchView(context, lambda: self._may_start(self.sweep), runs_dir)
        self.lessons = LessonsView(context, lambda: self._may_start(self.sweep) and not self.search.running, runs_dir)
        window.bottom_tabs.addTab(self.history, tr("History"))
        self.lessons_dock = self._lessons_dock()
        window.chart_tabs.addTab(self.sweep, tr("Sweep"))
        window.chart_tabs.addTab(self.search, tr("Search"))

    def connect(self) -> None:
        window, history = self.window, self.history
        history.overlay_requested.connect(
            lambda runs: self.overlays.show([OverlaidRun(label, curves) for label, curves in runs]))
        history.settings_requested.connect(
            lambda project, run: window.record_edit(project, tr("Use the settings of {run}", run=run)))
        self.search.apply_requested.connect(self._apply_search_result)
        self.search.show_run_requested.connect(self.show_run)
        self.lesson_steps = LessonSteps(self)
        for view in (history, self.sweep, self.search, self.lessons):
            view.message.connect(window.show_message)
        for view in (self.sweep, self.search, self.lessons):
            view.run_added.connect(history.refresh_soon)
            view.running_changed.connect(lambda _running: window._update_run_controls(window.job is not None))
        window.training_done.connect(lambda _outcome: history.refresh_soon())

    def _may_start(self, other) -> bool:
        """Whether an experiment may train now: nothing else trains, nothing reads the window's model
        (an export, a file prediction), and that model is kept out of the runs' reach."""
        from models.training.model_cache import MODELS

        window = self.window
        if window.job is not None or other.running or window.exports.writing() or window.model_files.job is not None:
            return False
        # The runs would take a kept model of the same structure and reset its weights; the one the
        # window shows (Try it, Evaluation, Export, Train more) must stay as it is.
        if window.result is not None and window.result.model is not None:
            MODELS.forget(window.result.model)
        return True

    @property
    def running(self) -> bool:
        """Whether a sweep, a search or a lesson's check is training."""
        return self.sweep.running or self.search.running or self.lessons.running

    def _lessons_dock(self) -> QDockWidget:
        """The Lessons panel, docked beside the charts so a lesson's page stays in view while its steps train;
        open on the first launch (on its start page), then when Help ▸ Lessons asks."""
        window = self.window
        dock = QDockWidget(tr("Lessons"), window)
        dock.setObjectName("lessons")
        dock.setWidget(self.lessons)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        first_launch = window.settings.value(START_PAGE_SHOWN) is None
        dock.setVisible(first_launch)
        if first_launch:
            window.settings.set_value(START_PAGE_SHOWN, 1)
            window.settings.sync()
        return dock

    def show_lessons(self) -> None:
        """Help ▸ Lessons: the Lessons panel, shown and in front."""
        self.lessons_dock.show()
        self.lessons_dock.raise_()

    def busy_sentence(self) -> str:
        return tr("A sweep, a search or a lesson is training: stop it in its tab, or wait for it to end.")

    def follow_project(self, project) -> None:
        self.sweep.follow_project(project)

    def _apply_search_result(self, params: dict) -> None:
        from models.errors import UserError
        from models.experiments.search import apply_params

        try:  # the network may have changed since the search (a layer the best width belongs to removed)
            project = apply_params(self.window.project, params)
            project.check_values()
        except UserError as error:
            self.window.show_message(tr("The best settings do not fit the project as it is now: {error}", error=error_text(error)))
            return
        self.window.record_edit(project, tr("Apply the search's best settings"))

    def show_run(self, path: str) -> None:
        """Brings the History tab forward with the run of folder ``path`` selected."""
        self.window.bottom_tabs.setCurrentWidget(self.history)
        self.history.refresh()
        self.history.select_runs([Path(path).name])

    def stop(self) -> None:
        for view in (self.sweep, self.search, self.lessons):
            view.stop()

    def wait(self) -> None:
        for view in (self.sweep, self.search, self.lessons):
            if view.job is not None:
                view.job.wait()
