"""The ``dataward`` command: a thin layer that parses options, calls the library and renders.

Each command lives in its own module of this package and exposes ``COMMAND`` (a click command or group);
this module discovers them, so adding a command is adding a file.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from typing import Any

import click

from dataward import __version__
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


def _load_commands() -> None:
    import dataward.cli as pkg

    for mod in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"dataward.cli.{mod.name}")
        command = getattr(module, "COMMAND", None)
        if isinstance(command, click.Command):
            cli.add_command(command)


_load_commands()


def main() -> None:
    cli(prog_name="dataward")
