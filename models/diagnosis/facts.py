"""What the diagnosis knows about a run before it starts: the task, the baselines, the sizes.

Worked out once from the project, the data set and the rows the runner fits
and validates on, so every check compares with the same yardsticks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CROSS_ENTROPY_LOSSES = ("binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy")


@dataclass
class RunFacts:
    """The yardsticks of one run.

    Args:
        task: ``classification`` or ``regression``.
        metric: ``accuracy`` or ``mae``.
        loss: the Keras loss name used.
        n_classes: classes (0 for regression).
        fit_rows: rows the model is fitted on.
        validation_rows: rows held out for validation (0 for none).
        parameters: the network's trainable and other parameters.
        baseline: the metric of always giving one answer: the most common
            class's share (accuracy), or the mean absolute distance of the
            targets from their median (MAE).
        majority_class: the most common class's name; "" for regression.
        chance_loss: the loss of a network that says "I don't know": ln C for
            C classes with cross-entropy; `None` for other losses.
        images: whether the rows are square images (shift, rotation and zoom apply).
        augmented: whether the project already augments its training rows.
    """

    task: str
    metric: str
    loss: str
    n_classes: int
    fit_rows: int
    validation_rows: int
    parameters: int
    baseline: float
    majority_class: str = ""
    chance_loss: float | None = None
    images: bool = False  # the rows are square images, which data augmentation can move
    augmented: bool = False  # the project already augments its training rows

    @property
    def is_classification(self) -> bool:
        return self.task == "classification"

    def skill(self, value: float) -> float:
        """How far ``value`` of the metric is from the baseline towards perfect: 0 at the baseline, 1 at perfect."""
        if not math.isfinite(value):
            return 0.0
        if self.is_classification:
            return (value - self.baseline) / max(1.0 - self.baseline, 1e-9)
        return 1.0 - value / max(self.baseline, 1e-12)


def run_facts(project, dataset, plan, fit_y: np.ndarray, validation_y: np.ndarray | None, parameters: int) -> RunFacts:
    """The yardsticks of training ``project`` on ``dataset``'s rows ``fit_y`` (raw targets: class numbers or values)."""
    from models.network.build import has_square_images

    validation_rows = 0 if validation_y is None else len(validation_y)
    images = has_square_images(dataset)
    shape = {"images": images, "augmented": project.augmentation.active}
    if dataset.is_classification:
        counts = np.bincount(np.asarray(fit_y, dtype=np.int64), minlength=dataset.n_classes)
        majority = int(np.argmax(counts))
        baseline = float(counts[majority] / max(counts.sum(), 1))
        chance = None
        if plan.loss in CROSS_ENTROPY_LOSSES:
            chance = math.log(2.0) if plan.units == 1 else math.log(dataset.n_classes)
        return RunFacts(dataset.task, plan.metric, plan.loss, dataset.n_classes, len(fit_y), validation_rows,
                        parameters, baseline, str(dataset.class_names[majority]), chance, **shape)
    values = np.asarray(fit_y, dtype=np.float64)
    baseline = float(np.mean(np.abs(values - np.median(values)))) if len(values) else 1.0
    return RunFacts(dataset.task, plan.metric, plan.loss, 0, len(fit_y), validation_rows, parameters, baseline,
                    **shape)
