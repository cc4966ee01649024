"""How long the training charts take to redraw with half a million batch points.

Run ``python benchmarks/chart_redraw.py [points]``; it prints the median of 20
redraws, each after 100 new batches arrive (as during a fast run), measured as
``redraw_now()`` plus the ``processEvents()`` that paints the widget, in an
off-screen 1200×500 window. ``measure_redraw_ms`` returns the same number for
other benchmarks.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from gui.charts import TrainingCharts  # noqa: E402

STEPS_PER_EPOCH = 10_000
NEW_BATCHES_PER_REDRAW = 100


def _fake_batch(rng: np.random.Generator, index: int) -> tuple[float, float, float]:
    x = index / STEPS_PER_EPOCH
    loss = 2.0 * np.exp(-x / 10) + 0.05 + 0.1 * rng.random()
    accuracy = 1.0 - 0.9 * np.exp(-x / 8) - 0.05 * rng.random()
    return x, float(loss), float(accuracy)


def measure_redraw_ms(points: int = 500_000, redraws: int = 20, smoothing: float = 0.6) -> float:
    """Median milliseconds of one redraw of the charts holding ``points`` batch points.

    Args:
        points: how many per-batch points each chart holds at the last redraw.
            Defaults to `500_000`.
        redraws: how many redraws to time. Defaults to `20`.
        smoothing: the per-batch smoothing weight in effect. Defaults to `0.6`.
    """
    app = QApplication.instance() or QApplication([])
    charts = TrainingCharts()
    charts.resize(1200, 500)
    charts.set_smoothing(smoothing)
    charts.show()
    rng = np.random.default_rng(0)
    first = max(0, points - redraws * NEW_BATCHES_PER_REDRAW)
    for index in range(first):
        charts.add_batch(*_fake_batch(rng, index))
        if (index + 1) % STEPS_PER_EPOCH == 0:
            epoch = (index + 1) // STEPS_PER_EPOCH
            charts.add_epoch(
                epoch, {"loss": 0.5, "accuracy": 0.8, "val_loss": 0.6, "val_accuracy": 0.7}
            )
    charts.redraw_now()
    app.processEvents()

    timings = []
    index = first
    for _ in range(redraws):
        for _ in range(NEW_BATCHES_PER_REDRAW):
            charts.add_batch(*_fake_batch(rng, index))
            index += 1
        start = time.perf_counter()
        charts.redraw_now()
        app.processEvents()
        timings.append((time.perf_counter() - start) * 1000.0)
    charts.close()
    charts.deleteLater()
    app.processEvents()
    return statistics.median(timings)


def main() -> None:
    points = int(sys.argv[1]) if len(sys.argv) > 1 else 500_000
    for smoothing in (0.0, 0.6):
        median = measure_redraw_ms(points, smoothing=smoothing)
        print(f"{points} batch points, smoothing {smoothing}: median redraw {median:.2f} ms")


if __name__ == "__main__":
    main()
