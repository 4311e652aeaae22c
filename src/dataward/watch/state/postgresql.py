"""State in PostgreSQL (``--state postgresql://...``): the same schema, for watchers that share one database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from dataward.errors import ConfigError
from dataward.targets import redact_url
from dataward.watch.state.base import StateDB
from dataward.watch.state.sqlite import _UPSERT


class PostgresState(StateDB):
    serial = "BIGSERIAL PRIMARY KEY"
    placeholder = "%s"

    def _connect(self) -> Any:
        try:
            return psycopg.connect(self.location, connect_timeout=10)
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(
                f"cannot open the state database {redact_url(self.location)}: {first}",
                tip="check the URL and that the role may create tables",
            ) from None

    def _insert_id(self, cur: Any, sql: str, params: Sequence[Any]) -> int:
        cur.execute(self._sql(sql) + " RETURNING id", tuple(params))
        return int(cur.fetchone()[0])

    def _upsert_sql(self) -> str:
        return _UPSERT  # INSERT ... ON CONFLICT works the same in PostgreSQL
