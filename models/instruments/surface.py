"""The loss surface of a linear regression, y = Xw + b, over its two weights.

For a network with no hidden layer on a regression with two inputs, the
model is the linear regression of the notes, and its mean squared error
over (w₁, w₂) is a quadratic bowl that can be drawn exactly. This module
works it out in the data's own (raw) units: the least-squares solution the
bowl's bottom sits at, the loss on a grid and its contour lines, and the
conversion of the model's weights (which live behind the model's
standardising layers, see `models.network.build`) into raw w and b, so an
optimizer's path can be drawn on the same axes. Only numpy; no Keras, no Qt.
"""

from __future__ import annotations

import numpy as np

from datasets.base import REGRESSION
from models.network.spec import BatchNormLayer, DenseLayer

SURFACE_INPUTS = 2
LINEAR_OUTPUTS = ("auto", "linear")
SQUARED_ERROR_LOSSES = ("auto", "mse")


def surface_applies(project, dataset) -> bool:
    """Whether the project's model is the linear regression y = Xw + b with two weights to draw.

    That needs a regression with exactly two inputs, a network with no hidden
    Dense layer and no batch normalisation (which would put its own scale and
    shift between x and the output), a linear output (`"auto"` is linear for
    a regression) and the mean squared error (`"auto"` is MSE for a
    regression), the loss the surface shows. Dropout may stay: it changes
    the steps while training, not the model the surface describes.

    Args:
        project: a `models.network.spec.Project`.
        dataset: a `datasets.base.Dataset`, or `None` when none is loaded.
    """
    if dataset is None or dataset.task != REGRESSION or dataset.n_features != SURFACE_INPUTS:
        return False
    if any(isinstance(layer, (DenseLayer, BatchNormLayer)) for layer in project.layers):
        return False
    return project.output.activation in LINEAR_OUTPUTS and project.output.loss in SQUARED_ERROR_LOSSES


def closed_form(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """The least-squares weights and bias: the bottom of the loss surface.

    The normal equations give w = (XᵀX)⁻¹Xᵀy for X with a column of ones
    appended for the bias (Dive into Deep Learning, 3.1.1.2, "Analytic
    Solution"). They are solved here with `np.linalg.lstsq`, which gives the
    same answer without forming the inverse, and a minimum-norm one when the
    columns are collinear and the inverse does not exist.

    Args:
        x: inputs, one row per sample (raw units).
        y: targets, shape ``(n,)`` or ``(n, 1)``.

    Returns:
        ``(w, b)``: the weights, shape ``(features,)``, and the bias.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(len(x))
    design = np.column_stack([x, np.ones(len(x))])
    solution, *_ = np.linalg.lstsq(design, y, rcond=None)
    return solution[:-1], float(solution[-1])


def raw_linear_weights(kernel, bias, input_scale=None, target_scale=None) -> tuple[np.ndarray, np.ndarray]:
    """The weights and bias in the data's own units, from the output layer's kernel and bias.

    The model computes x' = (x − m)/s (its `standardize` layer, when
    ``input_scale`` is given), z = x'·k + c (the output layer), then
    y = z·sd + μ (its `target_scale` layer, when ``target_scale`` is given).
    Multiplying out gives y = x·w + b with

        w = k·sd/s (per input),    b = c·sd + μ − Σ w·m.

    Args:
        kernel: the kernel as a vector, shape ``(inputs,)``, or many of them,
            shape ``(steps, inputs)`` (the rows of an `InstrumentReading.path`).
        bias: the bias: a number, or shape ``(steps,)`` for many kernels.
        input_scale: the data set's per-input ``(mean, std)``, or `None` when
            the model takes the inputs as they are. Defaults to `None`.
        target_scale: the data set's target ``(mean, sd)``, or `None` when
            the model's output is the target itself. Defaults to `None`.

    Returns:
        ``(w, b)`` shaped like ``kernel`` and ``bias``, in float64.
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    bias = np.asarray(bias, dtype=np.float64)
    mean_x, std_x = (0.0, 1.0) if input_scale is None else (np.asarray(input_scale[0], np.float64),
                                                             np.asarray(input_scale[1], np.float64))
    mean_y, sd_y = (0.0, 1.0) if target_scale is None else (float(target_scale[0]), float(target_scale[1]))
    w = kernel * sd_y / std_x
    b = bias * sd_y + mean_y - np.sum(w * mean_x, axis=-1)
    return w, b


