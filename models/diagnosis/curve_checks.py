"""Checks on the loss and metric curves: fit, divergence, speed, convergence.

Each takes the history so far (Keras's ``{"loss": [...], "val_loss": [...],
...}``, one value per epoch) and the run's `RunFacts`, and returns findings.
The thresholds say where they come from: AUTOTRAINER (Zhang et al., ICSE
2021), DeepDiagnosis (Wardat et al., ICSE 2022), Google's Deep Learning
Tuning Playbook and Karpathy's "A recipe for training neural networks",
calibrated where said on `benchmarks/diagnosis.py`.
"""

from __future__ import annotations

import math

import numpy as np

from models.diagnosis import remedies
from models.diagnosis.facts import RunFacts
from models.diagnosis.findings import FIGURE_NAMES, NOTE, PROBLEM, Finding, Text
from models.diagnosis.layer_checks import EXPLODING_CAUSE, exploding_remedies

# AUTOTRAINER's overfitting rule: epochs in a row in which the training loss falls by more
# than 0.01 while the validation loss rises by more than 0.01. We ask for three such
# epochs, and measure the changes relative to the loss (a regression's loss is in its
# target's units, where 0.01 means nothing).
OVERFIT_STEP = 0.01
OVERFIT_EPOCHS = 3
# The calibrated form that also catches a noisy rise: validation loss 10 % above its best (and
# by a tenth of its first value: iris's 24 validation rows move a loss of 0.02 by 100 %),
# reached at least three epochs earlier, while the training loss fell 10 % since then.
OVERFIT_RISE = 0.10
# AUTOTRAINER: a train–validation accuracy gap of 0.10 or more.
OVERFIT_GAP = 0.10
# Underfitting: the training figure closes less than a quarter of the way from the
# baseline (always the same answer) to perfect.
UNDERFIT_SKILL = 0.25
# No better than the baseline: the held-out figure closes less than a tenth of that way.
BASELINE_SKILL = 0.10
# AUTOTRAINER's oscillating loss: accuracy swings of 0.03 or more, back and forth, in at
# least 20 % of the epochs. For a regression, swings of 10 % of the loss.
SWING_ACCURACY = 0.03
SWING_LOSS = 0.10
SWING_LOSS_WITH_ACCURACY = 0.02
SWING_SHARE = 0.20
# A share of a few epochs is luck: judged from ten epochs on, and on three swings at least.
SWING_MIN_EPOCHS = 10
# Divergence: the training loss ends 50 % above its best, and that rise is at least a tenth of
# the first epoch's loss (a memorising run's loss bounces from 0.001 to 0.0015: not divergence).
DIVERGED_RISE = 0.5
DIVERGED_OF_FIRST = 0.1
# Karpathy: a step should change the weights by about 1e-3 of their size; ten times that in a run
# that learned next to nothing is a learning rate too high.
LARGE_UPDATE_RATIO = 1e-2
# AUTOTRAINER's slow convergence: the best one-epoch gain of training and validation
# accuracy is under 0.01. For a regression, the best one-epoch fall of the loss is under 1 %.
SLOW_GAIN = 0.01
SLOW_LOSS_FALL = 0.01
# A first epoch that lowered the loss (from its value before training) by 5 % or more learned:
# a run that converged in one epoch and then stayed flat is not slow.
SLOW_FIRST_FALL = 0.05
# Karpathy's healthy step changes the weights by about 1e-3 of their size; a third of that or more is
# not a step too small.
SMALL_UPDATE_RATIO = 3e-4
# Below this skill a slow run still had much to learn; above it, small gains are the end of learning.
SLOW_SKILL = 0.9
# Exploding loss: cross-entropy at 1000 nats means probabilities of e^-1000 on the right class.
# A hundred times ln C is as sure a sign and comes sooner (Adam at 1.0 on the spiral: 603 nats
# in the first epoch, where ln 2 is 0.69); no run that learns passes through it.
EXPLODED_LOSS = 1e3
EXPLODED_OVER_CHANCE = 100
# Not converged (Tuning Playbook: "is the loss still improving at the end?"): over the last
# fifth of the run (at least three epochs) the loss fell by more than 2 %, and the
# validation loss is within 0.5 % of its best.
CONVERGED_FALL = 0.02
AT_BEST = 0.005
# ... and that fall is at least 1 % of the first epoch's loss: a loss of 0.003 halving to 0.0015 at
# 100 % accuracy is not learning left undone.
CONVERGED_FALL_OF_FIRST = 0.01
# Karpathy: the first loss of a C-class softmax should be ln C. Flagged when it is more
# than twice that and more than 0.5 nats away.
INITIAL_LOSS_FACTOR = 2.0
INITIAL_LOSS_MARGIN = 0.5


