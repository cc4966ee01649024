"""Small data sets the export and script tests share."""

import numpy as np

from datasets.base import CLASSIFICATION, Dataset


def tiny_dataset(task: str, n_classes: int = 3, seed: int = 0) -> Dataset:
    """64 training and 16 test rows of 5 features."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(80, 5)).astype(np.float32)
    if task == CLASSIFICATION:
        y = (np.digitize(x[:, 0], np.linspace(-1, 1, n_classes - 1))).astype(np.int32)
        classes = [f"class {i}" for i in range(n_classes)]
    else:
        y = (x[:, 0] - x[:, 3]).astype(np.float32)
        classes = []
    return Dataset(
        name=f"tiny {task}",
        task=task,
        x_train=x[:64],
        y_train=y[:64],
        x_test=x[64:],
        y_test=y[64:],
        feature_names=[f"feature {i}" for i in range(5)],
        class_names=classes,
    )
