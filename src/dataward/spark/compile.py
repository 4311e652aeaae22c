"""A copy plan compiled to Spark SQL built-in expressions: the JVM does the work, no Python UDF runs.

Each action of ``dataward.copy.plan`` becomes one column expression whose output equals the local engine's
(``dataward.copy.transforms``) value for value:

- ``pseudonymize``: HMAC-SHA-256 (RFC 2104) of ``domain \\x1f value`` as
  ``sha2(opad || unhex(sha2(ipad || m, 256)), 256)``, the pads being the key's (``PseudonymKey.pads``);
  integers keep the first 63 bits of the digest (``conv`` of its first 16 hex digits read as a signed
  64-bit number, shifted right without sign), anything else the first 32 hex digits. Four SHA-256
  compressions a value where the local engine, from precomputed midstates, needs two.
- ``generalize``: ``date_trunc`` / ``trunc`` for times, a prefix for ISO text, ``regexp_replace`` with the
  local engine's patterns for IPv4 networks and versions (anything else null), ``floor(x / b) * b``.
- k-anonymity: the size of each row's class over the table's quasi-identifiers as a window count
  (``count(*) over (partition by qi...)``, nulls forming their own class) and the quasi-identifiers of classes
  below k nulled; ``small_classes`` counts them for the manifest or for ``--k-mode refuse``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.pandas.types import to_arrow_schema

from dataward.copy import transforms as tf
from dataward.copy.plan import ColumnPlan, Plan, TablePlan
from dataward.copy.run import check_key, check_plan, k_anonymity_refusal
from dataward.errors import ConfigError

_CLASS_ROWS = "__dataward_class_rows"
_TEXT_LENGTH = {"hour": 13, "day": 10, "month": 7, "year": 4}
_OCTET = r"(25[0-5]|2[0-4]\d|1?\d?\d)"
# Java regexes read like RE2's (Arrow's) here: (?d) makes only \n a line end, \z is the very end ($ would also
# match before a final newline)
_IPV4 = rf"(?d)^{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}\z"
_NETWORK = {"ip/24": "$1.$2.$3.0/24", "ip/16": "$1.$2.0.0/16", "ip/8": "$1.0.0.0/8"}  # Java's group syntax


@dataclass(frozen=True)
class CompiledTable:
    """One table of the plan as Spark sees it: the transformed rows before and after k-anonymity."""

    name: str
    transformed: DataFrame  # every kept column through its action
    qis: tuple[str, ...]  # the quasi-identifiers counted for k-anonymity

    def suppressed(self, k: int) -> DataFrame:
        """The rows to write: quasi-identifiers nulled in rows whose class has fewer than k rows."""
        if not self.qis or k <= 1:
            return self.transformed
        df = self.transformed.withColumn(_CLASS_ROWS, F.count(F.lit(1)).over(Window.partitionBy(*map(col, self.qis))))
        small = F.col(_CLASS_ROWS) < F.lit(k)
        types = {f.name: f.dataType for f in self.transformed.schema.fields}
        out = [
            F.when(small, F.lit(None).cast(types[c])).otherwise(col(c)).alias(c) if c in self.qis else col(c)
            for c in self.transformed.columns
        ]
        return df.select(*out)

    def small_classes(self, k: int) -> tuple[int, int]:
        """(classes, rows) below k over the quasi-identifiers: one aggregation reading those columns only."""
        if not self.qis or k <= 1:
            return 0, 0
        counts = self.transformed.groupBy(*map(col, self.qis)).count().filter(F.col("count") < F.lit(k))
        row = counts.agg(F.count(F.lit(1)).alias("classes"), F.sum("count").alias("rows")).first()
        return (int(row["classes"]), int(row["rows"] or 0)) if row is not None else (0, 0)


def arrow_schemas(df_by_table: Mapping[str, DataFrame]) -> dict[str, pa.Schema]:
    """The tables' schemas in Arrow terms, for the local engine's plan check (zoned timestamps in UTC)."""
    return {t: to_arrow_schema(df.schema, timezone="UTC") for t, df in df_by_table.items()}


def apply_plan(
    df_by_table: Mapping[str, DataFrame],
    plan: Plan,
    key: tf.PseudonymKey | None,
    *,
    k: int = 5,
    k_mode: Literal["suppress", "refuse"] = "suppress",
) -> dict[str, DataFrame]:
    """See ``dataward.spark.apply_plan``."""
    if k < 1:
        raise ConfigError("k must be at least 1")
    compiled = compile_plan(df_by_table, plan, key)
    if k_mode == "refuse":
        for table in compiled.values():
            classes, _rows = table.small_classes(k)
            if classes:
                raise k_anonymity_refusal(table.name, list(table.qis), k, classes)
    return {t: c.suppressed(k) for t, c in compiled.items()}


def compile_plan(
    df_by_table: Mapping[str, DataFrame], plan: Plan, key: tf.PseudonymKey | None
) -> dict[str, CompiledTable]:
    """Every table with a kept column, through its actions; the plan and the data must agree first."""
    check_plan(plan, arrow_schemas(df_by_table))
    check_key(plan, key)
    out = {}
    for table, tp in plan.tables.items():
        compiled = compile_table(table, df_by_table[table], tp, key)
        if compiled is not None:
            out[table] = compiled
    return out


def compile_table(name: str, df: DataFrame, tp: TablePlan, key: tf.PseudonymKey | None) -> CompiledTable | None:
    """The table's kept columns through their actions, in plan order; None when every column is dropped."""
    types = {f.name: f.dataType for f in df.schema.fields}
    kept = [c for c, p in tp.columns.items() if p.action != "drop"]
    if not kept:
        return None
    exprs = [column_action(col(c), types[c], tp.columns[c], key).alias(c) for c in kept]
    qis = tuple(c for c in kept if tp.columns[c].qi)
    return CompiledTable(name, df.select(*exprs), qis)


