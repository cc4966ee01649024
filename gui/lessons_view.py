"""The Lessons tab: the notes' chapters as guided experiments (`LessonsView`).

Choose a lesson: its page (what the notes say, what to press, what to look at,
what should happen, a question) shows in the window's language, and one
button per step sets the project to that step's settings (an undoable edit)
and trains it: once, as a sweep in the Sweep tab, as K-fold
cross-validation or as a search in the Search tab. What the step's run
showed (the figures the lesson names, the trained w and b beside the closed
form …) is added to the page, and **Overlay the steps** draws the steps'
curves over the charts. **Check the claim** trains every step in the
background, as ``python main.py lessons --check`` does, and says whether each
check held. With no lesson chosen (and on the first launch) the tab shows a
start page that lists them all.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from PySide6.QtCore import QThread, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
)

from gui.experiment_view import ExperimentView
from gui.i18n import CHINESE, error_text, language, tr
from models.errors import UserError
from models.lessons import load_lessons, run_lesson

START_LINK = "lesson:"


def page_language() -> str:
    return "zh_CN" if language() == CHINESE else "en"


def translated(text) -> str:
    """An engine sentence (a `models.text.Text` or plain text) in the window's language."""
    return text.translated(tr) if hasattr(text, "translated") else str(text)


class LessonCheckJob(QThread):
    """Runs a lesson's steps and checks its claim in a background thread; emits plain data."""

    # [(check text, held)], whether the claim held, {step id: [lines]} (an object: a dict would cross the
    # thread as a Qt map and lose its lines' translations)
    checked = Signal(list, bool, object)
    failed = Signal(str)

    def __init__(self, lesson, data_file: str = "", parent=None):
        super().__init__(parent)
        from models.training.reports import StopRequest

        self.lesson, self.data_file, self.stop_request = lesson, data_file, StopRequest()

    def run(self) -> None:
        from models.training.runner import TrainingFailed

        try:
            outcome = run_lesson(self.lesson, stop=self.stop_request, data_file=self.data_file)
        except (UserError, TrainingFailed) as error:
            self.failed.emit(error_text(error))
        except Exception as error:  # a bug of ours: a sentence, never a crash
            self.failed.emit(tr("the lesson failed unexpectedly ({error})", error=f"{type(error).__name__}: {error}"))
        else:
            self.checked.emit([(check.text, check.held) for check in outcome.checks], outcome.held,
                              dict(outcome.readouts))


@dataclass
class LessonRuns:
    """What one lesson's steps produced in the window, and its last check."""

    step_runs: dict = field(default_factory=dict)  # step id → (label, history)
    readouts: dict = field(default_factory=dict)  # step id → the lines its run showed
    checks: dict | None = None  # {"checks": [(text, held)], "held": bool}


