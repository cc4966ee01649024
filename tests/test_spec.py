"""The project description: validation sentences, JSON round trip, bad files."""

import json
import os

import pytest

from models.errors import UserError
from models.network.spec import (
    BatchNormLayer,
    DenseLayer,
    DropoutLayer,
    OptimizerSpec,
    Project,
    load_project,
    project_from_dict,
    project_to_dict,
)


def full_project() -> Project:
    project = Project(
        name="每一层 test",
        layers=[
            DenseLayer(
                32,
                "leaky_relu",
                negative_slope=0.1,
                kernel_initializer="he_normal",
                l1=1e-5,
                l2=1e-4,
            ),
            BatchNormLayer(momentum=0.9),
            DropoutLayer(0.3),
            DenseLayer(16, "gelu", use_bias=False),
        ],
    )
    project.optimizer = OptimizerSpec(
        name="sgd", learning_rate=0.05, momentum=0.9, nesterov=True, clipnorm=1.0
    )
    project.schedule.name = "cosine_decay"
    project.training.early_stopping.enabled = True
    project.training.epochs = 7
    project.dataset.name = "csv"
    project.dataset.data_file = "/data/表.csv"
    project.dataset.target = "种类"
    return project


def test_default_project_is_valid():
    assert Project().problems() == []


def test_project_round_trips_through_json_file(tmp_path):
    project = full_project()
    path = tmp_path / "p.json"
    project.save(path)
    assert load_project(path) == project
    assert "每一层" in path.read_text(encoding="utf-8")  # written as readable UTF-8


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda p: setattr(p.layers[0], "units", 0), "layer 1 units"),
        (lambda p: setattr(p.layers[2], "rate", 1.0), "dropout rate must be a number from 0 to 0.95"),
        (lambda p: setattr(p.optimizer, "learning_rate", 0.0), "learning rate must be a number from 1e-06 to 10"),
        (lambda p: setattr(p.training, "batch_size", 0), "batch size"),
        (lambda p: setattr(p.training, "epochs", 0), "epochs"),
        (
            lambda p: setattr(p.layers[0], "activation", "relu6"),
            "layer 1 activation must be one of",
        ),
        (lambda p: setattr(p.optimizer, "name", "lbfgs"), "optimizer must be one of"),
        (lambda p: setattr(p.training, "validation_fraction", 0.95), "validation fraction"),
        (lambda p: setattr(p.optimizer, "clipvalue", 0.5), "not both"),
        (lambda p: setattr(p.training, "device", "tpu"), "device must be"),
        (lambda p: setattr(p.training, "device", "gpu:²"), "device must be"),
        (lambda p: setattr(p.training, "epochs", 10**12), "epochs must be a whole number from 1 to 100,000"),
        (lambda p: setattr(p.dataset, "name", "nope"), "Unknown data set 'nope'"),
        (lambda p: setattr(p, "layers", [DenseLayer(4)] * 101), "at most 100 are allowed"),
    ],
)
def test_each_bad_value_gets_a_sentence_naming_the_field(change, words):
    project = full_project()
    change(project)
    with pytest.raises(UserError, match=None) as caught:
        project.validate()
    assert words in str(caught.value)


def test_early_stopping_on_validation_needs_a_validation_set():
    project = Project()
    project.training.early_stopping.enabled = True
    project.training.validation_fraction = 0.0
    assert any("validation fraction" in problem for problem in project.problems())


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (lambda d: d.update(version=99), "newer than this program"),
        (lambda d: d.update(version="one"), "version"),
        (lambda d: d.update(format="something"), "not a Keras Trainer project"),
        (lambda d: d["layers"][0].update(units="many"), "'layer 1.units' must be a whole number"),
        (lambda d: d["layers"][0].update(type="conv2d"), "unknown type 'conv2d'"),
        (
            lambda d: d["optimizer"].update(learning_rate=[1]),
            "'optimizer.learning_rate' must be a number",
        ),
        (lambda d: d["training"].update(colour="red"), "unknown setting(s): 'colour'"),
        (lambda d: d.update(layers={}), "'layers' must be a list"),
    ],
)
def test_malformed_project_data_is_a_clear_error(mutate, words):
    data = project_to_dict(full_project())
    mutate(data)
    with pytest.raises(UserError) as caught:
        project_from_dict(data)
    assert words in str(caught.value)


def test_unreadable_files_are_clear_errors(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{ not json", encoding="utf-8")
    with pytest.raises(UserError, match="not valid JSON"):
        load_project(broken)
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00\x81" * 20)
    with pytest.raises(UserError, match="not a text file"):
        load_project(binary)
    with pytest.raises(UserError, match="no project file"):
        load_project(tmp_path / "missing.json")
    listing = tmp_path / "list.json"
    listing.write_text(json.dumps([1, 2]), encoding="utf-8")
    with pytest.raises(UserError, match="JSON object"):
        load_project(listing)


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "p.json"
    Project(name="old").save(path)
    before = path.read_bytes()

    def explode(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("models.files.os.replace", explode)
    with pytest.raises(OSError):
        Project(name="new").save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["p.json"]  # no temporary file left behind


def test_a_project_with_a_byte_order_mark_opens(tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(project_to_dict(full_project())).encode("utf-8"))
    assert load_project(path) == full_project()


def test_a_fifo_or_a_folder_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    with pytest.raises(UserError, match="not a regular file"):
        load_project(fifo)
    with pytest.raises(UserError, match="is a folder"):
        load_project(tmp_path)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[" * 100_000 + "]" * 100_000, "nests brackets too deeply"),
        ('{"format": "keras-trainer-project", "version": ' + "9" * 5000 + "}", "cannot be read as a project"),
        ('{"format": "keras-trainer-project", "version": 1, "optimizer": {"learning_rate": ' + "9" * 400 + "}}",
         "too large to use"),
        ('{"format": "keras-trainer-project", "version": 1, "optimizer": {"learning_rate": 1e400}}',
         "learning rate must be a number"),
        ('{"format": "keras-trainer-project", "version": 1, "training": {"epochs": 1000000000000}}',
         "epochs must be a whole number from 1 to 100,000 (got 1000000000000)"),
        ('{"format": "keras-trainer-project", "version": 1, "training": {"seed": -1}}', "seed must be a whole number"),
        ('{"format": "keras-trainer-project", "version": 1, "layers": [{"type": []}]}', "unknown type []"),
        ('{"format": "keras-trainer-project", "version": 1, "layers": [' + ",".join(['{"type": "dense"}'] * 2000) + "]}",
         "2,000 layers; at most 100"),
    ],
)
def test_hostile_project_files_are_one_sentence(tmp_path, text, words):
    path = tmp_path / "hostile.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError) as caught:
        load_project(path)
    assert words in str(caught.value)
    assert len(str(caught.value)) < 400


@pytest.mark.parametrize(("exclude", "words"), [
    (["alive", 3], "dataset exclude must be a list of column names"),
    ("alive", "dataset exclude must be a list of column names"),
    ([f"c{i}" for i in range(10_001)], "dataset exclude names 10,001 columns; at most 10,000"),
])
def test_left_out_columns_from_a_project_file_are_checked(tmp_path, exclude, words):
    data = project_to_dict(Project())
    data["dataset"]["exclude"] = exclude
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    with pytest.raises(UserError, match=words):
        load_project(path)


def test_an_old_project_file_without_left_out_columns_still_opens(tmp_path):
    data = project_to_dict(Project())
    del data["dataset"]["exclude"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data))
    assert load_project(path).dataset.exclude == []
