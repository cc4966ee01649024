"""Where a trained model is right and where it is wrong, computed once for every view.

`evaluate` turns a model's raw outputs on one split (test, validation or
train) into an `Evaluation`, which holds the targets, the decoded predictions,
the class probabilities and each sample's loss. Every view asks it: the
confusion matrix and the samples in each of its cells, the per-class report,
the samples the model got most wrong, the ROC and precision-recall curves of a
two-class model, the residuals of a regression, and the baseline the model has
to beat. Like fastai's ``Interpretation``: compute once, show many ways.

The figures themselves are scikit-learn's. No Qt and no Keras here: the
outputs are plain numpy arrays, however they were predicted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np

from datasets.base import CLASSIFICATION, REGRESSION
from models.errors import UserError
from models.saving.preprocessing import OUTPUT_KINDS, SCORES, SIGMOID, SOFTMAX, VALUE
from models.saving.standalone_predict import format_number
from models.scikit_learn import metrics as skm

EPSILON = 1e-7  # Keras's `keras.config.epsilon()`: cross-entropy clips probabilities to [ε, 1 − ε]
SPLITS = ("test", "validation", "train")


class RocCurve(NamedTuple):
    """A two-class model's ROC curve: false and true positive rates at each threshold, and the area under it."""

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    auc: float


class PrecisionRecallCurve(NamedTuple):
    """A two-class model's precision and recall at each threshold, and their average precision."""

    precision: np.ndarray
    recall: np.ndarray
    thresholds: np.ndarray
    average_precision: float


