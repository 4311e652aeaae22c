"""``incident blast-radius --engine spark``: the local engine's rules (``dataward.incident.blast_radius``) as
Spark joins over the production lake.

Per exposed table: its rows as (row id, customer link, creation time, one boolean per field), the values
themselves dropped in the first projection; a left-semi join with the exposed snapshot's keys (row ids or
customer ids) when they are known; rows created after the window dropped; connection events tied to their
device's owner. The parts are unioned, reduced per customer with ``bool_or``, joined with the customer table
(created before the window ended) and collected as the affected-customers table (ids, country, region,
booleans), from which the local engine's ``with_obligations`` makes the same report and JSON.
"""

from __future__ import annotations

from datetime import UTC

import pyarrow as pa
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from dataward.incident.blast_radius import (
    ALEXA,
    BY,
    BlastRadius,
    empty_affected,
    resolve_table,
    with_obligations,
)
from dataward.incident.exposure import ExposedTable, Exposure
from dataward.incident.progress import Progress, report
from dataward.incident.store import Incident, parse_time
from dataward.schemamap import SchemaMap
from dataward.spark.compile import col
from dataward.spark.io import read_source
from dataward.targets import parse_target

SPARK_PHASE = "computing the blast radius with Spark"


def compute_spark(
    spark: SparkSession,
    incident: Incident,
    exposure: Exposure,
    source: str,
    schema: SchemaMap | None = None,
    *,
    progress: Progress | None = None,
) -> BlastRadius:
    """The blast radius of ``dataward.incident.blast_radius.compute``, computed by Spark (``progress`` hears one
    phase: Spark runs the whole plan at once)."""
    report(progress, SPARK_PHASE)
    schema = schema or SchemaMap.reference()
    schema.require("customer", "id", by=BY)
    end = parse_time(incident.window_to).astimezone(UTC).replace(tzinfo=None).isoformat()
    frames = read_source(spark, parse_target(source))
    notes = list(exposure.notes)
    fields = sorted({c for t in exposure.tables for cats in t.categorised.values() for c in cats})
    parts = [p for t in exposure.tables if (p := _table_part(spark, frames, schema, t, fields, notes, end)) is not None]
    affected = _aggregate(parts, _users(frames, schema), fields, end) if parts else empty_affected(fields)
    return with_obligations(incident, exposure, affected, fields, notes)


def _table_part(
    spark: SparkSession,
    frames: dict[str, DataFrame],
    schema: SchemaMap,
    table: ExposedTable,
    fields: list[str],
    notes: list[str],
    end: str,
) -> DataFrame | None:
    """(user_id, one boolean per field) for the exposed rows of one table; notes as the local engine writes."""
    resolved = resolve_table(schema, table, lambda: frames[table.name].columns if table.name in frames else None,
                             notes)
    if resolved is None:
        return None
    df = frames[table.name]
    created, row_id, link = resolved.created, resolved.row_id, resolved.link
    types = {f.name: f.dataType for f in df.schema.fields}
    masks = _masks(resolved.exposed, types)
    rows = df.select(
        (col(row_id).cast("bigint") if row_id else F.lit(None).cast("bigint")).alias("row_id"),
        col(link).cast("bigint").alias("user_link"),
        (_as_utc(col(created), types[created]) if created else F.lit(None).cast("timestamp_ntz")).alias("created"),
        *[(masks[f] if f in masks else F.lit(False)).alias(f) for f in fields],
    )
    if table.keys is not None:
        key_col = table.keys.column_names[0]
        keys = spark.createDataFrame(table.keys.select([key_col]).rename_columns(["k"]).cast(pa.schema([("k", pa.int64())])))
        rows = rows.join(keys, rows[resolved.key_match(key_col)] == keys["k"], "left_semi")
    if created:
        rows = rows.filter(F.col("created").isNull() | (F.col("created") <= F.lit(end).cast("timestamp_ntz")))
    if resolved.role_name == "connection_event":
        devices = _devices(frames, schema)
        rows = rows.join(devices, rows["user_link"] == devices["device_id"]).withColumn("user_link", F.col("owner"))
    return rows.select(F.col("user_link").alias("user_id"), *fields)


