"""Remedies as edits of a project: plain data that says what to change, and the function that changes it.

An edit is a dict such as ``{"kind": "add_dropout", "rate": 0.3}``, so it can
be written to ``diagnosis.json``, offered by the window and applied by the
command line's repair alike. `apply_edit` never changes the project it is
given; it returns an edited copy, checked.
"""

from __future__ import annotations

from dataclasses import replace

from datasets.choice import MAX_SAMPLES
from models.diagnosis.findings import Remedy, Text
from models.errors import UserError
from models.network.spec import MAX_LAYERS, BatchNormLayer, DenseLayer, DropoutLayer, Project

# The largest width a "wider layers" remedy gives a layer, and the least a "fewer weights" one leaves.
MAX_REMEDY_UNITS = 1024
MIN_REMEDY_UNITS = 4


def hidden_dense_positions(project: Project) -> list[int]:
    """The 0-based positions in ``project.layers`` of its Dense layers (all hidden; the output is apart)."""
    return [index for index, layer in enumerate(project.layers) if isinstance(layer, DenseLayer)]


# ------------------------------------------------------------------ the edits


def _add_dropout(project: Project, rate: float, after: int | None = None) -> None:
    """Dropout after the given layer (1-based), or after every hidden Dense layer without one."""
    positions = [after - 1] if after else hidden_dense_positions(project)
    for position in sorted(positions, reverse=True):
        following = project.layers[position + 1] if position + 1 < len(project.layers) else None
        if isinstance(following, DropoutLayer):
            following.rate = rate
        else:
            project.layers.insert(position + 1, DropoutLayer(rate))


def _set_l2(project: Project, value: float) -> None:
    for layer in project.layers:
        if isinstance(layer, DenseLayer):
            layer.l2 = value


def _early_stopping(project: Project, patience: int) -> None:
    training = project.training
    if training.validation_fraction == 0:
        training.validation_fraction = 0.2
    training.early_stopping = replace(training.early_stopping, enabled=True, monitor="val_loss",
                                      patience=patience, restore_best_weights=True)


def _scale_learning_rate(project: Project, factor: float) -> None:
    project.optimizer.learning_rate = min(max(project.optimizer.learning_rate * factor, 1e-6), 10.0)


def _set_activation(project: Project, activation: str, initializer: str, only: tuple[str, ...] = ()) -> None:
    """Every hidden Dense layer (or those whose activation is in ``only``) gets this activation and initializer."""
    for layer in project.layers:
        if isinstance(layer, DenseLayer) and (not only or layer.activation in only):
            layer.activation, layer.kernel_initializer = activation, initializer


def _set_initializer(project: Project, initializer: str) -> None:
    for layer in project.layers:
        if isinstance(layer, DenseLayer):
            layer.kernel_initializer = initializer


def _add_batchnorm(project: Project) -> None:
    for position in sorted(hidden_dense_positions(project), reverse=True):
        following = project.layers[position + 1] if position + 1 < len(project.layers) else None
        if not isinstance(following, BatchNormLayer):
            project.layers.insert(position + 1, BatchNormLayer())


def _clip_gradient_norm(project: Project, norm: float) -> None:
    project.optimizer.clipnorm, project.optimizer.clipvalue = norm, 0.0


def _more_epochs(project: Project, factor: float) -> None:
    project.training.epochs = min(int(round(project.training.epochs * factor)), 100_000)


def _scale_units(project: Project, factor: float, at_least: int = 0) -> None:
    for layer in project.layers:
        if isinstance(layer, DenseLayer):
            layer.units = _scaled_units(layer.units, factor, at_least)


def _scaled_units(units: int, factor: float, at_least: int = 0) -> int:
    """``units × factor`` (at least ``at_least`` when growing), at least one more (or fewer) unit, within the
    remedies' bounds."""
    if factor > 1:
        return max(units, min(max(round(units * factor), units + 1, at_least), MAX_REMEDY_UNITS))
    return max(round(units * factor), min(units, MIN_REMEDY_UNITS))


def _add_hidden_layer(project: Project, units: int, activation: str, initializer: str) -> None:
    project.layers.append(DenseLayer(units, activation, kernel_initializer=initializer))


def _cap_dropout(project: Project, rate: float) -> None:
    for layer in project.layers:
        if isinstance(layer, DropoutLayer) and layer.rate > rate:
            layer.rate = rate


def _validation_fraction(project: Project, fraction: float) -> None:
    project.training.validation_fraction = fraction


def _more_samples(project: Project, factor: float) -> None:
    project.dataset.samples = min(int(round(project.dataset.samples * factor)), MAX_SAMPLES)


