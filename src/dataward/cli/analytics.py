"""``dataward analytics``: the product questions answered on a safe copy (library: ``dataward.analytics``)."""

from __future__ import annotations

import io
import json

import click
from rich.console import Console
from rich.table import Table

from dataward.analytics.html import render_html
from dataward.analytics.metrics import Analytics, compute
from dataward.cli._common import COMMANDS, schema_option, stderr_console, write_output
from dataward.schemamap import SchemaMap
from dataward.targets import parse_target


@click.command("analytics")
@click.option("--from", "source", required=True, metavar="URL", help="The safe copy (or production) to read.")
@click.option("--html", "html_file", metavar="FILE", help="Also write a self-contained HTML report with charts.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Output on stdout.")
@click.option("-o", "--output", metavar="FILE", help="Write the table/JSON output here instead of stdout.")
@schema_option
def analytics_command(
    source: str, html_file: str | None, fmt: str, output: str | None, schema: SchemaMap
) -> None:
    """Connectivity rate by camera model and firmware, failures by error code, users by month and
    devices per user, computed with DuckDB; on a generalised copy the output says which answers are coarser.
    Tables and columns come from the [schema] map of --config (default: the reference device cloud's).

    \b
    Example:
      dataward analytics --from duckdb:///analytics.duckdb --html report.html
      dataward analytics --from file:///srv/analytics --format json
      dataward analytics --from postgresql://ro@db/app --config dataward.toml
    """
    result = compute(parse_target(source), schema)
    if html_file:
        write_output(render_html(result), html_file)
        stderr_console().print(f"HTML report: {html_file}")
    text = json.dumps(result.to_json(), indent=2) + "\n" if fmt == "json" else _table_text(result)
    write_output(text, output)


def _table_text(result: Analytics) -> str:
    console = Console(record=True, width=100, file=io.StringIO())
    _section(console, "Connectivity by model", {k: f"{v:.1%}" for k, v in result.connectivity_by_model.items()})
    _section(console, "Connectivity by firmware", {k: f"{v:.1%}" for k, v in result.connectivity_by_firmware.items()})
    _section(console, "Failures by error code", {k: f"{v:,}" for k, v in result.failures_by_error_code.items()})
    _section(console, "Users by month", {k: f"{v:,}" for k, v in result.users_by_month.items()})
    _section(console, "Devices per user", {k: f"{v:,}" for k, v in result.devices_per_user.items()})
    for answer, why in result.coarser.items():
        console.print(f"note: {answer} is coarser on this copy: {why}")
    for answer, why in result.unavailable.items():
        console.print(f"note: {answer} is unavailable: {why}")
    return console.export_text()


def _section(console: Console, title: str, rows: dict[str, str]) -> None:
    console.print(f"[bold]{title}[/]")
    table = Table()
    table.add_column("group")
    table.add_column("value", justify="right")
    for k, v in rows.items():
        table.add_row(k, v)
    console.print(table)


COMMANDS.register(analytics_command)
