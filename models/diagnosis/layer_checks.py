"""Checks on the instruments' readings: gradients that vanish or explode, units that die or saturate.

Each takes one `models.instruments.readings.InstrumentReading` and says what
it shows. The thresholds are AUTOTRAINER's (Zhang et al., ICSE 2021) and
DeepDiagnosis's (Wardat et al., ICSE 2022).
"""

from __future__ import annotations

import math

from models.diagnosis import remedies
from models.diagnosis.findings import PROBLEM, Finding, Text

# AUTOTRAINER's vanishing gradient: ‖∇W_first‖ / ‖∇W_last‖ below 1e-3 with ‖∇W_first‖ below 1e-4.
VANISHING_RATIO = 1e-3
VANISHING_FIRST = 1e-4
# AUTOTRAINER's exploding gradient: that ratio above 70, where the first layer's gradient is not
# itself tiny (a network whose units all died has ratios of 1e-12 / 1e-14).
EXPLODING_RATIO = 70.0
EXPLODING_FIRST = 1e-2
# Or gradients growing without bound: a layer's ‖∇W‖ a thousand times what it was before training,
# and large in itself (a stalled network's gradients can grow from 1e-9 to 1e-6).
EXPLODING_GROWTH = 1e3
EXPLODING_GROWN_TO = 1.0
# DeepDiagnosis and AUTOTRAINER: 70 % or more of a ReLU layer's units dead.
DEAD_SHARE = 0.7
# DeepDiagnosis: more than half of a sigmoid or tanh layer saturated (|pre-activation| > 5).
SATURATED_SHARE = 0.5


def gradient_ratio(reading) -> float | None:
    """‖∇W_first‖ / ‖∇W_last‖ over the Dense layers (output included), or `None` with fewer than two."""
    layers = reading.layers
    if len(layers) < 2:
        return None
    first, last = layers[0].gradient_norm, layers[-1].gradient_norm
    if not (math.isfinite(first) and math.isfinite(last)) or last == 0:
        return None
    return first / last


def layer_findings(reading, positions: list[int], project, first=None) -> list[Finding]:
    """Every finding one reading shows.

    Args:
        reading: an `InstrumentReading`.
        positions: the project layer (1-based) of each hidden Dense layer, in
            the readings' order; the output layer has none.
        project: the project trained, for the remedies' numbers.
        first: the reading before training, to see gradients grow; `None` for none.
    """
    epoch = int(math.ceil(reading.epoch - 1e-9))
    found = []
    # Dead units pass no gradient at all: the dying ReLU finding says why the first layers' gradient vanished.
    dead = any(layer.dead_fraction is not None and layer.dead_fraction >= DEAD_SHARE for layer in reading.layers)
    found += [finding for finding in _gradients(reading, epoch, project)
              if not (dead and finding.code == "vanishing_gradients")]
    if first is not None and not any(finding.code == "exploding_gradients" for finding in found):
        found += _growing_gradients(first, reading, epoch, project)
    for index, layer in enumerate(reading.layers[:len(positions)]):
        position = positions[index]
        if layer.dead_fraction is not None and layer.dead_fraction >= DEAD_SHARE:
            found.append(Finding(
                "dying_relu", PROBLEM,
                Text.of("{percent} % of layer {layer}'s ReLU units output 0 for every probe row (epoch {epoch}).",
                        percent=f"{layer.dead_fraction * 100:.0f}", layer=position, epoch=epoch),
                Text.of("A large step pushed these units' inputs below zero for every row; there a ReLU's slope is "
                        "0, so no gradient can bring them back."),
                (remedies.leaky_relu(), remedies.scale_learning_rate(project, 0.1), remedies.add_batchnorm()),
                epoch=epoch, layer=position, figure=("dead_fraction", layer.dead_fraction)))
        if layer.saturated_fraction is not None and layer.saturated_fraction > SATURATED_SHARE:
            found.append(Finding(
                "saturated_activations", PROBLEM,
                Text.of("{percent} % of layer {layer}'s {activation} units have |input| > 5 for most probe rows "
                        "(epoch {epoch}).", percent=f"{layer.saturated_fraction * 100:.0f}", layer=position,
                        activation=layer.activation, epoch=epoch),
                Text.of("Far from zero a sigmoid or tanh is flat, so almost no gradient passes through it."),
                (remedies.he_relu(only=("sigmoid", "tanh")), remedies.add_batchnorm(),
                 remedies.scale_learning_rate(project, 0.1)),
                epoch=epoch, layer=position, figure=("saturated_fraction", layer.saturated_fraction)))
    return found


