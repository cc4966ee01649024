"""Other runs' curves over the live charts, each in its own colour: `RunOverlays`.

The History view hands over the runs a learner selected; each run's epoch
curves are drawn on the loss and metric charts, training solid and
validation dashed, and the legend names what differs between them
(`models.experiments.project_diff.differing_labels`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from gui.charts import METRIC_LOG_KEYS, TrainingCharts

# Colours of the overlaid runs: none is the live run's blue or orange.
PALETTE = ((44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75), (227, 119, 194), (127, 127, 127),
           (188, 189, 34), (23, 190, 207))


@dataclass
class OverlaidRun:
    """One run to draw: its legend label and history (``{figure: [value per epoch]}``)."""

    label: str
    history: dict[str, list[float]]


def metric_key(history: dict, metric: str) -> str | None:
    """The history's name of the chart's metric ("accuracy" may be logged as "acc" …), or `None`."""
    return next((key for key in METRIC_LOG_KEYS.get(metric, (metric,)) if key in history), None)


class RunOverlays:
    """Draws and removes overlaid runs on a `TrainingCharts`."""

    def __init__(self, charts: TrainingCharts):
        self.charts = charts
        self.items: list[tuple[pg.PlotItem, pg.LegendItem, pg.PlotDataItem]] = []
        self.runs: list[OverlaidRun] = []

    def show(self, runs: list[OverlaidRun]) -> None:
        """Replaces the overlaid runs with ``runs`` (at most as many as `PALETTE` has colours)."""
        self.clear()
        self.runs = list(runs[:len(PALETTE)])
        plots = self.charts.plot_items()
        metric = self.charts.metric_name()
        for colour, run in zip(PALETTE, self.runs, strict=False):
            key = metric_key(run.history, metric)
            figures = {"loss": ("loss", "val_loss"), "metric": (key, f"val_{key}") if key else ()}
            for chart, (training, validation) in ((name, pair) for name, pair in figures.items() if pair):
                plot, legend = plots[chart]
                self._curve(plot, legend, run.history.get(training), colour, run.label, Qt.PenStyle.SolidLine)
                self._curve(plot, legend, run.history.get(validation), colour, None, Qt.PenStyle.DashLine)

    def _curve(self, plot, legend, values, colour, label, style) -> None:
        if not values:
            return
        y = np.asarray(values, dtype=float)
        curve = pg.PlotDataItem(np.arange(1, len(y) + 1, dtype=float), y, pen=pg.mkPen(colour, width=1.8, style=style),
                                antialias=True, connect="finite")
        curve.setZValue(-3)  # behind the live run
        plot.addItem(curve)
        if label is not None:  # one legend entry per run: its training curve
            legend.addItem(curve, label)
        self.items.append((plot, legend, curve))

    def clear(self) -> None:
        """Removes every overlaid curve and its legend entry."""
        for plot, legend, curve in self.items:
            legend.removeItem(curve)
            plot.removeItem(curve)
        self.items, self.runs = [], []

    def count(self) -> int:
        """How many runs are overlaid."""
        return len(self.runs)
