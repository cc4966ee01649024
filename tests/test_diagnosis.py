"""The diagnosis (models.diagnosis): each finding from a tiny configuration that produces it, none from a healthy one.

Most tests feed crafted histories, instrument readings and small data sets into
the checks themselves; a handful train tiny real networks end to end through
the runner and the command line.
"""

import json
import math
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from cli import MAX_AUTO_REMEDY, build_parser, project_from_args, run_cli
from datasets.base import CLASSIFICATION, REGRESSION, Dataset
from datasets.choice import DatasetChoice
from datasets.registry import load_dataset
from models.diagnosis import curve_checks, layer_checks
from models.diagnosis.diagnosis import DiagnosingListener, Diagnosis
from models.diagnosis.facts import RunFacts, run_facts
from models.diagnosis.findings import (
    CODES,
    NOTE,
    PROBLEM,
    TITLES,
    DiagnosisReport,
    Finding,
    Remedy,
    Text,
    by_urgency,
    healthy_summary,
)
from models.diagnosis.remedies import apply_edit, hidden_dense_positions
from models.diagnosis.repair import Attempt, Repair, remedy_outcome
from models.diagnosis.static_checks import static_findings, target_leakage
from models.errors import UserError
from models.instruments.readings import Histogram, InstrumentReading, LayerReading
from models.network.build import resolve_output
from models.network.spec import (
    BatchNormLayer,
    DenseLayer,
    DropoutLayer,
    OptimizerSpec,
    Project,
    TrainingSpec,
    project_to_dict,
)
from models.training.runner import NAN_LOSS, TrainingListener, run_training

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
TITANIC = SHARED / "titanic.csv"
LN2 = math.log(2.0)


# ----------------------------------------------------------------- helpers


def facts(**changes) -> RunFacts:
    """A two-class run with nothing wrong in its sizes: 400 fit rows, 100 validation rows, 500 weights."""
    values = dict(task=CLASSIFICATION, metric="accuracy", loss="binary_crossentropy", n_classes=2, fit_rows=400,
                  validation_rows=100, parameters=500, baseline=0.5, majority_class="blue", chance_loss=LN2)
    values.update(changes)
    return RunFacts(**values)


def regression_facts(**changes) -> RunFacts:
    values = dict(task=REGRESSION, metric="mae", loss="mse", n_classes=0, fit_rows=400, validation_rows=100,
                  parameters=500, baseline=2.0)
    values.update(changes)
    return RunFacts(**values)


def network(*layers, optimizer="adam", lr=0.001, dataset=None, epochs=10) -> Project:
    layers = list(layers) or [DenseLayer(16, "relu"), DenseLayer(16, "relu")]
    return Project(dataset=dataset or DatasetChoice(name="spiral", samples=300), layers=layers,
                   optimizer=OptimizerSpec(name=optimizer, learning_rate=lr),
                   training=TrainingSpec(epochs=epochs, batch_size=32))


def sigmoid_network(**settings) -> Project:
    return network(*[DenseLayer(16, "sigmoid", kernel_initializer="random_normal") for _ in range(3)], **settings)


def positions(project: Project) -> list[int]:
    return [position + 1 for position in hidden_dense_positions(project)]


def layer_reading(index: int, gradient_norm: float, dead=None, saturated=None, activation="relu",
                  epoch=1.0, update=None) -> LayerReading:
    empty = Histogram(np.zeros(2), np.zeros(1))
    return LayerReading(
        epoch=epoch, step=0, layer=index, name=f"dense_{index}", activation=activation, weight_norm=1.0,
        weight_mean=0.0, weight_std=0.1, near_zero_fraction=0.0, gradient_norm=gradient_norm, update_ratio=update,
        update_ratio_per_step=update, dead_fraction=dead, saturated_fraction=saturated, output_mean=0.0,
        output_std=1.0, batch_norm_mean=None, batch_norm_std=None, weights=empty, gradients=empty, outputs=empty)


def reading(gradients, dead=None, saturated=None, activation="relu", epoch=1.0, loss=math.nan,
            update=None) -> InstrumentReading:
    """One reading: a gradient norm per Dense layer (the last one the output), dead/saturated shares per hidden one."""
    hidden = len(gradients) - 1
    dead = list(dead or [None] * hidden) + [None]
    saturated = list(saturated or [None] * hidden) + [None]
    layers = [layer_reading(index, gradient, dead[index], saturated[index],
                            activation if index < hidden else "sigmoid", epoch, update)
              for index, gradient in enumerate(gradients)]
    return InstrumentReading(epoch=epoch, step=0, layers=layers, loss=loss)


def points(n_train=200, n_test=50, task=CLASSIFICATION, leak=False, seed=0) -> Dataset:
    """Three honest features whose sum decides the target; with ``leak`` a fourth column 'answer' restates it."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_train + n_test, 3))
    if task == CLASSIFICATION:
        y = (x.sum(axis=1) > 0).astype(np.int32)
        classes = ["blue", "red"]
    else:
        y = (x.sum(axis=1) + rng.normal(0, 0.5, len(x))).astype(np.float32)
        classes = []
    names = ["a", "b", "c"]
    if leak:
        x = np.column_stack([x, y * 2.0 + 3.0])
        names.append("answer")
    x = x.astype(np.float32)
    return Dataset("points", task, x[:n_train], y[:n_train], x[n_train:], y[n_train:], names, classes)


def codes(findings) -> list[str]:
    return [finding.code for finding in findings]


def one(findings, code: str) -> Finding:
    found = [finding for finding in findings if finding.code == code]
    assert len(found) == 1, codes(findings)
    return found[0]


def assert_remedy_applies(project: Project, remedy: Remedy, must_change=True) -> Project:
    """The remedy's edit makes a valid copy of ``project`` and leaves ``project`` itself as it was."""
    before = project_to_dict(project)
    edited = apply_edit(project, remedy.edit)
    assert project_to_dict(project) == before, f"apply_edit changed its input: {remedy.edit}"
    assert edited is not project
    edited.check_values()
    if must_change:
        assert project_to_dict(edited) != before, f"{remedy.edit} changed nothing"
    text = str(remedy.text)
    assert text and "{" not in text
    assert json.loads(json.dumps(remedy.to_json())) == {"text": text, "edit": remedy.edit}
    return edited


def assert_well_formed(findings, project: Project, must_change=True) -> None:
    """Every finding: a known code and severity, evidence with numbers, a cause, and remedies that apply."""
    assert findings
    for finding in findings:
        assert finding.code in CODES and finding.severity in (PROBLEM, NOTE)
        evidence, cause = str(finding.evidence), str(finding.cause)
        assert re.search(r"\d", evidence), evidence
        assert "{" not in evidence and "{" not in cause, (evidence, cause)
        assert len(cause) > 20 and cause.endswith("."), cause
        assert finding.title == TITLES[finding.code]
        document = json.loads(json.dumps(finding.to_json(), allow_nan=False))
        assert document["evidence"] == evidence and document["code"] == finding.code
        for remedy in finding.remedies:
            assert_remedy_applies(project, remedy, must_change)


# ------------------------------------------------- one tiny configuration per code


def _nan_loss():
    project = network()
    return curve_checks.nan_loss({"loss": [0.7, 0.5, math.nan]}, project), project


def _exploding_gradients():
    project = network(optimizer="sgd", lr=0.1)
    return layer_checks.layer_findings(reading([5.0, 1.0, 0.05]), positions(project), project), project


def _learning_rate_too_high():
    project = network(lr=0.1)
    history = {"loss": [1.0, 0.5, 0.3, 0.4, 0.9], "accuracy": [0.5, 0.7, 0.8, 0.75, 0.6]}
    return curve_checks.learning_rate_too_high(history, facts(), "accuracy", project), project


def _vanishing_gradients():
    project = sigmoid_network()
    return layer_checks.layer_findings(reading([5e-5, 1e-3, 1e-2, 0.1], activation="sigmoid"), positions(project),
                                       project), project


def _dying_relu():
    project = network()
    return layer_checks.layer_findings(reading([0.1, 0.1, 0.1], dead=[0.1, 0.8]), positions(project),
                                       project), project


def _saturated_activations():
    project = sigmoid_network()
    return layer_checks.layer_findings(reading([0.1, 0.1, 0.1, 0.1], saturated=[0.9, 0.1, 0.1],
                                               activation="sigmoid"), positions(project), project), project


def _missing_nonlinearity():
    project = network(DenseLayer(16, "linear"), DenseLayer(16, "linear"))
    return static_findings(project, points(), facts()), project


def _target_leakage():
    project = network(dataset=DatasetChoice(name="csv", data_file="points.csv", target="y"))
    return static_findings(project, points(leak=True), facts()), project


def _high_dropout():
    project = network(DenseLayer(16, "relu"), DropoutLayer(0.6), DenseLayer(16, "relu"))
    return static_findings(project, points(), facts()), project


def _underfitting():
    project = network(DenseLayer(16, "relu"))
    history = {"accuracy": [0.5, 0.55], "val_accuracy": [0.5, 0.56]}
    return curve_checks.fit_at_end(history, facts(), "accuracy", project), project


