"""The instruments (models.instruments.recorder): per-layer readings that tell what happens inside a network."""

import json

import numpy as np
import pytest

from datasets.choice import DatasetChoice
from datasets.registry import load_dataset
from models.instruments.readings import Histogram, fixed_edges, records_from_json
from models.network.spec import (
    BatchNormLayer,
    DenseLayer,
    DropoutLayer,
    OptimizerSpec,
    Project,
    TrainingSpec,
)
from models.training.runner import TrainingListener, run_training

SPIRAL = DatasetChoice(name="spiral")


@pytest.fixture(scope="module")
def spiral():
    return load_dataset(SPIRAL)


def deep_project(activation, initializer, depth=8, width=16, epochs=3, **optimizer) -> Project:
    return Project(dataset=SPIRAL, layers=[DenseLayer(width, activation, kernel_initializer=initializer)
                                           for _ in range(depth)],
                   optimizer=OptimizerSpec(**optimizer), training=TrainingSpec(epochs=epochs, batch_size=32))


def last_records(run_dir) -> list:
    """The records of the last reading in the run folder's instruments.json, input side first."""
    records = records_from_json(json.loads((run_dir / "instruments.json").read_text(encoding="utf-8")))
    last_epoch = max(record.epoch for record in records)
    return sorted((record for record in records if record.epoch == last_epoch), key=lambda record: record.layer)


def gradient_ratio(records) -> float:
    return records[0].gradient_norm / records[-1].gradient_norm


def test_deep_sigmoid_stack_vanishes_where_relu_with_he_does_not(tmp_path, spiral):
    run_training(deep_project("sigmoid", "random_normal"), dataset=spiral, run_dir=tmp_path / "sigmoid",
                 instruments=True)
    run_training(deep_project("relu", "he_normal"), dataset=spiral, run_dir=tmp_path / "relu", instruments=True)
    sigmoid, relu = last_records(tmp_path / "sigmoid"), last_records(tmp_path / "relu")
    assert len(sigmoid) == len(relu) == 9  # eight hidden layers and the output
    assert gradient_ratio(sigmoid) < 1e-3
    assert gradient_ratio(relu) > 0.1


def test_a_learning_rate_of_0_3_kills_relu_units(spiral):
    project = deep_project("relu", "glorot_uniform", depth=3, width=32, epochs=5, learning_rate=0.3)
    result = run_training(project, dataset=spiral, instruments=True)
    final = result.instruments[-1].layers
    assert max(layer.dead_fraction for layer in final[:-1]) > 0.5
    assert final[-1].dead_fraction is None  # the output is no ReLU


def near_zero_share(spiral, l1=0.0, l2=0.0) -> float:
    project = Project(dataset=SPIRAL, layers=[DenseLayer(64, "relu", l1=l1, l2=l2), DenseLayer(64, "relu", l1=l1, l2=l2)],
                      optimizer=OptimizerSpec(name="sgd", learning_rate=0.05),
                      training=TrainingSpec(epochs=30, batch_size=32))
    result = run_training(project, dataset=spiral, instruments=True)
    hidden = result.instruments[-1].layers[:2]
    return float(np.mean([layer.near_zero_fraction for layer in hidden]))


def test_l1_makes_more_weights_zero_than_l2_or_neither(spiral):
    l1, l2, neither = near_zero_share(spiral, l1=1e-3), near_zero_share(spiral, l2=1e-3), near_zero_share(spiral)
    assert l1 > l2
    assert l1 > neither


class Collecting(TrainingListener):
    def __init__(self):
        self.readings, self.epoch_unit_outputs = [], []

    def on_instruments(self, reading):
        self.readings.append(reading)

    def on_epoch_ended(self, result):
        if result.unit_outputs is not None:
            self.epoch_unit_outputs.append(result.unit_outputs)


