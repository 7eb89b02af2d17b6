"""Errors the core raises, each carrying the exit code the CLI turns it into.

The core never prints or exits; it raises these. The CLI layer catches :class:`ArcliError`
and maps it to a one-line message on stderr and the exit code below, so no traceback
reaches a user. Exit codes follow the project convention: 0 ok, 1 data or runtime error,
2 usage error, 3 "ran fine but found something".
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_FOUND = 3


class ArcliError(Exception):
    """A failure to report to the user as a message, without a traceback."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class UsageError(ArcliError):
    """The user asked for something that cannot be done as asked (bad option values)."""

    exit_code = EXIT_USAGE


class WorkerDied(ArcliError):
    """A worker process of a parallel stage ended abruptly (killed by the system, most
    often its out-of-memory killer): the run stops and says what is left."""


class ConfigError(ArcliError):
    """The configuration file is invalid; the message names file, line and key."""

    exit_code = EXIT_USAGE


class StoreError(ArcliError):
    """The database cannot be opened or is at a schema version this arcli cannot use."""


@dataclass(frozen=True)
class InputProblem:
    """One bad value in an input file, located precisely enough to fix it."""

    file: str
    line: int | None
    field: str | None
    value: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f": line {self.line}"
        if self.field:
            where += f": {self.field}"
        shown = f" ({self.value!r})" if self.value not in (None, "") else ""
        return f"{where}: {self.message}{shown}"


class InputError(ArcliError):
    """An input file was rejected; nothing of it was stored.

    Carries every problem found (up to a limit), so the user fixes the file once.
    """

    def __init__(self, problems: list[InputProblem], truncated: bool = False):
        self.problems = problems
        self.truncated = truncated
        lines = [str(p) for p in problems]
        if truncated:
            lines.append("(more errors not shown)")
        count = f"{len(problems)}{'+' if truncated else ''}"
        head = f"{count} error(s); nothing was imported"
        super().__init__("\n".join([*lines, head]))


#: PostgreSQL's deadlock, lock timeout and serialization failure: another session's doing.
_BUSY_STATES = ("40P01", "55P03", "40001")


def busy_book_message(exc: BaseException) -> str | None:
    """The message for a book another program kept locked (SQLite's "database is locked"
    after the busy timeout, a PostgreSQL deadlock or lock timeout), else None. Driver
    errors come bare or wrapped by SQLAlchemy (``.orig``)."""
    cause = getattr(exc, "orig", None) or exc
    text = " ".join(str(cause).split())
    if "database is locked" not in text and getattr(cause, "sqlstate", None) not in _BUSY_STATES:
        return None
    return f"the book is busy: another program kept it locked ({text}); run the command again"


def lost_connection_message(exc: BaseException) -> str | None:
    """The message for a database session that ended under a command (the server
    restarted or shut down, an administrator ended the session, the network went), else
    None: the server's doing, not an error in arcli, and nothing uncommitted survived it.
    SQLAlchemy marks such errors ``connection_invalidated``; bare driver errors carry
    PostgreSQL's connection (08) or operator-intervention (57P) state."""
    cause = getattr(exc, "orig", None) or exc
    state = getattr(cause, "sqlstate", None) or ""
    if not (getattr(exc, "connection_invalidated", False) or state.startswith(("08", "57P"))):
        return None
    text = " ".join(str(cause).split())
    return (f"lost the connection to the database ({text}); what this command had not "
            "committed was rolled back: run it again when the database is back")


def damaged_file_message(exc: BaseException) -> str | None:
    """The message for a SQLite file that is not a database, or a damaged one, else None:
    nothing arcli can repair or should work on."""
    cause = getattr(exc, "orig", None) or exc
    name = getattr(cause, "sqlite_errorname", "") or ""
    text = " ".join(str(cause).split())
    if name == "SQLITE_NOTADB":
        return f"the database file is not a SQLite database ({text}): check the path given"
    if name.startswith("SQLITE_CORRUPT"):
        return (f"the database file is damaged ({text}): restore the book from a backup "
                "(the sqlite3 shell's .recover can save what is still readable)")
    return None


def full_disk_message(exc: BaseException) -> str | None:
    """The message for a database that ran out of disk space (SQLite's "database or disk
    is full", PostgreSQL's disk_full), else None: the machine's doing, and what the command
    had not committed was rolled back. SQLite also fills the temporary folder, where an
    import keeps its staging table and work files."""
    cause = getattr(exc, "orig", None) or exc
    text = " ".join(str(cause).split())
    if getattr(cause, "sqlite_errorname", None) == "SQLITE_FULL":
        return (f"the disk is full ({text}): nothing was changed. Free some space where "
                f"the book is, or in {temporary_folder()}, where a big import keeps its "
                "temporary tables and files (set TMPDIR to put them elsewhere)")
    if getattr(cause, "sqlstate", None) == "53100":
        return (f"the database server's disk is full ({text}): what this command had not "
                "committed was rolled back")
    return None


def temporary_folder() -> str:
    """Where a big import's temporary files go: ``TMPDIR`` when set (SQLite and Python both
    honour it), else Python's choice. Not ``tempfile.gettempdir()`` alone: it skips a
    ``TMPDIR`` it cannot write to, which is exactly the case of a full one."""
    import os
    import tempfile  # only here: quick reports should not pay for its import

    return os.environ.get("TMPDIR") or tempfile.gettempdir()
