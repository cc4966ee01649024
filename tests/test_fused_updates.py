"""The fused optimizer kernels compute what Keras's own updates compute."""

import numpy as np
import pytest

from models.training.devices import import_tensorflow
from models.training.fused_updates import fuse_optimizer_updates

tf = import_tensorflow()
import keras  # noqa: E402  (after TensorFlow, as the program imports it)

FUSED = {
    "sgd": lambda: keras.optimizers.SGD(0.1),
    "sgd with momentum": lambda: keras.optimizers.SGD(0.1, momentum=0.9),
    "sgd with Nesterov momentum": lambda: keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
    "rmsprop": lambda: keras.optimizers.RMSprop(0.01),
    "rmsprop with momentum": lambda: keras.optimizers.RMSprop(0.01, momentum=0.5, epsilon=1e-3),
    "centered rmsprop": lambda: keras.optimizers.RMSprop(0.01, centered=True, momentum=0.3, rho=0.8),
    "adam": lambda: keras.optimizers.Adam(0.01, beta_1=0.8, beta_2=0.99),
    "adamw": lambda: keras.optimizers.AdamW(0.01, weight_decay=0.1),
    "adam with clipping and a schedule": lambda: keras.optimizers.Adam(
        keras.optimizers.schedules.ExponentialDecay(0.05, decay_steps=2, decay_rate=0.5), global_clipnorm=0.5),
}
NOT_FUSED = {
    "amsgrad": lambda: keras.optimizers.Adam(0.01, amsgrad=True),
    "adagrad": lambda: keras.optimizers.Adagrad(0.01),
    "nadam": lambda: keras.optimizers.Nadam(0.01),
}


def weights_after_updates(make_optimizer, fuse: bool):
    """Weights after three eager updates and three inside a compiled function."""
    rng = np.random.default_rng(0)
    gradients = [[rng.normal(size=(3, 4)).astype("float32"), rng.normal(size=4).astype("float32")] for _ in range(6)]
    variables = [keras.Variable(np.ones((3, 4), "float32")), keras.Variable(np.full(4, 0.5, "float32"))]
    optimizer = make_optimizer()
    optimizer.build(variables)
    installed = fuse_optimizer_updates(optimizer) if fuse else None

    @tf.function
    def compiled_apply(grads):
        optimizer.apply(grads, variables)

    for grads in gradients[:3]:
        optimizer.apply([tf.constant(g) for g in grads], variables)
    for grads in gradients[3:]:
        compiled_apply([tf.constant(g) for g in grads])
    graph = compiled_apply.get_concrete_function([tf.constant(g) for g in gradients[0]]).graph
    kernels = {op.type for op in graph.get_operations() if op.type.startswith("ResourceApply")}
    return [v.numpy() for v in variables], installed, kernels


@pytest.mark.parametrize("name", list(FUSED))
def test_fused_update_matches_keras(name):
    expected, _, keras_kernels = weights_after_updates(FUSED[name], fuse=False)
    fused, installed, fused_kernels = weights_after_updates(FUSED[name], fuse=True)
    assert installed is True
    assert not keras_kernels and len(fused_kernels) == 1  # one fused kernel does each update
    for want, got in zip(expected, fused):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert not np.allclose(expected[0], 1.0)  # the weights did move


@pytest.mark.parametrize("name", list(NOT_FUSED))
def test_settings_without_a_matching_kernel_keep_keras_update(name):
    expected, _, _ = weights_after_updates(NOT_FUSED[name], fuse=False)
    kept, installed, kernels = weights_after_updates(NOT_FUSED[name], fuse=True)
    assert installed is False and not kernels
    for want, got in zip(expected, kept):
        np.testing.assert_array_equal(got, want)


def test_an_unbuilt_optimizer_is_refused():
    with pytest.raises(ValueError, match="build the optimizer"):
        fuse_optimizer_updates(keras.optimizers.RMSprop())


def test_a_sparse_gradient_keeps_keras_update():
    def updated(fuse):
        variable = keras.Variable(np.ones((5, 3), "float32"))
        optimizer = keras.optimizers.RMSprop(0.1)
        optimizer.build([variable])
        if fuse:
            fuse_optimizer_updates(optimizer)
        rows = tf.IndexedSlices(tf.constant([[1.0, 2, 3], [4, 5, 6]]), tf.constant([1, 1]), tf.constant([5, 3]))
        optimizer.apply([rows], [variable])
        return variable.numpy()

    np.testing.assert_array_equal(updated(fuse=True), updated(fuse=False))
