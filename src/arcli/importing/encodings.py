"""What to tell a user whose file is not in the encoding it was read with.

Chinese ERP and Excel exports on Windows are usually GB18030 (GBK), European ones
Windows-1252; a file read as UTF-8 then fails on its first non-ASCII byte. "Invalid start
byte at byte 134" helps nobody: the message names the line and, when the line reads
plainly in one of those encodings, the option that reads it.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

#: What text files are read as unless told otherwise: UTF-8, with or without a BOM.
DEFAULT_ENCODING = "utf-8-sig"

#: Runs of bytes >= 0x80: Chinese text in GB2312/GBK is pairs of bytes 0xA1-0xFE.
_HIGH_RUNS = re.compile(rb"[\x80-\xff]+")


def known_encoding(name: str) -> bool:
    """Whether Python has a codec called ``name``."""
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True


_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def file_encoding(path: Path, encoding: str) -> str:
    """The encoding to read ``path`` in: ``encoding``, or UTF-16 for a file read with the
    default that starts with a UTF-16 byte order mark (Excel's "Unicode text" export):
    the mark says what the file is, and read as UTF-8 it is no text at all."""
    if encoding == DEFAULT_ENCODING and _starts_utf16(path):
        return "utf-16"
    return encoding


def _starts_utf16(path: Path) -> bool:
    with path.open("rb") as stream:
        return stream.read(2) in _UTF16_BOMS


def decode_failure(path: Path, encoding: str) -> tuple[int | None, str]:
    """(line number, message) for a file that does not decode in ``encoding``."""
    if codecs.lookup(encoding).name not in ("utf-16", "utf-32") and _starts_utf16(path):
        return 1, (f"not valid {_label(encoding)} text: the file starts with a UTF-16 byte "
                   "order mark; read it with --encoding utf-16 (or the mapping's encoding)")
    bad = _first_bad_line(path, encoding)
    if bad is None:
        return None, f"not valid {_label(encoding)} text; give its encoding with --encoding NAME"
    line, raw, offset = bad
    message = f"not valid {_label(encoding)} text (at byte {offset})"
    likely = _likely_encoding(raw, encoding)
    if likely:
        return line, (f"{message}; the line reads as {likely[1]} in {_label(likely[0])}: "
                      f"read it with --encoding {likely[0]} (or the mapping's encoding)")
    return line, f"{message}; give its encoding with --encoding NAME (or the mapping's encoding)"


def _first_bad_line(path: Path, encoding: str) -> tuple[int, bytes, int] | None:
    """(line number, the line, file offset of its first bad byte) of the first line that
    does not decode on its own -- line by line is right for the encodings exports use:
    a newline byte never occurs inside one of their characters."""
    offset = 0
    with path.open("rb") as stream:
        for number, raw in enumerate(stream, start=1):
            try:
                raw.decode(encoding)
            except UnicodeDecodeError as exc:
                return number, raw, offset + exc.start
            offset += len(raw)
    return None


def _likely_encoding(raw: bytes, tried: str) -> tuple[str, str] | None:
    """The encoding ``raw`` plainly reads in, with what it reads as, or None."""
    candidates = []
    if codecs.lookup(tried).name != "utf-8":
        candidates.append(("utf-8", "text"))
    runs = _HIGH_RUNS.findall(raw)
    if runs and all(len(run) % 2 == 0 and min(run) >= 0xA1 for run in runs):
        candidates.append(("gb18030", "Chinese"))
    elif any(len(run) > 1 for run in runs):
        # Big5 (Taiwan, Hong Kong): a second byte may be ASCII, so its runs of high bytes
        # are not pairs; runs of several high bytes are rare in Western European text
        candidates.append(("big5", "Traditional Chinese"))
    candidates.append(("cp1252", "Western European text"))
    for name, reads_as in candidates:
        try:
            raw.decode(name)
        except UnicodeDecodeError:
            continue
        return name, reads_as
    return None


def _label(encoding: str) -> str:
    names = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "gb18030": "GB18030",
             "cp1252": "Windows-1252", "big5": "Big5", "utf-16": "UTF-16"}
    return names.get(codecs.lookup(encoding).name, encoding)
