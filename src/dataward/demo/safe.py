"""The demo's happy ending: the analytics copy made safely, scanned clean, and the product questions answered.

1. ``dataward copy plan`` maps every production column to an action (drop tokens, hashes, body metrics,
   SSIDs, nicknames; pseudonymise ids and emails with a keyed HMAC; generalise timestamps, IPs, firmware);
2. a copy into the open store of the seed case is refused by the destination audit, with nothing written;
3. the copy goes into a protected store (PostgreSQL with scram on loopback, or a private DuckDB file);
4. ``dataward scan`` with the same policy finds nothing at or above high;
5. ``dataward analytics`` on the copy gives the ground truth's answers (firmware per release line), with an
   HTML report. The pseudonym key lives only in this process.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.table import Table

from dataward.analytics.html import render_html
from dataward.analytics.metrics import compute
from dataward.copy.plan import dump_plan, make_plan
from dataward.copy.run import CopyOptions, run_copy
from dataward.copy.transforms import PseudonymKey
from dataward.demo.context import POLICY, DemoContext
from dataward.errors import DatawardError
from dataward.findings import Severity
from dataward.policy import load_policy
from dataward.scan import scan
from dataward.targets import parse_target

EXACT = ("connectivity_by_model", "failures_by_error_code", "users_by_month", "devices_per_user")


def safe_copy_and_analytics(ctx: DemoContext) -> None:
    """Demo step: plan, refused unsafe copy, safe copy, clean re-scan, analytics report."""
    started = time.perf_counter()
    ctx.console.print("[bold]4. the safe copy[/bold]: the same product questions, from a copy that cannot leak anyone",
                      soft_wrap=True)  # fmt: skip
    source = parse_target(ctx.production_url)
    plan = make_plan(source)
    plan_file = ctx.out / "plan.toml"
    plan_file.write_text(dump_plan(plan))
    ctx.files["copy plan"] = plan_file
    _show_plan(ctx, plan)
    key = PseudonymKey(secrets.token_bytes(32))  # demo only: a real key comes from DATAWARD_PSEUDONYM_KEY
    with _stores(ctx) as (open_url, safe_url):
        if open_url is not None:
            try:
                run_copy(source, parse_target(open_url), plan, key)
            except DatawardError as exc:
                ctx.console.print(f"   into the open store: [red]{exc.message}[/red]", soft_wrap=True, highlight=False)
        options = CopyOptions(owner="data-team@example.com", expires="2999-12-31")
        result = run_copy(source, parse_target(safe_url), plan, key, options)
        rows = sum(t.rows for t in result.manifest.tables.values())
        ctx.console.print(f"   copied {rows:,} rows into {result.destination} (key id {result.manifest.key_id})",
                          highlight=False, soft_wrap=True)  # fmt: skip
        _rescan(ctx, safe_url)
        _analytics(ctx, safe_url)
    ctx.console.print(f"   done in {time.perf_counter() - started:.1f} s")


@contextmanager
def _stores(ctx: DemoContext) -> Iterator[tuple[str | None, str]]:
    """(an open store the copy must refuse, a protected one), on loopback; DuckDB when PostgreSQL is absent.
    The open store is the seed case's analytics copy with its protection off (the leak step's server)."""
    from dataward.localservers.postgres import postgres_available

    if postgres_available():
        open_pg, safe_pg = ctx.server("analytics"), ctx.server("safe")
        if open_pg.auth != "trust":
            open_pg.set_auth("trust")
        yield open_pg.url(user="analyst", password="", db="analytics"), safe_pg.url(user="analyst", db="analytics")
        return
    path = (ctx.out / "analytics-safe.duckdb").resolve()
    path.unlink(missing_ok=True)
    yield None, f"duckdb://{path}"


def _show_plan(ctx: DemoContext, plan: object) -> None:
    from dataward.copy.plan import Plan

    assert isinstance(plan, Plan)
    counts: dict[str, list[str]] = {}
    for name, tp in plan.tables.items():
        for col, p in tp.columns.items():
            counts.setdefault(p.action, []).append(f"{name}.{col}")
    table = Table(title="copy plan (every column mapped)", title_justify="left")
    table.add_column("action")
    table.add_column("columns", justify="right")
    table.add_column("e.g.")
    for action, cols in sorted(counts.items()):
        table.add_row(action, str(len(cols)), ", ".join(cols[:4]) + (" ..." if len(cols) > 4 else ""))
    ctx.console.print(table)


def _rescan(ctx: DemoContext, safe_url: str) -> None:
    os.environ["DATAWARD_DEMO_ANALYTICS_URL"] = safe_url
    os.environ.setdefault("DATAWARD_DEMO_PRODUCTION_URL", ctx.production_url)
    policy = load_policy(POLICY)
    targets = [t for t in policy.targets() if t.name == "analytics-copy"]
    report = scan(targets, policy)
    worst = report.at_or_above(Severity.HIGH)
    verdict = "[green]clean[/green]: nothing at or above high" if not worst else f"[red]{len(worst)} findings[/red]"
    ctx.console.print(f"   re-scan of the safe copy with {POLICY.name}: {verdict}")
    for f in worst:
        ctx.console.print(f"     {f.severity.label} {f.rule}: {f.title}", highlight=False)
    ctx.state["safe_report"] = report


def _analytics(ctx: DemoContext, safe_url: str) -> None:
    result = compute(parse_target(safe_url))
    html = ctx.out / "analytics.html"
    html.write_text(render_html(result))
    ctx.files["analytics report (HTML)"] = html
    truth = ctx.ground_truth.get("analytics", {})
    same = [k for k in EXACT if truth.get(k) == getattr(result, k)]
    ctx.console.print(f"   analytics on the copy: {len(same)} of {len(EXACT)} answers equal production's ground truth"
                      f" exactly; coarser by design: {', '.join(result.coarser) or 'none'}")  # fmt: skip
    best = sorted(result.connectivity_by_model.items(), key=lambda kv: -kv[1])[:3]
    ctx.console.print("   best connectivity: " + ", ".join(f"{m} {r:.1%}" for m, r in best), highlight=False)
    ctx.state["safe_analytics"] = result
