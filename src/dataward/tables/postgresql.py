"""PostgreSQL (``postgresql://user@host:port/db?schema=s``) as Arrow tables, through psycopg 3.

Bulk paths on both sides: writes stream Arrow-written CSV into ``COPY … FROM STDIN`` while a background
thread encodes the next batch; reads run ``COPY (SELECT …) TO STDOUT`` and parse each batch's rows at once with
Arrow's CSV reader, so no value passes through Python (only each row's bytes) and memory is bounded by the batch
size. Sampling uses ``TABLESAMPLE … REPEATABLE (seed)`` and row estimates come from ``pg_class.reltuples``
(written tables are ANALYZEd).

URL query parameters are passed to libpq (``sslmode``, ``connect_timeout`` …) except ``schema`` (the schema to
use, default ``current_schema()``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, ClassVar

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql
from psycopg.conninfo import make_conninfo

from dataward.errors import TargetError
from dataward.tables._sqltypes import arrow_type, ddl_type
from dataward.tables.base import (
    DEFAULT_BATCH_SIZE,
    TableStoreBase,
    prefetch,
    register_tables,
    sample_rows,
)
from dataward.targets import Target

_DATAWARD_PARAMS = frozenset({"schema", "kind"})
_BERNOULLI_MAX = 1_000_000  # up to this many rows a row-level sample is cheap enough
_CSV_BLOCK = 1 << 30  # a batch is parsed as one block: one chunk, no copy to combine (threads gained nothing)


@register_tables
class PostgresTables(TableStoreBase):
    kind: ClassVar[str] = "postgresql"
    schemes: ClassVar[tuple[str, ...]] = ("postgresql", "postgres")

    def __init__(self, target: Target, *, create: bool = False) -> None:
        self.target = target
        self.conn = _connect(target, create)
        self.namespace = target.params.get("schema") or self._scalar("SELECT current_schema()")
        if self.namespace is None:
            raise TargetError(f"{target.display} has no schema on its search_path", tip="add ?schema=public")
        if create and "schema" in target.params:
            self._query(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.namespace)))

    # -- plumbing ---------------------------------------------------------------------------------------
    def _ident(self, table: str) -> sql.Identifier:
        return sql.Identifier(self.namespace, table)

    def _query(self, query: sql.Composable | str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            with self.conn.cursor() as cur:
                cur.execute(query, list(params) or None)  # type: ignore[arg-type]
                return cur.fetchall() if cur.description else []
        except psycopg.Error as exc:
            raise TargetError(f"PostgreSQL at {self.target.display} refused a query: {_reason(exc)}") from exc

    def _scalar(self, query: sql.Composable | str, params: Sequence[Any] = ()) -> Any:
        rows = self._query(query, params)
        return rows[0][0] if rows else None

    # -- reading ----------------------------------------------------------------------------------------
    def list_tables(self) -> list[str]:
        rows = self._query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1",
            [self.namespace],
        )
        return [r[0] for r in rows]

    def schema(self, table: str) -> pa.Schema:
        rows = self._query(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            [self.namespace, table],
        )
        if not rows:
            self.require_table(table)
        return pa.schema([pa.field(name, _read_type(kind)) for name, kind in rows])

    def estimate_rows(self, table: str) -> int:
        """``reltuples`` from the last ANALYZE or VACUUM; a never-analysed table (-1) is counted instead."""
        self.require_table(table)
        qualified = self._ident(table).as_string(self.conn)
        estimate = self._scalar(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)", [qualified]
        )
        if estimate is None or estimate < 0:
            return self.count_rows(table)
        return int(estimate)

    def count_rows(self, table: str) -> int:
        self.require_table(table)
        return int(self._scalar(sql.SQL("SELECT count(*) FROM {}").format(self._ident(table))))

    def read_batches(
        self, table: str, columns: list[str] | None = None, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> Iterator[pa.RecordBatch]:
        cols = self.require_columns(table, columns)
        schema = pa.schema([self.schema(table).field(c) for c in cols])
        select = sql.SQL("SELECT {} FROM {}").format(_select_list(schema), self._ident(table))
        # a connection of its own, so the caller may run other queries (or read other tables) meanwhile
        conn = _connect(self.target, create=False)
        try:
            yield from self._copy_out(select, schema, batch_size, conn)
        finally:
            conn.close()

    def sample(self, table: str, n: int, seed: int = 0) -> pa.Table:
        """``TABLESAMPLE BERNOULLI`` (rows) for tables up to 1M rows, ``SYSTEM`` (pages) above, then LIMIT n."""
        schema = self.schema(table)
        estimate = self.estimate_rows(table)
        if estimate <= n:
            query = sql.SQL("SELECT {} FROM {} LIMIT {}").format(
                _select_list(schema), self._ident(table), sql.Literal(int(n))
            )
        else:
            method = "BERNOULLI" if estimate <= _BERNOULLI_MAX else "SYSTEM"
            percent = min(100.0, 100.0 * 3 * n / estimate)
            query = sql.SQL("SELECT {} FROM {} TABLESAMPLE {} ({}) REPEATABLE ({}) LIMIT {}").format(
                _select_list(schema),
                self._ident(table),
                sql.SQL(method),
                sql.Literal(round(percent, 6)),
                sql.Literal(int(seed)),
                sql.Literal(int(n) * 3),
            )
        batches = list(self._copy_out(query, schema, DEFAULT_BATCH_SIZE))
        return sample_rows(pa.Table.from_batches(batches, schema=schema), n, seed)

    def _copy_out(
        self,
        select: sql.Composable,
        schema: pa.Schema,
        batch_size: int,
        conn: psycopg.Connection[Any] | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """``COPY (select) TO STDOUT`` as CSV, parsed by Arrow ``batch_size`` rows at a time.

        PostgreSQL sends one CopyData message per row (protocol docs, "COPY Operations"), so a batch is the
        next ``batch_size`` messages joined and parsed at once: no more than one batch of text is held, and
        batches need no re-slicing. (Arrow's streaming reader over a file-like object, then re-batching,
        held two to three times as much, and what it held grew with the table.)
        """
        copy_sql = sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(select)
        parse = _csv_parser(schema)
        try:
            with (conn or self.conn).cursor() as cur, cur.copy(copy_sql) as copy:
                rows: list[bytes] = []
                while row := copy.read():
                    rows.append(bytes(row))
                    if len(rows) == batch_size:
                        yield parse(rows)
                if rows:
                    yield parse(rows)
        except psycopg.Error as exc:
            raise TargetError(f"cannot read from {self.target.display}: {_reason(exc)}") from exc
        except pa.ArrowInvalid as exc:
            raise TargetError(f"cannot parse what {self.target.display} returned: {exc}") from exc

    # -- writing ----------------------------------------------------------------------------------------
    def write_table(self, table: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> int:
        """CREATE TABLE and COPY in one transaction: a failure anywhere leaves no table."""
        if self.has_table(table):
            raise TargetError(f"table '{table}' already exists in {self.target.display}")
        columns = sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(ddl_type(f.type, "postgresql")))
            for f in schema
        )
        copy_sql = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
            self._ident(table), sql.SQL(", ").join(sql.Identifier(n) for n in schema.names)
        )
        written = 0
        try:
            with self.conn.transaction(), self.conn.cursor() as cur:
                cur.execute(sql.SQL("CREATE TABLE {} ({})").format(self._ident(table), columns))
                with cur.copy(copy_sql) as copy:
                    for rows, data in prefetch(_csv_chunks(batches)):
                        copy.write(data)
                        written += rows
            self._query(sql.SQL("ANALYZE {}").format(self._ident(table)))
        except psycopg.Error as exc:
            raise TargetError(
                f"cannot write table '{table}' to {self.target.display}: {_reason(exc)}"
            ) from exc
        return written

    def drop_table(self, table: str) -> None:
        self._query(sql.SQL("DROP TABLE IF EXISTS {}").format(self._ident(table)))

    def rename_table(self, old: str, new: str) -> None:
        self.require_table(old)
        self._query(sql.SQL("ALTER TABLE {} RENAME TO {}").format(self._ident(old), sql.Identifier(new)))

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._query(sql, params)

    def close(self) -> None:
        self.conn.close()


def _connect(target: Target, create: bool) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(_conninfo(target), autocommit=True)
    except psycopg.OperationalError as exc:
        missing = "does not exist" in str(exc) and "database" in str(exc)
        if not (create and missing and target.database):
            raise TargetError(
                f"cannot connect to {target.display}: {_reason(exc)}",
                tip="check host, port, user and password (a password may come from {env = ...} in dataward.toml)",
            ) from exc
    _create_database(target)
    return _connect(target, create=False)


def _create_database(target: Target) -> None:
    try:
        with psycopg.connect(_conninfo(target, dbname="postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target.database or "")))
    except psycopg.Error as exc:
        raise TargetError(f"cannot create the database of {target.display}: {_reason(exc)}") from exc


def _conninfo(target: Target, dbname: str | None = None) -> str:
    params = {k: v for k, v in target.params.items() if k not in _DATAWARD_PARAMS}
    params.setdefault("connect_timeout", "5")
    return make_conninfo(
        host=target.host or "localhost",
        port=target.port or 5432,
        user=target.username,
        password=target.password,
        dbname=dbname or target.database or target.username,
        **params,
    )


def _reason(exc: BaseException) -> str:
    """The useful part of a libpq message ('password authentication failed for user "app"')."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    for marker in ("failed: FATAL:  ", "failed: ", "FATAL:  ", "ERROR:  "):
        if marker in line:
            line = line.rsplit(marker, 1)[1]
            break
    return line.strip().rstrip(".")


