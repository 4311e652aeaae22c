"""DuckDB files (``duckdb:///path/x.duckdb``) as Arrow tables: DuckDB speaks Arrow natively, zero-copy.

A file another process holds open for writing is opened read-only instead (DuckDB allows one writer);
``duckdb:///:memory:`` is an in-memory database, handy in tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar

import duckdb
import pyarrow as pa

from dataward.errors import TargetError
from dataward.tables.base import (
    DEFAULT_BATCH_SIZE,
    TableStoreBase,
    file_path,
    quote_ident,
    quote_idents,
    register_tables,
)
from dataward.targets import Target

_RESERVOIR_MAX = 200_000  # up to this many rows, sample exactly with a reservoir over the whole table


@register_tables
class DuckDBTables(TableStoreBase):
    kind: ClassVar[str] = "duckdb"
    schemes: ClassVar[tuple[str, ...]] = ("duckdb",)

    def __init__(self, target: Target, *, create: bool = False) -> None:
        self.target = target
        memory = target.path in ("/:memory:", ":memory:") or target.host == ":memory:"
        self.path = ":memory:" if memory else str(file_path(target))
        if not memory:
            path = file_path(target)
            if not path.exists() and not create:
                raise TargetError(f"the DuckDB file {path} does not exist", tip="check the path in the URL")
            if not path.parent.is_dir():
                raise TargetError(f"the folder of {path} does not exist")
        self.conn = self._connect()

    def _connect(self) -> duckdb.DuckDBPyConnection:
        try:
            return duckdb.connect(self.path)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise TargetError(f"cannot open {self.path} as DuckDB: {_first_line(exc)}") from exc
        try:  # another process writes it: reading is still possible
            return duckdb.connect(self.path, read_only=True)
        except duckdb.Error as exc:
            raise TargetError(
                f"cannot open {self.path}: another process holds it open",
                tip="close the other program and retry",
            ) from exc

    def _sql(self, sql: str, params: Sequence[Any] = ()) -> duckdb.DuckDBPyRelation | None:
        try:
            return self.conn.sql(sql, params=list(params) or None)
        except duckdb.Error as exc:
            raise TargetError(f"DuckDB at {self.path} refused a query: {_first_line(exc)}") from exc

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        rel = self._sql(sql, params)
        return rel.fetchall() if rel is not None else []

    def list_tables(self) -> list[str]:
        rows = self._rows(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
            "AND table_catalog = current_database() ORDER BY 1"
        )
        return [r[0] for r in rows]

    def schema(self, table: str) -> pa.Schema:
        self.require_table(table)
        rel = self._sql(f"SELECT * FROM {quote_ident(table)} LIMIT 0")  # noqa: S608 - names quoted by quote_ident
        assert rel is not None
        return rel.to_arrow_table().schema

    def estimate_rows(self, table: str) -> int:
        self.require_table(table)
        rows = self._rows(
            "SELECT estimated_size FROM duckdb_tables() WHERE table_name = ? AND schema_name = current_schema() "
            "AND database_name = current_database()",
            [table],
        )
        return int(rows[0][0]) if rows and rows[0][0] is not None else self.count_rows(table)

    def count_rows(self, table: str) -> int:
        self.require_table(table)
        return int(self._rows(f"SELECT count(*) FROM {quote_ident(table)}")[0][0])  # noqa: S608 - names quoted by quote_ident

    def read_batches(
        self, table: str, columns: list[str] | None = None, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> Iterator[pa.RecordBatch]:
        cols = self.require_columns(table, columns)
        cursor = self.conn.cursor()  # its own stream, so other queries may run while this one is read
        try:
            query = f"SELECT {quote_idents(cols)} FROM {quote_ident(table)}"  # noqa: S608 - names quoted by quote_ident
            reader = cursor.sql(query).to_arrow_reader(batch_size)
            yield from reader
        except duckdb.Error as exc:
            raise TargetError(f"cannot read table '{table}' of {self.path}: {_first_line(exc)}") from exc
        finally:
            cursor.close()

    def sample(self, table: str, n: int, seed: int = 0) -> pa.Table:
        """A reservoir sample for small tables; a seeded system (block) sample thinned to ``n`` for big ones."""
        estimate = self.estimate_rows(table)
        q = quote_ident(table)
        if estimate <= _RESERVOIR_MAX:
            sql = f"SELECT * FROM {q} USING SAMPLE reservoir({int(n)} ROWS) REPEATABLE ({int(seed)})"  # noqa: S608 - names quoted by quote_ident
        else:
            percent = min(100.0, 100.0 * 4 * n / estimate)
            sql = (
                f"SELECT * FROM (SELECT * FROM {q} USING SAMPLE {percent:.6f} PERCENT (system, {int(seed)})) "  # noqa: S608 - names quoted by quote_ident
                f"USING SAMPLE reservoir({int(n)} ROWS) REPEATABLE ({int(seed)})"
            )
        rel = self._sql(sql)
        assert rel is not None
        return rel.to_arrow_table()

    def write_table(self, table: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> int:
        if self.has_table(table):
            raise TargetError(f"table '{table}' already exists in {self.path}")
        failure: list[BaseException] = []
        reader = pa.RecordBatchReader.from_batches(schema, _remember_failure(batches, failure))
        view = "__dataward_source"
        try:
            self.conn.register(view, reader)
            self.conn.execute(f"CREATE TABLE {quote_ident(table)} AS SELECT * FROM {quote_ident(view)}")  # noqa: S608 - names quoted by quote_ident
        except duckdb.Error as exc:
            if failure:  # the producer failed, not DuckDB: let its own error through
                raise failure[0] from None
            raise TargetError(f"cannot write table '{table}' to {self.path}: {_first_line(exc)}") from exc
        finally:
            self.conn.unregister(view)
        return self.count_rows(table)

    def drop_table(self, table: str) -> None:
        self._sql(f"DROP TABLE IF EXISTS {quote_ident(table)}")

    def rename_table(self, old: str, new: str) -> None:
        self.require_table(old)
        self._sql(f"ALTER TABLE {quote_ident(old)} RENAME TO {quote_ident(new)}")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._rows(sql, params)

    def close(self) -> None:
        self.conn.close()


def _remember_failure(
    batches: Iterable[pa.RecordBatch], failure: list[BaseException]
) -> Iterator[pa.RecordBatch]:
    try:
        yield from batches
    except BaseException as exc:
        failure.append(exc)
        raise


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
