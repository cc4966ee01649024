"""Training on one device with compiled functions traced once per model: `CompiledFunctions` and `fit_compiled`.

Keras's ``fit`` spent about 125 ms an epoch around 9 ms of work on the
default spiral project (480 rows, batch 16, 3×Dense(64)): it builds a data
adapter and an iterator for every epoch and for every validation pass. Here
the rows stay in tensors and are handed to three functions traced once per
model, which take the rows as arguments, not as captured constants, so a run
on other rows of the same widths reuses them:

- ``train_steps(x, y, order, first, count, batch_size)`` runs ``count``
  batches inside one call (a loop in the graph), each through Keras's own
  ``Model.train_step`` (the same loss, regularisation, optimizer and metrics
  as ``fit``), and returns every step's running loss and metric, so the
  per-batch curve keeps one point per batch though a call holds many;
- ``evaluate(x, y, batch_size)``: the loss (regularisation included) and
  the metric over all rows in one call, accumulated batch by batch as
  Keras's metrics accumulate them (float32 sums weighted by rows), so the
  figures are ``evaluate``'s; written out rather than through ``test_step``,
  whose compiled-loss machinery took 0.2 s of tracing against 0.05 s
  (``evaluate_soon`` runs it eagerly the first time, before it is traced);
- ``predict(x)``: the outputs in inference mode.

`fit_compiled` drives them as ``fit`` does, epoch by epoch, and calls the
same Keras callbacks (early stopping, the learning-rate schedule, the
progress and instruments callbacks), so both paths report alike.
"""

from __future__ import annotations

import math

import numpy as np

from models.training.devices import import_tensorflow

# Rows per call of `CompiledFunctions.predict_numpy`: bounded memory on a large test set.
PREDICT_ROWS = 8192


