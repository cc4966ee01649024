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
``epochs``, ``samples`` and the optimizer's ``momentum``, ``nesterov``,
``clipnorm``, ``clipvalue`` and ``rho``. A step may also sweep a setting, run
K-fold cross-validation or search (see `Step`). The files are
untrusted: a faulty one is a sentence naming it, and the others still load.
"""

from __future__ import annotations

import json
import math
import operator
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.errors import UserError
from models.network.spec import (
    BatchNormLayer,
    DenseLayer,
    Project,
    project_from_dict,
    project_to_dict,
)
from models.text import Text

LESSONS_DIR = Path(__file__).resolve().parents[1] / "resources" / "lessons"
FORMAT = "keras-trainer-lesson"
LANGUAGES = ("en", "zh_CN")
PAGE_PARTS = ("notes", "press", "look", "expect", "question")
OPERATORS = {"<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge}
MAX_LESSON_BYTES = 200_000
OPTIMIZER_SETTINGS = ("momentum", "nesterov", "clipnorm", "clipvalue", "rho")
SEARCH_OBJECTIVES = ("auto", "val_loss", "val_metric", "kfold")


class StepRun:
    """What one step produced, and what its figures are read from."""

    def __init__(self, project: Project, result, dataset=None):
        self.project, self.result, self._dataset = project, result, dataset

    @property
    def dataset(self):
        if self._dataset is None:
            from datasets.registry import load_dataset

            self._dataset = load_dataset(self.project.dataset)
        return self._dataset


def step_run_of(project: Project, result, dataset=None) -> StepRun:
    """What a step produced (a `RunResult`, a `CrossValidationResult` …), for `figure_of` and `readout_lines`."""
    return StepRun(project, result, dataset)


def _run_figure(step_run: StepRun, name: str) -> float:
    """One of `FIGURES` from a step that trained one run (`RunResult`)."""
    result = step_run.result
    history, metric = result.history, result.metric
    key = {"loss": "loss", "val_loss": "val_loss", "min_val_loss": "val_loss", "metric": metric,
           "val_metric": f"val_{metric}"}.get(name)
    if key is not None and not history.get(key):
        raise UserError.of("the run has no {figure}: it trained no epoch, or had no validation rows.",
                           figure=figure_title(name, metric))
    if name in ("loss", "val_loss"):  # a run whose loss became NaN diverged: its loss counts as infinite
        value = float(history[name][-1])
        return value if math.isfinite(value) else math.inf
    if name == "min_val_loss":
        return float(np.nanmin(history["val_loss"]))
    if key is not None:
        return float(history[key][-1])
    if name == "test_metric":
        return float(result.test_metrics.get(metric, math.nan))
    if name == "test_loss":
        return float(result.test_metrics.get("loss", math.nan))
    if name == "epochs_run":
        return float(result.epochs_run)
    if name in ("closed_form_gap", "probability_sum_error"):
        return _model_figure(step_run, name)
    first_reading = name.endswith("_start")
    readings = result.instruments[0 if first_reading else -1].layers if result.instruments else []
    if name in ("gradient_ratio", "gradient_ratio_start"):  # the first Dense layer's gradient norm over the last's
        last = readings[-1].gradient_norm if readings else 0.0
        return readings[0].gradient_norm / last if last else math.nan  # a dead network has no ratio
    if name == "signal_ratio_start":  # the last hidden layer's output spread over the first's, before training
        hidden = readings[:-1]
        return hidden[-1].output_std / hidden[0].output_std if len(hidden) > 1 and hidden[0].output_std else math.nan
    if name in ("first_layer_near_zero", "first_layer_tiny_share"):
        if not readings:
            return math.nan
        if name == "first_layer_near_zero":  # the share of the first kernel's entries near 0
            return readings[0].near_zero_fraction
        kernel = np.abs(np.asarray(readings[0].kernel))  # entries under 1 % of the largest: sparsity
        return float(np.mean(kernel < 0.01 * kernel.max())) if kernel.size and kernel.max() > 0 else math.nan
    raise UserError.of("a run has no figure named {name}.", name=name)


def _model_figure(step_run: StepRun, name: str) -> float:
    """Figures read from the trained model on the step's data."""
    result, dataset = step_run.result, step_run.dataset
    if name == "probability_sum_error":  # how far each test row's class probabilities are from adding up to 1
        probabilities = np.asarray(result.model.predict(dataset.x_test, verbose=0), dtype=np.float64)
        return float(np.max(np.abs(probabilities.sum(axis=1) - 1.0)))
    trained, closed = linear_solutions(step_run)
    return float(np.max(np.abs(trained - closed)))


