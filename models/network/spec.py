"""A project as plain data: the data set, the network and how to train it.

Every class here is a dataclass with no Qt and no TensorFlow in it, so a
project can be edited by the window, checked, saved as JSON and loaded back
without starting Keras.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import ClassVar

from datasets.choice import DatasetChoice
from models.errors import UserError
from models.files import write_text_atomic
from models.network.plain import (
    Range,
    check_ranges,
    dataclass_from_dict,
    is_writable_text,
    shown_value,
)
from models.network.plain import shown_value as _shown
from models.text import Text

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


# A network deeper than this is refused: Keras's builder recursed past Python's limit at
# 1000 Dense layers, and the window's editor took 46 s to draw 2000 cards.
MAX_LAYERS = 100


def _one_of(found: list, where: str, value, allowed) -> None:
    if not isinstance(value, str) or value not in allowed:
        found.append(Text.of("{where} must be one of {allowed} (got {value}).",
                             where=where, allowed=", ".join(allowed), value=_shown(value)))


def _boolean(found: list, where: str, value) -> None:
    if not isinstance(value, bool):
        found.append(Text.of("{where} must be true or false (got {value}).", where=where, value=_shown(value)))


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
        residual: a residual connection (残差连接): the layer's input is added to its output,
            ``activation(x @ W + b) + x``, through a learned linear projection ``x @ P`` when the
            widths differ. Defaults to `False`.
    """

    units: int = 64
    activation: str = "relu"
    negative_slope: float = 0.2
    kernel_initializer: str = "glorot_uniform"
    l1: float = 0.0
    l2: float = 0.0
    use_bias: bool = True
    residual: bool = False
    kind = "dense"

    RANGES: ClassVar[dict[str, Range]] = {
        "units": Range(1, 100_000, whole=True),
        "negative_slope": Range(0, 1, label="leaky ReLU slope"),
        "l1": Range(0, 1, label="L1"),
        "l2": Range(0, 1, label="L2"),
    }

    def problems(self, where: str) -> list[str]:
        found: list[str] = []
        check_ranges(found, f"{where} ", self, self.RANGES)
        _one_of(found, f"{where} activation", self.activation, ACTIVATIONS)
        _one_of(found, f"{where} initializer", self.kernel_initializer, INITIALIZERS)
        _boolean(found, f"{where} use_bias", self.use_bias)
        _boolean(found, f"{where} residual", self.residual)
        return found