def test_readings_reach_the_listener_and_the_file_as_the_issue_names_them(tmp_path, spiral):
    project = Project(dataset=SPIRAL, layers=[DenseLayer(8, "tanh"), DropoutLayer(0.2), DenseLayer(6, "relu")],
                      training=TrainingSpec(epochs=4, batch_size=64))
    listener = Collecting()
    grid = np.random.default_rng(0).uniform(-1, 1, size=(50, 2)).astype(np.float32)
    result = run_training(project, listener=listener, dataset=spiral, run_dir=tmp_path / "run", instruments=True,
                          probe_x=grid)
    assert [reading.epoch for reading in listener.readings] == [reading.epoch for reading in result.instruments]
    # The listener had every reading's kernels; the run keeps only the newest's (memory of long runs).
    assert all(layer.kernel is not None for reading in listener.readings for layer in reading.layers)
    assert all(layer.kernel is None for reading in result.instruments[:-1] for layer in reading.layers)
    np.testing.assert_array_equal(result.instruments[-1].layers[0].kernel, result.model.get_layer("dense_1").kernel)
    assert result.instruments[0].epoch == 0 and result.instruments[-1].epoch == 4
    document = json.loads((tmp_path / "run" / "instruments.json").read_text(encoding="utf-8"))
    first = document["records"][0]
    for key in ("epoch", "layer", "name", "gradient_norm", "weight_norm", "update_ratio", "near_zero_fraction",
                "dead_fraction", "saturated_fraction"):
        assert key in first
    assert first["epoch"] == 0 and first["update_ratio"] is None  # nothing to compare the first reading with
    by_layer = {record["layer"]: record for record in document["records"] if record["epoch"] == 4}
    assert [by_layer[i]["name"] for i in range(3)] == ["dense_1", "dense_3", "output"]
    assert by_layer[0]["dead_fraction"] is None and by_layer[0]["saturated_fraction"] is not None  # tanh
    assert by_layer[1]["dead_fraction"] is not None and by_layer[1]["saturated_fraction"] is None  # relu
    assert by_layer[1]["update_ratio"] > 0
    weights = by_layer[0]["weights_histogram"]
    assert sum(weights["counts"]) == 2 * 8 and len(weights["edges"]) == len(weights["counts"]) + 1
    assert sum(by_layer[1]["outputs_histogram"]["counts"]) == 256 * 6  # 256 probe rows, 6 units
    # Every unit's outputs on the probe points, for the Neurons view, with the epoch reports and the result.
    assert [outputs.shape for outputs in result.unit_outputs] == [(50, 8), (50, 6), (50, 1)]
    assert listener.epoch_unit_outputs
    np.testing.assert_allclose(result.unit_outputs[-1][:, 0], result.probe[:, 0], rtol=1e-5, atol=1e-6)


def test_the_instruments_do_not_change_what_is_trained(spiral):
    project = Project(dataset=SPIRAL, layers=[DenseLayer(16, "relu"), BatchNormLayer(), DropoutLayer(0.3),
                                              DenseLayer(8, "relu")],
                      training=TrainingSpec(epochs=3, batch_size=32))
    with_instruments = run_training(project, dataset=spiral, instruments=True).model.get_weights()
    without = run_training(project, dataset=spiral).model.get_weights()
    for a, b in zip(with_instruments, without, strict=True):
        np.testing.assert_array_equal(a, b)


def test_batch_normalization_outputs_sit_near_mean_0_and_std_1(spiral):
    # tanh before it: a dead ReLU unit is all zeros, which normalising leaves at 0 (std 0, not 1).
    project = Project(dataset=SPIRAL, layers=[DenseLayer(16, "tanh"), BatchNormLayer(), DenseLayer(8, "tanh")],
                      training=TrainingSpec(epochs=1))
    first = run_training(project, dataset=spiral, instruments=True).instruments[0].layers
    assert first[0].output_std < 0.5  # the layer's own outputs are narrow,
    assert abs(first[0].batch_norm_mean) < 0.05  # normalised they are centred
    # and near unit spread (a little under: BatchNormalization divides by √(variance + 0.001)).
    assert 0.85 < first[0].batch_norm_std <= 1.0
    assert first[1].batch_norm_mean is None