@dataclass(frozen=True, eq=False)  # arrays have no single truth value to compare by
class Evaluation:
    """A trained model's outputs on one split, and everything worked out from them.

    Build it with `evaluate`. Sample ``i`` is row ``i`` of the split in every array.

    Args:
        task: `"classification"` or `"regression"`.
        split: which rows these are: `"test"`, `"validation"` or `"train"`.
        classes: class names in output order; empty for a regression.
        y_true: class indices (classification) or target values (regression).
        outputs: the model's raw outputs, one row per sample.
        probabilities: one column per class, rows summing to 1 (a sigmoid's
            one output is expanded to ``[1 − p, p]``); shape ``(n, 0)`` for a regression.
        predicted: predicted class indices, or predicted values in the target's units.
        losses: each sample's loss: the cross-entropy of its true class under
            ``probabilities`` (clipped as Keras clips it), or the squared error
            of a regression. The same measure whatever loss the model trained
            with, so samples are ranked the same way for every model.
        train_y: the training targets, which the baselines are worked out from.
        threshold: a two-class model predicts the second class when its
            probability is at least this. Defaults to `0.5`.
    """

    task: str
    split: str
    classes: list[str]
    y_true: np.ndarray
    outputs: np.ndarray
    probabilities: np.ndarray
    predicted: np.ndarray
    losses: np.ndarray
    train_y: np.ndarray = field(repr=False)
    threshold: float = 0.5

    # --- what every task has ------------------------------------------------

    @property
    def is_classification(self) -> bool:
        return self.task == CLASSIFICATION

    @property
    def size(self) -> int:
        """How many samples the split has."""
        return int(len(self.y_true))

    @property
    def correct(self) -> np.ndarray:
        """A boolean per sample: whether the predicted class is the true one."""
        self._needs_classes("correct")
        return self.predicted == self.y_true

    def top_losses(self, n: int | None = None) -> np.ndarray:
        """The indices of the ``n`` samples with the largest loss, worst first. Defaults to all."""
        order = np.argsort(-self.losses, kind="stable")
        return order if n is None else order[:max(0, int(n))]

    def baseline(self) -> dict[str, float | str]:
        """What a model that ignores its inputs scores on this split.

        It always answers what the training targets suggest: the most common
        training class, or the training mean. Scored on this split's rows,
        like the model, so the two figures compare directly.

        Returns:
            For classes: ``accuracy`` (always answering the most common training
            class), ``majority_class`` (its name) and ``loss`` (the cross-entropy
            of answering the training class frequencies as probabilities). For
            a regression: ``mae``, ``rmse`` and ``r2`` of always answering the
            training mean, and that ``mean``.
        """
        if self.is_classification:
            counts = np.bincount(self.train_y.astype(np.int64), minlength=len(self.classes))
            majority = int(np.argmax(counts))
            frequencies = counts / counts.sum()
            return {
                "accuracy": float(np.mean(self.y_true == majority)),
                "majority_class": self.classes[majority],
                "loss": float(np.mean(_cross_entropy(frequencies[self.y_true]))),
            }
        mean = float(np.mean(self.train_y))
        guess = np.full(self.size, mean)
        return {
            "mae": float(skm.mean_absolute_error(self.y_true, guess)),
            "rmse": float(np.sqrt(skm.mean_squared_error(self.y_true, guess))),
            "r2": _r2(self.y_true, guess),
            "mean": mean,
        }

    def beats_baseline(self) -> bool:
        """Whether the model does strictly better than `baseline`: higher accuracy, or lower MAE."""
        if self.is_classification:
            return self.accuracy() > self.baseline()["accuracy"]
        return self.mae() < self.baseline()["mae"]

    def headline(self) -> str:
        """One line such as ``accuracy 0.84 (majority class: 0.62)``, and a sentence when that is no better."""
        base = self.baseline()
        if self.is_classification:
            line = f"accuracy {self.accuracy():.2f} (majority class: {base['accuracy']:.2f})"
            plain = f"always answering '{base['majority_class']}', the most common class in training"
        else:
            line = f"MAE {_short(self.mae())} (training mean: {_short(base['mae'])})"
            plain = f"always answering the training mean, {_short(base['mean'])}"
        if self.beats_baseline():
            return line
        return f"{line}. The model does no better on the {self.split} rows than {plain}."

    def metrics_json(self) -> dict:
        """The figures ``metrics.json`` gains, as plain JSON types (NaN where undefined; see `strict_json_text`).

        Classification: ``split``, ``classes``, ``confusion_matrix`` (rows are
        true classes), ``per_class``, ``baseline``, and for two classes
        ``threshold``, ``roc_auc`` and ``average_precision``. Regression:
        ``split``, ``rmse``, ``r2`` and ``baseline``. Accuracy and MAE are left
        to Keras's own figures, already in the file.
        """
        data: dict = {"split": self.split}
        if not self.is_classification:
            data.update(rmse=self.rmse(), r2=self.r2(), baseline=self.baseline())
            return data
        data["classes"] = list(self.classes)
        data["confusion_matrix"] = self.confusion_matrix().tolist()
        data["per_class"] = self.per_class()
        data["baseline"] = self.baseline()
        if len(self.classes) == 2:
            data["threshold"] = float(self.threshold)
            data["roc_auc"], data["average_precision"] = self._areas()
        return data

    def evaluation_rows(self, row_numbers: np.ndarray | None = None) -> list[list[str]]:
        """The ``evaluation.csv`` table, header first, one line per sample, as text.

        Classification: ``row, true, predicted, probability_<class>…``;
        regression: ``row, true, predicted, residual``.

        Args:
            row_numbers: what to write in the ``row`` column for each sample,
                such as the data-row numbers of a CSV. Defaults to 1, 2, 3….
        """
        rows = np.arange(1, self.size + 1) if row_numbers is None else np.asarray(row_numbers)
        if len(rows) != self.size:
            raise ValueError(f"{len(rows)} row numbers for {self.size} samples")
        if self.is_classification:
            header = ["row", "true", "predicted", *(f"probability_{name}" for name in self.classes)]
            table = [header]
            for row, true, guess, probabilities in zip(rows, self.y_true, self.predicted, self.probabilities):
                table.append([str(row), self.classes[true], self.classes[guess],
                              *(format_number(p) for p in probabilities)])
            return table
        table = [["row", "true", "predicted", "residual"]]
        for row, true, guess, residual in zip(rows, self.y_true, self.predicted, self.residuals()):
            table.append([str(row), format_number(true), format_number(guess), format_number(residual)])
        return table

    # --- classification -----------------------------------------------------

    def accuracy(self) -> float:
        """The share of samples whose predicted class is the true one."""
        return float(np.mean(self.correct))

    def with_threshold(self, threshold: float) -> Evaluation:
        """The same evaluation with a two-class model's decision threshold moved to ``threshold``."""
        self._needs_classes("a threshold")
        if len(self.classes) != 2:
            raise ValueError(f"a threshold needs two classes, not {len(self.classes)}")
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"a threshold is a probability between 0 and 1, not {threshold}")
        return replace(self, threshold=float(threshold),
                       predicted=_decide(self.probabilities, float(threshold)))

    def confusion_matrix(self, normalize: bool = False) -> np.ndarray:
        """Counts of (true class, predicted class): row = true class, column = predicted, in class order.

        Args:
            normalize: divide each row by its total, so the diagonal is each
                class's recall; a class absent from the split has a row of
                zeros. Defaults to `False` (counts).
        """
        self._needs_classes("a confusion matrix")
        return skm.confusion_matrix(self.y_true, self.predicted, labels=np.arange(len(self.classes)),
                                    normalize="true" if normalize else None)

    def samples_in_cell(self, true_class: int | str, predicted_class: int | str) -> np.ndarray:
        """The indices of the samples of ``true_class`` predicted as ``predicted_class`` (an index or a name)."""
        self._needs_classes("a confusion matrix")
        true, guess = self._class_index(true_class), self._class_index(predicted_class)
        return np.flatnonzero((self.y_true == true) & (self.predicted == guess))

    def per_class(self) -> dict[str, dict[str, float | int]]:
        """Precision, recall, F1 and support for each class, then ``macro avg`` and ``weighted avg``.

        scikit-learn's figures (as in its ``classification_report``), with 0
        where a figure divides by zero, such as the precision of a class never
        predicted.
        """
        self._needs_classes("a per-class report")
        labels = np.arange(len(self.classes))
        report = {}
        precision, recall, f1, support = skm.precision_recall_fscore_support(
            self.y_true, self.predicted, labels=labels, average=None, zero_division=0)
        for i, name in enumerate(self.classes):
            report[name] = _scores(precision[i], recall[i], f1[i], support[i])
        for average in ("macro", "weighted"):
            precision, recall, f1, _ = skm.precision_recall_fscore_support(
                self.y_true, self.predicted, labels=labels, average=average, zero_division=0)
            report[f"{average} avg"] = _scores(precision, recall, f1, self.size)
        return report

    def most_confused(self, min_count: int = 1) -> list[tuple[str, str, int]]:
        """``(true class, predicted class, count)`` for each kind of mistake made at least ``min_count`` times, commonest first."""
        matrix = self.confusion_matrix().copy()
        np.fill_diagonal(matrix, 0)
        true, guess = np.nonzero(matrix >= max(1, min_count))
        counts = matrix[true, guess]
        order = np.argsort(-counts, kind="stable")  # ties stay in class order
        return [(self.classes[true[i]], self.classes[guess[i]], int(counts[i])) for i in order]

    def roc_curve(self) -> RocCurve:
        """The ROC curve of a two-class model, the second class counting as positive.

        Raises:
            UserError: when the split holds only one of the two classes.
        """
        positive = self._positive_scores("ROC curve")
        fpr, tpr, thresholds = skm.roc_curve(self.y_true, positive)
        return RocCurve(fpr, tpr, thresholds, float(skm.auc(fpr, tpr)))

    def precision_recall_curve(self) -> PrecisionRecallCurve:
        """Precision against recall of a two-class model, the second class counting as positive.

        Raises:
            UserError: when the split holds only one of the two classes.
        """
        positive = self._positive_scores("precision-recall curve")
        precision, recall, thresholds = skm.precision_recall_curve(self.y_true, positive)
        return PrecisionRecallCurve(precision, recall, thresholds,
                                    float(skm.average_precision_score(self.y_true, positive)))

    # --- regression ---------------------------------------------------------

    def residuals(self) -> np.ndarray:
        """True minus predicted value for each sample: positive where the model guessed too low."""
        self._needs_values("residuals")
        return self.y_true - self.predicted

    def mae(self) -> float:
        """Mean absolute error, in the target's units."""
        self._needs_values("a mean absolute error")
        return float(skm.mean_absolute_error(self.y_true, self.predicted))

    def rmse(self) -> float:
        """Root mean squared error, in the target's units."""
        self._needs_values("a root mean squared error")
        return float(np.sqrt(skm.mean_squared_error(self.y_true, self.predicted)))

    def r2(self) -> float:
        """The coefficient of determination; NaN when the true values do not vary (it is undefined then)."""
        self._needs_values("R²")
        return _r2(self.y_true, self.predicted)

    # --- helpers ------------------------------------------------------------

    def _needs_classes(self, what: str) -> None:
        if not self.is_classification:
            raise ValueError(f"{what} needs classes, but this evaluation is of a regression")

    def _needs_values(self, what: str) -> None:
        if self.is_classification:
            raise ValueError(f"{what} needs a regression, but this evaluation is of classes")

    def _class_index(self, value: int | str) -> int:
        if isinstance(value, str):
            if value not in self.classes:
                raise ValueError(f"no class named {value!r}; the classes are {self.classes}")
            return self.classes.index(value)
        index = int(value)
        if not 0 <= index < len(self.classes):
            raise ValueError(f"class index {index} is outside 0…{len(self.classes) - 1}")
        return index

    def _positive_scores(self, what: str) -> np.ndarray:
        """The probability of the second class, once the split is known to have a ``what``."""
        self._needs_classes(f"the {what}")
        if len(self.classes) != 2:
            raise ValueError(f"the {what} needs two classes, not {len(self.classes)}")
        if len(np.unique(self.y_true)) < 2:
            raise UserError.of("the {split} rows are all of one class, so they have no {what}, which compares the "
                               "two: evaluate rows that hold both classes.", split=self.split, what=what)
        return self.probabilities[:, 1]

    def _areas(self) -> tuple[float, float]:
        """ROC AUC and average precision, NaN when the split holds only one class."""
        if len(np.unique(self.y_true)) < 2:
            return math.nan, math.nan
        positive = self.probabilities[:, 1]
        return (float(skm.roc_auc_score(self.y_true, positive)),
                float(skm.average_precision_score(self.y_true, positive)))


