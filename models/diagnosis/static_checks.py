"""The checks made before training: the network's settings and the data's honesty.

UMLAUT (Schoop et al., CHI 2021) checks a Keras program's settings against
such heuristics before it runs; the data checks follow the notes' warnings
about leakage and imbalance.
"""

from __future__ import annotations

import math

import numpy as np

from models.diagnosis import remedies
from models.diagnosis.facts import RunFacts
from models.diagnosis.findings import NOTE, PROBLEM, Finding, Text
from models.network.spec import DenseLayer, DropoutLayer, Project

# UMLAUT's heuristic: a dropout rate above 0.5 drops most of what a layer learned.
HIGH_DROPOUT = 0.5
# Neural networks are routinely ten or twenty times over-parameterised (the default spiral
# network: 22×, the notes' MNIST network: 8.5×) and still generalise; a hundred times more
# weights than rows is where our benchmark's small-data configurations began to overfit.
PARAMETERS_PER_ROW = 100
# Below this many rows one row moves validation accuracy by more than 2 points, and the
# standard error of an accuracy near 0.8 is above 0.057 (√(0.8·0.2/50)).
MIN_VALIDATION_ROWS = 50
# A column alone predicts the held-out targets this well: it holds the answer, not a clue.
# Iris's petal width alone, the strongest honest single feature in our data, reaches 0.95.
LEAKAGE_ACCURACY = 0.99
LEAKAGE_CORRELATION = 0.99
# The most common class is this large a share: always guessing it already scores so much.
IMBALANCE_SHARE = 0.8
# Numeric columns are cut into this many quantile bins to predict the target from one column.
LEAKAGE_BINS = 10


def static_findings(project: Project, dataset, facts: RunFacts) -> list[Finding]:
    """Every finding about the settings and the data, before the first batch."""
    found = []
    found += _missing_nonlinearity(project)
    found += _high_dropout(project)
    found += _too_few_samples(project, facts)
    found += _validation_too_small(project, facts)
    found += _class_imbalance(facts)
    found += target_leakage(project, dataset, facts)
    return found


def _missing_nonlinearity(project: Project) -> list[Finding]:
    dense = [(position, layer) for position, layer in enumerate(project.layers, start=1)
             if isinstance(layer, DenseLayer)]
    linear = [position for position, layer in dense if layer.activation == "linear"]
    if not linear:
        return []
    every = len(linear) == len(dense)
    listed = ", ".join(map(str, linear))
    evidence = (Text.of("Every hidden layer ({layers}) is linear, so the whole network computes one linear "
                        "function of its inputs.", layers=listed) if every
                else Text.of("Hidden layer(s) {layers} are linear; each adds weights but no new shapes.",
                             layers=listed))
    cause = Text.of("A stack of linear layers equals one linear layer: without a nonlinearity between them, "
                    "depth cannot bend the decision boundary.")
    return [Finding("missing_nonlinearity", PROBLEM if every else NOTE, evidence, cause,
                    (remedies.he_relu(only=("linear",)),), epoch=0, layer=linear[0])]


def _high_dropout(project: Project) -> list[Finding]:
    found = []
    for position, layer in enumerate(project.layers, start=1):
        if isinstance(layer, DropoutLayer) and layer.rate > HIGH_DROPOUT:
            found.append(Finding(
                "high_dropout", PROBLEM,
                Text.of("Layer {layer} drops {percent} % of its inputs at every step.", layer=position,
                        percent=f"{layer.rate * 100:g}"),
                Text.of("With most inputs dropped, each step trains a small random part of the network, "
                        "so it learns slowly and underfits."),
                (remedies.cap_dropout(0.3),), epoch=0, layer=position, figure=("dropout_rate", layer.rate)))
    return found


def _too_few_samples(project: Project, facts: RunFacts) -> list[Finding]:
    if facts.parameters < PARAMETERS_PER_ROW * max(facts.fit_rows, 1):
        return []
    return [Finding(
        "too_few_samples", NOTE,
        Text.of("{parameters} parameters learn from {rows} training rows: {ratio} per row.",
                parameters=f"{facts.parameters:,}", rows=f"{facts.fit_rows:,}",
                ratio=f"{facts.parameters / max(facts.fit_rows, 1):,.0f}"),
        Text.of("A network with far more weights than examples can memorise the rows instead of learning "
                "the rule behind them."),
        ((remedies.more_samples(project, 5.0),) if remedies.draws_samples(project) else ())
        + (remedies.fewer_units(0.25), remedies.set_l2(1e-4), remedies.add_dropout(0.3)), epoch=0,
        figure=("parameters_per_row", facts.parameters / max(facts.fit_rows, 1)))]


