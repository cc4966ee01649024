"""The training rows fed to Keras one shuffled batch per step (see `ShuffledBatches`)."""

from __future__ import annotations

import math

import numpy as np


class ShuffledBatches:
    """The training rows, fed to Keras one shuffled batch per step, reshuffled every epoch.

    Keras's own path for numpy arrays spent about a third of each step on
    the CPU feeding the data (measured on the notes' 784-512-10 network,
    batch 128: 42,000 samples/s, against 60,000-65,000 this way). Here the
    rows live in one tensor and each batch is gathered through a permutation
    that a callback redraws at the start of every epoch, from the seed and
    the epoch number, so the same seed gives the same order.

    Two ways to gather. `dataset` is a `tf.data` pipeline of batches, for
    any device. `step_numbers` is a pipeline of step numbers only, for
    training on the CPU with `gather_in_step` installed on the model: the
    batch is then gathered inside the compiled training step, by the same
    threads that train, instead of being handed over from tf.data's own
    threads at every step.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool, seed: int):
        from models.training.devices import import_tensorflow

        tf = import_tensorflow()
        self.tf, self.shuffle, self.seed, self.batch_size = tf, shuffle, seed, batch_size
        self.rows = len(x)
        with tf.device("/cpu:0"):
            self.x, self.y = tf.constant(x), tf.constant(y)
            self.order = tf.Variable(tf.range(self.rows, dtype=tf.int64), trainable=False)
        steps = math.ceil(self.rows / batch_size)
        self.step_numbers = tf.data.Dataset.range(steps).prefetch(2)
        self.dataset = tf.data.Dataset.range(steps).map(self.batch).prefetch(2)

    def batch(self, step):
        """The rows and targets of batch ``step`` (a scalar tensor) in this epoch's order."""
        tf = self.tf
        rows = self.order[step * self.batch_size: tf.minimum((step + 1) * self.batch_size, self.rows)]
        return tf.gather(self.x, rows), tf.gather(self.y, rows)

    def gather_in_step(self, model) -> None:
        """Makes ``model`` train on step numbers from `step_numbers`, gathering each batch itself.

        Only the model instance changes (its ``train_step`` attribute); a saved
        model knows nothing of it.
        """
        keras_train_step = model.train_step
        model.train_step = lambda step: keras_train_step(self.batch(step))

    def stop_gathering(self, model) -> None:
        """Gives ``model`` back Keras's own ``train_step``, so it no longer holds the rows."""
        if "train_step" in vars(model):
            del model.train_step
            model.train_function = None

    def reshuffle(self, epoch: int) -> None:
        """Draws the row order for ``epoch``; the same seed and epoch give the same order."""
        if self.shuffle:
            tf = self.tf
            keys = tf.random.stateless_uniform([self.rows], seed=(self.seed, epoch))
            self.order.assign(tf.cast(tf.argsort(keys), tf.int64))

    def callback(self, keras):
        batches = self

        class Reshuffle(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                batches.reshuffle(epoch)

        return Reshuffle()
