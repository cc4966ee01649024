"""The instruments: per-layer readings of a Keras model while it trains, taken by one callback.

On a fixed probe batch (a few hundred training rows drawn once per run) the
`LayerProbe` measures every Dense layer: its kernel, the loss gradient with
respect to that kernel, its outputs (dead ReLU units, saturated sigmoid and
tanh units), and after a BatchNormalization the normalised outputs. The
`InstrumentsCallback` takes a reading before training, after each epoch and,
inside long epochs, every `interval` seconds, but never so often that
reading costs more than `budget` of the time spent training.

Readings are plain numpy data (`models.instruments.readings`); the listener
gets each one as it is taken.
"""

from __future__ import annotations

import math
import time
import weakref
from dataclasses import replace

import numpy as np

from models.instruments.readings import (
    DEAD_ACTIVATIONS,
    NEAR_ZERO,
    SATURATING_ACTIVATIONS,
    SATURATION_THRESHOLD,
    Histogram,
    InstrumentReading,
    LayerReading,
    fixed_edges,
)

PROBE_ROWS = 256
# Reading takes at most this share of the time between readings (measured cost of the last one):
# after an epoch, and (less, since an epoch's end brings one anyway) inside an epoch. On the notes'
# 784-512-10 network a reading costs about 20 ms: taken every 0.25 s they cost 6 % of training
# (measured), so there they come after every epoch of 0.8 s or more and inside an epoch every 2 s;
# the first reading's one-off tracing (about 140 ms) comes on top. A network of 3×64 units reads
# in about 4 ms: after every epoch of 0.16 s or more.
READING_BUDGET = 0.025
INSIDE_EPOCH_BUDGET = 0.01
# Inside a long epoch, a reading at most this often (seconds): a human rate.
READING_INTERVAL = 0.25


def draw_probe_rows(rows: int, seed: int, size: int = PROBE_ROWS) -> np.ndarray:
    """Which training rows make the probe batch: ``size`` of them (all when fewer), the same for a seed."""
    if rows <= size:
        return np.arange(rows)
    return np.sort(np.random.default_rng(seed).choice(rows, size=size, replace=False))


class _DenseStep:
    """What one Dense layer computed on a batch: pre-activation, output, and a following BatchNormalization's output."""

    def __init__(self, layer, activation: str, pre_activation):
        self.layer, self.activation, self.pre_activation = layer, activation, pre_activation
        self.output = None
        self.batch_norm_output = None


def _activation_name(layer) -> str:
    name = getattr(layer.activation, "__name__", "linear")
    return {"silu": "swish"}.get(name, name)


def dense_activation_names(model) -> list[str]:
    """Each Dense layer's activation, input side first; a LeakyReLU layer after one names it ``leaky_relu``."""
    import keras

    from models.network.build import is_network_dense

    names: list[str] = []
    for layer in model.layers:
        if is_network_dense(layer):
            names.append(_activation_name(layer))
        elif isinstance(layer, keras.layers.LeakyReLU) and names:
            names[-1] = "leaky_relu"
    return names


def walk_layers(model, x, batch_statistics: bool):
    """Runs ``x`` through ``model`` layer by layer, keeping each Dense layer's pre-activation and output.

    Dropout is skipped (the probe sees the network as it predicts). A
    BatchNormalization layer normalises with the batch's own mean and
    variance when ``batch_statistics`` is true, as it does while training,
    without updating its moving averages; else with its moving averages.

    Returns:
        ``(final output, [_DenseStep, ...])``.
    """
    import keras
    import tensorflow as tf

    from models.network.build import RESIDUAL_ADD, RESIDUAL_PROJECTION

    h = tf.convert_to_tensor(x)
    steps: list[_DenseStep] = []
    block_inputs = {}  # a residual Dense layer's number → its input, added back at its Add
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer) or layer.name.startswith(RESIDUAL_PROJECTION):
            continue  # a projection is applied at its Add, to the block's input
        if layer.name.startswith(RESIDUAL_ADD):
            number = layer.name[len(RESIDUAL_ADD):]
            skip = block_inputs[number]
            projected = [other for other in model.layers if other.name == f"{RESIDUAL_PROJECTION}{number}"]
            h = h + (tf.matmul(skip, projected[0].kernel) if projected else skip)
        elif isinstance(layer, keras.layers.Dense):
            block_inputs[layer.name.removeprefix("dense_")] = h
            z = tf.matmul(h, layer.kernel)
            if layer.use_bias:
                z = z + layer.bias
            step = _DenseStep(layer, _activation_name(layer), z)
            h = step.output = layer.activation(z)
            steps.append(step)
        elif isinstance(layer, keras.layers.LeakyReLU):
            h = layer(h)
            if steps:
                steps[-1].output, steps[-1].activation = h, "leaky_relu"
        elif isinstance(layer, keras.layers.Dropout):
            continue
        elif isinstance(layer, keras.layers.BatchNormalization) and batch_statistics:
            mean, variance = tf.nn.moments(h, axes=[0])
            h = (h - mean) * tf.math.rsqrt(variance + layer.epsilon)
            if layer.scale:
                h = h * layer.gamma
            if layer.center:
                h = h + layer.beta
            if steps:
                steps[-1].batch_norm_output = h
        else:
            h = layer(h, training=False)
    return h, steps