def _series(history: dict, key: str) -> np.ndarray:
    return np.asarray(history.get(key) or [], dtype=np.float64)


def nan_loss(history: dict, project, reason: str = "") -> list[Finding]:
    loss = _series(history, "loss")
    bad = np.flatnonzero(~np.isfinite(loss))
    if not len(bad) and reason != "nan_loss":
        return []
    epoch = int(bad[0]) + 1 if len(bad) else len(loss) + 1
    last_good = loss[np.isfinite(loss)]
    before = f"{last_good[-1]:.4g}" if len(last_good) else "—"
    return [Finding(
        "nan_loss", PROBLEM,
        Text.of("The training loss became NaN in epoch {epoch} (the last finite epoch loss: {before}).",
                epoch=epoch, before=before),
        Text.of("A step was so large that the weights overflowed; from then on every number is NaN."),
        (remedies.scale_learning_rate(project, 0.1), remedies.clip_gradient_norm(1.0)), epoch=epoch,
        figure=("loss", math.nan))]


def overfitting(history: dict, facts: RunFacts, metric: str, upto: int | None = None, at_end: bool = False
                ) -> list[Finding]:
    """Validation loss rising while training loss falls, or a large accuracy gap.

    Args:
        upto: judge only the first ``upto`` epochs: the ones a restored best
            model had seen (early stopping with restored weights).
        at_end: the run has ended: the evidence speaks of it whole (see `_rising_validation`).
    """
    loss, val = _series(history, "loss")[:upto], _series(history, "val_loss")[:upto]
    n = min(len(loss), len(val))
    if n < OVERFIT_EPOCHS + 1 or not (np.isfinite(loss[:n]).all() and np.isfinite(val[:n]).all()):
        return []
    loss, val = loss[:n], val[:n]
    epoch, evidence = _rising_validation(loss, val, at_end)
    stalled = int(np.argmin(val)) <= n - 1 - OVERFIT_EPOCHS  # no better validation loss in the last epochs
    if epoch is None and facts.is_classification and stalled:
        # A gap while the validation loss still improves is a model still learning (and, on a small
        # validation set, often luck): the gap counts once validation has stopped improving.
        epoch, evidence = _accuracy_gap(history, metric, n)
    if epoch is None:
        return []
    return [Finding(
        "overfitting", PROBLEM, evidence,
        Text.of("The network is learning the training rows' particulars, noise included, which do not hold "
                "for new rows."),
        _overfitting_remedies(facts),
        epoch=epoch, figure=("val_loss", float(val[-1])))]


def _risen_from_best(loss: np.ndarray, val: np.ndarray, best: int, end: int) -> bool:
    risen = val[end] - val[best]
    return (end - best >= OVERFIT_EPOCHS and risen >= val[best] * OVERFIT_RISE and risen >= abs(val[0]) * OVERFIT_RISE
            and loss[end] <= loss[best] * (1 - OVERFIT_RISE))


def _risen_evidence(loss: np.ndarray, val: np.ndarray, best: int, end: int) -> Text:
    return Text.of(
        "The validation loss was lowest in epoch {best} ({val_best}) and is {percent} % higher by epoch "
        "{epoch} ({val_now}), while the training loss kept falling ({train_best} → {train_now}).",
        best=best + 1, val_best=f"{val[best]:.4g}", percent=f"{(val[end] / val[best] - 1) * 100:.0f}",
        epoch=end + 1, val_now=f"{val[end]:.4g}", train_best=f"{loss[best]:.4g}", train_now=f"{loss[end]:.4g}")