def probe_of(project, spiral):
    from models.instruments.recorder import LayerProbe
    from models.network.build import build_model, encode_targets, resolve_output

    model = build_model(project, 2, spiral.task, spiral.n_classes, input_scale=spiral.input_scale)
    plan = resolve_output(project, spiral.task, spiral.n_classes)
    return model, LayerProbe(model, spiral.x_train[:100], encode_targets(spiral.y_train[:100], plan))


def test_dead_and_saturated_units_are_counted(spiral):
    model, probe = probe_of(Project(dataset=SPIRAL, layers=[DenseLayer(10, "relu"), DenseLayer(10, "tanh")]), spiral)
    relu, tanh = model.get_layer("dense_1"), model.get_layer("dense_2")
    bias = np.zeros(10, dtype=np.float32)
    bias[:4] = -1000.0  # four units never fire
    relu.bias.assign(bias)
    tanh.kernel.assign(tanh.kernel * 0.0)
    saturated = np.zeros(10, dtype=np.float32)
    saturated[:3] = 50.0  # three units pinned at tanh's ceiling
    tanh.bias.assign(saturated)
    layers = probe.read(0.0, 0).layers
    assert layers[0].dead_fraction == pytest.approx(0.4)
    assert layers[1].saturated_fraction == pytest.approx(0.3)
    assert layers[2].saturated_fraction is None  # a confident sigmoid output is no fault


def test_the_last_reading_is_of_the_weights_early_stopping_restores(spiral):
    from models.network.spec import EarlyStoppingSpec

    project = deep_project("relu", "he_normal", depth=2, width=16, epochs=30, learning_rate=0.05)
    project.training.early_stopping = EarlyStoppingSpec(enabled=True, patience=1, min_delta=0.05)
    result = run_training(project, dataset=spiral, instruments=True)
    assert result.reason == "early_stopping"
    np.testing.assert_array_equal(result.instruments[-1].layers[0].kernel, result.model.get_layer("dense_1").kernel)


def test_a_stop_inside_an_epoch_is_read_at_the_step_it_came(spiral):
    from models.training.runner import StopRequest

    class StopAfterTwoReports(TrainingListener):
        def __init__(self, stop):
            self.stop, self.reports = stop, 0

        def on_batch_progress(self, progress):
            self.reports += 1
            if self.reports == 2:
                self.stop.set()

    stop = StopRequest()
    project = deep_project("relu", "he_normal", depth=1, width=8, epochs=2)
    project.training.batch_size = 1  # 384 steps an epoch
    result = run_training(project, listener=StopAfterTwoReports(stop), stop=stop, dataset=spiral, instruments=True,
                          progress_interval=0.0, steps_per_execution=1)
    last = result.instruments[-1]
    assert result.reason == "stopped"
    assert 0 < last.step < 384 and last.epoch == pytest.approx(last.step / 384, abs=1e-4)


def test_update_ratio_measures_the_change_since_the_last_reading(spiral):
    model, probe = probe_of(Project(dataset=SPIRAL, layers=[DenseLayer(10, "relu")]), spiral)
    probe.read(0.0, 0)
    kernel = model.get_layer("dense_1").kernel
    kernel.assign(kernel * 1.01)
    layer = probe.read(1.0, 10).layers[0]
    assert layer.update_ratio == pytest.approx(0.01 / 1.01, rel=1e-3)
    assert layer.update_ratio_per_step == pytest.approx(layer.update_ratio / 10)