def linear_solutions(step_run: StepRun) -> tuple[np.ndarray, np.ndarray]:
    """``(w₁ … wₙ, b)`` of a trained network with no hidden layer, and least squares' closed form
    ``(XᵀX)⁻¹Xᵀy`` on the same training rows (the form D2L derives for linear regression).

    The trained network is read as a function, by fitting a plane to its predictions, so the
    figures are in the data's own units whatever scaling the model does inside.
    """
    result, dataset = step_run.result, step_run.dataset
    rows = result.fit_rows if result.fit_rows is not None else np.arange(len(dataset.x_train))
    x = np.asarray(dataset.x_train[rows], dtype=np.float64)
    design = np.column_stack([x, np.ones(len(x))])
    predicted = np.asarray(result.model.predict(dataset.x_train[rows], verbose=0), dtype=np.float64).reshape(-1)
    trained = np.linalg.lstsq(design, predicted, rcond=None)[0]
    closed = np.linalg.lstsq(design, np.asarray(dataset.y_train[rows], dtype=np.float64).reshape(-1), rcond=None)[0]
    return trained, closed


def _crossval_figure(outcome, name: str) -> float:
    """Figures of a K-fold step (`CrossValidationResult`): how much the folds' scores differ."""
    scores = [fold.scores.get(outcome.metric, math.nan) for fold in outcome.results]
    if name == "fold_spread":  # the best fold's score minus the worst's
        return float(np.max(scores) - np.min(scores)) if scores else math.nan
    if name == "fold_mean":
        return float(np.mean(scores)) if scores else math.nan
    if name == "fold_std":
        return outcome.std(outcome.metric)
    raise UserError.of("a K-fold step has no figure named {name}.", name=name)


def figure_of(step_run: StepRun, name: str) -> float:
    """One of `FIGURES` from what a step produced."""
    from models.training.crossval import CrossValidationResult

    if isinstance(step_run.result, CrossValidationResult):
        return _crossval_figure(step_run.result, name)
    if isinstance(step_run.result, SearchStepResult):
        return step_run.result.figure(name)
    return _run_figure(step_run, name)


FIGURES = ("loss", "val_loss", "min_val_loss", "metric", "val_metric", "test_metric", "test_loss", "epochs_run",
           "gradient_ratio", "gradient_ratio_start", "signal_ratio_start", "first_layer_near_zero",
           "first_layer_tiny_share", "closed_form_gap", "probability_sum_error", "fold_spread", "fold_mean",
           "fold_std", "best_val_metric", "best_val_loss", "trials_pruned")


