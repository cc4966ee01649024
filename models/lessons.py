"""Lessons: the notes' claims as experiments the program runs and checks (`Lesson`, `load_lessons`, `run_lesson`).

A lesson is a data file in ``resources/lessons/`` (so a teacher can write
one without code): a starting project, steps that each change a few
settings and train, a page in English and Chinese, and a claim with checks
on the steps' results. A check compares figures of the trained runs:

- ``{"compare": [STEP, FIGURE, OP, STEP, FIGURE], "factor": F}``: STEP's
  FIGURE is OP (``<``, ``>``, ``<=``, ``>=``) F times the other's;
- ``{"fires": [STEP, CODE]}`` / ``{"quiet": [STEP, CODE]}``: the diagnosis
  finds (or does not find) CODE in that step's run.

FIGURE is one of `FIGURES`. Step settings are named as ``sweep --param``
names them (``lr``, ``units:1``, ``dropout`` …), plus ``activation``,
``optimizer``, ``kernel_initializer``, ``early_stopping`` (the patience, with
the best weights restored), ``batch_norm`` (one after each Dense layer),
``epochs`` and ``samples``. The files are
untrusted: a faulty one is a sentence naming it, and the others still load.
"""

from __future__ import annotations

import json
import math
import operator
from dataclasses import dataclass, field
from pathlib import Path

from models.errors import UserError
from models.network.spec import (
    BatchNormLayer,
    DenseLayer,
    Project,
    project_from_dict,
    project_to_dict,
)