def test_histograms_keep_every_value_and_read_off_quantiles():
    edges = fixed_edges(np.array([-1.0, 2.0]))
    assert edges[0] == -4.0 and edges[-1] == 4.0
    histogram = Histogram.of(np.array([-10.0, 0.0, 0.5, 10.0, np.nan]), edges)
    assert histogram.counts.sum() == 4 and histogram.counts[0] == 1 and histogram.counts[-1] == 1
    assert (histogram.minimum, histogram.maximum) == (-10.0, 10.0)
    middle = Histogram.of(np.linspace(-1, 1, 1001), np.linspace(-1, 1, 41)).quantiles([0.5])[0]
    assert middle == pytest.approx(0.0, abs=0.01)
    assert list(fixed_edges(np.zeros(3), "sigmoid")[[0, -1]]) == [0.0, 1.0]


def test_the_per_step_update_is_measured_on_the_first_step_after_a_reading(spiral):
    model, probe = probe_of(Project(dataset=SPIRAL, layers=[DenseLayer(10, "relu")]), spiral)
    kernel = model.get_layer("dense_1").kernel
    probe.read(0.0, 0)
    kernel.assign(kernel * 1.001)  # the step right after the reading
    probe.measure_step(1)
    for _ in range(9):  # nine steps more, each undoing part of the last: noisy steps partly cancel
        kernel.assign(kernel * 0.99989)
    layer = probe.read(1.0, 10).layers[0]
    assert layer.update_ratio_per_step == pytest.approx(0.001 / 1.001, rel=1e-3)
    assert layer.update_ratio < 0.001  # the change over all ten steps is smaller than the first step's


def test_instruments_that_fail_never_stop_the_run_and_the_result_says_why(spiral, monkeypatch):
    from models.instruments.recorder import LayerProbe

    original = LayerProbe.read
    calls = []

    def read_once_then_fail(self, epoch, step):
        calls.append(epoch)
        if len(calls) > 1:
            raise FloatingPointError("a broken reading")
        return original(self, epoch, step)

    monkeypatch.setattr(LayerProbe, "read", read_once_then_fail)
    result = run_training(deep_project("relu", "he_normal", depth=1, epochs=3), dataset=spiral, instruments=True)
    assert result.reason == "completed" and result.epochs_run == 3
    assert len(result.instruments) == 1 and len(calls) == 2  # no reading is tried after the failure
    assert "FloatingPointError: a broken reading" in result.instruments_error


@pytest.mark.parametrize("name, loss", [("spiral", "auto"), ("iris", "categorical_crossentropy"), ("plane", "huber")])
def test_the_probe_loss_is_keras_own_loss_regularisation_included(name, loss):
    """The probe computes the compiled loss itself (tracing Keras's machinery took twice as long)."""
    import tensorflow as tf

    from models.instruments.recorder import LayerProbe
    from models.network.build import build_model, encode_targets, resolve_output
    from models.network.spec import OutputSpec

    data = load_dataset(DatasetChoice(name=name))
    project = Project(dataset=DatasetChoice(name=name), layers=[DenseLayer(8, "tanh", l1=0.01, l2=0.3)],
                      output=OutputSpec(loss=loss))
    model = build_model(project, data.n_features, data.task, data.n_classes, input_scale=data.input_scale,
                        target_scale=data.target_scale)
    x, y = data.x_train[:64], encode_targets(data.y_train[:64], resolve_output(project, data.task, data.n_classes))
    expected = float(model.compute_loss(x=x, y=tf.constant(y), y_pred=model(x, training=False), training=False))
    assert LayerProbe(model, x, y).read(0.0, 0).loss == pytest.approx(expected, rel=1e-5)


def test_leaky_relu_layers_are_named_so_and_get_no_dead_figure(spiral):
    project = Project(dataset=SPIRAL, layers=[DenseLayer(8, "leaky_relu"), DenseLayer(8, "relu")],
                      training=TrainingSpec(epochs=1))
    layers = run_training(project, dataset=spiral, instruments=True).instruments[-1].layers
    assert [layer.activation for layer in layers] == ["leaky_relu", "relu", "sigmoid"]
    assert layers[0].dead_fraction is None and layers[1].dead_fraction is not None
