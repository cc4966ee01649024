"""Bayesian search with Optuna: the space, the trials as runs, pruning, stopping, continuing, the storages."""

import math
import os
import socket
import subprocess
import sys

import pytest

from cli import run_cli
from models.errors import UserError
from models.experiments.history import RunHistory
from models.experiments.search import (
    Dimension,
    SearchPlan,
    apply_params,
    best_so_far,
    importances,
    open_study,
    parse_space,
    run_search,
    trial_rows,
)
from models.network.spec import DenseLayer, Project
from models.training.reports import StopRequest
from tests.test_runner import blobs

POSTGRES_URL = os.environ.get("KERAS_TRAINER_TEST_POSTGRES")


def test_the_space_names_ranges_log_scales_and_choices():
    found = parse_space("lr=0.0001:0.1:log, units:2=4:64, activation=relu|tanh")
    assert found == [Dimension("lr", 0.0001, 0.1, True), Dimension("units:2", 4, 64, False),
                     Dimension("activation", choices=("relu", "tanh"))]
    for text, words in (("lr=0.1:0.001", "low value below its high"), ("lr=0:0.1:log", "above 0"),
                        ("width=1:2", "cannot sweep 'width'"), ("activation=relu", "at least two"),
                        ("activation=relu|swirl", "at least two of"), ("lr", "name=low:high"),
                        ("train_share=0.1:1", "learning curve"), ("lr=0.1:0.2,lr=0.2:0.3", "named twice"),
                        ("", "say what to search"), ("dropout=0:1.5", "below 1")):
        with pytest.raises(UserError, match=words):
            parse_space(text)


def test_a_trials_values_become_the_project_settings():
    project = Project(layers=[DenseLayer(8, "relu"), DenseLayer(8, "relu")])
    changed = apply_params(project, {"lr": 0.05, "units:2": 32, "activation": "tanh", "optimizer": "sgd"})
    assert changed.optimizer.learning_rate == 0.05 and changed.optimizer.name == "sgd"
    assert [layer.units for layer in changed.layers] == [8, 32]
    assert {layer.activation for layer in changed.layers} == {"tanh"}
    assert project.layers[1].units == 8  # a copy


def small_project(epochs=4) -> Project:
    project = Project(layers=[DenseLayer(8, "relu")])
    project.training.epochs = epochs
    project.training.batch_size = 16
    return project


def plan(**changes) -> SearchPlan:
    settings = {"dimensions": parse_space("lr=0.001:0.1:log,units:1=2:16"), "trials": 4, "study_name": "test"}
    return SearchPlan(**{**settings, **changes})


def test_each_trial_trains_into_a_run_folder_and_a_second_call_continues_the_study(tmp_path):
    runs = tmp_path / "runs"
    epochs_seen = []
    study, outcomes = run_search(small_project(), plan(), blobs(), runs_root=runs, metric="accuracy",
                                 on_epoch=lambda number, epoch, value: epochs_seen.append((number, epoch)))
    assert [outcome.number for outcome in outcomes] == [0, 1, 2, 3]
    assert {outcome.state for outcome in outcomes} <= {"COMPLETE", "PRUNED"}
    assert (0, 1) in epochs_seen and (0, 4) in epochs_seen  # a live curve, epoch by epoch
    records = {str(record.path): record for record in RunHistory(runs).refresh()}
    for outcome in outcomes:
        record = records[outcome.run_dir]
        assert record.project["optimizer"]["learning_rate"] == pytest.approx(outcome.params["lr"])
        assert record.project["layers"][0]["units"] == outcome.params["units:1"]
        assert (record.reason == "pruned") == (outcome.state == "PRUNED")
        assert outcome.curve == pytest.approx(record.curves()["val_loss"])
    completed = [outcome.value for outcome in outcomes if outcome.state == "COMPLETE"]
    assert study.best_value == min(completed)
    rows = trial_rows(study)
    assert [row["number"] for row in rows] == [0, 1, 2, 3] and all(row["run_dir"] for row in rows)
    assert best_so_far(rows, "minimize")[-1] == min(completed)
    again, more = run_search(small_project(), plan(trials=2), blobs(), runs_root=runs, metric="accuracy")
    assert [outcome.number for outcome in more] == [4, 5] and len(again.trials) == 6
    assert set(importances(again)) == {"lr", "units:1"}
    assert math.isclose(sum(importances(again).values()), 1.0)


