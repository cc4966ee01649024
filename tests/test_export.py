"""Exporting a trained model in every format and reading each back with its own runtime."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

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
    OptimizerSpec,
    Project,
    TrainingSpec,
)
from models.saving.export import (  # noqa: E402
    EXPORT_FORMATS,
    VERIFIABLE_FORMATS,
    export_all,
    export_model,
    load_exported,
    verify_export,
)

# Notes from Keras, TensorFlow and numpy internals that say nothing about this code.
pytestmark = [
    pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:.*np.object:FutureWarning"),
    pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated:UserWarning"),
]


def small_project() -> Project:
    return Project(
        name="export test",
        layers=[
            DenseLayer(12, "leaky_relu"),
            BatchNormLayer(),
            DropoutLayer(0.2),
            DenseLayer(6, "tanh", l2=0.01),
        ],
        optimizer=OptimizerSpec("adam", 0.01),
        training=TrainingSpec(epochs=2, batch_size=16, seed=3),
    )


def trained(project: Project, dataset: Dataset):
    """The model `build_model` makes for ``project``, trained two epochs."""
    plan = resolve_output(project, dataset.task, dataset.n_classes)
    model = build_model(project, dataset.n_features, dataset.task, dataset.n_classes)
    model.fit(
        dataset.x_train, encode_targets(dataset.y_train, plan), epochs=2, batch_size=16, verbose=0
    )
    return model


@pytest.fixture(scope="module")
def classifier():
    project, dataset = small_project(), tiny_dataset(CLASSIFICATION)
    return project, dataset, trained(project, dataset)


@pytest.fixture(scope="module")
def regressor():
    project, dataset = small_project(), tiny_dataset(REGRESSION, seed=1)
    return project, dataset, trained(project, dataset)


@pytest.fixture(scope="module")
def classifier_exports(classifier, tmp_path_factory):
    project, dataset, model = classifier
    out_dir = tmp_path_factory.mktemp("exports")
    return out_dir, export_all(model, list(EXPORT_FORMATS), out_dir, project, dataset)


def test_export_all_writes_every_format_under_its_default_name(classifier_exports):
    out_dir, written = classifier_exports
    assert list(written) == list(EXPORT_FORMATS)
    for fmt, paths in written.items():
        assert paths[0] == out_dir / EXPORT_FORMATS[fmt][0]
        assert all(path.exists() for path in paths)
    assert (out_dir / "saved_model").is_dir()
    assert written["python"] == [out_dir / "train.py", out_dir / "train_data.npz", out_dir / "predict.py",
                                 out_dir / "preprocessing.json"]
    assert not [path for path in out_dir.iterdir() if path.name.startswith(".tmp-")]
    # Readable by others as any file the program writes (the umask's mode), not private as mkdtemp makes it.
    umask = os.umask(0)
    os.umask(umask)
    assert (out_dir / "saved_model").stat().st_mode & 0o777 == 0o777 & ~umask


@pytest.mark.parametrize("fmt", VERIFIABLE_FORMATS)
def test_each_format_predicts_like_the_model_in_its_own_runtime(
    classifier, classifier_exports, fmt
):
    project, dataset, model = classifier
    _, written = classifier_exports
    predict = load_exported(fmt, written[fmt][0], project, dataset)
    for x in (dataset.x_test, dataset.x_train[:1], dataset.x_train[:37]):
        expected = model.predict(x, verbose=0)
        np.testing.assert_allclose(predict(x), expected, atol=1e-4, rtol=0)


@pytest.mark.parametrize("fmt", VERIFIABLE_FORMATS)
def test_verify_export_measures_a_regression_model(regressor, tmp_path, fmt):
    project, dataset, model = regressor
    path, *_ = export_model(model, fmt, tmp_path / EXPORT_FORMATS[fmt][0], project, dataset)
    difference = verify_export(model, fmt, path, dataset.x_test, project=project, dataset=dataset)
    assert 0 <= difference <= 1e-4


def test_verify_export_of_weights_needs_no_project(classifier, classifier_exports):
    _, dataset, model = classifier
    _, written = classifier_exports
    assert verify_export(model, "weights", written["weights"][0], dataset.x_test) <= 1e-4


def test_verify_export_of_the_script_checks_it_parses(classifier, classifier_exports):
    _, dataset, model = classifier
    _, written = classifier_exports
    assert verify_export(model, "python", written["python"][0], dataset.x_test) == 0.0


def test_weights_load_into_a_rebuilt_model(classifier, classifier_exports):
    project, dataset, model = classifier
    _, written = classifier_exports
    rebuilt = build_model(project, dataset.n_features, dataset.task, dataset.n_classes)
    rebuilt.optimizer.build(rebuilt.trainable_variables)  # so its saved state loads too
    rebuilt.load_weights(written["weights"][0])
    for mine, theirs in zip(rebuilt.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    for mine, theirs in zip(rebuilt.optimizer.variables, model.optimizer.variables, strict=True):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs))


def test_tflite_input_accepts_any_batch_size(classifier_exports):
    import tensorflow as tf

    _, written = classifier_exports
    interpreter = tf.lite.Interpreter(model_path=str(written["tflite"][0]))
    signature = interpreter.get_input_details()[0]["shape_signature"]
    assert list(signature) == [-1, 5]


def test_onnx_input_accepts_any_batch_size(classifier_exports):
    import onnxruntime

    _, written = classifier_exports
    session = onnxruntime.InferenceSession(
        str(written["onnx"][0]), providers=["CPUExecutionProvider"]
    )
    batch, width = session.get_inputs()[0].shape
    assert not isinstance(batch, int)  # a symbolic dimension, not a fixed size
    assert width == 5


def test_a_model_exported_before_training_converts_to_onnx(tmp_path):
    project, dataset = small_project(), tiny_dataset(CLASSIFICATION)
    model = build_model(project, dataset.n_features, dataset.task, dataset.n_classes)
    (path,) = export_model(model, "onnx", tmp_path / "model.onnx")
    assert verify_export(model, "onnx", path, dataset.x_test) <= 1e-4


def _fail_after_partial_write(path, *args, **kwargs):
    """Stands in for a converter that dies half-way through writing its output."""
    path = os.fspath(kwargs.get("output_path", path))
    if os.path.isdir(path):
        with open(os.path.join(path, "saved_model.pb"), "wb") as file:
            file.write(b"half")
    else:
        with open(path, "wb") as file:
            file.write(b"half")
    raise RuntimeError("converter exploded\nwith a long traceback-like tail")


@pytest.mark.parametrize(
    ("fmt", "label"),
    [
        ("keras", "the Keras model"),
        ("savedmodel", "the SavedModel"),
        ("tflite", "TFLite"),
        ("onnx", "ONNX"),
    ],
)
def test_a_failing_converter_leaves_the_old_export_intact(
    classifier, tmp_path, monkeypatch, fmt, label
):
    project, dataset, model = classifier
    destination = tmp_path / EXPORT_FORMATS[fmt][0]
    if fmt == "savedmodel":
        destination.mkdir()
        (destination / "saved_model.pb").write_bytes(b"previous export")
        old_file = destination / "saved_model.pb"
    else:
        destination.write_bytes(b"previous export")
        old_file = destination
    if fmt == "onnx":
        import tf2onnx

        monkeypatch.setattr(
            tf2onnx.convert, "from_function", lambda *a, **k: _fail_after_partial_write(None, **k)
        )
    elif fmt == "keras":
        monkeypatch.setattr(model, "save", _fail_after_partial_write)
    else:
        monkeypatch.setattr(model, "export", _fail_after_partial_write)

    with pytest.raises(UserError, match=f"^could not export {label}: converter exploded\\.$"):
        export_model(model, fmt, destination, project, dataset)

    assert old_file.read_bytes() == b"previous export"
    assert sorted(path.name for path in tmp_path.iterdir()) == [destination.name]


def test_unknown_format_names_the_known_ones(classifier, tmp_path):
    project, dataset, model = classifier
    known = "keras, weights, savedmodel, tflite, onnx, python"
    with pytest.raises(UserError, match=f"unknown export format 'pickle': choose one of {known}"):
        export_model(model, "pickle", tmp_path / "model.pkl", project, dataset)
    with pytest.raises(UserError, match="unknown export format"):
        export_all(model, ["keras", "pickle"], tmp_path, project, dataset)
    with pytest.raises(UserError, match="unknown export format"):
        load_exported("pickle", tmp_path / "model.pkl")
    assert list(tmp_path.iterdir()) == []  # nothing written before the check


def test_a_file_name_keras_cannot_use_is_refused_in_a_sentence(classifier, tmp_path):
    _, _, model = classifier
    with pytest.raises(UserError, match=r"must end with \.weights\.h5"):
        export_model(model, "weights", tmp_path / "model.h5")


def test_verify_export_refuses_an_export_that_predicts_differently(classifier, classifier_exports):
    import keras

    _, dataset, model = classifier
    _, written = classifier_exports
    other = keras.models.clone_model(model)
    other.set_weights([weight + 0.5 for weight in model.get_weights()])
    with pytest.raises(UserError, match="predicts differently"):
        verify_export(other, "onnx", written["onnx"][0], dataset.x_test)


def test_loading_needs_an_existing_file_and_a_project_for_weights(classifier_exports, tmp_path):
    _, written = classifier_exports
    with pytest.raises(UserError, match="there is no ONNX export"):
        load_exported("onnx", tmp_path / "missing.onnx")
    with pytest.raises(UserError, match="needs the project"):
        load_exported("weights", written["weights"][0])
    with pytest.raises(UserError, match="holds no trained network"):
        load_exported("python", written["python"][0])


def test_the_script_export_needs_the_project_and_data(classifier, tmp_path):
    _, _, model = classifier
    with pytest.raises(UserError, match="needs the project"):
        export_model(model, "python", tmp_path / "train.py")
    with pytest.raises(UserError, match="needs the project"):
        export_all(model, ["keras", "python"], tmp_path)
    assert list(tmp_path.iterdir()) == []
