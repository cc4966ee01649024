"""The standalone training script: it rebuilds the program's network exactly and trains it."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import ast  # noqa: E402
import importlib.util  # noqa: E402
import inspect  # noqa: E402
import math  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from dataclasses import replace  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from tiny_data import tiny_dataset  # noqa: E402

from datasets.base import CLASSIFICATION, REGRESSION, Dataset  # noqa: E402
from models.errors import UserError  # noqa: E402
from models.network.build import build_model, encode_targets, resolve_output  # noqa: E402
from models.network.spec import (  # noqa: E402
    BatchNormLayer,
    DenseLayer,
    DropoutLayer,
    EarlyStoppingSpec,
    OptimizerSpec,
    OutputSpec,
    Project,
    ScheduleSpec,
    TrainingSpec,
)
from models.saving.script import DATA_FILE_NAME, training_script_source, write_training_script  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def leaky_sgd_project() -> Project:
    """Leaky ReLU, L2, batch norm, dropout, SGD with Nesterov momentum and exponential decay."""
    return Project(
        name="Leaky SGD",
        layers=[
            DenseLayer(
                16, "leaky_relu", negative_slope=0.1, kernel_initializer="he_normal", l2=0.01
            ),
            BatchNormLayer(momentum=0.9),
            DropoutLayer(0.25),
            DenseLayer(8, "tanh", l1=0.001, l2=0.002, use_bias=False),
        ],
        optimizer=OptimizerSpec("sgd", 0.05, momentum=0.9, nesterov=True, clipnorm=1.0),
        schedule=ScheduleSpec("exponential_decay", decay_rate=0.8, decay_epochs=2.0),
        training=TrainingSpec(
            epochs=1,
            batch_size=16,
            validation_fraction=0.25,
            seed=7,
            early_stopping=EarlyStoppingSpec(enabled=True, patience=2),
        ),
    )


def huber_plateau_project() -> Project:
    """A regression with Huber loss, clipped RMSprop, plateau reduction and no validation set."""
    return Project(
        name="Huber plateau",
        layers=[
            DenseLayer(10, "selu", kernel_initializer="lecun_normal"),
            DenseLayer(4, "gelu", l1=0.01),
        ],
        output=OutputSpec(loss="huber"),
        optimizer=OptimizerSpec("rmsprop", 0.01, centered=True, momentum=0.5, clipvalue=0.5),
        schedule=ScheduleSpec("reduce_on_plateau", factor=0.5, patience=1),
        training=TrainingSpec(
            epochs=1, batch_size=8, validation_fraction=0.0, seed=2, shuffle=False
        ),
    )


def steps_per_epoch(project: Project, dataset: Dataset) -> int:
    """Batches per epoch once the script has carved out its validation rows."""
    n_rows = len(dataset.x_train)
    n_fit = n_rows - math.ceil(n_rows * project.training.validation_fraction)
    return math.ceil(n_fit / project.training.batch_size)


def program_model(project: Project, dataset: Dataset):
    return build_model(
        project,
        dataset.n_features,
        dataset.task,
        dataset.n_classes,
        steps_per_epoch=steps_per_epoch(project, dataset),
    )


def import_script(path, name: str):
    """Imports a generated script as a module without running its `main`."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def optimizer_config(optimizer) -> dict:
    """Its settings, less the name Keras numbers to keep unique within a session."""
    return {key: value for key, value in optimizer.get_config().items() if key != "name"}


def layer_configs(model) -> list[tuple[str, dict]]:
    return [(type(layer).__name__, layer.get_config()) for layer in model.layers]


