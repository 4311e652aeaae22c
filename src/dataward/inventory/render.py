"""An Inventory as text: ``dataward.inventory/v1`` JSON, the same as TOML, a terminal table, or any report format."""

from __future__ import annotations

import io
import json
from typing import Any

import tomli_w
from rich.console import Console
from rich.table import Table

from dataward.inventory import Inventory
from dataward.report.base import FORMATS as REPORT_FORMATS

FORMATS = ("table", "json", "toml", "sarif", "ocsf")


def render(inv: Inventory, fmt: str, *, color: bool = False) -> str:
    if fmt == "json":
        return json.dumps(inv.to_json(), indent=2, ensure_ascii=False) + "\n"
    if fmt == "toml":
        return tomli_w.dumps(_no_nulls(inv.to_json()))
    if fmt == "table":
        return render_table(inv, color=color)
    return REPORT_FORMATS.get(fmt).render(inv.as_report())


def _no_nulls(value: Any) -> Any:
    """TOML has no null: drop None values (and keep everything else as it is)."""
    if isinstance(value, dict):
        return {k: _no_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_no_nulls(v) for v in value if v is not None]
    return value


def render_table(inv: Inventory, *, color: bool = False, width: int = 160) -> str:
    """One row per store (public ones first), then the findings as the scan's table shows them."""
    from dataward.report.table import render_table as render_report

    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=color, no_color=not color, highlight=False)
    table = Table(title=f"{len(inv.stores)} stores in {len(inv.accounts)} account(s), {len(inv.regions)} region(s)")
    for col in ("kind", "name", "account", "region", "engine", "endpoint", "internet", "auth", "owner"):
        table.add_column(col)
    for s in sorted(inv.stores, key=lambda s: (not s.reachable_from_internet, s.region, s.kind, s.name)):
        internet = ("anonymous" if s.anonymous else "yes") if s.reachable_from_internet else "no"
        table.add_row(s.kind, s.name, s.account, s.region, f"{s.engine or ''} {s.version or ''}".strip(),
                      s.endpoint or "", internet, s.auth or "?", s.owner or "")
    console.print(table)
    for error in inv.errors:
        console.print(f"not read: {error}")
    return buf.getvalue() + render_report(inv.as_report(), color=color)
