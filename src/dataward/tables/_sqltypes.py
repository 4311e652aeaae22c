"""Arrow <-> SQL column types, shared by the SQL kinds (each passes its dialect's spelling).

Timestamps without a zone are UTC by convention (the reference device cloud writes them so); a type this
layer does not know is read as a string rather than refused, so scans of foreign databases keep working.
"""

from __future__ import annotations

import re
from typing import Literal

import pyarrow as pa

from dataward.errors import TargetError

Dialect = Literal["sqlite", "duckdb", "postgresql", "mysql"]

_DDL: dict[str, dict[Dialect, str]] = {
    "smallint": {"sqlite": "SMALLINT", "duckdb": "SMALLINT", "postgresql": "smallint", "mysql": "SMALLINT"},
    "integer": {"sqlite": "INT", "duckdb": "INTEGER", "postgresql": "integer", "mysql": "INT"},
    "bigint": {"sqlite": "BIGINT", "duckdb": "BIGINT", "postgresql": "bigint", "mysql": "BIGINT"},
    "real": {"sqlite": "REAL", "duckdb": "REAL", "postgresql": "real", "mysql": "FLOAT"},
    "double": {"sqlite": "REAL", "duckdb": "DOUBLE", "postgresql": "double precision", "mysql": "DOUBLE"},
    "boolean": {"sqlite": "BOOLEAN", "duckdb": "BOOLEAN", "postgresql": "boolean", "mysql": "BOOLEAN"},
    "text": {"sqlite": "TEXT", "duckdb": "VARCHAR", "postgresql": "text", "mysql": "TEXT"},
    "timestamp": {
        "sqlite": "TIMESTAMP",
        "duckdb": "TIMESTAMP",
        "postgresql": "timestamp",
        "mysql": "DATETIME(6)",
    },
    "timestamptz": {
        "sqlite": "TIMESTAMP",
        "duckdb": "TIMESTAMPTZ",
        "postgresql": "timestamptz",
        "mysql": "DATETIME(6)",
    },
    "date": {"sqlite": "DATE", "duckdb": "DATE", "postgresql": "date", "mysql": "DATE"},
    "blob": {"sqlite": "BLOB", "duckdb": "BLOB", "postgresql": "bytea", "mysql": "LONGBLOB"},
}


def _logical(t: pa.DataType) -> str:
    if pa.types.is_dictionary(t):
        return _logical(t.value_type)
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_int8(t) or pa.types.is_int16(t) or pa.types.is_uint8(t):
        return "smallint"
    if pa.types.is_int32(t) or pa.types.is_uint16(t):
        return "integer"
    if pa.types.is_integer(t):
        return "bigint"
    if pa.types.is_float16(t) or pa.types.is_float32(t):
        return "real"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "double"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "text"
    if pa.types.is_timestamp(t):
        return "timestamptz" if t.tz else "timestamp"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return "blob"
    raise TargetError(
        f"the Arrow type {t} has no SQL column type in dataward", tip="cast it to a string first"
    )


def ddl_type(t: pa.DataType, dialect: Dialect) -> str:
    """The column type to declare for an Arrow type in ``dialect``."""
    return _DDL[_logical(t)][dialect]


def arrow_type(sql_type: str, dialect: Dialect) -> pa.DataType:
    """The Arrow type to read a declared SQL column type as (unknown types read as strings)."""
    name = sql_type.strip().lower()
    if dialect == "mysql" and re.fullmatch(r"tinyint\(1\)( unsigned)?", name):
        return pa.bool_()
    base = re.split(r"[\s(]", name, maxsplit=1)[0]
    if base in ("boolean", "bool"):
        return pa.bool_()
    if base in ("smallint", "int2", "tinyint"):
        return pa.int16()
    if base == "integer" and dialect == "sqlite":  # SQLite's rowid type, 64-bit
        return pa.int64()
    if base in ("integer", "int", "int4", "mediumint"):
        return pa.int32()
    if base in ("bigint", "int8", "hugeint", "serial", "bigserial"):
        return pa.int64()
    if base in ("real", "float4", "float"):
        return pa.float64() if dialect == "sqlite" else pa.float32()
    if base in ("double", "float8", "numeric", "decimal"):
        return pa.float64()
    if name.startswith("timestamp with time zone") or base == "timestamptz":
        return pa.timestamp("us", tz="UTC")
    if base in ("timestamp", "datetime"):
        return pa.timestamp("us")
    if base == "date":
        return pa.date32()
    if base in ("bytea", "blob", "longblob", "mediumblob", "binary", "varbinary"):
        return pa.binary()
    return pa.string()