def _overfitting():
    project = network()
    history = {"loss": [1.0, 0.8, 0.6, 0.4, 0.2], "val_loss": [1.0, 1.1, 1.2, 1.3, 1.4]}
    return curve_checks.overfitting(history, facts(), "accuracy"), project


def _learning_rate_too_low():
    project = network(optimizer="sgd", lr=1e-5)
    history = {"loss": [0.69, 0.689, 0.688, 0.687], "accuracy": [0.5, 0.505, 0.51, 0.512],
               "val_accuracy": [0.5, 0.502, 0.505, 0.507]}
    return curve_checks.learning_rate_too_low(history, facts(), "accuracy", project, None), project


def _no_better_than_baseline():
    project = network()
    history = {"accuracy": [0.6, 0.9], "val_accuracy": [0.5, 0.52]}
    return curve_checks.fit_at_end(history, facts(), "accuracy", project), project


def _initial_loss_off():
    project = sigmoid_network()
    return curve_checks.initial_loss_off(3.0, facts(), project), project


def _not_converged():
    project = network()
    history = {"loss": [1.0, 0.9, 0.8, 0.7, 0.6, 0.5], "val_loss": [1.0, 0.9, 0.85, 0.8, 0.75, 0.7]}
    return curve_checks.not_converged(history, project, "completed"), project


def _class_imbalance():
    project = network()
    return static_findings(project, points(), facts(baseline=0.85)), project


def _too_few_samples():
    project = network()
    return static_findings(project, points(), facts(parameters=40_000)), project


def _validation_too_small():
    project = network()
    return static_findings(project, points(), facts(fit_rows=80, validation_rows=20)), project


PRODUCERS = {
    "nan_loss": _nan_loss, "exploding_gradients": _exploding_gradients,
    "learning_rate_too_high": _learning_rate_too_high, "vanishing_gradients": _vanishing_gradients,
    "dying_relu": _dying_relu, "saturated_activations": _saturated_activations,
    "missing_nonlinearity": _missing_nonlinearity, "target_leakage": _target_leakage, "high_dropout": _high_dropout,
    "underfitting": _underfitting, "overfitting": _overfitting, "learning_rate_too_low": _learning_rate_too_low,
    "no_better_than_baseline": _no_better_than_baseline, "initial_loss_off": _initial_loss_off,
    "not_converged": _not_converged, "class_imbalance": _class_imbalance, "too_few_samples": _too_few_samples,
    "validation_too_small": _validation_too_small,
}


# What is worth knowing rather than fixing.
NOTES = {"initial_loss_off", "not_converged", "class_imbalance", "too_few_samples", "validation_too_small"}


def test_there_are_eighteen_codes_each_with_a_title_and_a_tiny_configuration():
    assert len(CODES) == len(set(CODES)) == 18
    assert set(TITLES) == set(CODES)
    assert set(PRODUCERS) == set(CODES)


@pytest.mark.parametrize("code", CODES)
def test_each_code_comes_from_its_tiny_configuration_and_only_it(code):
    findings, project = PRODUCERS[code]()
    assert codes(findings) == [code]
    assert findings[0].severity == (NOTE if code in NOTES else PROBLEM)
    assert_well_formed(findings, project)


# --------------------------------------------------------------- static checks


def test_a_healthy_configuration_has_no_static_finding():
    assert static_findings(network(), points(), facts()) == []


def test_every_linear_layer_is_a_problem_and_some_linear_layers_a_note():
    every = one(static_findings(network(DenseLayer(8, "linear"), DenseLayer(8, "linear")), points(), facts()),
                "missing_nonlinearity")
    assert every.severity == PROBLEM and every.layer == 1 and "(1, 2)" in str(every.evidence)
    mixed_project = network(DenseLayer(8, "relu"), DropoutLayer(0.2), DenseLayer(8, "linear"))
    mixed = one(static_findings(mixed_project, points(), facts()), "missing_nonlinearity")
    assert mixed.severity == NOTE and mixed.layer == 3
    assert str(mixed.evidence).startswith("Hidden layer(s) 3 are linear")
    edited = apply_edit(mixed_project, mixed.remedies[0].edit)
    assert [layer.activation for layer in edited.layers if isinstance(layer, DenseLayer)] == ["relu", "relu"]
    assert edited.layers[2].kernel_initializer == "he_normal"
    assert edited.layers[0].kernel_initializer == "glorot_uniform"  # only the linear layer was changed


@pytest.mark.parametrize(("rate", "found"), [(0.5, False), (0.51, True), (0.6, True)])
def test_dropout_above_one_half_is_too_high(rate, found):
    project = network(DenseLayer(16, "relu"), DropoutLayer(rate), DenseLayer(16, "relu"))
    findings = static_findings(project, points(), facts())
    assert ("high_dropout" in codes(findings)) is found
    if found:
        finding = one(findings, "high_dropout")
        assert finding.layer == 2 and finding.figure == ("dropout_rate", rate)
        assert f"{rate * 100:g} %" in str(finding.evidence)


def test_each_high_dropout_layer_is_its_own_finding_and_capping_cures_all():
    project = network(DenseLayer(16, "relu"), DropoutLayer(0.8), DenseLayer(16, "relu"), DropoutLayer(0.7))
    findings = [finding for finding in static_findings(project, points(), facts()) if finding.code == "high_dropout"]
    assert [finding.layer for finding in findings] == [2, 4]
    edited = apply_edit(project, findings[0].remedies[0].edit)
    assert static_findings(edited, points(), facts()) == []


@pytest.mark.parametrize(("parameters", "found"), [(39_999, False), (40_000, True)])
def test_too_few_samples_at_a_hundred_weights_per_row(parameters, found):
    findings = static_findings(network(), points(), facts(parameters=parameters))
    assert ("too_few_samples" in codes(findings)) is found
    if found:
        assert "40,000 parameters learn from 400 training rows: 100 per row" in str(findings[0].evidence)


@pytest.mark.parametrize(("rows", "found"), [(0, False), (49, True), (50, False)])
def test_validation_below_fifty_rows_is_too_small(rows, found):
    findings = static_findings(network(), points(), facts(validation_rows=rows))
    assert ("validation_too_small" in codes(findings)) is found


def test_too_small_validation_offers_a_larger_share_only_when_it_is_larger():
    finding = one(static_findings(network(), points(), facts(fit_rows=80, validation_rows=20)),
                  "validation_too_small")
    assert finding.remedies[0].edit == {"kind": "validation_fraction", "fraction": 0.5}
    assert "0.050" in str(finding.evidence)  # one of 20 rows moves accuracy by 0.05
    project = network()
    project.training.validation_fraction = 0.5
    already = one(static_findings(project, points(), facts(fit_rows=80, validation_rows=20)), "validation_too_small")
    assert [remedy.edit["kind"] for remedy in already.remedies] == ["more_samples"]  # the spiral can draw more
    project.dataset = DatasetChoice(name="iris")
    fixed = one(static_findings(project, points(), facts(fit_rows=80, validation_rows=20)), "validation_too_small")
    assert fixed.remedies == ()


def test_too_small_validation_of_a_point_set_too_small_for_any_split_draws_more_points_first():
    finding = one(static_findings(network(), points(), facts(fit_rows=40, validation_rows=10)), "validation_too_small")
    assert [remedy.edit["kind"] for remedy in finding.remedies] == ["more_samples", "validation_fraction"]
    edited = apply_edit(network(), finding.remedies[0].edit)
    assert edited.dataset.samples == 1500


@pytest.mark.parametrize(("baseline", "found"), [(0.79, False), (0.8, True)])
def test_class_imbalance_from_eighty_percent_of_one_class(baseline, found):
    findings = static_findings(network(), points(), facts(baseline=baseline))
    assert ("class_imbalance" in codes(findings)) is found
    if found:
        assert "Class 'blue' is 80 %" in str(findings[0].evidence)


def test_a_regression_has_no_class_imbalance():
    assert static_findings(network(), points(task=REGRESSION), regression_facts(baseline=0.95)) == []


def test_a_column_that_restates_the_classes_leaks_and_honest_columns_do_not():
    csv = network(dataset=DatasetChoice(name="csv", data_file="points.csv", target="y"))
    finding = one(target_leakage(csv, points(leak=True), facts()), "target_leakage")
    assert "'answer'" in str(finding.evidence) and "100.0 %" in str(finding.evidence)
    assert finding.figure == ("single_column_score", 1.0)
    assert [remedy.edit for remedy in finding.remedies] == [{"kind": "leave_out_column", "column": "answer"}]
    assert target_leakage(csv, points(), facts()) == []


def test_leakage_outside_a_csv_offers_no_column_to_leave_out():
    finding = one(target_leakage(network(), points(leak=True), facts()), "target_leakage")
    assert finding.remedies == ()


def test_a_column_that_restates_a_regression_target_leaks():
    finding = one(target_leakage(network(), points(task=REGRESSION, leak=True), regression_facts()),
                  "target_leakage")
    assert "'answer' alone correlates 1.000" in str(finding.evidence)
    assert target_leakage(network(), points(task=REGRESSION), regression_facts()) == []


