"""``dataward classify``: sample a store, classify every column, render the categories."""

from __future__ import annotations

import io
import json
import sys

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from dataward.classify.base import ObjectResult
from dataward.classify.engine import ClassifyOptions, classification_json, classify_target
from dataward.cli._common import COMMANDS, progress, write_output
from dataward.cli._engine import engine_from, engine_options
from dataward.stores.base import Budget
from dataward.targets import parse_target

FORMATS = ("table", "json")


@click.command("classify")
@click.argument("url")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Output format. Default: table on a terminal, json when piped or with -o FILE.json.")
@click.option("--rows", type=click.IntRange(1, 1_000_000), default=2000, show_default=True,
              help="Values sampled per column (rows per table, keys per pattern, messages per topic).")
@click.option("--objects", "max_objects", type=click.IntRange(1, 100_000), default=200, show_default=True,
              help="Tables, key patterns, topics or files sampled at most.")
@click.option("--all", "show_all", is_flag=True, help="Table format: also list columns with no sensitive category.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default=None,
              help="Write the result to FILE (atomically) instead of stdout.")
@engine_options
def classify_command(
    url: str, fmt: str | None, rows: int, max_objects: int, show_all: bool, output: str | None,
    engine: str, spark_master: str, spark_conf: tuple[str, ...],
) -> None:
    """Tell what sensitive data each table, key pattern, topic or file of a store holds, per column.

    Values are sampled (never a full scan) and stay in memory; the output shows categories, a confidence,
    the share of sampled values that matched and a redacted example (e***@***.com, Atza|…[redacted]).
    Nested JSON fields appear as column.path.

    \b
    Examples:
      dataward classify sqlite:///srv/exports/analytics.db
      dataward classify "duckdb://$PWD/demo/out/production.duckdb" --format json -o classes.json
      dataward classify 'file:///data/export/*.parquet' --rows 5000 --all
      dataward classify redis://127.0.0.1:6379/0 --format json
      dataward classify --engine spark s3a://lake/prod --spark-master yarn --format json

    With --engine spark (Parquet or Delta folders, postgresql:// or mysql:// through JDBC) each table is
    sampled with TABLESAMPLE and the detectors run inside the Spark executors (docs/spark.md).
    """
    target = parse_target(url)
    chosen = engine_from(engine, spark_master, spark_conf)
    if chosen.spark:
        from dataward.spark.classify import classify_spark

        results = classify_spark(chosen.session(target), target, rows, max_objects)
    else:
        budget = Budget(rows_per_object=rows, max_objects=max_objects)
        with progress(f"classifying {target.display}") as bar:
            task = bar.task_ids[0]
            results = classify_target(
                target, budget, ClassifyOptions(rows=rows), on_object=lambda _r: bar.advance(task)
            )
    fmt = fmt or ("json" if (output and output.endswith(".json")) or not sys.stdout.isatty() else "table")
    text = json.dumps(classification_json(results), indent=2) + "\n" if fmt == "json" else render_table(results, show_all)
    write_output(text, output)


def render_table(results: list[ObjectResult], show_all: bool = False) -> str:
    """One row per column with a category or sensitive free text (every column with show_all), as plain text."""
    table = Table(title="dataward classify", show_lines=False)
    for header in ("object", "column", "categories", "confidence", "match rate", "evidence"):
        table.add_column(header)
    hidden = 0
    for obj in results:
        for col in obj.columns:
            if not col.categories and not col.free_text and not show_all:
                hidden += 1
                continue
            cats = col.categories
            inside = f"free text with {', '.join(col.free_text)}" if col.free_text else ""
            table.add_row(
                escape(obj.object),
                escape(col.name),
                "; ".join(x for x in (", ".join(m.id for m in cats), inside) if x) or "-",
                ", ".join(f"{m.confidence:.2f}" for m in cats),
                ", ".join(f"{m.match_rate:.0%}" for m in cats),
                escape(col.evidence),
            )
    buffer = io.StringIO()
    Console(file=buffer, width=160, no_color=True).print(table)
    if hidden:
        buffer.write(f"{hidden} column(s) with no sensitive category not shown (use --all).\n")
    if not results:
        buffer.write("No tables, keys, topics or files were found to sample.\n")
    return buffer.getvalue()


COMMANDS.register(classify_command)
