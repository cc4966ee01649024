"""Parameter counts from the description alone, without building anything."""

from __future__ import annotations

from dataclasses import dataclass

from models.network.spec import BatchNormLayer, DenseLayer, Project


@dataclass(frozen=True)
class LayerCount:
    """One row of the parameter table."""

    label: str
    output_size: int
    trainable: int
    non_trainable: int

    @property
    def total(self) -> int:
        return self.trainable + self.non_trainable


def count_parameters(project: Project, n_features: int, output_units: int) -> list[LayerCount]:
    """One `LayerCount` per layer, hidden layers first, then the output layer.

    Args:
        project: the network description.
        n_features: the width of the input.
        output_units: the width of the output layer (see `resolve_output`).
    """
    rows = []
    width = n_features
    for index, layer in enumerate(project.layers, start=1):
        if isinstance(layer, DenseLayer):
            weights = width * layer.units + (layer.units if layer.use_bias else 0)
            projection = residual_projection_size(layer, width)
            label = f"{index}. Dense({layer.units}, {layer.activation})" + (" + residual" if layer.residual else "")
            rows.append(LayerCount(label, layer.units, weights + projection, 0))
            width = layer.units
        elif isinstance(layer, BatchNormLayer):
            # γ and β are learned; the moving mean and variance are not.
            rows.append(LayerCount(f"{index}. BatchNormalization", width, 2 * width, 2 * width))
        else:
            rows.append(LayerCount(f"{index}. Dropout({layer.rate:g})", width, 0, 0))
    rows.append(LayerCount(f"Output Dense({output_units})", output_units, width * output_units + output_units, 0))
    return rows


def residual_projection_size(layer: DenseLayer, width_in: int) -> int:
    """The weights of a residual layer's skip projection ``P`` (``width_in × units``, no bias): 0 when the
    layer has no residual connection or its input is as wide as its output (the input is added as it is)."""
    return width_in * layer.units if layer.residual and width_in != layer.units else 0


def total_parameters(rows: list[LayerCount]) -> int:
    return sum(row.total for row in rows)