class LessonsView(ExperimentView):
    """The lesson list, the chosen lesson's page, its steps and its claim.

    Signals (besides `ExperimentView`'s):
        step_requested(object, object): the `Lesson` and the `Step` to apply and run.
        overlay_requested(list): ``(label, history)`` of the steps trained so far, to draw over the charts.
        report_requested(object, object): the `Lesson` and the last `LessonOutcome`-like data
            (``{"checks": [(text, held)], "held": bool, "readouts": {...}}``), for Save report.
    """

    step_requested = Signal(object, object)
    overlay_requested = Signal(list)
    report_requested = Signal(object, object)

    def __init__(self, context, may_start, runs_root, parent=None):
        super().__init__(context, may_start, runs_root, parent)
        self.lessons, problems = load_lessons()
        self.lesson = None
        self.pending = None  # (step, project) whose run the window is training
        self.kept: dict[str, LessonRuns] = {}  # lesson id → what its steps and checks produced this session
        self.step_buttons: list[QPushButton] = []
        self.chooser = QComboBox()  # the start page, then each lesson
        self.chooser.addItem("⌂  " + tr("Start page"))
        for lesson in self.lessons:
            self.chooser.addItem(f"{lesson.number}. {lesson.text(lesson.title, page_language())}")
        self.chooser.setToolTip(tr("Choose a lesson; the start page lists them all."))
        self.chooser.currentIndexChanged.connect(lambda index: self.open_lesson(index - 1))
        self.page = QTextBrowser()
        self.page.setOpenLinks(False)
        self.page.anchorClicked.connect(self._link_clicked)
        self.steps_column = QVBoxLayout()  # a button per step, in order
        self.steps_column.setSpacing(2)
        self.overlay_button = QPushButton(tr("Overlay the steps"))
        self.overlay_button.setToolTip(tr("Draw the curves of this lesson's steps, as you trained them, over the "
                                          "training charts."))
        self.overlay_button.clicked.connect(self.overlay_steps)
        self.report_button = QPushButton(tr("Save report…"))
        self.report_button.setToolTip(tr("Save the lesson's page, your runs' figures, the charts and the claim's "
                                         "checks as an HTML page and a PDF, to hand out."))
        self.report_button.clicked.connect(lambda: self.lesson and self.report_requested.emit(self.lesson,
                                                                                              self.runs.checks))
        self.check_button = QPushButton(tr("Check the claim"))
        self.check_button.setToolTip(tr("Train every step of the lesson in the background and check what the notes "
                                        "claim, as python main.py lessons --check does."))
        self.check_button.clicked.connect(self.check_claim)
        self.stop_button = QPushButton("■  " + tr("Stop"))
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.setEnabled(False)
        actions = QGridLayout()
        for index, button in enumerate((self.overlay_button, self.report_button, self.check_button,
                                        self.stop_button)):
            actions.addWidget(button, index // 2, index % 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.chooser)
        layout.addWidget(self.page, 1)
        layout.addLayout(self.steps_column)
        layout.addLayout(actions)
        layout.addWidget(self.status)
        self.setMinimumWidth(320)
        if problems:
            self.status.setText(" ".join(translated(problem) for problem in problems))
        self.show_start_page()

    # ------------------------------------------------------------ pages
    def show_start_page(self) -> None:
        """The welcome page: what the program and the lessons are, each lesson a link."""
        self.chooser.blockSignals(True)
        self.chooser.setCurrentIndex(0)
        self.chooser.blockSignals(False)
        self.lesson = None
        self._set_step_buttons([])
        lang = page_language()
        items = "".join(
            f'<p style="margin:3px 0"><a href="{START_LINK}{lesson.id}">{lesson.number}. '
            f'{html.escape(lesson.text(lesson.title, lang))}</a><br><span style="color:#666">'
            f'{html.escape(lesson.text(lesson.section, lang))}</span></p>' for lesson in self.lessons)
        self.page.setHtml(
            f"<h3>{html.escape(tr('Welcome to Keras Trainer'))}</h3>"
            f"<p>{html.escape(tr('Build a network on the left, press Train, and watch it learn: the charts, the inside of the network and the diagnosis explain what happens.'))}</p>"  # noqa: E501
            f"<p>{html.escape(tr('Each lesson below is one idea from your notes (Dive into Deep Learning, Deep Learning with Python) as an experiment: it sets up the network, tells you what to press and what to look at, and checks the notes claim on real training runs.'))}</p>"  # noqa: E501
            f"<h4>{html.escape(tr('Lessons'))}</h4>{items}"
            f"<p style='color:#666'>{html.escape(tr('Close this panel with its × button; Help ▸ Lessons brings it back.'))}</p>")
        self._update_buttons()

    def _link_clicked(self, url) -> None:
        target = url.toString()
        if target.startswith(START_LINK):
            ids = [lesson.id for lesson in self.lessons]
            if target[len(START_LINK):] in ids:
                self.chooser.setCurrentIndex(ids.index(target[len(START_LINK):]) + 1)

    def open_lesson(self, row: int) -> None:
        """Shows lesson ``row``'s page and a button for each of its steps."""
        if not 0 <= row < len(self.lessons):
            self.show_start_page()
            return
        self.lesson = lesson = self.lessons[row]
        lang = page_language()
        self._show_page()
        self._set_step_buttons([(step, f"▶  {index + 1}. {step.label[lang]}")
                                for index, step in enumerate(lesson.steps)])
        self.status.setText("")
        self._update_buttons()

    def _set_step_buttons(self, steps: list) -> None:
        for button in self.step_buttons:
            self.steps_column.removeWidget(button)
            button.deleteLater()
        self.step_buttons = []
        for step, text in steps:
            button = QPushButton(text)
            button.setStyleSheet("text-align: left; padding: 3px 8px")
            button.setToolTip(_STEP_TIPS[step.kind]())
            button.clicked.connect(lambda _checked=False, step=step: self.train_step(step))
            self.steps_column.addWidget(button)
            self.step_buttons.append(button)

    def _show_page(self) -> None:
        lesson, lang = self.lesson, page_language()
        parts = lesson.page[lang]
        headings = {"notes": tr("What the notes say"), "press": tr("What to press"), "look": tr("What to look at"),
                    "expect": tr("What should happen"), "question": tr("A question to think about")}
        body = "".join(f"<h4>{html.escape(headings[part])}</h4><p>{html.escape(parts[part])}</p>" for part in headings)
        shown = ""
        readouts = self.runs.readouts
        if readouts:
            lines = "".join(f"<li>{html.escape(translated(line))}</li>"
                            for step in lesson.steps for line in readouts.get(step.id, []))
            shown = f"<h4>{html.escape(tr('What your runs showed'))}</h4><ul>{lines}</ul>"
        checked = ""
        checks = self.runs.checks
        if checks is not None:
            verdict = tr("The claim held.") if checks["held"] else tr("The claim did not hold.")
            lines = "".join(f"<li>{'✓' if held else '✗'} {html.escape(translated(text))}</li>"
                            for text, held in checks["checks"])
            checked = f"<p><b>{html.escape(verdict)}</b></p><ul>{lines}</ul>"
        self.page.setHtml(f"<h3>{lesson.number}. {html.escape(lesson.text(lesson.title, lang))}</h3>"
                          f"<p><i>{html.escape(lesson.text(lesson.section, lang))}</i></p>{body}{shown}"
                          f"<h4>{html.escape(tr('The claim'))}</h4><p>{html.escape(lesson.text(lesson.claim, lang))}"
                          f"</p>{checked}")

    # ------------------------------------------------------------ steps
    def train_step(self, step) -> None:
        """Asks the window to apply the step's project and run it."""
        if self.lesson is None:
            return
        try:
            self.lesson.project_for(step)
        except UserError as error:
            self.say(error_text(error))
            return
        self.step_requested.emit(self.lesson, step)

    @property
    def runs(self) -> LessonRuns:
        """What the open lesson's steps and checks produced this session."""
        return self.kept.setdefault(self.lesson.id, LessonRuns()) if self.lesson is not None else LessonRuns()

    def step_started(self, step, project=None) -> None:
        """The window runs ``step`` with ``project`` now (a run or K-fold: its end comes to `step_finished`);
        `None`: no run of the window's is a step's."""
        runs_in_window = step is not None and step.kind in ("run", "kfold")
        self.pending = (self.lesson, step, project) if runs_in_window else None

    def step_finished(self, outcome, project, dataset) -> None:
        """The window's job ended having trained ``project`` on ``dataset``: if that was the pending step's
        run, keep its curves and what it showed."""
        from models.lessons import readout_lines, step_run_of

        pending, self.pending = self.pending, None
        if pending is None or outcome is None or project != pending[2]:  # another run (the step's never began)
            return
        lesson, step, _ = pending
        runs = self.kept.setdefault(lesson.id, LessonRuns())
        history = getattr(outcome, "history", None)
        if history:
            runs.step_runs[step.id] = (step.label[page_language()], dict(history))
        if step.show:
            try:
                label = step.label[page_language()]  # the page names the step as its button does
                runs.readouts[step.id] = readout_lines(step, {label: step_run_of(project, outcome, dataset)})
            except (UserError, ValueError, KeyError, IndexError) as error:  # a run cut short has fewer figures
                runs.readouts[step.id] = [tr("{step}: no figures ({error})", step=step.id, error=error_text(error))]
        if lesson is self.lesson:
            self._show_page()
            self._update_buttons()

    def overlay_steps(self) -> None:
        """Draws the steps trained so far over the charts, in the lesson's order."""
        if self.lesson is None:
            return
        step_runs = self.runs.step_runs
        runs = [step_runs[step.id] for step in self.lesson.steps if step.id in step_runs]
        self.overlay_requested.emit(runs)

    # ------------------------------------------------------------ the claim
    def check_claim(self) -> bool:
        if self.lesson is None or self.job is not None:
            return False
        if not self.may_start():  # the check loads its own data: only another training stops it
            self.message.emit(tr("A lesson is checked when no run is training."))
            return False
        project, _dataset = self.context()
        data_file = project.dataset.data_file if project.dataset.name == self.lesson.base_project().dataset.name \
            else ""
        job = LessonCheckJob(self.lesson, data_file, parent=self)
        job.checked.connect(lambda checks, held, readouts, lesson=self.lesson: self._checked(lesson, checks, held,
                                                                                             readouts))
        self.launch(job, tr("Training the lesson's {count} steps…", count=len(self.lesson.steps)))
        return True

    def _checked(self, lesson, checks: list, held: bool, readouts: dict) -> None:
        lines = [f"{'✓' if check_held else '✗'} {translated(text)}" for text, check_held in checks]
        verdict = tr("The claim held.") if held else tr("The claim did not hold.")
        self.say(f"{lesson.number}. " + verdict + " " + "; ".join(lines) if lesson is not self.lesson
                 else verdict + " " + "; ".join(lines))
        runs = self.kept.setdefault(lesson.id, LessonRuns())
        runs.checks = {"checks": checks, "held": held}
        runs.readouts.update(readouts)
        if lesson is self.lesson:
            self._show_page()
        self.run_added.emit()

    def set_running(self, running: bool) -> None:
        super().set_running(running)
        self._update_buttons()

    def _update_buttons(self) -> None:
        running = self.running
        chosen = self.lesson is not None
        self.check_button.setEnabled(chosen and not running)
        self.stop_button.setEnabled(running)
        self.overlay_button.setEnabled(chosen and bool(self.runs.step_runs))
        self.report_button.setEnabled(chosen)
        for button in self.step_buttons:
            button.setEnabled(not running)


_STEP_TIPS = {
    "run": lambda: tr("Set the project to this step's settings (Edit ▸ Undo takes them back) and train."),
    "sweep": lambda: tr("Set the project to this step's settings and sweep the setting in the Sweep tab."),
    "kfold": lambda: tr("Set the project to this step's settings and cross-validate it."),
    "search": lambda: tr("Set the project to this step's settings and search in the Search tab."),
}