FIGURE_TITLES = {  # a figure's name as a reader says it; (for accuracy, for MAE) where it is the task's metric
    "loss": "training loss", "val_loss": "validation loss", "min_val_loss": "lowest validation loss",
    "metric": ("training accuracy", "training MAE"), "val_metric": ("validation accuracy", "validation MAE"),
    "test_metric": ("test accuracy", "test MAE"), "test_loss": "test loss", "epochs_run": "epochs run",
    "gradient_ratio": "first/last layer gradient ratio",
    "gradient_ratio_start": "first/last layer gradient ratio before training",
    "signal_ratio_start": "last/first hidden layer output spread before training",
    "first_layer_near_zero": "share of first-layer weights near 0",
    "first_layer_tiny_share": "share of first-layer weights under 1 % of the largest",
    "closed_form_gap": "largest gap to the closed-form w and b",
    "probability_sum_error": "largest distance of a row's probabilities' sum from 1",
    "fold_spread": ("best fold's accuracy minus the worst's", "worst fold's MAE minus the best's"),
    "fold_mean": ("mean accuracy over the folds", "mean MAE over the folds"),
    "fold_std": ("standard deviation of the folds' accuracy", "standard deviation of the folds' MAE"),
    "best_val_metric": ("best trial's validation accuracy", "best trial's validation MAE"),
    "best_val_loss": "best trial's validation loss", "trials_pruned": "trials pruned",
}


def figure_title(name: str, metric: str = "accuracy") -> Text:
    """A figure's name as a reader says it, e.g. "validation loss" for ``val_loss``."""
    title = FIGURE_TITLES[name]
    return Text.of(title if isinstance(title, str) else title[metric != "accuracy"])


def _metric_of(step_run: StepRun) -> str:
    return getattr(step_run.result, "metric", "accuracy") or "accuracy"


@dataclass
class SearchStepResult:
    """What a search step found: its trials' outcomes and the best value."""

    direction: str
    outcomes: list  # `TrialOutcome`s
    objective: str
    metric: str = "accuracy"

    def figure(self, name: str) -> float:
        values = [outcome.value for outcome in self.outcomes
                  if outcome.state == "COMPLETE" and outcome.value is not None and math.isfinite(outcome.value)]
        if name == "trials_pruned":
            return float(sum(outcome.state == "PRUNED" for outcome in self.outcomes))
        if name in ("best_val_metric", "best_val_loss"):
            wanted = "val_metric" if name == "best_val_metric" else "val_loss"
            if self.objective != wanted and not (self.objective == "kfold" and wanted == "val_loss"):
                raise UserError.of("the search scored its trials by {objective}, so it has no {figure}.",
                                   objective=self.objective, figure=figure_title(name, self.metric))
            if not values:
                return math.nan
            return float(max(values) if self.direction == "maximize" else min(values))
        raise UserError.of("a search step has no figure named {name}.", name=name)


STEP_KINDS = ("run", "sweep", "kfold", "search")


@dataclass
class Step:
    """One step: settings changed from the lesson's project, and what to do with them.

    ``kind`` is ``run`` (train once), ``sweep`` (``{"param": "lr", "values": [...]}``: one run per value,
    each named ``ID@VALUE`` in the checks), ``kfold`` (``{"folds": K}``) or ``search`` (``{"space":
    "lr=1e-4..1:log", "trials": N, "objective": "val_metric"}``: a Bayesian search with Optuna).
    ``show`` names figures (and ``closed_form``) the lesson prints after the step.
    """

    id: str
    label: dict
    changes: dict
    kind: str = "run"
    details: dict = field(default_factory=dict)
    show: list = field(default_factory=list)

    def sweep_points(self) -> list[tuple[str, float]]:
        """``(check name, value)`` of each run of a sweep step."""
        return [(point_name(self.id, value), float(value)) for value in self.details.get("values", [])]


def point_name(step_id: str, value: float) -> str:
    return f"{step_id}@{float(value):g}"


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
        try:
            _apply_change(project, name, value, rest)
        except (TypeError, ValueError, OverflowError) as error:
            if isinstance(error, UserError):
                raise
            raise UserError.of("the setting {name} cannot be {value}.", name=name, value=repr(value)) from None
    try:
        project = apply_params(project, rest)
    except (TypeError, OverflowError) as error:
        raise UserError.of("the settings {names} hold a value of the wrong kind ({kind}).", names=", ".join(rest),
                           kind=type(error).__name__) from None
    project.check_values()
    return project


