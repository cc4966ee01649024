"""The activation functions the network editor offers, with their derivatives, formulas and gradient notes.

Each `ActivationCurve` holds an activation as numpy functions of x (its value
and its derivative), the formula the way the notes write it, and one sentence
on what its slope does to the gradient flowing back through a layer. The
values match Keras's own activations and the derivatives TensorFlow's
autodiff, including its choice at the kink of ReLU-like functions (ReLU′(0) = 0,
LeakyReLU′(0) = α, ELU′(0) = 1). Softmax works on a whole vector, so it has its
own function, `softmax`. Nothing here imports Keras or Qt.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

DEFAULT_NEGATIVE_SLOPE = 0.2  # the editor's default slope for leaky_relu, as Keras's LeakyReLU
ELU_ALPHA = 1.0  # Keras's default for elu; the editor does not change it
# SELU's constants as tf.nn.selu uses them (Klambauer et al., 2017).
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

_erf = np.vectorize(math.erf, otypes=[np.float64])


def _as_array(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def linear(x) -> np.ndarray:
    """The identity: f(x) = x."""
    return _as_array(x).copy()


def linear_derivative(x) -> np.ndarray:
    """1 everywhere."""
    return np.ones_like(_as_array(x))


def relu(x) -> np.ndarray:
    """max(0, x)."""
    return np.maximum(_as_array(x), 0.0)


def relu_derivative(x) -> np.ndarray:
    """1 for x > 0, else 0 (0 at the kink, as TensorFlow)."""
    return (_as_array(x) > 0).astype(np.float64)


def leaky_relu(x, negative_slope: float = DEFAULT_NEGATIVE_SLOPE) -> np.ndarray:
    """x for x > 0, else ``negative_slope`` · x.

    Args:
        x: the inputs.
        negative_slope: the slope α below zero. Defaults to `0.2`.
    """
    x = _as_array(x)
    return np.where(x > 0, x, negative_slope * x)


def leaky_relu_derivative(x, negative_slope: float = DEFAULT_NEGATIVE_SLOPE) -> np.ndarray:
    """1 for x > 0, else ``negative_slope`` (α at the kink, as TensorFlow)."""
    return np.where(_as_array(x) > 0, 1.0, negative_slope)


def elu(x, alpha: float = ELU_ALPHA) -> np.ndarray:
    """x for x > 0, else α(eˣ − 1).

    Args:
        x: the inputs.
        alpha: the value ELU approaches for large negative x is −α. Defaults to `1.0`.
    """
    x = _as_array(x)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def elu_derivative(x, alpha: float = ELU_ALPHA) -> np.ndarray:
    """1 for x ≥ 0, else α·eˣ."""
    x = _as_array(x)
    return np.where(x < 0, alpha * np.exp(np.minimum(x, 0.0)), 1.0)


def selu(x) -> np.ndarray:
    """λ·x for x > 0, else λα(eˣ − 1), with Keras's λ ≈ 1.0507 and α ≈ 1.6733."""
    return SELU_SCALE * elu(x, SELU_ALPHA)


def selu_derivative(x) -> np.ndarray:
    """λ for x ≥ 0, else λα·eˣ."""
    return SELU_SCALE * elu_derivative(x, SELU_ALPHA)


def sigmoid(x) -> np.ndarray:
    """σ(x) = 1 / (1 + e⁻ˣ), computed without overflow for large |x|."""
    return np.exp(-np.logaddexp(0.0, -_as_array(x)))


def sigmoid_derivative(x) -> np.ndarray:
    """σ(x)(1 − σ(x)), at most 0.25 (at x = 0)."""
    s = sigmoid(x)
    return s * (1.0 - s)


def tanh(x) -> np.ndarray:
    """The hyperbolic tangent, (1 − e⁻²ˣ) / (1 + e⁻²ˣ)."""
    return np.tanh(_as_array(x))


def tanh_derivative(x) -> np.ndarray:
    """1 − tanh²(x), at most 1 (at x = 0)."""
    return 1.0 - np.tanh(_as_array(x)) ** 2


