"""Residual connections: a Dense layer's input added to its output (through a projection where the widths differ),
built with Keras's functional API, exported in every runtime, and offered for vanishing gradients."""

import numpy as np
import pytest
from tiny_data import export_difference, trained_briefly

from cli import run_cli
from datasets.registry import load_dataset
from models.network.build import build_model
from models.network.params import count_parameters
from models.network.spec import DenseLayer, Project


def residual_project(depth: int = 3, activation: str = "tanh", residual: bool = True) -> Project:
    project = Project()
    project.dataset.name = "spiral"
    project.layers = [DenseLayer(16, activation, residual=residual) for _ in range(depth)]
    return project


def test_a_residual_layer_adds_its_input_and_a_projection_where_the_widths_differ():
    model = build_model(residual_project(2), 2, "classification", 2)
    names = [layer.name for layer in model.layers]
    assert names[:5] == ["features", "dense_1", "residual_projection_1", "residual_add_1", "dense_2"]
    assert "residual_projection_2" not in names  # 16 → 16: the input is added as it is
    x = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    first, projection = model.get_layer("dense_1"), model.get_layer("residual_projection_1")
    h = np.tanh(x @ first.kernel.numpy() + first.bias.numpy()) + x @ projection.kernel.numpy()
    second = model.get_layer("dense_2")
    h = np.tanh(h @ second.kernel.numpy() + second.bias.numpy()) + h
    output = model.get_layer("output")
    expected = 1 / (1 + np.exp(-(h @ output.kernel.numpy() + output.bias.numpy())))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5)


def test_the_parameter_counts_include_the_projection():
    rows = count_parameters(residual_project(2), 2, 1)
    assert rows[0].trainable == 2 * 16 + 16 + 2 * 16 and rows[0].label.endswith("+ residual")
    assert rows[1].trainable == 16 * 16 + 16  # no projection between equal widths
    model = build_model(residual_project(2), 2, "classification", 2)
    assert sum(row.total for row in rows) == model.count_params()


def test_residual_connections_keep_the_gradient_of_twenty_sigmoid_layers_alive():
    from models.training.runner import run_training

    ratios, findings = {}, {}
    for residual in (False, True):
        project = residual_project(20, "sigmoid", residual)
        project.training.epochs = 3
        result = run_training(project, instruments=True, diagnose=True)
        layers = result.instruments[-1].layers
        assert len(layers) == 21  # the projection is no layer of the network's own
        ratios[residual] = layers[0].gradient_norm / layers[-1].gradient_norm
        findings[residual] = result.diagnosis.find("vanishing_gradients")
    assert ratios[True] >= 100 * ratios[False]  # measured: 0.026 against 7e-14
    assert findings[True] is None
    assert {"kind": "residual"} in [remedy.edit for remedy in findings[False].remedies]


@pytest.fixture(scope="module")
def trained_residual():
    project = residual_project(3)
    dataset = load_dataset(project.dataset)
    return project, dataset, trained_briefly(project, dataset, rows=len(dataset.x_train))


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning", "ignore::FutureWarning")
@pytest.mark.parametrize("fmt", ["keras", "weights", "savedmodel", "tflite", "onnx"])
def test_a_residual_network_exports_and_predicts_like_itself_in_every_runtime(trained_residual, tmp_path, fmt):
    project, dataset, model = trained_residual
    assert export_difference(model, fmt, tmp_path, project, dataset, dataset.x_test) <= 1e-4


def test_the_generated_script_wires_the_same_residual_network(trained_residual):
    from models.saving.script import training_script_source

    project, dataset, model = trained_residual
    code = training_script_source(project, dataset)
    namespace = {"__name__": "train_py", "__file__": "train.py"}
    exec(compile(code, "train.py", "exec"), namespace)  # noqa: S102 (our own generated code)
    rebuilt = namespace["build_model"]({})
    assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in model.layers]
    rebuilt.set_weights(model.get_weights())
    np.testing.assert_allclose(rebuilt.predict(dataset.x_test, verbose=0), model.predict(dataset.x_test, verbose=0),
                               atol=1e-5)


def test_the_residual_flag_marks_every_hidden_layer(tmp_path):
    import json

    out = tmp_path / "run"
    assert run_cli(["train", "--dataset", "moons", "--hidden", "8,8", "--residual", "--epochs", "2", "--quiet",
                    "--out", str(out)]) == 0
    saved = json.loads((out / "project.json").read_text(encoding="utf-8"))
    assert [layer["residual"] for layer in saved["layers"]] == [True, True]


def test_a_residual_network_trains_again_on_its_kept_model_and_cross_validates(capsys):
    from models.training.runner import run_training

    project = residual_project(2)
    project.training.epochs = 2
    first, second = run_training(project), run_training(project)  # the second takes the first's model, reset
    assert first.history["loss"] == pytest.approx(second.history["loss"], rel=1e-5)
    assert run_cli(["train", "--dataset", "moons", "--hidden", "8,8", "--residual", "--folds", "3", "--epochs", "1",
                    "--quiet"]) == 0
    assert "over 3 of 3 folds" in capsys.readouterr().out