def _apply_change(project: Project, name: str, value, rest: dict) -> None:
    """One of a step's settings applied to ``project``; the ones `apply_params` knows go to ``rest``."""
    if name == "kernel_initializer":
        for layer in project.layers:
            if isinstance(layer, DenseLayer):
                layer.kernel_initializer = value
    elif name == "early_stopping":
        early = project.training.early_stopping
        early.enabled, early.patience, early.restore_best_weights = True, int(value), True
    elif name == "samples":
        project.dataset.samples = int(value)
    elif name in OPTIMIZER_SETTINGS:
        setattr(project.optimizer, name, type(getattr(project.optimizer, name))(value))
    elif name == "batch_norm" and value:  # a BatchNormalization layer after each Dense one that has none
        layers = []
        for index, layer in enumerate(project.layers):
            layers.append(layer)
            following = project.layers[index + 1] if index + 1 < len(project.layers) else None
            if isinstance(layer, DenseLayer) and not isinstance(following, BatchNormLayer):
                layers.append(BatchNormLayer())
        project.layers = layers
    elif name != "batch_norm":
        rest[name] = value


def _languages(value, what: str) -> dict:
    if not isinstance(value, dict) or not all(isinstance(value.get(language), str) and value.get(language)
                                              for language in LANGUAGES):
        raise UserError.of("{what} needs a text for each of {languages}.", what=what, languages=", ".join(LANGUAGES))
    return dict(value)


