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
                     probe_x=None, probe_interval=0.25, exact_call_means=True, probe_units=False, initial_epoch=0,
                     predict=None):
            super().__init__()
            self.initial_epoch = initial_epoch
            # The model's outputs for the probe points; Keras's eager call when none is given.
            self.predict = predict or (lambda x: probe_outputs(self.model, x))
            self._steps_from_loop = False  # `record_steps` brings every batch's logs
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
            self.epochs_done = initial_epoch
            self.train_seconds = 0.0
            self.paused_seconds = 0.0  # spent waiting while paused
            self.learning_rates: list[float] = []  # at each epoch's end (a schedule changes it)
            self.samples_seen = 0
            self._epoch_start = self._last_report = self._run_start = 0.0
            self._steps_before_epoch = initial_epoch * steps_per_epoch  # global steps count the earlier run's
            self._pending = []
            self._last_logs = (math.nan, None)  # the running loss and metric last reported
            self._last_step = 0
            # (epoch, samples, running loss, running metric) of the last point turned into a call mean.
            self._previous = (-1, 0, 0.0, None)

        def on_train_begin(self, logs=None):
            self._run_start = time.perf_counter()

        def on_epoch_begin(self, epoch, logs=None):
            self._epoch = epoch
            self._epoch_start = self._last_report = time.perf_counter()

        def _eta(self, now: float, epoch_fraction: float) -> float:
            done = self._epoch - self.initial_epoch + epoch_fraction
            elapsed = now - self._run_start
            return elapsed / done * (self.epochs - self.initial_epoch - done) if done > 0 else math.nan

        def _check_stop(self):
            if self.stop.is_set():
                self.reason = STOPPED
                self.model.stop_training = True

        def on_train_batch_begin(self, batch, logs=None):
            before = time.perf_counter()
            self.stop.wait_while_paused(lambda: self._report_pause(batch))
            waited = time.perf_counter() - before
            if waited > 0.001:  # a pause is not training time: the clocks skip it
                self.paused_seconds += waited
                self._run_start += waited
                if self._epoch_start:
                    self._epoch_start += waited
            self._check_stop()

        def _report_pause(self, step):
            """Before a paused run waits: everything since the last report, with the probe, so the views
            show the weights it paused at (an epoch's end has just sent them)."""
            if step or self._pending:  # not before the first batch
                self._report(step, self._steps_before_epoch + step, time.perf_counter(), with_probe=step > 0)

        def record_steps(self, epoch, first_step, columns):
            """Every batch's running loss and metric from one call (`models.training.compiled_loop`)."""
            self._steps_from_loop = True
            losses, metrics = columns
            for index, loss in enumerate(losses):
                step = first_step + index + 1
                self._pending.append((epoch + step / self.steps_per_epoch, epoch,
                                      min(step * self.batch_size, self.train_samples), loss,
                                      metrics[index] if self.metric else None))

        def on_train_batch_end(self, batch, logs=None):
            # Keras numbers a short last call as if it were full: never past the epoch's end.
            step = self._last_step = min(batch + 1, self.steps_per_epoch)
            self.stop.batches_done()
            # Keep the call's figures as tensors (no waiting for the device) until a report is due.
            if logs and "loss" in logs and not self._steps_from_loop:
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

        def _report(self, step, global_step, now, with_probe=False):
            self._last_report = now
            running = [(x, epoch, samples, as_float(loss), None if metric is None else as_float(metric))
                       for x, epoch, samples, loss, metric in self._pending]
            self._pending = []
            if running:
                self._last_logs = running[-1][3], running[-1][4]
            loss, metric = self._last_logs
            points = [self._call_mean(*point) for point in running]
            if running and not math.isfinite(loss):
                self.reason = NAN_LOSS
                self.model.stop_training = True
            seconds = now - self._epoch_start if self._epoch_start else 0.0
            samples = min(step * self.batch_size, self.train_samples)
            self.listener.on_batch_progress(BatchProgress(
                epoch=self._epoch + 1, epochs=self.epochs, step=step, steps_per_epoch=self.steps_per_epoch,
                global_step=global_step, loss=loss, metric=metric,
                samples_per_second=samples / seconds if seconds > 0 else 0.0,
                elapsed_s=now - self._run_start, eta_s=self._eta(now, step / self.steps_per_epoch),
                points=points, **(self._probe() if with_probe else {}),
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

            # The running means are float32: the difference of two can land a rounding error outside the
            # figure's range (an accuracy of 1.0000002 for a batch of four rows). Every loss here is at
            # least 0, and an accuracy at most 1.
            call_metric = None if metric is None or previous_metric is None else _at_least_0(own(metric, previous_metric))
            if call_metric is not None and self.metric == "accuracy":
                call_metric = min(call_metric, 1.0)
            return x, _at_least_0(own(loss, previous_loss)), call_metric

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
            self.learning_rates.append(logs["learning_rate"])
            self.epochs_done = epoch + 1
            self.samples_seen += self.train_samples
            self._steps_before_epoch += self.steps_per_epoch
            if not math.isfinite(logs.get("loss", 0.0)):
                self.reason = NAN_LOSS
                self.model.stop_training = True
            self._check_stop()
            self.stop.epoch_done()
            self.listener.on_epoch_ended(EpochResult(
                epoch=epoch + 1, epochs=self.epochs, logs=logs,
                elapsed_s=now - self._run_start, eta_s=self._eta(now, 1.0), **self._probe_if_due(now),
            ))

        def _probe_if_due(self, now) -> dict:
            """The model's outputs on the probe points (and every unit's), a few times a second at most."""
            if now - self._last_probe < self.probe_interval and not self.stop.is_paused():
                return {}
            self._last_probe = now
            return self._probe()

        def _probe(self) -> dict:
            if self.probe_x is None:
                return {}
            return {"probe": self.predict(self.probe_x),
                    "unit_outputs": unit_outputs(self.model, self.probe_x) if self.probe_units else None}

    return ProgressCallback


def _at_least_0(value: float) -> float:
    """``value``, or 0 for a rounding error below it; NaN and infinities stay what they are."""
    return max(0.0, value) if math.isfinite(value) else value


def probe_outputs(model, x: np.ndarray) -> np.ndarray:
    """The model's outputs for ``x`` in inference mode, as a numpy array."""
    return np.asarray(model(x, training=False))


