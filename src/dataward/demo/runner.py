"""``make demo`` (``python -m dataward.demo``): the seed case on one machine, step by step, in under a minute.

The demo is a list of step functions run in order over one ``DemoContext``; each later feature adds its step
to ``STEPS`` (the scan of a leaky copy, the safe copy, ...). v1 generates a small reference device cloud into
``demo/out/production.duckdb`` and prints what it holds.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from dataward.demo.audit import verify_audit
from dataward.demo.context import (
    DEFAULT_OUT,
    DEFAULT_USERS,
    DEMO_SEED,
    POSTGRES_SERVERS,
    DemoContext,
    Step,
    interruptible,
)
from dataward.demo.incident import open_the_incident
from dataward.demo.leak import scan_leaky_copy
from dataward.demo.notify import notify_and_lookup
from dataward.demo.respond import respond
from dataward.demo.safe import safe_copy_and_analytics
from dataward.demo.serve import serve_the_state
from dataward.demo.watch import watch_the_switch

# The demo generates the reference device cloud as the seed case's "production": the one product module
# allowed to import devicecloud besides the CLI's generate/devicecloud commands (import-linter contract).
from dataward.devicecloud import TABLE_NAMES, TABLES, DeviceCloud, arrow_schema, ground_truth
from dataward.devicecloud.ground_truth import write_ground_truth
from dataward.tables import open_tables

DEMO_BETA_SHARE = 0.01  # the smart-scale beta: 1 customer in 100 here (the seed company: ~140 in 2.4M)


class DemoCloud(DeviceCloud):
    """The reference device cloud with a smart-scale beta big enough to be seen at demo size: at the seed
    company's share (about 140 in 2.4M) a 2,000-customer cloud holds nobody's body metrics, so the
    health-data obligations (the FTC Health Breach Notification Rule for US customers) would never show."""

    @property
    def beta_cohort(self) -> int:
        return max(1, round(self.users * DEMO_BETA_SHARE))


def generate_production(ctx: DemoContext) -> None:
    """Step 1: the company's production database, a small reference device cloud in DuckDB (one pass: each
    table written once, the ground truth from the same cloud)."""
    ctx.out.mkdir(parents=True, exist_ok=True)
    path = ctx.out / "production.duckdb"
    truth_path = ctx.out / "production.ground_truth.json"
    for stale in (path, path.with_name(path.name + ".wal")):  # an earlier run's, a killed one's WAL included
        stale.unlink(missing_ok=True)
    ctx.production_url = f"duckdb://{path}"
    started = time.perf_counter()
    cloud = DemoCloud(ctx.users, DEMO_SEED)
    with open_tables(ctx.production_url, create=True) as store:
        for table in TABLE_NAMES:
            store.write_table(table, arrow_schema(table), cloud.batches(table, workers=2))
    ctx.ground_truth = ground_truth(cloud)
    write_ground_truth(ctx.ground_truth, truth_path)
    ctx.files["production database"] = path
    ctx.files["ground truth"] = truth_path
    rows = sum(cloud.row_counts().values())
    ctx.console.print(
        f"[bold]1. production[/bold]: generated {rows:,} rows for {ctx.users:,} users "
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


# the local servers each step uses, started in the background when the demo begins (PostgreSQL ones only when
# a PostgreSQL binary is installed; the steps fall back to DuckDB files otherwise)
NEEDS: dict[Step, tuple[str, ...]] = {
    scan_leaky_copy: ("analytics",),
    safe_copy_and_analytics: ("analytics", "safe"),
    watch_the_switch: ("analytics",),
    notify_and_lookup: ("mail",),
}


def run(
    steps: Sequence[Step] | None = None,
    out: Path = DEFAULT_OUT,
    users: int = DEFAULT_USERS,
    console: Console | None = None,
    serve: bool = False,
) -> DemoContext:
    """Run the demo's steps in order (``STEPS`` then ``FINAL_STEPS`` by default) and return the context;
    ``ctx.timings`` holds each step's wall and CPU seconds (this process's CPU, not its servers').
    ``serve``: end with ``dataward serve`` on the demo's state, in the foreground until Ctrl-C."""
    from dataward.localservers.postgres import postgres_available

    ctx = DemoContext(out=out, console=console or Console(), users=users)
    chosen = [*(STEPS if steps is None else steps), *FINAL_STEPS, *([serve_the_state] if serve else [])]
    with ctx.resources:  # every server started for the demo stops here
        ctx.out.mkdir(parents=True, exist_ok=True)
        pg = postgres_available()
        ctx.prestart(dict.fromkeys(n for s in chosen for n in NEEDS.get(s, ()) if pg or n not in POSTGRES_SERVERS))
        for step in chosen:
            wall, cpu = time.perf_counter(), time.process_time()
            step(ctx)
            ctx.timings.append((step.__name__, time.perf_counter() - wall, time.process_time() - cpu))
    return ctx


def print_timings(ctx: DemoContext, console: Console) -> None:
    """Each step's wall and CPU time (``--timings``): CPU is the steadier figure on a shared machine."""
    table = Table(title=f"timings (load average {os.getloadavg()[0]:.2f})", title_justify="left")
    for name, justify in (("step", "left"), ("wall", "right"), ("CPU", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for name, wall, cpu in ctx.timings:
        table.add_row(name, f"{wall:.2f} s", f"{cpu:.2f} s")
    table.add_row("all steps", f"{sum(t[1] for t in ctx.timings):.2f} s", f"{sum(t[2] for t in ctx.timings):.2f} s")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the servers and tools the demo started, once ended
    table.add_row("its servers", "", f"{usage.ru_utime + usage.ru_stime:.2f} s")
    console.print(table)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dataward.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=DEFAULT_USERS, help="users in the generated cloud")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for everything the demo writes")
    parser.add_argument("--timings", action="store_true", help="print each step's wall and CPU time at the end")
    parser.add_argument("--serve", action="store_true",
                        help="then run `dataward serve` on the demo's state until Ctrl-C (make demo SERVE=1)")  # fmt: skip
    args = parser.parse_args(argv)
    started = time.perf_counter()
    console = Console()
    try:
        with interruptible():  # Ctrl-C or SIGTERM still stops every server the demo started
            ctx = run(out=args.out, users=args.users, console=console, serve=args.serve)
    except KeyboardInterrupt:
        console.print("demo interrupted; the servers it started are stopped", highlight=False)
        raise SystemExit(130) from None
    if args.timings:
        print_timings(ctx, console)
    if not args.serve:
        console.print(f"demo finished in {time.perf_counter() - started:.1f} s; to see it in the browser: "
                      "make demo SERVE=1", highlight=False)  # fmt: skip
