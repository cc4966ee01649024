"""The evaluation of a trained model's outputs: each figure against scikit-learn, worked out independently."""

import json
import math

import numpy as np
import pytest
from sklearn import metrics as skm

from models.errors import UserError
from models.evaluation import EPSILON, evaluate
from models.files import strict_json_text

CLASSES = ["cat", "dog", "bird"]


def softmax_rows(rng, n, k):
    scores = rng.normal(scale=2.0, size=(n, k))
    probabilities = np.exp(scores)
    return (probabilities / probabilities.sum(axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
def three_classes():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 60)
    outputs = softmax_rows(rng, 60, 3)
    outputs[:30] = np.eye(3, dtype=np.float32)[y[:30]] * 0.9 + 0.1 / 3  # half of them right
    train_y = np.array([0] * 50 + [1] * 30 + [2] * 20)
    return evaluate(outputs, y, train_y, "classification", CLASSES, "softmax")


def two_class_evaluation(output_kind="sigmoid"):
    y = np.array([0, 0, 0, 1, 1, 1, 0, 1])
    positive = np.array([0.1, 0.4, 0.6, 0.7, 0.3, 0.95, 0.05, 0.55], dtype=np.float32)
    outputs = positive[:, None] if output_kind == "sigmoid" else np.column_stack([1 - positive, positive])
    return evaluate(outputs, y, np.array([0, 0, 0, 1]), "classification", ["no", "yes"], output_kind)


def regression_evaluation(y=None, predicted=None, train_y=None):
    y = np.array([1.0, 2.0, 3.0, 4.0, 10.0]) if y is None else y
    predicted = np.array([1.5, 2.0, 2.0, 5.0, 8.0]) if predicted is None else predicted
    train_y = np.array([2.0, 4.0, 6.0]) if train_y is None else train_y
    return evaluate(predicted.reshape(-1, 1), y, train_y, "regression", [], "value")


def test_confusion_matrix_sums_to_the_samples_and_its_trace_is_the_accuracy(three_classes):
    matrix = three_classes.confusion_matrix()
    assert matrix.shape == (3, 3)
    assert matrix.sum() == three_classes.size == 60
    assert np.trace(matrix) / matrix.sum() == pytest.approx(three_classes.accuracy())
    expected_accuracy = np.mean(np.argmax(three_classes.outputs, axis=1) == three_classes.y_true)
    assert three_classes.accuracy() == pytest.approx(expected_accuracy)
    np.testing.assert_array_equal(matrix.sum(axis=1), np.bincount(three_classes.y_true, minlength=3))


def test_normalised_confusion_matrix_rows_are_recalls(three_classes):
    normalised = three_classes.confusion_matrix(normalize=True)
    np.testing.assert_allclose(normalised.sum(axis=1), 1.0)
    recalls = [three_classes.per_class()[name]["recall"] for name in CLASSES]
    np.testing.assert_allclose(np.diag(normalised), recalls)


def test_per_class_equals_sklearns_classification_report(three_classes):
    report = skm.classification_report(three_classes.y_true, np.argmax(three_classes.outputs, axis=1),
                                       labels=[0, 1, 2], target_names=CLASSES, output_dict=True,
                                       zero_division=0)
    ours = three_classes.per_class()
    assert list(ours) == [*CLASSES, "macro avg", "weighted avg"]
    for name, scores in ours.items():
        assert scores["precision"] == pytest.approx(report[name]["precision"])
        assert scores["recall"] == pytest.approx(report[name]["recall"])
        assert scores["f1"] == pytest.approx(report[name]["f1-score"])
        assert scores["support"] == report[name]["support"]
        assert isinstance(scores["support"], int)


def test_samples_in_cell_are_exactly_that_cells_and_the_cells_partition_the_samples(three_classes):
    matrix = three_classes.confusion_matrix()
    seen = []
    for true in range(3):
        for guess in range(3):
            cell = three_classes.samples_in_cell(true, guess)
            assert len(cell) == matrix[true, guess]
            assert np.all(three_classes.y_true[cell] == true)
            assert np.all(three_classes.predicted[cell] == guess)
            seen.extend(cell.tolist())
    assert sorted(seen) == list(range(three_classes.size))
    np.testing.assert_array_equal(three_classes.samples_in_cell("dog", "cat"), three_classes.samples_in_cell(1, 0))


def test_most_confused_lists_off_diagonal_cells_commonest_first(three_classes):
    matrix = three_classes.confusion_matrix()
    confused = three_classes.most_confused()
    counts = [count for _, _, count in confused]
    assert counts == sorted(counts, reverse=True)
    assert sum(counts) == matrix.sum() - np.trace(matrix)
    assert all(true != guess for true, guess, _ in confused)
    for true, guess, count in confused:
        assert matrix[CLASSES.index(true), CLASSES.index(guess)] == count
    assert all(count >= 5 for _, _, count in three_classes.most_confused(min_count=5))


def test_top_losses_are_sorted_worst_first_and_are_keras_cross_entropy(three_classes):
    order = three_classes.top_losses()
    assert sorted(order.tolist()) == list(range(three_classes.size))
    assert np.all(np.diff(three_classes.losses[order]) <= 0)
    assert len(three_classes.top_losses(5)) == 5
    rows = np.arange(three_classes.size)
    expected = -np.log(np.clip(three_classes.outputs[rows, three_classes.y_true], EPSILON, 1 - EPSILON))
    np.testing.assert_allclose(three_classes.losses, expected, rtol=1e-5)
    np.testing.assert_allclose(three_classes.losses.mean(),
                               skm.log_loss(three_classes.y_true, three_classes.outputs, labels=[0, 1, 2]),
                               rtol=1e-5)


def test_majority_baseline_is_how_often_the_commonest_training_class_is_right_here(three_classes):
    # Training: cat 50 %, dog 30 %, bird 20 %; the split has its own mix, so the two shares differ.
    baseline = three_classes.baseline()
    assert baseline["majority_class"] == "cat"
    assert baseline["accuracy"] == pytest.approx(np.mean(three_classes.y_true == 0))
    assert baseline["accuracy"] != pytest.approx(0.5)


def test_baseline_loss_is_the_cross_entropy_of_the_training_frequencies(three_classes):
    frequencies = np.array([0.5, 0.3, 0.2])
    expected = skm.log_loss(three_classes.y_true, np.tile(frequencies, (three_classes.size, 1)), labels=[0, 1, 2])
    assert three_classes.baseline()["loss"] == pytest.approx(expected)


def test_headline_compares_with_the_majority_class_and_says_so_when_no_better():
    y = np.array([0, 0, 0, 1])
    good = evaluate(np.eye(2)[y], y, np.array([0, 0, 1]), "classification", ["a", "b"], "softmax")
    assert good.beats_baseline()
    assert good.headline() == "accuracy 1.00 (majority class: 0.75)"
    always_b = evaluate(np.tile([0.2, 0.8], (4, 1)), y, np.array([0, 0, 1]), "classification", ["a", "b"], "softmax")
    assert not always_b.beats_baseline()
    assert always_b.headline().startswith("accuracy 0.25 (majority class: 0.75). ")
    assert "'a'" in always_b.headline()


def test_raising_the_threshold_moves_samples_to_the_first_class():
    evaluation = two_class_evaluation()
    np.testing.assert_array_equal(evaluation.predicted, [0, 0, 1, 1, 0, 1, 0, 1])
    everything_yes = evaluation.with_threshold(0.0)
    np.testing.assert_array_equal(everything_yes.confusion_matrix(), [[0, 4], [0, 4]])
    strict = evaluation.with_threshold(0.65)
    np.testing.assert_array_equal(strict.predicted, [0, 0, 0, 1, 0, 1, 0, 0])
    assert strict.confusion_matrix()[:, 1].sum() < evaluation.confusion_matrix()[:, 1].sum()
    assert strict.threshold == 0.65 and evaluation.threshold == 0.5  # the original is unchanged
    np.testing.assert_array_equal(strict.losses, evaluation.losses)
    with pytest.raises(ValueError):
        evaluation.with_threshold(1.5)


def test_a_probability_at_the_threshold_counts_as_the_second_class_as_predict_does():
    evaluation = evaluate(np.array([[0.5], [0.25]]), np.array([1, 0]), np.array([0, 1]),
                          "classification", ["no", "yes"], "sigmoid")
    np.testing.assert_array_equal(evaluation.predicted, [1, 0])
    np.testing.assert_array_equal(evaluation.with_threshold(0.25).predicted, [1, 1])


def test_a_certain_wrong_answer_has_the_clipped_finite_loss_keras_gives():
    outputs = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    evaluation = evaluate(outputs, np.array([1, 1]), np.array([0, 1]), "classification", CLASSES, "softmax")
    assert evaluation.losses[0] == pytest.approx(-math.log(EPSILON))
    assert evaluation.losses[1] == pytest.approx(-math.log(1 - EPSILON))
    absent_in_training = evaluation.baseline()["loss"]  # "dog" half the time in training: −log 0.5
    assert absent_in_training == pytest.approx(-math.log(0.5))


def test_a_threshold_needs_two_classes(three_classes):
    with pytest.raises(ValueError, match="two classes"):
        three_classes.with_threshold(0.3)


def test_sigmoid_and_a_two_unit_softmax_give_the_same_evaluation():
    sigmoid, softmax = two_class_evaluation("sigmoid"), two_class_evaluation("softmax")
    np.testing.assert_allclose(sigmoid.probabilities, softmax.probabilities, atol=1e-6)
    np.testing.assert_array_equal(sigmoid.predicted, softmax.predicted)
    np.testing.assert_allclose(sigmoid.losses, softmax.losses, rtol=1e-5)
    assert sigmoid.probabilities.shape == (8, 2)


def test_roc_and_precision_recall_curves_are_sklearns():
    evaluation = two_class_evaluation()
    positive = evaluation.outputs[:, 0]
    fpr, tpr, _thresholds, area = evaluation.roc_curve()
    expected_fpr, expected_tpr, _ = skm.roc_curve(evaluation.y_true, positive)
    np.testing.assert_allclose(fpr, expected_fpr)
    np.testing.assert_allclose(tpr, expected_tpr)
    assert area == pytest.approx(skm.roc_auc_score(evaluation.y_true, positive))
    precision, recall, _thresholds, average = evaluation.precision_recall_curve()
    assert average == pytest.approx(skm.average_precision_score(evaluation.y_true, positive))
    assert precision[-1] == 1 and recall[-1] == 0
    assert evaluation.metrics_json()["roc_auc"] == pytest.approx(area)


def test_a_split_of_one_class_has_no_roc_curve_and_a_null_auc():
    evaluation = evaluate(np.array([[0.2], [0.9]]), np.array([1, 1]), np.array([0, 1]),
                          "classification", ["no", "yes"], "sigmoid")
    with pytest.raises(UserError, match="one class"):
        evaluation.roc_curve()
    data = json.loads(strict_json_text(evaluation.metrics_json()))
    assert data["roc_auc"] is None


def test_a_class_absent_from_the_split_keeps_its_row_and_scores_zero():
    y = np.array([0, 0, 1, 1])  # no bird
    outputs = np.array([[0.8, 0.1, 0.1], [0.1, 0.1, 0.8], [0.1, 0.8, 0.1], [0.1, 0.8, 0.1]])
    evaluation = evaluate(outputs, y, np.array([0, 1, 2]), "classification", CLASSES, "softmax")
    matrix = evaluation.confusion_matrix()
    assert matrix.shape == (3, 3)
    np.testing.assert_array_equal(matrix[2], [0, 0, 0])
    np.testing.assert_array_equal(evaluation.confusion_matrix(normalize=True)[2], [0, 0, 0])
    bird = evaluation.per_class()["bird"]
    assert bird == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}  # predicted once, never right
    never_bird = evaluate(outputs[[0, 2]], y[[0, 2]], np.array([0, 1, 2]), "classification", CLASSES, "softmax")
    np.testing.assert_array_equal(never_bird.confusion_matrix(), [[1, 0, 0], [0, 1, 0], [0, 0, 0]])
    assert never_bird.per_class()["bird"]["support"] == 0
    assert never_bird.per_class()["macro avg"]["recall"] == pytest.approx(2 / 3)  # bird counts, as 0


