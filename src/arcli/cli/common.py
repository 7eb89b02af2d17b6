"""What every command shares: the application context, output options, dates, exit codes."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from arcli.config import Config, find_config, load_config
from arcli.errors import EXIT_FOUND, ArcliError, UsageError
from arcli.fileio import atomic_output
from arcli.output import (
    BINARY_FORMATS,
    FORMATS,
    Report,
    format_for_path,
    writable_suffixes,
    write_report,
)
from arcli.progress import Progress, unreported

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from arcli.store.engine import Store
    from arcli.store.reader import BookReader

DEFAULT_DB = "arcli.db"


class AppContext:
    """Config, store and "today", loaded lazily so `--help` never touches the disk."""

    def __init__(self, config_path: str | None, db_arg: str | None, quiet: bool = False):
        self.config_path = find_config(config_path)
        self.db_arg = db_arg
        self.quiet = quiet
        self._config: Config | None = None
        self._store: Store | None = None

    def set_option(self, name: str, value: Any) -> None:
        """A global option given after the subcommand's name (``arcli aging -q``)."""
        if name == "config_path":
            self.config_path, self._config = find_config(value), None
        elif name == "db":
            self.db_arg = value
        elif name == "quiet":
            self.quiet = bool(value)

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    @property
    def db_location(self) -> str:
        """``--db``/ARCLI_DB, else ``database:`` in the config (a relative path is taken
        from the config file's folder, which may be a parent of this one), else
        ./arcli.db."""
        if self.db_arg:
            return self.db_arg
        configured = self.config.get_str("database")
        if configured and "://" not in configured:
            return str(self.config.get_path("database"))
        return configured or DEFAULT_DB

    def open_store(self, *, check: bool = True) -> Store:
        if self._store is None:
            from arcli.store.engine import open_store

            self._store = open_store(self.db_location)
        if check:
            self._store.check_schema()
        return self._store

    @property
    def store(self) -> Store:
        return self.open_store(check=True)

    def reader(self) -> AbstractContextManager[BookReader]:
        """A read-only connection for quick reports: no SQLAlchemy import, no engine."""
        from arcli.store.reader import open_reader

        return open_reader(self.db_location)

    @property
    def today(self) -> dt.date:
        """Today, or ``ARCLI_TODAY`` (YYYY-MM-DD) for reproducible runs and tests."""
        return today()

    def info(self, message: str) -> None:
        """An informational message on stderr (silent with --quiet)."""
        if not self.quiet:
            click.echo(message, err=True)

    def close(self) -> None:
        if self._store is not None:
            self._store.dispose()


pass_app = click.make_pass_decorator(AppContext)


def today() -> dt.date:
    """Today, or ``ARCLI_TODAY`` (YYYY-MM-DD) for reproducible runs and tests."""
    fixed = os.environ.get("ARCLI_TODAY")
    if fixed:
        try:
            return dt.date.fromisoformat(fixed)
        except ValueError:
            raise UsageError(f"ARCLI_TODAY must be YYYY-MM-DD, got {fixed!r}") from None
    return dt.date.today()


DATE_FORMS = "YYYY-MM-DD, YYYY/MM/DD, today or yesterday"
_RELATIVE_DAYS = {"today": 0, "yesterday": 1}


def parse_cli_date(text: str) -> dt.date:
    """A date as people type it on a command line: ``2026-10-31``, ``2026/10/31``,
    ``today``, ``yesterday`` (relative to :func:`today`); ValueError otherwise."""
    value = text.strip().lower()
    if value in _RELATIVE_DAYS:
        return today() - dt.timedelta(days=_RELATIVE_DAYS[value])
    parts = value.replace("/", "-").split("-")
    if len(parts) != 3 or not (len(parts[0]) == 4 and all(p.isdigit() for p in parts)
                               and all(len(p) in (1, 2) for p in parts[1:])):
        raise ValueError(text)
    return dt.date(int(parts[0]), int(parts[1]), int(parts[2]))


