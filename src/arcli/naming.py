"""Document file names: a template of documented fields, and one file per document.

A customer id becomes a file-name part through :func:`arcli.fileio.safe_filename_part`,
which is lossy: ``a/b`` and ``a_b``, the NFC and the NFD spelling of ``café`` all become
the same part, and ``AB`` and ``ab`` name one file on a case-insensitive file system
(macOS, Windows, a Samba share). Two such customers overwrote each other's document while
both were recorded as having had it. So the customers of a book whose parts fold to the
same name get a short hash of their exact id after the part (``a_b~1f2e3d4c``); ``~``
is never in a sanitised part, so such a name cannot be another customer's plain one. The
clash is decided over the whole book, not over one run, so ``--customer`` and ``--shard``
runs name a customer's files as a full run does. A sole customer whose id is already a
clean part keeps its plain name (existing files keep theirs when a clashing id arrives).

A template may use only its documented fields, each plainly (``{customer}``): Python's
format language would otherwise read attributes (``{customer.__class__}`` named a file
``<class 'str'>``), index into values or pad and cut them with format specs.
"""

from __future__ import annotations

import hashlib
import string
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from arcli.fileio import safe_filename_part

#: The fields of each kind's template (``statements.filename``, ``dunning.filename``);
#: the first tells documents apart.
STATEMENT_FIELDS = ("customer", "period")
LETTER_FIELDS = ("customer", "currency", "level", "date")

_MARK = "~"  # before the hash; safe_filename_part never leaves one in a part
_HASH_LENGTH = 8
_PART_LENGTH = 80  # longest part, hash included


def pattern_problem(pattern: str, fields: Sequence[str]) -> str | None:
    """Why ``pattern`` cannot name documents, or None. It may use only ``fields`` (the
    first of which tells documents apart and must be there), each as a plain ``{field}``,
    and must give a plain file name (no folder, no hidden file, no control characters)."""
    allowed = ", ".join(f"{{{f}}}" for f in fields)
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        return f"{pattern!r} is not a file-name template ({exc}); use {allowed}"
    used = set()
    for literal, field, spec, conversion in parsed:
        if any(c in literal for c in "/\\") or any(ord(c) < 32 or ord(c) == 127 for c in literal):
            return f"{pattern!r} must give a plain file name (no folders or control characters)"
        if field is None:
            continue
        if field not in fields:
            return f"{pattern!r}: unknown field {{{field}}}; the fields are {allowed}"
        if spec or conversion:
            shown = field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            return f"{pattern!r}: {{{shown}}} is not allowed; write the field plainly: {{{field}}}"
        used.add(field)
    if pattern.startswith("."):
        return f"{pattern!r} must not start with a dot (a hidden file)"
    if fields[0] not in used:
        return (f"{pattern!r} has no {{{fields[0]}}}: every {fields[0]} would get the same "
                "file name")
    return None


def clashing_ids(ids: Iterable[str]) -> frozenset[str]:
    """The ids among ``ids`` (all of a book's) whose file names get the hash: those whose
    part folds to another id's, except the one id of such a group that is its own clean
    part, if there is exactly one."""
    groups: dict[str, list[str]] = defaultdict(list)
    for value in ids:
        groups[safe_filename_part(value, _PART_LENGTH).casefold()].append(value)
    hashed: set[str] = set()
    for members in groups.values():
        if len(members) < 2:
            continue
        plain = [v for v in members if safe_filename_part(v, _PART_LENGTH) == v]
        keep = plain[0] if len(plain) == 1 else None
        hashed.update(v for v in members if v != keep)
    return frozenset(hashed)


def book_clashing_ids(conn) -> frozenset[str]:
    """:func:`clashing_ids` over the customers of the book ``conn`` is on."""
    from arcli.store.reader import reader_for

    return clashing_ids(row[0] for row in reader_for(conn).rows("SELECT id FROM customers"))


def name_part(value: str, hashed: bool = False) -> str:
    """``value`` as a file-name part; ``hashed`` adds a short hash of the exact value."""
    part = safe_filename_part(value, _PART_LENGTH)
    if not hashed:
        return part
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_LENGTH]
    return f"{part[:_PART_LENGTH - _HASH_LENGTH - 1]}{_MARK}{digest}"


def document_name(pattern: str, values: Mapping[str, Any],
                  hashed: frozenset[str] = frozenset()) -> str:
    """Fill a template checked by :func:`pattern_problem` (a field's value in ``hashed``
    gets its hash, see :func:`clashing_ids`)."""
    parts = {k: name_part(str(v), str(v) in hashed and k == "customer")
             for k, v in values.items()}
    return pattern.format_map(parts)


def name_key(name: str) -> str:
    """The key two file names share when a file system may take them for one file
    (case-insensitive, normalising Unicode)."""
    return unicodedata.normalize("NFC", name).casefold()