def lesson_from_dict(data, path: Path = Path()) -> Lesson:
    """A `Lesson` from a decoded file, or `UserError` naming what is wrong."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UserError.of("it is not a lesson file (its format should be {format}).", format=FORMAT)
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
            raise UserError.of("its {language} page needs {parts}.", language=language, parts=", ".join(PAGE_PARTS))
        pages[language] = {part: parts[part] for part in PAGE_PARTS}
    steps = [_step_from_dict(step, index) for index, step in enumerate(data.get("steps") or [], start=1)]
    if not steps:
        raise UserError("it has no steps.")
    claim = data.get("claim")
    if not isinstance(claim, dict) or not isinstance(claim.get("checks"), list) or not claim["checks"]:
        raise UserError("its claim needs a text and at least one check.")
    kinds = {}  # what each name a check may use stands for: a run, a K-fold step or a search step
    for step in steps:
        kinds.update({name: "run" for name, _ in step.sweep_points()} if step.kind == "sweep" else {step.id: step.kind})
    project = data.get("project", {})
    if not isinstance(project, dict):
        raise UserError("its project should be an object of settings.")
    lesson = Lesson(lesson_id, number, _languages(data.get("title"), Text.of("its title")),
                    _languages(data.get("section"), Text.of("its section")), pages, project, steps,
                    _languages(claim.get("text"), Text.of("its claim")), list(claim["checks"]), path)
    for step in steps:  # every step's project can train
        lesson.project_for(step).validate()
        if step.kind == "sweep":
            for _, value in step.sweep_points():
                apply_changes(lesson.project_for(step), {step.details["param"]: value}).validate()
        elif step.kind == "search":
            from models.experiments.search import check_space, parse_space

            check_space(lesson.project_for(step), parse_space(step.details["space"]))
    for check in lesson.checks:
        _check_shape(check, kinds)
    return lesson


def _step_from_dict(step, index: int) -> Step:
    if not isinstance(step, dict) or not isinstance(step.get("id"), str) or not step["id"] or not isinstance(
            step.get("changes", {}), dict):
        raise UserError.of("step {index} needs an id and a changes object.", index=index)
    kind = next((name for name in STEP_KINDS[1:] if name in step), "run")
    details = step.get(kind, {}) if kind != "run" else {}
    if kind == "sweep" and not (isinstance(details, dict) and isinstance(details.get("param"), str)
                                and isinstance(details.get("values"), list) and details["values"]
                                and all(isinstance(value, (int, float)) and not isinstance(value, bool)
                                        and math.isfinite(value) for value in details["values"])):
        raise UserError.of("step {step}'s sweep needs a param and a list of values.", step=step["id"])
    if kind == "sweep":
        from models.experiments.sweep import parse_param

        parse_param(details["param"])  # a sentence naming the settings a sweep can vary
    if kind == "kfold":
        if not isinstance(details, int) or isinstance(details, bool):
            raise UserError.of("step {step}'s kfold is a number of folds.", step=step["id"])
        details = {"folds": details}
    if kind == "search" and not (isinstance(details, dict) and isinstance(details.get("space"), str)
                                 and _whole(details.get("trials", 10), 1, 1000) and _whole(details.get("seed", 0), 0)
                                 and details.get("objective", "auto") in SEARCH_OBJECTIVES):
        raise UserError.of("step {step}'s search needs a space (as the search command's --space), 1 to 1000 trials, "
                           "a whole seed and an objective of {objectives}.", step=step["id"],
                           objectives=", ".join(SEARCH_OBJECTIVES))
    show = step.get("show", [])
    allowed = (*FIGURES_OF_KIND["run" if kind == "sweep" else kind], *(("closed_form",) if kind in ("run", "sweep") else ()))
    if not isinstance(show, list) or not all(isinstance(name, str) and name in allowed for name in show):
        raise UserError.of("step {step}'s show lists figures, each one of {figures}.", step=step["id"],
                           figures=", ".join(allowed))
    return Step(step["id"], _languages(step.get("label"), Text.of("step {step}'s label", step=step["id"])),
                dict(step.get("changes", {})), kind, dict(details), list(show))


FIGURES_OF_KIND = {
    "run": ("loss", "val_loss", "min_val_loss", "metric", "val_metric", "test_metric", "test_loss", "epochs_run",
            "gradient_ratio", "gradient_ratio_start", "signal_ratio_start", "first_layer_near_zero",
            "first_layer_tiny_share", "closed_form_gap", "probability_sum_error"),
    "kfold": ("fold_spread", "fold_mean", "fold_std"),
    "search": ("best_val_metric", "best_val_loss", "trials_pruned"),
}


def _names_a_figure(kinds: dict, step, figure) -> bool:
    """Whether ``step`` names a run, K-fold or search step of the lesson that has ``figure``."""
    return isinstance(step, str) and step in kinds and isinstance(figure, str) and figure in FIGURES_OF_KIND[kinds[step]]


def _whole(value, low: int, high: int | None = None) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value and (high is None or value <= high)


def _check_shape(check, kinds: dict) -> None:
    if not isinstance(check, dict):
        raise UserError("a check should be an object.")
    if "compare" in check:
        parts = check["compare"]
        shaped = isinstance(parts, list) and len(parts) in (4, 5)
        number = shaped and len(parts) == 4 and isinstance(parts[3], (int, float)) and not isinstance(parts[3], bool) \
            and math.isfinite(parts[3])
        other = shaped and len(parts) == 5 and _names_a_figure(kinds, parts[3], parts[4])
        if not ((number or other) and _names_a_figure(kinds, parts[0], parts[1])
                and isinstance(parts[2], str) and parts[2] in OPERATORS):
            raise UserError.of("a compare check reads [STEP, FIGURE, OP, STEP, FIGURE] or [STEP, FIGURE, OP, NUMBER] "
                               "with FIGURE one of {figures} and OP one of {operators} (got {parts}).",
                               figures=", ".join(FIGURES), operators=", ".join(OPERATORS), parts=parts)
        factor = check.get("factor", 1)
        if not isinstance(factor, (int, float)) or isinstance(factor, bool) or not math.isfinite(factor):
            raise UserError("a compare check's factor should be a number.")
    elif "fires" in check or "quiet" in check:
        parts = check.get("fires", check.get("quiet"))
        if not (isinstance(parts, list) and len(parts) == 2 and isinstance(parts[0], str)
                and kinds.get(parts[0]) == "run" and isinstance(parts[1], str)):
            raise UserError.of("a fires or quiet check reads [STEP, FINDING CODE] (got {parts}).", parts=parts)
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
        except UserError as error:
            problems.append(Text.of("{file}: {problem}", file=path.name, problem=error))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:
            problems.append(Text.of("{file}: cannot be read ({kind}).", file=path.name, kind=type(error).__name__))
        except (TypeError, ArithmeticError, KeyError, AttributeError) as error:  # a value of a kind no check expected
            problems.append(Text.of("{file}: a value in it is of the wrong kind ({kind}).", file=path.name,
                                    kind=type(error).__name__))
    ids = [lesson.id for lesson in lessons]
    for duplicate in sorted({lesson_id for lesson_id in ids if ids.count(lesson_id) > 1}):
        problems.append(Text.of("two lessons have the id {id}.", id=duplicate))
    return sorted(lessons, key=lambda lesson: (lesson.number, lesson.id)), problems


@dataclass
class CheckResult:
    text: str  # what was checked, with the numbers
    held: bool


@dataclass
class LessonOutcome:
    lesson: Lesson
    results: dict  # step id (a sweep's runs: ID@VALUE) → what it produced
    checks: list[CheckResult]
    readouts: dict = field(default_factory=dict)  # step id → the lines its ``show`` asks for

    @property
    def held(self) -> bool:
        return all(check.held for check in self.checks)


def run_step(lesson: Lesson, step: Step, *, run=None, stop=None, runs_root: Path | None = None,
             data_file: str = "") -> dict:
    """Trains one step headless; returns ``{check name: StepRun}`` (a sweep gives one per value).

    Args:
        run: ``run(project) -> RunResult`` for each run; `run_training` with the instruments and
            the diagnosis by default.
        runs_root: where a search step keeps its trials' folders (a temporary folder by default).
        data_file: a local copy of the lesson's data set (MNIST's ``mnist.npz`` offline, say).
    """
    from models.training.runner import run_training

    project = lesson.project_for(step)
    if data_file:
        project.dataset.data_file = str(data_file)
    run = run or (lambda changed: run_training(changed, instruments=True, diagnose=True, stop=stop))
    if step.kind == "sweep":
        produced = {}
        for name, value in step.sweep_points():
            changed = apply_changes(project, {step.details["param"]: value})
            produced[name] = StepRun(changed, run(changed))
        return produced
    if step.kind == "kfold":
        from models.training.crossval import run_cross_validation

        return {step.id: StepRun(project, run_cross_validation(project, step.details["folds"], stop=stop))}
    if step.kind == "search":
        return {step.id: StepRun(project, _search(project, step, stop, runs_root))}
    return {step.id: StepRun(project, run(project))}


def search_plan(step: Step):
    """The `SearchPlan` of a search step."""
    from models.experiments.search import SearchPlan, parse_space

    return SearchPlan(parse_space(step.details["space"]), objective=step.details.get("objective", "auto"),
                      trials=int(step.details.get("trials", 10)), seed=int(step.details.get("seed", 0)))


def _search(project: Project, step: Step, stop, runs_root: Path | None) -> SearchStepResult:
    from datasets.registry import load_dataset
    from models.experiments.search import direction_of, resolved_objective, run_search

    dataset = load_dataset(project.dataset)
    metric = "accuracy" if dataset.is_classification else "mae"
    plan = search_plan(step)
    with tempfile.TemporaryDirectory(prefix="lesson-search-") as folder:
        root = Path(runs_root) if runs_root is not None else Path(folder)
        _, outcomes = run_search(project, plan, dataset, runs_root=root, out=Path(folder) / "search", metric=metric,
                                 stop=stop)
    objective = resolved_objective(plan.objective, metric)
    return SearchStepResult(direction_of(objective, metric), outcomes, objective, metric)


def readout_lines(step: Step, produced: dict) -> list[str]:
    """The lines a step's ``show`` asks for, from what it produced."""
    lines = []
    for name, step_run in produced.items():
        for figure in step.show:
            if figure == "closed_form":
                trained, closed = linear_solutions(step_run)
                lines.append(Text.of("{step}: trained w = {w}, b = {b}", step=name, w=_numbers(trained[:-1]),
                                     b=f"{trained[-1]:.4f}"))
                lines.append(Text.of("{step}: closed form (XᵀX)⁻¹Xᵀy: w = {w}, b = {b}", step=name,
                                     w=_numbers(closed[:-1]), b=f"{closed[-1]:.4f}"))
            else:
                lines.append(Text.of("{step}: {figure} = {value}", step=name, figure=figure_title(figure, _metric_of(step_run)),
                                     value=f"{figure_of(step_run, figure):.4g}"))
    return lines


