"""K-fold cross-validation: K models, each scored on the part of the training rows it never saw.

The training rows are cut into K folds (stratified by class for a
classification). Each fold in turn is held out: a fresh model trains on the
other K − 1 folds, with the project's own settings (its validation fraction,
early stopping and seed included), and is then evaluated on the held-out fold.
The K scores, their mean and their spread estimate how well the network
generalises, with less luck in it than one validation split. The data set's
test rows are not touched.

One caveat, as in most tools: a CSV's numeric columns were standardised when
it was loaded, with statistics from all the training rows, held-out folds
included.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from datasets.base import Dataset
from datasets.inputs import restate_statistics
from datasets.registry import load_dataset, training_target_scale
from models.errors import UserError
from models.network.spec import Project
from models.training.runner import (
    NAN_LOSS,
    STOPPED,
    RunResult,
    StopRequest,
    TrainingListener,
    run_training,
)

MAX_FOLDS = 20


@dataclass
class FoldResult:
    """One fold's model, scored on the rows it did not train on."""

    fold: int  # 1-based
    folds: int
    train_rows: int
    held_out_rows: int
    scores: dict[str, float]  # Keras's names: loss, and accuracy or mae
    epochs_run: int
    reason: str


@dataclass
class CrossValidationResult:
    """Every fold's scores and what they add up to."""

    folds: int
    metric: str
    results: list[FoldResult] = field(default_factory=list)
    stopped: bool = False

    @property
    def complete(self) -> bool:
        return len(self.results) == self.folds and not self.stopped

    @property
    def diverged(self) -> list[int]:
        """The folds whose loss became NaN; their scores are NaN, and so are the means."""
        return [result.fold for result in self.results if result.reason == NAN_LOSS]

    def mean(self, name: str) -> float:
        """The mean over the folds done; NaN when a fold diverged, since its model is no estimate."""
        values = [result.scores[name] for result in self.results if name in result.scores]
        return float(np.mean(values)) if values else math.nan

    def std(self, name: str) -> float:
        """The sample standard deviation across folds (0 with one fold done)."""
        values = [result.scores[name] for result in self.results if name in result.scores]
        return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0

    def summary(self) -> dict:
        """Plain data for JSON: each score's mean, spread and per-fold values."""
        names = list(dict.fromkeys(name for result in self.results for name in result.scores))
        return {
            "folds": self.folds,
            "folds_done": len(self.results),
            "complete": self.complete,
            "diverged_folds": self.diverged,
            "scores": {
                name: {"mean": self.mean(name), "std": self.std(name),
                       "per_fold": [result.scores.get(name, math.nan) for result in self.results]}
                for name in names
            },
            "per_fold": [dataclasses.asdict(result) for result in self.results],
        }


class CrossValidationListener(TrainingListener):
    """A `TrainingListener` that also hears when each fold starts and ends.

    Each fold's own run reports through the usual methods; its "test"
    figures are the held-out fold's.
    """

    def on_fold_started(self, fold: int, folds: int) -> None:
        """Called before fold ``fold`` (1-based) of ``folds`` trains."""

    def on_fold_finished(self, result: FoldResult) -> None:
        """Called with each fold's scores."""


def check_fold_count(folds: int) -> None:
    """Raises `UserError` unless ``folds`` is from 2 to `MAX_FOLDS`."""
    if isinstance(folds, bool) or not isinstance(folds, int) or not 2 <= folds <= MAX_FOLDS:
        raise UserError.of("cross-validation needs between 2 and {max_folds} folds (got {folds}).",
                           max_folds=MAX_FOLDS, folds=folds)


