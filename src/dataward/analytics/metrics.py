"""The product questions of the seed case, answered with DuckDB over Arrow streams from any table store.

Tables and columns are roles of the schema map (dataward.schemamap; the reference device cloud's by default).
Definitions (the same as the generator's ground truth, docs/devicecloud.md):
- connectivity rate = successful connects / connection attempts, where a ``connection_event`` of kind
  ``connect`` is a success and an attempt is a ``connect`` or a ``failure`` (``disconnect`` is neither),
  grouped by the device's ``model`` and by its ``firmware``;
- failures by error code = ``failure`` events per ``error_code`` (and per the device's firmware);
- users by month = customers per ``created_at`` month (``YYYY-MM``);
- devices per user = customers by how many devices they own: ``"1"``..``"4"``, ``"5+"``.

Only the needed columns are read, streamed batch by batch (``read_batches`` into a RecordBatchReader that
DuckDB scans), so a 24M-event table never sits in Python memory. On a safe copy the same queries run on
pseudonymised keys (joins still hold) and generalised columns; the copy's manifest says which answers are
therefore coarser, and the output says so under ``coarser``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from dataward.errors import DatawardError
from dataward.manifest import Manifest, read_manifest
from dataward.schemamap import ConnectionEventRole, SchemaMap
from dataward.tables import open_tables
from dataward.tables.base import TableStore, quote_ident
from dataward.targets import Target

ANALYTICS_SCHEMA = "dataward.analytics/v1"
RATE_DIGITS = 4  # as the ground truth (docs/devicecloud.md)
# role -> (role column, the name it has in DuckDB): the queries below only use the DuckDB names
_NEEDED: dict[str, tuple[str, ...]] = {
    "connection_event": ("device", "kind", "error_code"),
    "device": ("id", "customer", "model", "firmware"),
    "customer": ("created_at",),
}
_TEMP = {"connection_event": "ev", "device": "dev", "customer": "usr"}


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


def compute(target: Target, schema: SchemaMap | None = None) -> Analytics:
    """Every answer for the store at ``target`` (production or a safe copy); tables and columns come from
    ``schema`` (default: the reference device cloud's map)."""
    roles = _roles(schema or SchemaMap.reference())
    manifest = _manifest(target)
    with open_tables(target) as store, _duck(store, roles) as con:
        coarser, unavailable = _caveats(store, manifest, roles)

        def answer(name: str, query: Query) -> Any:
            return query(con, roles) if name not in unavailable else {}

        return Analytics(
            connectivity_by_model=answer("connectivity_by_model", _rates_by("model")),
            connectivity_by_firmware=answer("connectivity_by_firmware", _rates_by("firmware")),
            failures_by_error_code=answer("failures_by_error_code", _failures),
            users_by_month=answer("users_by_month", _users_by_month),
            devices_per_user=answer("devices_per_user", _devices_per_user),
            failures_by_firmware=answer("failures_by_firmware", _failures_by_firmware),
            source=target.display,
            coarser=coarser,
            unavailable=unavailable,
        )


@dataclass(frozen=True)
class Roles:
    """What analytics reads, named by the schema map: role -> table, and (role, role column) -> column."""

    tables: dict[str, str]
    columns: dict[tuple[str, str], str]
    events: ConnectionEventRole

    def kind(self, canonical: str) -> str:
        return self.events.kind_value(canonical)


def _roles(schema: SchemaMap) -> Roles:
    """Every role and column analytics needs, or one sentence naming the first the map lacks."""
    columns = {
        (role, col): schema.require(role, col, by="analytics")[1]
        for role, cols in _NEEDED.items()
        for col in cols
    }
    tables = {role: schema.table(role) for role in _NEEDED}
    return Roles(
        tables, columns, schema.connection_event or ConnectionEventRole(table=tables["connection_event"])
    )


def _manifest(target: Target) -> Manifest | None:
    try:
        return read_manifest(target)
    except DatawardError:
        return None


@contextmanager
def _duck(store: TableStore, roles: Roles) -> Iterator[duckdb.DuckDBPyConnection]:
    """DuckDB with each source table read once, as a stream of its needed columns, into a small temp table.

    Events are aggregated while streaming (per device, kind and error code), so 24M events become at most
    a few rows per device; devices keep only their four needed columns. Temp tables and their columns carry
    the roles' names (``ev.device``, ``dev.firmware``), whatever the source calls them.
    """
    tables = set(store.list_tables())
    if not tables & set(roles.tables.values()):
        raise DatawardError(
            f"{store.target.display} has none of the tables the "
            f"schema map names ({', '.join(sorted(roles.tables.values()))})",
            tip="pass --config FILE whose [schema] section maps roles to this database's tables (docs/analytics.md)",
        )
    con = duckdb.connect()
    try:
        for role, table in roles.tables.items():
            if table in tables:
                _load(con, store, role, roles)
        yield con
    finally:
        con.close()


def _load(con: duckdb.DuckDBPyConnection, store: TableStore, role: str, roles: Roles) -> None:
    table = roles.tables[role]
    full = store.schema(table)
    cols = [(c, roles.columns[(role, c)]) for c in _NEEDED[role] if roles.columns[(role, c)] in full.names]
    if not cols:
        return
    schema = pa.schema([full.field(source) for _, source in cols])
    reader = pa.RecordBatchReader.from_batches(schema, store.read_batches(table, [s for _, s in cols]))
    con.register("src", reader)
    try:
        select = ", ".join(f"{quote_ident(source)} AS {quote_ident(name)}" for name, source in cols)
        temp = quote_ident(_TEMP[role])
        if role == "connection_event":
            sql = f"CREATE TEMP TABLE {temp} AS SELECT {select}, count(*) AS n FROM src GROUP BY ALL"  # noqa: S608
        else:
            sql = f"CREATE TEMP TABLE {temp} AS SELECT {select} FROM src"  # noqa: S608
        con.execute(sql)
    finally:
        con.unregister("src")


_ANSWERS: dict[str, dict[str, tuple[str, ...]]] = {
    "connectivity_by_model": {"connection_event": ("device", "kind"), "device": ("id", "model")},
    "connectivity_by_firmware": {"connection_event": ("device", "kind"), "device": ("id", "firmware")},
    "failures_by_error_code": {"connection_event": ("kind", "error_code")},
    "failures_by_firmware": {"connection_event": ("device", "kind"), "device": ("id", "firmware")},
    "users_by_month": {"customer": ("created_at",)},
    "devices_per_user": {"device": ("customer",)},
}


def _caveats(
    store: TableStore, manifest: Manifest | None, roles: Roles
) -> tuple[dict[str, str], dict[str, str]]:
    """Which answers this store cannot give (missing columns), and which come out coarser (manifest)."""
    tables = set(store.list_tables())
    schemas = {t: store.schema(t).names for t in roles.tables.values() if t in tables}
    actions = manifest.column_actions() if manifest else {}
    coarser: dict[str, str] = {}
    unavailable: dict[str, str] = {}
    for answer, needs in _ANSWERS.items():
        for role, role_cols in needs.items():
            table = roles.tables[role]
            cols = [roles.columns[(role, c)] for c in role_cols]
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


Query = Callable[[duckdb.DuckDBPyConnection, Roles], dict[str, Any]]


def _rates_by(column: str) -> Query:
    """Connectivity rate grouped by the device's ``model`` or ``firmware``."""
    group = quote_ident(column)

    def rates(con: duckdb.DuckDBPyConnection, roles: Roles) -> dict[str, Any]:
        sql = f"""
            SELECT d.{group} AS g,
                   coalesce(sum(e.n) FILTER (WHERE e.kind = $connect), 0) AS ok,
                   coalesce(sum(e.n) FILTER (WHERE e.kind IN ($connect, $failure)), 0) AS attempts
            FROM ev e JOIN dev d ON e.device = d.id
            GROUP BY 1 HAVING attempts > 0 ORDER BY 1
        """  # noqa: S608 - group is a quoted constant
        rows = con.sql(sql, params=_kinds(roles, "connect", "failure")).fetchall()
        return {str(g): round(ok / attempts, RATE_DIGITS) for g, ok, attempts in rows}

    return rates


def _kinds(roles: Roles, *canonical: str) -> dict[str, str]:
    return {k: roles.kind(k) for k in canonical}


def _failures(con: duckdb.DuckDBPyConnection, roles: Roles) -> dict[str, Any]:
    sql = """
        SELECT error_code, sum(n) FROM ev
        WHERE kind = $failure AND error_code IS NOT NULL GROUP BY 1 ORDER BY 1
    """
    return {str(code): int(n) for code, n in con.sql(sql, params=_kinds(roles, "failure")).fetchall()}


def _failures_by_firmware(con: duckdb.DuckDBPyConnection, roles: Roles) -> dict[str, Any]:
    sql = """
        SELECT d.firmware, sum(e.n) FROM ev e JOIN dev d ON e.device = d.id
        WHERE e.kind = $failure GROUP BY 1 ORDER BY 1
    """
    return {str(fw): int(n) for fw, n in con.sql(sql, params=_kinds(roles, "failure")).fetchall()}


def _users_by_month(con: duckdb.DuckDBPyConnection, roles: Roles) -> dict[str, Any]:
    sql = """
        SELECT strftime(CAST(created_at AS TIMESTAMP), '%Y-%m') AS m, count(*) FROM usr
        WHERE created_at IS NOT NULL GROUP BY 1 ORDER BY 1
    """
    return {str(m): int(n) for m, n in con.sql(sql).fetchall()}


def _devices_per_user(con: duckdb.DuckDBPyConnection, roles: Roles) -> dict[str, Any]:
    sql = """
        WITH per_user AS (SELECT customer, count(*) AS n FROM dev WHERE customer IS NOT NULL GROUP BY 1)
        SELECT CASE WHEN n >= 5 THEN '5+' ELSE CAST(n AS VARCHAR) END AS bucket, count(*)
        FROM per_user GROUP BY 1 ORDER BY 1
    """
    found = {str(b): int(n) for b, n in con.sql(sql).fetchall()}
    return {k: found.get(k, 0) for k in ("1", "2", "3", "4", "5+")}
