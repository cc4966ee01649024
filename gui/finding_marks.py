"""Marks on the loss chart: a vertical line at the epoch each finding of the diagnosis was first seen."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt

from gui.i18n import tr

PROBLEM_COLOR = (200, 60, 40)
NOTE_COLOR = (120, 120, 120)


class FindingMarks:
    """Vertical lines on a plot, one per finding, labelled with its title.

    Several findings of one epoch share a line, labelled with the most urgent
    title and how many more there are (the Results tab lists them all);
    successive lines' labels step up so they do not cover each other.
    """

    def __init__(self, plot_item: pg.PlotItem):
        self._plot = plot_item
        self._lines: dict[float, pg.InfiniteLine] = {}
        self._titles: dict[float, list[str]] = {}

    def add(self, finding) -> None:
        """Marks ``finding`` (a `models.diagnosis.findings.Finding`) at its epoch; one without an epoch is not marked."""
        if finding.epoch is None:
            return
        epoch = float(finding.epoch)
        titles = self._titles.setdefault(epoch, [])
        title = tr(finding.title)
        if title in titles:
            return
        titles.append(title)
        line = self._lines.get(epoch)
        if line is None:
            problem = finding.severity == "problem"
            color = PROBLEM_COLOR if problem else NOTE_COLOR
            line = pg.InfiniteLine(
                pos=epoch, angle=90, movable=False,
                pen=pg.mkPen(*color, 200, width=1.5, style=Qt.PenStyle.DashLine),
                label="", labelOpts={"position": 0.03 + 0.09 * (len(self._lines) % 4), "color": color, "fill": pg.mkBrush(255, 255, 255, 210),
                                     # near the bottom, clear of the legend at the top: right of
                                     # the line, or left of it in the right half of the view
                                     "anchors": [(0, 1), (1, 1)]})
            line.setZValue(5)
            self._plot.addItem(line, ignoreBounds=True)
            self._lines[epoch] = line
        elif finding.severity == "problem":
            line.setPen(pg.mkPen(*PROBLEM_COLOR, 200, width=1.5, style=Qt.PenStyle.DashLine))
            line.label.setColor(PROBLEM_COLOR)
        more = f" +{len(titles) - 1}" if len(titles) > 1 else ""
        line.label.setFormat(f" ⚠ {titles[0]}{more} ")

    def clear(self) -> None:
        for line in self._lines.values():
            self._plot.removeItem(line)
        self._lines.clear()
        self._titles.clear()

    def epochs(self) -> list[float]:
        """The epochs marked, in order."""
        return sorted(self._lines)

    def titles_at(self, epoch: float) -> list[str]:
        """The titles of the findings marked at ``epoch``."""
        return list(self._titles.get(float(epoch), []))
