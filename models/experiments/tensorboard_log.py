"""TensorBoard event files in each run folder, when the optional extra is installed (`write_tensorboard`).

``pip install -e '.[tensorboard]'`` adds TensorBoard; from then on every run
folder gets a ``tensorboard/`` folder beside its model, and
``tensorboard --logdir RUNS_DIR`` shows every run: the epoch figures
(``train/`` and ``validation/``, as Keras's own callback names them, so the
two curves share a chart), the learning rate, and each Dense layer's
weight, gradient and output histograms as the instruments read them.
Without the extra nothing is written and nothing is missed: TensorFlow's
summary ops need TensorBoard's own code.

The events are written when the run's results are, into a temporary folder
renamed into place, so a run killed meanwhile leaves no half-written log.
"""

from __future__ import annotations

import importlib.util
import math
import shutil
from pathlib import Path

import numpy as np

FOLDER = "tensorboard"
PARTIAL = ".tensorboard-partial"


def tensorboard_available() -> bool:
    """Whether the optional TensorBoard extra is installed."""
    return importlib.util.find_spec("tensorboard") is not None


def write_tensorboard(folder: Path, history: dict[str, list[float]], learning_rates: list[float],
                      readings: list) -> Path | None:
    """Writes the run's TensorBoard events into ``folder/tensorboard``; `None` when TensorBoard is
    not installed or the events could not be written (an optional extra never fails a run)."""
    if not tensorboard_available():
        return None
    folder = Path(folder)
    partial, final = folder / PARTIAL, folder / FOLDER
    shutil.rmtree(partial, ignore_errors=True)
    try:
        _write_events(partial, history, learning_rates, readings)
        if final.exists():
            shutil.rmtree(final)
        partial.rename(final)
    except Exception:  # noqa: BLE001 - TensorBoard's or the disk's fault, never the run's
        shutil.rmtree(partial, ignore_errors=True)
        return None
    return final


def _write_events(folder: Path, history: dict[str, list[float]], learning_rates: list[float],
                  readings: list) -> None:
    from models.training.devices import import_tensorflow

    tf = import_tensorflow()
    writers = {name: tf.summary.create_file_writer(str(folder / name)) for name in ("train", "validation")}
    try:
        for key, values in history.items():
            validation = key.startswith("val_")
            with writers["validation" if validation else "train"].as_default():
                tag = f"epoch_{key[4:] if validation else key}"
                for epoch, value in enumerate(values, start=1):
                    if math.isfinite(value):
                        tf.summary.scalar(tag, value, step=epoch)
        with writers["train"].as_default():
            # Trained on ("train more"), the history holds the earlier epochs too, the rates only the new ones.
            first = max((len(values) for values in history.values()), default=0) - len(learning_rates) + 1
            for epoch, rate in enumerate(learning_rates, start=max(first, 1)):
                tf.summary.scalar("epoch_learning_rate", rate, step=epoch)
            for reading in readings:
                _write_histograms(tf, reading)
    finally:
        for writer in writers.values():
            writer.close()


def _write_histograms(tf, reading) -> None:
    """Each Dense layer's weights, gradients and outputs at one reading, at its training step."""
    from tensorboard.plugins.histogram import metadata

    for layer in reading.layers:
        for kind in ("weights", "gradients", "outputs"):
            histogram = getattr(layer, kind)
            edges = np.asarray(histogram.edges, dtype=np.float64)
            buckets = np.stack([edges[:-1], edges[1:], np.asarray(histogram.counts, dtype=np.float64)], axis=1)
            tag = f"{layer.name}/{kind}"
            tf.summary.write(tag, tf.constant(buckets), step=int(reading.step),
                             metadata=metadata.create_summary_metadata(display_name=tag, description=""))
