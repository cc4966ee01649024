"""Reading a CSV file's text and header with the standard library only (no pandas).

The window lists a CSV's columns as it draws a project; these helpers keep
that free of pandas, which `datasets.csv_table` needs only to load the table.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from pathlib import Path

from models.errors import UserError
from models.saving.standalone_predict import (  # one reading of CSV text for training, predict and predict.py
    CHINESE_ENCODINGS,
    LATIN_ENCODINGS,
    MIN_PLAUSIBILITY,
    _chinese_score,
    _latin_score,
    _strict_decoding,
    _unique_names,
    detect_delimiter,
)
from models.text import Text

# Sentences name the separator (a `Text`, so each language has its word for it).
DELIMITER_NAMES = {",": Text("comma"), ";": Text("semicolon"), "\t": Text("tab"), "|": Text("pipe")}
_SNIFF_CHARACTERS = 65536
_SNIFF_LINES = 50


# pandas holds a table several times its file's size in memory; past this a CSV is refused.
MAX_CSV_BYTES = 2_000_000_000


def _check_path(path: Path) -> None:
    try:
        if not path.exists():
            raise UserError.of("The CSV file '{path}' does not exist; choose an existing file.", path=path)
        if path.is_dir():
            raise UserError.of("'{path}' is a folder, not a CSV file; choose a file.", path=path)
        if not path.is_file():  # a FIFO or a device: reading it would block, or never end
            raise UserError.of("'{path}' is not a regular file (a pipe or a device?); choose a CSV file.", path=path)
        size = path.stat().st_size
    except OSError as error:
        raise UserError.of("The CSV file '{path}' could not be read: {reason}.",
                           path=path, reason=error.strerror or error) from None
    if size > MAX_CSV_BYTES:
        raise UserError.of("'{name}' is {size} GB; at most {max_csv_bytes} GB of CSV can be loaded: take a sample of "
                           "its rows.",
                           name=path.name, size=f"{size / 1e9:.1f}", max_csv_bytes=f"{MAX_CSV_BYTES / 1e9:.0f}")


def _check_not_binary(raw: bytes, path: Path) -> None:
    if raw.startswith(b"PK\x03\x04") or raw.startswith(b"PK\x05\x06"):
        raise UserError(_zip_sentence(raw, path))
    if raw.startswith(b"\xd0\xcf\x11\xe0"):
        raise UserError(_excel_sentence(path))
    if raw.startswith(b"\x89HDF\r\n\x1a\n"):
        raise UserError.of("'{name}' is an HDF5 file (such as an older Keras model), not a CSV table; choose a CSV "
                           "text file.", name=path.name)
    if b"\x00" in raw[:_SNIFF_CHARACTERS]:
        raise UserError.of("'{name}' is not a text file (it contains binary bytes); choose a CSV file, or save the "
                           "table as 'CSV UTF-8' from your spreadsheet program.", name=path.name)


def _excel_sentence(path: Path) -> str:
    return (
        Text.of("'{name}' looks like an Excel workbook, not a CSV text file; open it in your spreadsheet program and "
                "save it as 'CSV UTF-8'.", name=path.name)
    )


_KERAS_MEMBERS = ("config.json", "metadata.json", "model.weights.h5")


def _zip_members(raw: bytes) -> list[str] | None:
    """The names inside a zip archive, or None when its directory cannot be read."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            return archive.namelist()
    except Exception:  # noqa: BLE001 - a cut or damaged archive: fall back to scanning its bytes
        return None