class DateType(click.ParamType):
    """The one date type of every command's date options and arguments."""

    name = "DATE"

    def convert(self, value: Any, param, ctx) -> dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return parse_cli_date(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a date: use {DATE_FORMS}", param, ctx)


DATE = DateType()


def _known_in_book(kind: str) -> Callable:
    """A click callback that refuses ids the book does not hold (exit 1), so a typo in
    ``--customer`` is an error instead of an empty report. One lookup for every command
    (``kind``: customer, document, or customer-or-document)."""

    def check(ctx: click.Context, _param, value):
        if value is None or value == ():
            return value
        from arcli.lookup import require_known

        app = ctx.find_object(AppContext)
        with app.reader() as reader:
            require_known(reader, kind, (value,) if isinstance(value, str) else value)
        return value

    return check


def customer_option(func: Callable) -> Callable:
    """``--customer ID`` (repeatable), checked against the book."""
    return click.option("--customer", "customer_ids", multiple=True, metavar="ID",
                        callback=_known_in_book("customer"),
                        help="Only this customer (repeatable).")(func)


def customer_argument(name: str = "customer") -> Callable:
    """A CUSTOMER argument, checked against the book."""
    return click.argument(name, callback=_known_in_book("customer"))


def document_argument(name: str = "document", *, required: bool = True,
                      metavar: str | None = None, or_customer: bool = False) -> Callable:
    """A DOCUMENT (number) argument -- or a customer id too, with ``or_customer`` --
    checked against the book."""
    kind = "customer-or-document" if or_customer else "document"
    return click.argument(name, required=required, metavar=metavar,
                          callback=_known_in_book(kind))


class LanguageType(click.ParamType):
    """A document language arcli has templates for (``en``, ``zh_CN``, ``zh_TW`` and
    their usual spellings: ``zh``, ``zh-Hant``...)."""

    name = "LANG"

    def convert(self, value: Any, param, ctx) -> str:
        from arcli.render.templating import LANGUAGES, normalize_language

        found = normalize_language(str(value), default="")
        if not found:
            raise ArcliError(f"unknown language {value!r} for {param.opts[0]}: "
                             f"arcli has templates for {', '.join(LANGUAGES)}")
        return found


LANGUAGE = LanguageType()


class CurrencyType(click.ParamType):
    """An ISO 4217 currency code option value (upper-cased)."""

    name = "CUR"

    def convert(self, value: Any, param, ctx) -> str:
        from arcli.money import MoneyError, check_currency

        try:
            return check_currency(str(value))
        except MoneyError as exc:
            self.fail(str(exc), param, ctx)


CURRENCY = CurrencyType()

_MAX_JOBS = 64


def parse_jobs(value: Any) -> int:
    """``N`` (1..64) or ``auto`` (one per core) as a number of processes; ValueError if
    it is neither."""
    if str(value).strip().lower() == "auto":
        return max(1, min(_MAX_JOBS, os.cpu_count() or 1))
    jobs = int(value)
    if not 1 <= jobs <= _MAX_JOBS:
        raise ValueError(value)
    return jobs


class JobsType(click.ParamType):
    """``--jobs N`` or ``--jobs auto``."""

    name = "N|auto"

    def convert(self, value: Any, param, ctx) -> int:
        try:
            return parse_jobs(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of processes (1-{_MAX_JOBS}) or auto",
                      param, ctx)


def jobs_option(func: Callable) -> Callable:
    """``--jobs N|auto``: worker processes for a document batch (default: ``render.jobs``
    in the config, else 1)."""
    return click.option("--jobs", type=JobsType(), default=None,
                        help="Worker processes: a number or auto (one per core); "
                             "default render.jobs in the config, else 1.")(func)


def batch_jobs(app: AppContext, given: int | None) -> int:
    """``--jobs`` if given, else ``render.jobs`` from the config, else 1."""
    if given is not None:
        return given
    return batch_jobs_from_config(app.config)


def batch_jobs_from_config(config: Config) -> int:
    """``render.jobs`` from the config, else 1."""
    view = config.section("render")
    value = view.raw("jobs")
    if value is None:
        return 1
    try:
        if isinstance(value, (bool, float)):
            raise ValueError(value)  # int(2.5) would be 2, int(inf) an OverflowError
        return parse_jobs(value)
    except (TypeError, ValueError):
        raise view.error("jobs", f"must be a number of processes (1-{_MAX_JOBS}) or auto"
                         ) from None


@dataclass(frozen=True)
class OutputOptions:
    fmt: str | None
    path: str | None
    headers: bool
    totals: bool
    bom: bool = False
    escape_formulas: bool = False

    def resolved_format(self) -> str:
        """Explicit format, else from the -o suffix, else table on a TTY and CSV otherwise.
        A suffix arcli cannot write (``-o report.pdf``), or a spreadsheet suffix with a
        text format (and back), is a usage error rather than a misnamed file."""
        implied = format_for_path(self.path)
        if self.path not in (None, "-") and implied is None and not self.fmt \
                and os.path.splitext(self.path)[1]:
            raise UsageError(f"-o {self.path}: arcli cannot write {os.path.splitext(self.path)[1]} "
                             f"files; use one of {', '.join(writable_suffixes())} "
                             "(or name the format with --format)")
        if self.fmt and implied and self.fmt != implied and "xlsx" in (self.fmt, implied):
            raise UsageError(f"-o {self.path} does not fit --format {self.fmt}")
        if self.fmt:
            return self.fmt
        if implied:
            return implied
        to_terminal = (self.path in (None, "-")) and sys.stdout.isatty()
        return "table" if to_terminal else "csv"


def output_options(func: Callable) -> Callable:
    """Add --format/--table/--csv/--tsv/--json/--nl/--no-headers/--totals/-o/--bom/
    --escape-formulas to a command."""

    @click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
                  help="Output format (default: table on a terminal, else csv; xlsx from "
                       "an -o FILE.xlsx).")
    @click.option("--table", "fmt", flag_value="table", help="Same as --format table.")
    @click.option("--csv", "fmt", flag_value="csv", help="Same as --format csv.")
    @click.option("--tsv", "fmt", flag_value="tsv", help="Same as --format tsv.")
    @click.option("--json", "fmt", flag_value="json", help="Same as --format json.")
    @click.option("--nl", "fmt", flag_value="jsonl", help="JSON lines (same as --format jsonl).")
    @click.option("--no-headers", is_flag=True, help="Omit the header row (table, csv, tsv).")
    @click.option("--totals", is_flag=True, help="Append total rows to csv/tsv/json output.")
    @click.option("-o", "--output", "output_path", metavar="FILE",
                  help="Write to FILE (atomically) instead of stdout; '-' is stdout. The "
                       "suffix sets the format: .csv .tsv .json .jsonl .txt .xlsx.")
    @click.option("--bom", is_flag=True,
                  help="CSV/TSV: start with a UTF-8 byte-order mark (for Excel on Windows).")
    @click.option("--escape-formulas", is_flag=True,
                  help="CSV/TSV: put ' before text cells starting with = + - @ (formula "
                       "injection); amounts stay numbers.")
    @functools.wraps(func)
    def wrapper(*args, fmt, no_headers, totals, output_path, bom, escape_formulas, **kwargs):
        kwargs["out"] = OutputOptions(fmt, output_path, not no_headers, totals, bom,
                                      escape_formulas)
        kwargs["out"].resolved_format()  # a bad -o suffix stops the command before it works
        return func(*args, **kwargs)

    return wrapper


