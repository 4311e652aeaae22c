"""Sampling for the table kinds (PostgreSQL, MySQL, SQLite, DuckDB, file exports) through dataward.tables.

The table layer already reads every kind as Arrow with bounded samples; this module only turns its tables
into SampledObjects (nested values as JSON text, as classification expects) and closes the connection.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pyarrow as pa

from dataward.stores.base import Budget, SampledColumn, SampledObject
from dataward.targets import Target


def sample_tables(
    target: Target, budget: Budget, store: str, *, prefix: str = "", display: str | None = None
) -> Iterator[SampledObject]:
    """Up to ``budget.max_objects`` tables, ``budget.rows_per_object`` sampled rows each.

    ``prefix`` names the database in object names when one server's databases are sampled in turn;
    ``display`` is the URL reports show (the target as given, not the login the probe found open).
    """
    from dataward.tables import open_tables  # the table layer imports drivers; load it only when sampling

    with open_tables(target) as tables:
        for name in tables.list_tables()[: budget.max_objects]:
            sample = tables.sample(name, budget.rows_per_object, seed=0)
            yield SampledObject(
                target=display or target.display,
                store=store,
                object=prefix + name,
                columns=tuple(column(f.name, sample.column(f.name), f.type) for f in sample.schema),
                records=tables.estimate_rows(name),
            )


def column(name: str, values: pa.ChunkedArray | pa.Array, dtype: pa.DataType) -> SampledColumn:
    """One sampled column; nested types (struct, list, map) become their JSON text."""
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if pa.types.is_nested(dtype):
        texts = [None if v is None else json.dumps(v, default=str) for v in array.to_pylist()]
        array = pa.array(texts, pa.string())
    return SampledColumn(name=name, values=array, dtype=str(dtype))
