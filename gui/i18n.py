"""The window's words in English or in Simplified Chinese (简体中文).

The language core lives in `models.language` (Qt-free, shared with the command
line); this module is the window's name for it. The language is chosen once,
before the window is built (`choose_language`): ``KERAS_TRAINER_LANGUAGE`` if
set, else the one saved from Help ▸ Language, else the system's. The engine's
sentences and errors (``models/``, ``datasets/``) are shown with `error_text`,
in the same language.
"""

from __future__ import annotations

from models.language import (
    CHINESE,
    ENGLISH,
    LANGUAGES,
    TABLES,
    choose_language,
    language,
    load_table,
    set_language,
    tr,
    translated,
)

__all__ = ["CHINESE", "ENGLISH", "LANGUAGES", "TABLES", "choose_language", "error_text", "language", "load_table",
           "set_language", "tr"]


def error_text(error) -> str:
    """What the window shows for an error or an engine sentence: a `UserError` or `Text` in the
    window's language, anything else as ``str`` gives it."""
    return translated(error)
