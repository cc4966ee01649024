"""The shared runner: reports, stop, NaN, early stopping, run folder, reproducibility, devices."""

import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from datasets.base import Dataset
from models.errors import UserError
from models.experiments.tensorboard_log import tensorboard_available
from models.network.spec import DenseLayer, Project
from models.training.runner import (
    EARLY_STOPPING,
    NAN_LOSS,
    STOPPED,
    TrainingFailed,
    TrainingListener,
    run_training,
)

ROOT = Path(__file__).resolve().parents[1]


def blobs(n=200, classes=3, features=4, seed=0) -> Dataset:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n).astype(np.int32)
    centres = rng.normal(0, 3, (classes, features))
    x = (centres[y] + rng.normal(0, 1, (n, features))).astype(np.float32)
    cut = int(n * 0.8)
    return Dataset(
        "blobs",
        "classification",
        x[:cut],
        y[:cut],
        x[cut:],
        y[cut:],
        [f"f{i}" for i in range(features)],
        [f"c{i}" for i in range(classes)],
    )


def line(n=200, seed=0) -> Dataset:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2)).astype(np.float32)
    y = (x @ np.array([2.0, -3.4]) + 4.2).astype(np.float32)
    return Dataset("line", "regression", x[:160], y[:160], x[160:], y[160:], ["x1", "x2"])


def small_project(**training) -> Project:
    project = Project(layers=[DenseLayer(8, "relu")])
    project.training.epochs = 3
    project.training.batch_size = 16
    for key, value in training.items():
        setattr(project.training, key, value)
    return project


class Recorder(TrainingListener):
    def __init__(self, stop_after_batches=None, stop=None):
        self.events, self.batches, self.epochs = [], [], []
        self.stop_after_batches, self.stop = stop_after_batches, stop
        self.finished = self.failed = None

    def on_run_started(self, info):
        self.events.append("started")
        self.info = info

    def on_batch_progress(self, progress):
        self.batches.append(progress)
        if self.stop_after_batches and len(self.batches) >= self.stop_after_batches:
            self.stop.set()

    def on_epoch_ended(self, result):
        self.events.append("epoch")
        self.epochs.append(result)

    def on_finished(self, result):
        self.events.append("finished")
        self.finished = result

    def on_failed(self, message):
        self.events.append("failed")
        self.failed = message


def test_reports_arrive_in_order_and_the_run_folder_is_complete(tmp_path):
    recorder = Recorder()
    result = run_training(small_project(), recorder, dataset=blobs(), run_dir=tmp_path / "run",
                          progress_interval=0, steps_per_execution=1)
    assert recorder.events == ["started", "epoch", "epoch", "epoch", "finished"]
    assert recorder.info.steps_per_epoch == math.ceil(128 / 16)
    assert recorder.info.validation_samples == 32
    assert len(recorder.batches) == 3 * 8
    assert all(math.isfinite(batch.loss) for batch in recorder.batches)
    assert set(recorder.epochs[-1].logs) >= {
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
        "learning_rate",
    }
    folder = tmp_path / "run"
    assert sorted(p.name for p in folder.iterdir()) == [
        "evaluation.csv",
        "history.csv",
        "metrics.json",
        "model.keras",
        "preprocessing.json",
        "project.json",
        "status.json",
        *(["tensorboard"] if tensorboard_available() else []),  # the optional extra, which the tests install
    ]
    status = json.loads((folder / "status.json").read_text())
    assert status["status"] == "completed" and status["reason"] == "completed" and status["ended"]
    metrics = json.loads((folder / "metrics.json").read_text())
    assert set(metrics) >= {"loss", "accuracy", "train_samples_per_second"}
    assert metrics["train_samples_per_second"] > 0
    assert metrics["accuracy"] == pytest.approx(result.test_metrics["accuracy"])
    history = (folder / "history.csv").read_text().splitlines()
    assert history[0].startswith("epoch,") and len(history) == 4


def test_progress_is_throttled_to_a_human_rate():
    recorder = Recorder()
    project = small_project(epochs=2, batch_size=1)
    run_training(project, recorder, dataset=blobs(n=400), progress_interval=0.05)
    elapsed = recorder.epochs[-1].elapsed_s
    assert (
        len(recorder.batches) <= elapsed / 0.05 + 2 * 2
    )  # at most one per interval, plus each epoch's first


