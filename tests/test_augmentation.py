"""Data augmentation: layers that move images and add noise while training only; projects, the command line
and the generated script carry them; the diagnosis offers them for overfitting."""

import json

import numpy as np
import pytest
from tiny_data import export_difference, trained_briefly

from cli import parse_augmentation, run_cli
from datasets.registry import load_dataset
from models.errors import UserError
from models.network.build import build_model
from models.network.spec import (
    AugmentationSpec,
    DenseLayer,
    Project,
    project_from_dict,
    project_to_dict,
)


def digits_project(**augmentation) -> Project:
    project = Project()
    project.dataset.name = "digits"
    project.layers = [DenseLayer(16, "relu")]
    project.augmentation = AugmentationSpec(**augmentation)
    return project


def test_the_layers_move_the_images_while_training_and_leave_predictions_alone():
    from models.network.build import inference_model

    dataset = load_dataset(digits_project().dataset)
    project = digits_project(shift=0.125, rotate=10, zoom=0.1, noise=0.1)
    augmented = build_model(project, dataset.n_features, dataset.task, dataset.n_classes,
                            input_scale=dataset.input_scale)
    names = [layer.name for layer in augmented.layers]
    assert names[:6] == ["augment_image", "augment_shift", "augment_rotate", "augment_zoom", "augment_pixels",
                         "standardize"] and names[6] == "augment_noise"
    exported = inference_model(augmented)  # what every export holds: the same layers, none of augment_*
    assert [layer.name for layer in exported.layers] == [name for name in names if not name.startswith("augment_")]
    x = dataset.x_test[:32]
    predicted = augmented.predict(x, verbose=0)
    np.testing.assert_allclose(exported.predict(x, verbose=0), predicted, atol=1e-6)
    np.testing.assert_allclose(np.asarray(augmented(x, training=False)), predicted, atol=1e-6)
    assert not np.allclose(np.asarray(augmented(x, training=True)), predicted, atol=1e-3)  # training moves them
    moved = augmented.layers[0](x)  # reshaped to 8×8×1
    for layer in augmented.layers[1:5]:
        moved = layer(moved, training=True)
    assert moved.shape == x.shape and not np.allclose(np.asarray(moved), x)


def test_moved_images_are_standardised_with_one_mean_and_spread_for_every_pixel():
    from models.network.build import model_input_scale

    dataset = load_dataset(digits_project().dataset)
    own = model_input_scale(digits_project(), dataset.n_features, dataset.input_scale)
    pooled = model_input_scale(digits_project(shift=0.1), dataset.n_features, dataset.input_scale)
    assert all(np.array_equal(a, b) for a, b in zip(own, dataset.input_scale, strict=True))  # each pixel its own
    assert np.ptp(pooled[0]) == 0 and np.ptp(pooled[1]) == 0  # a border pixel's near-zero spread would blow ink up
    pixels = dataset.x_train.astype(np.float64)
    assert pooled[0][0] == pytest.approx(pixels.mean(), rel=1e-3) and pooled[1][0] == pytest.approx(pixels.std(), rel=1e-2)


def test_a_project_keeps_its_augmentation_and_an_older_file_opens_without_one():
    project = digits_project(shift=0.1, rotate=15)
    again = project_from_dict(json.loads(json.dumps(project_to_dict(project))))
    assert again.augmentation == AugmentationSpec(shift=0.1, rotate=15)
    older = project_to_dict(Project())
    del older["augmentation"]
    assert project_from_dict(older).augmentation == AugmentationSpec()
    older["augmentation"] = {"rotate": 400}
    with pytest.raises(UserError, match="augmentation rotation must be a number from 0 to 180"):
        project_from_dict(older)


@pytest.mark.parametrize("text, expected", [
    ("shift=0.1,rotate=10,zoom=0.1,noise=0.05", AugmentationSpec(0.1, 10, 0.1, 0.05)),
    ("noise=0.2", AugmentationSpec(noise=0.2)),
    ("none", AugmentationSpec()),
])
def test_the_augment_flag_reads_names_and_values(text, expected):
    assert parse_augmentation(text) == expected


@pytest.mark.parametrize("text, words", [
    ("tilt=3", "the names being shift, rotate, zoom, noise"),
    ("shift=lots", "--augment shift needs a number"),
    ("shift=0.9", "--augment shift must be a number from 0 to 0.5"),
])
def test_a_bad_augment_flag_is_a_sentence(text, words):
    with pytest.raises(UserError, match=words):
        parse_augmentation(text)


def test_moving_points_that_are_not_images_is_refused_and_noise_is_not(tmp_path, capsys):
    out = tmp_path / "run"
    common = ["train", "--dataset", "moons", "--hidden", "8", "--epochs", "2", "--quiet"]
    assert run_cli([*common, "--augment", "shift=0.1", "--out", str(out)]) == 2
    assert "rows are not images: use augmentation noise instead" in capsys.readouterr().err
    assert run_cli([*common, "--augment", "noise=0.1", "--out", str(out)]) == 0
    saved = json.loads((out / "project.json").read_text(encoding="utf-8"))
    assert saved["augmentation"]["noise"] == 0.1