@dataclass
class DropoutLayer:
    """Zeroes each input with probability ``rate`` while training, scaling the rest by 1/(1-rate).

    Args:
        rate: the share of inputs dropped. Defaults to `0.2`.
    """

    rate: float = 0.2
    kind = "dropout"

    RANGES: ClassVar[dict[str, Range]] = {"rate": Range(0, 0.95, label="dropout rate")}

    def problems(self, where: str) -> list[str]:
        found: list[str] = []
        check_ranges(found, f"{where} ", self, self.RANGES)
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

    RANGES: ClassVar[dict[str, Range]] = {"momentum": Range(0, 0.9999, label="batch-norm momentum")}

    def problems(self, where: str) -> list[str]:
        found: list[str] = []
        check_ranges(found, f"{where} ", self, self.RANGES)
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

    RANGES: ClassVar[dict[str, Range]] = {
        "learning_rate": Range(1e-6, 10, label="learning rate"),
        "momentum": Range(0, 0.999),
        "rho": Range(0, 0.999),
        "beta_1": Range(0, 0.9999),
        "beta_2": Range(0, 0.9999),
        "epsilon": Range(1e-10, 1),
        "weight_decay": Range(0, 1, label="weight decay"),
        "initial_accumulator_value": Range(0, 10, label="initial accumulator value"),
        "clipnorm": Range(0, 1000, label="gradient clip norm"),
        "clipvalue": Range(0, 1000, label="gradient clip value"),
    }

    def problems(self) -> list[str]:
        found: list[str] = []
        _one_of(found, "optimizer", self.name, OPTIMIZERS)
        check_ranges(found, "", self, self.RANGES)
        for name in ("nesterov", "amsgrad", "centered"):
            _boolean(found, name, getattr(self, name))
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

    RANGES: ClassVar[dict[str, Range]] = {
        "decay_rate": Range(0.01, 1, label="decay rate"),
        "decay_epochs": Range(0, 100_000, label="decay epochs"),
        "alpha": Range(0, 1, label="cosine alpha"),
        "factor": Range(0.01, 0.99, label="plateau factor"),
        "patience": Range(0, 10_000, whole=True, label="plateau patience"),
        "min_learning_rate": Range(0, 10, label="minimum learning rate"),
    }

    def problems(self) -> list[str]:
        found: list[str] = []
        _one_of(found, "learning-rate schedule", self.name, SCHEDULES)
        check_ranges(found, "", self, self.RANGES)
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

    RANGES: ClassVar[dict[str, Range]] = {
        "patience": Range(0, 10_000, whole=True, label="early-stopping patience"),
        "min_delta": Range(0, 1000, label="early-stopping min delta"),
    }

    def problems(self) -> list[str]:
        found: list[str] = []
        _one_of(found, "early-stopping monitor", self.monitor, MONITORS)
        check_ranges(found, "", self, self.RANGES)
        _boolean(found, "early stopping", self.enabled)
        _boolean(found, "early-stopping restore_best_weights", self.restore_best_weights)
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

    RANGES: ClassVar[dict[str, Range]] = {
        "epochs": Range(1, 100_000, whole=True),
        "batch_size": Range(1, 1_000_000, whole=True, label="batch size"),
        "validation_fraction": Range(0, 0.9, label="validation fraction"),
        "seed": Range(0, 2**31 - 1, whole=True),
    }

    def problems(self) -> list[str]:
        found: list[str] = []
        check_ranges(found, "", self, self.RANGES)
        _boolean(found, "shuffle", self.shuffle)
        if not (self.device in ("auto", "cpu", "all_gpus") or _is_gpu_name(self.device)):
            found.append(Text.of("device must be auto, cpu, gpu:N (N a number such as 0) or all_gpus (got {device}).",
                                 device=_shown(self.device)))
        early = self.early_stopping
        if not isinstance(early, EarlyStoppingSpec):
            return [*found, Text("training.early_stopping must be an object of settings.")]
        found += early.problems()
        return found


def _is_gpu_name(device: str) -> bool:
    # ASCII digits only: str.isdigit() also takes "²", which int() then refuses.
    return isinstance(device, str) and re.fullmatch(r"gpu:[0-9]{1,4}", device) is not None


