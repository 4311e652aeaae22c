"""``dataward copy plan`` and ``dataward copy run``: safe analytics copies (library: ``dataward.copy``)."""

from __future__ import annotations

import json
from collections.abc import Callable

import click

from dataward.cli._common import COMMANDS, stderr_console, write_output
from dataward.cli._engine import engine_from, engine_options
from dataward.copy.plan import dump_plan, load_plan, make_plan
from dataward.copy.run import CopyOptions, CopyResult, load_key, run_copy
from dataward.targets import parse_target


@click.group("copy")
def copy_group() -> None:
    """Safe analytics copies: plan every column, then copy fail-closed.

    \b
    Example:
      dataward copy plan --from sqlite:///prod.db -o plan.toml
      export DATAWARD_PSEUDONYM_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))')
      dataward copy run --from sqlite:///prod.db --to duckdb:///analytics.duckdb --plan plan.toml \\
          --owner data-team@example.com --expires 2026-12-31
    """


@copy_group.command("plan")
@click.option("--from", "source", required=True, metavar="URL", help="The source database or folder.")
@click.option("-o", "--output", metavar="FILE", help="Write the plan here (default: stdout).")
@click.option("--rows", default=2000, show_default=True, help="Rows sampled per table for classification.")
def plan_command(source: str, output: str | None, rows: int) -> None:
    """Classify the source and write a plan mapping every column to keep, drop, pseudonymize,
    generalize or suppress, each with the reason (category, confidence).

    \b
    Example:
      dataward copy plan --from postgresql://reader@db.internal/app -o plan.toml
    """
    plan = make_plan(parse_target(source), rows=rows)
    write_output(dump_plan(plan), output)
    if output:
        cols = sum(len(t.columns) for t in plan.tables.values())
        stderr_console().print(f"plan: {len(plan.tables)} tables, {cols} columns -> {output}")


@copy_group.command("run")
@click.option("--from", "source", required=True, metavar="URL", help="The source database or folder.")
@click.option("--to", "dest", required=True, metavar="URL", help="postgresql://, duckdb:///, sqlite:/// or file:///dir.")
@click.option("--plan", "plan_file", required=True, metavar="FILE", help="The reviewed plan (from `copy plan`).")
@click.option("--key-file", metavar="FILE", help="Pseudonym key file (default: $DATAWARD_PSEUDONYM_KEY).")
@click.option("--k", "k", default=5, show_default=True, help="k-anonymity over the kept quasi-identifiers.")
@click.option(
    "--k-mode",
    type=click.Choice(["suppress", "refuse"]),
    default="suppress",
    show_default=True,
    help="Classes below k: null their quasi-identifiers, or refuse the copy.",
)
@click.option("--owner", metavar="EMAIL", help="Who owns the copy (recorded in the manifest).")
@click.option("--expires", metavar="DATE", help="When the copy must be deleted, e.g. 2026-12-31 (manifest).")
@click.option("--require-tls", is_flag=True, help="Refuse a destination that does not require TLS.")
@click.option(
    "--allow-unsafe-destination",
    is_flag=True,
    help="Copy even when the destination audit fails; the override is recorded in the manifest.",
)
@click.option("--batch-size", default=65536, show_default=True, help="Rows per Arrow batch (bounds memory).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="How to print the result.")
@engine_options
def run_command(
    source: str,
    dest: str,
    plan_file: str,
    key_file: str | None,
    k: int,
    k_mode: str,
    owner: str | None,
    expires: str | None,
    require_tls: bool,
    allow_unsafe_destination: bool,
    batch_size: int,
    fmt: str,
    engine: str,
    spark_master: str,
    spark_conf: tuple[str, ...],
) -> None:
    """Copy through the plan: refuses schema drift, unmapped columns and unsafe destinations before
    writing anything; writes atomically and leaves a manifest (_dataward_manifest) in the destination.

    \b
    With --engine spark the same plan runs on Apache Spark (Parquet or Delta folders, file:// or s3a://,
    and postgresql:// or mysql:// through JDBC) into a folder of Parquet tables, or of Delta tables with
    --to 'file:///dir?format=delta'; see docs/spark.md.

    \b
    Examples:
      dataward copy run --from sqlite:///prod.db --to file:///srv/analytics --plan plan.toml --k 5
      dataward copy run --engine spark --spark-master 'local[8]' --spark-conf spark.driver.memory=4g \\
          --from s3a://lake/prod --to s3a://analytics/copy --plan plan.toml
    """
    options = CopyOptions(
        k=k,
        k_mode="refuse" if k_mode == "refuse" else "suppress",
        owner=owner,
        expires=expires,
        allow_unsafe_destination=allow_unsafe_destination,
        require_tls=require_tls,
        batch_size=batch_size,
    )
    plan = load_plan(plan_file)
    chosen = engine_from(engine, spark_master, spark_conf)
    src, dst, key = parse_target(source), parse_target(dest), load_key(key_file)
    if chosen.spark:
        from dataward.spark.copy import run_copy_spark

        result = run_copy_spark(chosen.session(src), src, dst, plan, key, options)
    else:
        with _ProgressReporter() as report:
            result = run_copy(src, dst, plan, key, options, report)
    _print_result(result, fmt)


class _ProgressReporter:
    """A per-table progress bar on stderr (hidden when stderr is not a terminal)."""

    def __enter__(self) -> Callable[[str, int, int], None]:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        console = stderr_console()
        self._bar = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console, transient=True, disable=not console.is_terminal,
        )  # fmt: skip
        self._bar.start()
        self._tasks: dict[str, object] = {}

        def report(table: str, done: int, expected: int) -> None:
            task = self._tasks.get(table)
            if task is None:
                task = self._tasks[table] = self._bar.add_task(f"copy {table}", total=max(expected, done))
            self._bar.update(task, completed=done, total=max(expected, done))  # type: ignore[arg-type]

        return report

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()


def _print_result(result: CopyResult, fmt: str) -> None:
    m = result.manifest
    if fmt == "json":
        click.echo(json.dumps({"destination": result.destination, "manifest": m.to_json()}, indent=2))
        return
    console = stderr_console()
    for table, t in m.tables.items():
        note = f", quasi-identifiers suppressed in {t.suppressed} rows (k={m.k})" if t.suppressed else ""
        note += f" ({t.skipped})" if t.skipped else ""
        click.echo(f"{table}: {t.rows} rows{note}")
    click.echo(f"copied to {result.destination} (plan {m.plan_hash[:12]}, key id {m.key_id or 'none'})")
    if m.unsafe_destination:
        console.print(f"[bold red]warning:[/] {m.unsafe_destination}")


COMMANDS.register(copy_group)
