"""Sweeping one setting: naming it, its values, what each value changes, the runs, and the files."""

import csv
import json

import numpy as np
import pytest

from cli import run_cli
from models.errors import UserError
from models.experiments.history import RunHistory
from models.experiments.sweep import (
    SweepParam,
    apply_value,
    parse_param,
    parse_values,
    run_sweep,
    subset_rows,
)
from models.network.spec import BatchNormLayer, DenseLayer, DropoutLayer, Project
from tests.test_runner import blobs


def test_settings_are_named_as_the_command_line_writes_them():
    assert parse_param("units:2") == SweepParam("units", 2)
    assert parse_param("units") == SweepParam("units", 1)
    assert parse_param("learning_rate") == SweepParam("lr")
    assert parse_param("train_share").label == "train_share"
    for bad, words in (("width", "choose one of units:N, layers, lr"), ("units:0", "1 for the first"),
                       ("lr:2", "takes no layer number")):
        with pytest.raises(UserError, match=words):
            parse_param(bad)


def test_values_come_as_a_list_or_a_linear_or_log_range():
    units, lr = SweepParam("units", 1), SweepParam("lr")
    assert parse_values("2, 8,32,8", units) == [2, 8, 32]  # in order, each once
    assert parse_values("1:4:4", units) == [1, 2, 3, 4] == parse_values("1..4:4", units)
    assert parse_values("2.4,2.6", units) == [2, 3]  # a width is whole
    np.testing.assert_allclose(parse_values("0.0001:0.1:4:log", lr), [1e-4, 1e-3, 1e-2, 1e-1])
    np.testing.assert_allclose(parse_values("0:0.5:3", SweepParam("dropout")), [0, 0.25, 0.5])
    for text, param, words in (("a,b", lr, "not a comma-separated list"), ("0:1:3:log", lr, "above 0"),
                               ("1:2", lr, "start:stop:count"), ("0,0.1", lr, "learning rate of 0"),
                               ("0.5,1.5", SweepParam("train_share"), "at most 1"), ("0,2", units, "from 1 to 100,000"),
                               ("0.2,1", SweepParam("dropout"), "from 0 to 0.95"), ("", lr, "empty"),
                               ("1,3000000", SweepParam("layers"), "from 0 to 100"), ("0.1,20", lr, "to 10"), ("2..64", units, "needs a count of values")):
        with pytest.raises(UserError, match=words):
            parse_values(text, param)


def project_of(*layers) -> Project:
    return Project(layers=list(layers))


def test_each_setting_changes_what_it_names_and_nothing_else():
    base = project_of(DenseLayer(8, "tanh"), BatchNormLayer(), DenseLayer(4, "relu"))
    assert [layer.units for layer in apply_value(base, SweepParam("units", 2), 32).layers[::2]] == [8, 32]
    with pytest.raises(UserError, match="the network has 2"):
        apply_value(base, SweepParam("units", 3), 32)
    deeper = apply_value(base, SweepParam("layers"), 4).layers
    assert [type(layer).__name__ for layer in deeper] == ["DenseLayer", "BatchNormLayer", *["DenseLayer"] * 3]
    assert deeper[-1].units == 4 and deeper[-1] is not base.layers[-1]  # copies of the last Dense layer
    assert apply_value(base, SweepParam("layers"), 1).layers == [DenseLayer(8, "tanh"), BatchNormLayer()]
    assert apply_value(base, SweepParam("layers"), 0).layers == []
    assert apply_value(base, SweepParam("lr"), 0.05).optimizer.learning_rate == 0.05
    assert apply_value(base, SweepParam("batch_size"), 64).training.batch_size == 64
    assert apply_value(base, SweepParam("epochs"), 7).training.epochs == 7
    assert {layer.l2 for layer in apply_value(base, SweepParam("l2"), 0.01).layers if hasattr(layer, "l2")} == {0.01}
    dropped = apply_value(base, SweepParam("dropout"), 0.3).layers
    assert [type(layer).__name__ for layer in dropped] == ["DenseLayer", "DropoutLayer", "BatchNormLayer",
                                                           "DenseLayer", "DropoutLayer"]
    again = apply_value(project_of(*dropped), SweepParam("dropout"), 0.5).layers
    assert [layer.rate for layer in again if isinstance(layer, DropoutLayer)] == [0.5, 0.5]
    assert not any(isinstance(layer, DropoutLayer)
                   for layer in apply_value(project_of(*dropped), SweepParam("dropout"), 0).layers)
    assert base.layers[0].units == 8 and len(base.layers) == 3  # the original is untouched