def _numbers(values) -> str:
    return "[" + ", ".join(f"{value:.4f}" for value in values) + "]"


def run_lesson(lesson: Lesson, *, run=None, stop=None, runs_root: Path | None = None,
               data_file: str = "") -> LessonOutcome:
    """Trains every step (with the instruments and the diagnosis) and checks the claim.

    Args:
        run: ``run(project) -> RunResult``; `run_training` with the instruments and diagnosis by default.
        stop: a `StopRequest` that ends the running step and skips the rest (`UserError` then: an
            unfinished lesson proves nothing).
        runs_root: where a search step's trials keep their folders.
        data_file: a local copy of the lesson's data set, for data sets that accept one.
    """
    produced, readouts = {}, {}
    for step in lesson.steps:
        if stop is not None and stop.is_set():
            raise UserError(Text.of("the lesson was stopped before its claim could be checked."))
        step_results = run_step(lesson, step, run=run, stop=stop, runs_root=runs_root, data_file=data_file)
        produced.update(step_results)
        if step.show:
            readouts[step.id] = readout_lines(step, step_results)
    if stop is not None and stop.is_set():
        raise UserError(Text.of("the lesson was stopped before its claim could be checked."))
    checks = [evaluate_check(check, produced) for check in lesson.checks]
    return LessonOutcome(lesson, {name: step_run.result for name, step_run in produced.items()}, checks, readouts)