@dataclass
class AugmentationSpec:
    """Random changes to the training rows, drawn anew for every batch (data augmentation, 数据增强).

    They are Keras preprocessing layers at the front of the model that act
    only while it trains: predictions, the evaluation and every export see the
    rows as they are.

    Args:
        shift: an image moves by up to this share of its width and height. Defaults to `0.0` (off).
        rotate: an image turns by up to this many degrees either way. Defaults to `0.0`.
        zoom: an image is zoomed in or out by up to this share. Defaults to `0.0`.
        noise: Gaussian noise of this standard deviation is added to the standardised inputs (pixels
            scaled to 0…1 for MNIST). Defaults to `0.0`.
    """

    shift: float = 0.0
    rotate: float = 0.0
    zoom: float = 0.0
    noise: float = 0.0

    RANGES: ClassVar[dict[str, Range]] = {
        "shift": Range(0, 0.5, label="augmentation shift"),
        "rotate": Range(0, 180, label="augmentation rotation"),
        "zoom": Range(0, 0.9, label="augmentation zoom"),
        "noise": Range(0, 10, label="augmentation noise"),
    }
    IMAGE_ONLY: ClassVar[tuple[str, ...]] = ("shift", "rotate", "zoom")

    @property
    def active(self) -> bool:
        return any(getattr(self, name) > 0 for name in self.RANGES)

    @property
    def moves_images(self) -> bool:
        return any(getattr(self, name) > 0 for name in self.IMAGE_ONLY)

    def problems(self) -> list[str]:
        found: list[str] = []
        check_ranges(found, "", self, self.RANGES)
        return found


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
    augmentation: AugmentationSpec = field(default_factory=AugmentationSpec)

    def value_problems(self) -> list[str]:
        """Every setting that holds a value it may not, one sentence each.

        A project with none of these can be shown by every control of the
        window and built by TensorFlow; it may still lack what training needs
        (a CSV file not chosen yet), which `problems` adds.
        """
        if not isinstance(self.name, str):
            return [Text("'name' must be text.")]
        found = list(self.dataset.value_problems())
        if len(self.layers) > MAX_LAYERS:
            found.append(Text.of("the network has {layers} layers; at most {max_layers} are allowed.",
                                 layers=f"{len(self.layers):,}", max_layers=MAX_LAYERS))
        for index, layer in enumerate(self.layers[:MAX_LAYERS], start=1):
            if not isinstance(layer, (DenseLayer, DropoutLayer, BatchNormLayer)):
                found.append(Text.of("layer {index} is not a Dense, Dropout or BatchNormalization layer.", index=index))
                continue
            found += layer.problems(f"layer {index}")
        found += self.output.problems()
        found += self.optimizer.problems()
        found += self.schedule.problems()
        found += self.training.problems()
        found += self.augmentation.problems()
        return found

    def problems(self) -> list[str]:
        """Every reason this project cannot be trained, one sentence each."""
        found = self.value_problems()
        if found:
            return found
        return found + self.dataset.readiness_problems() + self._setting_conflicts()

    def _setting_conflicts(self) -> list[str]:
        """Settings each allowed alone that cannot work together (the controls can set them so)."""
        found = []
        if self.optimizer.clipnorm > 0 and self.optimizer.clipvalue > 0:
            found.append(Text("gradient clipping: choose clip by norm or clip by value, not both."))
        early = self.training.early_stopping
        if early.enabled and early.monitor.startswith("val_") and self.training.validation_fraction == 0:
            found.append(Text("early stopping watches a validation figure: set a validation fraction above 0, "
                              "or monitor the training loss."))
        return found

    def validate(self) -> Project:
        """Returns the project unchanged, or raises `UserError` listing every problem."""
        _raise_if_any(self.problems())
        return self

    def check_values(self) -> Project:
        """Returns the project unchanged, or raises `UserError` naming every value it may not hold.

        Every way a project comes in (a file, the last project at start, the
        command line) passes through here before any control or Keras sees it.
        """
        _raise_if_any(self.value_problems())
        return self

    def copy(self) -> Project:
        return project_from_dict(project_to_dict(self), check=False)

    def with_training(self, **changes) -> Project:
        """A copy with some training settings changed."""
        return replace(self.copy(), training=replace(self.training, **changes))

    def save(self, path: str | Path) -> None:
        """Writes the project as JSON, atomically."""
        write_text_atomic(path, json.dumps(project_to_dict(self), indent=2, ensure_ascii=False) + "\n")


def _raise_if_any(found: list[str]) -> None:
    if found:
        listed = found[:10] + ([Text.of("and {count} more problem(s).", count=len(found) - 10)] if len(found) > 10 else [])
        raise UserError(Text.joined(listed))


def layer_to_dict(layer: Layer) -> dict:
    return {"type": layer.kind, **asdict(layer)}


def layer_from_dict(data, where: str) -> Layer:
    if not isinstance(data, dict) or "type" not in data:
        raise UserError.of("{where} must be an object with a 'type' (dense, dropout or batchnorm).", where=where)
    settings = dict(data)
    kind = settings.pop("type")
    if not isinstance(kind, str) or kind not in LAYER_TYPES:
        raise UserError.of("{where} has unknown type {kind}: use dense, dropout or batchnorm.",
                           where=where, kind=_shown(kind))
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
        "augmentation": asdict(project.augmentation),
    }


def migrate_project(data: dict) -> dict:
    """Brings an older project file up to `PROJECT_VERSION`.

    Version 1 is the first; later versions add their steps here so that an
    old file still opens.
    """
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise UserError.of("the project file has no valid version number (got {version}).", version=_shown(version))
    if version > PROJECT_VERSION:
        raise UserError.of("the project file is version {version}, newer than this program understands "
                           "({project_version}): update Keras Trainer to open it.",
                           version=_shown(version), project_version=PROJECT_VERSION)
    if version < 1:
        raise UserError.of("the project file has unknown version {version}.", version=_shown(version))
    return data