def _masks(cols: dict[str, tuple[str, ...]], types: dict[str, T.DataType]) -> dict[str, Column]:
    """field -> 'some column of the row holds it' (blast_radius._column_masks, Alexa tokens split by format)."""
    out: dict[str, Column] = {}

    def add(field: str, mask: Column) -> None:
        out[field] = out[field] | mask if field in out else mask

    for name, cats in cols.items():
        present = _present(col(name), types[name])
        if ALEXA in cats and len(cats) > 1:
            is_alexa = F.coalesce(col(name).cast("string").rlike(r"^Atz[ar]\|"), F.lit(False))
            add(ALEXA, present & is_alexa)
            add(next(c for c in cats if c != ALEXA), present & ~is_alexa)
            continue
        for cat in cats:
            add(cat, present)
    return {f: F.coalesce(m, F.lit(False)) for f, m in out.items()}


def _present(c: Column, dtype: T.DataType) -> Column:
    if isinstance(dtype, T.StringType | T.BinaryType):
        return c.isNotNull() & (F.length(c) > 0)
    return c.isNotNull()


def _as_utc(c: Column, dtype: T.DataType) -> Column:
    """Naive UTC timestamps, as blast_radius._as_utc makes them (the session's time zone is UTC)."""
    if isinstance(dtype, T.StringType):
        text = F.regexp_replace(F.regexp_replace(c, r"(Z|[+-]00:?00)$", ""), " ", "T")
        return text.cast("timestamp_ntz")
    return c.cast("timestamp_ntz")


def _devices(frames: dict[str, DataFrame], schema: SchemaMap) -> DataFrame:
    from dataward.errors import DatawardError

    table, device_id = schema.require("device", "id", by=BY)
    owner = schema.require("device", "customer", by=BY)[1]
    if table not in frames:
        raise DatawardError(
            f"rows keyed by a device need the devices table '{table}' in the production source",
            tip="pass --source the production database, or --config a [schema] map naming its tables",
        )
    df = frames[table]
    return df.select(col(device_id).cast("bigint").alias("device_id"), col(owner).cast("bigint").alias("owner"))


def _users(frames: dict[str, DataFrame], schema: SchemaMap) -> DataFrame:
    from dataward.errors import DatawardError

    table, user_id = schema.require("customer", "id", by=BY)
    created_at = schema.require("customer", "created_at", by=BY)[1]
    if table not in frames:
        raise DatawardError(
            f"the production source has no customers table '{table}'",
            tip="pass --source the production database, or --config a [schema] map naming its tables",
        )
    df = frames[table]
    types = {f.name: f.dataType for f in df.schema.fields}

    def place(part: str) -> Column:
        name = schema.column("customer", part)
        return col(name).cast("string") if name and name in df.columns else F.lit(None).cast("string")

    return df.select(
        col(user_id).cast("bigint").alias("id"), _as_utc(col(created_at), types[created_at]).alias("created"),
        place("country").alias("country"), place("region").alias("region"),
    )  # fmt: skip


def _aggregate(parts: list[DataFrame], users: DataFrame, fields: list[str], end: str) -> pa.Table:
    union = parts[0]
    for part in parts[1:]:
        union = union.unionByName(part)
    per_user = union.groupBy("user_id").agg(*[F.bool_or(f).alias(f) for f in fields])
    any_flag = F.lit(False)
    for f in fields:
        any_flag = any_flag | F.col(f)
    joined = per_user.join(users, per_user["user_id"] == users["id"]).filter(
        any_flag & (users["created"] <= F.lit(end).cast("timestamp_ntz"))
    )
    out = joined.select("user_id", "country", "region", *fields).orderBy("user_id").toArrow()
    target = pa.schema(
        [("user_id", pa.int64()), ("country", pa.string()), ("region", pa.string()), *[(f, pa.bool_()) for f in fields]]
    )
    return out.cast(target)

