"""Bayesian hyperparameter search with Optuna: `SearchPlan`, `open_study`, `run_search`.

Optuna's TPE sampler is the Bayesian optimiser (it models which settings gave
good and bad values and proposes where good ones are likelier); a median
pruner ends a trial whose validation figure lags the median of earlier trials
at the same epoch, through `optuna_integration.KerasPruningCallback` inside
the runner's own training loop. Every trial trains through `run_training`
into its own run folder, so the history lists it.

Storage: by default an Optuna journal file in the runs folder
(``optuna-journal.log``), which needs no server and which several processes
on one machine may share; a ``postgresql://`` URL puts the study in
PostgreSQL for several machines. A trial records the host and process that
runs it, so reopening a study after a crash or ``kill -9`` marks that
machine's dead trials failed and goes on (a journal has no heartbeat).

Stop: one `StopRequest` is every trial's: set, it ends the running trial
after its current batch (the trial is pruned, keeping its curve), and the
Optuna callback run after each trial sees it and calls ``study.stop()``,
which Optuna allows only from inside the optimisation.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import os
import socket
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from models.errors import UserError
from models.experiments.sweep import PARAMETERS, SweepParam, apply_value, param_slug, parse_param
from models.network.spec import ACTIVATIONS, OPTIMIZERS, DenseLayer, Project
from models.text import Text

JOURNAL_FILE = "optuna-journal.log"
OBJECTIVES = ("auto", "val_loss", "val_metric", "kfold")
CATEGORICAL = {"activation": ACTIVATIONS, "optimizer": OPTIMIZERS}
MAX_TRIALS = 10_000
DATABASE_ATTEMPTS = 5
# What a study does with its value, as a sentence says it.
_DIRECTIONS = {"minimize": Text("minimizes"), "maximize": Text("maximizes")}


@dataclass(frozen=True)
class Dimension:
    """One setting searched: a numeric range (``low`` … ``high``, ``log`` for a log scale) or ``choices``."""

    name: str  # "units:1", "lr", "activation" …
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    choices: tuple = ()

    @property
    def param(self) -> SweepParam | None:
        return None if self.choices else parse_param(self.name)

    def describe(self) -> Text:
        if self.choices:
            return Text.of("{name} in {{{choices}}}", name=self.name, choices=", ".join(self.choices))
        return Text.of("{name} from {low} to {high} (log)" if self.log else "{name} from {low} to {high}",
                       name=self.name, low=f"{self.low:g}", high=f"{self.high:g}")


def parse_space(text: str) -> list[Dimension]:
    """``lr=1e-4..1e-1:log, units:1=8..256:log, dropout=0..0.5, activation=relu|tanh`` as dimensions
    (``low:high`` is taken for ``low..high`` too)."""
    dimensions = []
    for part in _split_space(text):
        name, equals, rest = part.partition("=")
        name, rest = name.strip().lower(), rest.strip()
        if not equals or not rest:
            raise UserError.of("'{part}' should read name=low..high (with :log for a log scale) or name=a|b|c.",
                               part=part)
        if name in CATEGORICAL:
            choices = tuple(choice.strip() for choice in rest.split("|") if choice.strip())
            unknown = [choice for choice in choices if choice not in CATEGORICAL[name]]
            if unknown or len(choices) < 2:
                raise UserError.of("{name} chooses among at least two of {categorical} (got {rest}).",
                                   name=name, categorical=", ".join(CATEGORICAL[name]), rest=rest)
            dimensions.append(Dimension(name, choices=choices))
            continue
        param = parse_param(name)
        if param.name == "train_share":
            raise UserError("train_share makes a learning curve (sweep it); a search keeps all the training rows.")
        log = rest.lower().endswith(":log")
        span = rest[:-4] if log else rest
        bounds = span.split("..") if ".." in span else span.split(":")
        try:
            low, high = float(bounds[0]), float(bounds[1])
        except (ValueError, IndexError):
            raise UserError.of("'{part}' should read {name}=low..high, with :log for a log scale.",
                               part=part, name=name) from None
        if len(bounds) != 2 or not low < high:
            raise UserError.of("'{part}' needs a low value below its high one ({name}=low..high[:log]).",
                               part=part, name=name)
        if log and low <= 0:
            raise UserError.of("a log scale needs values above 0 ('{part}').", part=part)
        from models.experiments.sweep import check_value

        if PARAMETERS[param.name][1]:  # a width, a depth: the whole numbers within
            if math.ceil(low) > math.floor(high):
                raise UserError.of("'{part}' holds no whole number: {label} is a whole number.",
                                   part=part, label=param.label)
            low, high = float(math.ceil(low)), float(math.floor(high))
        check_value(param, low)
        check_value(param, high)
        dimensions.append(Dimension(param.label, low, high, log))
    if not dimensions:
        raise UserError("say what to search: --space lr=1e-4..1e-1:log,units:1=8..256:log …")
    names = [dimension.name for dimension in dimensions]
    if len(set(names)) != len(names):
        raise UserError("a setting is named twice in the search space.")
    return dimensions


def _split_space(text: str) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def suggest(trial, dimensions: list[Dimension]) -> dict:
    """The trial's values: Optuna's TPE proposes each dimension's (a whole number where the setting is one)."""
    return {name: _suggest(trial, name, distribution) for name, distribution in distributions(dimensions).items()}


