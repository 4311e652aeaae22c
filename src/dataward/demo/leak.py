"""The demo's seed-case replay: a naive 'analytics copy' of production in a store with its protection off.

An engineer copies every table of production into a store started for a connectivity project and switches
its protection off (PostgreSQL with ``trust`` for everyone, on loopback; or, when no PostgreSQL binary is
installed, a world-readable DuckDB file). dataward scans both with ``demo/dataward.toml`` — analytics copies may
hold no credentials or health data and need auth — and shows the critical findings and the HTML report.
Nothing leaves the machine: the server listens on 127.0.0.1 and is stopped at the end.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from dataward.demo.context import ANALYST_PASSWORD, POLICY, DemoContext
from dataward.findings import Severity
from dataward.policy import load_policy
from dataward.report.base import FORMATS
from dataward.report.model import Report
from dataward.scan import scan
from dataward.tables import open_tables
from dataward.targets import parse_target


def scan_leaky_copy(ctx: DemoContext) -> None:
    """Demo step: the seed case's naive analytics copy, scanned with the policy (report.html, report.json)."""
    started = time.perf_counter()
    ctx.console.print("[bold]3. the leak[/bold]: an engineer copies production, every column, into an "
                      "'analytics' store and switches its protection off")
    if ctx.production_url.startswith("duckdb://"):
        Path(ctx.production_url.removeprefix("duckdb://")).chmod(0o600)  # production itself is locked down
    from dataward.localservers.postgres import postgres_available

    server = ctx.server("analytics") if postgres_available() else None
    report = replay(ctx.production_url, ctx.out, ctx.console, server=server)
    if server is not None:
        ctx.state["analytics_copy"] = server  # the watch step replays the switch on the same copy
    ctx.state["leak_report"] = report
    ctx.files["scan report (HTML)"] = ctx.out / "report.html"
    ctx.files["scan report (JSON)"] = ctx.out / "report.json"
    ctx.console.print(f"   scanned in {time.perf_counter() - started:.1f} s")


@contextmanager
def open_store(out: Path, server: Any = None) -> Iterator[tuple[str, str, Any]]:
    """The store the copy goes into: yields (the engineer's URL to copy with, an outsider's URL without
    credentials, the PostgreSQL server or None). ``server`` is a running PostgreSQL (scram, the ``analyst``
    account) to use; without one a PostgreSQL of its own is started, or a DuckDB file when none is installed."""
    from dataward.localservers.postgres import PostgresServer, postgres_available

    if server is None and postgres_available():
        with PostgresServer(auth="scram", users={"analyst": ANALYST_PASSWORD}, databases=["analytics"]) as pg:
            yield pg.url(user="analyst", db="analytics"), pg.url(user="analyst", password="", db="analytics"), pg
        return
    if server is not None:
        yield (server.url(user="analyst", db="analytics"), server.url(user="analyst", password="", db="analytics"),
               server)  # fmt: skip
        return
    path = (out / "analytics-copy.duckdb").resolve()
    path.unlink(missing_ok=True)
    url = f"duckdb://{path}"
    yield url, url, None  # made world-readable after the copy: the embedded store's way of being 'open'



def naive_copy(source_url: str, dest_url: str) -> list[str]:
    """Every column of every table, as the engineer in the seed case did (streamed in Arrow batches)."""
    copied = []
    with open_tables(parse_target(source_url)) as src, open_tables(parse_target(dest_url), create=True) as dst:
        for table in src.list_tables():
            dst.write_table(table, src.schema(table), src.read_batches(table))
            copied.append(table)
    return copied


def replay(production_url: str, out: Path, console: Console, server: Any = None) -> Report:
    """Copy, switch the store's protection off, scan with the policy, print the critical findings, write
    report.html and report.json. ``server``: the PostgreSQL to copy into (left running, protection off)."""
    out.mkdir(parents=True, exist_ok=True)
    with open_store(out, server) as (engineer_url, copy_url, pg):
        tables = naive_copy(production_url, engineer_url)
        if pg is None:
            Path(copy_url.removeprefix("duckdb://")).chmod(0o644)
        else:
            pg.set_auth("trust")  # the engineer's switch: every pg_hba rule to trust, anyone may read the copy
        console.print(f"copied {len(tables)} tables into the 'analytics copy' at {parse_target(copy_url).display} "
                      "(protection off)")
        os.environ["DATAWARD_DEMO_PRODUCTION_URL"] = production_url
        os.environ["DATAWARD_DEMO_ANALYTICS_URL"] = copy_url
        policy = load_policy(POLICY)
        report = scan(policy.targets(), policy)
    html, js = out / "report.html", out / "report.json"
    html.write_text(FORMATS.get("html").render(report))
    js.write_text(FORMATS.get("json").render(report))
    show(report, console)
    console.print(f"HTML report: [bold]{html}[/bold]   JSON: {js}", highlight=False, soft_wrap=True)
    return report


def show(report: Report, console: Console) -> None:
    """The critical findings: one row per exposed table (what leaks), then the store-level causes."""
    s = report.summary()
    console.print(
        f"dataward scan with {POLICY.name}: "
        + ", ".join(f"{s['by_severity'][k]} {k}" for k in ("critical", "high", "medium", "low", "info"))
    )
    critical = report.at_or_above(Severity.CRITICAL)
    table = Table(title="critical: what anyone could read", title_justify="left")
    table.add_column("table")
    table.add_column("records", justify="right")
    table.add_column("categories")
    for f in (f for f in critical if f.object):
        table.add_row(Text(f.object or ""), Text(f"{f.records:,}" if f.records else ""), Text(", ".join(f.categories)))
    console.print(table)
    for f in (f for f in critical if not f.object):
        console.print(Text(f"  critical {f.rule}: {f.title}"), soft_wrap=True)
