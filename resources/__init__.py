"""Files the window loads: the application icon."""

from pathlib import Path

RESOURCES = Path(__file__).resolve().parent


def resource_path(name: str) -> Path:
    return RESOURCES / name
