"""The diagnosis of one run: static checks before it, live checks as it goes, the report at its end.

`Diagnosis` is fed what the runner already has (the epoch logs and the
instruments' readings) and says what it finds; `DiagnosingListener` wraps a
run's listener so every new finding reaches it (``on_findings``) the moment
it is seen. The report (`DiagnosisReport`) is what the window shows, the
command line prints and ``diagnosis.json`` holds.
"""

from __future__ import annotations

import math
import time

import numpy as np

from models.diagnosis import curve_checks, layer_checks
from models.diagnosis.facts import RunFacts
from models.diagnosis.findings import DiagnosisReport, Finding, by_urgency
from models.diagnosis.remedies import hidden_dense_positions
from models.diagnosis.static_checks import static_findings

# Judged again at the end on the epochs the kept model saw, and dropped when no longer so:
# early stopping that restored the best weights cured the overfitting it stopped, and a loss
# that spiked and came back down did not diverge. When still so, the end's finding replaces the
# live one: its evidence and its epoch are those of the run as it ended (a gap seen in epoch 4
# may have closed before the validation loss's real turn in epoch 27).
JUDGED_AT_THE_END = ("overfitting", "learning_rate_too_high")


class Diagnosis:
    """Watches one run and finds what went wrong.

    Args:
        project: the project trained.
        dataset: the data set it trains on.
        facts: the run's yardsticks (`models.diagnosis.facts.run_facts`).
    """

    def __init__(self, project, dataset, facts: RunFacts):
        self.project, self.dataset, self.facts = project, dataset, facts
        self.history: dict[str, list[float]] = {}
        self.readings: list = []
        self.first_loss: float | None = None
        self.seconds = 0.0
        self._found: dict[tuple, Finding] = {}
        self._positions = [position + 1 for position in hidden_dense_positions(project)]

    # ------------------------------------------------------------ feeding
    def before_training(self) -> list[Finding]:
        """The static findings: the settings and the data."""
        return self._timed(lambda: static_findings(self.project, self.dataset, self.facts))

    def after_epoch(self, epoch: int, logs: dict) -> list[Finding]:
        """The findings first seen after this epoch (1-based), given its logs."""
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))
        return self._timed(self._live_curve_checks)

    def after_reading(self, reading) -> list[Finding]:
        """The findings first seen in this instruments' reading."""
        def check():
            self.readings.append(reading)
            found = []
            if reading.epoch == 0 and self.first_loss is None:
                self.first_loss = reading.loss
                found += curve_checks.initial_loss_off(reading.loss, self.facts, self.project)
            first = self.readings[0] if len(self.readings) > 1 and self.readings[0].epoch == 0 else None
            found += layer_checks.layer_findings(reading, self._positions, self.project, first)
            return found
        return self._timed(check)

    def report(self, reason: str, epochs_run: int, test_metrics: dict | None = None,
               restored_epoch: int | None = None) -> DiagnosisReport:
        """Every finding of the run, the end's checks included.

        Args:
            reason: how the run ended (`models.training.reports`).
            epochs_run: epochs done.
            test_metrics: the test rows' figures, for the summary.
            restored_epoch: when early stopping restored the best weights, the
                epoch (1-based) they come from; the fit is judged up to it.
        """
        started = time.perf_counter()
        metric = self.facts.metric
        history = self.history
        kept = {key: finding for key, finding in self._found.items() if finding.code not in JUDGED_AT_THE_END}
        end = []
        end += curve_checks.nan_loss(history, self.project, reason)
        end += curve_checks.overfitting(history, self.facts, metric, upto=restored_epoch, at_end=True)
        end += curve_checks.learning_rate_too_high(history, self.facts, metric, self.project,
                                                   update_ratio=self._update_ratio())
        if reason != "stopped":  # a run stopped by the user did not get the chance to fit or to learn slowly
            end += curve_checks.fit_at_end(history, self.facts, metric, self.project, upto=restored_epoch)
            end += curve_checks.learning_rate_too_low(history, self.facts, metric, self.project,
                                                      self._update_ratio(), self.first_loss)
        end += curve_checks.not_converged(history, self.project, reason)
        for finding in end:  # the end's own finding for what it judges again: its evidence is of the whole run
            kept.setdefault(finding.key, finding)
        self.seconds += time.perf_counter() - started
        return DiagnosisReport(by_urgency(kept.values()), self._figures(test_metrics or {}, restored_epoch), metric,
                               self.seconds)

    # ------------------------------------------------------------ inside
    def _live_curve_checks(self) -> list[Finding]:
        found = []
        found += curve_checks.nan_loss(self.history, self.project)
        found += curve_checks.exploding_loss(self.history, self.facts, self.project)
        found += curve_checks.learning_rate_too_high(self.history, self.facts, self.facts.metric, self.project,
                                                     live=True)
        found += curve_checks.overfitting(self.history, self.facts, self.facts.metric)
        return found

    def _timed(self, check) -> list[Finding]:
        started = time.perf_counter()
        try:
            return self._new(check())
        finally:
            self.seconds += time.perf_counter() - started

    def _new(self, findings: list[Finding]) -> list[Finding]:
        """Those not reported before (a finding is reported once, when first seen)."""
        new = []
        for finding in findings:
            if finding.key not in self._found:
                self._found[finding.key] = finding
                new.append(finding)
        return by_urgency(new)

    def _update_ratio(self) -> float | None:
        """The median per-step update ratio over the layers' readings after training began."""
        ratios = [layer.update_ratio_per_step for reading in self.readings if reading.epoch > 0
                  for layer in reading.layers if layer.update_ratio_per_step is not None]
        ratios = [ratio for ratio in ratios if math.isfinite(ratio)]
        return float(np.median(ratios)) if ratios else None

    def _figures(self, test_metrics: dict, restored_epoch: int | None = None) -> dict[str, float]:
        """The kept model's figures: the last epoch's, or the restored best epoch's."""
        last = (restored_epoch or 0) - 1
        figures = {key: values[last] if 0 <= last < len(values) else values[-1]
                   for key, values in self.history.items() if values}
        figures.update({f"test_{key}": value for key, value in test_metrics.items()})
        figures["baseline"] = self.facts.baseline
        if self.readings:
            ratio = layer_checks.gradient_ratio(self.readings[-1])
            if ratio is not None:
                figures["gradient_ratio"] = ratio
        if self.first_loss is not None:
            figures["initial_loss"] = self.first_loss
        return figures


class DiagnosingListener:
    """Passes every report on to ``listener`` and feeds the diagnosis, calling
    ``listener.on_findings(findings)`` whenever it finds something new."""

    def __init__(self, listener, diagnosis: Diagnosis):
        self._listener, self.diagnosis = listener, diagnosis
        self._on_findings = getattr(listener, "on_findings", None) or (lambda findings: None)

    def __getattr__(self, name):  # every report the diagnosis does not read goes straight through
        return getattr(self._listener, name)

    def report_static(self) -> None:
        self._send(self.diagnosis.before_training())

    def on_epoch_ended(self, result) -> None:
        self._listener.on_epoch_ended(result)
        self._send(self.diagnosis.after_epoch(result.epoch, result.logs))

    def on_instruments(self, reading) -> None:
        handler = getattr(self._listener, "on_instruments", None)
        if handler is not None:
            handler(reading)
        self._send(self.diagnosis.after_reading(reading))

    def _send(self, findings: list[Finding]) -> None:
        if findings:
            self._on_findings(findings)