def _suggest(trial, name: str, distribution):
    from optuna.distributions import CategoricalDistribution, IntDistribution

    if isinstance(distribution, CategoricalDistribution):
        return trial.suggest_categorical(name, list(distribution.choices))
    if isinstance(distribution, IntDistribution):
        return trial.suggest_int(name, distribution.low, distribution.high, log=distribution.log)
    return trial.suggest_float(name, distribution.low, distribution.high, log=distribution.log)


def apply_params(project: Project, params: dict) -> Project:
    """``project`` with a trial's values (the keys of `suggest`) set."""
    project = project.copy()
    # The depth first: a width of layer N then finds its layer.
    for name, value in sorted(params.items(), key=lambda item: item[0] != "layers"):
        if name == "activation":
            for layer in project.layers:
                if isinstance(layer, DenseLayer):
                    layer.activation = value
        elif name == "optimizer":
            project.optimizer.name = value
        else:
            project = apply_value(project, parse_param(name), float(value))
    return project


@dataclass
class SearchPlan:
    """What to search, how to score it, and for how long.

    Args:
        dimensions: the settings and their ranges.
        objective: ``auto`` (the validation accuracy for classes, the validation loss for a
            regression), ``val_loss`` (minimised), ``val_metric`` (accuracy maximised, MAE minimised) or
            ``kfold`` (the mean validation loss of K-fold cross-validation, minimised; not pruned).
        trials: how many finished trials (complete or pruned) the study should reach: a study
            continued after a crash runs only those still missing.
        timeout_s: seconds at most, or `None`.
        folds: K for the ``kfold`` objective.
        study_name: the study, created or continued.
        storage: `None` for the journal file in the runs folder, or a ``postgresql://`` URL.
        seed: the sampler's seed.
    """

    dimensions: list[Dimension]
    objective: str = "auto"
    trials: int = 20
    timeout_s: float | None = None
    folds: int = 5
    study_name: str = ""
    storage: str | None = None
    seed: int = 0

    def check(self) -> SearchPlan:
        if self.objective not in OBJECTIVES:
            raise UserError.of("the objective is one of {objectives} (got {objective}).",
                               objectives=", ".join(OBJECTIVES), objective=self.objective)
        if not 1 <= self.trials <= MAX_TRIALS:
            raise UserError.of("--trials takes 1 to {max_trials} (got {trials}).",
                               max_trials=f"{MAX_TRIALS:,}", trials=self.trials)
        if self.timeout_s is not None and not self.timeout_s > 0:
            raise UserError("--timeout is a number of seconds above 0.")
        if self.storage and not self.storage.startswith(("postgresql://", "postgresql+psycopg://")):
            raise UserError("--storage is a postgresql:// URL (or leave it out for the journal file in the runs "
                            "folder).")
        return self


def resolved_objective(objective: str, metric: str) -> str:
    """``auto`` as the task wants it: the validation accuracy for classes, the validation loss otherwise."""
    if objective != "auto":
        return objective
    return "val_metric" if metric == "accuracy" else "val_loss"


