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

from rich.console import Console
from rich.table import Table
from rich.text import Text

from dataward.demo.context import POLICY, DemoContext
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
    report = replay(ctx.production_url, ctx.out, ctx.console)
    ctx.state["leak_report"] = report
    ctx.files["scan report (HTML)"] = ctx.out / "report.html"
    ctx.files["scan report (JSON)"] = ctx.out / "report.json"
    ctx.console.print(f"   scanned in {time.perf_counter() - started:.1f} s")


@contextmanager
def open_store(out: Path) -> Iterator[str]:
    """The store the copy goes into, its protection off; yields a URL without credentials (an outsider's)."""
    from dataward.localservers.postgres import PostgresServer, postgres_available

    if postgres_available():
        with PostgresServer(auth="trust", users={"analyst": "analyst-pw"}, databases=["analytics"]) as pg:
            yield pg.url(user="analyst", password="", db="analytics")
        return
    path = (out / "analytics-copy.duckdb").resolve()
    path.unlink(missing_ok=True)
    yield f"duckdb://{path}"  # made world-readable after the copy: the embedded store's way of being 'open'


def naive_copy(source_url: str, dest_url: str) -> list[str]:
    """Every column of every table, as the engineer in the seed case did (streamed in Arrow batches)."""
    copied = []
    with open_tables(parse_target(source_url)) as src, open_tables(parse_target(dest_url), create=True) as dst:
        for table in src.list_tables():
            dst.write_table(table, src.schema(table), src.read_batches(table))
            copied.append(table)
    return copied


def replay(production_url: str, out: Path, console: Console) -> Report:
    """Copy, scan with the policy, print the critical findings, write report.html and report.json."""
    out.mkdir(parents=True, exist_ok=True)
    with open_store(out) as copy_url:
        tables = naive_copy(production_url, copy_url)
        if copy_url.startswith("duckdb://"):
            Path(copy_url.removeprefix("duckdb://")).chmod(0o644)
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