class CompiledFunctions:
    """A compiled Keras model's training, evaluation and prediction as TensorFlow functions.

    Args:
        model: a compiled Keras model whose optimizer is built.
        metric: the name of the task's metric in the model's logs (`"accuracy"` or `"mae"`).
        metric_function: that metric per row (`models.network.build.metric_function`).
    """

    def __init__(self, model, metric: str, metric_function):
        self.model, self.names, self.metric_function = model, ("loss", metric), metric_function
        self._functions: dict[tuple, tuple] = {}  # by the rows' trailing shapes and dtypes
        self._evaluated_eagerly: set[tuple] = set()

    def _traced(self, x, y):
        tf = import_tensorflow()
        key = (tuple(x.shape[1:]), x.dtype, tuple(y.shape[1:]), y.dtype)
        if key not in self._functions:
            x_spec = tf.TensorSpec((None, *x.shape[1:]), x.dtype)
            y_spec = tf.TensorSpec((None, *y.shape[1:]), y.dtype)
            scalar = tf.TensorSpec((), tf.int64)
            # autograph=False: the loops are written as tf.while_loop, and Keras's own code is traced
            # as it is (converting it took a third of the tracing time).
            self._functions[key] = (
                tf.function(self._train_steps, autograph=False, input_signature=[
                    x_spec, y_spec, tf.TensorSpec((None,), tf.int64), scalar, scalar, scalar]),
                tf.function(self._evaluate, autograph=False, input_signature=[x_spec, y_spec, scalar]),
            )
        return self._functions[key]

    def _step_function(self):
        """Keras's ``train_step``, run in the distribution strategy's replica context as ``fit`` runs it
        (a one-device strategy's optimizer needs it), XLA-compiled when the model says so."""
        tf = import_tensorflow()
        model = self.model
        step = model.train_step
        if model.jit_compile:  # as Keras does: XLA compiles the step, the loop around it stays a graph
            step = tf.function(model.train_step, jit_compile=True, reduce_retracing=True)
        return lambda data: tf.distribute.get_strategy().run(step, args=(data,))

    def _train_steps(self, x, y, order, first, count, batch_size):
        tf = import_tensorflow()
        step_function = self._step_function()
        rows = tf.shape(x, out_type=tf.int64)[0]
        size = tf.cast(count, tf.int32)

        def body(i, *columns):
            start = (first + tf.cast(i, tf.int64)) * batch_size
            batch = order[start:tf.minimum(start + batch_size, rows)]
            logs = step_function((tf.gather(x, batch), tf.gather(y, batch)))
            return (i + 1, *[column.write(i, tf.cast(logs[name], tf.float32))
                             for column, name in zip(columns, self.names, strict=True)])

        columns = [tf.TensorArray(tf.float32, size=size) for _ in self.names]
        _, *columns = tf.while_loop(lambda i, *_: i < size, body, (tf.constant(0), *columns))
        return [column.stack() for column in columns]

    def _evaluate(self, x, y, batch_size):
        import keras

        tf = import_tensorflow()
        model, metric_of = self.model, self.metric_function
        loss_of = keras.losses.get(model.loss) if isinstance(model.loss, str) else model.loss
        rows = tf.shape(x, out_type=tf.int64)[0]

        def body(start, loss_total, metric_total):
            batch_x, batch_y = x[start:start + batch_size], y[start:start + batch_size]
            predicted = model(batch_x, training=False)
            loss = tf.reduce_mean(loss_of(batch_y, predicted)) + sum(model.losses, tf.constant(0.0))
            count = tf.cast(tf.shape(batch_x)[0], tf.float32)
            return (start + batch_size, loss_total + tf.cast(loss, tf.float32) * count,
                    metric_total + tf.reduce_sum(tf.cast(metric_of(batch_y, predicted), tf.float32)))

        zero = tf.constant(0.0)
        _, loss_total, metric_total = tf.while_loop(
            lambda start, *_: start < rows, body, (tf.constant(0, tf.int64), zero, zero))
        count = tf.cast(rows, tf.float32)
        return [tf.math.divide_no_nan(loss_total, count), tf.math.divide_no_nan(metric_total, count)]

    def train_steps(self, x, y, order, first: int, count: int, batch_size: int) -> list[np.ndarray]:
        """Runs batches ``first`` … ``first + count − 1`` of the epoch whose row order is ``order``.

        Returns:
            ``[losses, metrics]``: the epoch's running means after each of those batches, as ``fit`` logs them.
        """
        function, _ = self._traced(x, y)
        return [np.asarray(column) for column in function(x, y, order, np.int64(first), np.int64(count),
                                                           np.int64(batch_size))]

    def evaluate(self, x, y, batch_size: int) -> dict[str, float]:
        """The loss and metric over all of ``x`` (resetting the model's metrics, as ``evaluate`` does)."""
        _, function = self._traced(x, y)
        return {name: float(value) for name, value in zip(self.names, function(x, y, np.int64(batch_size)),
                                                           strict=True)}

    def evaluate_soon(self, x, y, batch_size: int) -> dict[str, float]:
        """`evaluate`, except that the first call for rows of these shapes runs the same loop eagerly:
        on a network never trained before, tracing it added 0.1 s before the first epoch's report,
        and a validation set of a few hundred rows takes a few milliseconds without. The next call traces."""
        _, function = self._traced(x, y)
        key = (tuple(x.shape[1:]), x.dtype, tuple(y.shape[1:]), y.dtype)
        if function.experimental_get_tracing_count() or key in self._evaluated_eagerly:
            return self.evaluate(x, y, batch_size)
        self._evaluated_eagerly.add(key)
        tf = import_tensorflow()
        results = self._evaluate(x, y, tf.constant(batch_size, tf.int64))
        return {name: float(value) for name, value in zip(self.names, results, strict=True)}

    def predict_soon(self, x) -> np.ndarray:
        """`predict_numpy` once it is traced; until then Keras's eager call, which for one probe of a
        few thousand points costs a few milliseconds against the 50 ms that tracing would add before
        a first epoch's report."""
        if hasattr(self, "_predict"):
            return self.predict_numpy(x)
        return np.asarray(self.model(np.asarray(x, dtype=np.float32), training=False))

    def predict_numpy(self, x) -> np.ndarray:
        """The model's outputs for ``x`` in inference mode, a bounded number of rows per call."""
        if not hasattr(self, "_predict"):
            tf = import_tensorflow()
            self._predict = tf.function(lambda rows: self.model(rows, training=False), input_signature=[
                tf.TensorSpec((None, *self.model.input_shape[1:]), tf.float32)])
        x = np.asarray(x, dtype=np.float32)
        if len(x) <= PREDICT_ROWS:
            return np.asarray(self._predict(x))
        return np.concatenate([np.asarray(self._predict(x[start:start + PREDICT_ROWS]))
                               for start in range(0, len(x), PREDICT_ROWS)])


