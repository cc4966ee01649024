"""Bayesian search with Optuna: the space, the trials as runs, pruning, stopping, continuing, the storages."""

import json
import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

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
ROOT = Path(__file__).resolve().parents[1]


def test_the_space_names_ranges_log_scales_and_choices():
    found = parse_space("lr=1e-4..0.1:log, units:2=4..64, activation=relu|tanh")
    assert found == [Dimension("lr", 0.0001, 0.1, True), Dimension("units:2", 4, 64, False),
                     Dimension("activation", choices=("relu", "tanh"))]
    assert parse_space("lr=0.0001:0.1:log") == found[:1]  # low:high reads as low..high
    for text, words in (("lr=0.1..0.001", "low value below its high"), ("lr=0..0.1:log", "above 0"),
                        ("width=1:2", "cannot sweep 'width'"), ("activation=relu", "at least two"),
                        ("activation=relu|swirl", "at least two of"), ("lr", "name=low..high"),
                        ("train_share=0.1..1", "learning curve"), ("lr=0.1..0.2,lr=0.2..0.3", "named twice"),
                        ("", "say what to search"), ("dropout=0..1.5", "from 0 to 0.95"), ("lr=a..b", "low..high")):
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
    settings = {"dimensions": parse_space("lr=0.001..0.1:log,units:1=2..16"), "trials": 4, "study_name": "test",
                "objective": "val_loss"}
    return SearchPlan(**{**settings, **changes})


def test_each_trial_trains_into_a_run_folder_and_a_second_call_continues_the_study(tmp_path):
    runs = tmp_path / "runs"
    epochs_seen = []
    study, outcomes = run_search(small_project(), plan(), blobs(), runs_root=runs, out=runs / "search", metric="accuracy",
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
    same, none = run_search(small_project(), plan(), blobs(), runs_root=runs, out=runs / "search", metric="accuracy")
    assert none == [] and len(same.trials) == 4  # the study has its 4 trials: nothing more to run
    again, more = run_search(small_project(), plan(trials=6), blobs(), runs_root=runs, out=runs / "search",
                             metric="accuracy")
    assert [outcome.number for outcome in more] == [4, 5] and len(again.trials) == 6
    written = json.loads((runs / "search" / "search.json").read_text())
    assert written["study"] == "test" and written["direction"] == "minimize" and written["objective"] == "val_loss"
    assert [trial["number"] for trial in written["trials"]] == list(range(6))
    assert {trial["state"] for trial in written["trials"]} <= {"COMPLETE", "PRUNED"}
    assert written["best"]["value"] == again.best_value
    assert set(importances(again)) == {"lr", "units:1"}
    assert math.isclose(sum(importances(again).values()), 1.0)


def test_a_trial_the_pruner_gives_up_on_ends_early_and_says_so_in_its_folder(tmp_path, monkeypatch):
    import optuna

    # Any loss above 0 is "hopeless": every trial is pruned at its first epoch.
    monkeypatch.setattr(optuna.pruners, "MedianPruner", lambda **_: optuna.pruners.ThresholdPruner(upper=0.0))
    study, outcomes = run_search(small_project(epochs=6), plan(trials=2), blobs(), runs_root=tmp_path, out=tmp_path / "search", metric="accuracy")
    assert [outcome.state for outcome in outcomes] == ["PRUNED", "PRUNED"]
    assert [trial.state.name for trial in study.trials] == ["PRUNED", "PRUNED"]
    for record in RunHistory(tmp_path).refresh():
        assert record.epochs_run == 1 and record.status == "stopped" and record.reason == "pruned"
        assert (record.path / "model.keras").is_file()  # the pruned run is whole


def test_stop_ends_the_study_after_the_running_trial(tmp_path):
    stop = StopRequest()
    study, outcomes = run_search(small_project(), plan(trials=5), blobs(), runs_root=tmp_path, out=tmp_path / "search", metric="accuracy",
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
                                  runs_root=tmp_path, out=tmp_path / "search", metric="accuracy")
    assert outcome.state == "COMPLETE" and math.isfinite(outcome.value) and study.best_value == outcome.value


def test_a_space_the_project_cannot_take_is_refused_before_any_trial(tmp_path):
    one_layer = small_project()
    for text, words in (("units:3=4..8", "the network has 1"), ("units:1=4.2..4.8", "no whole number"),
                        ("layers=1..3,units:2=4..8", "the network has 1")):
        with pytest.raises(UserError, match=words):
            run_search(one_layer, plan(dimensions=parse_space(text)), blobs(), runs_root=tmp_path,
                       out=tmp_path / "search", metric="accuracy")
    assert not (tmp_path / "search").exists()  # no study was even opened
    deeper = run_search(one_layer, plan(dimensions=parse_space("layers=2..3,units:2=4..8"), trials=1), blobs(),
                        runs_root=tmp_path, out=tmp_path / "deep", metric="accuracy")[0]
    assert len(deeper.trials) == 1


def test_a_study_continued_with_other_ranges_or_another_objective_is_refused(tmp_path):
    run_search(small_project(epochs=1), plan(trials=1), blobs(), runs_root=tmp_path, out=tmp_path / "s",
               metric="accuracy")
    with pytest.raises(UserError, match="over other values"):
        run_search(small_project(epochs=1), plan(dimensions=parse_space("lr=0.01..0.5:log,units:1=2..16"), trials=2),
                   blobs(), runs_root=tmp_path, out=tmp_path / "s", metric="accuracy")
    with pytest.raises(UserError, match="scored val_loss"):
        run_search(small_project(epochs=1), plan(objective="kfold", trials=2), blobs(), runs_root=tmp_path,
                   out=tmp_path / "s", metric="accuracy")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "optuna-journal.log").write_text("not a journal\n")
    with pytest.raises(UserError, match="not a readable Optuna journal"):
        run_search(small_project(epochs=1), plan(trials=1), blobs(), runs_root=tmp_path, out=tmp_path / "bad",
                   metric="accuracy")