def unit_outputs(model, x: np.ndarray) -> list[np.ndarray]:
    """Every Dense layer's output (after its activation) for the points ``x``, in one batched pass.

    What the Neurons view draws over the input plane: one array per Dense
    layer, input side first, each ``(len(x), units)``.
    """
    _, steps = walk_layers(model, np.asarray(x, dtype=np.float32), batch_statistics=False)
    return [np.asarray(step.output) for step in steps]


class LayerProbe:
    """Measures a model's Dense layers on one fixed batch.

    Args:
        model: a compiled Keras model (see `models.network.build`).
        x: the probe rows, as the model takes them.
        y: their targets, encoded for the model's loss.
    """

    def __init__(self, model, x: np.ndarray, y: np.ndarray):
        import tensorflow as tf

        self.model = model
        self.x = tf.constant(np.asarray(x, dtype=np.float32))
        self.y = tf.constant(y)
        self.activations = dense_activation_names(model)
        self.names = [layer.name for layer in self.dense_layers()]
        self._edges: dict[tuple[int, str], np.ndarray] = {}
        self._previous: dict[int, tuple[np.ndarray, int]] = {}
        self._per_step: dict[int, float] = {}
        self._measure = None

    def dense_layers(self) -> list:

        from models.network.build import is_network_dense

        return [layer for layer in self.model.layers if is_network_dense(layer)]

    def read(self, epoch: float, step: int) -> InstrumentReading:
        """Every Dense layer's reading now, at ``epoch`` epochs and ``step`` steps done."""
        measure = self._measure
        if measure is None:
            self._measure = traced_measure(self.model, self.x, self.y)
            # The first reading of a model not read before runs eagerly (about 15 ms on a 3×64 network)
            # instead of tracing first (about 0.2 s): it comes before training, so tracing there
            # delayed the first epoch's report. The next reading traces the function.
            traced = self._measure.experimental_get_tracing_count() > 0
            measure = self._measure if traced else self._measure.python_function
        measured = {key: [None if value is None else np.asarray(value) for value in values] if isinstance(values, list)
                    else np.asarray(values) for key, values in measure(self.x, self.y).items()}
        layers = [self._layer_reading(index, measured, epoch, step) for index in range(len(measured["kernels"]))]
        return InstrumentReading(epoch=epoch, step=step, layers=layers, loss=float(measured["loss"]))

    def _edges_for(self, index: int, kind: str, values: np.ndarray, activation: str | None = None) -> np.ndarray:
        key = (index, kind)
        if key not in self._edges:
            self._edges[key] = fixed_edges(values, activation, symmetric=kind != "outputs")
        return self._edges[key]

    def _layer_reading(self, index: int, measured: dict, epoch: float, step: int) -> LayerReading:
        kernel, bias = measured["kernels"][index], measured["biases"][index]
        gradient = measured["gradients"][index]
        grad = np.zeros_like(kernel) if gradient is None else gradient
        outputs, pre_activation = measured["outputs"][index], measured["pre_activations"][index]
        batch_norm = measured["batch_norm_outputs"][index]
        weight_norm = float(np.linalg.norm(kernel))
        update_ratio, per_step = self._update_ratio(index, kernel, weight_norm, step)
        activation = self.activations[index]
        is_output = index == len(measured["kernels"]) - 1
        return LayerReading(
            epoch=epoch, step=step, layer=index, name=self.names[index], activation=activation,
            weight_norm=weight_norm, weight_mean=float(kernel.mean()), weight_std=float(kernel.std()),
            near_zero_fraction=float(np.mean(np.abs(kernel) < NEAR_ZERO)),
            gradient_norm=float(np.linalg.norm(grad)),
            update_ratio=update_ratio, update_ratio_per_step=per_step,
            dead_fraction=float(np.mean(outputs.max(axis=0) <= 0)) if activation in DEAD_ACTIVATIONS else None,
            saturated_fraction=(
                float(np.mean(np.mean(np.abs(pre_activation) > SATURATION_THRESHOLD, axis=0) > 0.5))
                # Not the output: a confident sigmoid output is right, and with cross-entropy its
                # gradient p − y does not fade as it saturates.
                if activation in SATURATING_ACTIVATIONS and not is_output else None),
            output_mean=float(outputs.mean()), output_std=float(outputs.std()),
            batch_norm_mean=None if batch_norm is None else float(batch_norm.mean()),
            batch_norm_std=None if batch_norm is None else float(batch_norm.std()),
            weights=Histogram.of(kernel, self._edges_for(index, "weights", kernel)),
            gradients=Histogram.of(grad, self._edges_for(index, "gradients", grad)),
            outputs=Histogram.of(outputs, self._edges_for(index, "outputs", outputs, activation)),
            kernel=kernel, bias=bias,
        )

    def _update_ratio(self, index: int, kernel: np.ndarray, norm: float, step: int):
        """‖W − W_before‖ / ‖W‖ since this layer's previous reading, and the same per step.

        The per-step figure is the one `measure_step` took just after the
        previous reading, over as few steps as one call into TensorFlow
        holds; without it, the change since the previous reading divided by
        the steps between (which understates it: noisy steps partly cancel).
        """
        previous = self._previous.get(index)
        self._previous[index] = (kernel, step)
        measured = self._per_step.pop(index, None)
        if previous is None or norm == 0 or not math.isfinite(norm):
            return None, None
        before, before_step = previous
        ratio = float(np.linalg.norm(kernel - before)) / norm
        steps = step - before_step
        return ratio, measured if measured is not None else (ratio / steps if steps > 0 else None)

    def measure_step(self, step: int) -> None:
        """Measures ‖ΔW‖ / ‖W‖ per step over the steps since the last reading: call it at the end of the
        first call into TensorFlow after a reading, so that the next reading reports a near one-step figure."""
        for index, layer in enumerate(self.dense_layers()):
            previous = self._previous.get(index)
            if previous is None or step <= previous[1]:
                continue
            kernel = np.asarray(layer.kernel)
            norm = float(np.linalg.norm(kernel))
            if norm > 0 and math.isfinite(norm):
                self._per_step[index] = float(np.linalg.norm(kernel - previous[0])) / norm / (step - previous[1])