def _rising_validation(loss: np.ndarray, val: np.ndarray, at_end: bool = False) -> tuple[int | None, Text | None]:
    """The first epoch the validation loss is seen rising while the training loss falls, and the evidence.

    Args:
        at_end: judging the finished run: when its last epoch is well above the best, that says more
            about the whole run than the first streak of rises, so it is the evidence.
    """
    best = int(np.argmin(val))
    if at_end and _risen_from_best(loss, val, best, len(val) - 1):
        seen = next(end for end in range(best, len(val)) if _risen_from_best(loss, val, best, end))
        return seen + 1, _risen_evidence(loss, val, best, len(val) - 1)
    # AUTOTRAINER's 0.01 is for cross-entropy, whose first loss is about ln C (0.7 to 2.3); measured
    # against the first epoch's loss it means the same for a regression in its target's units.
    falling = np.diff(loss) / max(abs(loss[0]), 1e-12) < -OVERFIT_STEP
    rising = np.diff(val) / max(abs(val[0]), 1e-12) > OVERFIT_STEP
    both = falling & rising
    run = 0
    for index, flag in enumerate(both):
        run = run + 1 if flag else 0
        if run >= OVERFIT_EPOCHS:
            epoch = index + 2  # diff index i compares epochs i+1 and i+2 (1-based): seen in this epoch
            start = epoch - OVERFIT_EPOCHS
            last = epoch  # the evidence follows the streak to its end
            while last - 1 < len(both) and both[last - 1]:
                last += 1
            return epoch, Text.of(
                "From epoch {start} to {epoch} the training loss fell ({train_from} → {train_to}) while the "
                "validation loss rose ({val_from} → {val_to}).", start=start, epoch=last,
                train_from=f"{loss[start - 1]:.4g}", train_to=f"{loss[last - 1]:.4g}",
                val_from=f"{val[start - 1]:.4g}", val_to=f"{val[last - 1]:.4g}")
    best = int(np.argmin(val))
    for end in range(best + OVERFIT_EPOCHS, len(val)):
        if _risen_from_best(loss, val, best, end):
            return end + 1, _risen_evidence(loss, val, best, end)
    return None, None


def _accuracy_gap(history: dict, metric: str, n: int) -> tuple[int | None, Text | None]:
    train, val = _series(history, metric)[:n], _series(history, f"val_{metric}")[:n]
    if len(train) < OVERFIT_EPOCHS or len(val) < OVERFIT_EPOCHS:
        return None, None
    # The mean over the last three epochs: one lucky epoch of a small validation set is not a gap.
    gap = float(np.mean(train[-OVERFIT_EPOCHS:]) - np.mean(val[-OVERFIT_EPOCHS:]))
    if not gap >= OVERFIT_GAP - 1e-9:  # 0.9 − 0.8 is 0.0999… in floating point
        return None, None
    return n, Text.of("Over the last {k} epochs training accuracy averaged {train} and validation accuracy {val}: "
                      "a gap of {gap}.", k=OVERFIT_EPOCHS, train=f"{np.mean(train[-OVERFIT_EPOCHS:]):.3f}",
                      val=f"{np.mean(val[-OVERFIT_EPOCHS:]):.3f}", gap=f"{gap:.3f}")


