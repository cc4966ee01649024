"""One setting swept over values: the model-complexity curve and the learning curve (`run_sweep`).

The notes' over- and underfitting picture: as a layer widens, the training
loss keeps falling while the validation loss turns back up; as the share of
training rows grows, the two meet. `parse_param` names the setting
(``units:1`` is the first hidden layer's width), `parse_values` its values
(a list, or ``start:stop:count`` with ``:log`` for a geometric step), and
`run_sweep` trains one run per value, one after another, each in its own run
folder (so each lands in the history), and writes ``sweep.json`` and
``sweep.csv`` as the points come in.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.errors import UserError
from models.files import csv_text, write_json_atomic, write_text_atomic
from models.network.spec import DenseLayer, DropoutLayer, Project

# name → (what it sets, whether its values are whole numbers, whether a log axis suits it)
PARAMETERS = {
    "units": ("the width (units) of hidden Dense layer N", True, True),
    "layers": ("the number of hidden Dense layers (copies of the last one)", True, False),
    "lr": ("the learning rate", False, True),
    "batch_size": ("the batch size", True, True),
    "dropout": ("the rate of every Dropout layer (one after each hidden Dense layer when there is none)",
                False, False),
    "l1": ("every Dense layer's L1 penalty", False, True),
    "l2": ("every Dense layer's L2 penalty (weight decay)", False, True),
    "epochs": ("the number of epochs", True, False),
    "train_share": ("the share of the training rows used (the learning curve)", False, False),
}
ALIASES = {"learning_rate": "lr", "batch": "batch_size", "hidden_layers": "layers", "share": "train_share"}
MAX_VALUES = 50


@dataclass(frozen=True)
class SweepParam:
    """A setting to sweep: ``name`` (a key of `PARAMETERS`) and, for ``units``, the hidden layer (1 = first)."""

    name: str
    layer: int = 0

    @property
    def label(self) -> str:
        return f"units:{self.layer}" if self.name == "units" else self.name

    @property
    def whole(self) -> bool:
        return PARAMETERS[self.name][1]

    @property
    def log_axis(self) -> bool:
        return PARAMETERS[self.name][2]


def parse_param(text: str) -> SweepParam:
    """``units:1``, ``lr``, ``train_share`` … as a `SweepParam`; a sentence naming the choices otherwise."""
    name, _, layer = (text or "").strip().lower().partition(":")
    name = ALIASES.get(name, name)
    if name not in PARAMETERS:
        raise UserError.of("cannot sweep '{text}': choose one of {param_names}.",
                           text=text, param_names=", ".join(_param_names()))
    if name != "units":
        if layer:
            raise UserError.of("'{name}' takes no layer number (only units:N does).", name=name)
        return SweepParam(name)
    if not layer:
        layer = "1"
    if not layer.isdigit() or int(layer) < 1:
        raise UserError.of("units:N needs the hidden layer's number, 1 for the first (got '{text}').", text=text)
    return SweepParam(name, int(layer))


def _param_names() -> list[str]:
    return ["units:N" if name == "units" else name for name in PARAMETERS]


def parse_values(text: str, param: SweepParam) -> list[float]:
    """``2,8,32``, or ``start:stop:count`` (evenly spaced) or ``start:stop:count:log`` (geometric);
    ``start..stop:count[:log]`` reads the same."""
    text = (text or "").strip()
    if not text:
        raise UserError("--values is empty: give a list (2,8,32) or a range (0.0001:0.1:7:log).")
    if ":" in text or ".." in text:
        values = _range_values(text)
    else:
        try:
            values = [float(item) for item in text.split(",") if item.strip()]
        except ValueError:
            raise UserError.of("--values '{text}' is not a comma-separated list of numbers.", text=text) from None
    if param.whole:
        values = [float(round(value)) for value in values]
    values = list(dict.fromkeys(values))  # in order, each once
    if not values:
        raise UserError("--values holds no value.")
    if len(values) > MAX_VALUES:
        raise UserError.of("--values gives {count} values; a sweep takes at most {max_values}.",
                           count=len(values), max_values=MAX_VALUES)
    for value in values:
        check_value(param, value)
    return values


def _range_values(text: str) -> list[float]:
    if ".." in text:  # 2..512:6:log, as the search writes its ranges
        start, _, rest = text.partition("..")
        text = f"{start}:{rest}"
        if rest.count(":") == 0:
            raise UserError.of("the range '{range}' needs a count of values: {range}:6, or :6:log for a "
                               "geometric step.", range=text.replace(":", "..", 1))
    parts = text.split(":")
    log = parts[-1].strip().lower() in ("log", "geometric")
    if log:
        parts = parts[:-1]
    if parts[-1].strip().lower() in ("lin", "linear"):
        parts = parts[:-1]
    try:
        start, stop, count = float(parts[0]), float(parts[1]), int(parts[2])
    except (ValueError, IndexError):
        raise UserError.of("the range '{text}' should read start:stop:count, with :log for a geometric step "
                           "(0.0001:0.1:7:log).", text=text) from None
    if len(parts) != 3 or not 2 <= count <= MAX_VALUES:
        raise UserError.of("the range '{text}' should read start:stop:count with 2 to {max_values} values.",
                           text=text, max_values=MAX_VALUES)
    if log:
        if start <= 0 or stop <= 0:
            raise UserError.of("a log range needs values above 0 (got '{text}').", text=text)
        return [float(value) for value in np.geomspace(start, stop, count)]
    return [float(value) for value in np.linspace(start, stop, count)]


def spec_range(param: SweepParam):
    """The `Range` the project allows the setting (the window's controls take theirs from there too)."""
    from models.network.plain import Range
    from models.network.spec import MAX_LAYERS, OptimizerSpec, TrainingSpec

    return {
        "units": DenseLayer.RANGES["units"], "layers": Range(0, MAX_LAYERS, whole=True, label="hidden layers"),
        "lr": OptimizerSpec.RANGES["learning_rate"], "batch_size": TrainingSpec.RANGES["batch_size"],
        "dropout": DropoutLayer.RANGES["rate"], "l1": DenseLayer.RANGES["l1"], "l2": DenseLayer.RANGES["l2"],
        "epochs": TrainingSpec.RANGES["epochs"],
    }.get(param.name)


def check_value(param: SweepParam, value: float) -> None:
    """Raises `UserError` for a value the setting cannot take (before any list of layers is built from it)."""
    if not math.isfinite(value):
        raise UserError.of("{label} cannot be {value}.", label=param.label, value=value)
    allowed = spec_range(param)
    if allowed is not None:
        problem = allowed.problem(param.label, int(value) if allowed.whole and value == int(value) else value)
        if problem and not (param.name == "lr" and value == 0):  # said more plainly below
            raise UserError(problem)
    name = param.name
    if name == "lr" and value == 0:
        raise UserError("a learning rate of 0 trains nothing.")
    if name == "train_share" and not 0 < value <= 1:
        raise UserError.of("train_share is a share of the training rows, above 0 and at most 1 (got {value}).",
                           value=f"{value:g}")


def hidden_dense_indices(project: Project) -> list[int]:
    return [index for index, layer in enumerate(project.layers) if isinstance(layer, DenseLayer)]


def apply_value(project: Project, param: SweepParam, value: float) -> Project:
    """A copy of ``project`` with the swept setting at ``value`` (``train_share`` leaves it as it is:
    `subset_rows` applies it to the data)."""
    project = project.copy()
    name = param.name
    whole = int(round(value))
    dense = hidden_dense_indices(project)
    if name == "units":
        if param.layer > len(dense):
            raise UserError.of("units:{layer} names hidden Dense layer {layer}, but the network has {hidden}.",
                               layer=param.layer, hidden=len(dense))
        project.layers[dense[param.layer - 1]].units = whole
    elif name == "layers":
        project.layers = _with_hidden_layers(project.layers, whole)
    elif name == "lr":
        project.optimizer.learning_rate = float(value)
    elif name == "batch_size":
        project.training.batch_size = whole
    elif name == "epochs":
        project.training.epochs = whole
    elif name in ("l1", "l2"):
        for layer in project.layers:
            if isinstance(layer, DenseLayer):
                setattr(layer, name, float(value))
    elif name == "dropout":
        project.layers = _with_dropout(project.layers, float(value))
    return project


def _with_hidden_layers(layers: list, count: int) -> list:
    """The layers with ``count`` hidden Dense layers: the last ones dropped (with what follows them),
    or the last Dense layer copied (a 64-unit ReLU one when there is none)."""
    dense = [index for index, layer in enumerate(layers) if isinstance(layer, DenseLayer)]
    if count <= len(dense):
        return list(layers[:dense[count] if count < len(dense) else len(layers)])
    template = layers[dense[-1]] if dense else DenseLayer(64, "relu")
    return [*layers, *(dataclasses.replace(template) for _ in range(count - len(dense)))]


def _with_dropout(layers: list, rate: float) -> list:
    if rate == 0:
        return [layer for layer in layers if not isinstance(layer, DropoutLayer)]
    if any(isinstance(layer, DropoutLayer) for layer in layers):
        return [dataclasses.replace(layer, rate=rate) if isinstance(layer, DropoutLayer) else layer
                for layer in layers]
    with_dropout = []
    for layer in layers:
        with_dropout.append(layer)
        if isinstance(layer, DenseLayer):
            with_dropout.append(DropoutLayer(rate))
    return with_dropout


def subset_rows(dataset, share: float, seed: int):
    """The data set with a seeded random ``share`` of its training rows (the test rows all kept)."""
    rows = len(dataset.x_train)
    keep = max(1, int(round(rows * share)))
    if keep >= rows:
        return dataset
    chosen = np.sort(np.random.default_rng(seed).permutation(rows)[:keep])
    changes = {"x_train": dataset.x_train[chosen], "y_train": dataset.y_train[chosen]}
    if getattr(dataset, "train_rows", None) is not None:
        changes["train_rows"] = np.asarray(dataset.train_rows)[chosen]
    return dataclasses.replace(dataset, **changes)


@dataclass
class SweepPoint:
    """One value's run: the value, its final figures (``loss``, ``val_loss``, the metric …) and its folder."""

    value: float
    figures: dict[str, float]
    run_dir: str = ""
    reason: str = ""

    def to_json(self) -> dict:
        return {"value": self.value, **self.figures, "run_dir": self.run_dir, "reason": self.reason}

    def figures_text(self) -> str:
        """``loss 0.31  val_loss 0.35  accuracy 0.9 …``, in `figure_keys` order."""
        metric = next((key for key in self.figures if not key.startswith(("val_", "test_")) and key != "loss"), "")
        return "  ".join(f"{key} {self.figures[key]:.4g}" for key in figure_keys(metric) if key in self.figures)


@dataclass
class Sweep:
    """A sweep's plan and the points it has so far."""

    param: SweepParam
    values: list[float]
    metric: str = ""
    points: list[SweepPoint] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"format": "keras-trainer-sweep", "version": 1, "param": self.param.label, "metric": self.metric,
                "values": self.values, "points": [point.to_json() for point in self.points]}

    def csv_rows(self) -> list[list[str]]:
        keys = figure_keys(self.metric)
        rows = [["value", *keys, "run_dir"]]
        for point in self.points:
            rows.append([repr(point.value), *(repr(point.figures[key]) if key in point.figures else ""
                                              for key in keys), point.run_dir])
        return rows

    def write(self, folder: Path) -> None:
        """Writes ``sweep.json`` and ``sweep.csv`` into ``folder`` (each atomically)."""
        write_json_atomic(folder / "sweep.json", self.to_json())
        write_text_atomic(folder / "sweep.csv", csv_text(self.csv_rows()))


