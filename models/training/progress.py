"""The Keras callback that relays a run's progress at a human rate and turns a stop request into a stop."""

from __future__ import annotations

import math
import time

import numpy as np

from models.instruments.recorder import unit_outputs
from models.training.reports import COMPLETED, NAN_LOSS, STOPPED, BatchProgress, EpochResult


def as_float(value) -> float:
    return float(np.asarray(value))


def make_progress_callback(keras):
    """Defines the Keras callback lazily, so importing this module does not import Keras."""

    class ProgressCallback(keras.callbacks.Callback):
        """Relays progress at a human rate and turns a stop request into ``stop_training``.

        Like Keras's ``EarlyStopping``, it has one job and ends training by
        setting ``self.model.stop_training``. It reads the loss (which waits
        for the device) only when a report is due, so the hot path stays cheap.
        """

        def __init__(self, listener, stop, epochs, steps_per_epoch, batch_size, train_samples, metric, interval,
                     probe_x=None, probe_interval=0.25, exact_call_means=True, probe_units=False):
            super().__init__()
            # Under several replicas Keras's logs average each replica's own running
            # mean, and a batch split unevenly breaks the differencing: report those as they come.
            self.exact_call_means = exact_call_means
            self.probe_x, self.probe_interval, self._last_probe = probe_x, probe_interval, -math.inf
            self.probe_units = probe_units
            self.listener, self.stop = listener, stop
            self.epochs, self.steps_per_epoch = epochs, steps_per_epoch
            self.batch_size, self.train_samples = batch_size, train_samples
            self.metric, self.interval = metric, interval
            self.reason = COMPLETED
            self.epochs_done = 0
            self.train_seconds = 0.0
            self.samples_seen = 0
            self._epoch_start = self._last_report = self._run_start = 0.0
            self._steps_before_epoch = 0
            self._pending = []
            self._last_step = 0
            # (epoch, samples, running loss, running metric) of the last point turned into a call mean.
            self._previous = (-1, 0, 0.0, None)

        def on_train_begin(self, logs=None):
            self._run_start = time.perf_counter()

        def on_epoch_begin(self, epoch, logs=None):
            self._epoch = epoch
            self._epoch_start = self._last_report = time.perf_counter()

        def _eta(self, now: float, epoch_fraction: float) -> float:
            done = self._epoch + epoch_fraction
            elapsed = now - self._run_start
            return elapsed / done * (self.epochs - done) if done > 0 else math.nan

        def _check_stop(self):
            if self.stop.is_set():
                self.reason = STOPPED
                self.model.stop_training = True

        def on_train_batch_end(self, batch, logs=None):
            # Keras numbers a short last call as if it were full: never past the epoch's end.
            step = self._last_step = min(batch + 1, self.steps_per_epoch)
            # Keep the call's figures as tensors (no waiting for the device) until a report is due.
            if logs and "loss" in logs:
                self._pending.append((self._epoch + step / self.steps_per_epoch, self._epoch,
                                      min(step * self.batch_size, self.train_samples), logs["loss"], logs.get(self.metric)))
            now = time.perf_counter()
            if now - self._last_report < self.interval:
                self._check_stop()
                return
            self._report(step, self._steps_before_epoch + step, now)
            self._check_stop()  # the listener may have asked for the stop just now

        def on_train_end(self, logs=None):
            if self._pending:  # the last calls since the last report, after the last epoch ended
                self._report(self._last_step, self._steps_before_epoch, time.perf_counter())

        def _report(self, step, global_step, now):
            self._last_report = now
            running = [(x, epoch, samples, as_float(loss), None if metric is None else as_float(metric))
                       for x, epoch, samples, loss, metric in self._pending]
            self._pending = []
            loss, metric = (running[-1][3], running[-1][4]) if running else (math.nan, None)
            points = [self._call_mean(*point) for point in running]
            if not math.isfinite(loss):
                self.reason = NAN_LOSS
                self.model.stop_training = True
            seconds = now - self._epoch_start if self._epoch_start else 0.0
            samples = min(step * self.batch_size, self.train_samples)
            self.listener.on_batch_progress(BatchProgress(
                epoch=self._epoch + 1, epochs=self.epochs, step=step, steps_per_epoch=self.steps_per_epoch,
                global_step=global_step, loss=loss, metric=metric,
                samples_per_second=samples / seconds if seconds > 0 else 0.0,
                elapsed_s=now - self._run_start, eta_s=self._eta(now, step / self.steps_per_epoch),
                points=points,
            ))

        def _call_mean(self, x, epoch, samples, loss, metric):
            """One call's own mean loss and metric, from the epoch's running means before and after it.

            Keras reports running means that restart each epoch, weighted by
            samples; the mean over the batches of one call is the difference of
            the running totals: (n·m − n′·m′) / (n − n′). A chart of these shows
            the noise of mini-batch training, not an average that settles
            within every epoch.
            """
            if not self.exact_call_means:
                return x, loss, metric
            previous_epoch, previous_samples, previous_loss, previous_metric = self._previous
            if previous_epoch != epoch:
                previous_samples, previous_loss, previous_metric = 0, 0.0, 0.0
            self._previous = (epoch, samples, loss, metric)
            span = samples - previous_samples
            if span <= 0:
                return x, loss, metric

            def own(mean, previous):
                return (samples * mean - previous_samples * previous) / span

            call_metric = None if metric is None or previous_metric is None else own(metric, previous_metric)
            return x, own(loss, previous_loss), call_metric

        def on_test_begin(self, logs=None):
            # Validation time is not training throughput.
            self._count_training_time()

        def _count_training_time(self):
            if self._epoch_start:
                self.train_seconds += time.perf_counter() - self._epoch_start
                self._epoch_start = 0.0

        def on_epoch_end(self, epoch, logs=None):
            self._count_training_time()
            now = time.perf_counter()
            logs = {key: as_float(value) for key, value in (logs or {}).items()}
            logs["learning_rate"] = as_float(self.model.optimizer.learning_rate)
            self.epochs_done = epoch + 1
            self.samples_seen += self.train_samples
            self._steps_before_epoch += self.steps_per_epoch
            if not math.isfinite(logs.get("loss", 0.0)):
                self.reason = NAN_LOSS
                self.model.stop_training = True
            self._check_stop()
            self.listener.on_epoch_ended(EpochResult(
                epoch=epoch + 1, epochs=self.epochs, logs=logs,
                elapsed_s=now - self._run_start, eta_s=self._eta(now, 1.0), **self._probe_if_due(now),
            ))

        def _probe_if_due(self, now) -> dict:
            """The model's outputs on the probe points (and every unit's), a few times a second at most."""
            if self.probe_x is None or now - self._last_probe < self.probe_interval:
                return {}
            self._last_probe = now
            return {"probe": probe_outputs(self.model, self.probe_x),
                    "unit_outputs": unit_outputs(self.model, self.probe_x) if self.probe_units else None}

    return ProgressCallback


def probe_outputs(model, x: np.ndarray) -> np.ndarray:
    """The model's outputs for ``x`` in inference mode, as a numpy array."""
    return np.asarray(model(x, training=False))