def test_leakage_is_not_judged_on_few_test_rows_images_or_one_class_runs():
    few = points(n_test=19, leak=True)
    assert target_leakage(network(), few, facts()) == []
    images = points(leak=True)
    images.image_shape = (2, 2)
    assert target_leakage(network(), images, facts()) == []
    # Always guessing already scores 0.99: a perfect column proves nothing.
    assert target_leakage(network(), points(leak=True), facts(baseline=0.99)) == []


def test_run_facts_of_a_two_class_and_a_three_class_run_and_a_regression():
    project = network()
    binary = resolve_output(project, CLASSIFICATION, 2)
    y = np.array([0, 0, 0, 1])
    two = run_facts(project, points(), binary, y, np.array([0, 1]), 123)
    assert (two.baseline, two.majority_class, two.chance_loss) == (0.75, "blue", pytest.approx(LN2))
    assert (two.fit_rows, two.validation_rows, two.parameters, two.metric) == (4, 2, 123, "accuracy")
    three_classes = points()
    three_classes.class_names = ["a", "b", "c"]
    softmax = resolve_output(project, CLASSIFICATION, 3)
    three = run_facts(project, three_classes, softmax, np.array([2, 2, 1, 0, 2]), None, 10)
    assert three.chance_loss == pytest.approx(math.log(3)) and three.majority_class == "c"
    assert three.baseline == pytest.approx(0.6) and three.validation_rows == 0
    regression = run_facts(project, points(task=REGRESSION), resolve_output(project, REGRESSION, 0),
                           np.array([1.0, 2.0, 3.0, 10.0]), None, 10)
    # The median is 2.5; the mean distance from it (1.5 + 0.5 + 0.5 + 7.5) / 4 = 2.5.
    assert regression.baseline == pytest.approx(2.5) and regression.chance_loss is None
    assert regression.skill(0.0) == 1.0 and regression.skill(2.5) == pytest.approx(0.0)
    assert two.skill(1.0) == pytest.approx(1.0) and two.skill(0.75) == pytest.approx(0.0)
    assert two.skill(math.nan) == 0.0


# --------------------------------------------------------- instrument readings


@pytest.mark.parametrize(("last", "found"), [(5e-5 / 9.9e-4, True), (5e-5 / 1.01e-3, False)])
def test_vanishing_gradients_below_a_ratio_of_1e_minus_3(last, found):
    project = sigmoid_network()
    findings = layer_checks.layer_findings(reading([5e-5, 1e-3, 1e-3, last], activation="sigmoid"),
                                           positions(project), project)
    assert ("vanishing_gradients" in codes(findings)) is found
    if found:
        finding = one(findings, "vanishing_gradients")
        assert finding.layer == 1 and finding.epoch == 1
        assert finding.figure[0] == "gradient_ratio" and finding.figure[1] == pytest.approx(9.9e-4)
        assert "5.00e-05" in str(finding.evidence) and "9.90e-04" in str(finding.evidence)


def test_a_tiny_ratio_is_not_vanishing_while_the_first_gradient_is_not_itself_tiny():
    project = sigmoid_network()
    findings = layer_checks.layer_findings(reading([1.1e-4, 1.0, 1.0, 1.0], activation="sigmoid"),
                                           positions(project), project)
    assert findings == []


@pytest.mark.parametrize(("ratio", "first", "found"), [(71, 0.02, True), (69, 0.02, False), (71, 0.009, False)])
def test_exploding_gradients_above_a_ratio_of_70_with_a_first_gradient_above_1e_minus_2(ratio, first, found):
    project = network()
    findings = layer_checks.layer_findings(reading([first, 1.0, first / ratio]), positions(project), project)
    assert ("exploding_gradients" in codes(findings)) is found


def test_exploding_remedies_put_clipping_first_for_sgd_and_a_smaller_rate_first_for_adam():
    for optimizer, first_kind in (("sgd", "clip_gradient_norm"), ("adam", "scale_learning_rate")):
        project = network(optimizer=optimizer, lr=0.1)
        finding = one(layer_checks.layer_findings(reading([5.0, 1.0, 0.05]), positions(project), project),
                      "exploding_gradients")
        kinds = [remedy.edit["kind"] for remedy in finding.remedies]
        assert kinds[0] == first_kind and kinds[-1] == "add_batchnorm"
        assert {"clip_gradient_norm", "scale_learning_rate"} <= set(kinds)


def test_gradients_a_thousand_times_their_start_explode():
    project = network()
    before = reading([0.01, 0.01, 0.01], epoch=0.0)
    grown = reading([10.0, 10.0, 10.0], epoch=3.0)
    finding = one(layer_checks.layer_findings(grown, positions(project), project, first=before),
                  "exploding_gradients")
    assert finding.epoch == 3 and finding.figure == ("gradient_growth", pytest.approx(1000.0))
    assert "dense_0 grew from 1.00e-02" in str(finding.evidence)
    short = reading([9.9, 9.9, 9.9], epoch=3.0)
    assert layer_checks.layer_findings(short, positions(project), project, first=before) == []


def test_tiny_gradients_that_grow_a_thousandfold_but_stay_tiny_do_not_explode():
    project = network()
    before = reading([1e-9, 1e-9, 1e-9], epoch=0.0)
    still_tiny = reading([2e-6, 2e-6, 2e-6], epoch=2.0)
    assert layer_checks.layer_findings(still_tiny, positions(project), project, first=before) == []


@pytest.mark.parametrize(("dead", "found"), [(0.70, True), (0.69, False)])
def test_dying_relu_from_seventy_percent_dead(dead, found):
    project = network(DenseLayer(16, "relu"), BatchNormLayer(), DenseLayer(16, "relu"))
    findings = layer_checks.layer_findings(reading([0.1, 0.1, 0.1], dead=[0.0, dead], epoch=2.5),
                                           positions(project), project)
    assert ("dying_relu" in codes(findings)) is found
    if found:
        finding = one(findings, "dying_relu")
        # The second Dense layer is the project's layer 3 (BatchNormalization is layer 2); epoch 2.5 is in epoch 3.
        assert (finding.layer, finding.epoch) == (3, 3)
        assert "70 % of layer 3's ReLU units" in str(finding.evidence)
        assert finding.remedies[0].edit == {"kind": "set_activation", "activation": "leaky_relu",
                                            "initializer": "he_normal", "only": ["relu"]}
        assert "scale_learning_rate" in [remedy.edit["kind"] for remedy in finding.remedies]


def test_dead_units_explain_a_vanished_gradient_so_only_dying_relu_is_said():
    project = network()
    findings = layer_checks.layer_findings(reading([1e-12, 1e-3, 1.0], dead=[0.9, 0.2]), positions(project),
                                           project)
    assert codes(findings) == ["dying_relu"]


@pytest.mark.parametrize(("share", "found"), [(0.51, True), (0.5, False)])
def test_saturation_of_more_than_half_the_units(share, found):
    project = sigmoid_network()
    findings = layer_checks.layer_findings(reading([0.1] * 4, saturated=[0.0, share, 0.0], activation="sigmoid"),
                                           positions(project), project)
    assert ("saturated_activations" in codes(findings)) is found
    if found:
        assert one(findings, "saturated_activations").layer == 2


def test_gradient_ratio_needs_two_finite_layers():
    assert layer_checks.gradient_ratio(reading([2.0, 4.0])) == pytest.approx(0.5)
    assert layer_checks.gradient_ratio(InstrumentReading(1.0, 0, [layer_reading(0, 1.0)])) is None
    assert layer_checks.gradient_ratio(reading([math.nan, 1.0])) is None
    assert layer_checks.gradient_ratio(reading([1.0, 0.0])) is None


# -------------------------------------------------------------- curve checks


def test_nan_loss_names_the_epoch_and_the_last_finite_loss():
    finding = one(_nan_loss()[0], "nan_loss")
    assert finding.epoch == 3 and "epoch 3" in str(finding.evidence) and "0.5" in str(finding.evidence)
    assert curve_checks.nan_loss({"loss": [0.7, 0.5]}, network()) == []
    # Stopped within an epoch on a NaN batch: the epoch after the last one logged.
    stopped = one(curve_checks.nan_loss({"loss": [0.7, 0.5]}, network(), reason="nan_loss"), "nan_loss")
    assert stopped.epoch == 3


def test_overfitting_when_validation_loss_rises_three_epochs_while_training_loss_falls():
    finding = one(_overfitting()[0], "overfitting")
    assert finding.epoch == 4
    # Seen in epoch 4; the evidence follows the streak to its end in epoch 5.
    assert str(finding.evidence) == ("From epoch 1 to 5 the training loss fell (1 → 0.2) while the validation "
                                     "loss rose (1 → 1.4).")
    assert [remedy.edit["kind"] for remedy in finding.remedies][:3] == ["early_stopping", "add_dropout", "set_l2"]
    # Rises and falls of a few percent, never three in a row: noise, not overfitting.
    noisy = {"loss": [1.0, 0.8, 0.6, 0.4, 0.2], "val_loss": [1.0, 1.05, 1.02, 1.05, 1.04]}
    assert curve_checks.overfitting(noisy, facts(), "accuracy") == []


def test_overfitting_judged_only_on_the_epochs_a_restored_model_saw():
    history = {"loss": [1.0, 0.8, 0.6, 0.4, 0.2], "val_loss": [1.0, 1.1, 1.2, 1.3, 1.4]}
    assert curve_checks.overfitting(history, facts(), "accuracy", upto=3) == []


