"""A run's evaluation on its test rows: metrics.json's new keys, evaluation.csv, and what `train` prints."""

import csv
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.metrics import classification_report  # noqa: E402

from cli import run_cli  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """The notes' MNIST recipe on the 8×8 digits, as the README runs it."""
    out = tmp_path_factory.mktemp("digits") / "run"
    code = run_cli(["train", "--dataset", "digits", "--hidden", "64", "--optimizer", "rmsprop", "--epochs", "3",
                    "--batch-size", "128", "--validation", "0", "--quiet", "--out", str(out)])
    assert code == 0
    return out


def test_the_confusion_matrix_counts_every_test_row_and_its_diagonal_is_the_accuracy(digits_run):
    metrics = json.loads((digits_run / "metrics.json").read_text())
    matrix = np.array(metrics["confusion_matrix"])
    assert metrics["classes"] == [str(d) for d in range(10)] and matrix.shape == (10, 10)
    assert matrix.sum() == 360  # the digits' test rows
    assert np.trace(matrix) / matrix.sum() == pytest.approx(metrics["accuracy"], abs=1e-6)


def test_per_class_figures_are_scikit_learns_from_evaluation_csv(digits_run):
    metrics = json.loads((digits_run / "metrics.json").read_text())
    rows = read_csv(digits_run / "evaluation.csv")
    assert len(rows) == 360 and list(rows[0])[:3] == ["row", "true", "predicted"]
    report = classification_report([r["true"] for r in rows], [r["predicted"] for r in rows], output_dict=True,
                                   zero_division=0)
    for name in metrics["classes"]:
        for key, figure in (("precision", "precision"), ("recall", "recall"), ("f1", "f1-score"), ("support", "support")):
            assert metrics["per_class"][name][key] == pytest.approx(report[name][figure])
    probabilities = np.array([[float(r[f"probability_{d}"]) for d in range(10)] for r in rows])
    assert [str(i) for i in probabilities.argmax(axis=1)] == [r["predicted"] for r in rows]


def test_train_prints_the_baseline_and_the_confusion_matrix(tmp_path, capsys):
    rows = "x,y\n" + "".join(f"{i / 100},{'big' if i > 70 else 'small'}\n" for i in range(100))
    (tmp_path / "t.csv").write_text(rows)
    assert run_cli(["train", "--dataset", "csv", "--data-file", str(tmp_path / "t.csv"), "--target", "y",
                    "--epochs", "2", "--quiet", "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    majority = metrics["baseline"]["accuracy"]
    assert metrics["baseline"]["majority_class"] == "small"
    truth = [r["true"] for r in read_csv(tmp_path / "run" / "evaluation.csv")]
    assert majority == pytest.approx(truth.count("small") / len(truth))  # the share of the most common class
    assert f"(majority class: {majority:.2f})" in out
    assert "confusion matrix (rows: true class, columns: predicted):" in out
    assert 0 <= metrics["roc_auc"] <= 1  # two classes
    # The row column names each test row's line in the file: data row i holds x = (i - 1) / 100.
    for row in read_csv(tmp_path / "run" / "evaluation.csv"):
        assert row["true"] == ("big" if int(row["row"]) - 1 > 70 else "small")


def test_a_regression_reports_rmse_r2_and_the_mean_baseline(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, 200)
    lines = "".join(f"{a:.3f},{1000 * a + 5000:.1f}\n" for a in x)
    (tmp_path / "r.csv").write_text("size,price\n" + lines)
    assert run_cli(["train", "--dataset", "csv", "--data-file", str(tmp_path / "r.csv"), "--target", "price",
                    "--epochs", "30", "--quiet", "--out", str(tmp_path / "run")]) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    rows = read_csv(tmp_path / "run" / "evaluation.csv")
    residuals = np.array([float(r["residual"]) for r in rows])
    assert list(rows[0]) == ["row", "true", "predicted", "residual"]
    assert metrics["rmse"] == pytest.approx(np.sqrt(np.mean(residuals ** 2)), rel=1e-4)
    assert metrics["r2"] > 0.9 and abs(metrics["baseline"]["r2"]) < 0.05
    assert metrics["baseline"]["mae"] > metrics["mae"]
    assert "(training mean:" in capsys.readouterr().out
