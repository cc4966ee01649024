"""The shape every settings panel shares with the window's undo stack."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QScrollArea

from models.network.spec import Project


class ProjectPanel(QScrollArea):
    """A scrolling form over part of a project.

    The contract with the window: `set_project` shows a project without
    emitting anything; every user edit emits `changed` with a new project and
    a short description for the undo menu.
    """

    changed = Signal(object, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self._project = Project()


class DrawnWhenShown:
    """For a view in a tab: while hidden it only notes what to draw, and draws it when next shown.

    A small network reads its layers several times a second; the Neurons and
    Weights views drew every reading behind other tabs (10-30 ms each), time the
    window's visible charts needed. Mix it in before the Qt class, and begin
    each drawing method with ``if self.later(self._draw): return``.
    """

    def later(self, draw) -> bool:
        """`True` (and ``draw`` noted for the next show) when the view is hidden."""
        if self.isVisible() or getattr(self, "_drawing_pending", False):
            return False
        pending = self.__dict__.setdefault("_drawn_when_shown", [])
        if draw not in pending:
            pending.append(draw)
        return True

    def draw_pending(self) -> None:
        """Draws what was noted while hidden (tests and screenshots call it; a show does)."""
        pending, self._drawn_when_shown = getattr(self, "_drawn_when_shown", []), []
        self._drawing_pending = True
        try:
            for draw in pending:
                draw()
        finally:
            self._drawing_pending = False

    def showEvent(self, event):  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self.draw_pending()