def test_overfitting_from_a_noisy_rise_above_the_best_validation_loss():
    history = {"loss": [1.0, 0.8, 0.7, 0.6, 0.5, 0.4], "val_loss": [1.0, 0.6, 0.65, 0.62, 0.75, 0.72]}
    finding = one(curve_checks.overfitting(history, facts(), "accuracy"), "overfitting")
    assert finding.epoch == 5
    assert "lowest in epoch 2 (0.6) and is 25 % higher by epoch 5 (0.75)" in str(finding.evidence)


def test_overfitting_from_an_accuracy_gap_of_a_tenth():
    flat = [0.5, 0.5, 0.5, 0.5]
    wide = {"loss": flat, "val_loss": flat, "accuracy": [0.9, 0.9, 0.9, 0.9], "val_accuracy": [0.79, 0.79, 0.79, 0.79]}
    narrow = {**wide, "val_accuracy": [0.81, 0.81, 0.81, 0.81]}
    exactly = {**wide, "val_accuracy": [0.8, 0.8, 0.8, 0.8]}  # 0.9 − 0.8 is 0.0999… in floating point
    assert one(curve_checks.overfitting(exactly, facts(), "accuracy"), "overfitting")
    assert "gap of 0.110" in str(one(curve_checks.overfitting(wide, facts(), "accuracy"), "overfitting").evidence)
    assert curve_checks.overfitting(narrow, facts(), "accuracy") == []


def test_an_accuracy_gap_while_the_validation_loss_still_improves_is_not_overfitting_yet():
    improving = {"loss": [0.9, 0.7, 0.5, 0.4], "val_loss": [0.9, 0.8, 0.75, 0.7],
                 "accuracy": [0.6, 0.8, 0.9, 0.95], "val_accuracy": [0.5, 0.6, 0.7, 0.75]}
    assert curve_checks.overfitting(improving, facts(), "accuracy") == []


def test_the_end_report_judges_overfitting_on_the_whole_run():
    diagnosis = Diagnosis(network(), points(), facts())
    losses = [(0.9, 0.6), (0.6, 0.5), (0.5, 0.55), (0.4, 0.6), (0.3, 0.7), (0.2, 0.9), (0.1, 1.4)]
    first_seen = None
    for epoch, (loss, val_loss) in enumerate(losses, start=1):
        found = diagnosis.after_epoch(epoch, {"loss": loss, "val_loss": val_loss, "accuracy": 0.9,
                                              "val_accuracy": 0.85})
        if first_seen is None and "overfitting" in codes(found):
            first_seen = epoch
    finding = diagnosis.report("completed", len(losses)).find("overfitting")
    assert first_seen is not None
    # Lowest in epoch 2 (0.5); 10 % higher (and by a tenth of the first) first in epoch 5; 1.4 by the end.
    assert finding.epoch == 5
    assert str(finding.evidence).startswith("The validation loss was lowest in epoch 2 (0.5) and is 180 % higher "
                                            "by epoch 7 (1.4)")


def test_a_loss_that_climbs_away_from_its_best_means_the_rate_is_too_high():
    finding = one(_learning_rate_too_high()[0], "learning_rate_too_high")
    assert "was 0.3 in epoch 3 and rose to 0.9 by epoch 5" in str(finding.evidence)
    assert finding.remedies[0].edit == {"kind": "scale_learning_rate", "factor": 0.1}
    assert str(finding.remedies[0].text) == "Learning rate ÷ 10: 0.1 → 0.01."
    # Live, a loss still below the first epoch's may yet recover.
    history = {"loss": [1.0, 0.5, 0.3, 0.4, 0.9]}
    assert curve_checks.learning_rate_too_high(history, facts(), "accuracy", network(), live=True) == []


def test_a_loss_and_accuracy_that_swing_back_and_forth_mean_the_rate_is_too_high():
    history = {"loss": [1.0, 0.8, 0.9, 0.7, 0.8, 0.6, 0.7, 0.5, 0.6, 0.4],
               "accuracy": [0.5, 0.6, 0.55, 0.65, 0.6, 0.7, 0.65, 0.75, 0.7, 0.8]}
    finding = one(curve_checks.learning_rate_too_high(history, facts(), "accuracy", network()),
                  "learning_rate_too_high")
    assert "swung back and forth in 8 of 10 epochs (80 %)" in str(finding.evidence)
    # Nine epochs are too few to judge swings.
    short = {key: values[:9] for key, values in history.items()}
    assert curve_checks.learning_rate_too_high(short, facts(), "accuracy", network()) == []


def test_large_steps_in_a_run_that_learned_nothing_mean_the_rate_is_too_high():
    history = {"loss": [0.7] * 5, "accuracy": [0.52] * 5}
    finding = one(curve_checks.learning_rate_too_high(history, facts(), "accuracy", network(), update_ratio=0.02),
                  "learning_rate_too_high")
    assert "2.0e-02" in str(finding.evidence)
    assert curve_checks.learning_rate_too_high(history, facts(), "accuracy", network(), update_ratio=0.009) == []


def test_slow_accuracy_gains_mean_the_rate_is_too_low_unless_the_run_is_nearly_perfect():
    finding = one(_learning_rate_too_low()[0], "learning_rate_too_low")
    assert "best gain: 0.0050" in str(finding.evidence)
    assert finding.remedies[0].edit == {"kind": "scale_learning_rate", "factor": 10.0}
    good = {"loss": [0.1, 0.099, 0.098], "accuracy": [0.95, 0.951, 0.952], "val_accuracy": [0.95, 0.95, 0.95]}
    assert curve_checks.learning_rate_too_low(good, facts(), "accuracy", network(), None) == []


def test_steps_of_a_healthy_size_or_a_big_first_epoch_are_not_a_rate_too_low():
    # Converged in its first epoch (loss 0.69 before training, 0.35 after it), then flat: not slow.
    converged = {"loss": [0.35, 0.349, 0.348], "accuracy": [0.85, 0.852, 0.853], "val_accuracy": [0.85, 0.85, 0.85]}
    assert curve_checks.learning_rate_too_low(converged, facts(), "accuracy", network(), None, first_loss=0.69) == []
    # The same curves from a loss that the first epoch hardly moved: slow (an untrained network may score
    # above the baseline: iris's starts at 0.67 where always guessing one class gives 0.33).
    assert curve_checks.learning_rate_too_low(converged, facts(), "accuracy", network(), None, first_loss=0.351)
    stuck = {"loss": [0.7, 0.699, 0.698], "accuracy": [0.5, 0.505, 0.506], "val_accuracy": [0.5, 0.5, 0.5]}
    assert curve_checks.learning_rate_too_low(stuck, facts(), "accuracy", network(), 1e-5)
    # The same curves with steps of 1e-3 of the weights (or far larger): the rate is not what is small.
    assert curve_checks.learning_rate_too_low(stuck, facts(), "accuracy", network(), 1.1e-3) == []
    assert curve_checks.learning_rate_too_low(stuck, facts(), "accuracy", network(), 0.47) == []


def test_large_steps_that_learned_nothing_are_a_rate_too_high_even_in_a_short_run():
    history = {"loss": [0.7, 0.7], "accuracy": [0.5, 0.51]}
    assert curve_checks.learning_rate_too_high(history, facts(), "accuracy", network(), update_ratio=0.47)


def test_a_run_stopped_by_the_user_is_not_judged_for_underfitting():
    project = network()
    diagnosis = Diagnosis(project, points(), facts())
    diagnosis.after_epoch(1, {"loss": 0.7, "accuracy": 0.5, "val_loss": 0.7, "val_accuracy": 0.5})
    assert "underfitting" not in diagnosis.report("stopped", 1).codes()
    assert "underfitting" in diagnosis.report("completed", 1).codes()


def test_a_regression_whose_loss_falls_under_one_percent_an_epoch_learns_too_slowly():
    history = {"loss": [4.0, 3.99, 3.98, 3.97], "mae": [1.9, 1.9, 1.9, 1.9]}
    finding = one(curve_checks.learning_rate_too_low(history, regression_facts(), "mae", network(), 1e-5),
                  "learning_rate_too_low")
    evidence = str(finding.evidence)
    assert "best: 0.25 %" in evidence and "by 1.0e-05 of their size" in evidence


def test_a_huge_loss_is_an_exploding_gradient():
    project = network()
    assert "exploding_gradients" in codes(curve_checks.exploding_loss({"loss": [0.7, 1000.0]}, facts(), project))
    # Or a hundred times chance's ln 2 (69.3 nats), reached before 1000 by a rate far too high.
    assert "exploding_gradients" in codes(curve_checks.exploding_loss({"loss": [0.7, 69.4]}, facts(), project))
    assert curve_checks.exploding_loss({"loss": [0.7, 69.2]}, facts(), project) == []
    # A regression's loss is in its target's units: a thousand times its first epoch's.
    assert codes(curve_checks.exploding_loss({"loss": [2.0, 2000.0]}, regression_facts(), project)) == [
        "exploding_gradients"]
    assert curve_checks.exploding_loss({"loss": [2.0, 1999.0]}, regression_facts(), project) == []


