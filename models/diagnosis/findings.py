"""What a diagnosis finds, as plain data: findings, their remedies, and the report.

A finding's words are `Text`: an English template and the numbers that fill
it. ``str(text)`` is the English sentence (the command line, ``diagnosis.json``);
the window passes the same template to its translation, so a finding reads the
same in every language the interface has. Nothing here imports Keras or Qt.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from models.text import Text

DIAGNOSIS_FORMAT = "keras-trainer-diagnosis"
DIAGNOSIS_VERSION = 1

PROBLEM, NOTE = "problem", "note"

# Every code, most urgent first: a repair starts with the first problem in this order.
# A run that diverges must be fixed before anything it learned can be judged; a setting that
# is wrong before training starts (a leaking column, no nonlinearity, dropout of 0.8) is
# certain, so it goes before what the curves suggest; a network whose gradients cannot reach
# its first layers before its fit; and a learning rate too small to get anywhere before the
# size of the network is blamed.
CODES = (
    "nan_loss", "exploding_gradients", "target_leakage", "missing_nonlinearity", "high_dropout",
    "learning_rate_too_high", "vanishing_gradients", "dying_relu", "saturated_activations", "learning_rate_too_low",
    "underfitting", "overfitting", "no_better_than_baseline", "initial_loss_off",
    "not_converged", "class_imbalance", "too_few_samples", "validation_too_small",
)

# The title of each code, in the English the window translates.
TITLES = {
    "nan_loss": "The loss became NaN",
    "exploding_gradients": "Exploding gradients",
    "learning_rate_too_high": "Learning rate too high",
    "vanishing_gradients": "Vanishing gradients",
    "dying_relu": "Dying ReLU units",
    "saturated_activations": "Saturated activations",
    "missing_nonlinearity": "No nonlinearity between layers",
    "target_leakage": "A column gives the answer away",
    "high_dropout": "Dropout too high",
    "underfitting": "Underfitting",
    "overfitting": "Overfitting",
    "learning_rate_too_low": "Learning rate too low",
    "no_better_than_baseline": "No better than guessing",
    "initial_loss_off": "The first loss is far from chance",
    "not_converged": "Still improving at the end",
    "class_imbalance": "Imbalanced classes",
    "too_few_samples": "Far more weights than training rows",
    "validation_too_small": "Validation set too small to trust",
}


# How a figure is named in a sentence.
FIGURE_NAMES = {
    "loss": "training loss", "val_loss": "validation loss", "accuracy": "training accuracy",
    "val_accuracy": "validation accuracy", "mae": "training MAE", "val_mae": "validation MAE",
    "gradient_ratio": "first/last gradient ratio", "dead_fraction": "share of dead units",
    "saturated_fraction": "share of saturated units", "initial_loss": "first loss",
    "dropout_rate": "dropout rate", "parameters_per_row": "parameters per training row",
    "validation_rows": "validation rows", "single_column_score": "one column's score", "baseline": "baseline",
    "gradient_growth": "growth of the gradient",
}


@dataclass(frozen=True)
class Remedy:
    """One concrete change of the project that may cure a finding.

    Args:
        text: what the change is, for a person.
        edit: the change as plain data (``{"kind": ..., ...}``), applied by
            `models.diagnosis.remedies.apply_edit`.
    """

    text: Text
    edit: dict

    def to_json(self) -> dict:
        return {"text": str(self.text), "edit": dict(self.edit)}


@dataclass(frozen=True)
class Finding:
    """One thing the diagnosis noticed about a run.

    Args:
        code: one of `CODES`; stable, for programs and tests.
        severity: `PROBLEM` (something to fix) or `NOTE` (worth knowing).
        evidence: the numbers that show it.
        cause: why it happens, in one sentence.
        remedies: changes to try, most promising first.
        epoch: the epoch it was first seen (0: before training); `None` when
            it is not tied to one.
        layer: the project layer it concerns (1-based, as the editor numbers
            them); `None` for the whole network.
        figure: ``(name, value)``: the figure that shows it, which a remedy
            should move (a history key such as ``val_loss``, or an
            instrument's figure such as ``gradient_ratio``).
    """

    code: str
    severity: str
    evidence: Text
    cause: Text
    remedies: tuple[Remedy, ...] = ()
    epoch: int | None = None
    layer: int | None = None
    figure: tuple[str, float] | None = None

    @property
    def title(self) -> str:
        return TITLES[self.code]

    @property
    def key(self) -> tuple[str, int | None]:
        """What makes two findings the same one: the code and the layer."""
        return self.code, self.layer

    def where(self, translate) -> list[str]:
        """Where it was seen, in words through ``translate``: "before training" or "epoch 7", and "layer 2"."""
        words = []
        if self.epoch is not None:
            when = Text.of("before training") if self.epoch == 0 else Text.of("epoch {epoch}", epoch=self.epoch)
            words.append(when.translated(translate))
        if self.layer is not None:
            words.append(Text.of("layer {layer}", layer=self.layer).translated(translate))
        return words

    def to_json(self) -> dict:
        figure = None
        if self.figure is not None:
            figure = {"name": self.figure[0], "value": _finite_or_none(self.figure[1])}
        return {
            "code": self.code, "severity": self.severity, "title": self.title, "epoch": self.epoch,
            "layer": self.layer, "evidence": str(self.evidence), "cause": str(self.cause),
            "remedies": [remedy.to_json() for remedy in self.remedies], "figure": figure,
        }


def _finite_or_none(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def by_urgency(findings) -> list[Finding]:
    """Problems before notes, each in the order of `CODES`, then by layer."""
    return sorted(findings, key=lambda finding: (finding.severity != PROBLEM, CODES.index(finding.code),
                                                 finding.layer or 0))


@dataclass
class DiagnosisReport:
    """Every finding of a run, and the figures a healthy run is shown by.

    Args:
        findings: most urgent first (`by_urgency`).
        figures: the run's key figures by name (``loss``, ``val_loss``, the
            metric, ``baseline``, ``gradient_ratio`` …), for the healthy
            summary and for comparing a run with the next one.
        metric: the task's metric name (``accuracy`` or ``mae``).
        seconds: the time the checks took, in the training thread.
    """

    findings: list[Finding] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)
    metric: str = "accuracy"
    seconds: float = 0.0
    # What the checks cost is judged against: the run's training time, and the instruments' own share of it.
    training_seconds: float = 0.0
    instruments_seconds: float = 0.0

    @property
    def problems(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.severity == PROBLEM]

    @property
    def healthy(self) -> bool:
        return not self.problems

    def codes(self) -> set[str]:
        return {finding.code for finding in self.findings}

    def find(self, code: str) -> Finding | None:
        return next((finding for finding in self.findings if finding.code == code), None)

    def summary(self) -> Text:
        """One sentence: the problems' count, or "no problems found" with the figures that show it."""
        if self.problems:
            notes = len(self.findings) - len(self.problems)
            return Text.of("{problems} problem(s) and {notes} note(s) found.", problems=len(self.problems), notes=notes)
        return healthy_summary(self.figures, self.metric)

    def to_json(self) -> dict:
        return {
            "format": DIAGNOSIS_FORMAT, "version": DIAGNOSIS_VERSION,
            "healthy": self.healthy, "summary": str(self.summary()),
            "findings": [finding.to_json() for finding in self.findings],
            "figures": {name: _finite_or_none(value) for name, value in self.figures.items()},
            "seconds": self.seconds, "training_seconds": self.training_seconds,
            "instruments_seconds": self.instruments_seconds,
        }


def healthy_summary(figures: dict[str, float], metric: str) -> Text:
    """"No problems found", with the held-out figure against its baseline, the gap, and the gradients' spread."""
    held_out = figures.get(f"val_{metric}", figures.get(f"test_{metric}"))
    trained = figures.get(metric)
    baseline = figures.get("baseline")
    ratio = figures.get("gradient_ratio")
    parts = []
    if held_out is not None and baseline is not None:
        parts.append(Text.of("held-out {metric} {value} against {baseline} for always guessing the same",
                             metric=Text.of(metric), value=f"{held_out:.3f}", baseline=f"{baseline:.3f}"))
    if held_out is not None and trained is not None:
        parts.append(Text.of("training and held-out {metric} {gap} apart", metric=Text.of(metric),
                             gap=f"{abs(trained - held_out):.3f}"))
    if ratio is not None and math.isfinite(ratio):
        parts.append(Text.of("first layer's gradient {ratio}× the last's", ratio=f"{ratio:.2g}"))
    if not parts:
        return Text.of("No problems found.")
    return Text.of("No problems found: {details}.", details=tuple(parts))