def swish(x) -> np.ndarray:
    """x · σ(x), also called SiLU."""
    x = _as_array(x)
    return x * sigmoid(x)


def swish_derivative(x) -> np.ndarray:
    """σ(x) + x·σ(x)(1 − σ(x))."""
    x = _as_array(x)
    s = sigmoid(x)
    return s + x * s * (1.0 - s)


def standard_normal_cdf(x) -> np.ndarray:
    """Φ(x), the chance that a standard normal value is below x: ½[1 + erf(x/√2)]."""
    return 0.5 * (1.0 + _erf(_as_array(x) / math.sqrt(2.0)))


def standard_normal_pdf(x) -> np.ndarray:
    """φ(x) = e^(−x²/2) / √(2π), the slope of Φ."""
    x = _as_array(x)
    return np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def gelu(x) -> np.ndarray:
    """x · Φ(x), the exact form (``keras.activations.gelu``'s default, ``approximate=False``)."""
    x = _as_array(x)
    return x * standard_normal_cdf(x)


def gelu_derivative(x) -> np.ndarray:
    """Φ(x) + x·φ(x)."""
    x = _as_array(x)
    return standard_normal_cdf(x) + x * standard_normal_pdf(x)


def softmax(z) -> np.ndarray:
    """exp(zᵢ) / Σⱼ exp(zⱼ) along the last axis: shares that are positive and add up to 1.

    Args:
        z: a vector of scores (logits), or a batch of them in the rows.

    Returns:
        An array of the same shape; subtracting the largest score first keeps
        large scores from overflowing and does not change the result.
    """
    z = _as_array(z)
    exponentials = np.exp(z - z.max(axis=-1, keepdims=True))
    return exponentials / exponentials.sum(axis=-1, keepdims=True)


SOFTMAX_FORMULA = "softmax(z)ᵢ = exp(zᵢ) / Σⱼ exp(zⱼ)"


@dataclass(frozen=True)
class ActivationCurve:
    """One activation as the explorer draws it.

    Attributes:
        name: the Keras name, as the editor lists it (``"leaky_relu"``).
        display_name: how the notes name it (``"Leaky ReLU"``).
        function: its value as a numpy function of x.
        derivative: its slope as a numpy function of x.
        formula_template: the formula as the notes write it; ``{alpha}`` stands for leaky ReLU's slope.
        derivative_formula_template: the derivative's formula, likewise.
        gradient_note: one sentence (English) on what the slope does to gradients.
        takes_negative_slope: whether `function` and `derivative` take the leaky slope.
    """

    name: str
    display_name: str
    function: Callable[..., np.ndarray]
    derivative: Callable[..., np.ndarray]
    formula_template: str
    derivative_formula_template: str
    gradient_note: str
    takes_negative_slope: bool = False

    def values(self, x, negative_slope: float = DEFAULT_NEGATIVE_SLOPE) -> np.ndarray:
        """f(x); ``negative_slope`` counts for leaky ReLU only."""
        return self.function(x, negative_slope) if self.takes_negative_slope else self.function(x)

    def slopes(self, x, negative_slope: float = DEFAULT_NEGATIVE_SLOPE) -> np.ndarray:
        """f′(x); ``negative_slope`` counts for leaky ReLU only."""
        return self.derivative(x, negative_slope) if self.takes_negative_slope else self.derivative(x)

    def formula(self, negative_slope: float = DEFAULT_NEGATIVE_SLOPE) -> str:
        """The formula, with leaky ReLU's α filled in."""
        return self.formula_template.format(alpha=f"{negative_slope:g}")

    def derivative_formula(self, negative_slope: float = DEFAULT_NEGATIVE_SLOPE) -> str:
        """The derivative's formula, with leaky ReLU's α filled in."""
        return self.derivative_formula_template.format(alpha=f"{negative_slope:g}")


