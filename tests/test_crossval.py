"""K-fold cross-validation: folds, scores, the listener's fold reports, and stopping."""

import math

import numpy as np
import pytest

from models.errors import UserError
from models.training.crossval import (
    CrossValidationListener,
    fold_indices,
    run_cross_validation,
)
from models.training.runner import StopRequest
from tests.test_runner import blobs, line, small_project


def test_every_row_is_held_out_exactly_once_and_classes_keep_their_share():
    y = np.array([0] * 30 + [1] * 60 + [2] * 90, dtype=np.int32)
    parts = fold_indices(y, 3, seed=1, stratify=True)
    held = np.concatenate([held_out for _, held_out in parts])
    assert sorted(held) == list(range(len(y)))
    for train, held_out in parts:
        assert set(train).isdisjoint(held_out) and len(train) + len(held_out) == len(y)
        assert list(np.bincount(y[held_out])) == [10, 20, 30]  # a third of each class
    again = fold_indices(y, 3, seed=1, stratify=True)
    assert all((a[1] == b[1]).all() for a, b in zip(parts, again))  # the same seed, the same folds
    other = fold_indices(y, 3, seed=2, stratify=True)
    assert any((a[1] != b[1]).any() for a, b in zip(parts, other))


def test_a_class_too_small_to_stratify_falls_back_to_a_plain_split():
    y = np.array([0] * 20 + [1], dtype=np.int32)
    parts = fold_indices(y, 4, seed=0, stratify=True)
    assert sorted(np.concatenate([held for _, held in parts])) == list(range(21))


@pytest.mark.parametrize("folds, rows, words", [(1, 10, "between 2 and"), (21, 100, "between 2 and"), (5, 4, "use fewer folds")])
def test_bad_fold_counts_are_a_sentence(folds, rows, words):
    with pytest.raises(UserError, match=words):
        fold_indices(np.zeros(rows, dtype=np.int32), folds, seed=0, stratify=False)


class FoldRecorder(CrossValidationListener):
    def __init__(self, stop=None):
        self.events, self.stop = [], stop
        self.test_rows = []

    def on_fold_started(self, fold, folds):
        self.events.append(("started", fold, folds))

    def on_run_started(self, info):
        self.test_rows.append(info.test_samples)

    def on_fold_finished(self, result):
        self.events.append(("finished", result.fold, result.folds))
        if self.stop is not None:
            self.stop.set()


def test_each_fold_trains_a_fresh_model_and_is_scored_on_the_rows_it_did_not_see():
    data = blobs(n=200)  # 160 training rows
    recorder = FoldRecorder()
    outcome = run_cross_validation(small_project(epochs=30), 4, recorder, dataset=data)
    assert outcome.complete and outcome.metric == "accuracy"
    assert recorder.events == [(kind, fold, 4) for fold in range(1, 5) for kind in ("started", "finished")]
    assert [fold.held_out_rows for fold in outcome.results] == [40] * 4 == recorder.test_rows
    assert all(fold.train_rows == 120 for fold in outcome.results)
    accuracies = [fold.scores["accuracy"] for fold in outcome.results]
    assert all(0 <= value <= 1 for value in accuracies)
    assert min(accuracies) <= outcome.mean("accuracy") <= max(accuracies)
    assert outcome.std("accuracy") == pytest.approx(np.std(accuracies, ddof=1))
    assert outcome.mean("accuracy") > 0.8  # well-separated blobs
    summary = outcome.summary()
    assert summary["folds_done"] == 4 and summary["scores"]["accuracy"]["per_fold"] == accuracies
    assert len(data.x_train) == 160 and len(data.x_test) == 40  # the data set itself is unchanged


def test_regression_folds_are_scored_by_mean_absolute_error():
    outcome = run_cross_validation(small_project(epochs=2), 2, dataset=line())
    assert outcome.metric == "mae" and outcome.complete
    assert all(math.isfinite(fold.scores["mae"]) for fold in outcome.results)


def test_a_stop_ends_cross_validation_and_keeps_the_folds_already_done():
    stop = StopRequest()
    recorder = FoldRecorder(stop=stop)  # asks to stop when the first fold finishes
    outcome = run_cross_validation(small_project(epochs=2), 3, recorder, stop=stop, dataset=blobs())
    assert outcome.stopped and not outcome.complete
    assert [fold.fold for fold in outcome.results] == [1]
    assert [event[0] for event in recorder.events] == ["started", "finished"]


def test_a_diverging_fold_counts_with_nan_scores_instead_of_vanishing():
    from models.network.spec import OptimizerSpec

    project = small_project(epochs=3)
    project.optimizer = OptimizerSpec(name="sgd", learning_rate=10.0)  # far too large: the loss explodes
    outcome = run_cross_validation(project, 3, dataset=line())
    assert outcome.diverged == [1, 2, 3] and len(outcome.results) == 3
    assert math.isnan(outcome.mean("loss")) and math.isnan(outcome.mean("mae"))
    assert outcome.summary()["diverged_folds"] == [1, 2, 3]


def test_a_regression_fold_scales_its_targets_from_its_own_training_rows():
    from datasets.registry import training_target_scale
    from models.training.crossval import fold_dataset

    data = line()
    data.target_scale = training_target_scale(data.y_train)
    train, held_out = fold_indices(data.y_train, 4, seed=0, stratify=False)[0]
    fold = fold_dataset(data, train, held_out)
    assert fold.target_scale == pytest.approx(training_target_scale(data.y_train[train]))
    assert fold.target_scale != pytest.approx(data.target_scale)