def check_space(project: Project, dimensions: list[Dimension]) -> None:
    """Raises `UserError` unless every end of every range (and every choice) makes a project that can train,
    so that no trial fails for a reason known before the first."""
    for dimension in dimensions:
        ends = dimension.choices or (dimension.low, dimension.high)
        depths = [dimension.low for dimension in dimensions if dimension.name == "layers"]
        for value in ends:
            params = {dimension.name: value if dimension.choices else _whole_if(dimension, value)}
            if depths and dimension.name != "layers":
                params["layers"] = math.ceil(depths[0])  # the shallowest network a trial may draw
            try:
                apply_params(project, params).validate()
            except UserError as error:
                if dimension.choices:
                    raise UserError.of("{dimension}: {error}", dimension=dimension.describe(), error=error) from None
                raise UserError.of("{dimension}: at {value} {error}", dimension=dimension.describe(), value=f"{value:g}",
                                   error=error) from None


def _whole_if(dimension: Dimension, value: float):
    return round(value) if PARAMETERS[dimension.param.name][1] else value


def distributions(dimensions: list[Dimension]) -> dict:
    """The Optuna distribution of each dimension, as `suggest` asks for it."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    found = {}
    for dimension in dimensions:
        if dimension.choices:
            found[dimension.name] = CategoricalDistribution(list(dimension.choices))
        elif PARAMETERS[dimension.param.name][1]:
            found[dimension.name] = IntDistribution(math.ceil(dimension.low), math.floor(dimension.high),
                                                    log=dimension.log)
        else:
            found[dimension.name] = FloatDistribution(dimension.low, dimension.high, log=dimension.log)
    return found


def check_same_study(study, plan: SearchPlan, metric: str) -> None:
    """Raises `UserError` when a continued study searched other ranges or scored another objective: its
    trials would not compare with the new ones."""
    attrs = study.user_attrs
    objective = resolved_objective(plan.objective, metric)
    if attrs.get("objective", objective) != objective or attrs.get("metric", metric) != metric:
        raise UserError.of("the study {study_name} scored {objective} ({metric}), not {objective2} ({metric2}): "
                           "choose another --study name.",
                           study_name=plan.study_name, objective=attrs.get("objective"), metric=attrs.get("metric"), objective2=objective, metric2=metric)
    wanted = distributions(plan.dimensions)
    for trial in study.get_trials(deepcopy=False):
        for name, distribution in trial.distributions.items():
            if name in wanted and wanted[name] != distribution:
                raise UserError.of("the study {study_name} searched {name} over other values ({distribution}): give "
                                   "it the same ranges, or choose another --study name.",
                                   study_name=plan.study_name, name=name, distribution=distribution)
    if not attrs:
        study.set_user_attr("objective", objective)
        study.set_user_attr("metric", metric)


def direction_of(objective: str, metric: str) -> str:
    """Whether the objective is minimised or maximised."""
    return "maximize" if resolved_objective(objective, metric) == "val_metric" and metric == "accuracy" \
        else "minimize"


def storage_for(plan: SearchPlan, folder: Path):
    """The Optuna storage: the journal file in the search's folder, or the database at ``plan.storage``."""
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    if plan.storage:
        # Workers started together on a new database each create Optuna's tables, and all but one meet
        # the other's ("duplicate key value violates unique constraint"): the tables are there a moment
        # later, so a refused attempt is tried again.
        for attempt in range(DATABASE_ATTEMPTS):
            try:
                with warnings.catch_warnings():  # the heartbeat is "experimental" in Optuna 5, and says so
                    warnings.simplefilter("ignore")
                    return optuna.storages.RDBStorage(plan.storage, heartbeat_interval=60, grace_period=180)
            except Exception as error:  # a database that is not there, refused, or not PostgreSQL
                if attempt + 1 < DATABASE_ATTEMPTS and "unique constraint" in str(error).lower() \
                        or attempt + 1 < DATABASE_ATTEMPTS and "already exists" in str(error).lower():
                    time.sleep(0.5 * (attempt + 1))
                    continue
                first = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
                raise UserError.of("cannot open the study database {storage} ({first}).",
                                   storage=plan.storage, first=first) from None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = str(folder / JOURNAL_FILE)
        return optuna.storages.JournalStorage(JournalFileBackend(path, lock_obj=JournalFileOpenLock(path)))
    except OSError as error:
        raise UserError.of("cannot keep the study's journal in {folder}: {reason}.",
                           folder=folder, reason=error.strerror or error) from None
    except Exception as error:  # a journal this program did not write, or one cut short mid-line
        raise UserError.of("{path} is not a readable Optuna journal ({kind}): choose another --out folder.",
                           path=folder / JOURNAL_FILE, kind=type(error).__name__) from None