def project_from_dict(data, check: bool = True) -> Project:
    """Builds a `Project` from a decoded JSON object, or raises `UserError`.

    Args:
        data: the decoded JSON value.
        check: also refuse values outside their ranges (`Project.check_values`).
            Only a copy of a project already in memory skips it. Defaults to `True`.
    """
    if not isinstance(data, dict):
        raise UserError("a project file must hold a JSON object.")
    if data.get("format") != PROJECT_FORMAT:
        raise UserError.of("this is not a Keras Trainer project (its 'format' is {format}).",
                           format=_shown(data.get("format")))
    data = migrate_project(data)
    known = {"format", "version", "name", "dataset", "layers", "output", "optimizer", "schedule", "training",
             "augmentation"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise UserError.of("the project has unknown section(s): {names}.",
                           names=", ".join(shown_value(name) for name in unknown[:5]))
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
    if not isinstance(name, str) or not is_writable_text(name):
        raise UserError("'name' must be text that can be written as UTF-8.")
    if check and len(layers) > MAX_LAYERS:
        raise UserError.of("the network has {layers} layers; at most {max_layers} are allowed.",
                           layers=f"{len(layers):,}", max_layers=MAX_LAYERS)
    project = Project(
        name=name,
        dataset=DatasetChoice.from_dict(data.get("dataset", {})),
        layers=[layer_from_dict(item, f"layer {i}") for i, item in enumerate(layers, start=1)],
        output=dataclass_from_dict(OutputSpec, data.get("output", {}), "output"),
        optimizer=dataclass_from_dict(OptimizerSpec, data.get("optimizer", {}), "optimizer"),
        schedule=dataclass_from_dict(ScheduleSpec, data.get("schedule", {}), "schedule"),
        training=training_spec,
        # Files from before augmentation have no such section: none, as they trained.
        augmentation=dataclass_from_dict(AugmentationSpec, data.get("augmentation", {}), "augmentation"),
    )
    return project.check_values() if check else project


# A project of 100 layers is a few kilobytes; a file far larger is not one.
MAX_PROJECT_BYTES = 10_000_000


def project_from_json(text: str, name: str = "the project") -> Project:
    """Decodes a project's JSON text (a file's, or the one remembered at start), or raises `UserError`."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise UserError.of("{name} is not valid JSON (line {lineno}, column {colno}: {msg}).",
                           name=name, lineno=error.lineno, colno=error.colno, msg=error.msg) from None
    except RecursionError:
        raise UserError.of("{name} nests brackets too deeply to be a project.", name=name) from None
    except ValueError as error:  # a whole number of more than 4300 digits, which Python refuses
        raise UserError.of("{name} cannot be read as a project ({error}).", name=name, error=error) from None
    return project_from_dict(data)


def load_project(path: str | Path) -> Project:
    """Reads a project file, or raises `UserError` saying what is wrong with it."""
    path = Path(path)
    try:
        if not path.exists():
            raise UserError.of("there is no project file at {path}.", path=path)
        if path.is_dir():
            raise UserError.of("{path} is a folder, not a project file.", path=path)
        if not path.is_file():  # a FIFO or a device would block or never end
            raise UserError.of("{path} is not a regular file, so it cannot be a project.", path=path)
        if path.stat().st_size > MAX_PROJECT_BYTES:
            raise UserError.of("{name} is {size} bytes, far too large to be a project.",
                               name=path.name, size=f"{path.stat().st_size:,}")
        raw = path.read_bytes()
    except OSError as error:
        raise UserError.of("cannot read {path}: {reason}.", path=path, reason=error.strerror or error) from None
    try:
        # utf-8-sig: a byte-order mark, as Windows editors write, is not part of the JSON.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UserError.of("{name} is not a text file (not UTF-8), so it cannot be a project.", name=path.name) from None
    return project_from_json(text, path.name)
