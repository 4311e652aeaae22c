"""The ``dataward`` command: a thin layer that parses options, calls the library and renders.

Each command lives in its own module of this package, named after the command, and registers its click command
or group in ``COMMANDS`` (cli/_common.py, a ``dataward.registry.Registry``), so adding a command is adding a file.
The group imports a command's module only when that command runs (``--help`` lists them all).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from dataward import __version__
from dataward.cli._common import COMMANDS
from dataward.errors import DatawardError
from dataward.suggest import did_you_mean

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class DatawardGroup(click.Group):
    """Turns every error a user can cause into one line on stderr and exit 2 (traceback only with --debug).

    DatawardError is the library's own; click's usage errors are re-worded to the same one-line shape; an
    OSError or a decoding error that escaped translation in the library (a path that cannot be written, a file
    that is not text) still becomes one sentence rather than a traceback.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return COMMANDS.names()

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Imports only the module of the command asked for (each command is the module of its name), so
        ``dataward scan`` does not pay for importing watch, serve or Spark."""
        command = COMMANDS.find_named(cmd_name)
        if command is None and not ctx.resilient_parsing:
            ctx.fail(f"No such command '{cmd_name}'.{did_you_mean(cmd_name, COMMANDS.names())}")
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise SystemExit(_usage_error(exc)) from None
        except (DatawardError, OSError, UnicodeDecodeError) as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(_one_sentence(exc), err=True)
            sys.exit(EXIT_USAGE)
        except KeyboardInterrupt:
            click.echo("error: interrupted.", err=True)
            sys.exit(130)


def _usage_error(exc: click.UsageError) -> int:
    command = exc.ctx.command_path if exc.ctx is not None else "dataward"
    message = exc.format_message().rstrip(".")
    click.echo(f"error: {message}{'' if message.endswith('?') else '.'}", err=True)
    click.echo(f"  Tip: see '{command} --help'.", err=True)
    return EXIT_USAGE


def _one_sentence(exc: BaseException) -> str:
    if isinstance(exc, DatawardError):
        return exc.render()
    if isinstance(exc, UnicodeDecodeError):
        return "error: an input file is not UTF-8 text."
    assert isinstance(exc, OSError)
    where = f" {exc.filename}" if exc.filename else ""
    return f"error: cannot use{where} ({exc.strerror or type(exc).__name__})."


@click.group(cls=DatawardGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dataward")
@click.option("--debug", is_flag=True, help="Show Python tracebacks instead of one-line errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """dataward finds stores that hold customer data, tells who can read them and what is inside,
    makes safe analytics copies, watches for exposure and runs the response to a leak.

    \b
    Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it, 2 usage/config/input error.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main() -> None:
    cli(prog_name="dataward")