def open_study(plan: SearchPlan, folder: Path, metric: str):
    """Creates the study or continues it (its journal in ``folder`` unless ``plan.storage`` names a
    database); this machine's trials left running by a process that is gone are failed."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = storage_for(plan, folder)
    direction = direction_of(plan.objective, metric)
    try:
        study = optuna.create_study(
            study_name=plan.study_name, storage=storage, load_if_exists=True, direction=direction,
            sampler=optuna.samplers.TPESampler(seed=plan.seed),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2))
    except json.JSONDecodeError:  # a journal cut short, or not a journal at all
        raise UserError.of("{path} is not a readable Optuna journal: choose another --out folder.",
                           path=folder / JOURNAL_FILE) from None
    except ValueError as error:  # an existing study with another direction, say
        raise UserError.of("cannot continue the study {study_name}: {error}", study_name=plan.study_name, error=error) from None
    if study.direction.name.lower() != direction:
        raise UserError.of("the study {study_name} {study_direction} its value; this objective {direction}: choose "
                           "another --study name.", study_name=plan.study_name,
                           study_direction=_DIRECTIONS[study.direction.name.lower()], direction=_DIRECTIONS[direction])
    fail_dead_trials(study)
    check_same_study(study, plan, metric)
    return study


def fail_dead_trials(study) -> list[int]:
    """Marks failed the trials left running by a process of this machine that is gone (a crash, ``kill -9``)."""
    from optuna.trial import TrialState

    from models.training.run_folder import process_is_alive

    failed = []
    host = socket.gethostname()
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        attrs = trial.user_attrs
        if attrs.get("host") == host and isinstance(attrs.get("pid"), int) and not process_is_alive(attrs["pid"]):
            study.tell(trial.number, state=TrialState.FAIL)
            failed.append(trial.number)
    return failed


def pruning_callback(trial, monitor: str):
    """``optuna_integration.KerasPruningCallback`` whose verdict ends the run after that epoch (rather than
    raising through the runner), so the pruned trial's run folder is written whole, curve and model."""
    import optuna
    from optuna_integration import KerasPruningCallback

    class EndingPruningCallback(KerasPruningCallback):
        pruned_at: int | None = None

        def on_epoch_end(self, epoch, logs=None):
            try:
                super().on_epoch_end(epoch, logs)
            except optuna.TrialPruned:
                self.pruned_at = epoch + 1
                self.model.stop_training = True

    return EndingPruningCallback(trial, monitor)


@dataclass
class TrialOutcome:
    """A finished trial as the search reports it."""

    number: int
    params: dict
    value: float | None
    state: str  # COMPLETE, PRUNED, FAIL
    seconds: float
    run_dir: str = ""
    curve: list[float] = field(default_factory=list)  # the objective's figure after each epoch


def objective_key(objective: str, metric: str) -> str:
    """The history figure a trial reports each epoch: ``val_loss``, or ``val_accuracy`` / ``val_mae``."""
    return f"val_{metric}" if objective == "val_metric" else "val_loss"