def test_underfitting_below_a_quarter_of_the_way_from_the_baseline_to_perfect():
    finding = one(_underfitting()[0], "underfitting")
    assert "0.55; always guessing 'blue' gives 0.5" in str(finding.evidence)
    # One hidden Dense layer: a second is offered.
    assert [remedy.edit["kind"] for remedy in finding.remedies][:2] == ["scale_units", "add_hidden_layer"]
    fitted = {"accuracy": [0.5, 0.63], "val_accuracy": [0.5, 0.63]}  # skill 0.26
    assert curve_checks.fit_at_end(fitted, facts(), "accuracy", network()) == []


def test_a_validation_figure_near_the_baseline_is_no_better_than_guessing():
    finding = one(_no_better_than_baseline()[0], "no_better_than_baseline")
    assert "validation accuracy is 0.52" in str(finding.evidence)
    regression = {"mae": [0.5], "val_mae": [1.9]}  # baseline 2.0: skill 0.05
    assert codes(curve_checks.fit_at_end(regression, regression_facts(), "mae", network())) == [
        "no_better_than_baseline"]


@pytest.mark.parametrize(("first_loss", "found"), [(3.0, True), (1.3, False), (2 * LN2 + 0.01, True)])
def test_initial_loss_far_from_ln_c(first_loss, found):
    findings = curve_checks.initial_loss_off(first_loss, facts(), sigmoid_network())
    assert bool(findings) is found


def test_initial_loss_off_blames_a_large_weight_penalty_when_there_is_one():
    plain = one(curve_checks.initial_loss_off(3.0, facts(), sigmoid_network()), "initial_loss_off")
    assert plain.remedies[0].edit == {"kind": "set_initializer", "initializer": "glorot_uniform"}
    assert "ln 2 = 0.693" in str(plain.evidence)
    penalised = network(DenseLayer(16, "relu", l2=0.01))
    finding = one(curve_checks.initial_loss_off(3.0, facts(), penalised), "initial_loss_off")
    assert finding.remedies[0].edit == {"kind": "set_l2", "value": 1e-4}
    assert "penalty" in str(finding.cause)
    assert curve_checks.initial_loss_off(30.0, regression_facts(), network()) == []


@pytest.mark.parametrize(("last_val", "found"), [(0.7 * 1.004, True), (0.7 * 1.006, False)])
def test_not_converged_while_the_loss_still_falls_and_validation_is_at_its_best(last_val, found):
    history = {"loss": [1.0, 0.9, 0.8, 0.7, 0.6, 0.5], "val_loss": [1.0, 0.9, 0.85, 0.8, 0.7, last_val]}
    assert bool(curve_checks.not_converged(history, network(), "completed")) is found


def test_a_run_stopped_early_or_with_a_flat_loss_is_not_unconverged():
    history = {"loss": [1.0, 0.9, 0.8, 0.7, 0.6, 0.5]}
    assert curve_checks.not_converged(history, network(), "stopped") == []
    flat = {"loss": [1.0, 0.5, 0.5, 0.5, 0.5, 0.495]}  # 1 % lower at the end
    assert curve_checks.not_converged(flat, network(), "completed") == []
    note = one(curve_checks.not_converged(history, network(epochs=6), "completed"), "not_converged")
    assert "6 → 18 epochs" in str(note.remedies[0].text)


# ------------------------------------------------------------ findings and Text


def test_text_fills_its_english_template():
    assert str(Text.of("{count} rows and {share} left", count=3, share=0.25)) == "3 rows and 0.25 left"
    assert str(Text.of("No problems found.")) == "No problems found."
    assert Text.of("{n}", n=7).values == (("n", "7"),)


def test_translated_passes_templates_and_values_through_the_function_nested_texts_included():
    calls = []

    def bracketed(template, **values):
        calls.append((template, values))
        return "<" + template.format(**values) + ">"

    text = Text.of("say {inner} and {parts}", inner=Text.of("hi {x}", x=1),
                   parts=(Text.of("a"), Text.of("b {y}", y=2)))
    assert text.translated(bracketed) == "<say <hi 1> and <a>; <b 2>>"
    assert ("hi {x}", {"x": "1"}) in calls and ("a", {}) in calls and ("b {y}", {"y": "2"}) in calls
    assert calls[-1] == ("say {inner} and {parts}", {"inner": "<hi 1>", "parts": "<a>; <b 2>"})
    assert str(text) == "say hi 1 and a; b 2"


def finding(code, severity=PROBLEM, layer=None, remedies=(), figure=None, epoch=None) -> Finding:
    return Finding(code, severity, Text.of("{n} of them.", n=1), Text.of("Because it is so."), tuple(remedies),
                   epoch, layer, figure)


def test_by_urgency_puts_problems_first_then_the_order_of_codes_then_layers():
    found = [finding("too_few_samples", NOTE), finding("overfitting"), finding("dying_relu", layer=3),
             finding("nan_loss"), finding("dying_relu", layer=1), finding("initial_loss_off", NOTE)]
    assert [(f.code, f.layer) for f in by_urgency(found)] == [
        ("nan_loss", None), ("dying_relu", 1), ("dying_relu", 3), ("overfitting", None),
        ("initial_loss_off", None), ("too_few_samples", None)]


def test_a_report_counts_its_problems_and_notes():
    report = DiagnosisReport(by_urgency([finding("overfitting"), finding("underfitting"),
                                         finding("not_converged", NOTE)]))
    assert not report.healthy and len(report.problems) == 2
    assert report.codes() == {"overfitting", "underfitting", "not_converged"}
    assert report.find("underfitting").code == "underfitting" and report.find("nan_loss") is None
    assert str(report.summary()) == "2 problem(s) and 1 note(s) found."


def test_a_healthy_summary_gives_the_figures_that_show_it():
    figures = {"accuracy": 0.98, "val_accuracy": 0.95, "baseline": 0.5, "gradient_ratio": 0.45}
    report = DiagnosisReport([finding("not_converged", NOTE)], figures)
    assert report.healthy
    assert str(report.summary()) == (
        "No problems found: held-out accuracy 0.950 against 0.500 for always guessing the same; training and "
        "held-out accuracy 0.030 apart; first layer's gradient 0.45× the last's.")
    assert str(healthy_summary({}, "accuracy")) == "No problems found."
    assert str(healthy_summary({"test_mae": 0.2, "baseline": 1.5}, "mae")) == (
        "No problems found: held-out mae 0.200 against 1.500 for always guessing the same.")


def test_a_report_as_json_turns_numbers_that_are_not_into_null():
    report = DiagnosisReport([finding("nan_loss", figure=("loss", math.nan), epoch=2)],
                             {"loss": math.nan, "baseline": 0.5})
    document = json.loads(json.dumps(report.to_json(), allow_nan=False))
    assert document["format"] == "keras-trainer-diagnosis" and document["healthy"] is False
    assert document["figures"] == {"loss": None, "baseline": 0.5}
    assert document["findings"][0]["figure"] == {"name": "loss", "value": None}
    assert document["findings"][0]["title"] == "The loss became NaN" and document["findings"][0]["epoch"] == 2


# ------------------------------------------------------------------ remedies


def test_add_dropout_goes_after_every_hidden_dense_layer_or_resets_the_one_there():
    project = network(DenseLayer(16, "relu"), DenseLayer(8, "relu"), DropoutLayer(0.5))
    edited = apply_edit(project, {"kind": "add_dropout", "rate": 0.3})
    assert [type(layer).__name__ for layer in edited.layers] == ["DenseLayer", "DropoutLayer", "DenseLayer",
                                                                 "DropoutLayer"]
    assert [layer.rate for layer in edited.layers if isinstance(layer, DropoutLayer)] == [0.3, 0.3]
    after_first = apply_edit(network(), {"kind": "add_dropout", "rate": 0.2, "after": 1})
    assert isinstance(after_first.layers[1], DropoutLayer) and len(after_first.layers) == 3


def test_set_l2_and_clipping_and_batchnorm_edits_do_what_they_say():
    project = network(DenseLayer(16, "relu"), DropoutLayer(0.2), DenseLayer(8, "relu"))
    assert [layer.l2 for layer in apply_edit(project, {"kind": "set_l2", "value": 1e-3}).layers
            if isinstance(layer, DenseLayer)] == [1e-3, 1e-3]
    clipped = apply_edit(project, {"kind": "clip_gradient_norm", "norm": 1.0})
    assert (clipped.optimizer.clipnorm, clipped.optimizer.clipvalue) == (1.0, 0.0)
    normalised = apply_edit(project, {"kind": "add_batchnorm"})
    assert [type(layer).__name__ for layer in normalised.layers] == [
        "DenseLayer", "BatchNormLayer", "DropoutLayer", "DenseLayer", "BatchNormLayer"]
    assert len(apply_edit(normalised, {"kind": "add_batchnorm"}).layers) == 5  # no second one


def test_early_stopping_edit_enables_it_restoring_the_best_weights_with_validation():
    project = network()
    project.training.validation_fraction = 0.0
    edited = apply_edit(project, {"kind": "early_stopping", "patience": 5})
    early = edited.training.early_stopping
    assert early.enabled and early.restore_best_weights and early.patience == 5 and early.monitor == "val_loss"
    assert edited.training.validation_fraction == 0.2  # nothing to monitor without validation rows
    assert not project.training.early_stopping.enabled


