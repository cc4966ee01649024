"""The run history: the runs folder read back, filtered, compared, deleted, and printed by `runs`."""

import json
import shutil

import pytest

from cli import run_cli
from models.errors import UserError
from models.experiments.history import RunHistory, default_runs_dir, delete_run, run_table_lines
from models.experiments.project_diff import differences, differing_labels, flatten


@pytest.fixture(scope="module")
def trained_runs(tmp_path_factory):
    """Two real runs written by the command line: the spiral, and iris with another learning rate."""
    root = tmp_path_factory.mktemp("runs")
    assert run_cli(["train", "--quiet", "--no-diagnosis", "--dataset", "spiral", "--samples", "120", "--epochs", "2",
                    "--hidden", "8", "--out", str(root / "20260101-100000-spiral")]) == 0
    assert run_cli(["train", "--quiet", "--no-diagnosis", "--dataset", "iris", "--epochs", "3", "--lr", "0.05",
                    "--hidden", "8,8", "--out", str(root / "20260101-110000-iris")]) == 0
    return root


@pytest.fixture
def runs(trained_runs, tmp_path):
    root = tmp_path / "runs"
    shutil.copytree(trained_runs, root)
    return root


def test_the_history_lists_every_run_newest_first_with_its_settings_and_figures(runs):
    records = RunHistory(runs).refresh()
    assert [record.dataset for record in records] == ["iris", "spiral"]  # newest first
    iris, spiral = records
    assert iris.status == "completed" and iris.epochs_run == 3 and spiral.epochs_run == 2
    assert iris.settings_summary() == "2×8 relu · adam 0.05 · batch 32 · 3 epochs"
    assert set(iris.final) >= {"loss", "val_loss", "accuracy", "val_accuracy"}
    assert iris.metric == "accuracy" and 0 <= iris.test["accuracy"] <= 1
    assert iris.duration_s is not None and iris.duration_s > 0
    assert len(iris.curves()["loss"]) == 3
    assert [record.dataset for record in RunHistory(runs).runs("spiral")] == ["spiral"]
    assert RunHistory(runs).datasets() == ["iris", "spiral"]


def test_folders_deleted_added_or_damaged_by_hand_are_what_the_next_refresh_shows(runs):
    history = RunHistory(runs)
    assert len(history.refresh()) == 2
    shutil.rmtree(runs / "20260101-100000-spiral")
    assert [record.dataset for record in history.refresh()] == ["iris"]
    shutil.copytree(runs / "20260101-110000-iris", runs / "20260102-090000-iris")
    status = json.loads((runs / "20260102-090000-iris" / "status.json").read_text())
    status["started"] = "2030-01-02T09:00:00+00:00"  # later than the real runs
    (runs / "20260102-090000-iris" / "status.json").write_text(json.dumps(status))
    (runs / "20260102-090000-iris" / "project.json").write_text("{ not json")
    (runs / "notes").mkdir()  # not a run folder: not listed
    shutil.copytree(runs / "20260101-110000-iris", runs / "20260101-120000-odd")
    (runs / "20260101-120000-odd" / "project.json").write_text('{"layers": 5, "optimizer": [1]}')
    (runs / "20260101-120000-odd" / "status.json").write_text(json.dumps({**status, "started": "0001-01-01"}))
    odd = next(record for record in history.refresh() if record.name == "20260101-120000-odd")
    assert odd.settings_summary() == "(settings not readable)"
    assert run_table_lines([odd])  # one line, no exception
    shutil.rmtree(runs / "20260101-120000-odd")
    newest, older = history.refresh()
    assert newest.name == "20260102-090000-iris"
    assert newest.problem == "project.json is damaged" and newest.dataset == ""
    assert "project.json is damaged" in run_table_lines([newest])[1]
    assert older.problem == "" and older.dataset == "iris"


def test_a_refresh_reads_again_only_the_runs_that_changed(runs):
    history = RunHistory(runs)
    iris, spiral = history.refresh()
    metrics = runs / iris.name / "metrics.json"
    figures = json.loads(metrics.read_text())
    figures["accuracy"] = 0.123
    metrics.write_text(json.dumps(figures))
    iris_again, spiral_again = history.refresh()
    assert spiral_again is spiral  # unchanged: not read again
    assert iris_again is not iris and iris_again.test["accuracy"] == 0.123


def test_deleting_a_run_removes_its_folder_but_refuses_what_is_not_a_finished_run(runs, tmp_path):
    history = RunHistory(runs)
    iris, spiral = history.refresh()
    (runs / spiral.name / "my notes.txt").write_text("mine")
    with pytest.raises(UserError, match="files no run wrote"):
        history.delete(spiral)
    status_file = runs / iris.name / "status.json"
    status = json.loads(status_file.read_text())
    status_file.write_text(json.dumps({**status, "status": "running", "host": "another-machine"}))
    with pytest.raises(UserError, match="still going"):
        history.delete(iris)
    status_file.write_text(json.dumps(status))
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(runs / iris.name, elsewhere / iris.name)
    with pytest.raises(UserError, match="not a run folder in"):
        delete_run(elsewhere / iris.name, runs)
    history.delete(iris)
    assert not (runs / iris.name).exists()
    assert [record.name for record in history.refresh()] == [spiral.name]
    assert (elsewhere / iris.name).is_dir()


def test_two_projects_differ_setting_by_setting_and_a_legend_names_what_differs(runs):
    iris, spiral = RunHistory(runs).refresh()
    found = {difference.setting: difference.values for difference in differences(spiral.project, iris.project)}
    assert found["dataset name"] == ("spiral", "iris")
    assert found["optimizer learning rate"] == ("0.001", "0.05")
    assert found["layer 2 units"] == ("—", "8")  # the spiral run has one hidden layer
    assert "layer 1 units" not in found  # 8 in both
    assert "name" not in flatten(iris.project)
    labels = differing_labels([spiral.project, iris.project], ["a", "b"], at_most=1)
    assert labels == ["name spiral …", "name iris …"]
    assert differing_labels([iris.project, iris.project], ["first", "second"]) == ["first", "second"]


def test_the_runs_command_prints_the_history_and_filters_by_data_set(runs, capsys, monkeypatch):
    assert run_cli(["runs", "--runs-dir", str(runs)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["started", "data", "set"] and lines[0].endswith("run")
    assert "20260101-110000-iris" in lines[1] and "20260101-100000-spiral" in lines[2]
    assert lines[-1] == f"2 run(s) in {runs}"
    assert run_cli(["runs", "--runs-dir", str(runs), "--dataset", "spiral"]) == 0
    out = capsys.readouterr().out
    assert "spiral" in out and "iris" not in out
    assert run_cli(["runs", "--runs-dir", str(runs), "--dataset", "penguins"]) == 0
    assert capsys.readouterr().out.startswith("no runs on penguins in")
    assert run_cli(["runs", "--runs-dir", str(runs / "nothing here")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_the_command_line_and_the_window_share_one_runs_folder(tmp_path, monkeypatch, capsys):
    from gui.settings import runs_dir

    monkeypatch.setenv("KERAS_TRAINER_RUNS_DIR", str(tmp_path / "shared"))
    assert default_runs_dir() == runs_dir() == tmp_path / "shared"
    assert run_cli(["train", "--quiet", "--no-diagnosis", "--dataset", "spiral", "--samples", "60",
                    "--epochs", "1"]) == 0
    [record] = RunHistory().refresh()
    assert record.path.parent == tmp_path / "shared" and record.dataset == "spiral"
    assert run_cli(["runs"]) == 0
    assert record.name in capsys.readouterr().out