def _read_type(data_type: str) -> pa.DataType:
    t = arrow_type(data_type, "postgresql")
    return pa.string() if pa.types.is_binary(t) else t  # bytea arrives as '\\x…' text in CSV


def _select_list(schema: pa.Schema) -> sql.Composed:
    """Column list; zoned timestamps are rendered as ISO-8601 UTC so Arrow parses them the same everywhere."""
    items: list[sql.Composable] = []
    for f in schema:
        if pa.types.is_timestamp(f.type) and f.type.tz:
            items.append(
                sql.SQL("to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')").format(
                    sql.Identifier(f.name)
                )
            )
        else:
            items.append(sql.Identifier(f.name))
    return sql.SQL(", ").join(items)


def _csv_chunks(batches: Iterable[pa.RecordBatch]) -> Iterator[tuple[int, pa.Buffer]]:
    """Each batch as PostgreSQL CSV: strings are always quoted, so an unquoted empty field is NULL.

    The text is written into an Arrow buffer (no Python file in between, no copy out of it); psycopg sends
    it through the buffer protocol.
    """
    options = pacsv.WriteOptions(include_header=False, batch_size=8192)
    for batch in batches:
        sink = pa.BufferOutputStream()
        pacsv.write_csv(batch, sink, options)
        yield batch.num_rows, sink.getvalue()


def _csv_parser(schema: pa.Schema) -> Callable[[list[bytes]], pa.RecordBatch]:
    """A function parsing PostgreSQL CSV rows into one record batch of ``schema``.

    Strings are always quoted, so an unquoted empty field is NULL; an empty line is a row (a one-column
    NULL), not a blank to skip.
    """
    read_options = pacsv.ReadOptions(column_names=schema.names, block_size=_CSV_BLOCK)
    parse_options = pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False)
    convert_options = pacsv.ConvertOptions(
        column_types={f.name: f.type for f in schema},
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        true_values=["t"],
        false_values=["f"],
    )

    def parse(rows: list[bytes]) -> pa.RecordBatch:
        """The rows as one batch; ``rows`` is emptied, so their text is freed before the batch is used."""
        data = b"".join(rows)
        rows.clear()
        table = pacsv.read_csv(pa.py_buffer(data), read_options, parse_options, convert_options)
        return table.combine_chunks().to_batches()[0]

    return parse
