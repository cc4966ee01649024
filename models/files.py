"""Writing files so that a failure never leaves half a file behind."""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

# Every temporary name this program writes begins so; a later run removes any a kill left behind.
TEMPORARY_PREFIX = ".tmp-"


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once, at import, while no other thread runs: os.umask can only be read by setting it,
# and a thread creating a file in that moment would make it world-writable.
_UMASK = _read_umask()


def _temporary_sibling(path: Path, directory: bool = False) -> Path:
    """A fresh, unused name next to ``path`` that ends with ``path``'s own name.

    Next to it, so the final rename stays on one file system; ending with its
    name, so writers that check the suffix (``.keras``, ``.weights.h5``) accept it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if directory:
        folder = Path(tempfile.mkdtemp(prefix=TEMPORARY_PREFIX, suffix=f"-{path.name}", dir=path.parent))
        # mkdtemp makes the folder private (0700); the finished folder should be as readable as a file.
        folder.chmod(0o777 & ~_UMASK)
        return folder
    return path.parent / f"{TEMPORARY_PREFIX}{secrets.token_hex(6)}-{path.name}"


def _discard(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, directory: bool = False) -> Iterator[Path]:
    """Yields a temporary path; when the block succeeds it is renamed onto ``path``.

    Args:
        path: where the finished file (or folder) should end up.
        directory: whether the thing written is a folder (a SavedModel) rather
            than a file. Defaults to `False`.

    If the block raises, the temporary file is removed and ``path`` keeps
    whatever it held before.
    """
    final = Path(path)
    temporary = _temporary_sibling(final, directory)
    try:
        yield temporary
        if directory:
            if final.exists():
                backup = _temporary_sibling(final, directory=True)
                backup.rmdir()
                final.rename(backup)
                try:
                    temporary.rename(final)
                except BaseException:
                    backup.rename(final)  # put the old folder back
                    raise
                shutil.rmtree(backup, ignore_errors=True)
            else:
                temporary.rename(final)
        else:
            os.replace(temporary, final)
    except BaseException:
        _discard(temporary)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Writes ``text`` as UTF-8 to ``path`` through a temporary file."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Writes ``data`` to ``path`` through a temporary file."""
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)


def _strict(value, notes: dict, where: str):
    """``value`` with NaN and infinities as `None`, each one's true value noted under its path."""
    if isinstance(value, float) and not math.isfinite(value):
        notes[where] = "NaN (not a number)" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        return None
    if isinstance(value, dict):
        return {key: _strict(item, notes, f"{where}.{key}" if where else str(key)) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(item, notes, f"{where}[{index}]") for index, item in enumerate(value)]
    return value


def strict_json_text(data: dict) -> str:
    """``data`` as strict JSON, which every reader accepts.

    NaN and infinities (which `json.dumps` would write as the non-JSON words
    ``NaN`` and ``Infinity``) become ``null``, and a ``not_finite`` object
    beside them says which value each was, by its path, such as
    ``{"loss": null, "not_finite": {"loss": "NaN (not a number)"}}``.
    """
    notes: dict[str, str] = {}
    cleaned = _strict(dict(data), notes, "")
    if notes:
        cleaned["not_finite"] = notes
    return json.dumps(cleaned, indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def write_json_atomic(path: str | os.PathLike, data: dict) -> None:
    """Writes ``data`` as strict JSON (see `strict_json_text`) through a temporary file."""
    write_text_atomic(path, strict_json_text(data))


def read_json_object(path: str | os.PathLike) -> dict | None:
    """A small JSON object from a file this program wrote, or `None` when it is missing or damaged."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def csv_text(table: list[list[str]]) -> str:
    """Rows of text as CSV, with the line ends Python's csv module writes by default (CR LF)."""
    import csv
    import io

    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(table)
    return text.getvalue()
