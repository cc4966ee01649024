"""A lesson's steps run in the window (`LessonSteps`): kept out of `gui.experiments`, which only builds it.

A step's settings become the project as one undoable edit; then the step runs
as the lesson says: a training run, K-fold cross-validation, a sweep in the
Sweep tab or a search in the Search tab, each once the data set has loaded.
When the window's run ends, the Lessons tab hears what it produced.
"""

from __future__ import annotations

import datetime

from gui.i18n import tr
from gui.lessons_view import page_language
from gui.run_overlays import OverlaidRun


class LessonSteps:
    """Connects the Lessons tab to the window and the Sweep and Search tabs."""

    def __init__(self, experiments):
        self.experiments, self.window = experiments, experiments.window
        self.lessons = experiments.lessons
        self._after_load = None  # what to start once the data set being loaded is ready
        lessons, window = self.lessons, self.window
        lessons.step_requested.connect(self.run_step)
        lessons.overlay_requested.connect(
            lambda runs: experiments.overlays.show([OverlaidRun(label, history) for label, history in runs]))
        # What the run trained with, not what the panels hold now (the data set may have changed since).
        window.training_done.connect(lambda outcome: lessons.step_finished(outcome, *window._trained_with))
        window.dataset_ready.connect(self._data_ready)
        lessons.report_requested.connect(self.save_report)

    @property
    def waiting(self) -> bool:
        """Whether a step waits for its data set to load before it starts (not once the load failed)."""
        if self._after_load is not None and not self.window.data_loading and self.window.dataset is None:
            self._after_load = None
            self.lessons.step_started(None)
        return self._after_load is not None

    def run_step(self, lesson, step) -> None:
        """Applies ``step``'s settings to the project and runs it as its kind says."""
        window, experiments = self.window, self.experiments
        if window.job is not None or experiments.running:
            window.show_message(experiments.busy_sentence())
            return
        project = lesson.project_for(step)
        current = window.project.dataset
        if current.name == project.dataset.name and current.data_file and not project.dataset.data_file:
            project.dataset.data_file = current.data_file  # a local copy chosen in the Data panel (MNIST offline)
        window.record_edit(project, tr("Lesson step: {step}", step=step.label[page_language()]))
        self.lessons.step_started(step, window.project.copy())
        if step.kind == "run":
            start = window.train_when_data_ready
        elif step.kind == "kfold":
            start = lambda: window.start_cross_validation(step.details["folds"])  # noqa: E731
        elif step.kind == "sweep":
            window.chart_tabs.setCurrentWidget(experiments.sweep)
            start = lambda: experiments.sweep.start_with(step.details["param"], step.details["values"])  # noqa: E731
        else:
            window.chart_tabs.setCurrentWidget(experiments.search)
            stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
            start = lambda: experiments.search.start_with(  # noqa: E731
                step.details["space"], step.details.get("trials", 10), step.details.get("objective", "auto"),
                f"lesson-{lesson.id}-{stamp}")
        if step.kind == "run" or self.window.dataset is not None:
            self._after_load = None
            self._started(start())
        elif not window.data_loading:  # the step's data set failed to load before
            window.show_message(tr("The data set could not be loaded: see the Data tab."))
            self._started(False)
        else:  # the step changed the data set, which loads in the background
            self._after_load = (start, window.project.dataset)

    def _data_ready(self, _dataset) -> None:
        waiting, self._after_load = self._after_load, None
        if waiting is not None:
            # The project may have moved on to another data set while this one loaded: then the step is off.
            self._started(waiting[1] == self.window.project.dataset and waiting[0]())

    def _started(self, started: bool) -> None:
        if not started:  # refused (with a sentence): no run of the window's is the step's
            self.lessons.step_started(None)

    def save_report(self, lesson, checks) -> bool:
        """Save report… for a lesson: its page, what the runs showed, the claim's checks, and the window's last run."""
        from gui.lessons_view import translated
        from gui.report_export import lesson_report_parts, save_report_dialog
        from models.lessons import CheckResult

        parts = lesson_report_parts(lesson)
        lines = [translated(line) for step in lesson.steps for line in self.lessons.runs.readouts.get(step.id, [])]
        if lines:
            parts["notes"] = [*parts["notes"], (tr("What your runs showed"), "; ".join(lines))]
        if checks is not None:
            parts["checks"] = [CheckResult(translated(text), held) for text, held in checks["checks"]]
        return save_report_dialog(self.window, **parts)
