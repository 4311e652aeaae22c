"""Bring a state database to the current schema with Alembic, after checking it is one of dataward's.

A location is accepted when it is empty (a new database), already versioned by dataward (its version table
``dataward_version`` exists), or made by dataward before versioning (only tables the earlier code created, the
watcher's ``meta``/``stores``/... or the incident job's ``incidents``/...). Anything else is some other
application's database: dataward refuses it rather than adding its tables there.
"""

from __future__ import annotations

import functools
from importlib.resources import files
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from dataward.errors import ConfigError
from dataward.state.schema import metadata

VERSION_TABLE = "dataward_version"
# Every table the state code created before migrations existed (the 0001 baseline's tables).
LEGACY_TABLES = frozenset(
    {"meta", "stores", "windows", "events", "alerts", "incidents", "artifacts", "ledger", "sends"}
)
_SQLITE_INTERNAL = "sqlite_"
_MIGRATION_LOCK = 0x64617461776172  # "dataward": one advisory lock id for every dataward migration


def alembic_config() -> Config:
    """Alembic's configuration for the migrations shipped in this package (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(files("dataward.state") / "migrations"))
    config.set_main_option("version_table", VERSION_TABLE)
    return config


@functools.cache
def head_revision() -> str:
    """The newest migration's revision (read from the shipped scripts once per process)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).get_current_revision()


def upgrade(engine: Engine, where: str, *, create: bool = True) -> None:
    """Check that ``engine`` is a dataward state database (or empty, when ``create``) and migrate it to head.

    ``where`` is the printable location for messages. Concurrent callers are safe: SQLite serialises them with
    its write lock (taken when the transaction begins), PostgreSQL with a transaction-level advisory lock.
    """
    try:
        with engine.connect() as connection:
            if at_head(connection):
                return  # the common case, in one query
            check_is_state_database(connection, where, create=create)
        config = alembic_config()
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except DBAPIError as exc:
        if "file is not a database" in str(exc.orig):
            raise ConfigError(f"{where} is not a dataward state database (not an SQLite file)") from None
        raise ConfigError(f"cannot open the state database {where}: {first_line(exc.orig)}",
                          tip="check the path or URL, and that dataward may create tables there") from None


def at_head(connection: Connection) -> bool:
    """True when the database is versioned and at the newest revision."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return False
    return current_revision(connection) == head_revision()


def check_is_state_database(connection: Connection, where: str, *, create: bool) -> None:
    tables = {t for t in inspect(connection).get_table_names() if not t.startswith(_SQLITE_INTERNAL)}
    if VERSION_TABLE in tables:
        return
    if not tables:
        if not create:
            raise ConfigError(f"{where} is not a dataward state database (it is empty)")
        return
    foreign = sorted(tables - LEGACY_TABLES)
    if foreign:
        raise ConfigError(
            f"{where} is not a dataward state database (it holds other tables, e.g. '{foreign[0]}')",
            tip="give dataward its own state database: a new file, or a PostgreSQL database of its own",
        )


def first_line(exc: BaseException | None) -> str:
    text = str(exc).strip().splitlines() if exc is not None else []
    return text[0].rstrip(".") if text else type(exc).__name__


def schema_differences(connection: Connection) -> list[Any]:
    """What Alembic's autogenerate would change to make the database match :mod:`dataward.state.schema`.

    Empty when the migrations and the schema module agree (the test suite checks it on both backends).
    """
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return list(compare_metadata(context, metadata))
