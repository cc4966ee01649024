"""A project as plain data: the data set, the network and how to train it.

Every class here is a dataclass with no Qt and no TensorFlow in it, so a
project can be edited by the window, checked, saved as JSON and loaded back
without starting Keras.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from datasets.choice import DatasetChoice
from models.errors import UserError
from models.files import write_text_atomic
from models.plain import dataclass_from_dict

PROJECT_FORMAT = "keras-trainer-project"
PROJECT_VERSION = 1

ACTIVATIONS = (
    "linear", "relu", "leaky_relu", "elu", "selu", "sigmoid", "tanh", "softmax", "swish", "gelu",
)
INITIALIZERS = (
    "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_normal",
    "random_normal", "zeros",
)
OUTPUT_ACTIVATIONS = ("auto", "softmax", "sigmoid", "linear")
LOSSES = (
    "auto", "mse", "mae", "huber", "binary_crossentropy", "categorical_crossentropy",
)
OPTIMIZERS = ("sgd", "rmsprop", "adam", "adamw", "adagrad", "adadelta", "nadam")
SCHEDULES = ("none", "exponential_decay", "cosine_decay", "reduce_on_plateau")
MONITORS = ("val_loss", "loss", "val_accuracy", "accuracy", "val_mae", "mae")

# The settings that mean something for each optimizer, in the order a form shows them.
OPTIMIZER_SETTINGS = {
    "sgd": ("momentum", "nesterov"),
    "rmsprop": ("rho", "momentum", "epsilon", "centered"),
    "adam": ("beta_1", "beta_2", "epsilon", "amsgrad"),
    "adamw": ("weight_decay", "beta_1", "beta_2", "epsilon", "amsgrad"),
    "adagrad": ("initial_accumulator_value", "epsilon"),
    "adadelta": ("rho", "epsilon"),
    "nadam": ("beta_1", "beta_2", "epsilon"),
}


def _in_range(found: list, where: str, value, low, high, low_open=False, high_open=False):
    """Adds a sentence to ``found`` when ``value`` is outside its range."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        high_text = "∞" if high == math.inf else f"{high:g}"
        found.append(f"{where} must be in {left}{low:g}, {high_text}{right} (got {value!r}).")


def _one_of(found: list, where: str, value, allowed) -> None:
    if value not in allowed:
        found.append(f"{where} must be one of {', '.join(allowed)} (got {value!r}).")


