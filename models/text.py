"""A sentence any language can show: an English template and the values that fill it.

``str(text)`` is the English sentence (the command line in English, the JSON
files a run writes); ``text.translated(tr)`` passes the same template to a
translation (`models.language.tr`), so the sentence reads the same in every
language the program speaks. Nothing here imports Keras or Qt.
"""

from __future__ import annotations


class Text(str):
    """A sentence as an English template and the values that fill its ``{names}``.

    It is the English sentence itself (a ``str``), so whatever takes a sentence
    takes it; ``template`` and ``values`` let `translated` show it in another
    language. The values are already formatted (numbers as the sentence shows
    them), so every language shows the same figures. A value may itself be a
    `Text` (or an error that carries one, such as a `models.errors.UserError`),
    or a tuple of them (shown joined by "; "), translated with the sentence.
    """

    template: str
    values: tuple

    def __new__(cls, template: str, values: tuple = ()) -> Text:
        values = tuple(values)
        text = super().__new__(cls, _fill(template, values, _english))
        text.template, text.values = template, values
        return text

    @classmethod
    def of(cls, template: str, /, **values) -> Text:
        return cls(template, tuple((name, _kept(value)) for name, value in values.items()))

    @classmethod
    def joined(cls, parts, separator: str = " ") -> Text:
        """The sentences ``parts`` one after another, each translated on its own."""
        parts = tuple(parts)
        template = separator.join(f"{{part{index}}}" for index in range(len(parts)))
        return cls.of(template, **{f"part{index}": part for index, part in enumerate(parts)})

    def translated(self, translate) -> str:
        """The sentence through ``translate(template, **values)``, such as `models.language.tr`."""
        return _fill(self.template, self.values, translate)

    def __reduce__(self):  # a copy (another process, `copy.deepcopy`) keeps its template
        return type(self), (self.template, self.values)


def _fill(template: str, values: tuple, translate) -> str:
    return translate(template, **{name: _filled(value, translate) for name, value in values})


def _kept(value):
    """A value as a `Text` stores it: sentences (and errors carrying one) as they are, the rest as text."""
    if isinstance(value, (Text, tuple)):
        return value
    carried = getattr(value, "text", None)
    return carried if isinstance(carried, Text) else str(value)


def _english(template: str, **values) -> str:
    return template.format(**values) if values else template


def _filled(value, translate) -> str:
    if isinstance(value, Text):
        return value.translated(translate)
    if isinstance(value, tuple):
        return "; ".join(_filled(part, translate) for part in value)
    return value
