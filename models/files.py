"""Writing files so that a failure never leaves half a file behind."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _temporary_sibling(path: Path, directory: bool = False) -> Path:
    """A fresh, unused name next to ``path`` that ends with ``path``'s own name.

    Next to it, so the final rename stays on one file system; ending with its
    name, so writers that check the suffix (``.keras``, ``.weights.h5``) accept it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if directory:
        return Path(tempfile.mkdtemp(prefix=".tmp-", suffix=f"-{path.name}", dir=path.parent))
    return path.parent / f".tmp-{secrets.token_hex(6)}-{path.name}"


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