def evaluate(
    outputs: np.ndarray,
    y_true: np.ndarray,
    train_y: np.ndarray,
    task: str,
    classes: list[str],
    output_kind: str,
    split: str = "test",
    threshold: float = 0.5,
) -> Evaluation:
    """Works out an `Evaluation` from a model's outputs on one split.

    Args:
        outputs: the model's raw outputs on the split, one row per sample
            (``model.predict(x)``).
        y_true: the split's targets: class indices, or values.
        train_y: the training targets, for the baselines.
        task: `"classification"` or `"regression"`.
        classes: class names in output order; empty for a regression.
        output_kind: what the outputs are (see `models.saving.preprocessing.output_kind`):
            `"softmax"` probabilities, one `"sigmoid"` probability of
            ``classes[1]``, unnormalised `"scores"` (turned into probabilities
            with a softmax), or a regression's `"value"`.
        split: which rows these are. Defaults to `"test"`.
        threshold: the decision threshold of a two-class model. Defaults to `0.5`.

    Raises:
        UserError: when the split is empty, or the outputs are not all numbers
            (a model whose training diverged), in a sentence saying what to do.
        ValueError: when the arguments do not fit together (a programming error).
    """
    if task not in (CLASSIFICATION, REGRESSION):
        raise ValueError(f"task must be {CLASSIFICATION!r} or {REGRESSION!r}, not {task!r}")
    if output_kind not in OUTPUT_KINDS:
        raise ValueError(f"output_kind must be one of {OUTPUT_KINDS}, not {output_kind!r}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    y_true, train_y = np.asarray(y_true).reshape(-1), np.asarray(train_y).reshape(-1)
    outputs = np.asarray(outputs)
    if len(y_true) == 0:
        raise UserError.of("the {split} split has no rows, so there is nothing to evaluate: choose a split with "
                           "rows, or make the {split} fraction larger.", split=split)
    if len(train_y) == 0:
        raise ValueError("train_y is empty: the baselines need the training targets")
    outputs = outputs.reshape(len(outputs), -1)
    if len(outputs) != len(y_true):
        raise ValueError(f"{len(outputs)} output rows for {len(y_true)} targets")
    if not np.all(np.isfinite(outputs)):
        bad = int(np.count_nonzero(~np.all(np.isfinite(outputs), axis=1)))
        raise UserError.of("the model's outputs on {bad} of the {rows} {split} rows are not numbers (NaN or "
                           "infinite), so it cannot be evaluated: its training diverged. Lower the learning rate (or "
                           "scale the inputs) and train again.", bad=bad, rows=len(outputs), split=split)
    if task == REGRESSION:
        return _evaluate_values(outputs, y_true, train_y, output_kind, split)
    return _evaluate_classes(outputs, y_true, train_y, list(classes), output_kind, split, threshold)


def _evaluate_classes(outputs, y_true, train_y, classes, output_kind, split, threshold) -> Evaluation:
    n_classes = len(classes)
    if n_classes < 2:
        raise ValueError(f"classification needs at least two classes, not {n_classes}")
    expected = 1 if output_kind == SIGMOID else n_classes
    if output_kind == VALUE or outputs.shape[1] != expected:
        raise ValueError(f"{output_kind!r} outputs of width {outputs.shape[1]} do not fit {n_classes} classes")
    if output_kind == SIGMOID and n_classes != 2:
        raise ValueError("a sigmoid output has two classes")
    for name, labels in (("y_true", y_true), ("train_y", train_y)):
        if not np.all((labels >= 0) & (labels < n_classes) & (labels == np.round(labels))):
            raise ValueError(f"{name} must hold class indices from 0 to {n_classes - 1}")
    y_true, train_y = y_true.astype(np.int64), train_y.astype(np.int64)
    probabilities = _probabilities(outputs.astype(np.float64), output_kind)
    losses = _cross_entropy(probabilities[np.arange(len(y_true)), y_true])
    if n_classes != 2:
        threshold = 0.5
    return Evaluation(CLASSIFICATION, split, classes, y_true, outputs, probabilities,
                      _decide(probabilities, threshold), losses, train_y, float(threshold))


def _evaluate_values(outputs, y_true, train_y, output_kind, split) -> Evaluation:
    if output_kind != VALUE or outputs.shape[1] != 1:
        raise ValueError(f"a regression has one 'value' output, not {outputs.shape[1]} {output_kind!r}")
    y_true, train_y = y_true.astype(np.float64), train_y.astype(np.float64)
    if not (np.all(np.isfinite(y_true)) and np.all(np.isfinite(train_y))):
        raise ValueError("regression targets must be finite numbers")
    predicted = outputs[:, 0].astype(np.float64)
    return Evaluation(REGRESSION, split, [], y_true, outputs, np.zeros((len(y_true), 0)),
                      predicted, (y_true - predicted) ** 2, train_y)


def _probabilities(outputs: np.ndarray, output_kind: str) -> np.ndarray:
    """One probability per class and row, rows summing to 1."""
    if output_kind == SIGMOID:
        positive = np.clip(outputs[:, 0], 0.0, 1.0)
        return np.column_stack([1.0 - positive, positive])
    if output_kind == SCORES:
        shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)
    if output_kind == SOFTMAX:
        if np.any(outputs < 0):
            raise ValueError("softmax outputs are probabilities and cannot be negative")
        # Keras's cross-entropy divides by the row's sum too, undoing float32 rounding.
        return outputs / outputs.sum(axis=1, keepdims=True)
    raise ValueError(f"{output_kind!r} outputs are not class probabilities")