LESSONS_DIR = Path(__file__).resolve().parents[1] / "resources" / "lessons"
FORMAT = "keras-trainer-lesson"
LANGUAGES = ("en", "zh_CN")
PAGE_PARTS = ("notes", "press", "look", "expect", "question")
OPERATORS = {"<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge}
MAX_LESSON_BYTES = 200_000


def _figure_of(result, name: str) -> float:
    """One of `FIGURES` from a `RunResult`."""
    history, metric = result.history, result.metric
    if name in ("loss", "val_loss"):
        return float(history[name][-1])
    if name == "min_val_loss":
        return float(min(history["val_loss"]))
    if name == "metric":
        return float(history[metric][-1])
    if name == "val_metric":
        return float(history[f"val_{metric}"][-1])
    if name == "test_metric":
        return float(result.test_metrics.get(metric, math.nan))
    if name == "test_loss":
        return float(result.test_metrics.get("loss", math.nan))
    readings = result.instruments[-1].layers if result.instruments else []
    if name == "gradient_ratio":  # the first Dense layer's gradient norm over the last one's
        last = readings[-1].gradient_norm if readings else 0.0
        return readings[0].gradient_norm / last if last else math.nan  # a dead network has no ratio
    if name == "first_layer_near_zero":  # the share of the first kernel's entries near 0 (sparsity)
        return readings[0].near_zero_fraction if readings else math.nan
    raise UserError(f"no figure named {name}.")


FIGURES = ("loss", "val_loss", "min_val_loss", "metric", "val_metric", "test_metric", "test_loss",
           "gradient_ratio", "first_layer_near_zero")


@dataclass
class Step:
    id: str
    label: dict
    changes: dict


@dataclass
class Lesson:
    """One lesson as its file describes it."""

    id: str
    number: int
    title: dict  # language → text
    section: dict
    page: dict  # language → {part: text}
    project: dict
    steps: list[Step]
    claim: dict  # language → the sentence the checks test
    checks: list[dict]
    path: Path = field(default=Path())

    def text(self, table: dict, language: str) -> str:
        return table.get(language) or table.get("en", "")

    def base_project(self) -> Project:
        """The lesson's starting project: the defaults, with the lesson's settings laid over them."""
        data = project_to_dict(Project(name=self.title.get("en", self.id)))
        for key, value in self.project.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        return project_from_dict(data)

    def project_for(self, step: Step) -> Project:
        return apply_changes(self.base_project(), step.changes)


def apply_changes(project: Project, changes: dict) -> Project:
    """``project`` with a step's settings changed (names as the module says)."""
    from models.experiments.search import apply_params

    project = project.copy()
    rest = {}
    for name, value in changes.items():
        if name == "kernel_initializer":
            for layer in project.layers:
                if isinstance(layer, DenseLayer):
                    layer.kernel_initializer = value
        elif name == "early_stopping":
            early = project.training.early_stopping
            early.enabled, early.patience, early.restore_best_weights = True, int(value), True
        elif name == "samples":
            project.dataset.samples = int(value)
        elif name == "batch_norm" and value:  # a BatchNormalization layer after each Dense one that has none
            layers = []
            for index, layer in enumerate(project.layers):
                layers.append(layer)
                following = project.layers[index + 1] if index + 1 < len(project.layers) else None
                if isinstance(layer, DenseLayer) and not isinstance(following, BatchNormLayer):
                    layers.append(BatchNormLayer())
            project.layers = layers
        else:
            rest[name] = value
    project = apply_params(project, rest)
    project.check_values()
    return project


def _languages(value, what: str) -> dict:
    if not isinstance(value, dict) or not all(isinstance(value.get(language), str) and value.get(language)
                                              for language in LANGUAGES):
        raise UserError(f"{what} needs a text for each of {', '.join(LANGUAGES)}.")
    return dict(value)


def lesson_from_dict(data, path: Path = Path()) -> Lesson:
    """A `Lesson` from a decoded file, or `UserError` naming what is wrong."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UserError(f"it is not a lesson file (its format should be {FORMAT}).")
    lesson_id = data.get("id")
    if not isinstance(lesson_id, str) or not lesson_id.isidentifier():
        raise UserError("its id should be a short name of letters, digits and _.")
    number = data.get("number")
    if not isinstance(number, int) or isinstance(number, bool):
        raise UserError("its number should be a whole number.")
    page = data.get("page")
    if not isinstance(page, dict):
        raise UserError("it has no page.")
    pages = {}
    for language in LANGUAGES:
        parts = page.get(language)
        if not isinstance(parts, dict) or not all(isinstance(parts.get(part), str) for part in PAGE_PARTS):
            raise UserError(f"its {language} page needs {', '.join(PAGE_PARTS)}.")
        pages[language] = {part: parts[part] for part in PAGE_PARTS}
    steps = []
    for index, step in enumerate(data.get("steps") or [], start=1):
        if not isinstance(step, dict) or not isinstance(step.get("id"), str) or not isinstance(
                step.get("changes", {}), dict):
            raise UserError(f"step {index} needs an id and a changes object.")
        steps.append(Step(step["id"], _languages(step.get("label"), f"step {step['id']}'s label"),
                          dict(step.get("changes", {}))))
    if not steps:
        raise UserError("it has no steps.")
    claim = data.get("claim")
    if not isinstance(claim, dict) or not isinstance(claim.get("checks"), list) or not claim["checks"]:
        raise UserError("its claim needs a text and at least one check.")
    step_ids = {step.id for step in steps}
    for check in claim["checks"]:
        _check_shape(check, step_ids)
    project = data.get("project", {})
    if not isinstance(project, dict):
        raise UserError("its project should be an object of settings.")
    lesson = Lesson(lesson_id, number, _languages(data.get("title"), "its title"),
                    _languages(data.get("section"), "its section"), pages, project, steps,
                    _languages(claim.get("text"), "its claim"), list(claim["checks"]), path)
    for step in steps:  # every step's project can train
        lesson.project_for(step).validate()
    return lesson


def _check_shape(check, step_ids: set) -> None:
    if not isinstance(check, dict):
        raise UserError("a check should be an object.")
    if "compare" in check:
        parts = check["compare"]
        if not (isinstance(parts, list) and len(parts) == 5 and parts[0] in step_ids and parts[3] in step_ids
                and parts[1] in FIGURES and parts[4] in FIGURES and parts[2] in OPERATORS):
            raise UserError(f"a compare check reads [STEP, FIGURE, OP, STEP, FIGURE] with FIGURE one of "
                            f"{', '.join(FIGURES)} and OP one of {', '.join(OPERATORS)} (got {parts}).")
        if not isinstance(check.get("factor", 1), (int, float)):
            raise UserError("a compare check's factor should be a number.")
    elif "fires" in check or "quiet" in check:
        parts = check.get("fires", check.get("quiet"))
        if not (isinstance(parts, list) and len(parts) == 2 and parts[0] in step_ids and isinstance(parts[1], str)):
            raise UserError(f"a fires or quiet check reads [STEP, FINDING CODE] (got {parts}).")
    else:
        raise UserError("a check is compare, fires or quiet.")


def load_lessons(folder: Path = LESSONS_DIR) -> tuple[list[Lesson], list[str]]:
    """Every lesson in ``folder`` by number, and a sentence for each file that is not a lesson."""
    lessons, problems = [], []
    for path in sorted(Path(folder).glob("*.json")):
        try:
            if path.stat().st_size > MAX_LESSON_BYTES:
                raise UserError("it is far too large to be a lesson.")
            data = json.loads(path.read_text(encoding="utf-8"))
            lessons.append(lesson_from_dict(data, path))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:
            problems.append(f"{path.name}: cannot be read ({type(error).__name__}).")
        except UserError as error:
            problems.append(f"{path.name}: {error}")
    ids = [lesson.id for lesson in lessons]
    for duplicate in sorted({lesson_id for lesson_id in ids if ids.count(lesson_id) > 1}):
        problems.append(f"two lessons have the id {duplicate}.")
    return sorted(lessons, key=lambda lesson: (lesson.number, lesson.id)), problems


@dataclass
class CheckResult:
    text: str  # what was checked, with the numbers
    held: bool


@dataclass
class LessonOutcome:
    lesson: Lesson
    results: dict  # step id → RunResult
    checks: list[CheckResult]

    @property
    def held(self) -> bool:
        return all(check.held for check in self.checks)


def run_lesson(lesson: Lesson, *, run=None, listener_for=None, stop=None) -> LessonOutcome:
    """Trains every step (with the instruments and the diagnosis) and checks the claim.

    Args:
        run: ``run(project) -> RunResult``; `run_training` with the instruments and diagnosis by default.
        listener_for: ``f(step) -> TrainingListener`` for the default run.
        stop: a `StopRequest` that ends the running step and skips the rest (`UserError` then: an
            unfinished lesson proves nothing).
    """
    from models.training.runner import run_training

    def default_run(project, step):
        listener = listener_for(step) if listener_for is not None else None
        return run_training(project, listener=listener, instruments=True, diagnose=True, stop=stop)

    results = {}
    for step in lesson.steps:
        if stop is not None and stop.is_set():
            raise UserError("the lesson was stopped before its claim could be checked.")
        project = lesson.project_for(step)
        results[step.id] = run(project) if run is not None else default_run(project, step)
    if stop is not None and stop.is_set():
        raise UserError("the lesson was stopped before its claim could be checked.")
    return LessonOutcome(lesson, results, [evaluate_check(check, results) for check in lesson.checks])


def evaluate_check(check: dict, results: dict) -> CheckResult:
    if "compare" in check:
        left_step, left_name, op, right_step, right_name = check["compare"]
        factor = float(check.get("factor", 1))
        left = _figure_of(results[left_step], left_name)
        right = _figure_of(results[right_step], right_name)
        held = math.isfinite(left) and math.isfinite(right) and OPERATORS[op](left, factor * right)
        scale = f"{factor:g} × " if factor != 1 else ""
        return CheckResult(f"{left_step} {left_name} {left:.4g} {op} {scale}{right_step} {right_name} {right:.4g}",
                           bool(held))
    fires = "fires" in check
    step, code = check["fires"] if fires else check["quiet"]
    report = results[step].diagnosis
    found = report is not None and report.find(code) is not None
    return CheckResult(f"{step}: the diagnosis {'finds' if found else 'does not find'} {code}", found == fires)