def learning_rate_too_high(history: dict, facts: RunFacts, metric: str, project, live: bool = False,
                           update_ratio: float | None = None) -> list[Finding]:
    """The loss diverging from its best, or the training figure swinging back and forth (AUTOTRAINER).

    Args:
        live: judging a run still going: a rise counts only once the loss is worse than after the
            first epoch (Adam's loss spikes and recovers on healthy runs; the end judges the rest).
        update_ratio: the median per-step ‖ΔW‖/‖W‖; steps ten times Karpathy's healthy 1e-3 in a
            run that learned next to nothing mean the steps jump over what there is to learn.
    """
    loss = _series(history, "loss")
    if not len(loss) or not np.isfinite(loss).all():
        return []
    offered = (*remedies.slower_rates(project), remedies.clip_gradient_norm(1.0))
    cause = Text.of("Each step overshoots the valley of the loss, so the weights jump from side to side or "
                    "climb out of it.")
    train = _series(history, metric)
    stuck = len(train) and facts.skill(float(train[-1])) < UNDERFIT_SKILL
    if update_ratio is not None and update_ratio >= LARGE_UPDATE_RATIO and stuck:
        return [Finding("learning_rate_too_high", PROBLEM, Text.of(
            "Each step changes the weights by {ratio} of their size (a healthy step: about 1e-3), yet the final "
            "training {metric} is only {value}.", ratio=f"{update_ratio:.1e}", metric=Text.of(metric),
            value=f"{train[-1]:.4g}"), cause, offered, epoch=len(loss), figure=("loss", float(loss[-1])))]
    if len(loss) < 5:  # a rise or a swing needs a few epochs to be one
        return []
    best = int(np.argmin(loss))
    rise = loss[-1] - loss[best]
    diverged = rise > loss[best] * DIVERGED_RISE and rise >= abs(loss[0]) * DIVERGED_OF_FIRST
    if diverged and best < len(loss) - 1 and (not live or loss[-1] > loss[0]):
        return [Finding("learning_rate_too_high", PROBLEM, Text.of(
            "The training loss was {best_loss} in epoch {best} and rose to {now} by epoch {epoch}.",
            best_loss=f"{loss[best]:.4g}", best=best + 1, now=f"{loss[-1]:.4g}", epoch=len(loss)), cause,
            offered, epoch=len(loss), figure=("loss", float(loss[-1])))]
    swings, share = _swings(history, metric, facts)
    if len(loss) >= SWING_MIN_EPOCHS and swings >= 3 and share >= SWING_SHARE:
        what = metric if facts.is_classification else "loss"
        return [Finding("learning_rate_too_high", PROBLEM, Text.of(
            "The training {what} swung back and forth in {swings} of {epochs} epochs ({percent} %).",
            what=Text.of(what), swings=swings, epochs=len(loss), percent=f"{share * 100:.0f}"), cause,
            offered, epoch=len(loss), figure=("loss", float(loss[-1])))]
    return []


def _swings(history: dict, metric: str, facts: RunFacts) -> tuple[int, float]:
    """Epochs whose change reverses the previous one's direction by at least the swing size.

    For a classification both the accuracy and the loss must swing: a network stuck at chance
    has an accuracy that wobbles by a few points from epoch to epoch while its loss stays flat.
    """
    loss = _series(history, "loss")
    loss_swings = _reversals(loss, np.abs(np.diff(loss)) / np.maximum(np.abs(loss[:-1]), 1e-12)
                             >= (SWING_LOSS_WITH_ACCURACY if facts.is_classification else SWING_LOSS))
    if facts.is_classification:
        accuracy = _series(history, metric)
        if len(accuracy) != len(loss):
            return 0, 0.0
        loss_swings &= _reversals(accuracy, np.abs(np.diff(accuracy)) >= SWING_ACCURACY)
    count = int(np.sum(loss_swings))
    return count, count / max(len(loss), 1)


def _reversals(values: np.ndarray, big: np.ndarray) -> np.ndarray:
    """For each epoch from the third on: whether its change is big and opposite to the one before."""
    changes = np.diff(values)
    return (np.sign(changes[1:]) * np.sign(changes[:-1]) < 0) & big[1:]


