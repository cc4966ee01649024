"""Marks on the loss chart: a vertical line at the epoch each finding of the diagnosis was first seen."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt

from gui.i18n import tr

PROBLEM_COLOR = (200, 60, 40)
NOTE_COLOR = (120, 120, 120)


def _pen(color) -> pg.QtGui.QPen:
    return pg.mkPen(*color, 200, width=1.5, style=Qt.PenStyle.DashLine)


class FindingMarks:
    """Vertical lines on a plot, one per finding, labelled with its title.

    Several findings of one epoch share a line, labelled with the most urgent
    title and how many more there are (the Results tab lists them all);
    successive lines' labels step up so they do not cover each other.

    Lines are hidden and reused, never removed: a labelled line taken out of
    the scene and freed while Qt still held its label crashed a later repaint
    ('InfLineLabel' object has no attribute '_lastTransform').
    """

    def __init__(self, plot_item: pg.PlotItem):
        self._plot = plot_item
        self._lines: dict[float, pg.InfiniteLine] = {}
        self._titles: dict[float, list[str]] = {}
        self._spare: list[pg.InfiniteLine] = []

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
        problem = finding.severity == "problem"
        line = self._lines.get(epoch)
        if line is None:
            line = self._line_at(epoch, PROBLEM_COLOR if problem else NOTE_COLOR)
        elif problem:
            line.setPen(_pen(PROBLEM_COLOR))
            line.label.setColor(PROBLEM_COLOR)
        more = f" +{len(titles) - 1}" if len(titles) > 1 else ""
        line.label.setFormat(f" ⚠ {titles[0]}{more} ")

    def _line_at(self, epoch: float, color) -> pg.InfiniteLine:
        # Near the bottom, clear of the legend at the top; each new line's label a step higher.
        position = 0.03 + 0.09 * (len(self._lines) % 4)
        if self._spare:
            line = self._spare.pop()
            line.setPos(epoch)
            line.setPen(_pen(color))
            line.label.setColor(color)
            line.label.setPosition(position)
            line.show()
        else:
            line = pg.InfiniteLine(
                pos=epoch, angle=90, movable=False, pen=_pen(color), label="",
                labelOpts={"position": position, "color": color, "fill": pg.mkBrush(255, 255, 255, 210),
                           # right of the line, or left of it in the right half of the view
                           "anchors": [(0, 1), (1, 1)]})
            line.setZValue(5)
            self._plot.addItem(line, ignoreBounds=True)
        self._lines[epoch] = line
        return line

    def clear(self) -> None:
        for line in self._lines.values():
            line.hide()
            self._spare.append(line)
        self._lines.clear()
        self._titles.clear()

    def epochs(self) -> list[float]:
        """The epochs marked, in order."""
        return sorted(self._lines)

    def titles_at(self, epoch: float) -> list[str]:
        """The titles of the findings marked at ``epoch``."""
        return list(self._titles.get(float(epoch), []))
