"""``make demo`` (``python -m dataward.demo``): the seed case on one machine, step by step, in under a minute.

The demo is a list of step functions run in order over one ``DemoContext``; each later feature adds its step
to ``STEPS`` (the scan of a leaky copy, the safe copy, ...). v1 generates a small reference device cloud into
``demo/out/production.duckdb`` and prints what it holds.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from dataward.demo.audit import verify_audit
from dataward.demo.context import DEFAULT_OUT, DEFAULT_USERS, DEMO_SEED, DemoContext, Step
from dataward.demo.incident import open_the_incident
from dataward.demo.leak import scan_leaky_copy
from dataward.demo.notify import notify_and_lookup
from dataward.demo.respond import respond
from dataward.demo.safe import safe_copy_and_analytics
from dataward.demo.watch import watch_the_switch

# The demo generates the reference device cloud as the seed case's "production": the one product module
# allowed to import devicecloud besides the CLI's generate/devicecloud commands (import-linter contract).
from dataward.devicecloud import TABLE_NAMES, TABLES, generate, load_ground_truth


def generate_production(ctx: DemoContext) -> None:
    """Step 1: the company's production database, a small reference device cloud in DuckDB."""
    ctx.out.mkdir(parents=True, exist_ok=True)
    path = ctx.out / "production.duckdb"
    ctx.production_url = f"duckdb://{path}"
    started = time.perf_counter()
    result = generate(ctx.users, DEMO_SEED, ctx.production_url, force=True)
    ctx.ground_truth = load_ground_truth(result.ground_truth_path)
    ctx.files["production database"] = path
    ctx.files["ground truth"] = result.ground_truth_path
    ctx.console.print(
        f"[bold]1. production[/bold]: generated {result.rows:,} rows for {ctx.users:,} users "
        f"in {time.perf_counter() - started:.1f} s"
    )


def summarise_production(ctx: DemoContext) -> None:
    """Step 2: rows per table and the sensitive columns each table holds (from the ground truth)."""
    table = Table(title="production.duckdb: what a copy of it would expose", show_lines=False)
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("sensitive columns (category)")
    counts = ctx.ground_truth.get("row_counts", {})
    for name in TABLE_NAMES:
        sensitive = [f"{c.name} ({c.category})" for c in TABLES[name] if c.category]
        table.add_row(name, f"{counts.get(name, 0):,}", ", ".join(sensitive) or "-")
    ctx.console.print(table)


def print_story(ctx: DemoContext) -> None:
    """The closing table: each step of the other half, what the seed company did, what dataward did, how long."""
    if not ctx.story:
        return
    table = Table(title="the seed case, replayed", title_justify="left")
    table.add_column("step")
    table.add_column("the seed company")
    table.add_column("dataward")
    table.add_column("took", justify="right")
    for step, seed, ours, seconds in ctx.story:
        table.add_row(step, seed, ours, f"{seconds:.1f} s")
    ctx.console.print(table)


def print_files(ctx: DemoContext) -> None:
    """Last step: where everything the demo wrote lies."""
    ctx.console.print("[bold]files[/bold]")
    for label, path in ctx.files.items():
        ctx.console.print(f"  {label}: {path}", highlight=False, soft_wrap=True)


STEPS: list[Step] = [
    generate_production,
    summarise_production,
    scan_leaky_copy,
    safe_copy_and_analytics,
    watch_the_switch,
    open_the_incident,
    respond,
    notify_and_lookup,
    verify_audit,
]
FINAL_STEPS: list[Step] = [print_story, print_files]


def run(
    steps: Sequence[Step] | None = None,
    out: Path = DEFAULT_OUT,
    users: int = DEFAULT_USERS,
    console: Console | None = None,
) -> DemoContext:
    """Run the demo's steps in order (``STEPS`` then ``FINAL_STEPS`` by default) and return the context."""
    ctx = DemoContext(out=out, console=console or Console(), users=users)
    with ctx.resources:  # servers a step left running for later ones stop here
        for step in [*(STEPS if steps is None else steps), *FINAL_STEPS]:
            step(ctx)
    return ctx


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dataward.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=DEFAULT_USERS, help="users in the generated cloud")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for everything the demo writes")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    run(out=args.out, users=args.users)
    Console().print(f"demo finished in {time.perf_counter() - started:.1f} s")