# Each model's traced measuring function, by the probe's shapes: a model reused for another run
# (models.training.model_cache) reads without tracing again.
_MEASURES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def traced_measure(model, x, y):
    """The model's measuring function for probe batches shaped like ``x`` and ``y``, traced once."""
    import tensorflow as tf

    key = (tuple(x.shape[1:]), tuple(y.shape[1:]), tf.as_dtype(y.dtype).name)  # numpy's and TensorFlow's alike
    functions = _MEASURES.setdefault(model, {})
    if key not in functions:
        functions[key] = _compile_measure(model, x, y)
    return functions[key]


def _compile_measure(model, x, y):
    """One traced TensorFlow function that measures everything at once on a probe batch.

    Run eagerly, the same work took 15 ms on a 3×64 network (most of it
    Python dispatching some 120 small operations), too slow to read after
    every short epoch; traced, it is one call. The probe batch is an argument,
    so another run's batch of the same widths uses the same trace.
    """
    import keras
    import tensorflow as tf

    # The compiled loss function itself, averaged over the batch as `fit` averages it: Keras's
    # `compute_loss` machinery (the same figure) doubled the time tracing takes, 100 → 55 ms.
    loss_function = keras.losses.get(model.loss) if isinstance(model.loss, str) else model.loss

    @tf.function(autograph=False, input_signature=[tf.TensorSpec((None, *x.shape[1:]), tf.float32),
                                                   tf.TensorSpec((None, *y.shape[1:]), y.dtype)])
    def measure(x, y):
        with tf.GradientTape() as tape:
            output, steps = walk_layers(model, x, batch_statistics=True)
            loss = tf.reduce_mean(loss_function(y, output)) + sum(model.losses, tf.constant(0.0))  # regularisation included
        kernels = [step.layer.kernel for step in steps]
        return {
            "loss": loss,
            "gradients": tape.gradient(loss, kernels),
            "kernels": [tf.identity(kernel) for kernel in kernels],
            "biases": [tf.identity(step.layer.bias) if step.layer.use_bias else None for step in steps],
            "pre_activations": [step.pre_activation for step in steps],
            "outputs": [step.output for step in steps],
            "batch_norm_outputs": [step.batch_norm_output for step in steps],
        }

    return measure


def without_weights(reading: InstrumentReading) -> InstrumentReading:
    """A copy of ``reading`` whose layers hold no kernel or bias (the listener's own copy keeps them)."""
    return replace(reading, layers=[replace(layer, kernel=None, bias=None) for layer in reading.layers])