def test_scale_learning_rate_scales_within_the_allowed_range():
    project = network(lr=0.3)
    assert apply_edit(project, {"kind": "scale_learning_rate", "factor": 0.1}).optimizer.learning_rate == \
        pytest.approx(0.03)
    assert apply_edit(network(lr=5.0), {"kind": "scale_learning_rate", "factor": 10.0}).optimizer.learning_rate == 10.0
    assert project.optimizer.learning_rate == 0.3


def test_leave_out_column_adds_it_to_the_excluded_columns_once():
    project = network(dataset=DatasetChoice(name="csv", data_file="t.csv", target="survived", exclude=["who"]))
    edited = apply_edit(project, {"kind": "leave_out_column", "column": "alive"})
    assert edited.dataset.exclude == ["who", "alive"]
    assert apply_edit(edited, {"kind": "leave_out_column", "column": "alive"}).dataset.exclude == ["who", "alive"]
    assert project.dataset.exclude == ["who"]


def test_cap_dropout_lowers_only_the_rates_above_the_cap():
    project = network(DenseLayer(16, "relu"), DropoutLayer(0.8), DenseLayer(16, "relu"), DropoutLayer(0.2))
    edited = apply_edit(project, {"kind": "cap_dropout", "rate": 0.3})
    assert [layer.rate for layer in edited.layers if isinstance(layer, DropoutLayer)] == [0.3, 0.2]
    assert project.layers[1].rate == 0.8


def test_units_and_epochs_edits_stay_within_their_bounds():
    project = network(DenseLayer(512, "relu"), DenseLayer(2, "relu"), epochs=40_000)
    wider = apply_edit(project, {"kind": "scale_units", "factor": 4.0, "at_least": 64})
    assert [layer.units for layer in wider.layers] == [1024, 64]
    fewer = apply_edit(project, {"kind": "scale_units", "factor": 0.25})
    assert [layer.units for layer in fewer.layers] == [128, 2]
    assert apply_edit(project, {"kind": "more_epochs", "factor": 3.0}).training.epochs == 100_000
    deeper = apply_edit(project, {"kind": "add_hidden_layer", "units": 64, "activation": "relu",
                                  "initializer": "he_normal"})
    assert len(deeper.layers) == 3 and deeper.layers[-1].units == 64


@pytest.mark.parametrize(("edit", "words"), [
    ({"kind": "nosuch"}, "unknown remedy"),
    ("add_dropout", "unknown remedy"),
    ({"kind": "set_l2", "rate": 0.1}, "does not fit its kind"),
    ({"kind": "set_l2", "value": 5.0}, "L2"),
])
def test_an_edit_that_is_unknown_or_leaves_the_project_invalid_is_refused(edit, words):
    project = network()
    before = project_to_dict(project)
    with pytest.raises(UserError, match=words):
        apply_edit(project, edit)
    assert project_to_dict(project) == before


def test_an_edit_beyond_the_most_layers_is_refused():
    project = network(*[DenseLayer(4, "relu") for _ in range(100)])
    with pytest.raises(UserError, match="more than 100 layers"):
        apply_edit(project, {"kind": "add_hidden_layer", "units": 4, "activation": "relu",
                             "initializer": "he_normal"})


# ------------------------------------------------------------ the Diagnosis


def test_the_diagnosis_reports_a_finding_once_when_first_seen():
    project = sigmoid_network()
    diagnosis = Diagnosis(project, points(), facts())
    first = diagnosis.after_reading(reading([5e-5, 1e-3, 1e-2, 0.1], activation="sigmoid", epoch=0.0, loss=3.0))
    assert codes(first) == ["vanishing_gradients", "initial_loss_off"]
    assert diagnosis.after_reading(reading([4e-5, 1e-3, 1e-2, 0.1], activation="sigmoid", epoch=1.0)) == []
    report = diagnosis.report("completed", 1)
    assert report.find("vanishing_gradients").epoch == 0
    assert report.figures["initial_loss"] == 3.0 and report.figures["gradient_ratio"] == pytest.approx(4e-4)


def test_overfitting_cured_by_restored_weights_is_dropped_at_the_end():
    diagnosis = Diagnosis(network(), points(), facts())
    losses = [(1.0, 1.0), (0.8, 1.1), (0.6, 1.2), (0.4, 1.3), (0.2, 1.4)]
    seen = []
    for epoch, (loss, val_loss) in enumerate(losses, start=1):
        seen += diagnosis.after_epoch(epoch, {"loss": loss, "val_loss": val_loss, "accuracy": 0.9,
                                              "val_accuracy": 0.9})
    assert "overfitting" in codes(seen)  # seen live, after epoch 4
    assert "overfitting" in diagnosis.report("completed", 5).codes()
    restored = diagnosis.report("early_stopping", 5, restored_epoch=1)
    assert "overfitting" not in restored.codes()
    assert restored.figures["val_loss"] == 1.0 and restored.figures["loss"] == 1.0  # the kept epoch's figures


def test_the_diagnosing_listener_passes_reports_on_and_sends_new_findings():
    events = []

    class Inner:
        def on_epoch_ended(self, result):
            events.append(("epoch", result.epoch))

        def on_instruments(self, reading):
            events.append(("reading", reading.epoch))

        def on_findings(self, findings):
            events.append(("findings", codes(findings)))

        def on_batch_progress(self, progress):
            events.append(("batch", progress))

    project = network(DenseLayer(16, "relu"), DropoutLayer(0.8), DenseLayer(16, "relu"))
    listener = DiagnosingListener(Inner(), Diagnosis(project, points(), facts()))
    listener.report_static()
    listener.on_batch_progress("half")  # not read by the diagnosis: straight through
    listener.on_instruments(reading([0.1, 0.1, 0.1], dead=[0.9, 0.0]))
    listener.on_epoch_ended(SimpleNamespace(epoch=1, logs={"loss": 0.7, "accuracy": 0.5}))
    assert events == [("findings", ["high_dropout"]), ("batch", "half"), ("reading", 1.0),
                      ("findings", ["dying_relu"]), ("epoch", 1)]


def test_a_listener_without_on_findings_still_gets_its_reports():
    class Plain:
        def __init__(self):
            self.epochs = []

        def on_epoch_ended(self, result):
            self.epochs.append(result.epoch)

    plain = Plain()
    listener = DiagnosingListener(plain, Diagnosis(network(DenseLayer(8, "linear")), points(), facts()))
    listener.report_static()
    listener.on_epoch_ended(SimpleNamespace(epoch=1, logs={"loss": 0.7}))
    assert plain.epochs == [1]


# ------------------------------------------------------------------- repair


def report_of(*found, val_loss=0.5) -> DiagnosisReport:
    return DiagnosisReport(by_urgency(found), {"val_loss": val_loss, "loss": val_loss / 2})


OVERFITTING_REMEDIES = (Remedy(Text.of("Early stopping."), {"kind": "early_stopping", "patience": 5}),
                        Remedy(Text.of("Dropout."), {"kind": "add_dropout", "rate": 0.3}),
                        Remedy(Text.of("L2."), {"kind": "set_l2", "value": 1e-3}))


def overfitting_report(val_loss=0.9) -> DiagnosisReport:
    return report_of(finding("target_leakage"), finding("overfitting", remedies=OVERFITTING_REMEDIES,
                                                        figure=("val_loss", val_loss)),
                     finding("too_few_samples", NOTE, remedies=OVERFITTING_REMEDIES[1:]), val_loss=val_loss)


def test_repair_targets_the_most_urgent_problem_that_has_remedies():
    repair = Repair(Attempt(None, network(), overfitting_report()))
    assert repair.target.code == "overfitting"  # leakage comes first but offers no remedy here
    notes_only = Repair(Attempt(None, network(), report_of(finding("too_few_samples", NOTE,
                                                                   remedies=OVERFITTING_REMEDIES[1:]))))
    assert notes_only.target.code == "too_few_samples"
    nothing = Repair(Attempt(None, network(), report_of(finding("class_imbalance", NOTE))))
    assert nothing.target is None and nothing.next_try() is None


def test_repair_tries_the_remedies_in_order_and_stops_when_one_cures():
    project = network()
    repair = Repair(Attempt(None, project, overfitting_report()), attempts=3)
    remedy, edited = repair.next_try()
    assert remedy is OVERFITTING_REMEDIES[0] and edited.training.early_stopping.enabled
    assert not project.training.early_stopping.enabled
    repair.record(Attempt(remedy, edited, overfitting_report(0.8)))  # still overfitting
    assert not repair.repaired
    remedy, edited = repair.next_try()
    assert remedy is OVERFITTING_REMEDIES[1] and any(isinstance(layer, DropoutLayer) for layer in edited.layers)
    cured = Attempt(remedy, edited, report_of(finding("target_leakage"), val_loss=0.7))
    repair.record(cured)
    assert repair.repaired and repair.cured(cured)
    assert repair.next_try() is None  # the third remedy is not tried
    assert repair.best() is cured


