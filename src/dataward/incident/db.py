"""A small DB-API connection for the response steps' SQL on the customer's token store.

The tables layer moves Arrow batches; the response also needs row-level statements in transactions
(``UPDATE api_tokens ... WHERE revoked_at IS NULL``). dataward's own state (the incident database, its
ledgers) is not here: it is in :mod:`dataward.state`. SQLite and PostgreSQL are supported
(DuckDB too, for the token store of a local demo). Statements are written with ``?`` placeholders and
translated to the driver's style here; names never come from input unquoted (see :func:`ident`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dataward.errors import TargetError
from dataward.tables.base import quote_ident
from dataward.targets import Target, parse_target

Params = Sequence[Any]


def ident(name: str) -> str:
    """Quote an identifier (SQLite, PostgreSQL and DuckDB all use '"'), with the tables layer's one helper."""
    return quote_ident(name)


class SqlDb:
    """One connection; ``?`` placeholders everywhere; driver errors become one-sentence TargetErrors."""

    def __init__(self, conn: Any, kind: str, display: str) -> None:
        self.conn = conn
        self.kind = kind  # "sqlite" | "postgresql" | "duckdb"
        self.display = display

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.kind == "postgresql" else sql

    def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement in autocommit style (inside :meth:`transaction` it joins that one)."""
        cur = self.conn.cursor()
        cur.execute(self._sql(sql), tuple(params))
        count = cur.rowcount if cur.rowcount is not None else -1
        if not self._in_tx:
            self.conn.commit()
        return int(count)

    def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        cur = self.conn.cursor()
        cur.executemany(self._sql(sql), [tuple(r) for r in rows])
        if not self._in_tx:
            self.conn.commit()

    def query(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        cur = self.conn.cursor()
        cur.execute(self._sql(sql), tuple(params))
        rows = [tuple(r) for r in cur.fetchall()]
        if not self._in_tx and self.kind != "duckdb":
            self.conn.commit()
        return rows

    _in_tx = False

    @contextmanager
    def transaction(self) -> Iterator[SqlDb]:
        """All statements inside commit together or not at all."""
        self._in_tx = True
        try:
            if self.kind == "sqlite":
                self.conn.execute("BEGIN IMMEDIATE")
            elif self.kind == "duckdb":
                self.conn.execute("BEGIN TRANSACTION")
            yield self
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise
        finally:
            self._in_tx = False

    def table_exists(self, name: str) -> bool:
        if self.kind == "sqlite":
            rows = self.query("SELECT 1 FROM sqlite_master WHERE type='table' AND name = ?", (name,))
        else:
            rows = self.query("SELECT 1 FROM information_schema.tables WHERE table_name = ?", (name,))
        return bool(rows)

    def columns(self, table: str) -> list[str]:
        if self.kind == "sqlite":
            return [r[1] for r in self.query(f"PRAGMA table_info({ident(table)})")]
        rows = self.query(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
            (table,),
        )
        return [r[0] for r in rows]

    def close(self) -> None:
        self.conn.close()


def connect(url: str | Target, *, create: bool = True) -> SqlDb:
    """Open sqlite:///path (or a bare path), duckdb:///path or postgresql://… as a :class:`SqlDb`."""
    target = url if isinstance(url, Target) else _as_target(url)
    try:
        if target.scheme == "sqlite":
            path = _local_path(target)
            if not create and not Path(path).exists():
                raise TargetError(f"the database {path} does not exist")
            conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            return SqlDb(conn, "sqlite", target.display)
        if target.scheme == "duckdb":
            import duckdb

            return SqlDb(duckdb.connect(_local_path(target)), "duckdb", target.display)
        if target.scheme in ("postgresql", "postgres"):
            import psycopg

            return SqlDb(psycopg.connect(target.url, connect_timeout=5), "postgresql", target.display)
    except TargetError:
        raise
    except Exception as exc:  # driver errors stop here, as one sentence
        raise TargetError(
            f"cannot open {target.display}: {_first_line(exc)}",
            tip="check the URL, the credentials and that the server is running",
        ) from None
    raise TargetError(
        f"'{target.scheme}://' is not supported here",
        tip="use sqlite:///path, duckdb:///path or postgresql://host/db",
    )


def _as_target(url: str) -> Target:
    if "://" not in url:
        return parse_target("sqlite:///" + str(Path(url).resolve()).lstrip("/"))
    return parse_target(url)


def _local_path(target: Target) -> str:
    """sqlite:///abs/path -> /abs/path (the DESIGN.md form); sqlite://rel/path -> rel/path."""
    return f"{target.host}{target.path}" if target.host else target.path


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0].rstrip(".") if text else type(exc).__name__


def in_ids(db: SqlDb, column: str, ids: Sequence[int]) -> tuple[str, tuple[Any, ...]]:
    """``column IN (ids)`` as one parameter (a JSON or array value), so a batch of 100k ids is one statement."""
    col = ident(column)
    values = [int(i) for i in ids]
    if db.kind == "postgresql":
        return f"{col} IN (SELECT unnest(?::bigint[]))", (values,)
    if db.kind == "duckdb":
        return f"{col} IN (SELECT unnest(?::BIGINT[]))", (values,)
    import json

    return f"{col} IN (SELECT value FROM json_each(?))", (json.dumps(values),)  # noqa: S608
