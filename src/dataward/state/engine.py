"""An SQLAlchemy engine for a state database location: a path, ``sqlite:///path`` or ``postgresql://…``.

SQLite files are created owner-only (0600: the incident database holds each incident's secret), run in WAL mode
(set once the file is known to be dataward's) so the watcher's prober and its alert sender share the file, and take the write lock when a transaction begins
(``BEGIN IMMEDIATE``), so two writers wait for each other instead of failing half-way.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError

from dataward.errors import ConfigError
from dataward.targets import redact_url

_POSTGRES = ("postgresql://", "postgres://", "postgresql+psycopg://")
OWNER_ONLY = 0o600


def display(location: str) -> str:
    """The location as it may be printed: a path as given, a URL without its password."""
    return redact_url(location)


def is_sqlite(location: str) -> bool:
    return not location.startswith(_POSTGRES)


def sqlite_path(location: str) -> Path:
    """``sqlite:///abs/state.db`` -> /abs/state.db (dataward's form, as for table stores); a bare path as is."""
    if "://" not in location:
        return Path(location)
    parts = urlsplit(location)
    if parts.scheme not in ("sqlite", "sqlite3"):
        raise ConfigError(
            f"'{display(location)}' is not a state database location",
            tip="use a file path, sqlite:///path/state.db or postgresql://host/db",
        )
    host = parts.netloc if parts.netloc not in ("", "localhost") else ""
    return Path(unquote(host + parts.path))


def prepare_sqlite_file(path: Path, *, create: bool) -> None:
    """Create the file owner-only if missing (or refuse when ``create`` is false); tighten a looser one we own."""
    if not path.parent.is_dir():
        raise ConfigError(f"the folder of the state database {path} does not exist")
    if not path.exists():
        if not create:
            raise ConfigError(f"there is no state database at {path}")
        create_sqlite_file(path)
        return
    if path.is_dir():
        raise ConfigError(f"the state database {path} is a folder")


def create_sqlite_file(path: Path) -> None:
    """A new owner-only SQLite file in WAL mode, put in place whole (a concurrent creator's file wins)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
    except OSError as exc:
        raise ConfigError(f"cannot create the state database {path}: {exc.strerror}") from None
    try:
        os.close(fd)
        with contextlib.closing(sqlite3.connect(tmp)) as conn:
            conn.execute("PRAGMA journal_mode=WAL")  # persistent in the file's header
        os.link(tmp, path)  # never replaces: if another process was first, its file stays
    except FileExistsError:
        pass
    except OSError as exc:
        raise ConfigError(f"cannot create the state database {path}: {exc.strerror}") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def secure_sqlite_file(engine: Engine, path: Path) -> None:
    """After the checks passed: WAL mode (persistent in the file) and owner-only permissions on one we own.

    Not before: a file that turns out not to be dataward's must be left exactly as it was.
    """
    with engine.connect() as connection:
        raw = connection.connection.driver_connection  # outside any transaction, as PRAGMA journal_mode needs
        assert raw is not None
        if raw.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            with contextlib.suppress(sqlite3.OperationalError):  # busy: WAL is for speed, the next open retries
                raw.execute("PRAGMA journal_mode=WAL")
    info = path.stat()
    if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & 0o077:
        with contextlib.suppress(OSError):  # a read-only file system: leave it, the database still works
            path.chmod(OWNER_ONLY)


def sqlalchemy_url(location: str) -> URL:
    """The SQLAlchemy URL of a location (PostgreSQL goes through psycopg 3, already a dependency)."""
    if is_sqlite(location):
        return URL.create("sqlite", database=str(sqlite_path(location)))
    try:
        url = make_url(location)
    except (ArgumentError, ValueError):
        raise ConfigError(f"'{display(location)}' is not a database URL") from None
    return url.set(drivername="postgresql+psycopg")


def make_engine(location: str) -> Engine:
    """An engine for the location (no connection is made yet)."""
    url = sqlalchemy_url(location)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, connect_args={"connect_timeout": 10}, pool_pre_ping=True)


def _sqlite_on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # The driver's own transaction handling is turned off so that ours (BEGIN IMMEDIATE, below) is the only one;
    # this is SQLAlchemy's documented recipe for SQLite transactions.
    dbapi_connection.isolation_level = None
    dbapi_connection.execute("PRAGMA busy_timeout=30000")
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")
