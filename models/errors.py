"""The one error type a user ever sees: a sentence saying what was wrong."""

from __future__ import annotations

from models.text import Text


class UserError(ValueError):
    """Bad input, explained in a sentence that names what to change.

    The sentence is a `Text`: ``str(error)`` is the English one, and
    ``error.translated(tr)`` the same sentence in the interface's language.
    The command line prints it after ``error:``; the window shows it in a message.
    """

    def __init__(self, message: str | Text):
        text = message if isinstance(message, Text) else Text(str(message))
        super().__init__(str(text))
        self.text = text

    @classmethod
    def of(cls, template: str, /, **values) -> UserError:
        """The error whose sentence is ``template`` filled with ``values`` (see `Text.of`)."""
        return cls(Text.of(template, **values))

    def translated(self, translate) -> str:
        return self.text.translated(translate)

    def __reduce__(self):  # a copy sent to another process keeps its template
        return type(self), (self.text,)
