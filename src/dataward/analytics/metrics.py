"""The product questions of the seed case, answered with DuckDB over Arrow streams from any table store.

Definitions (the same as the generator's ground truth, docs/devicecloud.md):
- connectivity rate = successful connects / connection attempts, where a ``connection_events`` row of kind
  ``connect`` is a success and an attempt is a ``connect`` or a ``failure`` (``disconnect`` is neither),
  grouped by the device's ``model`` and by its ``firmware_version``;
- failures by error code = ``failure`` events per ``error_code`` (and per the device's firmware);
- users by month = users per ``created_at`` month (``YYYY-MM``);
- devices per user = users by how many devices they own: ``"1"``..``"4"``, ``"5+"``.

Only the needed columns are read, streamed batch by batch (``read_batches`` into a RecordBatchReader that
DuckDB scans), so a 24M-event table never sits in Python memory. On a safe copy the same queries run on
pseudonymised keys (joins still hold) and generalised columns; the copy's manifest says which answers are
therefore coarser, and the output says so under ``coarser``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from dataward.copy.manifest import Manifest, read_manifest
from dataward.errors import DatawardError
from dataward.tables import open_tables
from dataward.tables.base import TableStore
from dataward.targets import Target

ANALYTICS_SCHEMA = "dataward.analytics/v1"
RATE_DIGITS = 4  # as the ground truth (docs/devicecloud.md)
_NEEDED = {
    "connection_events": ["device_id", "kind", "error_code"],
    "devices": ["id", "user_id", "model", "firmware_version"],
    "users": ["id", "created_at"],
}


@dataclass(frozen=True)
class Analytics:
    connectivity_by_model: dict[str, float]
    connectivity_by_firmware: dict[str, float]
    failures_by_error_code: dict[str, int]
    users_by_month: dict[str, int]
    devices_per_user: dict[str, int]
    failures_by_firmware: dict[str, int] = field(default_factory=dict)
    source: str = ""
    coarser: dict[str, str] = field(default_factory=dict)  # answer -> why it is coarser on this copy
    unavailable: dict[str, str] = field(default_factory=dict)  # answer -> why it cannot be computed here

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": ANALYTICS_SCHEMA,
            "source": self.source,
            "connectivity_by_model": self.connectivity_by_model,
            "connectivity_by_firmware": self.connectivity_by_firmware,
            "failures_by_error_code": self.failures_by_error_code,
            "users_by_month": self.users_by_month,
            "devices_per_user": self.devices_per_user,
            "failures_by_firmware": self.failures_by_firmware,
            "coarser": self.coarser,
            "unavailable": self.unavailable,
        }


def compute(target: Target) -> Analytics:
    """Every answer for the store at ``target`` (production or a safe copy)."""
    manifest = _manifest(target)
    with open_tables(target) as store, _duck(store) as con:
        coarser, unavailable = _caveats(store, manifest)
        return Analytics(
            connectivity_by_model=_rates(con, "model") if "connectivity_by_model" not in unavailable else {},
            connectivity_by_firmware=(
                _rates(con, "firmware_version") if "connectivity_by_firmware" not in unavailable else {}
            ),
            failures_by_error_code=_failures(con) if "failures_by_error_code" not in unavailable else {},
            users_by_month=_users_by_month(con) if "users_by_month" not in unavailable else {},
            devices_per_user=_devices_per_user(con) if "devices_per_user" not in unavailable else {},
            failures_by_firmware=(
                _failures_by_firmware(con) if "failures_by_firmware" not in unavailable else {}
            ),
            source=target.display,
            coarser=coarser,
            unavailable=unavailable,
        )


def _manifest(target: Target) -> Manifest | None:
    try:
        return read_manifest(target)
    except DatawardError:
        return None


@contextmanager
def _duck(store: TableStore) -> Iterator[duckdb.DuckDBPyConnection]:
    """DuckDB with each source table read once, as a stream of its needed columns, into a small temp table.

    Events are aggregated while streaming (per device, kind and error code), so 24M events become at most
    a few rows per device; devices keep only their four needed columns.
    """
    con = duckdb.connect()
    try:
        tables = set(store.list_tables())
        for table, wanted in _NEEDED.items():
            if table in tables:
                _load(con, store, table, wanted)
        yield con
    finally:
        con.close()


_LOAD_SQL = {
    "connection_events": "CREATE TEMP TABLE ev AS SELECT {cols}, count(*) AS n FROM src GROUP BY ALL",
    "devices": "CREATE TEMP TABLE dev AS SELECT {cols} FROM src",
    "users": "CREATE TEMP TABLE usr AS SELECT {cols} FROM src",
}


def _load(con: duckdb.DuckDBPyConnection, store: TableStore, table: str, wanted: list[str]) -> None:
    full = store.schema(table)
    cols = [c for c in wanted if c in full.names]
    if not cols:
        return
    schema = pa.schema([full.field(c) for c in cols])
    reader = pa.RecordBatchReader.from_batches(schema, store.read_batches(table, cols))
    con.register("src", reader)
    try:
        quoted = ", ".join(f'"{c}"' for c in cols)  # names from the constant _NEEDED above
        con.execute(_LOAD_SQL[table].format(cols=quoted))
    finally:
        con.unregister("src")


_ANSWERS = {
    "connectivity_by_model": {"connection_events": ["device_id", "kind"], "devices": ["id", "model"]},
    "connectivity_by_firmware": {"connection_events": ["device_id", "kind"], "devices": ["id", "firmware_version"]},
    "failures_by_error_code": {"connection_events": ["kind", "error_code"]},
    "failures_by_firmware": {"connection_events": ["device_id", "kind"], "devices": ["id", "firmware_version"]},
    "users_by_month": {"users": ["created_at"]},
    "devices_per_user": {"devices": ["user_id"]},
}


def _caveats(store: TableStore, manifest: Manifest | None) -> tuple[dict[str, str], dict[str, str]]:
    """Which answers this store cannot give (missing columns), and which come out coarser (manifest)."""
    tables = set(store.list_tables())
    schemas = {t: store.schema(t).names for t in _NEEDED if t in tables}
    actions = manifest.column_actions() if manifest else {}
    coarser: dict[str, str] = {}
    unavailable: dict[str, str] = {}
    for answer, needs in _ANSWERS.items():
        for table, cols in needs.items():
            missing = [c for c in cols if c not in schemas.get(table, [])]
            if missing:
                unavailable[answer] = f"{table} has no {', '.join(missing)}" + (
                    " (dropped by the copy plan)" if table in actions else ""
                )
                break
            for col in cols:
                action = actions.get(table, {}).get(col, "keep")
                if action == "suppress":
                    unavailable[answer] = f"{table}.{col} is suppressed in this copy"
                elif action.startswith("generalize") and not _exact_enough(answer, action):
                    coarser[answer] = f"{table}.{col} is {action.replace(':', 'd to ', 1)} in this copy"
    return coarser, unavailable


def _exact_enough(answer: str, action: str) -> bool:
    """A generalisation that cannot change this answer (created_at to day still gives exact months)."""
    return answer == "users_by_month" and action in ("generalize:day", "generalize:month", "generalize:hour")


def _rates(con: duckdb.DuckDBPyConnection, column: str) -> dict[str, float]:
    sql = f"""
        SELECT d.{column} AS g,
               coalesce(sum(e.n) FILTER (WHERE e.kind = 'connect'), 0) AS ok,
               coalesce(sum(e.n) FILTER (WHERE e.kind IN ('connect', 'failure')), 0) AS attempts
        FROM ev e JOIN dev d ON e.device_id = d.id
        GROUP BY 1 HAVING attempts > 0 ORDER BY 1
    """  # noqa: S608 - column is one of two constants above
    return {str(g): round(ok / attempts, RATE_DIGITS) for g, ok, attempts in con.sql(sql).fetchall()}


def _failures(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    sql = """
        SELECT error_code, sum(n) FROM ev
        WHERE kind = 'failure' AND error_code IS NOT NULL GROUP BY 1 ORDER BY 1
    """
    return {str(code): int(n) for code, n in con.sql(sql).fetchall()}


def _failures_by_firmware(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    sql = """
        SELECT d.firmware_version, sum(e.n) FROM ev e JOIN dev d ON e.device_id = d.id
        WHERE e.kind = 'failure' GROUP BY 1 ORDER BY 1
    """
    return {str(fw): int(n) for fw, n in con.sql(sql).fetchall()}


def _users_by_month(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    sql = """
        SELECT strftime(CAST(created_at AS TIMESTAMP), '%Y-%m') AS m, count(*) FROM usr
        WHERE created_at IS NOT NULL GROUP BY 1 ORDER BY 1
    """
    return {str(m): int(n) for m, n in con.sql(sql).fetchall()}


def _devices_per_user(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    sql = """
        WITH per_user AS (SELECT user_id, count(*) AS n FROM dev WHERE user_id IS NOT NULL GROUP BY 1)
        SELECT CASE WHEN n >= 5 THEN '5+' ELSE CAST(n AS VARCHAR) END AS bucket, count(*)
        FROM per_user GROUP BY 1 ORDER BY 1
    """
    found = {str(b): int(n) for b, n in con.sql(sql).fetchall()}
    return {k: found.get(k, 0) for k in ("1", "2", "3", "4", "5+")}
