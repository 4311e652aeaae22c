"""``dataward generate``: write the reference device cloud and its ground truth to a table URL."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.progress import TaskID

from dataward.cli._common import COMMANDS, check_writable, progress
from dataward.devicecloud import generate


@click.command("generate")
@click.option(
    "--users",
    type=click.IntRange(1, 50_000_000),
    required=True,
    help="Number of users (devices, events follow).",
)
@click.option(
    "--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed: the same users and seed give the same rows."
)
@click.option(
    "--out",
    "out",
    required=True,
    metavar="URL",
    help="sqlite:///path, duckdb:///path, file:///dir (Parquet), postgresql://… or mysql://…",
)
@click.option(
    "--force", is_flag=True, help="Replace the device-cloud tables of an output that already holds tables."
)
@click.option(
    "--ground-truth",
    "ground_truth",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write ground_truth.json (default: in the Parquet folder, next to a database file, "
    "or ./<database>.ground_truth.json for servers).",
)
def generate_command(users: int, seed: int, out: str, force: bool, ground_truth: Path | None) -> None:
    """Generate the reference device cloud (users, devices, connection_events, api_tokens, integrations,
    body_metrics) with realistic values, and write ground_truth.json (row counts, the sensitive category of
    every column, the analytics answers).

    Nothing partial is left behind: tables are written under temporary names and renamed at the end.
    An output that already holds tables is refused without --force.

    \b
    Examples:
      dataward generate --users 5000 --seed 1 --out duckdb:///tmp/production.duckdb
      dataward generate --users 2400000 --out file:///data/devicecloud
      dataward generate --users 20000 --out postgresql://app@127.0.0.1:5432/devicecloud --force
    """
    if ground_truth is not None:
        check_writable(ground_truth)
    with progress("generating") as bar:
        bar.remove_task(bar.task_ids[0])
        tasks: dict[str, TaskID] = {}

        def report(table: str, done: int, total: int) -> None:
            if table not in tasks:
                tasks[table] = bar.add_task(table, total=total)
            bar.update(tasks[table], completed=done)

        result = generate(users, seed, out, force=force, progress=report, ground_truth_path=ground_truth)
    console = Console()
    width = max(len(t) for t in result.row_counts)
    for table, rows in result.row_counts.items():
        console.print(f"{table:<{width}}  {rows:>12,} rows", highlight=False)
    console.print(
        f"wrote {result.rows:,} rows to {result.target} in {result.seconds:.1f} s; "
        f"ground truth: {result.ground_truth_path}",
        highlight=False,
        soft_wrap=True,
    )


COMMANDS.register(generate_command)