def test_a_single_row_split_is_evaluated():
    evaluation = evaluate(np.array([[0.1, 0.7, 0.2]]), np.array([1]), np.array([0, 1, 2]),
                          "classification", CLASSES, "softmax")
    assert evaluation.accuracy() == 1.0
    assert evaluation.confusion_matrix().sum() == 1
    assert evaluation.per_class()["dog"]["recall"] == 1.0
    json.loads(strict_json_text(evaluation.metrics_json()))
    one_value = regression_evaluation(np.array([3.0]), np.array([2.5]))
    assert math.isnan(one_value.r2())
    assert one_value.mae() == pytest.approx(0.5)


def test_unnormalised_scores_become_softmax_probabilities():
    scores = np.array([[2.0, -1.0, 0.0], [0.0, 0.0, 5.0]])
    evaluation = evaluate(scores, np.array([0, 1]), np.array([0, 1, 2]), "classification", CLASSES, "scores")
    np.testing.assert_allclose(evaluation.probabilities.sum(axis=1), 1.0)
    expected = np.exp(scores[0]) / np.exp(scores[0]).sum()
    np.testing.assert_allclose(evaluation.probabilities[0], expected)
    np.testing.assert_array_equal(evaluation.predicted, [0, 2])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_outputs_that_are_not_numbers_are_a_user_error(bad):
    outputs = np.array([[0.2, 0.3, 0.5], [bad, 0.5, 0.5]])
    with pytest.raises(UserError, match="diverged"):
        evaluate(outputs, np.array([0, 1]), np.array([0, 1, 2]), "classification", CLASSES, "softmax")
    with pytest.raises(UserError, match="diverged"):
        evaluate(np.array([[1.0], [bad]]), np.array([1.0, 2.0]), np.array([1.0]), "regression", [], "value")