def epoch_order(rows: int, shuffle: bool, seed: int, epoch: int):
    """The row order of ``epoch``: the same seed and epoch give the same order (as `ShuffledBatches`)."""
    tf = import_tensorflow()
    if not shuffle:
        return tf.range(rows, dtype=tf.int64)
    keys = tf.random.stateless_uniform([rows], seed=(seed, epoch))
    return tf.cast(tf.argsort(keys), tf.int64)


def fit_compiled(functions: CompiledFunctions, x, y, *, batch_size: int, epochs: int, initial_epoch: int = 0,
                 shuffle: bool, seed: int, validation=None, validation_batch_size: int = 256, callbacks=(),
                 steps_per_call: int, steps_allowed=None, on_steps=None) -> dict[str, list[float]]:
    """Trains ``functions.model`` for epochs ``initial_epoch`` … ``epochs − 1`` as ``Model.fit`` would.

    Args:
        functions: the model's `CompiledFunctions`.
        x, y: the training rows, as tensors on the device that trains.
        validation: ``(x, y)`` tensors evaluated after every epoch, or `None`.
        callbacks: Keras callbacks, called at the same points as ``fit`` calls them.
        steps_per_call: batches per call into TensorFlow (fewer at an epoch's end).
        steps_allowed: ``f(steps_left_in_epoch) -> int``, how many batches the next call may run
            (stepping one batch at a time); defaults to all of them.
        on_steps: ``f(epoch, first_step, [losses, metrics])`` after each call, with every batch's logs.

    Returns:
        The history, as ``fit``'s ``History.history``: one value per epoch and figure.
    """
    import keras

    model = functions.model
    history = keras.callbacks.History()
    callback_list = keras.callbacks.CallbackList([*callbacks, history], model=model, epochs=epochs,
                                                 steps=math.ceil(int(x.shape[0]) / batch_size), verbose=0)
    steps_per_epoch = callback_list.params["steps"]
    model.stop_training = False
    callback_list.on_train_begin()
    epoch_logs: dict[str, float] = {}
    for epoch in range(initial_epoch, epochs):
        model.reset_metrics()
        callback_list.on_epoch_begin(epoch)
        order = epoch_order(int(x.shape[0]), shuffle, seed, epoch)
        step, logs = 0, {}
        while step < steps_per_epoch and not model.stop_training:
            callback_list.on_train_batch_begin(step)  # where a paused run waits
            if model.stop_training:
                break
            left = steps_per_epoch - step
            count = min(steps_per_call, left, steps_allowed(left) if steps_allowed else left)
            columns = functions.train_steps(x, y, order, step, count, batch_size)
            if on_steps is not None:
                on_steps(epoch, step, columns)
            step += count
            logs = {name: float(column[-1]) for name, column in zip(functions.names, columns, strict=True)}
            callback_list.on_train_batch_end(step - 1, logs)
        if not logs:  # stopped before this epoch's first batch
            break
        epoch_logs = dict(logs)
        if validation is not None:
            callback_list.on_test_begin()
            results = functions.evaluate_soon(*validation, validation_batch_size)
            callback_list.on_test_end(results)
            epoch_logs.update({f"val_{name}": value for name, value in results.items()})
        callback_list.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    callback_list.on_train_end(logs=epoch_logs)
    return history.history
