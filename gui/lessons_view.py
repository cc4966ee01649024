"""The Lessons tab: the notes' chapters as guided experiments (`LessonsView`).

Choose a lesson: its page (what the notes say, what to press, what to look at,
what should happen, a question) shows in the window's language, and one
button per step sets the project to that step's settings (an undoable edit)
and trains, so the charts, the inside views and the diagnosis show the step.
**Check the claim** trains every step in the background, as
``python main.py lessons --check`` does, and says whether each check held.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QThread, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QListWidget,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from gui.experiment_view import ExperimentView
from gui.i18n import CHINESE, language, tr
from models.errors import UserError
from models.lessons import load_lessons, run_lesson


def page_language() -> str:
    return "zh_CN" if language() == CHINESE else "en"


class LessonCheckJob(QThread):
    """Runs a lesson's steps and checks its claim in a background thread; emits plain data."""

    checked = Signal(list, bool)  # [(check text, held)], whether the claim held
    failed = Signal(str)

    def __init__(self, lesson, parent=None):
        super().__init__(parent)
        from models.training.reports import StopRequest

        self.lesson, self.stop_request = lesson, StopRequest()

    def run(self) -> None:
        from models.training.runner import TrainingFailed

        try:
            outcome = run_lesson(self.lesson, stop=self.stop_request)
        except (UserError, TrainingFailed) as error:
            self.failed.emit(str(error))
        except Exception as error:  # a bug of ours: a sentence, never a crash
            self.failed.emit(tr("the lesson failed unexpectedly ({error})", error=f"{type(error).__name__}: {error}"))
        else:
            self.checked.emit([(check.text, check.held) for check in outcome.checks], outcome.held)


class LessonsView(ExperimentView):
    """The lesson list, the chosen lesson's page, its steps and its claim.

    Signals (besides `ExperimentView`'s):
        step_requested(object, str): a step's `Project` to apply and train, and the edit's name.
    """

    step_requested = Signal(object, str)

    def __init__(self, context, may_start, runs_root, parent=None):
        super().__init__(context, may_start, runs_root, parent)
        self.lessons, problems = load_lessons()
        self.lesson = None
        self.step_buttons: list[QPushButton] = []
        self.list = QListWidget()
        for lesson in self.lessons:
            self.list.addItem(f"{lesson.number}. {lesson.text(lesson.title, page_language())}")
        self.list.currentRowChanged.connect(self.open_lesson)
        self.list.setMinimumWidth(190)
        self.list.setWordWrap(True)
        self.page = QTextBrowser()
        self.page.setOpenExternalLinks(False)
        self.steps_row = QHBoxLayout()
        self.check_button = QPushButton(tr("Check the claim"))
        self.check_button.setToolTip(tr("Train every step of the lesson in the background and check what the notes "
                                        "claim, as python main.py lessons --check does."))
        self.check_button.clicked.connect(self.check_claim)
        self.stop_button = QPushButton("■  " + tr("Stop"))
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.setEnabled(False)
        self.steps_row.addStretch(1)
        self.steps_row.addWidget(self.check_button)
        self.steps_row.addWidget(self.stop_button)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.page, 1)
        right_layout.addLayout(self.steps_row)
        right_layout.addWidget(self.status)
        splitter = QSplitter()
        splitter.addWidget(self.list)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([220, 600])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)
        if problems:
            self.status.setText(" ".join(problems))
        if self.lessons:
            self.list.setCurrentRow(0)

    def open_lesson(self, row: int) -> None:
        """Shows lesson ``row``'s page and a button for each of its steps."""
        if not 0 <= row < len(self.lessons):
            return
        self.lesson = lesson = self.lessons[row]
        lang = page_language()
        parts = lesson.page[lang]
        headings = {"notes": tr("What the notes say"), "press": tr("What to press"), "look": tr("What to look at"),
                    "expect": tr("What should happen"), "question": tr("A question to think about")}
        body = "".join(f"<h4>{html.escape(headings[part])}</h4><p>{html.escape(parts[part])}</p>" for part in headings)
        self.page.setHtml(f"<h3>{lesson.number}. {html.escape(lesson.text(lesson.title, lang))}</h3>"
                          f"<p><i>{html.escape(lesson.text(lesson.section, lang))}</i></p>{body}"
                          f"<h4>{html.escape(tr('The claim'))}</h4><p>{html.escape(lesson.text(lesson.claim, lang))}</p>")
        for button in self.step_buttons:
            self.steps_row.removeWidget(button)
            button.deleteLater()
        self.step_buttons = []
        for index, step in enumerate(lesson.steps):
            button = QPushButton(f"▶  {index + 1}. {step.label[lang]}")
            button.setToolTip(tr("Set the project to this step's settings (Edit ▸ Undo takes them back) and train."))
            button.clicked.connect(lambda _checked=False, step=step: self.train_step(step))
            self.steps_row.insertWidget(index, button)
            self.step_buttons.append(button)
        self.status.setText("")

    def train_step(self, step) -> None:
        """Asks the window to apply the step's project and train it."""
        if self.lesson is None:
            return
        try:
            project = self.lesson.project_for(step)
        except UserError as error:
            self.say(str(error))
            return
        self.step_requested.emit(project, tr("Lesson step: {step}", step=step.label[page_language()]))

    def check_claim(self) -> bool:
        if self.lesson is None or self.ready(tr("A lesson is checked when no run is training.")) is None:
            return False
        job = LessonCheckJob(self.lesson, parent=self)
        job.checked.connect(self._checked)
        self.launch(job, tr("Training the lesson's {count} steps…", count=len(self.lesson.steps)))
        return True

    def _checked(self, checks: list, held: bool) -> None:
        lines = [f"{'✓' if check_held else '✗'} {text}" for text, check_held in checks]
        verdict = tr("The claim held.") if held else tr("The claim did not hold.")
        self.say(verdict + " " + "; ".join(lines))
        self.run_added.emit()

    def set_running(self, running: bool) -> None:
        self.check_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        for button in self.step_buttons:
            button.setEnabled(not running)
        super().set_running(running)