def _zip_sentence(raw: bytes, path: Path) -> str:
    """What kind of zip file this is (workbook, Keras model, other), as the sentence to show.

    The header reader has only the first 64 KiB, and `zipfile` needs the
    directory at the end of the archive; then the names are looked for in the
    local headers, which hold each member's name in plain bytes.
    """
    members = _zip_members(raw)
    if members is not None:
        workbook = any(name.startswith("xl/") for name in members)
        spreadsheet = "content.xml" in members and b"opendocument.spreadsheet" in raw[:200]
        keras = any(name in _KERAS_MEMBERS for name in members)
    else:
        workbook = b"xl/" in raw
        spreadsheet = b"opendocument.spreadsheet" in raw[:200]
        keras = any(name.encode() in raw for name in _KERAS_MEMBERS)
    if workbook or spreadsheet:
        return _excel_sentence(path)
    if keras:
        return (
            Text.of("'{name}' is a Keras model file, not a CSV table; choose the CSV the model was trained on.",
                    name=path.name)
        )
    if members is None and path.suffix.lower() in (".xlsx", ".xlsm"):
        return _excel_sentence(path)
    return (
        Text.of("'{name}' is a zip archive, not a CSV text file; unzip it first and choose the CSV file inside.",
                name=path.name)
    )


def decode_text(raw: bytes, path: Path) -> tuple[str, str]:
    """Decodes the bytes of a CSV file, choosing the encoding that reads most plausibly.

    A byte-order mark decides (UTF-8 or UTF-16). Otherwise strict UTF-8 wins
    when it decodes; else the GBK (or GB18030) reading and the Windows-1252
    (or Latin-1) reading are scored by `_chinese_score` and `_latin_score`
    and the more plausible one is taken.

    Args:
        raw: the whole file, or its start cut after a line end.
        path: the file, for error messages.

    Returns:
        ``(text, encoding)``, the encoding as a name to show the user:
        ``UTF-8``, ``UTF-8 with BOM``, ``UTF-16``, ``GBK``, ``GB18030``,
        ``Windows-1252`` or ``Latin-1``.

    Raises:
        UserError: for binary bytes, or text that reads as none of these.
    """
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace"), Text("UTF-8 with BOM")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16", errors="replace"), "UTF-16"
    _check_not_binary(raw, path)
    try:
        return raw.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    latin_text, latin_name = _strict_decoding(raw, LATIN_ENCODINGS)
    chinese_text, chinese_name = _strict_decoding(raw, CHINESE_ENCODINGS)
    latin = _latin_score(latin_text)
    chinese = _chinese_score(chinese_text) if chinese_text is not None else -1.0
    text, encoding, score = (
        (chinese_text, chinese_name, chinese) if chinese > latin else (latin_text, latin_name, latin)
    )
    if score < MIN_PLAUSIBILITY:
        raise UserError.of("'{name}' could not be read as UTF-8, GBK or Latin-1 text (its letters make no sense in "
                           "any of them); save it again as 'CSV UTF-8'.", name=path.name)
    return text, encoding


def read_text(path: Path) -> tuple[str, str]:
    """Reads a CSV file as text, returning ``(text, encoding)``."""
    _check_path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise UserError.of("The CSV file '{path}' could not be read: {reason}.",
                           path=path, reason=error.strerror or error) from error
    if not raw.strip():
        raise UserError.of("The CSV file '{name}' is empty; choose a file with a header and rows.", name=path.name)
    text, encoding = decode_text(raw, path)
    if not text.strip():
        raise UserError.of("The CSV file '{name}' is empty; choose a file with a header and rows.", name=path.name)
    return text, encoding


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
        raise UserError.of("The CSV file '{path}' could not be read: {reason}.",
                           path=path, reason=error.strerror or error) from error
    if len(raw) > _SNIFF_CHARACTERS and b"\n" in raw:
        raw = raw[: raw.rfind(b"\n") + 1]  # never cut a character in two
    if not raw.strip():
        raise UserError.of("The CSV file '{name}' is empty; choose a file with a header and rows.", name=path.name)
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
        raise UserError.of("'{file_name}' has no header line that could be read ({error}).",
                           file_name=file_name, error=error) from error
    if not header:
        raise UserError.of("'{file_name}' has no header line that could be read.", file_name=file_name)
    return _unique_names([name.strip() or f"Unnamed: {index}" for index, name in enumerate(header)])


