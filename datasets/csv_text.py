"""Reading a CSV file's text and header with the standard library only (no pandas).

The window lists a CSV's columns as it draws a project; these helpers keep
that free of pandas, which `datasets.csv_table` needs only to load the table.
"""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

from models.errors import UserError

DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
TEXT_ENCODINGS = ("utf-8", "gbk", "gb18030")
_SNIFF_CHARACTERS = 65536
_SNIFF_LINES = 50


def _check_path(path: Path) -> None:
    if not path.exists():
        raise UserError(f"The CSV file '{path}' does not exist; choose an existing file.")
    if path.is_dir():
        raise UserError(f"'{path}' is a folder, not a CSV file; choose a file.")


def _check_not_binary(raw: bytes, path: Path) -> None:
    if raw.startswith(b"PK\x03\x04") or raw.startswith(b"\xd0\xcf\x11\xe0"):
        raise UserError(
            f"'{path.name}' looks like an Excel workbook, not a CSV text file; open it in "
            "your spreadsheet program and save it as 'CSV UTF-8'."
        )
    if b"\x00" in raw[:_SNIFF_CHARACTERS]:
        raise UserError(
            f"'{path.name}' is not a text file (it contains binary bytes); choose a CSV file, "
            "or save the table as 'CSV UTF-8' from your spreadsheet program."
        )


def decode_text(raw: bytes, path: Path) -> tuple[str, str]:
    """Decodes the bytes of a CSV file.

    Args:
        raw: the whole file.
        path: the file, for error messages.

    Returns:
        ``(text, encoding)``, the encoding as a name to show the user.

    Raises:
        UserError: for binary bytes or text in none of the supported encodings.
    """
    if raw.startswith(codecs.BOM_UTF8):
        return raw.decode("utf-8-sig", errors="replace"), "UTF-8 with BOM"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16", errors="replace"), "UTF-16"
    _check_not_binary(raw, path)
    for encoding in TEXT_ENCODINGS:
        try:
            return raw.decode(encoding), encoding.upper()
        except UnicodeDecodeError:
            continue
    raise UserError(
        f"'{path.name}' could not be read as UTF-8 or GBK text; save it again as 'CSV UTF-8'."
    )


def read_text(path: Path) -> tuple[str, str]:
    """Reads a CSV file as text, returning ``(text, encoding)``."""
    _check_path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise UserError(
            f"The CSV file '{path}' could not be read: {error.strerror or error}."
        ) from error
    if not raw.strip():
        raise UserError(
            f"The CSV file '{path.name}' is empty; choose a file with a header and rows."
        )
    text, encoding = decode_text(raw, path)
    if not text.strip():
        raise UserError(
            f"The CSV file '{path.name}' is empty; choose a file with a header and rows."
        )
    return text, encoding


def detect_delimiter(text: str) -> str:
    """Picks the separator whose column count on the first lines is most steady.

    A candidate must split the header into at least two columns; among those,
    the one giving the header's column count on the most lines wins, then the
    one giving more columns. This keeps decimal commas (``5,1;3,5``) from
    being taken for separators. Defaults to a comma.
    """
    head = text[:_SNIFF_CHARACTERS]
    lines = head.splitlines()
    if len(head) < len(text) and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut off
    lines = [line for line in lines[:_SNIFF_LINES] if line.strip()]
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        widths = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        if not widths or widths[0] < 2:
            continue
        agreement = sum(width == widths[0] for width in widths) / len(widths)
        score = (agreement, widths[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def read_csv_columns(path: str | Path) -> list[str]:
    """The column names of a CSV file, read from its start only (for choosing the target).

    Names are cleaned exactly as `load_csv` cleans them (pandas' header
    rules: an empty name becomes ``Unnamed: N``, repeats are numbered), so any
    of them can be passed back as `DatasetChoice.target`. Only the standard
    library is used: the window calls this as it draws a CSV project, and
    importing pandas there would hold it up for about a second.

    Raises:
        UserError: for a missing, empty, binary or undecodable file.
    """
    path = Path(path).expanduser()
    _check_path(path)
    try:
        with path.open("rb") as file:
            raw = file.read(_SNIFF_CHARACTERS + 1)
    except OSError as error:
        raise UserError(
            f"The CSV file '{path}' could not be read: {error.strerror or error}."
        ) from error
    if len(raw) > _SNIFF_CHARACTERS and b"\n" in raw:
        raw = raw[: raw.rfind(b"\n") + 1]  # never cut a character in two
    if not raw.strip():
        raise UserError(
            f"The CSV file '{path.name}' is empty; choose a file with a header and rows."
        )
    text, _ = decode_text(raw, path)
    return header_names(text, detect_delimiter(text), path.name)


def header_names(text: str, delimiter: str, file_name: str) -> list[str]:
    """The cleaned, unique column names of a CSV's header line.

    An empty name becomes ``Unnamed: N`` (N counting from 0, as pandas
    names it), spaces around names are dropped, and repeats are numbered
    ``a``, ``a.1``, ``a.2``. The table loader names its columns with this too.

    Raises:
        UserError: when there is no header line.
    """
    # newline="": lines may end in \n, \r\n or a bare \r, and quoted names may hold line breaks.
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True)
    try:
        # Like pandas, skip lines that are empty or only spaces before the header.
        header = next((row for row in rows if any(field.strip() for field in row)), [])
    except csv.Error as error:
        raise UserError(f"'{file_name}' has no header line that could be read ({error}).") from error
    if not header:
        raise UserError(f"'{file_name}' has no header line that could be read.")
    return _unique_names([name.strip() or f"Unnamed: {index}" for index, name in enumerate(header)])


def _unique_names(names: list[str]) -> list[str]:
    """Column names made unique by numbering repeats: ``a``, ``a.1``, ``a.2``.

    A number is skipped when that name is taken already, so the result is
    always unique, whatever names the file had.
    """
    taken: set[str] = set()
    counts: dict[str, int] = {}
    unique = []
    for name in names:
        candidate, count = name, counts.get(name, 0)
        while candidate in taken:
            count += 1
            candidate = f"{name}.{count}"
        counts[name] = count
        taken.add(candidate)
        unique.append(candidate)
    return unique
