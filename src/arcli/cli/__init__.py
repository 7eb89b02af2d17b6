"""The ``arcli`` command line: a thin click front end over the core library.

Commands are registered by name and imported only when used, so ``arcli --help`` and small
reports start fast and a heavy library (reportlab, pyHanko) is loaded only by the commands
that need it. :func:`main` is the one place errors become messages and exit codes: no
traceback reaches a user (set ``ARCLI_DEBUG=1`` to see one).
"""

from __future__ import annotations

import errno
import importlib
import importlib.util
import os
import signal
import sys
import warnings

import click

from arcli import __version__
from arcli.errors import (
    EXIT_ERROR,
    EXIT_USAGE,
    ArcliError,
    busy_book_message,
    damaged_file_message,
    full_disk_message,
    lost_connection_message,
    temporary_folder,
)

#: command name -> "module:attribute", imported on first use.
COMMANDS = {
    "init": "arcli.cli.init:init_command",
    "import": "arcli.cli.importing:import_group",
    "aging": "arcli.cli.aging:aging_command",
    "provision": "arcli.cli.provision:provision_command",
    "kpi": "arcli.cli.kpi:kpi_command",
    "report": "arcli.cli.report:report",
    "credit": "arcli.cli.credit:credit_command",
    "collections": "arcli.cli.credit:collections_command",
    "reconcile": "arcli.cli.reconcile:reconcile",
    "statements": "arcli.cli.statements:statements",
    "signing": "arcli.cli.signing:signing",
    "verify": "arcli.cli.verify:verify",
    "dunning": "arcli.cli.dunning:dunning",
    "dispute": "arcli.cli.dispute:dispute",
    "promise": "arcli.cli.promise:promise",
    "templates": "arcli.cli.templates:templates",
    "send": "arcli.cli.send:send",
    "db": "arcli.cli.db:db",
    "config": "arcli.cli.config:config_group",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when they are looked up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        present = [name for name, target in COMMANDS.items()
                   if importlib.util.find_spec(target.split(":")[0]) is not None]
        return sorted(set(present) | set(super().list_commands(ctx)))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module_name, attr = target.split(":")
        if importlib.util.find_spec(module_name) is None:
            return None
        return with_global_options(getattr(importlib.import_module(module_name), attr))

    def invoke(self, ctx: click.Context):
        """Turn core errors into a message and exit code here, so every caller (the
        console script, ``python -m arcli``, click's test runner) behaves the same."""
        try:
            return super().invoke(ctx)
        except ArcliError as exc:
            if os.environ.get("ARCLI_DEBUG"):
                raise
            _report_error(exc.message)
            raise click.exceptions.Exit(exc.exit_code) from None
        except BrokenPipeError:
            # The reader went away (`arcli aging | head`): not an error of ours.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise click.exceptions.Exit(0) from None
        except OSError as exc:
            if os.environ.get("ARCLI_DEBUG"):
                raise
            _report_error(describe_os_error(exc))
            raise click.exceptions.Exit(EXIT_ERROR) from None
        except Exception as exc:
            said = (busy_book_message(exc) or lost_connection_message(exc)
                    or damaged_file_message(exc) or full_disk_message(exc))
            if said is None or os.environ.get("ARCLI_DEBUG"):
                raise
            _report_error(said)
            raise click.exceptions.Exit(EXIT_ERROR) from None


#: The options every command takes, before or after its name (``arcli -q aging`` and
#: ``arcli aging -q``): one list, given to the root group with its environment variables
#: and to every subcommand by :func:`with_global_options`.
GLOBAL_OPTIONS = (
    (("--config", "config_path"), {
        "metavar": "PATH", "envvar": "ARCLI_CONFIG",
        "help": "Config file (env ARCLI_CONFIG; default: arcli.yaml in this folder or the "
                "nearest parent, else ~/.config/arcli/arcli.yaml)."}),
    (("--db", "db"), {
        "metavar": "PATH_OR_URL", "envvar": "ARCLI_DB",
        "help": "Database: a SQLite path or a sqlite:/// or postgresql:// URL "
                "(env ARCLI_DB; else `database:` in config; else ./arcli.db)."}),
    (("-q", "--quiet"), {"is_flag": True, "help": "Only errors on stderr: no progress, "
                                                  "warnings or informational messages."}),
)


def _set_global(ctx: click.Context, param: click.Parameter, value) -> None:
    """A global option given after a subcommand's name overrides the one given before."""
    if value is None or value is False:
        return
    from arcli.cli.common import AppContext

    app = ctx.find_object(AppContext)
    if app is not None:
        app.set_option(param.name, value)


def with_global_options(command: click.Command) -> click.Command:
    """Give ``command`` (and, for a group, every command under it) the global options,
    processed first (eager), so an option that reads the book (``--customer``) sees a
    ``--db`` given anywhere on the line. Done once per command object."""
    if getattr(command, "_arcli_global_options", False):
        return command
    for decls, attrs in GLOBAL_OPTIONS:
        kwargs = {k: v for k, v in attrs.items() if k != "envvar"}
        command.params.append(click.Option(list(decls), expose_value=False, is_eager=True,
                                           callback=_set_global, **kwargs))
    command._arcli_global_options = True  # type: ignore[attr-defined]
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            with_global_options(sub)
    return command


def _root_options(func):
    for decls, attrs in reversed(GLOBAL_OPTIONS):
        func = click.option(*decls, **attrs)(func)
    return func


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="arcli")
@_root_options
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, db: str | None, quiet: bool) -> None:
    """Accounts receivable from the shell: import, reconcile, age, and send signed
    statements and dunning letters.

    Data goes to stdout, messages to stderr. Exit codes: 0 ok, 1 data or runtime error,
    2 usage error, 3 ran fine but found something (differences, holds, unmatched lines).
    """
    from arcli.cli.common import AppContext

    ctx.obj = AppContext(config_path=config_path, db_arg=db, quiet=quiet)
    ctx.call_on_close(ctx.obj.close)


