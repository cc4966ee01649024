"""The program's words in English or in Simplified Chinese (简体中文), for the window and the command line.

The English text in the code is the key: ``tr("Epochs")`` gives "轮数" when
the language is Chinese, and the text itself in English or when a text has
no translation yet. A text with values names them, ``tr("fold {fold}/{folds}",
fold=2, folds=5)``, so that a translation can put them where its grammar
wants them. The tables live in ``resources/i18n/<language>.json``.

The language is chosen once, at start-up (`choose_language`):
``KERAS_TRAINER_LANGUAGE`` if set, else (the window only) the one saved from
Help ▸ Language, else the system's. The engine's sentences (``models/``,
``datasets/``) are `models.text.Text`, and its errors `models.errors.UserError`:
`translated` shows either in the chosen language. Nothing here imports Qt.
"""

from __future__ import annotations

import json
import locale
import os
from pathlib import Path

from models.errors import UserError
from models.text import Text

ENGLISH, CHINESE = "en", "zh_CN"
LANGUAGES = {ENGLISH: "English", CHINESE: "简体中文"}
TABLES = Path(__file__).resolve().parents[1] / "resources" / "i18n"
ENVIRONMENT_VARIABLE = "KERAS_TRAINER_LANGUAGE"

_language = ENGLISH
_table: dict[str, str] = {}


def load_table(language: str) -> dict[str, str]:
    """The translations for ``language`` (English keys); empty for English."""
    if language == ENGLISH:
        return {}
    return json.loads((TABLES / f"{language}.json").read_text(encoding="utf-8"))


def set_language(language: str) -> None:
    """Makes `tr` answer in ``language``, one of `LANGUAGES`."""
    global _language, _table
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}: use one of {', '.join(LANGUAGES)}")
    _table = load_table(language)
    _language = language


def language() -> str:
    return _language


def choose_language(requested: str | None, saved: str | None, system_locale: str) -> str:
    """The language to use: ``requested`` (the environment), else ``saved``, else the system's.

    Any Chinese system locale (``zh_CN``, ``zh_TW``, ``zh_HK``…) gets Chinese; Simplified
    Chinese is the one translated so far.
    """
    for choice in (requested, saved):
        if choice in LANGUAGES:
            return choice
    return CHINESE if system_locale.lower().startswith("zh") else ENGLISH


def system_locale() -> str:
    """The system's locale name (``zh_CN``, ``en_GB``…), or "" when it names none."""
    try:
        name = locale.getlocale()[0]
    except ValueError:
        name = None
    if name and name not in ("C", "POSIX"):
        return name
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if os.environ.get(variable):
            return os.environ[variable]
    return ""


def language_from_environment() -> str:
    """The command line's language: ``KERAS_TRAINER_LANGUAGE``, else the system locale's."""
    return choose_language(os.environ.get(ENVIRONMENT_VARIABLE), None, system_locale())


def tr(text: str, /, **values) -> str:
    """``text`` in the chosen language, with ``values`` put into its ``{names}``."""
    template = _table.get(text, text)
    return template.format(**values) if values else template


def translated(message) -> str:
    """A sentence for the user in the chosen language: an engine `Text` or `UserError` translated,
    anything else (another exception, a plain string) as ``str`` gives it."""
    if isinstance(message, (Text, UserError)):
        return message.translated(tr)
    return str(message)