def test_a_study_continued_with_the_other_direction_is_refused(tmp_path):
    open_study(plan(), tmp_path, "accuracy")  # val_loss: minimised
    with pytest.raises(UserError, match="choose another --study name"):
        open_study(plan(objective="val_metric"), tmp_path, "accuracy")


def test_the_search_command_prints_each_trial_and_the_best_and_writes_search_json(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KERAS_TRAINER_RUNS_DIR", str(tmp_path / "runs"))
    status = run_cli(["search", "--quiet", "--dataset", "spiral", "--samples", "120", "--epochs", "3", "--hidden", "8",
                      "--space", "lr=1e-3..1e-1:log", "--trials", "3"])
    assert status == 0
    out = capsys.readouterr().out
    assert "study spiral-lr" in out and out.count("\ntrial ") == 3 and "best: trial" in out
    assert "objective val_metric" in out  # classes: the validation accuracy, maximised
    [folder] = (tmp_path / "runs").glob("*-spiral-search")
    written = json.loads((folder / "search.json").read_text())
    assert written["direction"] == "maximize" and len(written["trials"]) == 3
    assert (folder / "optuna-journal.log").is_file()
    assert run_cli(["search", "--dataset", "spiral", "--space", "lr=1..0.1"]) == 2
    assert "low value below its high" in capsys.readouterr().err


def search_command(out, *extra, trials=4, epochs=3):
    """``python main.py search`` in its own process, as a user (or a second machine) starts it."""
    return [sys.executable, str(ROOT / "main.py"), "search", "--quiet", "--dataset", "spiral", "--samples", "200",
            "--hidden", "16", "--epochs", str(epochs), "--space", "lr=1e-3..1e-1:log,units:1=4..32:log",
            "--objective", "val_loss", "--trials", str(trials), "--study", "shared", "--out", str(out), *extra]


def load(out, storage=None):
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    storage = storage or JournalStorage(JournalFileBackend(str(out / "optuna-journal.log")))
    return optuna.load_study(study_name="shared", storage=storage)


def test_a_search_killed_mid_trial_continues_when_started_again(tmp_path):
    out = tmp_path / "search"
    env = {**os.environ, "KERAS_TRAINER_RUNS_DIR": str(tmp_path / "runs")}
    process = subprocess.Popen(search_command(out, epochs=400), env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while not _finished_in(out) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)  # waiting on another process: nothing in this one to wait on
        time.sleep(0.5)  # well into the next trial
        assert process.poll() is None, "the search ended before it could be killed"
    finally:
        process.kill()  # SIGKILL: no handler runs
        process.wait()
    before = load(out)
    done_before = [trial.number for trial in before.trials if trial.state.name in ("COMPLETE", "PRUNED")]
    assert done_before and any(trial.state.name == "RUNNING" for trial in before.trials)
    finished = subprocess.run(search_command(out, epochs=3), env=env, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-2000:]
    after = load(out)
    states = {trial.number: trial.state.name for trial in after.trials}
    assert all(states[number] in ("COMPLETE", "PRUNED") for number in done_before)  # still there
    assert list(states.values()).count("FAIL") == 1  # the killed trial
    assert sum(state in ("COMPLETE", "PRUNED") for state in states.values()) == 4  # the number asked for


def _finished_in(out) -> bool:
    try:
        return any(trial["state"] in ("COMPLETE", "PRUNED")
                   for trial in json.loads((out / "search.json").read_text())["trials"])
    except (OSError, ValueError, KeyError):
        return False


def check_two_workers_shared_the_study(study, trials: int):
    finished = [trial for trial in study.trials if trial.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) >= trials and len(study.trials) == len({trial.number for trial in study.trials})
    assert len({trial.user_attrs["pid"] for trial in finished}) == 2  # both processes ran trials
    folders = [trial.user_attrs["run_dir"] for trial in finished]
    assert len(set(folders)) == len(folders)  # no trial trained twice into one folder
    assert all(os.path.isfile(os.path.join(folder, "history.csv")) for folder in folders)  # none lost


def run_two_workers(command, env) -> None:
    """Two processes of one search command started together, as on two terminals (or machines)."""
    workers = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for _ in range(2)]
    for worker in workers:
        output, _ = worker.communicate(timeout=600)
        assert worker.returncode == 0, output[-2000:]