def test_repair_respects_its_number_of_attempts():
    repair = Repair(Attempt(None, network(), overfitting_report()), attempts=2)
    tried = []
    while (step := repair.next_try()) is not None:
        tried.append(step[0])
        repair.record(Attempt(step[0], step[1], overfitting_report(0.95)))
    assert tried == list(OVERFITTING_REMEDIES[:2])
    assert not repair.repaired
    assert repair.best() is repair.original  # 0.9 beats both attempts' 0.95


def test_a_remedy_the_project_cannot_take_is_counted_and_skipped():
    bad = Remedy(Text.of("Nothing."), {"kind": "nosuch"})
    report = report_of(finding("overfitting", remedies=(bad, *OVERFITTING_REMEDIES)))
    repair = Repair(Attempt(None, network(), report), attempts=2)
    remedy, _ = repair.next_try()
    assert remedy is OVERFITTING_REMEDIES[0]
    assert len(repair.tried) == 1 and repair.tried[0].report is None and "unknown remedy" in repair.tried[0].failure
    repair.record(Attempt(remedy, network(), overfitting_report()))
    assert repair.next_try() is None  # two attempts used


def test_best_prefers_a_cured_attempt_over_fewer_problems_or_a_lower_loss():
    repair = Repair(Attempt(None, network(), overfitting_report(0.9)))
    worse_but_uncured = Attempt(OVERFITTING_REMEDIES[0], network(), overfitting_report(0.1))
    cured = Attempt(OVERFITTING_REMEDIES[1], network(),
                    report_of(finding("target_leakage"), finding("underfitting"), val_loss=2.0))
    better_cured = Attempt(OVERFITTING_REMEDIES[2], network(),
                           report_of(finding("target_leakage"), finding("underfitting"), val_loss=1.5))
    for attempt in (worse_but_uncured, cured, better_cured):
        repair.record(attempt)
    assert repair.best() is better_cured


def test_remedy_outcome_says_gone_or_still_there_with_the_figure_before_and_after():
    before = overfitting_report(0.9)
    gone = remedy_outcome("overfitting", before, report_of(val_loss=0.4))
    assert (gone.gone, gone.figure, gone.before, gone.after) == (True, "val_loss", 0.9, 0.4)
    assert str(gone.sentence()) == "Overfitting: gone (validation loss 0.9 → 0.4)."
    still = remedy_outcome("overfitting", before, overfitting_report(0.85))
    assert str(still.sentence()) == "Overfitting: still there (validation loss 0.9 → 0.85)."
    vanishing = report_of(finding("vanishing_gradients", layer=1, figure=("gradient_ratio", 1e-5)))
    after = DiagnosisReport([], {"gradient_ratio": 0.5, "val_loss": 0.3})
    cured = remedy_outcome("vanishing_gradients", vanishing, after)
    assert str(cured.sentence()) == "Vanishing gradients: gone (first/last gradient ratio 1e-05 → 0.5)."
    # A figure the later run lacks: the validation loss instead.
    dying = report_of(finding("dying_relu", layer=1, figure=("dead_fraction", 0.9)), val_loss=0.8)
    fallback = remedy_outcome("dying_relu", dying, DiagnosisReport([], {"val_loss": 0.3}))
    assert (fallback.figure, fallback.before, fallback.after, fallback.gone) == ("val_loss", 0.8, 0.3, True)


def test_repair_outcome_compares_with_the_original_run():
    repair = Repair(Attempt(None, network(), overfitting_report(0.9)))
    attempt = Attempt(OVERFITTING_REMEDIES[0], network(), report_of(val_loss=0.5))
    assert repair.outcome(attempt).gone and repair.outcome(attempt).after == 0.5
    assert repair.outcome(Attempt(OVERFITTING_REMEDIES[0], network(), None)) is None


# -------------------------------------------------------------- real runs


class Watching(TrainingListener):
    """Records the run's events in order: findings (code, epoch, layer) as they arrive, epochs, the end."""

    def __init__(self):
        self.events = []

    def on_findings(self, findings):
        self.events += [("finding", finding.code, finding.epoch, finding.layer) for finding in findings]

    def on_epoch_ended(self, result):
        self.events.append(("epoch", result.epoch, None, None))

    def on_finished(self, result):
        self.events.append(("finished", None, None, None))


def diagnosed_run(project, **options):
    listener = Watching()
    dataset = options.pop("dataset", None) or load_dataset(project.dataset)
    result = run_training(project, listener=listener, dataset=dataset, instruments=True, diagnose=True, **options)
    return result, listener.events


@pytest.fixture(scope="module")
def vanishing_run():
    project = network(*[DenseLayer(16, "sigmoid", kernel_initializer="random_normal") for _ in range(8)], epochs=3)
    return project, *diagnosed_run(project)


@pytest.fixture(scope="module")
def dying_run():
    project = network(*[DenseLayer(32, "relu") for _ in range(3)], lr=0.3, epochs=5)
    return project, *diagnosed_run(project)


def test_a_deep_sigmoid_stack_with_small_weights_has_vanishing_gradients(vanishing_run):
    project, result, _ = vanishing_run
    finding = one(result.diagnosis.findings, "vanishing_gradients")
    assert finding.severity == PROBLEM and finding.layer == 1 and finding.epoch == 0
    assert finding.figure[1] < 1e-3 and result.diagnosis.figures["gradient_ratio"] < 1e-3
    assert_well_formed(result.diagnosis.findings, project, must_change=False)


def test_adam_at_0_3_kills_relu_units(dying_run):
    project, result, _ = dying_run
    dying = [finding for finding in result.diagnosis.findings if finding.code == "dying_relu"]
    assert dying and {finding.layer for finding in dying} <= {1, 2, 3}
    assert all(finding.figure[1] >= 0.7 for finding in dying)
    assert "vanishing_gradients" not in result.diagnosis.codes()
    assert_well_formed(result.diagnosis.findings, project, must_change=False)


@pytest.mark.parametrize(("run", "code"), [("vanishing_run", "vanishing_gradients"), ("dying_run", "dying_relu")])
def test_findings_reach_the_listener_during_training(request, run, code):
    _, result, events = request.getfixturevalue(run)
    finished = events.index(("finished", None, None, None))
    live = [index for index, event in enumerate(events) if event[:2] == ("finding", code)]
    assert live and live[0] < finished
    assert isinstance(events[live[0]][2], int)
    # Each finding (code and layer) is sent once, and the report keeps every one sent.
    sent = [(event[1], event[3]) for event in events if event[0] == "finding"]
    assert len(sent) == len(set(sent))
    kept = {finding.key for finding in result.diagnosis.findings}
    assert set(sent) - kept <= {("learning_rate_too_high", None), ("overfitting", None)}  # judged again at the end


def test_vanishing_gradients_are_sent_before_the_first_epoch_ends(vanishing_run):
    _, _, events = vanishing_run
    first_epoch = events.index(("epoch", 1, None, None))
    assert ("finding", "vanishing_gradients", 0, 1) in events[:first_epoch]


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the divergence itself
def test_sgd_at_rate_1_on_a_regression_gives_a_nan_loss():
    project = network(DenseLayer(32, "relu"), DenseLayer(32, "relu"), optimizer="sgd", lr=1.0, epochs=3,
                      dataset=DatasetChoice(name="linear"))
    result, _ = diagnosed_run(project)
    assert result.reason == NAN_LOSS
    finding = result.diagnosis.findings[0]
    assert finding.code == "nan_loss" and finding.epoch == 1
    assert finding.remedies[0].edit == {"kind": "scale_learning_rate", "factor": 0.1}
    assert_well_formed(result.diagnosis.findings, project)


@pytest.fixture(scope="module")
def linear_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("diagnosis") / "linear"
    project = network(DenseLayer(16, "linear"), DenseLayer(16, "linear"), epochs=3,
                      dataset=DatasetChoice(name="circles", samples=300))
    result, _ = diagnosed_run(project, run_dir=folder)
    return project, result, folder


def test_linear_hidden_layers_have_no_nonlinearity(linear_run):
    project, result, _ = linear_run
    finding = one(result.diagnosis.findings, "missing_nonlinearity")
    assert finding.severity == PROBLEM and finding.epoch == 0 and finding.layer == 1
    edited = apply_edit(project, finding.remedies[0].edit)
    assert {layer.activation for layer in edited.layers} == {"relu"}
    assert_well_formed(result.diagnosis.findings, project, must_change=False)


def test_the_run_folder_holds_diagnosis_json(linear_run):
    _, result, folder = linear_run
    document = json.loads((folder / "diagnosis.json").read_text(encoding="utf-8"))
    assert document["summary"] == str(result.diagnosis.summary())
    assert [item["code"] for item in document["findings"]] == [f.code for f in result.diagnosis.findings]
    for item in document["findings"]:
        assert {"code", "severity", "epoch", "layer", "evidence", "cause", "remedies"} <= set(item)
        assert item["severity"] in (PROBLEM, NOTE) and re.search(r"\d", item["evidence"])
        for remedy in item["remedies"]:
            assert set(remedy) == {"text", "edit"} and isinstance(remedy["edit"]["kind"], str)
    linear = next(item for item in document["findings"] if item["code"] == "missing_nonlinearity")
    assert linear["layer"] == 1 and linear["epoch"] == 0
    assert linear["remedies"][0]["edit"] == {"kind": "set_activation", "activation": "relu",
                                             "initializer": "he_normal", "only": ["linear"]}


