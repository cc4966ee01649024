"""TensorBoard event files in a run folder: the epoch figures, the learning rate, the layers' histograms."""

import csv

import numpy as np
import pytest

from cli import run_cli
from models.experiments import tensorboard_log


def events(folder, part):
    """TensorBoard's own reader of the event files, as `tensorboard --logdir` reads them."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(folder / "tensorboard" / part), size_guidance={"scalars": 0, "histograms": 0})
    accumulator.Reload()
    return accumulator


def values(accumulator, tag):
    return [(event.step, event.value) for event in accumulator.Scalars(tag)]


def test_a_run_folder_holds_tensorboard_events_of_its_curves_and_histograms(tmp_path):
    out = tmp_path / "run"
    assert run_cli(["train", "--quiet", "--dataset", "spiral", "--samples", "120", "--epochs", "3", "--hidden", "8",
                    "--lr", "0.02", "--out", str(out)]) == 0
    assert not (out / tensorboard_log.PARTIAL).exists()
    with (out / "history.csv").open() as handle:
        history = list(csv.DictReader(handle))
    train, validation = events(out, "train"), events(out, "validation")
    assert [step for step, _ in values(train, "epoch_loss")] == [1, 2, 3]
    np.testing.assert_allclose([float(value) for _, value in values(train, "epoch_loss")],
                               [float(row["loss"]) for row in history], rtol=1e-6)
    np.testing.assert_allclose([float(value) for _, value in values(validation, "epoch_loss")],
                               [float(row["val_loss"]) for row in history], rtol=1e-6)
    assert [float(value) for _, value in values(train, "epoch_learning_rate")] == pytest.approx([0.02] * 3)
    [first, *_] = train.Histograms("dense_1/weights")
    assert first.histogram_value.num == 2 * 8  # every entry of the first kernel (2 inputs × 8 units)
    assert len(first.histogram_value.bucket) == len(first.histogram_value.bucket_limit) > 1
    assert {"dense_1/gradients", "dense_1/outputs", "output/weights"} <= set(train.Tags()["histograms"])


def test_without_tensorboard_no_events_are_written_and_the_run_is_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(tensorboard_log, "tensorboard_available", lambda: False)
    out = tmp_path / "run"
    assert run_cli(["train", "--quiet", "--no-diagnosis", "--dataset", "spiral", "--samples", "60", "--epochs", "1",
                    "--out", str(out)]) == 0
    assert not (out / "tensorboard").exists()
    assert (out / "metrics.json").is_file()