def _decide(probabilities: np.ndarray, threshold: float) -> np.ndarray:
    """The predicted class of each row: the likeliest, or for two classes, the second when it reaches ``threshold``."""
    if probabilities.shape[1] == 2:
        return (probabilities[:, 1] >= threshold).astype(np.int64)
    return np.argmax(probabilities, axis=1).astype(np.int64)


def _cross_entropy(true_class_probability: np.ndarray) -> np.ndarray:
    """−log p of the true class, with p clipped to [ε, 1 − ε] as Keras clips it."""
    return -np.log(np.clip(true_class_probability, EPSILON, 1.0 - EPSILON))


def _r2(y_true: np.ndarray, predicted: np.ndarray) -> float:
    if len(y_true) < 2 or np.all(y_true == y_true[0]):
        return math.nan
    return float(skm.r2_score(y_true, predicted))


def _scores(precision, recall, f1, support) -> dict[str, float | int]:
    return {"precision": float(precision), "recall": float(recall), "f1": float(f1), "support": int(support)}


def _short(value: float) -> str:
    """A figure to four significant digits, or whole for large ones, never with an exponent below 10⁴."""
    if math.isfinite(value) and abs(value) >= 1000:
        return f"{value:.0f}"
    return f"{value:.4g}"


@dataclass(frozen=True)
class SplitRows:
    """The rows of one split of a run's data, as the model saw them.

    Args:
        split: `"test"`, `"validation"` or `"train"` (the rows trained on).
        x: the raw input rows.
        y: their targets.
        indices: each row's index in the data set's training or test arrays.
        row_numbers: what `evaluation.csv` calls each row: its data-row number
            in the CSV file for CSV data, else its place in the split (1, 2, …).
    """

    split: str
    x: np.ndarray
    y: np.ndarray
    indices: np.ndarray
    row_numbers: np.ndarray


