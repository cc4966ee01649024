"""Turning JSON objects into dataclasses, with a sentence for every wrong value."""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any, TypeVar

from models.errors import UserError
from models.text import Text

T = TypeVar("T")

_TYPE_NAMES = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}


def shown_value(value: Any) -> str:
    """A value as a sentence shows it: never thousands of characters long."""
    try:
        text = repr(value)
    except ValueError:  # Python refuses to write a whole number of more than 4300 digits
        return "a number of thousands of digits"
    return text if len(text) <= 40 else text[:37] + "..."


def is_writable_text(text: str) -> bool:
    """Whether ``text`` can be written as UTF-8: JSON may hold lone surrogates (``\\ud800``), which cannot."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _matches(value: Any, expected: type) -> bool:
    if expected is bool:
        return isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, expected)


def dataclass_from_dict(cls: type[T], data: Any, where: str) -> T:
    """Builds ``cls`` from a JSON object, checking names and simple types.

    Args:
        cls: a dataclass whose fields all have a default of a simple type
            (bool, int, float or str).
        data: the decoded JSON value.
        where: how to name this object in an error, such as `"optimizer"`.

    Raises:
        UserError: naming the unknown setting or the value of the wrong type.
    """
    if not isinstance(data, dict):
        raise UserError.of("'{where}' must be an object of settings, not {kind}.",
                           where=where, kind=type(data).__name__)
    defaults = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(defaults))
    if unknown:
        raise UserError.of("'{where}' has unknown setting(s): {names}.",
                           where=where, names=", ".join(shown_value(name) for name in unknown[:5]))
    values = {}
    for name, value in data.items():
        field = defaults[name]
        default = field.default if field.default is not dataclasses.MISSING else None
        expected = type(default) if default is not None else None
        if expected is str and isinstance(value, str) and not is_writable_text(value):
            raise UserError.of("'{where}.{name}' holds characters that cannot be written as UTF-8 (a lone surrogate "
                               "such as \\ud800).", where=where, name=name)
        if expected in _TYPE_NAMES and not _matches(value, expected):
            raise UserError.of("'{where}.{name}' must be {expected}, not {value}.",
                               where=where, name=name, expected=_TYPE_NAMES[expected], value=shown_value(value))
        try:
            values[name] = float(value) if expected is float else value
        except OverflowError:  # a whole number too large for any float, such as 10**400
            raise UserError.of("'{where}.{name}' is a number too large to use.", where=where, name=name) from None
    return cls(**values)


@dataclass(frozen=True)
class Range:
    """The values one number of a project or data-set choice may take; the window's controls take theirs from here.

    Args:
        low: the least value allowed.
        high: the greatest value allowed.
        whole: whether only whole numbers are allowed. Defaults to `False`.
        label: how a sentence names the setting, such as `"learning rate"`.
    """

    low: float
    high: float
    whole: bool = False
    label: str = ""

    def problem(self, where: str, value) -> str | None:
        """A sentence when ``value`` is not allowed, else `None`."""
        if self.whole:
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not self.low <= value <= self.high:
                return Text.of("{where} must be a whole number from {low} to {high} (got {value}).",
                               where=where, low=f"{self.low:,}", high=f"{self.high:,}", value=shown_value(value))
            return None
        number = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if not number or not math.isfinite(value) or not self.low <= value <= self.high:
            return Text.of("{where} must be a number from {low} to {high} (got {value}).",
                           where=where, low=f"{self.low:g}", high=f"{self.high:g}", value=shown_value(value))
        return None


def check_ranges(found: list, where: str, settings, ranges: dict[str, Range]) -> None:
    """Adds a sentence to ``found`` for every setting outside its `Range`."""
    for name, allowed in ranges.items():
        problem = allowed.problem(f"{where}{allowed.label or name}".strip(), getattr(settings, name))
        if problem:
            found.append(problem)
