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
