"""The default state database: one SQLite file (WAL, so the alert sender and the prober share it)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dataward.errors import ConfigError
from dataward.watch.state.base import StateDB

_UPSERT = """INSERT INTO stores (store, target, kind, reachable, failures, unreachable_alerted, last_probe,
    last_ok, last_full, last_secure, contents, fast_ids, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (store) DO UPDATE SET target = excluded.target, kind = excluded.kind,
    reachable = excluded.reachable, failures = excluded.failures,
    unreachable_alerted = excluded.unreachable_alerted, last_probe = excluded.last_probe,
    last_ok = excluded.last_ok, last_full = excluded.last_full, last_secure = excluded.last_secure,
    contents = excluded.contents, fast_ids = excluded.fast_ids, extra = excluded.extra"""


class SQLiteState(StateDB):
    serial = "INTEGER PRIMARY KEY AUTOINCREMENT"

    def _connect(self) -> Any:
        path = Path(self.location.removeprefix("sqlite:///").removeprefix("sqlite://"))
        if not path.parent.exists():
            raise ConfigError(f"the folder of the state database {path} does not exist")
        try:
            conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot open the state database {path}: {exc}") from None
        return conn

    def _insert_id(self, cur: Any, sql: str, params: Sequence[Any]) -> int:
        cur.execute(self._sql(sql), tuple(params))
        return int(cur.lastrowid)

    def _upsert_sql(self) -> str:
        return _UPSERT
