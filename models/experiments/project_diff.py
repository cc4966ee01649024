"""What differs between projects, setting by setting: `differences`, `differing_labels`.

Projects are compared as the dicts ``project.json`` holds, flattened to one
named setting each ("layer 2 units", "optimizer learning rate"), so two runs
whose networks have different depths still compare: the layers one lacks
show as "—".
"""

from __future__ import annotations

from dataclasses import dataclass

MISSING = "—"
# Settings that tell nothing about how a run trained.
IGNORED = {("format",), ("version",), ("name",)}


@dataclass(frozen=True)
class Difference:
    """One setting whose value differs: its name, the values (one per project), and its place in the
    project's dict (``("layers", 2, "units")``), from which a window names it in its own language."""

    setting: str
    values: tuple[str, ...]
    path: tuple = ()


def flatten(project: dict) -> dict[str, str]:
    """``{setting name: value as text}`` for every setting of a project's dict, in the file's order."""
    return {setting_name(path): value for path, value in flatten_paths(project).items()}


def flatten_paths(project: dict) -> dict[tuple, str]:
    """``{path in the dict: value as text}`` for every setting, in the file's order."""
    flat: dict[tuple, str] = {}

    def walk(value, path: tuple):
        if path in IGNORED:
            return
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, (*path, key))
        elif isinstance(value, list) and path == ("layers",):
            for number, layer in enumerate(value, start=1):
                walk(layer, (*path, number))
        else:
            flat[path] = value_text(value)

    walk(project, ())
    return flat


def setting_name(path: tuple) -> str:
    """``("layers", 2, "units")`` → "layer 2 units"; ``("optimizer", "learning_rate")`` → "optimizer learning rate"."""
    words = []
    for part in path:
        if isinstance(part, int):
            words[-1] = f"layer {part}"
        else:
            words.append(str(part).replace("_", " "))
    return " ".join(words)


def value_text(value) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ", ".join(map(value_text, value)) or "none"
    return str(value)


def differences(*projects: dict) -> list[Difference]:
    """The settings whose values are not the same in every project (a setting one lacks counts)."""
    flats = [flatten_paths(project or {}) for project in projects]
    paths: dict[tuple, None] = {}
    for flat in flats:
        paths.update(dict.fromkeys(flat))
    found = []
    for path in paths:
        values = tuple(flat.get(path, MISSING) for flat in flats)
        if len(set(values)) > 1:
            found.append(Difference(setting_name(path), values, path))
    return found


def differing_labels(projects: list[dict], fallback: list[str], at_most: int = 3, name_of=None) -> list[str]:
    """A short label per project naming its values of the settings that differ among them
    ("learning rate 0.01, layer 1 units 8"), for a legend; ``fallback`` where nothing differs.
    ``name_of(path)`` names a setting (a window's own words); by default its short English name."""
    found = differences(*projects)
    if not found:
        return list(fallback)
    name_of = name_of or (lambda path: _short(setting_name(path)))
    shown = found[:at_most]
    more = " …" if len(found) > at_most else ""
    return [", ".join(f"{name_of(difference.path)} {difference.values[index]}" for difference in shown) + more
            for index in range(len(projects))]


def _short(setting: str) -> str:
    """A legend's name of a setting: "optimizer learning rate" → "learning rate"."""
    for prefix in ("optimizer ", "training ", "dataset ", "schedule "):
        if setting.startswith(prefix):
            return setting[len(prefix):]
    return setting
