"""SQLite files (``sqlite:///path/app.db``) as Arrow tables, through the standard library's sqlite3.

SQLite has no bulk path and no timestamp type: timestamps are stored as ISO-8601 text in columns declared
``TIMESTAMP`` and read back as Arrow timestamps; booleans are 0/1 in columns declared ``BOOLEAN``.
It is the embedded kind for the demo and small clouds, so rows pass through Python here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from dataward.errors import TargetError
from dataward.tables._sqltypes import arrow_type, ddl_type
from dataward.tables.base import (
    DEFAULT_BATCH_SIZE,
    TableStoreBase,
    file_path,
    python_columns,
    quote_ident,
    quote_idents,
    register_tables,
    sample_rows,
)
from dataward.targets import Target

_MAX_PARAMS = 900  # below SQLite's default limit of bound parameters per statement


@register_tables
class SQLiteTables(TableStoreBase):
    kind: ClassVar[str] = "sqlite"
    schemes: ClassVar[tuple[str, ...]] = ("sqlite", "sqlite3")

    def __init__(self, target: Target, *, create: bool = False) -> None:
        self.target = target
        self.path = file_path(target)
        if not self.path.exists() and not create:
            raise TargetError(f"the SQLite file {self.path} does not exist", tip="check the path in the URL")
        if not self.path.parent.is_dir():
            raise TargetError(f"the folder of {self.path} does not exist")
        try:
            # DuckDB pulls the Arrow stream of read_batches on its own threads (analytics): the connection is
            # used by one reader at a time, and the library is built serialised (sqlite3.threadsafety == 3).
            self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self.conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
        except sqlite3.Error as exc:
            raise TargetError(f"cannot open {self.path} as SQLite: {exc}") from exc

    def _run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise TargetError(f"SQLite at {self.path} refused a query: {exc}") from exc

    def list_tables(self) -> list[str]:
        rows = self._run(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
        return [r[0] for r in rows]

    def schema(self, table: str) -> pa.Schema:
        self.require_table(table)
        rows = self._run(f"PRAGMA table_info({quote_ident(table)})")
        return pa.schema([pa.field(r[1], arrow_type(r[2] or "TEXT", "sqlite")) for r in rows])

    def estimate_rows(self, table: str) -> int:
        """SQLite keeps no cheap row statistics by default; its count(*) walks a b-tree, which is fast."""
        return self.count_rows(table)

    def count_rows(self, table: str) -> int:
        self.require_table(table)
        return int(self._run(f"SELECT count(*) FROM {quote_ident(table)}")[0][0])  # noqa: S608 - names quoted by quote_ident

    def read_batches(
        self, table: str, columns: list[str] | None = None, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> Iterator[pa.RecordBatch]:
        cols = self.require_columns(table, columns)
        schema = pa.schema([self.schema(table).field(c) for c in cols])
        cur = self.conn.cursor()
        try:
            cur.execute(f"SELECT {quote_idents(cols)} FROM {quote_ident(table)}")  # noqa: S608 - names quoted by quote_ident
            while rows := cur.fetchmany(batch_size):
                yield _to_batch(rows, schema)
        except sqlite3.Error as exc:
            raise TargetError(f"cannot read table '{table}' of {self.path}: {exc}") from exc
        finally:
            cur.close()

    def sample(self, table: str, n: int, seed: int = 0) -> pa.Table:
        """Random rowids drawn with a seeded generator (twice as many as asked, for gaps), then ``n`` of them."""
        schema = self.schema(table)
        q = quote_ident(table)
        try:
            lo, hi = self.conn.execute(f"SELECT min(rowid), max(rowid) FROM {q}").fetchone()  # noqa: S608 - names quoted by quote_ident
        except sqlite3.Error:  # a view or WITHOUT ROWID table: the first rows are the sample
            return self._select(f"SELECT {quote_idents(schema.names)} FROM {q} LIMIT ?", [n], schema)  # noqa: S608 - names quoted by quote_ident
        if lo is None:
            return schema.empty_table()
        if hi - lo + 1 <= 2 * n:
            everything = f"SELECT {quote_idents(schema.names)} FROM {q}"  # noqa: S608 - names quoted by quote_ident
            return sample_rows(self._select(everything, [], schema), n, seed)
        rng = np.random.default_rng(seed)
        ids = np.unique(rng.integers(lo, hi + 1, size=2 * n)).tolist()
        parts = []
        for i in range(0, len(ids), _MAX_PARAMS):
            chunk = ids[i : i + _MAX_PARAMS]
            marks = ", ".join("?" * len(chunk))
            sql = f"SELECT {quote_idents(schema.names)} FROM {q} WHERE rowid IN ({marks})"  # noqa: S608 - only '?' marks
            parts.append(self._select(sql, chunk, schema))
        return sample_rows(pa.concat_tables(parts), n, seed)

    def _select(self, sql: str, params: Sequence[Any], schema: pa.Schema) -> pa.Table:
        rows = self._run(sql, params)
        return (
            pa.Table.from_batches([_to_batch(rows, schema)], schema=schema) if rows else schema.empty_table()
        )

    def write_table(self, table: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> int:
        if self.has_table(table):
            raise TargetError(f"table '{table}' already exists in {self.path}")
        cols = ", ".join(f"{quote_ident(f.name)} {ddl_type(f.type, 'sqlite')}" for f in schema)
        insert = f"INSERT INTO {quote_ident(table)} VALUES ({', '.join('?' * len(schema))})"  # noqa: S608
        written = 0
        try:
            self.conn.execute("BEGIN")
            self.conn.execute(f"CREATE TABLE {quote_ident(table)} ({cols})")
            for batch in batches:
                self.conn.executemany(insert, zip(*python_columns(_storable(batch)), strict=True))
                written += batch.num_rows
            self.conn.execute("COMMIT")
        except BaseException as exc:
            self.conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise TargetError(f"cannot write table '{table}' to {self.path}: {exc}") from exc
            raise
        return written

    def drop_table(self, table: str) -> None:
        self._run(f"DROP TABLE IF EXISTS {quote_ident(table)}")

    def rename_table(self, old: str, new: str) -> None:
        self.require_table(old)
        self._run(f"ALTER TABLE {quote_ident(old)} RENAME TO {quote_ident(new)}")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._run(sql, params)

    def close(self) -> None:
        self.conn.close()


def _storable(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Timestamps and dates as ISO text (SQLite's date functions read it), everything else as is."""
    arrays = []
    for col in batch.columns:
        if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
            col = col.cast(pa.string())
        arrays.append(col)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def _to_batch(rows: list[tuple[Any, ...]], schema: pa.Schema) -> pa.RecordBatch:
    arrays = []
    for values, field in zip(zip(*rows, strict=True), schema, strict=True):
        arrays.append(_column(list(values), field))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _column(values: list[Any], field: pa.Field) -> pa.Array:
    t = field.type
    try:
        if pa.types.is_timestamp(t) or pa.types.is_date(t):
            return pa.array(values, pa.string()).cast(t)
        if pa.types.is_boolean(t):
            return pa.array(values, pa.int64()).cast(t)
        if pa.types.is_string(t):
            return pa.array([v if v is None or isinstance(v, str) else str(v) for v in values], t)
        return pa.array(values, t)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as exc:
        raise TargetError(f"column '{field.name}' holds values that are not {t}: {exc}") from exc