def split_rows(dataset, split: str, fit_rows: np.ndarray | None = None,
               validation_rows: np.ndarray | None = None) -> SplitRows:
    """The rows of ``split`` of ``dataset``, given which training rows were fitted on and which validated.

    Raises:
        UserError: for the validation split of a run that had none.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    if split == "test":
        indices, x, y, numbers = np.arange(len(dataset.x_test)), dataset.x_test, dataset.y_test, dataset.test_rows
    else:
        if split == "validation" and (validation_rows is None or len(validation_rows) == 0):
            raise UserError("this run had no validation rows: set a validation fraction above 0 and train again.")
        indices = np.asarray(validation_rows if split == "validation" else
                             (np.arange(len(dataset.x_train)) if fit_rows is None else fit_rows))
        x, y = dataset.x_train[indices], dataset.y_train[indices]
        numbers = None if dataset.train_rows is None else dataset.train_rows[indices]
    if numbers is None:
        numbers = np.arange(1, len(indices) + 1)
    return SplitRows(split, x, y, indices, np.asarray(numbers))


def evaluate_split(predict, dataset, split: str, output_kind: str, fit_rows: np.ndarray | None = None,
                   validation_rows: np.ndarray | None = None) -> tuple[Evaluation, SplitRows]:
    """Predicts one split with ``predict`` (raw rows in, outputs out) and evaluates it.

    The baselines take their answer from the rows trained on (``fit_rows``,
    all training rows when `None`).
    """
    rows = split_rows(dataset, split, fit_rows, validation_rows)
    train_y = dataset.y_train if fit_rows is None else dataset.y_train[fit_rows]
    outputs = np.asarray(predict(rows.x)) if len(rows.x) else np.zeros((0, 1))
    return evaluate(outputs, rows.y, train_y, dataset.task, list(dataset.class_names), output_kind, split), rows