def fold_indices(y: np.ndarray, folds: int, seed: int, stratify: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(train rows, held-out rows)`` for each of ``folds`` folds, from a seeded shuffle.

    Stratified when asked and every class has at least ``folds`` rows;
    otherwise a plain shuffled split.

    Raises:
        UserError: for fewer than 2 folds, more than `MAX_FOLDS`, or more folds than rows.
    """
    from models.scikit_learn import model_selection

    check_fold_count(folds)
    if folds > len(y):
        raise UserError.of("{rows} training rows cannot be cut into {folds} folds: use fewer folds.",
                           rows=len(y), folds=folds)
    rows = np.arange(len(y))
    if stratify and np.bincount(y.astype(np.int64)).min(initial=len(y)) >= folds:
        return list(model_selection.StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(rows, y))
    return list(model_selection.KFold(n_splits=folds, shuffle=True, random_state=seed).split(rows))


def fold_dataset(dataset: Dataset, train: np.ndarray, held_out: np.ndarray) -> Dataset:
    """The data set one fold trains on: its test rows are the held-out fold.

    The inputs' standardisation and a regression's target scale are measured
    again on the fold's own training rows, so the held-out rows do not shape
    the model's first or last layer.
    """
    target_scale = dataset.target_scale
    if target_scale is not None:
        target_scale = training_target_scale(dataset.y_train[train])
    x_train = dataset.x_train[train]
    return dataclasses.replace(
        dataset,
        x_train=x_train, y_train=dataset.y_train[train],
        x_test=dataset.x_train[held_out], y_test=dataset.y_train[held_out],
        target_scale=target_scale, inputs=restate_statistics(dataset.inputs, x_train),
        train_rows=None if dataset.train_rows is None else dataset.train_rows[train],
        test_rows=None if dataset.train_rows is None else dataset.train_rows[held_out],
    )


def run_cross_validation(
    project: Project,
    folds: int,
    listener: TrainingListener | None = None,
    stop: StopRequest | None = None,
    dataset: Dataset | None = None,
    **runner_options,
) -> CrossValidationResult:
    """Trains ``folds`` models and scores each on the fold it did not see.

    Args:
        project: what to train; each fold uses all its settings.
        folds: K, from 2 to `MAX_FOLDS`.
        listener: hears every fold's run; a `CrossValidationListener` also
            hears when folds start and finish.
        stop: ends the current fold as a stop ends a run, and skips the rest.
        dataset: the loaded data; loaded from ``project.dataset`` when `None`.
        runner_options: passed on to `run_training` (not ``run_dir``).

    Raises:
        UserError: for a bad fold count, or (as `TrainingFailed`) when a fold's training fails.
    """
    project.validate()
    listener = listener or TrainingListener()
    stop = stop or StopRequest()
    if dataset is None:
        dataset = load_dataset(project.dataset)
    parts = fold_indices(dataset.y_train, folds, project.training.seed, dataset.is_classification)
    outcome = CrossValidationResult(folds=folds, metric="accuracy" if dataset.is_classification else "mae")
    for number, (train, held_out) in enumerate(parts, start=1):
        if stop.is_set():
            outcome.stopped = True
            break
        _tell(listener, "on_fold_started", number, folds)
        run: RunResult = run_training(project, listener, stop, dataset=fold_dataset(dataset, train, held_out),
                                      **runner_options)
        outcome.metric = run.metric
        # A diverged model is not evaluated; its fold counts, with NaN scores, so the
        # mean says the settings failed instead of quietly leaving the fold out.
        scores = {"loss": math.nan, run.metric: math.nan} if run.reason == NAN_LOSS else dict(run.test_metrics)
        fold = FoldResult(fold=number, folds=folds, train_rows=len(train), held_out_rows=len(held_out),
                          scores=scores, epochs_run=run.epochs_run, reason=run.reason)
        if run.reason == STOPPED:
            outcome.stopped = True  # a fold cut short is no estimate; it is not counted
            break
        outcome.results.append(fold)
        _tell(listener, "on_fold_finished", fold)
    return outcome


def _tell(listener, method: str, *args) -> None:
    handler = getattr(listener, method, None)
    if handler is not None:
        handler(*args)