def test_an_empty_split_is_a_user_error_and_mismatched_arguments_a_value_error():
    with pytest.raises(UserError, match="no rows"):
        evaluate(np.zeros((0, 3)), np.array([], dtype=int), np.array([0]), "classification", CLASSES, "softmax")
    with pytest.raises(ValueError, match="width"):
        evaluate(np.zeros((2, 2)), np.array([0, 1]), np.array([0]), "classification", CLASSES, "softmax")
    with pytest.raises(ValueError, match="class indices"):
        evaluate(np.full((2, 3), 1 / 3), np.array([0, 3]), np.array([0]), "classification", CLASSES, "softmax")


def test_regression_figures_equal_sklearns():
    evaluation = regression_evaluation()
    y, predicted = evaluation.y_true, evaluation.predicted
    assert evaluation.mae() == pytest.approx(skm.mean_absolute_error(y, predicted))
    assert evaluation.rmse() == pytest.approx(math.sqrt(skm.mean_squared_error(y, predicted)))
    assert evaluation.r2() == pytest.approx(skm.r2_score(y, predicted))
    np.testing.assert_allclose(evaluation.residuals(), y - predicted)  # true minus predicted
    np.testing.assert_allclose(evaluation.losses, (y - predicted) ** 2)
    assert evaluation.top_losses(1)[0] == 4  # 10 predicted as 8


