"""Remembered settings: window layout, recent files and the last project.

Stored with QSettings in an INI file. A file Qt cannot read is moved aside as
``*.corrupt`` and replaced, so a damaged settings file never stops the
program from opening.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths

SETTINGS_VERSION = 1
MAX_RECENT = 8


def settings_dir() -> Path:
    """Where settings live; ``KERAS_TRAINER_SETTINGS_DIR`` overrides it (tests use that)."""
    override = os.environ.get("KERAS_TRAINER_SETTINGS_DIR")
    if override:
        return Path(override)
    base = QStandardPaths.writableLocation(QStandardPaths.GenericConfigLocation) or str(Path.home() / ".config")
    return Path(base) / "keras-trainer"


def runs_dir() -> Path:
    """Where the window writes its run folders: the runs folder the command line shares
    (`models.experiments.history.default_runs_dir`)."""
    from models.experiments.history import default_runs_dir

    return default_runs_dir()


class AppSettings:
    """A thin, forgiving layer over QSettings."""

    def __init__(self, folder: Path | None = None):
        folder = folder or settings_dir()
        self.recovered_from_corruption = False
        # "FOLDER: reason" when the settings folder cannot be used (a file in its place, no
        # permission): the program then keeps its settings in a temporary folder.
        self.unusable_reason = ""
        # A sentence when the project remembered from the last time could not be opened.
        self.last_project_problem = ""
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if not os.access(folder, os.W_OK):
                raise PermissionError(13, "Permission denied")
        except OSError as error:
            import tempfile

            self.unusable_reason = f"{folder}: {error.strerror or error}"
            folder = Path(tempfile.mkdtemp(prefix="keras-trainer-settings-"))
        self.path = folder / "settings.ini"
        self._settings = self._open()

    def _open(self) -> QSettings:
        settings = QSettings(str(self.path), QSettings.IniFormat)
        # QSettings reads the file on first use: read before asking the status, or a
        # garbled file passes as fine (and then is never written again).
        version_ok = self._version_ok(settings)
        if settings.status() != QSettings.NoError or not version_ok:
            self._set_aside()
            settings = QSettings(str(self.path), QSettings.IniFormat)
        settings.setValue("version", SETTINGS_VERSION)
        return settings

    def _version_ok(self, settings: QSettings) -> bool:
        version = settings.value("version", SETTINGS_VERSION)
        try:
            return int(version) <= SETTINGS_VERSION
        except (TypeError, ValueError):
            return False

    def _set_aside(self) -> None:
        self.recovered_from_corruption = True
        if self.path.exists():
            os.replace(self.path, self.path.with_suffix(".ini.corrupt"))

    def value(self, key: str, default=None):
        try:
            value = self._settings.value(key, default)
        except Exception:  # a value Qt cannot decode is as good as missing
            return default
        return default if value is None else value

    def set_value(self, key: str, value) -> None:
        self._settings.setValue(key, value)

    def recent_files(self) -> list[str]:
        value = self.value("recent_files", [])
        if isinstance(value, str):
            value = [value]
        return [item for item in value if isinstance(item, str)][:MAX_RECENT]

    def add_recent_file(self, path: str) -> list[str]:
        path = str(Path(path).resolve())
        files = [path] + [item for item in self.recent_files() if item != path]
        self.set_value("recent_files", files[:MAX_RECENT])
        return files[:MAX_RECENT]

    def last_project(self):
        """The project open when the program last closed, or `None`.

        It is opened like any project file, with the same checks; when it fails
        them, `last_project_problem` says why and `None` is returned.
        """
        from gui.i18n import error_text, tr
        from models.errors import UserError
        from models.network.spec import project_from_json

        text = self.value("last_project", "")
        if not text:
            return None
        if not isinstance(text, str):
            self.last_project_problem = tr("The project remembered from the last time is damaged.")
            return None
        try:
            return project_from_json(text, tr("the project remembered from the last time"))
        except UserError as error:
            self.last_project_problem = error_text(error)
            return None

    def set_last_project(self, project) -> None:
        """Remembers ``project`` for the next start, unless it holds values no project may hold."""
        from models.network.spec import project_to_dict

        if project.value_problems():
            return
        self.set_value("last_project", json.dumps(project_to_dict(project), ensure_ascii=False))

    def sync(self) -> None:
        self._settings.sync()
