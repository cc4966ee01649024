"""Faults found by trying to break the command line and the runner, each with the defence of its kind."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from cli import EXIT_BAD_INPUT, EXIT_DIVERGED, EXIT_NOT_SAVED, edit_layers, run_cli
from models.errors import UserError
from models.files import strict_json_text
from models.network.spec import BatchNormLayer, DenseLayer, DropoutLayer, Project, load_project
from models.training.run_folder import RunFolder, read_status, recover_killed_runs

ROOT = Path(__file__).resolve().parents[1]
QUICK = ("--quiet", "--epochs", "1", "--samples", "60", "--hidden", "4")


def train(*args) -> int:
    return run_cli(["train", "--quiet", *args])


def error_line(capsys) -> str:
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, lines
    return lines[0]


# ------------------------------------------------ 4. flags edit, never rebuild
def layered_project() -> Project:
    return Project(layers=[
        DenseLayer(32, "tanh", l2=1e-3), BatchNormLayer(0.9), DropoutLayer(0.3),
        DenseLayer(16, "tanh", use_bias=False), BatchNormLayer(0.8),
    ])


def flags(**given) -> SimpleNamespace:
    names = ("hidden", "activation", "initializer", "dropout", "l1", "l2", "batch_norm")
    return SimpleNamespace(**{name: given.get(name) for name in names})


def test_a_network_flag_changes_only_the_field_it_names():
    layers = edit_layers(layered_project().layers, flags(activation="relu"))
    assert [type(layer) for layer in layers] == [type(layer) for layer in layered_project().layers]
    assert layers[0] == DenseLayer(32, "relu", l2=1e-3)
    assert layers[3] == DenseLayer(16, "relu", use_bias=False)
    assert layers[1:3] == [BatchNormLayer(0.9), DropoutLayer(0.3)] and layers[4] == BatchNormLayer(0.8)


def test_hidden_widths_keep_each_layers_settings_and_its_followers():
    layers = edit_layers(layered_project().layers, flags(hidden="64,8,8"))
    dense = [layer for layer in layers if isinstance(layer, DenseLayer)]
    assert [layer.units for layer in dense] == [64, 8, 8]
    assert dense[0].l2 == 1e-3 and dense[1].use_bias is False and dense[2].use_bias is False
    assert sum(isinstance(layer, BatchNormLayer) for layer in layers) == 3
    shorter = edit_layers(layered_project().layers, flags(hidden="5"))
    assert shorter == [DenseLayer(5, "tanh", l2=1e-3), BatchNormLayer(0.9), DropoutLayer(0.3)]
    assert edit_layers(layered_project().layers, flags(hidden="none")) == []


def test_dropout_flag_sets_rates_removes_or_adds():
    assert [layer.rate for layer in edit_layers(layered_project().layers, flags(dropout=0.5))
            if isinstance(layer, DropoutLayer)] == [0.5]
    assert not any(isinstance(layer, DropoutLayer) for layer in edit_layers(layered_project().layers, flags(dropout=0)))
    added = edit_layers([DenseLayer(4), DenseLayer(4)], flags(dropout=0.2, batch_norm=True))
    assert added == [DenseLayer(4), BatchNormLayer(), DropoutLayer(0.2), DenseLayer(4), BatchNormLayer(), DropoutLayer(0.2)]


def test_the_project_saved_by_a_flagged_run_keeps_the_rest_of_its_network(tmp_path, capsys):
    project = layered_project()
    project.dataset.samples = 60
    project.training.epochs = 1
    project.save(tmp_path / "p.json")
    assert train("--project", str(tmp_path / "p.json"), "--activation", "relu", "--out", str(tmp_path / "run")) == 0
    saved = load_project(tmp_path / "run" / "project.json")
    expected = layered_project()
    for layer in expected.layers:
        if isinstance(layer, DenseLayer):
            layer.activation = "relu"
    assert saved.layers == expected.layers


# ------------------------------------------------ 2, 3. where results go, checked first; one run per folder
def test_an_out_folder_under_a_file_is_refused_before_training(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    started = time.perf_counter()
    assert train("--dataset", "spiral", *QUICK, "--out", str(tmp_path / "file" / "run")) == EXIT_BAD_INPUT
    assert "part of that path is a file, not a folder" in error_line(capsys)
    assert time.perf_counter() - started < 20


def test_an_unwritable_out_folder_is_refused_before_training(tmp_path, monkeypatch, capsys):
    # As root (as CI runs) every folder is writable, so the permission is what is taken away.
    monkeypatch.setattr("models.training.run_folder.os.access", lambda path, mode: False)
    assert train("--dataset", "spiral", *QUICK, "--out", str(tmp_path / "run")) == EXIT_BAD_INPUT
    assert "permission denied" in error_line(capsys)


def test_a_full_disk_is_refused_before_training(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("models.training.run_folder.shutil.disk_usage", lambda path: SimpleNamespace(free=1000))
    assert train("--dataset", "spiral", *QUICK, "--out", str(tmp_path / "run")) == EXIT_BAD_INPUT
    assert "MB free" in error_line(capsys)
    assert not (tmp_path / "run").exists()  # refused before training: the folder it made is gone again


def test_a_failed_save_keeps_the_model_and_writes_it_elsewhere(tmp_path, monkeypatch, capsys):
    def disk_full(model, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("models.training.run_folder.save_model", disk_full)
    rescued = []
    monkeypatch.setattr("models.training.run_folder.rescue_model",
                        lambda model, folders, preprocessing=None: rescued.append(model) or tmp_path / "rescued.keras")
    assert train("--dataset", "spiral", *QUICK, "--out", str(tmp_path / "run")) == EXIT_NOT_SAVED
    line = error_line(capsys)
    assert "No space left on device" in line and str(tmp_path / "rescued.keras") in line
    assert rescued and rescued[0] is not None
    status = read_status(tmp_path / "run")
    assert status["status"] == "failed" and "No space left" in status["message"]
    assert not (tmp_path / "run" / "metrics.json").exists()  # no "completed" beside a missing model
    assert not [p for p in (tmp_path / "run").iterdir() if p.name.startswith(".tmp-")]


def test_rescue_model_saves_a_loadable_file_in_the_first_folder_that_works(tmp_path):
    import keras

    from models.training.run_folder import rescue_model

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    (tmp_path / "blocked").write_text("a file, not a folder")
    place = rescue_model(model, [tmp_path / "blocked" / "x", tmp_path / "ok"])
    assert place.parent == tmp_path / "ok"
    assert keras.saving.load_model(place, safe_mode=True).count_params() == 3


def test_a_rescued_model_keeps_its_preprocessing_beside_it(tmp_path):
    import keras

    from datasets.inputs import InputFeature
    from models.saving.preprocessing import Preprocessing, load_preprocessing
    from models.training.run_folder import rescue_model

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    description = Preprocessing("regression", "y", [], "value", [InputFeature("a", "number", "a"),
                                                                  InputFeature("b", "number", "b")])
    place = rescue_model(model, [tmp_path], description)
    assert place.name == "model.keras" and place.parent.parent == tmp_path
    assert [feature.name for feature in load_preprocessing(place.parent / "preprocessing.json").inputs] == ["a", "b"]


def test_runs_into_one_out_folder_need_overwrite_which_clears_the_old_run(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert train("--dataset", "spiral", *QUICK, "--out", out) == 0
    assert train("--dataset", "moons", *QUICK, "--out", out) == EXIT_BAD_INPUT
    assert "already holds another run" in error_line(capsys)
    (tmp_path / "run" / "train.py").write_text("# an earlier run's export")
    assert train("--dataset", "moons", *QUICK, "--folds", "2", "--out", out, "--overwrite") == 0
    names = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert names == ["crossval.json", "project.json", "status.json"]
    assert load_project(tmp_path / "run" / "project.json").dataset.name == "moons"


def test_default_run_folders_never_collide(tmp_path):
    first = RunFolder.claim_new(tmp_path, "20261204-120000-spiral")
    second = RunFolder.claim_new(tmp_path, "20261204-120000-spiral")
    assert first.path != second.path and second.path.name == "20261204-120000-spiral-2"


def test_claim_refuses_another_runs_folder_and_keeps_unrelated_files(tmp_path):
    folder = RunFolder.claim(tmp_path / "r")
    folder.start(Project())
    folder.finish("completed")
    (tmp_path / "r" / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="already holds another run"):
        RunFolder.claim(tmp_path / "r")
    RunFolder.claim(tmp_path / "r", overwrite=True).keep()
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["notes.txt", "status.json"]  # the new claim


# ------------------------------------------------ 11. termination
def test_a_killed_run_is_recognised_and_its_temporary_files_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    folder = RunFolder.claim(tmp_path / "old")
    folder.start(Project())
    status = json.loads((tmp_path / "old" / "status.json").read_text())
    (tmp_path / "old" / "status.json").write_text(json.dumps({**status, "pid": dead.pid}))
    (tmp_path / "old" / ".tmp-0123456789ab-model.keras").write_bytes(b"half a model")
    assert read_status(tmp_path / "old")["status"] == "killed"
    assert recover_killed_runs(tmp_path) == [tmp_path / "old"]
    assert not list((tmp_path / "old").glob(".tmp-*"))
    assert json.loads((tmp_path / "old" / "status.json").read_text())["status"] == "killed"


def test_sigterm_stops_training_like_ctrl_c_and_writes_the_run_folder(tmp_path):
    out = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "train", "--dataset", "spiral", "--samples", "2000",
         "--epochs", "100000", "--batch-size", "8", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    deadline = time.monotonic() + 240
    # project.json and a running status are written before training starts.
    while read_status(out) is None or not (out / "project.json").exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()[1][-2000:]
        time.sleep(0.2)
    assert read_status(out)["status"] == "running"
    for line in process.stderr:  # one line per epoch when stderr is not a terminal
        if line.startswith("epoch 1/"):
            break
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 143, err[-2000:]  # 128 + SIGTERM, as shells report it
    assert "SIGTERM: stopping after this batch" in err
    assert (out / "model.keras").exists() and read_status(out)["status"] == "stopped"


# ------------------------------------------------ 6. strict JSON, and NaN is an exit status
def test_nan_and_infinity_are_written_as_null_with_a_reason():
    text = strict_json_text({"loss": float("nan"), "scores": {"mae": [1.0, float("inf")]}, "ok": 2})
    data = json.loads(text, parse_constant=lambda word: pytest.fail(f"non-JSON word {word}"))
    assert data["loss"] is None and data["scores"]["mae"] == [1.0, None] and data["ok"] == 2
    assert data["not_finite"] == {"loss": "NaN (not a number)", "scores.mae[1]": "Infinity"}


def test_a_diverged_run_exits_with_status_3_and_strict_json(tmp_path, capsys):
    out = tmp_path / "run"
    status = train("--dataset", "plane", "--samples", "200", "--hidden", "64,64", "--optimizer", "sgd",
                   "--lr", "10", "--epochs", "30", "--out", str(out))
    assert status == EXIT_DIVERGED
    assert "NaN" in error_line(capsys)
    metrics = json.loads((out / "metrics.json").read_text(), parse_constant=lambda word: pytest.fail(word))
    assert metrics["stop_reason"] == "nan_loss" and read_status(out)["status"] == "failed"


def test_a_diverged_fold_exits_with_status_3_and_strict_crossval_json(tmp_path, capsys):
    out = tmp_path / "cv"
    status = train("--dataset", "plane", "--samples", "200", "--hidden", "64,64", "--optimizer", "sgd",
                   "--lr", "10", "--epochs", "30", "--folds", "2", "--out", str(out))
    assert status == EXIT_DIVERGED
    summary = json.loads((out / "crossval.json").read_text(), parse_constant=lambda word: pytest.fail(word))
    assert "not_finite" in summary


# ------------------------------------------------ 7, 8, 9, 15. values that pass a check and fail later
@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--dataset", "iris", "--early-stopping", "3"), None),  # val_loss fits every task: trains
        (("--dataset", "spiral", "--device", "gpu:²"), "device must be auto, cpu, gpu:N"),
        (("--dataset", "spiral", "--seed", "-1"), "seed must be a whole number from 0"),
        (("--dataset", "spiral", "--seed", str(2**40)), "seed must be a whole number from 0"),
        (("--dataset", "spiral", "--target", "y"), "--target applies only to --dataset csv"),
        (("--dataset", "spiral", "--data-file", "x.csv"), "--data-file is read only for csv"),
        (("--dataset", "iris", "--samples", "60"), "--samples applies only to the synthetic data sets"),
        (("--dataset", "digits", "--noise", "3"), "--noise applies only to the synthetic data sets"),
        (("--dataset", "spiral", "--folds", "1"), "between 2 and 20 folds"),
        (("--dataset", "spiral", "--hidden", ",".join(["4"] * 1000)), "at most 100 are allowed"),
        (("--dataset", "spiral", "--epochs", str(10**12)), "epochs must be a whole number from 1 to 100,000"),
    ],
)
def test_bad_values_are_one_sentence_before_training(tmp_path, capsys, args, words):
    quick = ("--epochs", "1") if words is None else ()
    status = train(*args, *quick, "--out", str(tmp_path / "run"))
    if words is None:
        assert status == 0, capsys.readouterr().err
        return
    assert status == EXIT_BAD_INPUT
    assert words in error_line(capsys)
    assert not (tmp_path / "run").exists()  # refused before any folder was made


def test_an_early_stopping_figure_the_task_lacks_is_refused_before_the_first_epoch(tmp_path, capsys):
    project = Project(layers=[DenseLayer(4)])
    project.dataset.name = "iris"
    project.training.early_stopping.enabled = True
    project.training.early_stopping.monitor = "val_mae"
    project.save(tmp_path / "p.json")
    assert train("--project", str(tmp_path / "p.json"), "--out", str(tmp_path / "run")) == EXIT_BAD_INPUT
    line = error_line(capsys)
    assert "val_mae, which a classification does not compute" in line and "val_accuracy" in line
    assert not (tmp_path / "run" / "history.csv").exists()


def test_a_softmax_output_for_a_regression_is_refused(tmp_path, capsys):
    project = Project(layers=[DenseLayer(4)])
    project.dataset.name = "diabetes"
    project.output.activation = "softmax"
    project.save(tmp_path / "p.json")
    assert train("--project", str(tmp_path / "p.json"), "--out", str(tmp_path / "run")) == EXIT_BAD_INPUT
    assert "softmax output over a regression's one unit is always 1" in error_line(capsys)


def test_a_network_too_large_for_memory_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("psutil.virtual_memory", lambda: SimpleNamespace(available=10**7))  # whatever this machine has
    status = train("--dataset", "digits", "--hidden", "4096,4096", "--epochs", "1", "--out", str(tmp_path / "run"))
    assert status == EXIT_BAD_INPUT
    assert "GB of memory is free" in error_line(capsys)


def test_exported_saved_model_folder_is_readable_like_a_file(tmp_path):
    from models.files import atomic_path

    with atomic_path(tmp_path / "saved_model", directory=True) as temporary:
        (temporary / "saved_model.pb").write_bytes(b"x")
    mode = (tmp_path / "saved_model").stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o777 & ~umask


# ------------------------------------------------ 13. the task is said and can be chosen
def test_the_task_is_printed_and_can_be_asked_for(tmp_path, capsys):
    table = tmp_path / "rings.csv"
    table.write_text("size,rings\n" + "".join(f"{i % 7 + 0.5},{i % 9}\n" for i in range(90)), encoding="utf-8")
    base = ("--dataset", "csv", "--data-file", str(table), "--target", "rings", "--epochs", "1", "--hidden", "4")
    assert train(*base, "--out", str(tmp_path / "auto")) == 0
    out, err = capsys.readouterr()
    assert "task: classification" in out and "9 different whole numbers" in err
    assert train(*base, "--task", "regression", "--out", str(tmp_path / "regression")) == 0
    out, err = capsys.readouterr()
    assert "task: regression" in out and "test mae" in out
    assert load_project(tmp_path / "regression" / "project.json").dataset.task == "regression"


# ------------------------------------------------ 15. Ctrl+C after training speaks of the export
def test_ctrl_c_after_training_says_it_stops_the_export(capsys):
    from cli import _quit_at_once_on_interrupt

    before = signal.getsignal(signal.SIGINT)
    try:
        _quit_at_once_on_interrupt("during the export")
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    finally:
        signal.signal(signal.SIGINT, before)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    err = capsys.readouterr().err
    assert "quitting at once (during the export)" in err and "batch" not in err


def test_a_failed_model_save_leaves_no_temporary_folder_anywhere(tmp_path, monkeypatch):
    import tempfile

    from models.training.run_folder import save_model

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "system-temp"))
    (tmp_path / "system-temp").mkdir()

    class FullDisk:
        def save(self, path):  # as Keras does: stage the assets, then fail writing the archive
            (Path(tempfile.mkdtemp()) / "assets").mkdir()
            Path(path).write_bytes(b"half")
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        save_model(FullDisk(), tmp_path / "run" / "model.keras")
    assert list((tmp_path / "system-temp").iterdir()) == []
    assert list((tmp_path / "run").iterdir()) == []


# ------------------------------------------------ found in review: other instances of the same kinds
@pytest.mark.parametrize("status", [
    {"format": "keras-trainer-run"}, {"format": "keras-trainer-run", "status": "running", "pid": 10**20},
    {"format": "keras-trainer-run", "status": ["running"]}, "not json at all",
])
def test_a_damaged_status_beside_a_run_never_blocks_the_next_one(tmp_path, status):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "status.json").write_text(status if isinstance(status, str) else json.dumps(status))
    assert RunFolder.claim_new(tmp_path, "new").path == tmp_path / "new"
    assert RunFolder.claim(tmp_path / "other").path == tmp_path / "other"


def test_overwrite_never_replaces_a_run_that_is_still_going(tmp_path):
    folder = RunFolder.claim(tmp_path / "live")
    folder.start(Project())  # this process is alive: the run is going
    with pytest.raises(UserError, match="still going"):
        RunFolder.claim(tmp_path / "live", overwrite=True)
    assert (tmp_path / "live" / "project.json").exists()


def test_two_claims_of_one_empty_folder_cannot_both_win(tmp_path):
    (tmp_path / "out").mkdir()
    first = RunFolder.claim(tmp_path / "out")
    with pytest.raises(UserError, match="still going|claimed by another run"):
        RunFolder.claim(tmp_path / "out")
    assert first.path.exists()


def test_files_that_no_run_wrote_are_never_overwritten(tmp_path):
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "train.py").write_text("# my own script")
    with pytest.raises(UserError, match="no run wrote"):
        RunFolder.claim(tmp_path / "work", overwrite=True)
    assert (tmp_path / "work" / "train.py").read_text() == "# my own script"


def test_a_run_that_fails_before_training_leaves_its_folder_free(tmp_path, monkeypatch, capsys):
    table = tmp_path / "t.csv"
    table.write_text("x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(40)), encoding="utf-8")
    out = str(tmp_path / "run")
    assert train("--dataset", "csv", "--data-file", str(table), "--target", "nope", "--out", out) == EXIT_BAD_INPUT
    assert "no column named 'nope'" in error_line(capsys)
    assert train("--dataset", "csv", "--data-file", str(table), "--target", "y", "--epochs", "1", "--out", out) == 0
    monkeypatch.setenv("KERAS_TRAINER_RUNS_DIR", str(tmp_path / "runs"))  # the default folder goes there
    status = run_cli(["train", "--quiet", "--dataset", "csv", "--data-file", str(table), "--target", "nope"])
    assert status == EXIT_BAD_INPUT
    assert not (tmp_path / "runs").exists()  # neither the run's folder nor the runs folder it made is left


def test_a_dropout_before_the_first_dense_layer_is_a_dropout_too():
    layers = [DropoutLayer(0.1), DenseLayer(8), BatchNormLayer(), DenseLayer(4), DropoutLayer(0.3)]
    assert edit_layers(layers, flags(dropout=0)) == [DenseLayer(8), BatchNormLayer(), DenseLayer(4)]
    assert [layer.rate for layer in edit_layers(layers, flags(dropout=0.5)) if isinstance(layer, DropoutLayer)] \
        == [0.5, 0.5]


def test_text_that_cannot_be_written_is_refused_at_load(tmp_path, capsys):
    path = tmp_path / "p.json"
    path.write_text('{"format": "keras-trainer-project", "version": 1, "name": "a\\ud800b"}', encoding="utf-8")
    with pytest.raises(UserError, match="UTF-8"):
        load_project(path)
    path.write_text('{"format": "keras-trainer-project", "version": 1, "dataset": {"name": "csv", '
                    '"data_file": "x.csv", "target": "\\udfff"}}', encoding="utf-8")
    assert train("--project", str(path), "--out", str(tmp_path / "run")) == EXIT_BAD_INPUT
    assert "cannot be written as UTF-8" in error_line(capsys)
    assert not (tmp_path / "run").exists()


def test_a_fifo_as_the_csv_is_refused_without_blocking(tmp_path, capsys):
    from datasets.csv_text import read_csv_columns

    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(UserError, match="not a regular file"):
        read_csv_columns(fifo)
    assert train("--dataset", "csv", "--data-file", str(fifo), "--target", "y", "--out", str(tmp_path / "r")) == 2
    assert "not a regular file" in error_line(capsys)


# ------------------------------------------------ found in a second review
def _finished_run(folder: Path, dataset: str = "spiral") -> None:
    run = RunFolder.claim(folder)
    project = Project()
    project.dataset.name = dataset
    run.start(project)
    (folder / "model.keras").write_bytes(b"the old run's model")
    run.finish("completed")


def test_an_overwrite_refused_before_training_gives_the_old_run_back(tmp_path, capsys):
    _finished_run(tmp_path / "r")
    assert train("--dataset", "csv", "--data-file", str(tmp_path / "none.csv"), "--target", "y",
                 "--out", str(tmp_path / "r"), "--overwrite") == EXIT_BAD_INPUT
    assert (tmp_path / "r" / "model.keras").read_bytes() == b"the old run's model"
    assert load_project(tmp_path / "r" / "project.json").dataset.name == "spiral"
    assert read_status(tmp_path / "r")["status"] == "completed"


def test_an_overwrite_that_trains_removes_the_old_run(tmp_path):
    _finished_run(tmp_path / "r")
    assert train("--dataset", "moons", *QUICK, "--out", str(tmp_path / "r"), "--overwrite") == 0
    assert load_project(tmp_path / "r" / "project.json").dataset.name == "moons"
    assert (tmp_path / "r" / "model.keras").read_bytes() != b"the old run's model"
    assert not (tmp_path / "r" / ".previous-run").exists()


RACE = """
import sys, time
sys.path.insert(0, {root!r})
from models.errors import UserError
from models.training.run_folder import RunFolder
time.sleep(max(0.0, {at} - time.time()))
try:
    RunFolder.claim({folder!r}, overwrite=True)
    print("won")
