"""The instruments' readings as plain data, and their JSON form (``instruments.json``).

A `LayerReading` is what one Dense layer looked like at one moment of a run,
measured on the run's fixed probe batch; an `InstrumentReading` holds every
Dense layer's reading at that moment. Nothing here imports Keras or Qt.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

INSTRUMENTS_FORMAT = "keras-trainer-instruments"
INSTRUMENTS_VERSION = 1
HISTOGRAM_BINS = 40

# |w| below this counts as a zero weight: what an L1 penalty drives weights to.
NEAR_ZERO = 1e-3
# A sigmoid or tanh unit is saturated when |pre-activation| exceeds this for most rows:
# its slope there is under 0.007 (sigmoid) or 0.0002 (tanh), so little gradient passes.
SATURATION_THRESHOLD = 5.0
DEAD_ACTIVATIONS = ("relu",)
SATURATING_ACTIVATIONS = ("sigmoid", "tanh")


@dataclass
class Histogram:
    """Counts of values in bins: ``counts[i]`` values lie in ``[edges[i], edges[i + 1])``.

    Values outside the edges are counted in the first or last bin, so the
    counts always add up to every value; `minimum` and `maximum` say how far
    the values really reached.
    """

    edges: np.ndarray
    counts: np.ndarray
    minimum: float = math.nan
    maximum: float = math.nan

    @classmethod
    def of(cls, values: np.ndarray, edges: np.ndarray) -> Histogram:
        """The histogram of ``values`` (any shape) in the fixed ``edges``; non-finite values are left out.

        The edges are evenly spaced (see `fixed_edges`), so each value's bin
        is computed in one pass and counted with ``bincount``: on the notes'
        784×512 kernel, 4 ms instead of numpy's ``histogram`` at 20 ms.
        """
        flat = np.asarray(values).ravel()
        if not np.isfinite(flat).all():
            flat = flat[np.isfinite(flat)]
        bins = len(edges) - 1
        if flat.size == 0:
            return cls(edges, np.zeros(bins, dtype=np.int64))
        low, high = float(edges[0]), float(edges[-1])
        positions = ((flat - low) * (bins / (high - low))).astype(np.int32)
        np.clip(positions, 0, bins - 1, out=positions)  # past the edges: the end bins
        counts = np.bincount(positions, minlength=bins)
        return cls(edges, counts.astype(np.int64), float(flat.min()), float(flat.max()))

    def quantiles(self, shares) -> np.ndarray:
        """The values below which the given shares (0–1) of the counts lie, read off the bins linearly."""
        total = self.counts.sum()
        if total == 0:
            return np.full(len(shares), math.nan)
        cumulative = np.concatenate([[0.0], np.cumsum(self.counts) / total])
        return np.interp(shares, cumulative, self.edges)

    def to_json(self) -> dict:
        # Edges to 7 significant digits (float32's precision): the full float64 text doubled the file.
        return {"edges": [float(f"{e:.7g}") for e in self.edges], "counts": [int(c) for c in self.counts],
                "minimum": _number(self.minimum), "maximum": _number(self.maximum)}

    @classmethod
    def from_json(cls, data: dict) -> Histogram:
        return cls(np.asarray(data["edges"], dtype=np.float64), np.asarray(data["counts"], dtype=np.int64),
                   _float(data.get("minimum")), _float(data.get("maximum")))


def fixed_edges(values: np.ndarray, activation: str | None = None, bins: int = HISTOGRAM_BINS,
                spread: float = 2.0, symmetric: bool = False) -> np.ndarray:
    """Bin edges for a layer, chosen once per run from its first values.

    A bounded activation gets its own range (sigmoid 0–1, tanh −1–1);
    otherwise the edges are symmetric about 0 (or start at 0 for ReLU) and
    reach ``spread`` times the largest first value, so a layer whose values
    grow while training still fits. Later values past the edges land in
    the end bins. ``symmetric`` (weights, gradients) always reaches both
    ways: a kernel that starts at zero or positive may not stay so.
    """
    if activation == "sigmoid":
        return np.linspace(0.0, 1.0, bins + 1)
    if activation == "tanh":
        return np.linspace(-1.0, 1.0, bins + 1)
    flat = np.asarray(values, dtype=np.float64).ravel()
    flat = flat[np.isfinite(flat)]
    reach = float(np.abs(flat).max()) * spread if flat.size else 1.0
    if not reach > 0:
        reach = 1.0
    if not symmetric and (activation == "relu" or (flat.size and flat.min() >= 0)):
        return np.linspace(0.0, reach, bins + 1)
    return np.linspace(-reach, reach, bins + 1)


@dataclass
class LayerReading:
    """One Dense layer at one moment of a run, measured on the probe batch.

    Attributes:
        epoch: epochs done when it was read: 0 before training, 1 after the
            first epoch, 1.5 halfway through the second.
        step: training steps (batches) done.
        layer: 0-based index among the network's Dense layers, input side
            first; the output layer is the last.
        name: the Keras layer's name (``dense_1`` … ``output``).
        activation: the activation applied after it (``leaky_relu`` included).
        weight_norm: ‖W‖, the kernel's L2 (Frobenius) norm.
        weight_mean: the kernel's mean.
        weight_std: the kernel's standard deviation.
        near_zero_fraction: the share of kernel entries with |w| < `NEAR_ZERO`.
        gradient_norm: ‖∂loss/∂W‖ on the probe batch, regularisation included.
        update_ratio: ‖W − W_before‖ / ‖W‖ since the previous reading; `None` for the first.
        update_ratio_per_step: ‖ΔW‖ / ‖W‖ per step, measured over the first call
            into TensorFlow after the previous reading (one step when a call
            runs one), comparable with the rule of thumb of about 1e-3 per step.
        dead_fraction: for ReLU, the share of units whose output is 0 on every
            probe row; `None` for other activations.
        saturated_fraction: for sigmoid and tanh, the share of units whose
            |pre-activation| exceeds `SATURATION_THRESHOLD` on more than half
            the probe rows; `None` for other activations.
        output_mean: the mean of the layer's outputs (after its activation).
        output_std: their standard deviation.
        batch_norm_mean: when a BatchNormalization layer follows, the mean of
            its outputs over the probe batch (normalised with the batch's own
            statistics, as while training); else `None`.
        batch_norm_std: their standard deviation; else `None`.
        weights: the kernel's histogram.
        gradients: the kernel gradient's histogram.
        outputs: the outputs' histogram.
        kernel: the kernel itself (inputs × units), for the views; not written to JSON.
        bias: the bias (units,), or `None`; not written to JSON.
    """

    epoch: float
    step: int
    layer: int
    name: str
    activation: str
    weight_norm: float
    weight_mean: float
    weight_std: float
    near_zero_fraction: float
    gradient_norm: float
    update_ratio: float | None
    update_ratio_per_step: float | None
    dead_fraction: float | None
    saturated_fraction: float | None
    output_mean: float
    output_std: float
    batch_norm_mean: float | None
    batch_norm_std: float | None
    weights: Histogram
    gradients: Histogram
    outputs: Histogram
    kernel: np.ndarray | None = field(default=None, repr=False)
    bias: np.ndarray | None = field(default=None, repr=False)

    JSON_NUMBERS = ("weight_norm", "weight_mean", "weight_std", "near_zero_fraction", "gradient_norm",
                    "update_ratio", "update_ratio_per_step", "dead_fraction", "saturated_fraction",
                    "output_mean", "output_std", "batch_norm_mean", "batch_norm_std")
    JSON_HISTOGRAMS = ("weights", "gradients", "outputs")

    def to_json(self) -> dict:
        """One record of ``instruments.json``: numbers (null where they do not apply or are not finite)
        and histograms."""
        record = {"epoch": _epoch_number(self.epoch), "step": int(self.step), "layer": int(self.layer),
                  "name": self.name, "activation": self.activation}
        record.update({key: _number(getattr(self, key)) for key in self.JSON_NUMBERS})
        record.update({f"{key}_histogram": getattr(self, key).to_json() for key in self.JSON_HISTOGRAMS})
        return record

    @classmethod
    def from_json(cls, record: dict) -> LayerReading:
        numbers = {key: _float(record.get(key)) for key in cls.JSON_NUMBERS}
        for key in ("update_ratio", "update_ratio_per_step", "dead_fraction", "saturated_fraction",
                    "batch_norm_mean", "batch_norm_std"):
            if record.get(key) is None:
                numbers[key] = None
        histograms = {key: Histogram.from_json(record[f"{key}_histogram"]) for key in cls.JSON_HISTOGRAMS}
        return cls(epoch=float(record["epoch"]), step=int(record.get("step", 0)), layer=int(record["layer"]),
                   name=str(record["name"]), activation=str(record.get("activation", "")), **numbers, **histograms)


@dataclass
class InstrumentReading:
    """Every Dense layer's reading at one moment, sent to the listener as it is taken.

    Attributes:
        epoch: epochs done (see `LayerReading.epoch`).
        step: training steps done.
        layers: one `LayerReading` per Dense layer, input side first.
        loss: the loss on the probe batch.
        path: for a network with no hidden layer, every step's weights since
            the previous reading, one row per step: the kernel's entries then
            the bias, in the model's own (standardised) units; else `None`.
    """

    epoch: float
    step: int
    layers: list[LayerReading]
    loss: float = math.nan
    path: np.ndarray | None = field(default=None, repr=False)


def instruments_json(readings: list[InstrumentReading]) -> dict:
    """The content of ``instruments.json``: ``{"records": [...]}``, one record per layer per reading."""
    return {"format": INSTRUMENTS_FORMAT, "version": INSTRUMENTS_VERSION,
            "records": [layer.to_json() for reading in readings for layer in reading.layers]}


def records_from_json(data: dict) -> list[LayerReading]:
    """The layer readings of an ``instruments.json`` document, in file order."""
    return [LayerReading.from_json(record) for record in data.get("records", [])]


def _epoch_number(epoch: float):
    return int(epoch) if float(epoch).is_integer() else round(float(epoch), 4)


def _number(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _float(value) -> float:
    return math.nan if value is None else float(value)


def _shown(value: float | None, form: str) -> str:
    width = int("".join(ch for ch in form.split(".")[0] if ch.isdigit()) or 0)
    return "-".rjust(width) if value is None or not math.isfinite(value) else format(value, form)


def layer_table(reading: InstrumentReading) -> list[str]:
    """A reading as a text table, one line per Dense layer, for a terminal."""
    lines = [f"inside the network after {_epoch_number(reading.epoch)} epoch(s), on the probe batch:",
             f"{'layer':<22} {'‖∇W‖':>10} {'‖W‖':>9} {'update/step':>11} {'|w|<1e-3':>9} {'dead':>6} {'saturated':>9}"]
    for layer in reading.layers:
        lines.append(
            f"{layer.layer + 1:>2} {layer.name + ' (' + layer.activation + ')':<19} {_shown(layer.gradient_norm, '10.3g')} "
            f"{_shown(layer.weight_norm, '9.3g')} {_shown(layer.update_ratio_per_step, '11.2g')} "
            f"{_shown(layer.near_zero_fraction, '9.0%')} {_shown(layer.dead_fraction, '6.0%')} "
            f"{_shown(layer.saturated_fraction, '9.0%')}")
    return lines