def test_two_worker_processes_run_distinct_trials_of_one_journal_study(tmp_path):
    out = tmp_path / "search"
    env = {**os.environ, "KERAS_TRAINER_RUNS_DIR": str(tmp_path / "runs")}
    run_two_workers(search_command(out, trials=8, epochs=60), env)
    check_two_workers_shared_the_study(load(out), 8)
    # --workers 2 starts the second process itself, its output in worker-2.log; the study goes on to 10.
    done = subprocess.run(search_command(out, "--workers", "2", trials=10, epochs=60), env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "2 worker processes" in done.stdout and (out / "worker-2.log").is_file()
    finished = [trial for trial in load(out).trials if trial.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) >= 10


@pytest.mark.skipif(POSTGRES_URL is None, reason="needs a PostgreSQL server: .ci/run installs Debian's postgresql "
                                                 "(where apt is available), starts it on the loopback and sets "
                                                 "KERAS_TRAINER_TEST_POSTGRES")
def test_two_workers_share_a_study_in_postgresql(tmp_path):
    import optuna

    name = f"shared-{os.getpid()}-{time.time_ns()}"
    env = {**os.environ, "KERAS_TRAINER_RUNS_DIR": str(tmp_path / "runs")}
    command = [item if item != "shared" else name for item in search_command(tmp_path / "search", trials=8, epochs=60)]
    run_two_workers([*command, "--storage", POSTGRES_URL], env)
    check_two_workers_shared_the_study(optuna.load_study(study_name=name, storage=POSTGRES_URL), 8)
    assert not (tmp_path / "search" / "optuna-journal.log").exists()


def test_from_a_poor_start_a_search_finds_a_good_spiral_network_and_ranks_the_learning_rate_first(tmp_path):
    """The issue's check: SGD at a learning rate of 1e-4 barely learns the spiral; 20 trials over the
    learning rate and the first layer's width find a network at least 95 % right on the validation rows."""
    from datasets.registry import load_dataset

    project = Project(layers=[DenseLayer(64, "relu", kernel_initializer="he_normal") for _ in range(3)])
    project.optimizer.name, project.optimizer.learning_rate = "sgd", 1e-4
    project.training.epochs, project.training.batch_size = 60, 16
    search = SearchPlan(parse_space("lr=1e-4..1:log,units:1=8..256:log"), trials=20, study_name="poor start")
    study, _ = run_search(project, search, load_dataset(project.dataset), runs_root=tmp_path,
                          out=tmp_path / "search", metric="accuracy")
    assert study.direction.name == "MAXIMIZE" and study.best_value >= 0.95
    assert next(iter(importances(study))) == "lr"