def _validation_too_small(project: Project, facts: RunFacts) -> list[Finding]:
    rows = facts.validation_rows
    if rows == 0 or rows >= MIN_VALIDATION_ROWS:
        return []
    all_rows = facts.fit_rows + rows
    needed = math.ceil(MIN_VALIDATION_ROWS / max(all_rows, 1) * 100) / 100
    wanted = min(0.5, needed)
    offered = [remedies.validation_fraction(wanted)] if wanted > project.training.validation_fraction else []
    if remedies.draws_samples(project):  # more points: first when no split of these few gives enough
        offered.insert(0 if needed > 0.5 else len(offered), remedies.more_samples(project, 5.0))
    if facts.is_classification:
        evidence = Text.of("{rows} validation rows: one row moves the validation accuracy by {step}.",
                           rows=rows, step=f"{1 / rows:.3f}")
    else:
        evidence = Text.of("{rows} validation rows.", rows=rows)
    return [Finding("validation_too_small", NOTE, evidence,
                    Text.of("A few rows make a noisy yardstick: the validation curve moves by luck as much as "
                            "by learning."), tuple(offered), epoch=0, figure=("validation_rows", rows))]


def _class_imbalance(facts: RunFacts) -> list[Finding]:
    if not facts.is_classification or facts.baseline < IMBALANCE_SHARE:
        return []
    # No remedy is offered: class weights are not a setting of the project yet.
    return [Finding(
        "class_imbalance", NOTE,
        Text.of("Class '{name}' is {percent} % of the training rows, so always guessing it scores an accuracy "
                "of {baseline}.", name=facts.majority_class, percent=f"{facts.baseline * 100:.0f}",
                baseline=f"{facts.baseline:.3f}"),
        Text.of("With one class this common, accuracy says little: judge the model by how far it beats that "
                "guess, and by the rarer classes' recall in the Evaluation tab."),
        (), epoch=0, figure=("baseline", facts.baseline))]


# ----------------------------------------------------------------- leakage


def target_leakage(project: Project, dataset, facts: RunFacts) -> list[Finding]:
    """A `target_leakage` problem for each table column that alone predicts the test rows almost perfectly."""
    if dataset.image_shape is not None or len(dataset.x_test) < 20:
        return []  # one pixel cannot hold the answer; a handful of test rows proves nothing
    found = []
    for column, indices in _source_columns(dataset).items():
        score = _single_column_score(dataset, indices)
        if score is None:
            continue
        leaks = score >= (LEAKAGE_ACCURACY if dataset.is_classification else LEAKAGE_CORRELATION)
        if not leaks or (dataset.is_classification and facts.baseline >= LEAKAGE_ACCURACY):
            continue
        offered = (remedies.leave_out_column(column),) if project.dataset.name == "csv" else ()
        if dataset.is_classification:
            evidence = Text.of("The column '{column}' alone predicts {percent} % of the test rows' classes.",
                               column=column, percent=f"{score * 100:.1f}")
        else:
            evidence = Text.of("The column '{column}' alone correlates {r} with the target on the test rows.",
                               column=column, r=f"{score:.3f}")
        found.append(Finding(
            "target_leakage", PROBLEM, evidence,
            Text.of("A column that is a restatement of the target gives the answer away: the model reads it "
                    "instead of learning, and cannot be used where that column is not known in advance."),
            offered, epoch=0, figure=("single_column_score", score)))
    return found


def _source_columns(dataset) -> dict[str, list[int]]:
    """The model's inputs grouped by the table column they come from (one-hot columns together)."""
    groups: dict[str, list[int]] = {}
    features = dataset.inputs or []
    for index, name in enumerate(dataset.feature_names):
        column = features[index].column if index < len(features) else name
        groups.setdefault(column, []).append(index)
    return groups


def _column_codes(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's category (one-hot block) or quantile bin (one number), fitted on the training rows."""
    if train.shape[1] > 1:
        return np.argmax(train, axis=1), np.argmax(test, axis=1)
    values = np.unique(train[:, 0])
    if len(values) <= LEAKAGE_BINS:
        edges = (values[1:] + values[:-1]) / 2
    else:
        edges = np.unique(np.quantile(train[:, 0], np.linspace(0, 1, LEAKAGE_BINS + 1)[1:-1]))
    return np.searchsorted(edges, train[:, 0]), np.searchsorted(edges, test[:, 0])


def _single_column_score(dataset, indices: list[int]) -> float | None:
    """Held-out accuracy of predicting each row's class from this column alone (the training rows' majority
    per value), or, for a regression with one number, |correlation| with the target."""
    train, test = dataset.x_train[:, indices], dataset.x_test[:, indices]
    if not (np.isfinite(train).all() and np.isfinite(test).all()):
        return None
    if not dataset.is_classification:
        if len(indices) > 1 or np.std(test[:, 0]) == 0 or np.std(dataset.y_test) == 0:
            return None
        return float(abs(np.corrcoef(test[:, 0], dataset.y_test)[0, 1]))
    train_codes, test_codes = _column_codes(train, test)
    classes = dataset.n_classes
    table = np.zeros((int(max(train_codes.max(), test_codes.max())) + 1, classes), dtype=np.int64)
    np.add.at(table, (train_codes, dataset.y_train.astype(np.int64)), 1)
    guess = np.argmax(table, axis=1)
    return float(np.mean(guess[test_codes] == dataset.y_test))