def evaluate_check(check: dict, produced: dict) -> CheckResult:
    """One check on the steps' `StepRun`s (by check name)."""
    if "compare" in check:
        left_step, left_name, op, *right = check["compare"]
        factor = float(check.get("factor", 1))
        left = figure_of(produced[left_step], left_name)
        if len(right) == 1:
            right_value, right_text = float(right[0]), f"{float(right[0]):g}"
        else:
            right_value = figure_of(produced[right[0]], right[1])
            right_text = Text.of("{step}'s {figure} {value}", step=right[0],
                                 figure=figure_title(right[1], _metric_of(produced[right[0]])), value=f"{right_value:.4g}")
        held = not math.isnan(left) and not math.isnan(right_value) and OPERATORS[op](left, factor * right_value)
        scale = f"{factor:g} × " if factor != 1 else ""
        return CheckResult(Text.of("{step}: {figure} {value} {op} {scale}{other}", step=left_step,
                                   figure=figure_title(left_name, _metric_of(produced[left_step])),
                                   value=f"{left:.4g}", op=op, scale=scale, other=right_text), bool(held))
    fires = "fires" in check
    step, code = check["fires"] if fires else check["quiet"]
    report = produced[step].result.diagnosis
    found = report is not None and report.find(code) is not None
    template = "{step}: the diagnosis finds {finding}" if found else "{step}: the diagnosis does not find {finding}"
    return CheckResult(Text.of(template, step=step, finding=_finding_title(code)), found == fires)


def _finding_title(code: str):
    from models.diagnosis.findings import TITLES

    return Text.of(TITLES[code]) if code in TITLES else code