def emit(out: OutputOptions, report: Report) -> None:
    """Render the report to stdout or, atomically, to the -o file."""
    fmt = out.resolved_format()
    options = {"headers": out.headers, "include_totals": out.totals, "bom": out.bom,
               "escape_formulas": out.escape_formulas}
    binary = fmt in BINARY_FORMATS
    if out.path in (None, "-"):
        if binary and sys.stdout.isatty():
            raise UsageError(f"{fmt} is not for a terminal: use -o FILE.{fmt} or redirect")
        stream = sys.stdout.buffer if binary else sys.stdout
        write_report(report, stream, fmt, **options)
        stream.flush()
        return
    with atomic_output(out.path, encoding=None if binary else "utf-8") as stream:
        write_report(report, stream, fmt, **options)


def exit_found(found: bool) -> None:
    """Exit 3 when a command ran fine but found something the user must look at."""
    if found:
        raise click.exceptions.Exit(EXIT_FOUND)


def shard_option(func: Callable) -> Callable:
    """``--shard K/N``: take only this machine's deterministic share of the customers."""
    return click.option("--shard", metavar="K/N",
                        help="Only customers in shard K of N (stable split by customer id).")(func)


def run_documents(app: AppContext, results: Iterable, total: int, label: str, summary) -> list:
    """Collect a document batch's results with a progress bar of ``total`` steps on stderr
    (only on a terminal, not with --quiet), counting each into ``summary``."""
    collected = []
    if app.quiet or not sys.stderr.isatty() or not total:
        for result in results:
            summary.add(result)
            collected.append(result)
        return collected
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        for result in results:
            summary.add(result)
            collected.append(result)
            bar.update(1)
    return collected


