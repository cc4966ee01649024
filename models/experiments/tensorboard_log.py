"""TensorBoard event files in each run folder, when the optional extra is installed (`write_tensorboard`).

``pip install -e '.[tensorboard]'`` adds TensorBoard; from then on every run
folder gets a ``tensorboard/`` folder beside its model, and
``tensorboard --logdir RUNS_DIR`` shows every run: the epoch figures
(``train/`` and ``validation/``, as Keras's own callback names them, so the
two curves share a chart), the learning rate, and each Dense layer's
weight, gradient and output histograms as the instruments read them.
Without the extra nothing is written and nothing is missed. The events are
TensorBoard's own protocol buffers, written by its own event file writer:
``tf.summary`` needs TensorBoard's code as well, and costs an eager op per
value.

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
    """The events as TensorBoard's own protocol buffers, written by its event file writer: the same
    files as ``tf.summary`` writes, without an eager TensorFlow op per value (0.06 s a small run took
    that way, a fifth of a 20-epoch spiral run)."""
    import time

    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    now = time.time()
    writers = {name: EventFileWriter(str(folder / name)) for name in ("train", "validation")}

    def scalar(writer: str, tag: str, value: float, step: int) -> None:
        writers[writer].add_event(Event(wall_time=now, step=step, summary=Summary(
            value=[Summary.Value(tag=tag, simple_value=float(value))])))

    try:
        for key, values in history.items():
            validation = key.startswith("val_")
            tag = f"epoch_{key[4:] if validation else key}"
            for epoch, value in enumerate(values, start=1):
                if math.isfinite(value):
                    scalar("validation" if validation else "train", tag, value, epoch)
        # Trained on ("train more"), the history holds the earlier epochs too, the rates only the new ones.
        first = max((len(values) for values in history.values()), default=0) - len(learning_rates) + 1
        for epoch, rate in enumerate(learning_rates, start=max(first, 1)):
            scalar("train", "epoch_learning_rate", rate, epoch)
        for reading in readings:
            writers["train"].add_event(Event(wall_time=now, step=int(reading.step),
                                             summary=Summary(value=_histograms(reading))))
    finally:
        for writer in writers.values():
            writer.close()


def _histograms(reading) -> list:
    """Each Dense layer's weights, gradients and outputs at one reading, as TensorBoard histograms."""
    from tensorboard.compat.proto.summary_pb2 import HistogramProto, Summary

    values = []
    for layer in reading.layers:
        for kind in ("weights", "gradients", "outputs"):
            histogram = getattr(layer, kind)
            edges = np.asarray(histogram.edges, dtype=np.float64)
            counts = np.asarray(histogram.counts, dtype=np.float64)
            centres = (edges[:-1] + edges[1:]) / 2
            total = float(counts.sum())
            low = histogram.minimum if math.isfinite(histogram.minimum) else float(edges[0])
            high = histogram.maximum if math.isfinite(histogram.maximum) else float(edges[-1])
            proto = HistogramProto(min=low, max=high, num=total, sum=float((centres * counts).sum()),
                                   sum_squares=float((centres ** 2 * counts).sum()),
                                   bucket_limit=[float(edge) for edge in edges[1:]],
                                   bucket=[float(count) for count in counts])
            values.append(Summary.Value(tag=f"{layer.name}/{kind}", histo=proto))
    return values