def make_instruments_callback(keras):
    """Defines the Keras callback lazily, so importing this module does not import Keras."""

    class InstrumentsCallback(keras.callbacks.Callback):
        """Takes the instruments' readings at a human rate and hands each to ``on_reading``.

        Args:
            x, y: the probe batch (rows as the model takes them, encoded targets).
            steps_per_epoch: training steps in an epoch.
            on_reading: called with each `InstrumentReading` as it is taken.
            interval: the least time between two readings inside an epoch, in seconds.
            budget: the largest share of time readings may take.
            record_path: keep every step's weights (for a network with no hidden layer).
        """

        def __init__(self, x, y, steps_per_epoch: int, on_reading, interval: float = READING_INTERVAL,
                     budget: float = READING_BUDGET, record_path: bool = False, initial_epoch: int = 0):
            super().__init__()
            self.initial_epoch = initial_epoch
            self.x, self.y, self.steps_per_epoch = x, y, steps_per_epoch
            self.on_reading, self.interval, self.budget, self.record_path = on_reading, interval, budget, record_path
            self.readings: list[InstrumentReading] = []
            self.failure = ""
            self.seconds = 0.0  # spent reading
            self._probe = None
            self._epoch = 0
            self._steps_done = 0
            self._last_end = -math.inf
            self._last_cost = 0.0
            self._path: list[np.ndarray] = []
            self._step_pending = False  # measure the update of the first call after a reading

        def on_train_begin(self, logs=None):
            self._probe = LayerProbe(self.model, self.x, self.y)
            if self.record_path:
                self._path.append(self._weights_row())
            self._steps_done = self.initial_epoch * self.steps_per_epoch
            self._read(float(self.initial_epoch))
            self._last_cost = 0.0  # that first reading traced the function: a cost paid once, not each time

        def on_epoch_begin(self, epoch, logs=None):
            self._epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            step = min(batch + 1, self.steps_per_epoch)
            self._steps_done = self._epoch * self.steps_per_epoch + step
            if self.record_path and not self.failure:
                self._path.append(self._weights_row())
            if self._step_pending and not self.failure:
                self._step_pending = False
                started = time.perf_counter()
                self._probe.measure_step(self._steps_done)
                spent = time.perf_counter() - started  # part of the reading's cost
                self._last_cost += spent
                self.seconds += spent
            # Not in an epoch's last quarter: its end brings a reading soon, at a whole epoch.
            if step < 0.75 * self.steps_per_epoch and self._due(time.perf_counter(), self.interval, INSIDE_EPOCH_BUDGET):
                self._read(self._epoch + step / self.steps_per_epoch)

        def on_epoch_end(self, epoch, logs=None):
            # The steps counted batch by batch: a stop or a NaN loss ends an epoch early, and Keras
            # still calls this.
            if self._due(time.perf_counter(), 0.0, self.budget):
                self._read(self._steps_done / self.steps_per_epoch)

        def on_train_end(self, logs=None):
            """The last reading: of the weights the run ends with (early stopping may have restored others)."""
            last = self.readings[-1] if self.readings else None
            done = self._steps_done / self.steps_per_epoch
            if last is None or done > last.epoch or self._path or self._weights_changed_since(last):
                self._read(done)

        def _weights_changed_since(self, reading: InstrumentReading) -> bool:
            layers = self._probe.dense_layers() if self._probe is not None else []
            return any(layer.kernel is None or not np.array_equal(np.asarray(dense.kernel), layer.kernel)
                       for dense, layer in zip(layers, reading.layers, strict=False))

        def _due(self, now: float, interval: float, budget: float) -> bool:
            return not self.failure and now - self._last_end >= max(interval, self._last_cost / budget)

        def _weights_row(self) -> np.ndarray:
            layer = self._probe.dense_layers()[0]
            parts = [np.asarray(layer.kernel).ravel()] + ([np.asarray(layer.bias)] if layer.use_bias else [])
            return np.concatenate(parts).astype(np.float64)

        def _read(self, epoch: float) -> None:
            if self.failure:
                return
            started = time.perf_counter()
            try:
                reading = self._probe.read(round(epoch, 6), self._steps_done)
            except Exception as error:  # the instruments never stop a run; the result says why they ended
                self.failure = f"the instruments stopped reading ({type(error).__name__}: {error})"
                return
            if self.record_path:
                reading.path, self._path = np.array(self._path), []
            # The listener gets the kernels of every reading; the run keeps them for its newest
            # only (the notes' network has 1.6 MB of them a reading, a long run thousands of readings).
            if self.readings:
                self.readings[-1] = without_weights(self.readings[-1])
            self.readings.append(reading)
            self._step_pending = True
            self.on_reading(reading)
            self._last_end = time.perf_counter()
            self._last_cost = self._last_end - started
            self.seconds += self._last_cost

    return InstrumentsCallback