_CURVES = (
    ActivationCurve(
        "linear", "Linear", linear, linear_derivative,
        "f(x) = x", "f′(x) = 1",
        "The slope is 1 everywhere, so gradients pass unchanged, but a stack of linear layers is still one "
        "linear map.",
    ),
    ActivationCurve(
        "relu", "ReLU", relu, relu_derivative,
        "ReLU(x) = max(0, x)", "ReLU′(x) = 1 (x > 0),  0 (x < 0)",
        "The slope is 1 for positive inputs, so gradients do not shrink, but it is 0 for negative ones: a unit "
        "whose input is always negative gets no gradient and dies.",
    ),
    ActivationCurve(
        "leaky_relu", "Leaky ReLU", leaky_relu, leaky_relu_derivative,
        "LeakyReLU(x) = max(αx, x),  α = {alpha}", "LeakyReLU′(x) = 1 (x > 0),  α (x < 0)",
        "Below zero the slope is α instead of 0, so a unit whose input is negative still gets a gradient and "
        "keeps learning.",
        takes_negative_slope=True,
    ),
    ActivationCurve(
        "elu", "ELU", elu, elu_derivative,
        "ELU(x) = x (x > 0),  α(eˣ − 1) (x ≤ 0),  α = 1", "ELU′(x) = 1 (x > 0),  αeˣ (x ≤ 0)",
        "Below zero the slope αeˣ fades smoothly instead of dropping to 0, and the outputs average nearer 0 "
        "than ReLU's.",
    ),
    ActivationCurve(
        "selu", "SELU", selu, selu_derivative,
        "SELU(x) = λx (x > 0),  λα(eˣ − 1) (x ≤ 0),  λ ≈ 1.0507,  α ≈ 1.6733",
        "SELU′(x) = λ (x > 0),  λαeˣ (x ≤ 0)",
        "The constants are chosen so that, with lecun_normal weights, each layer's outputs keep mean 0 and "
        "variance 1, which keeps gradients steady through many layers.",
    ),
    ActivationCurve(
        "sigmoid", "Sigmoid", sigmoid, sigmoid_derivative,
        "σ(x) = 1 / (1 + e⁻ˣ)", "σ′(x) = σ(x)(1 − σ(x))",
        "The slope is at most 0.25 (at x = 0) and nearly 0 once |x| > 5 (saturation), so each sigmoid layer "
        "shrinks the gradient and deep stacks of them make it vanish.",
    ),
    ActivationCurve(
        "tanh", "tanh", tanh, tanh_derivative,
        "tanh(x) = (1 − e⁻²ˣ) / (1 + e⁻²ˣ)", "tanh′(x) = 1 − tanh²(x)",
        "The slope is at most 1 (at x = 0), four times sigmoid's, and the outputs are centred on 0, but it "
        "saturates once |x| > 3, where little gradient passes.",
    ),
    ActivationCurve(
        "swish", "Swish (SiLU)", swish, swish_derivative,
        "swish(x) = x · σ(x)", "swish′(x) = σ(x) + x · σ(x)(1 − σ(x))",
        "A smooth ReLU: the slope goes from 0 to a little over 1 without a jump, and slightly negative inputs "
        "still pass some gradient.",
    ),
    ActivationCurve(
        "gelu", "GELU", gelu, gelu_derivative,
        "GELU(x) = x · Φ(x) = x · ½[1 + erf(x / √2)]", "GELU′(x) = Φ(x) + x · φ(x)",
        "Like swish, a smooth ReLU: x is weighted by Φ(x), the chance a standard normal value lies below it, so "
        "the slope changes gradually around 0.",
    ),
)

# Every activation the editor offers except softmax, in the editor's order.
ACTIVATION_CURVES: dict[str, ActivationCurve] = {curve.name: curve for curve in _CURVES}


def activation_curve(name: str) -> ActivationCurve:
    """The curve of the activation with Keras name ``name``; softmax has none (see `softmax`)."""
    try:
        return ACTIVATION_CURVES[name]
    except KeyError:
        raise ValueError(f"no curve for activation {name!r}: use one of {', '.join(ACTIVATION_CURVES)}") from None