def _gradients(reading, epoch: int, project) -> list[Finding]:
    ratio = gradient_ratio(reading)
    if ratio is None:
        return []
    first, last = reading.layers[0].gradient_norm, reading.layers[-1].gradient_norm
    numbers = {"first": f"{first:.2e}", "last": f"{last:.2e}", "ratio": f"{ratio:.2e}", "epoch": epoch}
    if ratio < VANISHING_RATIO and first < VANISHING_FIRST:
        return [Finding(
            "vanishing_gradients", PROBLEM,
            Text.of("‖∇W‖ of the first layer is {first}, of the last {last}: a ratio of {ratio} (epoch {epoch}).",
                    **numbers),
            Text.of("Each sigmoid or tanh layer multiplies the gradient by its slope (at most 0.25 for a "
                    "sigmoid) on the way back, so the first layers hardly learn."),
            (remedies.he_relu(only=("sigmoid", "tanh")), remedies.add_batchnorm(), remedies.glorot_initialisation(),
             *((remedies.residual_connections(),) if not _all_residual(project) else ())),
            epoch=epoch, layer=1, figure=("gradient_ratio", ratio))]
    if ratio > EXPLODING_RATIO and first > EXPLODING_FIRST:
        return [Finding(
            "exploding_gradients", PROBLEM,
            Text.of("‖∇W‖ of the first layer is {first}, of the last {last}: a ratio of {ratio} (epoch {epoch}).",
                    **numbers), EXPLODING_CAUSE, exploding_remedies(project), epoch=epoch, layer=1,
            figure=("gradient_ratio", ratio))]
    return []


EXPLODING_CAUSE = Text.of("Gradients grow as they pass back through the layers until a step throws the weights "
                          "far away.")


def exploding_remedies(project) -> tuple:
    """Clipping first for SGD, whose step is the gradient; a smaller rate first for the adaptive
    optimizers, whose step does not grow with the gradient, so clipping it changes little."""
    clip, slower = [remedies.clip_gradient_norm(1.0)], remedies.slower_rates(project)
    first = clip + slower if project.optimizer.name == "sgd" else slower + clip
    return (*first, remedies.add_batchnorm())


def _growing_gradients(first_reading, reading, epoch: int, project) -> list[Finding]:
    for before, now in zip(first_reading.layers, reading.layers):
        grown = now.gradient_norm / before.gradient_norm if before.gradient_norm > 0 else 0.0
        if math.isfinite(grown) and grown >= EXPLODING_GROWTH and now.gradient_norm >= EXPLODING_GROWN_TO:
            return [Finding(
                "exploding_gradients", PROBLEM,
                Text.of("‖∇W‖ of {name} grew from {before} before training to {now} (epoch {epoch}).",
                        name=now.name, before=f"{before.gradient_norm:.2e}", now=f"{now.gradient_norm:.2e}",
                        epoch=epoch), EXPLODING_CAUSE, exploding_remedies(project), epoch=epoch, layer=None,
                figure=("gradient_growth", grown))]
    return []


def _all_residual(project) -> bool:
    from models.network.spec import DenseLayer

    return project is not None and all(layer.residual for layer in project.layers if isinstance(layer, DenseLayer))