def run_script(path) -> subprocess.Popen:
    """Starts ``python train.py`` from another folder, to show it finds its data by itself."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.Popen(
        [sys.executable, str(path)],
        cwd=path.parent.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def script_runs(tmp_path_factory):
    """Writes and runs both scripts at once (each pays TensorFlow's start-up), then waits."""
    cases = {
        "classification": (leaky_sgd_project(), tiny_dataset(CLASSIFICATION)),
        "regression": (huber_plateau_project(), tiny_dataset(REGRESSION, seed=1)),
    }
    started = {}
    for name, (project, dataset) in cases.items():
        folder = tmp_path_factory.mktemp(name) / "export"
        script, _ = write_training_script(project, dataset, folder / "train.py")
        started[name] = (project, dataset, script, run_script(script))
    finished = {}
    for name, (project, dataset, script, process) in started.items():
        stdout, stderr = process.communicate(timeout=300)
        finished[name] = (project, dataset, script, process.returncode, stdout, stderr)
    return finished


@pytest.mark.parametrize("case", ["classification", "regression"])
def test_the_script_trains_and_saves_the_same_network(script_runs, case):
    import keras

    project, dataset, script, returncode, stdout, stderr = script_runs[case]
    assert returncode == 0, stderr[-3000:]
    saved = script.with_name("model.keras")
    assert saved.exists()
    assert "test loss:" in stdout
    assert ("test accuracy:" if case == "classification" else "test mae:") in stdout

    theirs = keras.saving.load_model(saved)
    ours = program_model(project, dataset)
    assert theirs.count_params() == ours.count_params()
    assert layer_configs(theirs) == layer_configs(ours)
    assert optimizer_config(theirs.optimizer) == optimizer_config(ours.optimizer)


def test_the_leaky_relu_network_has_the_expected_layers(script_runs):
    import keras

    _, _, script, returncode, _, stderr = script_runs["classification"]
    assert returncode == 0, stderr[-3000:]
    theirs = keras.saving.load_model(script.with_name("model.keras"))
    assert [type(layer).__name__ for layer in theirs.layers] == [
        "Dense",
        "LeakyReLU",
        "BatchNormalization",
        "Dropout",
        "Dense",
        "Dense",
    ]
    first, leaky, norm, dropout, second, output = theirs.layers
    assert (first.units, first.activation.__name__) == (16, "linear")
    assert first.kernel_regularizer.get_config() == {"l2": 0.01}
    assert leaky.negative_slope == pytest.approx(0.1)
    assert norm.momentum == pytest.approx(0.9)
    assert dropout.rate == pytest.approx(0.25)
    assert (second.units, second.activation.__name__, second.use_bias) == (8, "tanh", False)
    assert (output.units, output.activation.__name__) == (3, "softmax")
    optimizer = theirs.optimizer.get_config()
    assert (optimizer["momentum"], optimizer["nesterov"], optimizer["clipnorm"]) == (0.9, True, 1.0)
    assert optimizer["learning_rate"]["class_name"] == "ExponentialDecay"


def _variants() -> dict[str, tuple[Project, Dataset]]:
    """Projects that between them use every optimizer, schedule, initializer and output form."""
    classification, regression = tiny_dataset(CLASSIFICATION), tiny_dataset(REGRESSION)
    binary = tiny_dataset(CLASSIFICATION, n_classes=2)
    base = leaky_sgd_project()
    layers = [
        DenseLayer(6, "elu", kernel_initializer="glorot_normal", l1=0.01),
        DenseLayer(5, "sigmoid", kernel_initializer="he_uniform"),
        DenseLayer(4, "swish", kernel_initializer="random_normal"),
        DenseLayer(3, "softmax", kernel_initializer="zeros", use_bias=False),
    ]
    return {
        "adam-cosine": (
            replace(
                base,
                optimizer=OptimizerSpec("adam", amsgrad=True, clipvalue=0.1),
                schedule=ScheduleSpec("cosine_decay", decay_epochs=0.0, alpha=0.1),
            ),
            classification,
        ),
        "adamw": (
            replace(base, optimizer=OptimizerSpec("adamw", weight_decay=0.01)),
            classification,
        ),
        "adagrad": (
            replace(base, optimizer=OptimizerSpec("adagrad", initial_accumulator_value=0.2)),
            classification,
        ),
        "adadelta": (replace(base, optimizer=OptimizerSpec("adadelta", rho=0.8)), classification),
        "nadam-initializers": (
            replace(base, layers=layers, optimizer=OptimizerSpec("nadam"), schedule=ScheduleSpec()),
            classification,
        ),
        "binary-sigmoid": (
            replace(base, output=OutputSpec("sigmoid", "binary_crossentropy")),
            binary,
        ),
        "onehot-mse": (replace(base, output=OutputSpec("softmax", "mse")), classification),
        "regression-mae": (replace(base, output=OutputSpec(loss="mae")), regression),
        "huber-plateau": (huber_plateau_project(), regression),
    }


@pytest.mark.parametrize("variant", list(_variants()))
def test_the_script_builds_what_build_model_builds(tmp_path, variant):
    project, dataset = _variants()[variant]
    script, _ = write_training_script(project, dataset, tmp_path / "train.py")
    module = import_script(script, f"generated_{variant.replace('-', '_')}")

    ours = program_model(project, dataset)
    theirs = module.build_model(module.load_data())
    assert layer_configs(theirs) == layer_configs(ours)
    assert theirs.count_params() == ours.count_params()

    wants_steps = "steps_per_epoch" in inspect.signature(module.make_optimizer).parameters
    optimizer = (
        module.make_optimizer(steps_per_epoch(project, dataset))
        if wants_steps
        else module.make_optimizer()
    )
    assert optimizer_config(optimizer) == optimizer_config(ours.optimizer)

    plan = resolve_output(project, dataset.task, dataset.n_classes)
    np.testing.assert_array_equal(
        module.encode_targets(dataset.y_train), encode_targets(dataset.y_train, plan)
    )


def test_the_scripts_are_ruff_clean(tmp_path):
    paths = []
    for name, (project, dataset) in _variants().items():
        path = tmp_path / name / "train.py"
        write_training_script(project, dataset, path)
        paths.append(str(path))
    rules = ["--select", "E,F,W,I,B,UP,SIM", "--ignore", "E501"]
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", *rules, *paths],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_script_imports_only_numpy_keras_and_the_standard_library():
    source = training_script_source(leaky_sgd_project(), tiny_dataset(CLASSIFICATION))
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    assert imported == {"math", "pathlib", "keras", "numpy"}


def test_the_header_says_where_it_came_from_and_how_to_run_it():
    dataset = tiny_dataset(CLASSIFICATION)
    source = training_script_source(replace(leaky_sgd_project(), name="Two\nlines"), dataset)
    header = source.split("\n\n\n")[0]
    assert all(line.startswith("#") for line in header.splitlines())
    assert "'Two lines'" in header
    assert dataset.summary() in header
    assert "python train.py" in header


def test_one_line_per_layer():
    source = training_script_source(leaky_sgd_project(), tiny_dataset(CLASSIFICATION))
    layer_lines = [
        line.strip() for line in source.splitlines() if line.strip().startswith("keras.layers.")
    ]
    assert [line.split("(")[0] for line in layer_lines] == [
        "keras.layers.Dense",
        "keras.layers.LeakyReLU",
        "keras.layers.BatchNormalization",
        "keras.layers.Dropout",
        "keras.layers.Dense",
        "keras.layers.Dense",
    ]


def test_the_data_file_holds_the_data_set(tmp_path):
    dataset = tiny_dataset(CLASSIFICATION)
    script, data_file = write_training_script(leaky_sgd_project(), dataset, tmp_path / "train.py")
    assert data_file == tmp_path / DATA_FILE_NAME
    with np.load(data_file) as data:  # no pickles: plain arrays and unicode names
        for name in ("x_train", "y_train", "x_test", "y_test"):
            np.testing.assert_array_equal(data[name], getattr(dataset, name))
        assert list(data["feature_names"]) == dataset.feature_names
        assert list(data["class_names"]) == dataset.class_names
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([DATA_FILE_NAME, "train.py"])


def test_the_validation_rows_are_a_seeded_share_of_the_training_rows(tmp_path):
    dataset = tiny_dataset(CLASSIFICATION)
    script, _ = write_training_script(leaky_sgd_project(), dataset, tmp_path / "train.py")
    module = import_script(script, "generated_split")
    rows = np.arange(64)
    (fit, _), (held_out, _) = module.split_validation(rows, rows)
    assert len(held_out) == 16  # a quarter of 64
    assert sorted(np.concatenate([fit, held_out])) == list(rows)
    (again, _), _ = module.split_validation(rows, rows)
    np.testing.assert_array_equal(fit, again)


def test_a_failed_write_keeps_the_previous_export(tmp_path, monkeypatch):
    (tmp_path / "train.py").write_text("old script\n")
    (tmp_path / DATA_FILE_NAME).write_bytes(b"old data")

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", fail)
    with pytest.raises(OSError):
        write_training_script(
            leaky_sgd_project(), tiny_dataset(CLASSIFICATION), tmp_path / "train.py"
        )
    assert (tmp_path / "train.py").read_text() == "old script\n"
    assert (tmp_path / DATA_FILE_NAME).read_bytes() == b"old data"
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([DATA_FILE_NAME, "train.py"])


def test_an_invalid_project_writes_nothing(tmp_path):
    project = replace(
        leaky_sgd_project(), output=OutputSpec("sigmoid", "auto")
    )  # sigmoid with 3 classes
    with pytest.raises(UserError, match="sigmoid"):
        write_training_script(project, tiny_dataset(CLASSIFICATION), tmp_path / "train.py")
    assert list(tmp_path.iterdir()) == []
