"""The activation curves agree with Keras's activations and with TensorFlow's autodiff."""

import numpy as np
import pytest

from models.instruments import activations
from models.instruments.activations import ACTIVATION_CURVES, activation_curve, softmax
from models.network.spec import ACTIVATIONS

# A grid through the explorer's range and past it, with the kink at 0 and points either side of it.
X = np.concatenate([np.linspace(-8.0, 8.0, 321), [-1e-3, 0.0, 1e-3, -30.0, 30.0]])
SLOPES = (0.0, 0.01, 0.2, 0.5, 1.0)


def _keras_activation(name: str, negative_slope: float):
    """Keras's own activation, as a model built by the app applies it."""
    import keras

    if name == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=negative_slope, dtype="float64")
    return keras.activations.get(name)


def _keras_values_and_gradient(name: str, x: np.ndarray, negative_slope: float = 0.2):
    """Keras's f(x) and TensorFlow's df/dx at every x (each output depends on its own x only)."""
    import tensorflow as tf

    inputs = tf.constant(x, dtype=tf.float64)
    function = _keras_activation(name, negative_slope)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = function(inputs)
    return np.asarray(outputs), np.asarray(tape.gradient(outputs, inputs))


def test_every_activation_the_editor_offers_has_a_curve_in_its_order():
    assert list(ACTIVATION_CURVES) == [name for name in ACTIVATIONS if name != "softmax"]
    with pytest.raises(ValueError, match="softmax"):
        activation_curve("softmax")


@pytest.mark.parametrize("name", list(ACTIVATION_CURVES))
def test_values_match_keras(name):
    expected, _ = _keras_values_and_gradient(name, X)
    np.testing.assert_allclose(activation_curve(name).values(X), expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", list(ACTIVATION_CURVES))
def test_derivatives_match_tensorflow_autodiff(name):
    _, expected = _keras_values_and_gradient(name, X)
    np.testing.assert_allclose(activation_curve(name).slopes(X), expected, rtol=0, atol=1e-4)


@pytest.mark.parametrize("negative_slope", SLOPES)
def test_leaky_relu_follows_its_slope(negative_slope):
    values, gradient = _keras_values_and_gradient("leaky_relu", X, negative_slope)
    curve = activation_curve("leaky_relu")
    np.testing.assert_allclose(curve.values(X, negative_slope), values, rtol=0, atol=1e-5)
    np.testing.assert_allclose(curve.slopes(X, negative_slope), gradient, rtol=0, atol=1e-4)
    assert f"α = {negative_slope:g}" in curve.formula(negative_slope)


def test_gelu_is_the_exact_form_keras_uses_not_the_tanh_approximation():
    import keras

    approximate = np.asarray(keras.activations.gelu(X, approximate=True))
    # The two forms differ by more than the tolerance, so the value test tells them apart.
    assert np.abs(activations.gelu(X) - approximate).max() > 1e-4


def test_the_derivative_checks_can_fail():
    """A wrong derivative (sigmoid's slope taken as σ(x) itself) is caught by the same comparison."""
    _, expected = _keras_values_and_gradient("sigmoid", X)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(activations.sigmoid(X), expected, rtol=0, atol=1e-4)


def test_derivatives_agree_with_finite_differences_away_from_kinks():
    x = np.linspace(-6.0, 6.0, 241) + 0.0125  # never exactly on a kink
    step = 1e-5
    for curve in ACTIVATION_CURVES.values():
        numeric = (curve.values(x + step) - curve.values(x - step)) / (2 * step)
        np.testing.assert_allclose(curve.slopes(x), numeric, rtol=0, atol=1e-5, err_msg=curve.name)


def test_sigmoid_slope_is_at_most_a_quarter_and_tanh_slope_at_most_one():
    assert activations.sigmoid_derivative(X).max() == pytest.approx(0.25)
    assert activations.tanh_derivative(X).max() == pytest.approx(1.0)
    assert activations.sigmoid(np.array([-1000.0, 1000.0])).tolist() == [0.0, 1.0]  # no overflow


def test_every_curve_has_a_formula_and_a_gradient_note():
    for curve in ACTIVATION_CURVES.values():
        assert "=" in curve.formula() and "′" in curve.derivative_formula(), curve.name
        assert curve.gradient_note.endswith("."), curve.name
    assert activation_curve("relu").formula() == "ReLU(x) = max(0, x)"
    assert activation_curve("sigmoid").formula() == "σ(x) = 1 / (1 + e⁻ˣ)"


@pytest.mark.parametrize("z", [[1.0, 2.0, 3.0], [-5.0, 0.0, 5.0], [0.0, 0.0, 0.0], [1000.0, 999.0, -1000.0]])
def test_softmax_sums_to_one_and_matches_keras(z):
    import keras

    shares = softmax(z)
    assert shares.sum() == pytest.approx(1.0)
    assert np.all(shares >= 0)
    expected = np.asarray(keras.activations.softmax(np.asarray([z], dtype=np.float64)))[0]
    np.testing.assert_allclose(shares, expected, rtol=0, atol=1e-6)


def test_softmax_does_not_change_when_every_score_moves_by_the_same_amount():
    z = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(softmax(z + 7.0), softmax(z), atol=1e-12)
    np.testing.assert_allclose(softmax(np.stack([z, z + 1])), [softmax(z), softmax(z)], atol=1e-12)