def test_the_mean_baseline_scores_r2_zero_when_the_training_mean_is_the_splits():
    y = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    evaluation = regression_evaluation(y, train_y=np.array([2.0, 6.0]))  # mean 4, as the split's
    baseline = evaluation.baseline()
    assert baseline["r2"] == pytest.approx(0.0)
    assert baseline["mean"] == 4.0
    assert baseline["mae"] == pytest.approx(np.mean(np.abs(y - 4.0)))
    assert baseline["rmse"] == pytest.approx(math.sqrt(np.mean((y - 4.0) ** 2)))
    assert evaluation.beats_baseline()
    assert evaluation.headline() == "MAE 0.9 (training mean: 2.4)"
    shifted = regression_evaluation(y, train_y=np.array([5.0]))
    assert shifted.baseline()["r2"] == pytest.approx(skm.r2_score(y, np.full(5, 5.0)))
    assert shifted.baseline()["r2"] < 0


def test_a_model_no_better_than_the_mean_says_so():
    y = np.array([1.0, 2.0, 3.0])
    evaluation = regression_evaluation(y, np.array([9.0, 9.0, 9.0]), np.array([2.0]))
    assert not evaluation.beats_baseline()
    assert "no better on the test rows than always answering the training mean, 2" in evaluation.headline()