def test_a_share_of_the_training_rows_is_drawn_by_the_seed():
    dataset = blobs()
    half = subset_rows(dataset, 0.5, seed=3)
    assert len(half.x_train) == round(len(dataset.x_train) * 0.5)
    assert len(half.x_test) == len(dataset.x_test)
    np.testing.assert_array_equal(subset_rows(dataset, 0.5, seed=3).x_train, half.x_train)
    assert not np.array_equal(subset_rows(dataset, 0.5, seed=4).x_train, half.x_train)
    assert subset_rows(dataset, 1.0, seed=3) is dataset


def test_a_sweep_trains_one_run_per_value_and_writes_its_points_in_order(tmp_path):
    project = project_of(DenseLayer(4, "relu"))
    project.training.epochs = 2
    points = []
    sweep = run_sweep(project, SweepParam("units", 1), [2.0, 16.0], blobs(), out=tmp_path / "sweep",
                      runs_root=tmp_path / "runs", stamp="20260101-000000", on_point=points.append)
    assert [point.value for point in points] == [2.0, 16.0]
    written = json.loads((tmp_path / "sweep" / "sweep.json").read_text())
    assert written["param"] == "units:1" and written["metric"] == "accuracy"
    assert [point["value"] for point in written["points"]] == [2.0, 16.0]
    for point in written["points"]:
        assert {"loss", "val_loss", "accuracy", "val_accuracy", "test_accuracy", "run_dir"} <= set(point)
    rows = list(csv.reader((tmp_path / "sweep" / "sweep.csv").open()))
    assert rows[0][:3] == ["value", "loss", "val_loss"] and len(rows) == 3
    runs = RunHistory(tmp_path / "runs").refresh()  # every run lands in the history
    assert sorted(record.project["layers"][0]["units"] for record in runs) == [2, 16]
    assert {record.name.split("-sweep-")[1] for record in runs} == {"units1-2", "units1-16"}
    assert sweep.points[0].run_dir != sweep.points[1].run_dir


def test_on_few_moons_a_wider_layer_fits_the_training_rows_better_the_model_complexity_curve(tmp_path):
    """The notes' picture: the training loss keeps falling as the layer widens (2 … 512 units on 80
    training rows), while the validation loss stops following it."""
    from datasets.choice import DatasetChoice
    from datasets.registry import load_dataset

    project = Project(dataset=DatasetChoice(name="moons", samples=100, noise=0.3), layers=[DenseLayer(2, "relu")])
    project.training.epochs, project.training.batch_size = 100, 16
    project.optimizer.learning_rate = 0.01
    sweep = run_sweep(project, SweepParam("units", 1), [2.0, 8.0, 32.0, 128.0, 512.0], load_dataset(project.dataset),
                      out=None, runs_root=tmp_path / "runs", stamp="20260101-000000")
    losses = [point.figures["loss"] for point in sweep.points]
    assert all(wider < narrower for narrower, wider in zip(losses, losses[1:], strict=False))
    assert losses[-1] < 0.5 * losses[0]
    validation = [point.figures["val_loss"] for point in sweep.points]
    assert validation[-1] > losses[-1] * 2  # the widest fits the training rows far better than the rest


def test_the_sweep_command_writes_sweep_json_and_csv_and_each_run_to_the_history(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KERAS_TRAINER_RUNS_DIR", str(tmp_path / "runs"))
    status = run_cli(["sweep", "--quiet", "--dataset", "spiral", "--samples", "80", "--epochs", "2", "--hidden", "4",
                      "--param", "lr", "--values", "0.001:0.1:3:log", "--out", str(tmp_path / "out")])
    assert status == 0
    out = capsys.readouterr().out
    assert "sweeping lr over 0.001, 0.01, 0.1 on spiral" in out
    written = json.loads((tmp_path / "out" / "sweep.json").read_text())
    assert [round(point["value"], 6) for point in written["points"]] == [0.001, 0.01, 0.1]
    assert len(RunHistory(tmp_path / "runs").refresh()) == 3
    assert run_cli(["sweep", "--dataset", "spiral", "--param", "width", "--values", "1,2"]) == 2
    assert "cannot sweep 'width'" in capsys.readouterr().err