def split_path(path: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The kernels and biases of an `InstrumentReading.path`: each row is the kernel's entries, then the bias."""
    path = np.asarray(path, dtype=np.float64)
    return path[:, :-1], path[:, -1]


class QuadraticLoss:
    """The mean squared error of y ≈ x·w + b with the bias at its best, as an exact quadratic in w.

    For any w the best bias is b = ȳ − x̄·w, and with centred data
    X̃ = X − x̄, ỹ = y − ȳ the loss that leaves is

        L(w) = ỹ·ỹ/n − 2 w·(X̃ᵀỹ/n) + wᵀ (X̃ᵀX̃/n) w
             = L* + (w − w*)ᵀ C (w − w*),    C = X̃ᵀX̃/n,

    where w* is the least-squares solution and L* the smallest loss (the
    noise left over). Computing it so costs three numbers per grid point,
    whatever the number of rows.

    Args:
        x: inputs, one row per sample (raw units).
        y: targets.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray):
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64).reshape(len(x))
        centred_x = x - x.mean(axis=0)
        centred_y = y - y.mean()
        self.covariance = centred_x.T @ centred_x / len(x)
        self.cross = centred_x.T @ centred_y / len(x)
        self.variance = float(centred_y @ centred_y / len(x))
        self.w, self.b = closed_form(x, y)
        self.minimum = max(0.0, float(self(self.w[None, :])[0]))

    def __call__(self, w: np.ndarray) -> np.ndarray:
        """The loss at each row of ``w`` (shape ``(..., inputs)``) with its best bias."""
        w = np.asarray(w, dtype=np.float64)
        quadratic = np.einsum("...i,ij,...j->...", w, self.covariance, w)
        return np.maximum(self.variance - 2.0 * (w @ self.cross) + quadratic, 0.0)

    def grid(self, w1_values, w2_values) -> np.ndarray:
        """The loss at every (w₁, w₂) of a grid, ``[i, j]`` at ``(w1_values[i], w2_values[j])``."""
        w1, w2 = np.meshgrid(np.asarray(w1_values, np.float64), np.asarray(w2_values, np.float64), indexing="ij")
        return self(np.stack([w1, w2], axis=-1))

    def contour(self, level: float, points: int = 120) -> np.ndarray | None:
        """The closed curve where the loss equals ``level``: an ellipse around w*, shape ``(points, 2)``.

        From L(w) = L* + (w − w*)ᵀC(w − w*): with C = VΛVᵀ the curve is
        w = w* + √(level − L*)·V Λ^(−1/2) (cos t, sin t). `None` when ``level``
        is not above L*, or when C is singular (two inputs that move
        together, whose level sets are parallel lines, not ellipses).
        """
        excess = level - self.minimum
        eigenvalues, vectors = np.linalg.eigh(self.covariance)
        if not excess > 0 or not eigenvalues[0] > 1e-12 * max(eigenvalues[-1], 1e-300):
            return None
        angles = np.linspace(0.0, 2.0 * np.pi, points)
        circle = np.column_stack([np.cos(angles), np.sin(angles)])
        return self.w + np.sqrt(excess) * (circle / np.sqrt(eigenvalues)) @ vectors.T


def loss_grid(x: np.ndarray, y: np.ndarray, w1_values, w2_values) -> np.ndarray:
    """The mean squared error over a grid of (w₁, w₂), each with its best bias.

    Args:
        x: inputs with two columns (raw units).
        y: targets.
        w1_values: the w₁ of each grid column.
        w2_values: the w₂ of each grid row.

    Returns:
        ``loss[i, j]`` at ``(w1_values[i], w2_values[j])``: w₁ along the first
        axis, as pyqtgraph's `ImageItem` takes x. See `QuadraticLoss`.
    """
    return QuadraticLoss(x, y).grid(w1_values, w2_values)


def surface_extent(points, margin: float = 0.15) -> tuple[tuple[float, float], tuple[float, float]]:
    """A (w₁, w₂) range that holds every point with a margin, for the grid and the plot.

    Args:
        points: (w₁, w₂) pairs, shape ``(k, 2)``: the closed-form solution,
            the starting point and the path so far. Non-finite ones are left out.
        margin: the share of the larger side added on every side. Defaults to `0.15`.

    Returns:
        ``((w1_low, w1_high), (w2_low, w2_high))``. Both sides are at least
        a fifth of the largest |w| (or 1 when every point is 0), so a few
        close points still show the bowl around them.
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    points = points[np.all(np.isfinite(points), axis=1)]
    if len(points) == 0:
        points = np.zeros((1, 2))
    low, high = points.min(axis=0), points.max(axis=0)
    reach = float(np.abs(points).max())
    least = 0.2 * reach if reach > 0 else 1.0
    side = np.maximum(high - low, least)
    pad = margin * side.max()
    centre = (low + high) / 2.0
    half = side / 2.0 + pad
    return (float(centre[0] - half[0]), float(centre[0] + half[0])), (float(centre[1] - half[1]),
                                                                      float(centre[1] + half[1]))