def run_search(project: Project, plan: SearchPlan, dataset, *, runs_root: Path, out: Path, metric: str,
               stop=None, on_epoch=None, on_trial=None, listener_for=None) -> tuple:
    """Runs trials until the study has ``plan.trials`` finished ones; returns ``(study, [TrialOutcome of
    this session])``. Several processes may run it at once on one study: each takes the next trial.

    Args:
        runs_root: where each trial's run folder goes.
        out: the search's folder: ``search.json`` (rewritten after each trial) and, unless
            ``plan.storage`` names a database, the study's journal.
        metric: the task's metric (``accuracy`` or ``mae``), for the objective's name and direction.
        stop: a `StopRequest`: set, the running trial ends (pruned) and no other starts.
        on_epoch: ``f(trial_number, epoch, value)`` after each epoch of a trial (a live curve).
        on_trial: ``f(TrialOutcome)`` after each trial.
        listener_for: ``f(trial_number) -> TrainingListener`` for each trial's run (a progress bar).
    """
    import optuna

    from models.training.reports import StopRequest, TrainingListener
    from models.training.run_folder import STOPPED as FOLDER_STOPPED
    from models.training.run_folder import RunFolder
    from models.training.runner import STOPPED, TrainingFailed, run_training

    plan = dataclasses.replace(plan.check(), objective=resolved_objective(plan.objective, metric))
    if plan.objective == "val_metric" and project.training.validation_fraction == 0:
        raise UserError("the validation figures need a validation fraction above 0.")
    if plan.objective == "val_loss" and project.training.validation_fraction == 0:
        raise UserError("the validation loss needs a validation fraction above 0 (or use --objective kfold).")
    check_space(project, plan.dimensions)
    stop = stop or StopRequest()
    study = open_study(plan, out, metric)
    key = objective_key(plan.objective, metric)
    outcomes: list[TrialOutcome] = []
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")

    def objective(trial):
        trial.set_user_attr("host", socket.gethostname())
        trial.set_user_attr("pid", os.getpid())
        params = suggest(trial, plan.dimensions)
        changed = apply_params(project, params)
        changed.validate()
        started = time.perf_counter()
        if plan.objective == "kfold":
            value = _kfold_value(changed, plan, dataset, stop)
            outcomes.append(TrialOutcome(trial.number, params, value, "COMPLETE", time.perf_counter() - started))
            return value
        pruning = pruning_callback(trial, key)
        curve: list[float] = []
        listener = _CurveListener(listener_for(trial.number) if listener_for is not None else TrainingListener(),
                                  key, curve, lambda epoch, value: on_epoch and on_epoch(trial.number, epoch, value))
        folder = RunFolder.claim_new(runs_root, f"{stamp}-{changed.dataset.name}-search-{trial.number}")
        folder.start(changed)
        trial.set_user_attr("run_dir", str(folder.path))

        def outcome(state, value=None):
            outcomes.append(TrialOutcome(trial.number, params, value, state, time.perf_counter() - started,
                                         str(folder.path), list(curve)))

        try:
            result = run_training(changed, listener=listener, stop=stop, dataset=dataset, run_dir=folder,
                                  callbacks=(pruning,))
        except TrainingFailed:
            outcome("FAIL")
            raise
        if pruning.pruned_at is not None or (result.reason == STOPPED and curve):
            why = (f"pruned by the median pruner after epoch {pruning.pruned_at}" if pruning.pruned_at
                   else "pruned: the search was stopped")
            folder.finish(FOLDER_STOPPED, "pruned", why)
            outcome("PRUNED", curve[-1] if curve else None)
            raise optuna.TrialPruned(why)
        history = result.history.get(key) or []
        value = float(history[-1]) if history else math.nan
        if not math.isfinite(value):  # the loss became NaN: Optuna fails a trial whose value is NaN
            outcome("FAIL")
            return math.nan
        outcome("COMPLETE", value)
        return value

    def after_trial(study, frozen):
        write_search_json(out, study, plan, metric)
        mine = next((outcome for outcome in reversed(outcomes) if outcome.number == frozen.number), None)
        if mine is None:  # it failed before training (its folder, say): what the study knows of it
            seconds = (frozen.datetime_complete - frozen.datetime_start).total_seconds() \
                if frozen.datetime_complete and frozen.datetime_start else 0.0
            mine = TrialOutcome(frozen.number, dict(frozen.params), frozen.value, frozen.state.name, seconds,
                                frozen.user_attrs.get("run_dir", ""))
            outcomes.append(mine)
        if on_trial is not None:
            on_trial(mine)
        if stop.is_set():
            study.stop()  # only here, inside the optimisation, does Optuna allow it

    missing = plan.trials - len(finished_trials(study))
    if stop.is_set() or missing <= 0:
        write_search_json(out, study, plan, metric)
        return study, outcomes
    # The study's own count ends it, so that another process's trials count too; failures (which
    # do not count) are bounded by this process's own limit.
    enough = optuna.study.MaxTrialsCallback(plan.trials, states=finished_states())
    study.optimize(objective, n_trials=2 * missing + 3, timeout=plan.timeout_s, callbacks=[enough, after_trial],
                   catch=(TrainingFailed, UserError), gc_after_trial=False)
    return study, outcomes


