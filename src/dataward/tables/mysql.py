"""MySQL and MariaDB (``mysql://user@host:port/db``) as Arrow tables, through PyMySQL.

Writes use ``LOAD DATA LOCAL INFILE`` of Arrow-written CSV when the server allows it (MariaDB does by
default) and fall back to multi-row ``executemany``; reads stream an unbuffered cursor on a connection of their
own. ``estimate_rows`` is ``information_schema.TABLES.TABLE_ROWS`` (InnoDB's estimate).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pymysql
import pymysql.cursors

from dataward.errors import TargetError
from dataward.tables._sqltypes import arrow_type, ddl_type
from dataward.tables.base import (
    DEFAULT_BATCH_SIZE,
    TableStoreBase,
    python_columns,
    quote_ident,
    quote_idents,
    register_tables,
    sample_rows,
)
from dataward.targets import Target

_INSERT_ROWS = 2000  # rows per multi-row INSERT on the fallback path
_LOCAL_INFILE_REFUSED = (1148, 3948, 4166, 2068)  # server or client forbids LOAD DATA LOCAL


def _q(name: str) -> str:
    return quote_ident(name, "`")


@register_tables
class MySQLTables(TableStoreBase):
    kind: ClassVar[str] = "mysql"
    schemes: ClassVar[tuple[str, ...]] = ("mysql", "mariadb")

    def __init__(self, target: Target, *, create: bool = False) -> None:
        self.target = target
        if not target.database:
            raise TargetError(
                f"{target.display} names no database", tip="write it as mysql://user@host:3306/dbname"
            )
        self.database = target.database
        self.conn = self._connect(create)
        self._local_infile = True

    def _connect(
        self, create: bool = False, cursorclass: type = pymysql.cursors.Cursor
    ) -> pymysql.Connection:
        args: dict[str, Any] = {
            "host": self.target.host or "localhost",
            "port": self.target.port or 3306,
            "user": self.target.username or "root",
            "password": self.target.password or "",
            "connect_timeout": int(self.target.params.get("connect_timeout", "5")),
            "charset": "utf8mb4",
            "autocommit": True,
            "local_infile": True,
            "cursorclass": cursorclass,
        }
        try:
            return pymysql.connect(database=self.database, **args)
        except pymysql.err.OperationalError as exc:
            if not (create and exc.args and exc.args[0] == 1049):  # 1049: unknown database
                raise TargetError(
                    f"cannot connect to {self.target.display}: {_reason(exc)}",
                    tip="check host, port, user and password (a password may come from {env = ...} in dataward.toml)",
                ) from exc
        try:
            with pymysql.connect(**args) as admin, admin.cursor() as cur:
                cur.execute(f"CREATE DATABASE IF NOT EXISTS {_q(self.database)} CHARACTER SET utf8mb4")
        except pymysql.err.MySQLError as exc:
            raise TargetError(f"cannot create the database of {self.target.display}: {_reason(exc)}") from exc
        return self._connect(create=False, cursorclass=cursorclass)

    def _query(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            with self.conn.cursor() as cur:
                cur.execute(query, tuple(params) or None)
                return list(cur.fetchall()) if cur.description else []
        except pymysql.err.MySQLError as exc:
            raise TargetError(f"MySQL at {self.target.display} refused a query: {_reason(exc)}") from exc

    # -- reading ----------------------------------------------------------------------------------------
    def list_tables(self) -> list[str]:
        rows = self._query(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s ORDER BY 1",
            [self.database],
        )
        return [r[0] for r in rows]

    def schema(self, table: str) -> pa.Schema:
        rows = self._query(
            "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
            [self.database, table],
        )
        if not rows:
            self.require_table(table)
        return pa.schema([pa.field(name, arrow_type(kind, "mysql")) for name, kind in rows])

    def estimate_rows(self, table: str) -> int:
        self.require_table(table)
        rows = self._query(
            "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
            [self.database, table],
        )
        estimate = rows[0][0] if rows else None
        return int(estimate) if estimate else self.count_rows(table)

    def count_rows(self, table: str) -> int:
        self.require_table(table)
        return int(self._query(f"SELECT count(*) FROM {_q(table)}")[0][0])  # noqa: S608 - quoted name

    def read_batches(
        self, table: str, columns: list[str] | None = None, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> Iterator[pa.RecordBatch]:
        cols = self.require_columns(table, columns)
        schema = pa.schema([self.schema(table).field(c) for c in cols])
        query = f"SELECT {quote_idents(cols, '`')} FROM {_q(table)}"  # noqa: S608 - quoted names
        yield from self._stream(query, (), schema, batch_size)

    def _stream(
        self, query: str, params: Sequence[Any], schema: pa.Schema, batch_size: int
    ) -> Iterator[pa.RecordBatch]:
        """An unbuffered cursor on its own connection, so other queries may run between batches."""
        conn = self._connect(cursorclass=pymysql.cursors.SSCursor)
        try:
            with conn.cursor() as cur:
                cur.execute(query, tuple(params) or None)
                while rows := cur.fetchmany(batch_size):
                    yield _to_batch(rows, schema)
        except pymysql.err.MySQLError as exc:
            raise TargetError(f"cannot read from {self.target.display}: {_reason(exc)}") from exc
        finally:
            conn.close()

    def sample(self, table: str, n: int, seed: int = 0) -> pa.Table:
        """Rows kept with a seeded ``RAND(seed) < p`` (p about 3n / estimate), stopping after 3n, then n of those."""
        schema = self.schema(table)
        estimate = self.estimate_rows(table)
        probability = min(1.0, 3.0 * n / max(estimate, 1))
        query = (
            f"SELECT {quote_idents(schema.names, '`')} FROM {_q(table)} "  # noqa: S608 - quoted names
            "WHERE RAND(%s) < %s LIMIT %s"
        )
        batches = list(self._stream(query, (int(seed), probability, 3 * int(n)), schema, DEFAULT_BATCH_SIZE))
        return sample_rows(pa.Table.from_batches(batches, schema=schema), n, seed)

    # -- writing ----------------------------------------------------------------------------------------
    def write_table(self, table: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> int:
        """CREATE TABLE, then bulk load; DDL commits implicitly in MySQL, so a failure drops the table again."""
        if self.has_table(table):
            raise TargetError(f"table '{table}' already exists in {self.target.display}")
        columns = ", ".join(f"{_q(f.name)} {ddl_type(f.type, 'mysql')}" for f in schema)
        self._query(f"CREATE TABLE {_q(table)} ({columns}) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")
        written = 0
        try:
            for batch in batches:
                self._load(table, _storable(batch))
                written += batch.num_rows
        except BaseException:
            self.drop_table(table)
            raise
        return written

    def _load(self, table: str, batch: pa.RecordBatch) -> None:
        if self._local_infile:
            try:
                self._load_infile(table, batch)
                return
            except pymysql.err.MySQLError as exc:
                if not (exc.args and exc.args[0] in _LOCAL_INFILE_REFUSED):
                    raise TargetError(
                        f"cannot load into '{table}' of {self.target.display}: {_reason(exc)}"
                    ) from exc
                self._local_infile = False
        self._insert(table, batch)

    def _load_infile(self, table: str, batch: pa.RecordBatch) -> None:
        # MySQL reads unquoted NULL as NULL and doubled quotes inside quotes as one quote (ESCAPED BY '').
        fd, path = tempfile.mkstemp(prefix="dataward-load-", suffix=".csv")
        try:
            with os.fdopen(fd, "wb") as fh:
                pacsv.write_csv(batch, fh, pacsv.WriteOptions(include_header=False, null_string="NULL"))
            query = (
                f"LOAD DATA LOCAL INFILE %s INTO TABLE {_q(table)} CHARACTER SET utf8mb4 "
                "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' LINES TERMINATED BY '\\n' "
                f"({quote_idents(batch.schema.names, '`')})"
            )
            with self.conn.cursor() as cur:
                cur.execute(query, (path,))
        finally:
            os.unlink(path)

    def _insert(self, table: str, batch: pa.RecordBatch) -> None:
        marks = ", ".join(["%s"] * batch.num_columns)
        query = f"INSERT INTO {_q(table)} ({quote_idents(batch.schema.names, '`')}) VALUES ({marks})"  # noqa: S608
        rows = list(zip(*python_columns(batch), strict=True))
        try:
            with self.conn.cursor() as cur:
                for i in range(0, len(rows), _INSERT_ROWS):
                    cur.executemany(query, rows[i : i + _INSERT_ROWS])
        except pymysql.err.MySQLError as exc:
            raise TargetError(
                f"cannot insert into '{table}' of {self.target.display}: {_reason(exc)}"
            ) from exc

    def drop_table(self, table: str) -> None:
        self._query(f"DROP TABLE IF EXISTS {_q(table)}")

    def rename_table(self, old: str, new: str) -> None:
        self.require_table(old)
        self._query(f"RENAME TABLE {_q(old)} TO {_q(new)}")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._query(sql, params)

    def close(self) -> None:
        self.conn.close()


def _reason(exc: BaseException) -> str:
    """PyMySQL errors are (code, message); the message is the sentence a person can act on."""
    if len(exc.args) >= 2:
        return str(exc.args[1]).strip().rstrip(".")
    return str(exc).strip() or type(exc).__name__


def _storable(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Booleans as 0/1 and zoned timestamps as naive UTC, the forms MySQL columns take."""
    arrays = []
    for col in batch.columns:
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        if pa.types.is_boolean(col.type):
            col = pc.cast(col, pa.int8())
        elif pa.types.is_timestamp(col.type) and col.type.tz:
            col = col.cast(pa.timestamp(col.type.unit))
        arrays.append(col)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def _to_batch(rows: Sequence[tuple[Any, ...]], schema: pa.Schema) -> pa.RecordBatch:
    arrays = []
    for values, field in zip(zip(*rows, strict=True), schema, strict=True):
        array = pa.array(list(values), from_pandas=False)
        arrays.append(array.cast(field.type) if array.type != field.type else array)
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