def test_a_trial_the_pruner_gives_up_on_ends_early_and_says_so_in_its_folder(tmp_path, monkeypatch):
    import optuna

    # Any loss above 0 is "hopeless": every trial is pruned at its first epoch.
    monkeypatch.setattr(optuna.pruners, "MedianPruner", lambda **_: optuna.pruners.ThresholdPruner(upper=0.0))
    study, outcomes = run_search(small_project(epochs=6), plan(trials=2), blobs(), runs_root=tmp_path, metric="accuracy")
    assert [outcome.state for outcome in outcomes] == ["PRUNED", "PRUNED"]
    assert [trial.state.name for trial in study.trials] == ["PRUNED", "PRUNED"]
    for record in RunHistory(tmp_path).refresh():
        assert record.epochs_run == 1 and record.status == "stopped" and record.reason == "pruned"
        assert (record.path / "model.keras").is_file()  # the pruned run is whole


def test_stop_ends_the_study_after_the_running_trial(tmp_path):
    stop = StopRequest()
    study, outcomes = run_search(small_project(), plan(trials=5), blobs(), runs_root=tmp_path, metric="accuracy",
                                 stop=stop, on_trial=lambda outcome: stop.set())
    assert len(outcomes) == 1 and len(study.trials) == 1


def test_trials_of_a_killed_process_are_failed_when_the_study_is_reopened(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    search = plan()
    study = open_study(search, tmp_path, "accuracy")
    orphan = study.ask()
    orphan.set_user_attr("host", socket.gethostname())
    orphan.set_user_attr("pid", dead.pid)
    elsewhere = study.ask()  # another machine's trial: it may still be running there
    elsewhere.set_user_attr("host", "another-machine")
    elsewhere.set_user_attr("pid", dead.pid)
    reopened = open_study(search, tmp_path, "accuracy")
    assert [trial.state.name for trial in reopened.trials] == ["FAIL", "RUNNING"]


def test_the_k_fold_objective_is_the_mean_validation_loss_of_the_folds(tmp_path):
    study, [outcome] = run_search(small_project(epochs=2), plan(trials=1, objective="kfold", folds=2), blobs(),
                                  runs_root=tmp_path, metric="accuracy")
    assert outcome.state == "COMPLETE" and math.isfinite(outcome.value) and study.best_value == outcome.value


def test_a_study_continued_with_the_other_direction_is_refused(tmp_path):
    open_study(plan(), tmp_path, "accuracy")  # val_loss: minimised
    with pytest.raises(UserError, match="choose another --study name"):
        open_study(plan(objective="val_metric"), tmp_path, "accuracy")


def test_the_search_command_prints_each_trial_and_the_best(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KERAS_TRAINER_RUNS_DIR", str(tmp_path / "runs"))
    status = run_cli(["search", "--quiet", "--dataset", "spiral", "--samples", "120", "--epochs", "3", "--hidden", "8",
                      "--space", "lr=0.001:0.1:log", "--trials", "3"])
    assert status == 0
    out = capsys.readouterr().out
    assert "study spiral-lr" in out and out.count("\ntrial ") == 3 and "best: trial" in out
    assert (tmp_path / "runs" / "optuna-journal.log").is_file()
    assert run_cli(["search", "--dataset", "spiral", "--space", "lr=1:0.1"]) == 2
    assert "low value below its high" in capsys.readouterr().err


@pytest.mark.skipif(POSTGRES_URL is None, reason="needs a PostgreSQL server: .ci/run starts Debian's on the "
                                                 "loopback and sets KERAS_TRAINER_TEST_POSTGRES")
def test_a_study_in_postgresql_is_shared_between_searches(tmp_path):
    name = f"shared-{os.getpid()}"
    first, _ = run_search(small_project(epochs=2), plan(trials=2, storage=POSTGRES_URL, study_name=name), blobs(),
                          runs_root=tmp_path, metric="accuracy")
    second, outcomes = run_search(small_project(epochs=2), plan(trials=2, storage=POSTGRES_URL, study_name=name),
                                  blobs(), runs_root=tmp_path / "elsewhere", metric="accuracy")
    assert [outcome.number for outcome in outcomes] == [2, 3] and len(second.trials) == 4
    assert not (tmp_path / "optuna-journal.log").exists()