def test_a_healthy_tiny_run_has_no_problem():
    project = network(*[DenseLayer(16, "relu", kernel_initializer="he_normal") for _ in range(2)], lr=0.01,
                      epochs=15, dataset=DatasetChoice(name="moons", samples=300))
    project.training.batch_size = 16
    result, _ = diagnosed_run(project)
    report = result.diagnosis
    assert report.healthy and report.problems == [], [str(f.evidence) for f in report.problems]
    summary = str(report.summary())
    assert summary.startswith("No problems found") and "held-out accuracy" in summary
    assert report.figures["val_accuracy"] > 0.9 and report.figures["baseline"] == pytest.approx(0.5, abs=0.05)


@pytest.mark.skipif(not TITANIC.exists(), reason="shared/data/titanic.csv is not beside the repository")
def test_titanic_alive_gives_survived_away_until_it_is_left_out():
    project = network(DenseLayer(8, "relu"), epochs=2, dataset=DatasetChoice(
        name="csv", data_file=str(TITANIC), target="survived", missing="fill"))
    project.training.batch_size = 64
    result, _ = diagnosed_run(project)
    finding = one(result.diagnosis.findings, "target_leakage")
    assert "'alive'" in str(finding.evidence) and finding.figure[1] >= 0.99
    assert [remedy.edit for remedy in finding.remedies] == [{"kind": "leave_out_column", "column": "alive"}]
    fair_project = apply_edit(project, finding.remedies[0].edit)
    assert fair_project.dataset.exclude == ["alive"]
    fair_data = load_dataset(fair_project.dataset)
    assert not [name for name in fair_data.feature_names if name.startswith("alive")]
    fair, _ = diagnosed_run(fair_project, dataset=fair_data)
    assert "target_leakage" not in fair.diagnosis.codes()


# -------------------------------------------------------------- command line


def train(*args) -> int:
    return run_cli(["train", "--quiet", *args])


def test_the_command_line_prints_the_diagnosis_and_writes_it(tmp_path, capsys):
    out = tmp_path / "run"
    status = train("--dataset", "spiral", "--samples", "200", "--hidden", "8,8", "--activation", "linear",
                   "--epochs", "2", "--out", str(out))
    printed = capsys.readouterr()
    assert status == 0, printed.err
    lines = printed.out.splitlines()
    assert any(line.startswith("diagnosis: ") for line in lines)
    assert any(line.strip().startswith("[problem] missing_nonlinearity:") for line in lines)
    assert any(line.strip().startswith("try 1: ReLU with He initialisation") for line in lines)
    document = json.loads((out / "diagnosis.json").read_text(encoding="utf-8"))
    assert "missing_nonlinearity" in [item["code"] for item in document["findings"]]


def test_no_diagnosis_prints_and_writes_none(tmp_path, capsys):
    out = tmp_path / "run"
    assert train("--dataset", "xor", "--samples", "100", "--hidden", "4", "--epochs", "1", "--no-diagnosis",
                 "--out", str(out)) == 0
    assert "diagnosis:" not in capsys.readouterr().out
    assert not (out / "diagnosis.json").exists() and (out / "metrics.json").exists()


@pytest.mark.parametrize(("args", "words"), [
    (["--auto-remedy", "0"], f"--auto-remedy takes 1 to {MAX_AUTO_REMEDY} retrains (got 0)"),
    (["--auto-remedy", str(MAX_AUTO_REMEDY + 1)],
     f"--auto-remedy takes 1 to {MAX_AUTO_REMEDY} retrains (got {MAX_AUTO_REMEDY + 1})"),
    (["--auto-remedy", "1", "--no-diagnosis"], "drop --no-diagnosis"),
    (["--auto-remedy", "1", "--folds", "3"], "drop --folds or --auto-remedy"),
])
def test_auto_remedy_refusals_are_one_error_line_and_status_2(tmp_path, capsys, args, words):
    out = tmp_path / "run"
    assert train("--dataset", "spiral", "--samples", "100", "--epochs", "1", *args, "--out", str(out)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and words in err[0], err
    assert not (out / "metrics.json").exists()


def test_exclude_flag_leaves_csv_columns_out(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("a,b,id,y\n1,2,1,0\n2,3,2,1\n")
    args = build_parser().parse_args(["train", "--dataset", "csv", "--data-file", str(table), "--target", "y",
                                      "--exclude", "id, b"])
    assert project_from_args(args).dataset.exclude == ["id", "b"]


def test_auto_remedy_with_export_is_refused_because_it_may_keep_another_run(tmp_path, capsys):
    assert train("--dataset", "xor", "--samples", "100", "--epochs", "1", "--auto-remedy", "1", "--export", "keras",
                 "--out", str(tmp_path / "run")) == 2
    assert "cannot know which model to write" in capsys.readouterr().err


def test_a_diverged_run_that_auto_remedy_repairs_exits_0_and_names_the_run_to_keep(tmp_path, capsys):
    out = tmp_path / "run"
    status = train("--dataset", "linear", "--hidden", "32,32", "--activation", "relu", "--optimizer", "sgd",
                   "--lr", "1", "--epochs", "2", "--auto-remedy", "1", "--out", str(out))
    printed = capsys.readouterr()
    assert status == 0, printed.err
    assert "auto-remedy: repaired; keep attempt 1" in printed.out
    assert f"the repaired run in {tmp_path / 'run-remedy-1'} is the one to keep" in printed.out


def test_auto_remedy_retrains_with_the_first_remedy_beside_the_run(tmp_path, capsys):
    out = tmp_path / "run"
    status = train("--dataset", "moons", "--samples", "200", "--hidden", "8", "--dropout", "0.8", "--epochs", "2",
                   "--auto-remedy", "1", "--out", str(out))
    printed = capsys.readouterr()
    assert status == 0, printed.err
    lines = [line.strip() for line in printed.out.splitlines()]
    assert "auto-remedy: high_dropout (Dropout too high), at most 1 retrain(s)" in lines
    attempt = next(line for line in lines if line.startswith("attempt 1:"))
    assert "Lower every dropout rate above 0.3 to 0.3." in attempt and "Dropout too high: gone" in attempt
    remedied = tmp_path / "run-remedy-1"
    assert remedied.is_dir() and str(remedied) in attempt
    assert f"auto-remedy: repaired; keep attempt 1: {remedied}" in lines
    saved = json.loads((remedied / "project.json").read_text())
    assert [layer["rate"] for layer in saved["layers"] if layer.get("type") == "dropout"] == [0.3]
    codes_after = [item["code"] for item in json.loads((remedied / "diagnosis.json").read_text())["findings"]]
    assert "high_dropout" not in codes_after
    assert "high_dropout" in [item["code"] for item in json.loads((out / "diagnosis.json").read_text())["findings"]]


def test_a_stopped_attempt_cures_nothing_and_is_never_kept():
    repair = Repair(Attempt(None, network(), overfitting_report(0.9)))
    remedy, edited = repair.next_try()
    stopped = Attempt(remedy, edited, report_of(val_loss=0.2), stopped=True)  # no overfitting: it did not get there
    repair.record(stopped)
    assert not repair.cured(stopped) and not repair.repaired
    assert repair.outcome(stopped) is None
    assert repair.best() is repair.original


def test_an_improving_remedy_is_carried_into_the_next_and_one_of_the_same_kind_replaces_it():
    slower = (Remedy(Text.of("÷10."), {"kind": "scale_learning_rate", "factor": 0.1}),
              Remedy(Text.of("÷100."), {"kind": "scale_learning_rate", "factor": 0.01}),
              Remedy(Text.of("Dropout."), {"kind": "add_dropout", "rate": 0.3}))
    project = network(lr=1.0)
    def report(val_loss):
        return report_of(finding("overfitting", remedies=slower, figure=("val_loss", val_loss)), val_loss=val_loss)

    repair = Repair(Attempt(None, project, report(0.9)), attempts=3)
    remedy, first = repair.next_try()
    assert first.optimizer.learning_rate == pytest.approx(0.1)
    repair.record(Attempt(remedy, first, report(0.7)))  # better, not cured: the new base
    remedy, second = repair.next_try()
    assert second.optimizer.learning_rate == pytest.approx(0.01)  # ÷100 of the original, not of the base
    repair.record(Attempt(remedy, second, report(0.8)))  # worse than the base
    remedy, third = repair.next_try()
    assert third.optimizer.learning_rate == pytest.approx(0.1)  # the dropout goes on top of the ÷10 run
    assert any(isinstance(layer, DropoutLayer) for layer in third.layers)


def test_a_remedy_that_would_change_nothing_is_not_retrained():
    already = network()
    already.training.early_stopping.enabled = True
    already.training.early_stopping.patience = 5
    repair = Repair(Attempt(None, already, overfitting_report()), attempts=3)
    remedy, _ = repair.next_try()
    assert remedy is OVERFITTING_REMEDIES[1]  # early stopping, patience 5, is already on
