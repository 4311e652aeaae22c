"""The ``dataward`` command: a thin layer that parses options, calls the library and renders.

Each command lives in its own module of this package and registers its click command or group in
``COMMANDS`` (cli/_common.py, a ``dataward.registry.Registry``), so adding a command is adding a file.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from dataward import __version__
from dataward.cli._common import COMMANDS
from dataward.errors import DatawardError

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class DatawardGroup(click.Group):
    """Turns every DatawardError into one line on stderr and exit 2 (traceback only with --debug)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DatawardError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(exc.render(), err=True)
            sys.exit(EXIT_USAGE)
        except KeyboardInterrupt:
            click.echo("error: interrupted.", err=True)
            sys.exit(130)


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


for _command in COMMANDS:
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="dataward")
