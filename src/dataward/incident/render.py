"""Blast-radius output formats: table (terminal), json (``dataward.blast_radius/v1``), html (a summary page)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import jinja2
from rich.console import Console
from rich.table import Table

from dataward.errors import DatawardError
from dataward.suggest import did_you_mean

Renderer = Callable[[dict[str, Any]], str]
_RENDERERS: dict[str, Renderer] = {}


def renderer(name: str) -> Callable[[Renderer], Renderer]:
    def wrap(fn: Renderer) -> Renderer:
        _RENDERERS[name] = fn
        return fn

    return wrap


def render(report: dict[str, Any], fmt: str) -> str:
    fn = _RENDERERS.get(fmt)
    if fn is None:
        raise DatawardError(f"'{fmt}' is not a blast-radius format.{did_you_mean(fmt, _RENDERERS)}")
    return fn(report)


@renderer("json")
def as_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2) + "\n"


@renderer("table")
def as_table(report: dict[str, Any]) -> str:
    console = Console(record=True, width=120, force_terminal=False, color_system=None)
    console.print(
        f"Incident {report['incident']}: window {report['window'][0]} to {report['window'][1]}, "
        f"{report['affected_customers']:,} customers affected"
    )
    fields = Table("field", "customers", title="Fields exposed")
    for name, n in report["by_field"].items():
        fields.add_row(name, f"{n:,}")
    console.print(fields)
    regions = Table("region", "customers", title="Top regions")
    for name, n in list(report["by_region"].items())[:15]:
        regions.add_row(name, f"{n:,}")
    console.print(regions)
    obligations = Table("rule", "customers", "deadline", "notify", "why", title="Obligations")
    for ob in report["obligations"]:
        obligations.add_row(
            ob["id"],
            f"{ob['customers']:,}",
            ob["deadline"] or "without undue delay",
            ", ".join(ob["notify"]),
            ob["why"],
        )
    console.print(obligations)
    for note in report.get("notes", []):
        console.print(f"note: {note}")
    return console.export_text()


@renderer("html")
def as_html(report: dict[str, Any]) -> str:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("dataward.incident", "templates"),
        autoescape=True,
        keep_trailing_newline=True,
    )
    return env.get_template("blast_radius.html.j2").render(r=report)