def test_stop_request_ends_within_a_batch_and_keeps_the_weights():
    from models.training.runner import StopRequest

    stop = StopRequest()
    recorder = Recorder(stop_after_batches=3, stop=stop)
    project = small_project(epochs=50)
    result = run_training(project, recorder, stop=stop, dataset=blobs(), progress_interval=0, steps_per_execution=1)
    assert result.reason == STOPPED
    assert result.epochs_run == 1  # the first epoch (8 batches), cut short
    assert len(recorder.batches) == 3
    assert int(result.model.optimizer.iterations) == 3  # no batch ran after the request
    predictions = result.model.predict(blobs().x_test, verbose=0)
    assert predictions.shape == (40, 3)


def test_with_several_batches_per_call_a_stop_ends_that_call():
    from models.training.runner import StopRequest

    stop = StopRequest()
    recorder = Recorder(stop_after_batches=1, stop=stop)
    project = small_project(epochs=50, batch_size=4)  # 32 batches an epoch
    result = run_training(project, recorder, stop=stop, dataset=blobs(), progress_interval=0, steps_per_execution=5)
    assert result.reason == STOPPED
    assert recorder.batches[0].step == 5  # the report comes after the first call of five batches
    assert int(result.model.optimizer.iterations) == 5


def test_automatic_batches_per_call_stay_within_an_epoch_and_a_limit():
    from models.training.performance import MAX_STEPS_PER_EXECUTION, choose_steps_per_execution

    assert choose_steps_per_execution(1e3, steps_per_epoch=80, flops_per_second=1e11) == 80  # a short epoch: one call
    assert choose_steps_per_execution(1e3, steps_per_epoch=5, flops_per_second=1e11) == 5
    # a tiny network's long epoch: about 100 ms of steps a call, each costing its overhead
    assert 200 <= choose_steps_per_execution(1e3, steps_per_epoch=10_000, flops_per_second=1e11) \
        <= MAX_STEPS_PER_EXECUTION
    assert choose_steps_per_execution(1e12, steps_per_epoch=10_000, flops_per_second=1e11) == 1
    # the notes' 784-512-10 network at batch 128 on a 100 GFLOP/s machine: about 32 batches per 100 ms
    assert 24 <= choose_steps_per_execution(6 * (784 * 512 + 512 * 10) * 128, 469, 1e11) <= 40


def test_nan_loss_is_reported_as_the_reason():
    project = small_project(epochs=5)
    project.optimizer.name = "sgd"
    project.optimizer.learning_rate = 5.0
    data = line()
    data.y_train = data.y_train * 1e6
    result = run_training(project, dataset=data)
    assert result.reason == NAN_LOSS
    assert result.epochs_run < 5


def test_early_stopping_ends_the_run():
    project = small_project(epochs=200)
    project.optimizer.learning_rate = 0.05
    project.training.early_stopping.enabled = True
    project.training.early_stopping.patience = 2
    project.training.early_stopping.min_delta = 0.05  # only big improvements count
    result = run_training(project, dataset=blobs())
    assert result.reason == EARLY_STOPPING
    assert result.epochs_run < 200


def test_same_seed_gives_the_same_run():
    first = run_training(small_project(), dataset=blobs())
    second = run_training(small_project(), dataset=blobs())
    assert first.history == second.history
    other = run_training(small_project(seed=1), dataset=blobs())
    assert other.history != first.history


def test_failure_reaches_the_listener_as_a_sentence():
    project = small_project()
    project.output.loss = "binary_crossentropy"
    recorder = Recorder()
    with pytest.raises(TrainingFailed):
        run_training(project, recorder, dataset=line())
    assert recorder.events == ["failed"]
    assert "cross-entropy needs classes" in recorder.failed


def test_missing_gpu_is_a_clear_error():
    with pytest.raises(UserError, match="there is no GPU 3"):
        run_training(small_project(device="gpu:3"), dataset=blobs())


