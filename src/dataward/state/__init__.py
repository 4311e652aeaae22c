"""dataward's own state database: one SQL layer for every feature (SQLAlchemy Core + Alembic migrations).

What lives here: the watcher's state and history (stores, exposure windows, events, the alert outbox), the
incident database (incidents, artifacts, the respond ledger, the notify ledger), and whatever the control plane
adds. What does not: customer data (``dataward.tables`` and ``dataward.stores`` read that).

A location is a path, ``sqlite:///path`` (SQLite, the embedded default) or ``postgresql://…`` (a team's shared
database). :func:`open_state_db` turns it into an SQLAlchemy :class:`~sqlalchemy.Engine` after checking that it
is a dataward state database (or a new, empty one) and migrating it to the current schema, so an upgrade of
dataward never loses state::

    from sqlalchemy import select
    from dataward.state import open_state_db, schema

    engine = open_state_db("watch.db")
    with engine.begin() as conn:                    # one transaction: commits on exit, rolls back on error
        rows = conn.execute(select(schema.windows).where(schema.windows.c.closed.is_(None))).all()
    engine.dispose()

Queries are SQLAlchemy Core expressions on the tables of :mod:`dataward.state.schema` (parameters are bound by
the driver, never formatted into SQL); :func:`upsert` is the one INSERT ... ON CONFLICT for both backends.
Adding a table: define it in ``schema.py`` and add a migration in ``migrations/versions`` (docs/design.md,
"State database", says how); ``tests/test_state.py`` fails while the two disagree.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Table
from sqlalchemy.dialects import postgresql, sqlite

from dataward.state import schema
from dataward.state.engine import (
    display,
    is_sqlite,
    make_engine,
    prepare_sqlite_file,
    secure_sqlite_file,
    sqlite_path,
)
from dataward.state.migrate import VERSION_TABLE, head_revision, upgrade


def open_state_db(location: str, *, create: bool = True) -> Engine:
    """An engine on the state database at ``location``, migrated to the current schema.

    ``create=False`` is for readers (``dataward history``): a missing or empty database is an error then.
    Raises :class:`~dataward.errors.ConfigError` (one sentence) when the location cannot be opened or is not a
    dataward state database. Call ``engine.dispose()`` when done.
    """
    sqlite_file = sqlite_path(location) if is_sqlite(location) else None
    if sqlite_file is not None:
        prepare_sqlite_file(sqlite_file, create=create)
    engine = make_engine(location)
    try:
        upgrade(engine, display(location), create=create)
        if sqlite_file is not None:
            secure_sqlite_file(engine, sqlite_file)
    except BaseException:
        engine.dispose()
        raise
    return engine


def upsert(conn: Connection, table: Table, rows: Mapping[str, Any] | Sequence[Mapping[str, Any]],
           keys: Sequence[str]) -> None:
    """Insert rows, or update every other column of the row with the same ``keys`` (SQLite and PostgreSQL).

    Every row names the same columns; a list of rows is one executemany.
    """
    batch = [rows] if isinstance(rows, Mapping) else list(rows)
    if batch:
        conn.execute(_upsert_statement(conn.dialect.name, table, tuple(batch[0]), tuple(keys)), batch)


@functools.lru_cache(maxsize=256)
def _upsert_statement(dialect_name: str, table: Table, columns: tuple[str, ...], keys: tuple[str, ...]) -> Any:
    """Built once per table and column set: statement construction is most of SQLAlchemy's cost per call."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(table)
    updates = {name: statement.excluded[name] for name in columns if name not in keys}
    return statement.on_conflict_do_update(index_elements=list(keys), set_=updates)


__all__ = ["VERSION_TABLE", "display", "head_revision", "open_state_db", "schema", "upgrade", "upsert"]
