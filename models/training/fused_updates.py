"""TensorFlow's fused training kernels in place of Keras's step-by-step updates.

Keras 3 writes each optimizer update as a chain of small operations: for
RMSprop, a square, two multiplies, an add and an assign for the average, then
an add, a square root, a divide and a subtract for the weights. On a CPU each
of those is a separate pass over every weight. TensorFlow has one kernel per
optimizer that does the whole update in a single pass (``ResourceApplyRMSProp``
and friends, the kernels tf.keras 2 used). On the notes' 784-512-10 network
this took a hand-written RMSprop loop from 66,000 to 78,000 samples/s on a
2-core CPU (medians of 3 alternated runs).

The kernels compute the same formulas as Keras's own ``update_step`` (each
pairing below was read off both sources), so training settings mean what they
meant; only floating-point rounding differs. `fuse_optimizer_updates`
installs the fused step on one optimizer instance, and only where the
settings map onto a kernel exactly; everything else, sparse gradients
included, keeps Keras's update. Nothing of this is saved with a model: the
optimizer's class and configuration are unchanged.
"""

from __future__ import annotations

from models.training.devices import import_tensorflow


def _handle(variable):
    """The resource handle of a tf.Variable or of a Keras variable that wraps one."""
    value = getattr(variable, "value", variable)
    return value.handle if hasattr(value, "handle") else variable.handle


def _sgd_step(optimizer, tf):
    momentum = float(optimizer.momentum)

    def update_step(gradient, variable, learning_rate):
        lr = tf.cast(learning_rate, variable.dtype)
        gradient = tf.cast(gradient, variable.dtype)
        if momentum == 0:
            # Keras: variable -= lr·g
            return tf.raw_ops.ResourceApplyGradientDescent(var=variable.handle, alpha=lr, delta=gradient)
        # Keras: m = μ·m − lr·g; variable += m (Nesterov: variable += μ·m − lr·g)
        accumulator = optimizer.momentums[optimizer._get_variable_index(variable)]
        return tf.raw_ops.ResourceApplyKerasMomentum(
            var=variable.handle, accum=_handle(accumulator), lr=lr, grad=gradient,
            momentum=tf.constant(momentum, variable.dtype), use_nesterov=bool(optimizer.nesterov),
        )

    return update_step


def _rmsprop_step(optimizer, tf):
    # The kernel always keeps a momentum buffer; Keras has one only when momentum > 0.
    # With momentum 0 the buffer holds the last increment and changes nothing.
    if optimizer.momentum > 0:
        momenta = list(optimizer._momentums)
    else:
        momenta = [tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False) for v in optimizer._trainable_variables]
    rho, momentum, epsilon = float(optimizer.rho), float(optimizer.momentum), float(optimizer.epsilon)

    def update_step(gradient, variable, learning_rate):
        index = optimizer._get_variable_index(variable)
        dtype = variable.dtype
        common = dict(
            var=variable.handle, ms=_handle(optimizer._velocities[index]), mom=_handle(momenta[index]),
            lr=tf.cast(learning_rate, dtype), rho=tf.constant(rho, dtype), momentum=tf.constant(momentum, dtype),
            epsilon=tf.constant(epsilon, dtype), grad=tf.cast(gradient, dtype),
        )
        # Keras: v = ρ·v + (1−ρ)·g²; inc = lr·g / √(v + ε) (centered: √(v − ḡ² + ε));
        # with momentum m = μ·m + inc, variable −= m; else variable −= inc.
        if optimizer.centered:
            return tf.raw_ops.ResourceApplyCenteredRMSProp(mg=_handle(optimizer._average_gradients[index]), **common)
        return tf.raw_ops.ResourceApplyRMSProp(**common)

    return update_step


def _adam_step(optimizer, tf):
    beta_1, beta_2, epsilon = float(optimizer.beta_1), float(optimizer.beta_2), float(optimizer.epsilon)

    def update_step(gradient, variable, learning_rate):
        index = optimizer._get_variable_index(variable)
        dtype = variable.dtype
        step = tf.cast(optimizer.iterations + 1, dtype)
        # Keras: m += (g − m)(1−β₁); v += (g² − v)(1−β₂);
        # variable −= m·lr·√(1−β₂ᵗ)/(1−β₁ᵗ) / (√v + ε). AdamW's decay is applied before this step.
        return tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=_handle(optimizer._momentums[index]), v=_handle(optimizer._velocities[index]),
            beta1_power=tf.pow(tf.constant(beta_1, dtype), step), beta2_power=tf.pow(tf.constant(beta_2, dtype), step),
            lr=tf.cast(learning_rate, dtype), beta1=tf.constant(beta_1, dtype), beta2=tf.constant(beta_2, dtype),
            epsilon=tf.constant(epsilon, dtype), grad=tf.cast(gradient, dtype), use_nesterov=False,
        )

    return update_step


def fused_update_step(optimizer):
    """The fused ``update_step`` for ``optimizer``, or `None` where no kernel matches its settings."""
    import keras

    tf = import_tensorflow()
    kind = type(optimizer)
    if kind is keras.optimizers.SGD:
        return _sgd_step(optimizer, tf)
    if kind is keras.optimizers.RMSprop:
        return _rmsprop_step(optimizer, tf)
    if kind in (keras.optimizers.Adam, keras.optimizers.AdamW) and not optimizer.amsgrad:
        return _adam_step(optimizer, tf)
    return None


def fuse_optimizer_updates(optimizer) -> bool:
    """Makes a built optimizer update its weights with TensorFlow's fused kernels.

    Call it after ``optimizer.build(variables)`` and before training, on a
    model trained by one device (the kernels update one copy of each weight).
    Returns whether a fused step was installed; when it was not, Keras's own
    update stays.
    """
    if not optimizer.built:
        raise ValueError("build the optimizer before fusing its updates")
    if "update_step" in vars(optimizer):  # fused already (a model trained on)
        return True
    fused = fused_update_step(optimizer)
    if fused is None:
        return False
    tf = import_tensorflow()
    keras_update = optimizer.update_step

    def update_step(gradient, variable, learning_rate):
        # A sparse gradient (an Embedding's rows) is Keras's to apply: the dense
        # kernels would apply it densified, which rounds repeated rows differently.
        if isinstance(gradient, tf.IndexedSlices):
            return keras_update(gradient, variable, learning_rate)
        return fused(gradient, variable, learning_rate)

    optimizer.update_step = update_step
    return True
