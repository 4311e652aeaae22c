"""``dataward classify --engine spark``: a sample per table, the detector pass inside the executors.

Per table: ``TABLESAMPLE`` draws about ``rows`` rows (the table's size from its Parquet footers or a count),
the sample is spread over partitions of at most ``PARTITION_ROWS`` rows, and ``mapInArrow`` runs the local
engine's ``classify_object`` (the same detector registry, Hyperscan and validators) on each partition's
Arrow batches in the executors. Only verdicts come back to the driver, never values: per column, each
category with its confidence, match rate and the number of values it was judged on, plus the redacted
evidence. ``merge_columns`` combines the partitions: a category stands when partitions holding at least half
of the column's sampled values found it, its match rate is the share of all sampled values it explains and
its confidence the value-weighted mean. The result is the local engine's ``dataward.classification/v1``
document.
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.pandas.types import to_arrow_schema

from dataward.classify.base import CategoryMatch, ColumnResult, ObjectResult
from dataward.classify.engine import ClassifyOptions, classify_object
from dataward.spark.io import read_source
from dataward.stores.base import SampledColumn, SampledObject
from dataward.targets import Target

PARTITION_ROWS = 1000  # sampled rows one executor task classifies
VERDICTS = pa.schema(
    [("position", pa.int32()), ("column", pa.string()), ("values", pa.int64()),
     ("categories", pa.string()), ("evidence", pa.string())]
)  # fmt: skip
VERDICTS_DDL = "`position` int, `column` string, `values` bigint, `categories` string, `evidence` string"


def classify_spark(
    spark: SparkSession, target: Target, rows: int = 2000, max_objects: int = 200, seed: int = 0
) -> list[ObjectResult]:
    """Every table of the source classified on Spark (at most ``max_objects`` tables, ``rows`` rows each)."""
    results = []
    for table, df in list(read_source(spark, target).items())[:max_objects]:
        total = df.count()
        if total == 0:  # judged by names and types alone, as the local engine does, on the driver
            empty = to_arrow_schema(df.schema).empty_table()
            columns = verdict_columns(empty, ClassifyOptions(rows=rows))
        else:
            columns = merge_columns(detector_pass(sample(spark, df, total, rows, seed), rows))
        results.append(ObjectResult(target.display, target.scheme, table, columns, total))
    return results


def sample(spark: SparkSession, df: DataFrame, total: int, rows: int, seed: int) -> DataFrame:
    """About ``rows`` rows of the table by ``TABLESAMPLE`` (a margin above, then a limit), spread over tasks."""
    view = f"dataward_sample_{secrets.token_hex(4)}"  # a name of ours: the table name is not SQL
    df.createOrReplaceTempView(view)
    percent = min(100.0, 100.0 * 1.2 * rows / max(total, 1))
    picked = spark.sql(f"SELECT * FROM {view} TABLESAMPLE ({percent:.6f} PERCENT) REPEATABLE ({int(seed)})")  # noqa: S608 - a generated view name
    parts = max(1, math.ceil(min(rows, total) / PARTITION_ROWS))
    return picked.limit(rows).repartition(parts)


def detector_pass(sampled: DataFrame, rows: int) -> list[dict[str, object]]:
    """The verdicts of every partition (run in the executors by ``mapInArrow``), collected on the driver."""
    options = ClassifyOptions(rows=rows)

    def classify_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        yield verdict_batch(pa.Table.from_batches(list(batches)), options)

    return [r.asDict() for r in sampled.mapInArrow(classify_batches, VERDICTS_DDL).collect()]


def verdict_batch(part: pa.Table, options: ClassifyOptions) -> pa.RecordBatch:
    """One partition's verdicts per column (nested JSON fields included), with no sampled value in them."""
    if part.num_rows == 0:
        return pa.RecordBatch.from_pylist([], schema=VERDICTS)
    out = [
        {"position": i, "column": col.name, "values": part.num_rows, "evidence": col.evidence,
         "categories": json.dumps([[m.id, m.confidence, m.match_rate] for m in col.categories])}
        for i, col in enumerate(verdict_columns(part, options))
    ]  # fmt: skip
    return pa.RecordBatch.from_pylist(out, schema=VERDICTS)


def verdict_columns(part: pa.Table, options: ClassifyOptions) -> tuple[ColumnResult, ...]:
    """The local engine's classification of these rows (any number, none included)."""
    columns = tuple(
        SampledColumn(name, part.column(name).combine_chunks(), str(part.schema.field(name).type))
        for name in part.column_names
    )
    return classify_object(SampledObject("", "", "", columns, part.num_rows), options).columns


@dataclass
class _Column:
    position: int
    values: int = 0
    found: dict[str, list[tuple[float, float, int]]] = field(default_factory=dict)  # id -> (conf, rate, n)
    evidence: list[tuple[int, str, str]] = field(default_factory=list)  # (n, top category, evidence)


def merge_columns(verdicts: Iterable[dict[str, object]]) -> tuple[ColumnResult, ...]:
    """The partitions' verdicts as one result per column, in the table's column order."""
    columns: dict[str, _Column] = {}
    for v in verdicts:
        name, n = str(v["column"]), int(str(v["values"]))
        merged = columns.setdefault(name, _Column(int(str(v["position"]))))
        merged.position = min(merged.position, int(str(v["position"])))
        merged.values += n
        cats = json.loads(str(v["categories"]))
        for cid, conf, rate in cats:
            merged.found.setdefault(cid, []).append((float(conf), float(rate), n))
        if cats:
            merged.evidence.append((n, cats[0][0], str(v["evidence"])))
    return tuple(_merged(name, c) for name, c in sorted(columns.items(), key=lambda item: item[1].position))


def _merged(name: str, column: _Column) -> ColumnResult:
    matches = []
    for cid, parts in column.found.items():
        judged = sum(n for _, _, n in parts)
        if 2 * judged < column.values:
            continue
        confidence = round(sum(c * n for c, _, n in parts) / judged, 3)
        rate = round(sum(r * n for _, r, n in parts) / column.values, 3)
        matches.append(CategoryMatch(cid, confidence, rate))
    matches.sort(key=lambda m: (-m.confidence, m.id))
    top = matches[0].id if matches else None
    evidence = max((e for e in column.evidence if e[1] == top), default=(0, "", ""), key=lambda e: e[0])[2]
    return ColumnResult(name, tuple(matches), evidence)