def learning_rate_too_low(history: dict, facts: RunFacts, metric: str, project, update_ratio: float | None,
                          first_loss: float | None = None) -> list[Finding]:
    """AUTOTRAINER's slow convergence: no epoch gained even 0.01 accuracy, much is left to learn, and the
    steps are small.

    Args:
        update_ratio: the median per-step ‖ΔW‖/‖W‖, when the instruments read it: a run whose steps are
            not small is not slow for want of a larger rate.
        first_loss: the loss before training, so the first epoch's own gain counts.
    """
    loss = _series(history, "loss")
    if len(loss) < 3 or not np.isfinite(loss).all():
        return []
    if update_ratio is not None and update_ratio >= SMALL_UPDATE_RATIO:
        return []
    train = _series(history, metric)
    if facts.skill(float(train[-1]) if len(train) else math.nan) >= SLOW_SKILL:
        return []
    if first_loss is not None and math.isfinite(first_loss) and first_loss > 0 \
            and (first_loss - loss[0]) / first_loss >= SLOW_FIRST_FALL:
        return []  # the first epoch learned (from the loss before training): it converged early, not slowly
    if facts.is_classification:
        gains = [np.max(np.diff(values)) for values in (train, _series(history, f"val_{metric}")) if len(values) > 1]
        if not gains or max(gains) >= SLOW_GAIN:
            return []
        evidence = Text.of("In {epochs} epochs no epoch raised the training or validation accuracy by {step} or "
                           "more (the best gain: {gain}).", epochs=len(loss), step=SLOW_GAIN,
                           gain=f"{max(gains):.4f}")
    else:
        start = np.concatenate([[first_loss], loss]) if first_loss is not None and math.isfinite(first_loss) else loss
        falls = -np.diff(start) / np.maximum(np.abs(start[:-1]), 1e-12)
        if np.max(falls) >= SLOW_LOSS_FALL:
            return []
        evidence = Text.of("In {epochs} epochs no epoch lowered the training loss by 1 % or more (the best: "
                           "{percent} %).", epochs=len(loss), percent=f"{np.max(falls) * 100:.2f}")
    if update_ratio is not None:
        evidence = Text.of("{evidence} Each step changes the weights by {ratio} of their size (a healthy step: "
                           "about 1e-3).", evidence=evidence, ratio=f"{update_ratio:.1e}")
    return [Finding("learning_rate_too_low", PROBLEM, evidence,
                    Text.of("The steps are too small to get anywhere in the epochs given."),
                    (*remedies.faster_rates(project), remedies.more_epochs(project, 3.0)),
                    epoch=len(loss), figure=("loss", float(loss[-1])))]


def exploding_loss(history: dict, facts: RunFacts, project) -> list[Finding]:
    """A cross-entropy loss of 1000 or more (no real model is that wrong), or a regression's loss
    a thousand times its first."""
    loss = _series(history, "loss")
    finite = loss[np.isfinite(loss)]
    if not len(finite):
        return []
    if facts.chance_loss is not None:  # cross-entropy: 1000 nats, or a hundred times chance's ln C
        limit = min(EXPLODED_LOSS, EXPLODED_OVER_CHANCE * facts.chance_loss)
    else:
        limit = EXPLODED_LOSS * max(abs(finite[0]), 1e-12)
    huge = np.flatnonzero(finite >= limit)
    if facts.chance_loss is None and len(finite) < 2:
        return []
    if not len(huge):
        return []
    epoch = int(huge[0]) + 1
    return [Finding(
        "exploding_gradients", PROBLEM,
        Text.of("The training loss reached {loss} in epoch {epoch}.", loss=f"{finite[huge[0]]:.3g}", epoch=epoch),
        EXPLODING_CAUSE, exploding_remedies(project), epoch=epoch,
        figure=("loss", float(finite[-1])))]


def fit_at_end(history: dict, facts: RunFacts, metric: str, project, upto: int | None = None) -> list[Finding]:
    """Underfitting (the training figure near the baseline) and no better than the baseline (the held-out one)."""
    train = _series(history, metric)[:upto]
    if not len(train) or not np.isfinite(train[-1]):
        return []
    found = []
    skill = facts.skill(float(train[-1]))
    baseline_name = (Text.of("always guessing '{name}'", name=facts.majority_class) if facts.is_classification
                     else Text.of("always predicting the median"))
    if skill < UNDERFIT_SKILL:
        dense = len(remedies.hidden_dense_positions(project))
        offered = [remedies.wider_layers(4.0)] if dense else []
        if dense < 2:
            offered.append(remedies.add_hidden_layer(64))
        offered.append(remedies.more_epochs(project, 3.0))
        found.append(Finding(
            "underfitting", PROBLEM,
            Text.of("The final training {metric} is {value}; {baseline} gives {base}.", metric=Text.of(metric),
                    value=f"{train[-1]:.4g}", baseline=baseline_name, base=f"{facts.baseline:.4g}"),
            Text.of("The network cannot even fit the rows it trains on: it is too small or too simple for the "
                    "pattern, or it trained too briefly."),
            tuple(offered), epoch=len(train), figure=(metric, float(train[-1]))))
    held_key = f"val_{metric}"
    held = _series(history, held_key)[:upto]
    if len(held) and np.isfinite(held[-1]) and facts.skill(float(held[-1])) < BASELINE_SKILL:
        offered = (remedies.wider_layers(4.0), remedies.more_epochs(project, 3.0))
        found.append(Finding(
            "no_better_than_baseline", PROBLEM,
            Text.of("The final validation {metric} is {value}; {baseline} gives {base}.", metric=Text.of(metric),
                    value=f"{held[-1]:.4g}", baseline=baseline_name, base=f"{facts.baseline:.4g}"),
            Text.of("On rows it did not train on, the model does no better than one fixed answer, so it has "
                    "learned nothing that carries over."),
            offered, epoch=len(held), figure=(held_key, float(held[-1]))))
    return found