class StageProgress:
    """A job's progress on stderr, stage by stage: a bar for a stage that counts its steps,
    a line for one that does not (``total`` 0). Called as ``progress(stage, done, total)``;
    made only for a terminal (see :func:`stage_progress`)."""

    def __init__(self, name: str, labels: dict[str, str]):
        self.name, self.labels = name, labels
        self.stage: str | None = None
        self.bar: Any = None
        self.shown = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage:
            self.close()
            self.stage, self.shown = stage, 0
            label = f"{self.name}: {self.labels.get(stage, stage)}"
            if not total:
                click.echo(f"{label}...", err=True)
                return
            self.bar = click.progressbar(length=total, label=label, file=sys.stderr)
            self.bar.__enter__()
        if self.bar is not None and done > self.shown:
            self.bar.update(done - self.shown)
            self.shown = done

    def close(self) -> None:
        """End the current stage's bar (its line stays)."""
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@contextlib.contextmanager
def stage_progress(app: AppContext, name: str, labels: dict[str, str]) -> Iterator[Progress]:
    """A :class:`StageProgress` on a terminal (not with --quiet), else progress that
    shows nothing: cron logs and pipes get no bars."""
    if app.quiet or not sys.stderr.isatty():
        yield unreported
        return
    shown = StageProgress(name, labels)
    try:
        yield shown
    finally:
        shown.close()


def signing_choice(app: AppContext, sign: bool | None):
    """The signing setup for ``--sign/--no-sign``: configured by default, an error when
    ``--sign`` is asked for without ``signing.pkcs12``. With ``--no-sign`` the signing
    section is not read, so a keystore that is absent on this host does not matter."""
    from arcli.signing import signing_config

    if sign is False:
        return None
    cfg = signing_config(app.config)
    if sign and cfg is None:
        raise click.UsageError("--sign needs `signing.pkcs12` in the config "
                               "(try `arcli signing init`)")
    return cfg


def render_options(app: AppContext):
    """Template override folder and CJK font from the config (for every command that
    makes documents, which also warns here while the example company is configured)."""
    warning = example_company_warning(app.config)
    if warning:
        app.info(f"warning: {warning}")
    return render_options_from_config(app.config)


def render_options_from_config(config: Config):
    from arcli.render.statement import RenderOptions

    return RenderOptions(template_dir=config.section("templates").get_path("path"),
                         cjk_font=config.section("render").get_path("cjk_font"))


def example_company_warning(config: Config) -> str | None:
    """A warning while ``company.name`` is still config.example.yaml's sample company
    (``arcli init`` writes the example): documents would go out in its name."""
    from arcli.config import example_value

    name = config.section("company").get_str("name")
    if name and name == example_value("company", "name"):
        return (f"{config.source}: company.name is still the example company ({name}); "
                "put your own company under company:")
    return None


def _check_encoding(_ctx, _param, value: str | None) -> str | None:
    from arcli.importing.encodings import known_encoding

    if value is not None and not known_encoding(value):
        raise click.BadParameter(f"unknown text encoding {value!r} (e.g. utf-8, gb18030, "
                                 "big5, cp1252)")
    return value


encoding_option = click.option(
    "--encoding", metavar="NAME", callback=_check_encoding,
    help="Text encoding of a text FILE (default UTF-8, or the mapping's), e.g. gb18030 for "
         "Chinese Windows exports, cp1252 for Western European ones.")


#: What an import or bank file says when it is not in arcli's own layout.
_FOREIGN_LAYOUT = ("required column missing", "not valid UTF-8", "layout of the mapping")


@contextlib.contextmanager
def mapping_hint(app: AppContext, mapping: str | None) -> Iterator[None]:
    """Add to a refused file read without ``--mapping`` the mappings the config has: an
    export of another system (a Kingdee ledger, a bank's CSV) read as arcli's own layout
    fails on its encoding or columns, and the fix is a mapping, not an encoding."""
    from arcli.errors import InputError

    try:
        yield
    except InputError as exc:
        names = list(app.config.section("mappings")) if mapping is None else []
        if not names or not any(m in p.message for p in exc.problems[:3]
                                for m in _FOREIGN_LAYOUT):
            raise
        lines = exc.message.splitlines()
        lines.insert(len(lines) - 1, "not arcli's own layout? An export of another system "
                     "is read through a mapping: --mapping NAME (this config has: "
                     + ", ".join(names) + ")")
        exc.message = "\n".join(lines)
        raise