def _whole(found: list, where: str, value, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        found.append(f"{where} must be a whole number from {low} to {high} (got {value!r}).")


@dataclass
class DenseLayer:
    """A fully connected layer: ``activation(x @ W + b)``.

    Args:
        units: how many neurons. Defaults to `64`.
        activation: one of `ACTIVATIONS`. Defaults to `"relu"`.
        negative_slope: the slope of `leaky_relu` below zero. Defaults to `0.2`.
        kernel_initializer: one of `INITIALIZERS`. Defaults to `"glorot_uniform"`.
        l1: L1 weight penalty, adding ``l1 * sum(|W|)`` to the loss. Defaults to `0.0`.
        l2: L2 weight penalty (weight decay), adding ``l2 * sum(W²)``. Defaults to `0.0`.
        use_bias: whether the layer adds a bias ``b``. Defaults to `True`.
    """

    units: int = 64
    activation: str = "relu"
    negative_slope: float = 0.2
    kernel_initializer: str = "glorot_uniform"
    l1: float = 0.0
    l2: float = 0.0
    use_bias: bool = True
    kind = "dense"

    def problems(self, where: str) -> list[str]:
        found: list[str] = []
        _whole(found, f"{where} units", self.units, 1, 100_000)
        _one_of(found, f"{where} activation", self.activation, ACTIVATIONS)
        _in_range(found, f"{where} leaky ReLU slope", self.negative_slope, 0, 1)
        _one_of(found, f"{where} initializer", self.kernel_initializer, INITIALIZERS)
        _in_range(found, f"{where} L1", self.l1, 0, 1)
        _in_range(found, f"{where} L2", self.l2, 0, 1)
        return found


@dataclass
class DropoutLayer:
    """Zeroes each input with probability ``rate`` while training, scaling the rest by 1/(1-rate).

    Args:
        rate: the share of inputs dropped. Defaults to `0.2`.
    """

    rate: float = 0.2
    kind = "dropout"

    def problems(self, where: str) -> list[str]:
        found: list[str] = []
        _in_range(found, f"{where} dropout rate", self.rate, 0, 1, high_open=True)
        return found


@dataclass
class BatchNormLayer:
    """Normalises each feature over the batch, then scales and shifts it (γ, β).

    Args:
        momentum: how slowly the running mean and variance follow the batches.
            Defaults to `0.99`.
    """

    momentum: float = 0.99
    kind = "batchnorm"

    def problems(self, where: str) -> list[str]:
        found: list[str] = []
        _in_range(found, f"{where} batch-norm momentum", self.momentum, 0, 1, high_open=True)
        return found


Layer = DenseLayer | DropoutLayer | BatchNormLayer
LAYER_TYPES: dict[str, type] = {"dense": DenseLayer, "dropout": DropoutLayer, "batchnorm": BatchNormLayer}


@dataclass
class OutputSpec:
    """The output layer and the loss.

    Args:
        activation: `"auto"` picks softmax for several classes, sigmoid for
            two and linear for regression. Defaults to `"auto"`.
        loss: `"auto"` picks cross-entropy for classification and mean
            squared error for regression. Defaults to `"auto"`.
    """

    activation: str = "auto"
    loss: str = "auto"

    def problems(self) -> list[str]:
        found: list[str] = []
        _one_of(found, "output activation", self.activation, OUTPUT_ACTIVATIONS)
        _one_of(found, "loss", self.loss, LOSSES)
        return found


@dataclass
class OptimizerSpec:
    """The optimizer and every setting any of them takes; `OPTIMIZER_SETTINGS` says which apply.

    Args:
        name: one of `OPTIMIZERS`. Defaults to `"adam"`.
        learning_rate: the step size η. Defaults to `0.001`.
        momentum: SGD/RMSprop momentum, ``v ← μ·v − η·g``. Defaults to `0.0`.
        nesterov: SGD looks ahead along the momentum. Defaults to `False`.
        rho: RMSprop/Adadelta decay of the squared-gradient average. Defaults to `0.9`.
        beta_1: Adam-family decay of the gradient average. Defaults to `0.9`.
        beta_2: Adam-family decay of the squared-gradient average. Defaults to `0.999`.
        epsilon: small number that keeps divisions finite. Defaults to `1e-7`.
        weight_decay: AdamW's decoupled weight decay. Defaults to `0.004`.
        amsgrad: Adam/AdamW keep the maximum of past squared gradients. Defaults to `False`.
        centered: RMSprop divides by the gradient's variance, not its raw second moment.
            Defaults to `False`.
        initial_accumulator_value: Adagrad's starting accumulator. Defaults to `0.1`.
        clipnorm: clip each gradient to this L2 norm; 0 means off. Defaults to `0.0`.
        clipvalue: clip each gradient element to ±this; 0 means off. Defaults to `0.0`.
    """

    name: str = "adam"
    learning_rate: float = 0.001
    momentum: float = 0.0
    nesterov: bool = False
    rho: float = 0.9
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-7
    weight_decay: float = 0.004
    amsgrad: bool = False
    centered: bool = False
    initial_accumulator_value: float = 0.1
    clipnorm: float = 0.0
    clipvalue: float = 0.0

    def problems(self) -> list[str]:
        found: list[str] = []
        _one_of(found, "optimizer", self.name, OPTIMIZERS)
        _in_range(found, "learning rate", self.learning_rate, 0, 10, low_open=True)
        _in_range(found, "momentum", self.momentum, 0, 1, high_open=True)
        _in_range(found, "rho", self.rho, 0, 1, high_open=True)
        _in_range(found, "beta_1", self.beta_1, 0, 1, high_open=True)
        _in_range(found, "beta_2", self.beta_2, 0, 1, high_open=True)
        _in_range(found, "epsilon", self.epsilon, 0, 1, low_open=True)
        _in_range(found, "weight decay", self.weight_decay, 0, 1)
        _in_range(found, "initial accumulator value", self.initial_accumulator_value, 0, 10)
        _in_range(found, "gradient clip norm", self.clipnorm, 0, math.inf)
        _in_range(found, "gradient clip value", self.clipvalue, 0, math.inf)
        if self.clipnorm > 0 and self.clipvalue > 0:
            found.append("gradient clipping: choose clip by norm or clip by value, not both.")
        return found

    def keras_settings(self) -> dict:
        """The keyword arguments of the Keras optimizer class, clipping included."""
        settings = {"learning_rate": self.learning_rate}
        settings.update({key: getattr(self, key) for key in OPTIMIZER_SETTINGS[self.name]})
        if self.clipnorm > 0:
            settings["clipnorm"] = self.clipnorm
        if self.clipvalue > 0:
            settings["clipvalue"] = self.clipvalue
        return settings


@dataclass
class ScheduleSpec:
    """How the learning rate changes while training.

    Args:
        name: one of `SCHEDULES`. Defaults to `"none"`.
        decay_rate: exponential decay: multiply by this every `decay_epochs`.
            Defaults to `0.5`.
        decay_epochs: exponential decay period, and the length of a cosine
            decay, in epochs (0 for cosine means the whole run). Defaults to `10`.
        alpha: cosine decay ends at ``alpha × learning rate``. Defaults to `0.0`.
        factor: reduce-on-plateau multiplies the rate by this. Defaults to `0.5`.
        patience: reduce-on-plateau waits this many epochs without improvement.
            Defaults to `3`.
        min_learning_rate: reduce-on-plateau never goes below this. Defaults to `1e-6`.
    """

    name: str = "none"
    decay_rate: float = 0.5
    decay_epochs: float = 10.0
    alpha: float = 0.0
    factor: float = 0.5
    patience: int = 3
    min_learning_rate: float = 1e-6

    def problems(self) -> list[str]:
        found: list[str] = []
        _one_of(found, "learning-rate schedule", self.name, SCHEDULES)
        _in_range(found, "decay rate", self.decay_rate, 0, 1, low_open=True)
        _in_range(found, "decay epochs", self.decay_epochs, 0, 100_000)
        _in_range(found, "cosine alpha", self.alpha, 0, 1)
        _in_range(found, "plateau factor", self.factor, 0, 1, low_open=True, high_open=True)
        _whole(found, "plateau patience", self.patience, 0, 10_000)
        _in_range(found, "minimum learning rate", self.min_learning_rate, 0, 10)
        return found


@dataclass
class EarlyStoppingSpec:
    """Stop when the monitored figure stops improving.

    Args:
        enabled: Defaults to `False`.
        monitor: one of `MONITORS`. Defaults to `"val_loss"`.
        patience: epochs without improvement before stopping. Defaults to `5`.
        min_delta: the least change that counts as improvement. Defaults to `0.0`.
        restore_best_weights: end with the weights of the best epoch. Defaults to `True`.
    """

    enabled: bool = False
    monitor: str = "val_loss"
    patience: int = 5
    min_delta: float = 0.0
    restore_best_weights: bool = True

    def problems(self) -> list[str]:
        found: list[str] = []
        _one_of(found, "early-stopping monitor", self.monitor, MONITORS)
        _whole(found, "early-stopping patience", self.patience, 0, 10_000)
        _in_range(found, "early-stopping min delta", self.min_delta, 0, math.inf)
        return found


@dataclass
class TrainingSpec:
    """How long and in what pieces to train, and where.

    Args:
        epochs: passes over the training data. Defaults to `20`.
        batch_size: samples per gradient step (mini-batch). Defaults to `32`.
        validation_fraction: share of the training rows held out to validate
            after each epoch; 0 means no validation. Defaults to `0.2`.
        shuffle: reshuffle the training rows every epoch. Defaults to `True`.
        seed: seeds weights, dropout and shuffling. Defaults to `0`.
        device: `"auto"`, `"cpu"`, `"gpu:N"` or `"all_gpus"`. Defaults to `"auto"`.
    """

    epochs: int = 20
    batch_size: int = 32
    validation_fraction: float = 0.2
    shuffle: bool = True
    seed: int = 0
    device: str = "auto"
    early_stopping: EarlyStoppingSpec = field(default_factory=EarlyStoppingSpec)

    def problems(self) -> list[str]:
        found: list[str] = []
        _whole(found, "epochs", self.epochs, 1, 100_000)
        _whole(found, "batch size", self.batch_size, 1, 1_000_000)
        _in_range(found, "validation fraction", self.validation_fraction, 0, 0.9)
        _whole(found, "seed", self.seed, 0, 2**31 - 1)
        if not (self.device in ("auto", "cpu", "all_gpus") or _is_gpu_name(self.device)):
            found.append(f"device must be auto, cpu, gpu:N or all_gpus (got {self.device!r}).")
        found += self.early_stopping.problems()
        if self.early_stopping.enabled and self.early_stopping.monitor.startswith("val_") and self.validation_fraction == 0:
            found.append("early stopping watches a validation figure: set a validation fraction above 0, or monitor the training loss.")
        return found


def _is_gpu_name(device: str) -> bool:
    return isinstance(device, str) and device.startswith("gpu:") and device[4:].isdigit()


@dataclass
class Project:
    """Everything needed to train again: data, network and training settings."""

    name: str = "Untitled"
    dataset: DatasetChoice = field(default_factory=DatasetChoice)
    layers: list = field(default_factory=lambda: [DenseLayer(8, "tanh"), DenseLayer(8, "tanh")])
    output: OutputSpec = field(default_factory=OutputSpec)
    optimizer: OptimizerSpec = field(default_factory=OptimizerSpec)
    schedule: ScheduleSpec = field(default_factory=ScheduleSpec)
    training: TrainingSpec = field(default_factory=TrainingSpec)

    def problems(self) -> list[str]:
        """Every reason this project cannot be trained, one sentence each."""
        found = list(self.dataset.problems())
        for index, layer in enumerate(self.layers, start=1):
            if not isinstance(layer, (DenseLayer, DropoutLayer, BatchNormLayer)):
                found.append(f"layer {index} is not a Dense, Dropout or BatchNormalization layer.")
                continue
            found += layer.problems(f"layer {index}")
        found += self.output.problems()
        found += self.optimizer.problems()
        found += self.schedule.problems()
        found += self.training.problems()
        return found

    def validate(self) -> Project:
        """Returns the project unchanged, or raises `UserError` listing every problem."""
        found = self.problems()
        if found:
            raise UserError(" ".join(found))
        return self

    def copy(self) -> Project:
        return project_from_dict(project_to_dict(self))

    def with_training(self, **changes) -> Project:
        """A copy with some training settings changed."""
        return replace(self.copy(), training=replace(self.training, **changes))

    def save(self, path: str | Path) -> None:
        """Writes the project as JSON, atomically."""
        write_text_atomic(path, json.dumps(project_to_dict(self), indent=2, ensure_ascii=False) + "\n")


def layer_to_dict(layer: Layer) -> dict:
    return {"type": layer.kind, **asdict(layer)}


def layer_from_dict(data, where: str) -> Layer:
    if not isinstance(data, dict) or "type" not in data:
        raise UserError(f"{where} must be an object with a 'type' (dense, dropout or batchnorm).")
    settings = dict(data)
    kind = settings.pop("type")
    if kind not in LAYER_TYPES:
        raise UserError(f"{where} has unknown type {kind!r}: use dense, dropout or batchnorm.")
    return dataclass_from_dict(LAYER_TYPES[kind], settings, where)


def project_to_dict(project: Project) -> dict:
    """The project as a JSON-ready dict, with its format name and version."""
    training = asdict(project.training)
    return {
        "format": PROJECT_FORMAT,
        "version": PROJECT_VERSION,
        "name": project.name,
        "dataset": project.dataset.to_dict(),
        "layers": [layer_to_dict(layer) for layer in project.layers],
        "output": asdict(project.output),
        "optimizer": asdict(project.optimizer),
        "schedule": asdict(project.schedule),
        "training": training,
    }


def migrate_project(data: dict) -> dict:
    """Brings an older project file up to `PROJECT_VERSION`.

    Version 1 is the first; later versions add their steps here so that an
    old file still opens.
    """
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise UserError(f"the project file has no valid version number (got {version!r}).")
    if version > PROJECT_VERSION:
        raise UserError(
            f"the project file is version {version}, newer than this program understands "
            f"({PROJECT_VERSION}): update Keras Trainer to open it."
        )
    if version < 1:
        raise UserError(f"the project file has unknown version {version}.")
    return data


def project_from_dict(data) -> Project:
    """Builds a `Project` from a decoded JSON object, or raises `UserError`."""
    if not isinstance(data, dict):
        raise UserError("a project file must hold a JSON object.")
    if data.get("format") != PROJECT_FORMAT:
        raise UserError(f"this is not a Keras Trainer project (its 'format' is {data.get('format')!r}).")
    data = migrate_project(data)
    known = {"format", "version", "name", "dataset", "layers", "output", "optimizer", "schedule", "training"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise UserError(f"the project has unknown section(s): {', '.join(unknown)}.")
    layers = data.get("layers", [])
    if not isinstance(layers, list):
        raise UserError("'layers' must be a list.")
    training = dict(data.get("training", {})) if isinstance(data.get("training", {}), dict) else data.get("training")
    early = EarlyStoppingSpec()
    if isinstance(training, dict) and "early_stopping" in training:
        early = dataclass_from_dict(EarlyStoppingSpec, training.pop("early_stopping"), "training.early_stopping")
    training_spec = dataclass_from_dict(TrainingSpec, training, "training")
    training_spec.early_stopping = early
    name = data.get("name", "Untitled")
    if not isinstance(name, str):
        raise UserError("'name' must be text.")
    return Project(
        name=name,
        dataset=DatasetChoice.from_dict(data.get("dataset", {})),
        layers=[layer_from_dict(item, f"layer {i}") for i, item in enumerate(layers, start=1)],
        output=dataclass_from_dict(OutputSpec, data.get("output", {}), "output"),
        optimizer=dataclass_from_dict(OptimizerSpec, data.get("optimizer", {}), "optimizer"),
        schedule=dataclass_from_dict(ScheduleSpec, data.get("schedule", {}), "schedule"),
        training=training_spec,
    )


def load_project(path: str | Path) -> Project:
    """Reads a project file, or raises `UserError` saying what is wrong with it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"there is no project file at {path}.") from None
    except UnicodeDecodeError:
        raise UserError(f"{path.name} is not a text file, so it cannot be a project.") from None
    except OSError as error:
        raise UserError(f"cannot read {path}: {error.strerror}.") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise UserError(f"{path.name} is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}).") from None
    return project_from_dict(data)