def finished_states() -> tuple:
    """The trials that count towards a study's number: complete and pruned (a failed one, a crash
    say, is run again)."""
    from optuna.trial import TrialState

    return TrialState.COMPLETE, TrialState.PRUNED


def finished_trials(study) -> list:
    return study.get_trials(deepcopy=False, states=finished_states())


def write_search_json(folder: Path, study, plan: SearchPlan, metric: str) -> None:
    """``search.json``: the study, its direction and objective, every trial, and the best."""
    from optuna.trial import TrialState

    from models.files import write_json_atomic

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    best = None
    if complete:
        trial = study.best_trial
        best = {"number": trial.number, "params": trial.params, "value": trial.value}
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder / "search.json", {
        "study": study.study_name, "direction": study.direction.name.lower(),
        "objective": resolved_objective(plan.objective, metric), "metric": metric,
        "trials": [{"number": trial.number, "params": trial.params, "value": trial.value,
                    "state": trial.state.name} for trial in study.get_trials(deepcopy=False)],
        "best": best})


class _CurveListener:
    """Hands every report on to ``inner``, keeping the objective's figure after each epoch in ``curve``."""

    def __init__(self, inner, key: str, curve: list, on_epoch):
        self.inner, self.key, self.curve, self.on_epoch = inner, key, curve, on_epoch

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def on_epoch_ended(self, result) -> None:
        value = result.logs.get(self.key)
        if value is not None and math.isfinite(value):
            self.curve.append(float(value))
            self.on_epoch(result.epoch, float(value))
        self.inner.on_epoch_ended(result)


def _kfold_value(project: Project, plan: SearchPlan, dataset, stop) -> float:
    from models.training.crossval import run_cross_validation

    result = run_cross_validation(project, plan.folds, stop=stop, dataset=dataset)
    value = result.mean("loss")
    if not result.complete or not math.isfinite(value):
        import optuna

        raise optuna.TrialPruned("cross-validation did not finish")
    return value


def default_study_name(project: Project, dimensions: list[Dimension]) -> str:
    """``spiral-lr-units1``: the data set and the settings searched."""
    names = [dimension.name if dimension.choices else param_slug(dimension.param) for dimension in dimensions]
    return "-".join([project.dataset.name, *names])


def trial_rows(study) -> list[dict]:
    """Every trial of the study as plain data: number, params, value, state, seconds, run folder."""
    rows = []
    for trial in study.get_trials(deepcopy=False):
        seconds = (trial.datetime_complete - trial.datetime_start).total_seconds() \
            if trial.datetime_complete and trial.datetime_start else None
        rows.append({"number": trial.number, "params": dict(trial.params), "value": trial.value,
                     "state": trial.state.name, "seconds": seconds, "run_dir": trial.user_attrs.get("run_dir", ""),
                     "curve": [trial.intermediate_values[step] for step in sorted(trial.intermediate_values)]})
    return rows


def importances(study) -> dict[str, float]:
    """Each searched setting's share of the objective's variation (Optuna's default, PED-ANOVA);
    empty with fewer than two completed trials, where no share means anything."""
    import optuna
    from optuna.trial import TrialState

    if len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))) < 2:
        return {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dict(optuna.importance.get_param_importances(study))


def best_so_far(rows: list[dict], direction: str) -> list[float | None]:
    """The best completed value up to each trial (the optimisation history's line)."""
    best, line = None, []
    for row in rows:
        value = row["value"] if row["state"] == "COMPLETE" else None
        if value is not None and math.isfinite(value):
            better = best is None or (value > best if direction == "maximize" else value < best)
            best = value if better else best
        line.append(best)
    return line
