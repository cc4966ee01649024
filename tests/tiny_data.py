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


def trained_briefly(project, dataset, rows: int = 256):
    """The model `build_model` makes for ``project`` on ``dataset``, trained two epochs on its first ``rows`` rows."""
    from models.network.build import build_model, encode_targets, resolve_output

    plan = resolve_output(project, dataset.task, dataset.n_classes)
    model = build_model(project, dataset.n_features, dataset.task, dataset.n_classes,
                        target_scale=dataset.target_scale, input_scale=dataset.input_scale)
    model.fit(dataset.x_train[:rows], encode_targets(dataset.y_train[:rows], plan), epochs=2, batch_size=32, verbose=0)
    return model


def export_difference(model, fmt: str, folder, project, dataset, x) -> float:
    """The largest difference between ``model`` and its ``fmt`` export, read back in that format's own runtime."""
    from models.saving.export import EXPORT_FORMATS, export_model, verify_export

    path, *_ = export_model(model, fmt, folder / EXPORT_FORMATS[fmt][0], project, dataset)
    return verify_export(model, fmt, path, x, project=project, dataset=dataset)