def col(name: str) -> Column:
    """A column by its exact name (dots and backticks in names are not paths)."""
    return F.col("`" + name.replace("`", "``") + "`")


def column_action(c: Column, dtype: T.DataType, p: ColumnPlan, key: tf.PseudonymKey | None) -> Column:
    if p.action == "pseudonymize":
        assert key is not None and p.domain is not None  # check_key and the plan's validation ran first
        return pseudonym(c, dtype, key, p.domain)
    if p.action == "generalize":
        return generalized(c, dtype, p.to, p.bucket)
    if p.action == "suppress":
        return F.lit(None).cast(dtype)
    return c


def pseudonym(c: Column, dtype: T.DataType, key: tf.PseudonymKey, domain: str) -> Column:
    """The local engine's pseudonym (``transforms.Pseudonymizer``) as a Spark SQL expression."""
    ipad, opad = key.pads()
    message = F.encode(F.concat(F.lit(domain + "\x1f"), c.cast("string")), "UTF-8")
    inner = F.unhex(F.sha2(F.concat(F.lit(ipad), message), 256))
    digest = F.sha2(F.concat(F.lit(opad), inner), 256)  # lowercase hex
    if isinstance(dtype, T.IntegralType):
        first64 = F.conv(F.substring(digest, 1, 16), 16, -10).cast("bigint")
        return F.shiftrightunsigned(first64, 1)
    return F.substring(digest, 1, 32)


def generalized(c: Column, dtype: T.DataType, to: str | None, bucket: float | None) -> Column:
    """``transforms.generalize`` in Spark SQL: the same dispatch and the same errors."""
    if bucket is not None:
        return number_bucket(c, dtype, bucket)
    if to in tf.TIME_UNITS:
        return time_floor(c, dtype, to)
    if to in tf.IP_PREFIXES:
        return ip_network(c, to)
    if to in tf.VERSION_PARTS:
        return version_cut(c, to)
    raise ConfigError(f"generalisation '{to}' is not known")


def number_bucket(c: Column, dtype: T.DataType, bucket: float) -> Column:
    if bucket <= 0:
        raise ConfigError("a number bucket must be positive")
    if not isinstance(dtype, T.NumericType):
        raise ConfigError(f"cannot put a {dtype.simpleString()} column into number buckets")
    floored = F.floor(c.cast("double") / F.lit(float(bucket))).cast("double") * F.lit(float(bucket))
    return floored.cast(dtype)


def time_floor(c: Column, dtype: T.DataType, unit: str) -> Column:
    if isinstance(dtype, T.StringType):
        return F.substring(c, 1, _TEXT_LENGTH[unit])
    if isinstance(dtype, T.DateType):
        return c if unit in ("hour", "day") else F.trunc(c, unit)
    if isinstance(dtype, T.TimestampType | T.TimestampNTZType):
        return F.date_trunc(unit, c).cast(dtype)
    raise ConfigError(f"cannot generalise a {dtype.simpleString()} column to a {unit}")


def ip_network(c: Column, to: str) -> Column:
    text = c.cast("string")
    return F.when(text.rlike(_IPV4), F.regexp_replace(text, _IPV4, _NETWORK[to]))


def version_cut(c: Column, to: str) -> Column:
    head = r"\.".join([r"\d+"] * tf.VERSION_PARTS[to])
    pattern = rf"(?d)^v?({head})(\..*)?\z"
    text = c.cast("string")
    return F.when(text.rlike(pattern), F.regexp_replace(text, pattern, "$1"))