def test_probe_outputs_come_with_epochs_and_result():
    probe = np.zeros((25, 4), dtype=np.float32)
    recorder = Recorder()
    result = run_training(small_project(), recorder, dataset=blobs(), probe_x=probe)
    assert recorder.epochs[0].probe.shape == (25, 3)
    assert result.probe.shape == (25, 3)


def test_all_devices_path_mirrors_across_logical_cpus(tmp_path):
    """MirroredStrategy, exercised on a CPU split into two logical devices in a fresh process."""
    script = textwrap.dedent(f"""
        import sys, json
        sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(Path(__file__).parent)!r})
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from test_runner import blobs, small_project
        from models.training.runner import run_training
        result = run_training(small_project(device="all_gpus"), dataset=blobs())
        # Odd test and validation sets: each replica's share of the first batch differs.
        odd = run_training(small_project(device="all_gpus", validation_fraction=0.2), dataset=blobs(n=205))
        print(json.dumps({{"device": result.device, "replicas": result.model.distribute_strategy.num_replicas_in_sync,
                          "loss": result.history["loss"], "odd_test": odd.test_metrics,
                          "odd_val_loss": odd.history["val_loss"]}}))
    """)
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["device"] == "2 CPU devices mirrored"
    assert report["replicas"] == 2
    assert all(math.isfinite(value) for value in report["loss"])
    assert 0 <= report["odd_test"]["accuracy"] <= 1 and all(math.isfinite(v) for v in report["odd_val_loss"])


def test_evaluation_batches_split_evenly_across_replicas():
    from models.training.runner import _evaluation_batch_size

    assert _evaluation_batch_size(16, 41, replicas=1) == 256
    assert _evaluation_batch_size(16, 41, replicas=2) == 40  # 40 + 1: the first batch splits 20/20
    assert _evaluation_batch_size(16, 1000, replicas=2) == 256
    assert _evaluation_batch_size(16, 33, replicas=2, at_least=16) == 16
    assert _evaluation_batch_size(16, 7, replicas=4, at_least=16) == 4


def test_every_call_reaches_the_listener_as_a_point_though_reports_are_throttled():
    recorder = Recorder()
    project = small_project(epochs=3, batch_size=4)  # 32 batches an epoch
    run_training(project, recorder, dataset=blobs(), progress_interval=60.0, steps_per_execution=4)
    points = [point for report in recorder.batches for point in report.points]
    assert len(recorder.batches) <= 2  # the first call, and the flush at the end
    assert len(points) == 3 * 32  # one point per batch, though a call runs four
    positions = [position for position, _, _ in points]
    assert positions == sorted(positions) and positions[-1] == pytest.approx(3.0)
    assert all(math.isfinite(loss) and 0 <= accuracy <= 1 for _, loss, accuracy in points)


def test_single_device_runs_use_fused_optimizer_kernels():
    result = run_training(small_project(epochs=1), dataset=blobs())
    assert "update_step" in vars(result.model.optimizer)
    assert result.history["loss"][0] > 0


def test_each_point_is_its_own_calls_mean_and_they_average_to_the_epoch_loss():
    """Keras reports running means; the points are each batch's own figures, recovered from them."""
    recorder = Recorder()
    project = small_project(epochs=3, batch_size=16, validation_fraction=0.0)  # 160 rows: 10 full batches
    result = run_training(project, recorder, dataset=blobs(), progress_interval=0.0, steps_per_execution=2)
    points = [point for report in recorder.batches for point in report.points]
    assert len(points) == 3 * 10  # every batch of the five calls of two an epoch
    for epoch in range(3):
        in_epoch = [loss for position, loss, _ in points if epoch < position <= epoch + 1]
        assert len(in_epoch) == 10
        # Equal batches of 16 rows: their plain mean is the epoch's training loss.
        assert np.mean(in_epoch) == pytest.approx(result.history["loss"][epoch], rel=1e-4)
        accuracies = [accuracy for position, _, accuracy in points if epoch < position <= epoch + 1]
        assert np.mean(accuracies) == pytest.approx(result.history["accuracy"][epoch], abs=1e-4)
        assert all(0 <= value <= 1 for value in accuracies)
    running = [report.loss for report in recorder.batches]  # the reports keep the running mean
    assert running[-1] == pytest.approx(result.history["loss"][-1], rel=1e-5)
