"""The command line, end to end: the issue's recipes, real CSV tables, and bad input."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cli import run_cli

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def train(*args) -> int:
    return run_cli(["train", "--quiet", *args])


def test_digits_recipe_reaches_95_percent_and_every_export_agrees(tmp_path, capsys):
    out = tmp_path / "digits"
    status = train("--dataset", "digits", "--hidden", "512", "--activation", "relu", "--optimizer", "rmsprop",
                   "--epochs", "5", "--batch-size", "128", "--validation", "0", "--out", str(out),
                   "--export", "keras,weights,savedmodel,tflite,onnx,python")
    assert status == 0, capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["accuracy"] >= 0.95
    for name in ("model.keras", "model.weights.h5", "saved_model", "model.tflite", "model.onnx", "train.py", "train_data.npz"):
        assert (out / name).exists(), name

    import keras

    from datasets.choice import DatasetChoice
    from datasets.registry import load_dataset
    from models.network.spec import load_project
    from models.saving.export import load_exported

    project = load_project(out / "project.json")
    dataset = load_dataset(DatasetChoice(name="digits"))
    reference = keras.saving.load_model(out / "model.keras").predict(dataset.x_test, verbose=0)
    for fmt, name in (("weights", "model.weights.h5"), ("savedmodel", "saved_model"),
                      ("tflite", "model.tflite"), ("onnx", "model.onnx")):
        predict = load_exported(fmt, out / name, project=project, dataset=dataset)
        assert np.abs(predict(dataset.x_test) - reference).max() < 1e-4, fmt

    script = subprocess.run([sys.executable, str(out / "train.py")], capture_output=True, text=True,
                            timeout=300, cwd=tmp_path)
    assert script.returncode == 0, script.stderr[-2000:]


def test_linear_regression_recovers_w_and_b(tmp_path):
    out = tmp_path / "linear"
    assert train("--dataset", "linear", "--hidden", "none", "--optimizer", "sgd", "--lr", "0.03",
                 "--epochs", "3", "--batch-size", "10", "--out", str(out)) == 0
    import keras

    weights, bias = keras.saving.load_model(out / "model.keras").get_layer("output").get_weights()
    np.testing.assert_allclose(weights[:, 0], [2.0, -3.4], atol=0.05)
    np.testing.assert_allclose(bias, [4.2], atol=0.05)


@pytest.mark.parametrize(("file", "target", "metric", "epochs", "batch"), [
    ("penguins.csv", "species", "accuracy", "10", "32"), ("titanic.csv", "survived", "accuracy", "5", "32"),
    ("diamonds.csv", "price", "mae", "2", "256"),
])
def test_real_csv_tables_train(tmp_path, capsys, file, target, metric, epochs, batch):
    path = SHARED / file
    if not path.exists():
        pytest.skip(f"{path} is not here")
    out = tmp_path / "run"
    status = train("--dataset", "csv", "--data-file", str(path), "--target", target, "--epochs", epochs,
                   "--batch-size", batch, "--out", str(out))
    assert status == 0, capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert np.isfinite(metrics[metric])
    if metric == "accuracy":
        assert metrics["accuracy"] > 0.6
    else:  # the price model does much better than guessing the mean price (sd about 4,000)
        assert metrics["mae"] < 2500


@pytest.mark.parametrize(("args", "words"), [
    (["--dataset", "nosuch"], "nosuch"),
    (["--dataset", "spiral", "--hidden", "12,abc"], "--hidden takes widths"),
    (["--dataset", "spiral", "--lr", "-1"], "learning rate must be a number from"),
    (["--dataset", "spiral", "--dropout", "1.5"], "dropout rate"),
    (["--dataset", "spiral", "--epochs", "0"], "epochs must be"),
    (["--dataset", "csv"], "needs a file"),
    (["--dataset", "csv", "--data-file", "/nonexistent.csv", "--target", "y"], "nonexistent.csv"),
    (["--dataset", "spiral", "--export", "pdf"], "unknown export format"),
    (["--project", "/nonexistent/project.json"], "no project file"),
    (["--dataset", "spiral", "--device", "gpu:7"], "there is no GPU 7"),
    (["--dataset", "spiral", "--epochs", "many"], "invalid int value"),
    ([], "say what to train"),
    (["--dataset", "spiral", "--folds", "1"], "between 2 and 20 folds"),
    (["--dataset", "spiral", "--folds", "3", "--export", "keras"], "exports none"),
])
def test_bad_input_is_one_error_line_and_status_2(tmp_path, capsys, args, words):
    assert train(*args, "--out", str(tmp_path / "run")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:"), err
    assert words in err[0]


def test_project_file_with_overrides(tmp_path, capsys):
    from models.network.spec import DenseLayer, Project

    project = Project(layers=[DenseLayer(4, "tanh")])
    project.dataset.name = "xor"
    project.dataset.samples = 100
    project.save(tmp_path / "p.json")
    assert train("--project", str(tmp_path / "p.json"), "--epochs", "2", "--out", str(tmp_path / "run")) == 0
    saved = json.loads((tmp_path / "run" / "project.json").read_text())
    assert saved["training"]["epochs"] == 2 and saved["layers"][0]["units"] == 4
    history = (tmp_path / "run" / "history.csv").read_text().splitlines()
    assert len(history) == 3


def test_command_line_process_shows_no_traceback(tmp_path):
    """A real process: bad input gives status 2 and one line, nothing from TensorFlow or Python."""
    done = subprocess.run([sys.executable, str(ROOT / "main.py"), "train", "--dataset", "spiral", "--batch-size", "0"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: batch size must be a whole number from 1 to 1,000,000 (got 0)."]


def test_an_unexpected_failure_is_still_one_line(monkeypatch, capsys):
    def broken(args):
        raise RuntimeError("something we did not foresee")

    monkeypatch.setattr("cli.command_train", broken)
    assert run_cli(["train", "--dataset", "spiral"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: unexpected RuntimeError: something we did not foresee (set KERAS_TRAINER_DEBUG=1 to see where)."]


def test_folds_cross_validate_and_write_their_scores(tmp_path, capsys):
    out = tmp_path / "cv"
    status = train("--dataset", "iris", "--hidden", "16", "--epochs", "30", "--batch-size", "16",
                   "--folds", "3", "--out", str(out))
    assert status == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "fold 3/3: held-out 40 rows" in printed  # iris: 120 training rows
    assert "cross-validated accuracy:" in printed
    summary = json.loads((out / "crossval.json").read_text())
    accuracy = summary["scores"]["accuracy"]
    assert summary["complete"] and len(accuracy["per_fold"]) == 3
    assert accuracy["mean"] == pytest.approx(sum(accuracy["per_fold"]) / 3)
    assert (out / "project.json").exists() and not (out / "model.keras").exists()
