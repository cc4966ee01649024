"""The window's words in English or in Simplified Chinese (简体中文).

The English text in the code is the key: ``tr("Epochs")`` gives "轮数" when
the language is Chinese, and the text itself in English or when a text has
no translation yet. A text with values names them, ``tr("fold {fold}/{folds}",
fold=2, folds=5)``, so that a translation can put them where its grammar
wants them. The tables live in ``resources/i18n/<language>.json``.

The language is chosen once, before the window is built (`choose_language`):
``KERAS_TRAINER_LANGUAGE`` if set, else the one saved from Help ▸ Language,
else the system's. Messages written by the engine (``models/``,
``datasets/``) stay in English.
"""

from __future__ import annotations

import json
from pathlib import Path

ENGLISH, CHINESE = "en", "zh_CN"
LANGUAGES = {ENGLISH: "English", CHINESE: "简体中文"}
TABLES = Path(__file__).resolve().parents[1] / "resources" / "i18n"

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


def tr(text: str, **values) -> str:
    """``text`` in the chosen language, with ``values`` put into its ``{names}``."""
    template = _table.get(text, text)
    return template.format(**values) if values else template