def not_converged(history: dict, project, reason: str) -> list[Finding]:
    """Still improving at the end (Tuning Playbook): train longer.

    Judged on the validation loss when there is one: a training loss that keeps falling while the
    validation loss stands still is memorising, and more epochs would not help.
    """
    key = "val_loss" if len(_series(history, "val_loss")) else "loss"
    loss = _series(history, key)
    if reason != "completed" or len(loss) < 5 or not np.isfinite(loss).all():
        return []
    tail = max(3, len(loss) // 5)
    before = float(np.min(loss[:-tail]))
    fall = (before - loss[-1]) / max(abs(before), 1e-12)
    if fall <= CONVERGED_FALL or before - loss[-1] < CONVERGED_FALL_OF_FIRST * abs(loss[0]):
        return []
    if loss[-1] > np.min(loss) * (1 + AT_BEST):
        return []
    return [Finding(
        "not_converged", NOTE,
        Text.of("In the last {tail} epochs the {which} fell a further {percent} % ({before} → {now}) and is at its "
                "lowest.", tail=tail, which=Text.of(FIGURE_NAMES[key]), percent=f"{fall * 100:.1f}",
                before=f"{before:.4g}", now=f"{loss[-1]:.4g}"),
        Text.of("Training stopped while the network was still learning."),
        # Two lengths: a repair tries the second (of the same kind, so on the original) when three
        # times as long still improved but did not settle.
        (remedies.more_epochs(project, 3.0), remedies.more_epochs(project, 10.0)), epoch=len(loss),
        figure=(key, float(loss[-1])))]


def initial_loss_off(first_loss: float | None, facts: RunFacts, project) -> list[Finding]:
    """Karpathy's check: before any step, a C-class cross-entropy loss should be about ln C."""
    expected = facts.chance_loss
    if expected is None or first_loss is None or not math.isfinite(first_loss):
        return []
    if first_loss <= expected * INITIAL_LOSS_FACTOR or first_loss - expected <= INITIAL_LOSS_MARGIN:
        return []
    penalised = any(getattr(layer, "l1", 0) > 1e-3 or getattr(layer, "l2", 0) > 1e-3 for layer in project.layers)
    offered = (remedies.set_l2(1e-4),) if penalised else (remedies.glorot_initialisation(),)
    return [Finding(
        "initial_loss_off", NOTE,
        Text.of("Before training the loss was {loss}; a network that knows nothing about {classes} classes "
                "scores ln {classes} = {expected}.", loss=f"{first_loss:.4g}", classes=facts.n_classes,
                expected=f"{expected:.3f}"),
        Text.of("A large weight penalty is added to the loss from the start.") if penalised else
        Text.of("The untrained network is already confidently wrong: its first weights or its inputs are far "
                "too large."),
        offered, epoch=0, figure=("initial_loss", first_loss))]


def _overfitting_remedies(facts: RunFacts) -> tuple:
    """Early stopping, dropout and L2 for any data; for images, moving them (data augmentation) comes second,
    as the notes teach it; noise on other data comes last."""
    augment = () if facts.augmented else (remedies.augment(facts.images),)
    if facts.images:
        return (remedies.early_stopping(5), *augment, remedies.add_dropout(0.3), remedies.set_l2(1e-3))
    return (remedies.early_stopping(5), remedies.add_dropout(0.3), remedies.set_l2(1e-3), *augment)
