"""Helpers shared by command modules: output files written atomically, format choice, progress."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from dataward.errors import DatawardError
from dataward.files import atomic_write
from dataward.registry import Registry
from dataward.schemamap import SchemaMap, load_schema_map

F = TypeVar("F", bound=Callable[..., Any])

# Every command module of this package registers its click command or group here (``COMMANDS.register(cmd)``).
COMMANDS: Registry[click.Command] = Registry(
    "command", package="dataward.cli", key=lambda c: c.name or "", tip="commands: {known}"
)


def write_output(text: str | bytes, path: str | None) -> None:
    """Write to stdout, or to a file atomically (a temp file renamed), so nothing is half-written."""
    if path is None or path == "-":
        if isinstance(text, bytes):
            sys.stdout.buffer.write(text)
        else:
            click.echo(text, nl=not text.endswith("\n"))
        return
    atomic_write(path, text)


def check_writable(path: str | Path) -> None:
    """Fail before any work when ``path`` could not be written later (a missing or read-only folder, /proc)."""
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    except OSError as exc:
        raise DatawardError(f"cannot write {target} ({exc.strerror})") from None
    os.close(fd)
    Path(tmp).unlink(missing_ok=True)


def stderr_console() -> Console:
    return Console(stderr=True)


@contextmanager
def progress(description: str, total: int | None = None) -> Iterator[Progress]:
    """A progress bar on stderr (hidden when stderr is not a terminal, so logs stay clean)."""
    console = stderr_console()
    bar = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    with bar:
        bar.add_task(description, total=total)
        yield bar


def phase_hook(bar: Progress) -> Callable[[str, int, int | None], None]:
    """The incident library's progress hook (``dataward.incident.progress``) drawn on ``bar``: the phase as the
    description, then done of total (rows read, files written; no total known: the bar only counts)."""
    task = bar.task_ids[0]

    def show(phase: str, done: int, total: int | None) -> None:
        bar.update(task, description=phase, completed=done, total=total)

    return show


def schema_option(fn: F) -> F:
    """``--config FILE``: the schema map (``[schema]``) of the production database; the reference one without it.

    The command receives ``schema`` as a :class:`dataward.schemamap.SchemaMap`.
    """

    def load(_ctx: click.Context, _param: click.Parameter, value: str | None) -> SchemaMap:
        return load_schema_map(value) if value else SchemaMap.reference()

    return click.option(
        "--config",
        "schema",
        metavar="FILE",
        callback=load,
        help="dataward.toml (or a file holding only [schema]) mapping roles to your tables and columns; "
        "default: the reference device cloud's names.",
    )(fn)