def test_a_constant_target_has_an_undefined_r2_written_as_null():
    evaluation = regression_evaluation(np.array([5.0, 5.0, 5.0]), np.array([4.0, 5.0, 6.0]), np.array([5.0]))
    assert math.isnan(evaluation.r2())
    text = strict_json_text(evaluation.metrics_json())
    data = json.loads(text, parse_constant=lambda word: pytest.fail(f"non-JSON {word}"))
    assert data["r2"] is None and data["baseline"]["r2"] is None
    assert data["not_finite"]["r2"] == "NaN (not a number)"
    assert data["rmse"] == pytest.approx(math.sqrt(2 / 3))


def test_metrics_json_is_plain_strict_json(three_classes):
    data = three_classes.metrics_json()
    text = strict_json_text(data)
    assert json.loads(text) == data  # nothing numpy, nothing lost
    assert set(data) == {"split", "classes", "confusion_matrix", "per_class", "baseline"}
    assert data["confusion_matrix"] == three_classes.confusion_matrix().tolist()
    two = two_class_evaluation().metrics_json()
    assert {"threshold", "roc_auc", "average_precision"} <= set(two)
    assert json.loads(strict_json_text(two)) == two
    regression = regression_evaluation().metrics_json()
    assert set(regression) == {"split", "rmse", "r2", "baseline"}
    assert json.loads(strict_json_text(regression)) == regression


def test_evaluation_rows_for_classes():
    evaluation = two_class_evaluation()
    table = evaluation.evaluation_rows(row_numbers=np.arange(10, 18))
    assert table[0] == ["row", "true", "predicted", "probability_no", "probability_yes"]
    assert len(table) == 1 + 8
    assert table[3][:3] == ["12", "no", "yes"]  # 0.6 on a "no"
    assert float(table[3][4]) == pytest.approx(0.6)
    assert evaluation.evaluation_rows()[1][0] == "1"
    with pytest.raises(ValueError):
        evaluation.evaluation_rows(row_numbers=[1, 2])


def test_evaluation_rows_for_a_regression():
    table = regression_evaluation().evaluation_rows()
    assert table[0] == ["row", "true", "predicted", "residual"]
    assert [float(value) for value in table[5][1:]] == [10.0, 8.0, 2.0]


def test_classification_questions_of_a_regression_are_refused():
    evaluation = regression_evaluation()
    with pytest.raises(ValueError, match="classes"):
        evaluation.confusion_matrix()
    with pytest.raises(ValueError, match="regression"):
        two_class_evaluation().mae()


def test_ten_thousand_samples_of_ten_classes_take_the_whole_path():
    """The size the issue names; vectorised so it takes well under 2 s (timed in benchmarks, not here)."""
    rng = np.random.default_rng(0)
    classes = [f"class {i}" for i in range(10)]
    y = rng.integers(0, 10, 10_000)
    evaluation = evaluate(softmax_rows(rng, 10_000, 10), y, rng.integers(0, 10, 40_000),
                          "classification", classes, "softmax")
    assert evaluation.confusion_matrix().sum() == 10_000
    assert evaluation.per_class()["weighted avg"]["support"] == 10_000
    assert len(evaluation.top_losses(25)) == 25
    data = json.loads(strict_json_text(evaluation.metrics_json()))
    assert len(data["confusion_matrix"]) == 10
    assert len(evaluation.evaluation_rows()) == 10_001
