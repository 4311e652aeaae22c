"""``dataward copy run --engine spark``: the local engine's refusals, then the compiled plan, staged and swapped.

The order is the local engine's (``dataward.copy.run``): options, the plan against the source's schemas,
the key, the destination's exposure audit (``preflight``), then per table the k-anonymity count and the
rows; the manifest is written last and the staging folder replaces the destination. Any failure deletes
the staging folder, so the destination is left as it was.
"""

from __future__ import annotations

from pyspark.sql import SparkSession

from dataward.copy import transforms as tf
from dataward.copy.plan import Plan
from dataward.copy.run import (
    CopyOptions,
    CopyResult,
    Progress,
    check_options,
    describe_action,
    k_anonymity_refusal,
    preflight,
)
from dataward.findings import utc_now
from dataward.manifest import Manifest, TableCopy
from dataward.spark.compile import CompiledTable, arrow_schemas, compile_plan
from dataward.spark.io import LakeWriter, audit_target, read_source
from dataward.targets import Target


def run_copy_spark(
    spark: SparkSession,
    source: Target,
    dest: Target,
    plan: Plan,
    key: tf.PseudonymKey | None,
    options: CopyOptions | None = None,
    progress: Progress | None = None,
) -> CopyResult:
    """Copy ``source`` to the folder ``dest`` through ``plan`` on Spark; the same checks and manifest as local."""
    options = options or CopyOptions()
    check_options(source, dest, options, table_formats=("parquet", "delta"))
    frames = read_source(spark, source)
    audit, override = preflight(audit_target(dest), plan, arrow_schemas(frames), key, options)
    compiled = compile_plan(frames, plan, key)
    writer = LakeWriter(spark, dest)
    try:
        copies = {}
        for table, tp in plan.tables.items():
            summary = {c: describe_action(p) for c, p in tp.columns.items()}
            if table not in compiled:
                copies[table] = TableCopy(rows=0, columns=summary, skipped="every column is dropped")
                continue
            copies[table] = _copy_table(writer, compiled[table], options, summary)
            if progress is not None:
                progress(table, copies[table].rows, copies[table].rows)
        manifest = Manifest(
            source=source.display, plan_hash=plan.digest, key_id=key.key_id if key is not None else None,
            created_at=utc_now(), owner=options.owner, expires=options.expires, k=options.k,
            k_mode=options.k_mode, unsafe_destination=override, tables=copies,
        )  # fmt: skip
        writer.write_manifest(manifest)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    return CopyResult(dest.display, manifest, audit)


def _copy_table(writer: LakeWriter, table: CompiledTable, options: CopyOptions, summary: dict[str, str]) -> TableCopy:
    classes, suppressed = table.small_classes(options.k)
    if classes and options.k_mode == "refuse":
        raise k_anonymity_refusal(table.name, list(table.qis), options.k, classes)
    frame = table.suppressed(options.k) if classes else table.transformed
    rows = writer.write(table.name, frame)
    return TableCopy(rows=rows, suppressed=suppressed, columns=summary)