def figure_keys(metric: str) -> list[str]:
    """The figures a point holds: the losses, then the metric on training, validation and test rows."""
    return ["loss", "val_loss", *([metric, f"val_{metric}", f"test_{metric}"] if metric else []), "test_loss"]


def final_figures(result) -> dict[str, float]:
    """The last epoch's training and validation figures and the test figures of a `RunResult`."""
    figures = {}
    for key, values in result.history.items():
        if key in ("loss", "val_loss", result.metric, f"val_{result.metric}") and values:
            value = float(values[-1])
            if math.isfinite(value):
                figures[key] = value
    for key, value in result.test_metrics.items():
        if key in ("loss", result.metric) and math.isfinite(float(value)):
            figures[f"test_{key}"] = float(value)
    return figures


def param_slug(param: SweepParam) -> str:
    """The setting as a folder name may hold it: ``units1``, ``lr``, ``train_share``."""
    return re.sub(r"[^A-Za-z0-9_]+", "", param.label.replace(":", ""))


def sweep_name(param: SweepParam, value: float) -> str:
    """A run folder's name part for one value: ``units1-32``, ``lr-0.001``."""
    return f"{param_slug(param)}-{value:g}"


def run_sweep(project: Project, param: SweepParam, values: list[float], dataset, *, out: Path | None,
              runs_root: Path, stamp: str, run=None, on_point=None, stopped=lambda: False) -> Sweep:
    """Trains one run per value, in order, and writes the sweep after each.

    Args:
        project: the project every run starts from.
        dataset: the loaded data set (``train_share`` runs take a share of its training rows).
        out: the folder for ``sweep.json`` and ``sweep.csv`` (made when missing), or `None`.
        runs_root: where each run's own folder goes (``STAMP-DATASET-sweep-PARAM-VALUE``).
        stamp: the date and time that starts the runs' folder names.
        run: ``run(project, dataset, folder) -> RunResult``, how one run trains (the command line's
            progress bar, the window's job); plain `run_training` by default.
        on_point: called with each `SweepPoint` as it comes.
        stopped: returns `True` to end the sweep before its next value.
    """
    from models.training.run_folder import RunFolder

    run = run or _plain_run
    sweep = Sweep(param, list(values))
    for value in values:  # every value checked before the first trains
        check_value(param, value)
        apply_value(project, param, value).validate()
    if out is not None:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UserError.of("cannot make the sweep's folder {out}: {reason}.",
                               out=out, reason=error.strerror or error) from None
    for value in values:
        if stopped():
            break
        changed = apply_value(project, param, value)
        changed.validate()
        data = subset_rows(dataset, value, project.training.seed) if param.name == "train_share" else dataset
        folder = RunFolder.claim_new(runs_root, f"{stamp}-{project.dataset.name}-sweep-{sweep_name(param, value)}")
        folder.start(changed)
        result = run(changed, data, folder)
        sweep.metric = sweep.metric or result.metric
        point = SweepPoint(float(value), final_figures(result), str(folder.path), result.reason)
        sweep.points.append(point)
        if out is not None:
            try:
                sweep.write(out)
            except OSError as error:  # the runs are in the history whatever happens to this file
                raise UserError.of("cannot write {path}: {reason}.",
                                   path=out / "sweep.json", reason=error.strerror or error) from None
        if on_point is not None:
            on_point(point)
        if result.reason == "stopped":
            break
    return sweep


def _plain_run(project, dataset, folder):
    from models.training.runner import run_training

    return run_training(project, dataset=dataset, run_dir=folder)