def _augment(project: Project, shift: float = 0.0, rotate: float = 0.0, zoom: float = 0.0, noise: float = 0.0) -> None:
    spec = project.augmentation
    spec.shift, spec.rotate, spec.zoom, spec.noise = shift, rotate, zoom, noise


def _residual(project: Project) -> None:
    for layer in project.layers:
        if isinstance(layer, DenseLayer):
            layer.residual = True


def _leave_out_column(project: Project, column: str) -> None:
    if column not in project.dataset.exclude:
        project.dataset.exclude = [*project.dataset.exclude, column]


EDITS = {
    "add_dropout": _add_dropout,
    "set_l2": _set_l2,
    "early_stopping": _early_stopping,
    "scale_learning_rate": _scale_learning_rate,
    "set_activation": _set_activation,
    "set_initializer": _set_initializer,
    "add_batchnorm": _add_batchnorm,
    "clip_gradient_norm": _clip_gradient_norm,
    "more_epochs": _more_epochs,
    "scale_units": _scale_units,
    "add_hidden_layer": _add_hidden_layer,
    "cap_dropout": _cap_dropout,
    "validation_fraction": _validation_fraction,
    "leave_out_column": _leave_out_column,
    "more_samples": _more_samples,
    "augment": _augment,
    "residual": _residual,
}


def apply_edit(project: Project, edit: dict) -> Project:
    """A copy of ``project`` with ``edit`` made, or `UserError` when the edit is unknown or leaves it invalid."""
    if not isinstance(edit, dict) or edit.get("kind") not in EDITS:
        raise UserError.of("unknown remedy {edit}.", edit=repr(edit))
    edited = project.copy()
    settings = {name: value for name, value in edit.items() if name != "kind"}
    try:
        EDITS[edit["kind"]](edited, **settings)
    except TypeError as error:
        raise UserError.of("the remedy {edit} does not fit its kind ({error}).", edit=repr(edit), error=error) from error
    if len(edited.layers) > MAX_LAYERS:
        raise UserError.of("the remedy would give the network more than {max_layers} layers.", max_layers=MAX_LAYERS)
    edited.check_values()
    return edited


# -------------------------------------------------- the remedies findings offer
# Each returns a `Remedy`: the sentence and the edit. The numbers are the ones the
# issue's sources give (Dropout 0.3, L2 1e-4, patience 5, ÷10, clip norm 1.0),
# kept unless the diagnosis benchmark showed another works better.


def add_dropout(rate: float = 0.3, after: int | None = None) -> Remedy:
    if after:
        text = Text.of("Add Dropout({rate}) after layer {layer}.", rate=rate, layer=after)
    else:
        text = Text.of("Add Dropout({rate}) after every hidden Dense layer.", rate=rate)
    return Remedy(text, {"kind": "add_dropout", "rate": rate, **({"after": after} if after else {})})


def set_l2(value: float = 1e-4) -> Remedy:
    return Remedy(Text.of("L2 weight decay of {value} on every Dense layer.", value=f"{value:g}"),
                  {"kind": "set_l2", "value": value})


def early_stopping(patience: int = 5) -> Remedy:
    return Remedy(Text.of("Early stopping on validation loss with patience {patience}, restoring the best weights.",
                          patience=patience), {"kind": "early_stopping", "patience": patience})


def scale_learning_rate(project: Project, factor: float) -> Remedy:
    new = min(max(project.optimizer.learning_rate * factor, 1e-6), 10.0)
    template = "Learning rate ÷ {factor}: {old} → {new}." if factor < 1 else "Learning rate × {factor}: {old} → {new}."
    shown = f"{1 / factor:g}" if factor < 1 else f"{factor:g}"
    return Remedy(Text.of(template, factor=shown, old=f"{project.optimizer.learning_rate:g}", new=f"{new:g}"),
                  {"kind": "scale_learning_rate", "factor": factor})


# The usual first learning rate of each optimizer (Keras's defaults, and SGD's customary 0.01).
USUAL_LEARNING_RATES = {"sgd": 0.01, "rmsprop": 0.001, "adam": 0.001, "adamw": 0.001, "adagrad": 0.01,
                        "adadelta": 1.0, "nadam": 0.001}


def faster_rates(project: Project) -> list[Remedy]:
    """×10, and, when that still leaves it ten times below the optimizer's usual rate, ×100."""
    offered = [scale_learning_rate(project, 10.0)]
    if project.optimizer.learning_rate * 10 * 10 <= USUAL_LEARNING_RATES.get(project.optimizer.name, 0.001):
        offered.append(scale_learning_rate(project, 100.0))
    return offered