except UserError as error:
    print("refused")
"""


def test_two_processes_claiming_one_folder_never_both_win(tmp_path):
    for round_ in range(6):
        folder = tmp_path / f"r{round_}"
        _finished_run(folder)
        at = time.time() + 1.5
        script = RACE.format(root=str(ROOT), at=at, folder=str(folder))
        racers = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) for _ in range(2)]
        outcomes = sorted(racer.communicate(timeout=60)[0].strip() for racer in racers)
        assert outcomes == ["refused", "won"], outcomes


def test_ctrl_c_before_training_leaves_the_folder_free(tmp_path, monkeypatch, capsys):
    def interrupted(choice):
        raise KeyboardInterrupt

    monkeypatch.setattr("datasets.registry.load_dataset", interrupted)
    assert train("--dataset", "spiral", *QUICK, "--out", str(tmp_path / "r")) == 130
    assert not (tmp_path / "r").exists()


def test_quitting_on_sigterm_exits_143(monkeypatch, capsys):
    from cli import Interrupted

    def terminated(args):
        raise Interrupted(signal.SIGTERM)

    monkeypatch.setattr("cli.command_train", terminated)
    assert run_cli(["train", "--dataset", "spiral"]) == 143


def test_an_empty_status_left_by_a_kill_does_not_block_the_folder(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "status.json").write_text("")
    assert RunFolder.claim(tmp_path / "r").path == tmp_path / "r"
    assert read_status(tmp_path / "r")["status"] == "running"


def test_a_start_that_cannot_write_gives_the_folder_back(tmp_path, monkeypatch):
    folder = RunFolder.claim_new(tmp_path, "run")

    def disk_full(self, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Project, "save", disk_full)
    with pytest.raises(UserError, match="No space left on device"):
        folder.start(Project())
    assert not (tmp_path / "run").exists()


def test_a_reused_pid_does_not_keep_a_dead_run_alive(tmp_path):
    import psutil

    RunFolder.claim(tmp_path / "r")
    status = json.loads((tmp_path / "r" / "status.json").read_text())
    # Our own pid, but the run started long before this process did: the pid was reused.
    status["started_at_s"] = psutil.Process().create_time() - 3600
    (tmp_path / "r" / "status.json").write_text(json.dumps(status))
    assert read_status(tmp_path / "r")["status"] == "killed"


def test_a_file_name_that_is_not_utf8_is_one_sentence(tmp_path, capsys):
    name = os.fsdecode(b"caf\xe9.csv")  # as Python hands a Latin-1 file name from argv
    assert train("--dataset", "csv", "--data-file", str(tmp_path / name), "--target", "y",
                 "--out", str(tmp_path / "r")) == EXIT_BAD_INPUT
    assert "not valid UTF-8" in error_line(capsys)
    assert not (tmp_path / "r").exists()


def test_cross_validation_scores_that_cannot_be_written_exit_4(tmp_path, monkeypatch, capsys):
    from models import files

    real = files.write_json_atomic

    def full_for_scores(path, data):
        if Path(path).name == "crossval.json":
            raise OSError(28, "No space left on device")
        real(path, data)

    monkeypatch.setattr(files, "write_json_atomic", full_for_scores)
    assert train("--dataset", "spiral", *QUICK, "--folds", "2", "--out", str(tmp_path / "r")) == EXIT_NOT_SAVED
    assert "No space left on device" in error_line(capsys)


def test_another_dataset_on_the_command_line_takes_its_own_task(tmp_path):
    project = Project()
    project.dataset.name, project.dataset.data_file, project.dataset.target = "csv", "x.csv", "y"
    project.dataset.task = "regression"
    project.save(tmp_path / "p.json")
    args = __import__("cli").build_parser().parse_args(["train", "--project", str(tmp_path / "p.json"),
                                                        "--dataset", "spiral"])
    assert __import__("cli").project_from_args(args).dataset.task == "auto"


# ------------------------------------------------ found in a third review: the old run survives every failure
def _old_run_is_whole(folder: Path) -> None:
    assert (folder / "model.keras").read_bytes() == b"the old run's model"
    assert load_project(folder / "project.json").dataset.name == "spiral"
    assert read_status(folder)["status"] == "completed"
    assert not (folder / ".previous-run").exists()


def test_a_start_that_fails_after_an_overwrite_gives_the_old_run_back(tmp_path, monkeypatch):
    from models.training import run_folder

    _finished_run(tmp_path / "r")
    folder = RunFolder.claim(tmp_path / "r", overwrite=True)

    def disk_full(path, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(run_folder, "write_json_atomic", disk_full)
    with pytest.raises(UserError, match="No space left on device"):
        folder.start(Project())
    monkeypatch.undo()
    folder.abandon()  # a caller giving up again must not take the restored run's files
    folder.give_up("error", "again")
    _old_run_is_whole(tmp_path / "r")


def test_cross_validation_refused_in_its_first_fold_gives_the_old_run_back(tmp_path, monkeypatch, capsys):
    _finished_run(tmp_path / "r")
    monkeypatch.setattr("psutil.virtual_memory", lambda: SimpleNamespace(available=1))
    assert train("--dataset", "moons", *QUICK, "--folds", "2", "--out", str(tmp_path / "r"), "--overwrite") == 2
    assert "GB of memory is free" in error_line(capsys)
    _old_run_is_whole(tmp_path / "r")


def test_a_training_that_fails_after_an_overwrite_gives_the_old_run_back(tmp_path, monkeypatch, capsys):
    def no_memory(*args, **kwargs):
        raise MemoryError

    _finished_run(tmp_path / "r")
    monkeypatch.setattr("models.training.compiled_loop.fit_compiled", no_memory)
    assert train("--dataset", "moons", *QUICK, "--out", str(tmp_path / "r"), "--overwrite") == 2
    assert "out of memory" in error_line(capsys)
    _old_run_is_whole(tmp_path / "r")


def test_an_old_run_half_set_aside_by_a_kill_comes_back_whole(tmp_path):
    _finished_run(tmp_path / "r")
    kept = tmp_path / "r" / ".previous-run"
    kept.mkdir()
    for name in ("status.json", "history.csv", "model.keras"):  # the move was cut short after these
        if (tmp_path / "r" / name).exists():
            (tmp_path / "r" / name).rename(kept / name)
    with pytest.raises(UserError, match="already holds another run"):
        RunFolder.claim(tmp_path / "r")
    _old_run_is_whole(tmp_path / "r")