def test_the_generated_script_builds_the_same_network_with_the_same_augmentation(augmented_digits):
    from models.saving.script import training_script_source

    project, dataset, model = augmented_digits
    code = training_script_source(project, dataset)
    assert 'keras.layers.RandomTranslation(0.125, 0.125, fill_mode="constant"' in code
    assert "keras.layers.RandomRotation(" in code and 'keras.layers.Reshape((8, 8, 1), name="augment_image")' in code
    namespace = {"__name__": "train_py", "__file__": "train.py"}
    exec(compile(code, "train.py", "exec"), namespace)  # noqa: S102 (our own generated code)
    rebuilt = namespace["build_model"]({"input_mean": dataset.input_scale[0], "input_std": dataset.input_scale[1]})
    assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in model.layers]
    rebuilt.set_weights(model.get_weights())
    x = dataset.x_test[:16]
    np.testing.assert_allclose(rebuilt.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)


def test_the_diagnosis_offers_augmentation_for_overfitting_unless_the_project_has_it():
    from models.diagnosis import curve_checks
    from models.diagnosis.facts import RunFacts

    rising = {"loss": list(np.linspace(1.0, 0.01, 40)),
              "val_loss": list(np.r_[np.linspace(1.0, 0.3, 15), np.linspace(0.3, 1.2, 25)]),
              "accuracy": [0.9] * 40, "val_accuracy": [0.7] * 40}
    facts = RunFacts("classification", "accuracy", "sparse_categorical_crossentropy", 10, 140, 40, 5000, 0.1,
                     images=True)
    found = curve_checks.overfitting(rising, facts, "accuracy", at_end=True)
    remedies = [remedy.edit for remedy in found[0].remedies]
    assert {"kind": "augment", "shift": 0.1, "rotate": 10.0} in remedies
    facts.augmented = True
    assert all(remedy.edit["kind"] != "augment" for remedy in curve_checks.overfitting(
        rising, facts, "accuracy", at_end=True)[0].remedies)


@pytest.fixture(scope="module")
def augmented_digits():
    project = digits_project(shift=0.125, rotate=10, zoom=0.1, noise=0.05)
    dataset = load_dataset(project.dataset)
    return project, dataset, trained_briefly(project, dataset)


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning", "ignore::FutureWarning")
@pytest.mark.parametrize("fmt", ["keras", "weights", "savedmodel", "tflite", "onnx"])
def test_an_augmented_model_exports_and_predicts_like_itself_in_every_runtime(augmented_digits, tmp_path, fmt):
    project, dataset, model = augmented_digits
    assert export_difference(model, fmt, tmp_path, project, dataset, dataset.x_test[:64]) <= 1e-4


def test_shifting_and_turning_the_digits_lowers_the_validation_loss_of_a_network_fitted_on_a_tenth_of_them():
    from models.experiments.sweep import subset_rows
    from models.training.runner import run_training

    project = digits_project()
    project.layers = [DenseLayer(256, "relu"), DenseLayer(256, "relu")]
    project.training.epochs, project.training.batch_size, project.training.validation_fraction = 150, 16, 0.5
    # A fifth of the training rows, half of them validating: the network fits on a tenth (144 images).
    dataset = subset_rows(load_dataset(project.dataset), 0.2, 0)
    plain = run_training(project, dataset=dataset)
    project.augmentation = AugmentationSpec(shift=0.125, rotate=10)
    augmented = run_training(project, dataset=dataset)
    assert augmented.history["val_loss"][-1] < 0.8 * plain.history["val_loss"][-1]  # measured: 0.13 against 0.26
    assert augmented.test_metrics["loss"] < plain.test_metrics["loss"]


def test_a_kept_model_with_augmentation_trains_again_from_its_first_weights():
    from models.training.runner import run_training

    project = digits_project(shift=0.125, rotate=10, noise=0.1)
    project.training.epochs = 2
    first, second = run_training(project), run_training(project)  # the second takes the first's model, reset
    assert first.history["loss"] == pytest.approx(second.history["loss"], rel=1e-5)


def test_the_preview_adds_the_noise_the_model_adds_in_the_datas_own_units():
    from models.augmentation import augmented_samples
    from models.network.build import model_input_scale

    project = digits_project(shift=0.1, noise=0.5)
    dataset = load_dataset(project.dataset)
    samples = augmented_samples(project, dataset, rows=64, draws=4)
    pooled = model_input_scale(project, dataset.n_features, dataset.input_scale)[1][0]
    corner = samples.augmented[:, :, 0] - samples.originals[None, :, 0]  # a pixel a shift leaves empty or keeps at 0
    assert np.std(corner) == pytest.approx(0.5 * pooled, rel=0.3)  # σ on the model's scale, in pixel units