def slower_rates(project: Project) -> list[Remedy]:
    """÷10, and, when that still leaves it ten times above the optimizer's usual rate, ÷100."""
    offered = [scale_learning_rate(project, 0.1)]
    if project.optimizer.learning_rate / 10 / 10 >= USUAL_LEARNING_RATES.get(project.optimizer.name, 0.001):
        offered.append(scale_learning_rate(project, 0.01))
    return offered


def he_relu(only: tuple[str, ...] = ()) -> Remedy:
    return Remedy(Text.of("ReLU with He initialisation in the hidden layers."),
                  {"kind": "set_activation", "activation": "relu", "initializer": "he_normal", "only": list(only)})


def leaky_relu() -> Remedy:
    return Remedy(Text.of("Leaky ReLU instead of ReLU, with He initialisation."),
                  {"kind": "set_activation", "activation": "leaky_relu", "initializer": "he_normal",
                   "only": ["relu"]})


def glorot_initialisation() -> Remedy:
    return Remedy(Text.of("Glorot (Xavier) initialisation in every Dense layer."),
                  {"kind": "set_initializer", "initializer": "glorot_uniform"})


def add_batchnorm() -> Remedy:
    return Remedy(Text.of("BatchNormalization after each hidden Dense layer."), {"kind": "add_batchnorm"})


def clip_gradient_norm(norm: float = 1.0) -> Remedy:
    return Remedy(Text.of("Clip the gradient norm at {norm}.", norm=f"{norm:g}"),
                  {"kind": "clip_gradient_norm", "norm": norm})


def more_epochs(project: Project, factor: float = 3.0) -> Remedy:
    epochs = min(int(round(project.training.epochs * factor)), 100_000)
    return Remedy(Text.of("Train longer: {old} → {new} epochs.", old=project.training.epochs, new=epochs),
                  {"kind": "more_epochs", "factor": factor})


def wider_layers(factor: float = 4.0, at_least: int = 64) -> Remedy:
    return Remedy(Text.of("Wider layers: {factor}× the units, and at least {units}, in every hidden layer.",
                          factor=f"{factor:g}", units=at_least),
                  {"kind": "scale_units", "factor": factor, "at_least": at_least})


def fewer_units(factor: float = 0.25) -> Remedy:
    return Remedy(Text.of("Fewer weights: {percent} % of the units in every hidden layer.",
                          percent=f"{factor * 100:g}"), {"kind": "scale_units", "factor": factor})


def add_hidden_layer(units: int = 64) -> Remedy:
    return Remedy(Text.of("Add a hidden Dense({units}, ReLU) layer.", units=units),
                  {"kind": "add_hidden_layer", "units": units, "activation": "relu", "initializer": "he_normal"})


def cap_dropout(rate: float = 0.3) -> Remedy:
    return Remedy(Text.of("Lower every dropout rate above {rate} to {rate}.", rate=rate),
                  {"kind": "cap_dropout", "rate": rate})


def validation_fraction(fraction: float) -> Remedy:
    return Remedy(Text.of("Hold out {percent} % of the training rows for validation.", percent=f"{fraction * 100:g}"),
                  {"kind": "validation_fraction", "fraction": fraction})


def augment(images: bool) -> Remedy:
    """Data augmentation (数据增强): images moved a little, other rows jittered with noise."""
    if images:
        return Remedy(Text("Augment the training images: shift them by up to 0.1 of their width and turn them by "
                           "up to 10 degrees, a new draw every batch."),
                      {"kind": "augment", "shift": 0.1, "rotate": 10.0})
    return Remedy(Text("Augment the training rows with Gaussian noise of σ 0.1 on the standardised inputs."),
                  {"kind": "augment", "noise": 0.1})


def residual_connections() -> Remedy:
    """Residual connections (残差连接): each hidden layer's input added to its output, a path around it."""
    return Remedy(Text("Add residual connections: each hidden Dense layer's input is added to its output, so the "
                       "gradient has a path around every layer."), {"kind": "residual"})


def leave_out_column(column: str) -> Remedy:
    return Remedy(Text.of("Leave the column '{column}' out of the inputs.", column=column),
                  {"kind": "leave_out_column", "column": column})


def draws_samples(project: Project) -> bool:
    """Whether the project's data set is drawn (a point set), so more rows are a setting away."""
    from datasets.registry import DATASETS

    info = DATASETS.get(project.dataset.name)
    return info is not None and info.uses_samples


def more_samples(project: Project, factor: float = 5.0) -> Remedy:
    samples = min(int(round(project.dataset.samples * factor)), MAX_SAMPLES)
    return Remedy(Text.of("Draw more points: {old} → {new} samples.", old=project.dataset.samples, new=samples),
                  {"kind": "more_samples", "factor": factor})