def describe_os_error(exc: OSError) -> str:
    """A full disk, a missing permission, a vanished file: the machine's doing, not a bug
    of arcli's, so said plainly (with where to look) instead of as an internal error."""
    message = exc.strerror or str(exc)
    if exc.filename:
        message += f": {exc.filename}"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        message += (f" (free some space; a big import also writes temporary files to "
                    f"{temporary_folder()}, set TMPDIR to put them elsewhere)")
    return message


def _report_error(message: str) -> None:
    for number, line in enumerate(message.splitlines() or [""]):
        prefix = "arcli: error: " if number == 0 else "  "
        click.echo(prefix + line, err=True)


class Terminated(BaseException):
    """SIGTERM (a scheduler's timeout, a service stopping), raised where the command is:
    it unwinds like Ctrl-C -- transactions rolled back, workers stopped, temporary files
    removed -- instead of the process vanishing mid-write. Not an ``Exception``, so no
    handler of ordinary errors swallows it."""


def _terminated(_signum, _frame) -> None:
    raise Terminated


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and turn every failure into a message and exit code."""
    debug = bool(os.environ.get("ARCLI_DEBUG"))
    if not debug and not sys.warnoptions:
        # stderr carries arcli's own messages only: a library's deprecation warning
        # (pyHanko's DSA import) means nothing to a user and breaks progress bars.
        # ARCLI_DEBUG=1, PYTHONWARNINGS or -W show them again.
        warnings.simplefilter("ignore")
    signal.signal(signal.SIGTERM, _terminated)
    try:
        code = cli.main(args=argv, prog_name="arcli", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("arcli: aborted", err=True)
        code = 130
    except Terminated:
        click.echo("arcli: terminated", err=True)
        code = 128 + signal.SIGTERM
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except ArcliError as exc:  # raised before a command ran (e.g. while parsing)
        if debug:
            raise
        _report_error(exc.message)
        code = exc.exit_code
    except KeyboardInterrupt:
        click.echo("arcli: interrupted", err=True)
        code = 130
    except OSError as exc:  # before or after a command ran (e.g. reading the config)
        if debug:
            raise
        _report_error(describe_os_error(exc))
        code = EXIT_ERROR
    except Exception as exc:
        if debug:
            raise
        _report_error(f"internal error: {type(exc).__name__}: {exc} "
                      "(set ARCLI_DEBUG=1 for a traceback and please report it)")
        code = EXIT_ERROR
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["EXIT_USAGE", "cli", "main"]
