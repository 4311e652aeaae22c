"""Shared data for the incident tests: a small generated device cloud written to real stores, and copies.

Not a test module: test_incident_*.py import from it. Everything is derived from the generator
(``DeviceCloud(USERS, SEED)``), so a brute-force recomputation can read the same rows in plain Python.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from dataward.devicecloud.generate import DeviceCloud
from dataward.devicecloud.schema import TABLE_NAMES
from dataward.tables import open_tables

USERS = 2000
SEED = 7
TABLES_EXPOSED = ("users", "devices", "api_tokens", "integrations", "body_metrics", "connection_events")


def cloud_tables(users: int = USERS, seed: int = SEED) -> dict[str, pa.Table]:
    dc = DeviceCloud(users, seed)
    return {t: dc.table(t) for t in TABLE_NAMES}


def write_store(url: str, tables: dict[str, pa.Table]) -> str:
    with open_tables(url, create=True) as db:
        for name, table in tables.items():
            db.write_table(name, table.schema, table.to_batches())
    return url


def exposed_copy(
    prod: dict[str, pa.Table],
    columns: dict[str, list[str]],
    keep: Callable[[str, pa.Table], pa.Array] | None = None,
) -> dict[str, pa.Table]:
    """A copy holding some columns of some tables and, with ``keep``, only some of their rows."""
    out = {}
    for name, cols in columns.items():
        table = prod[name].select(cols)
        if keep is not None:
            table = table.filter(keep(name, prod[name]))
        out[name] = table
    return out


def users_up_to(last: int) -> Callable[[str, pa.Table], pa.Array]:
    """``exposed_copy``'s ``keep`` for the customers with ids up to ``last`` (users by id, others by user_id)."""
    return lambda name, table: pc.less_equal(table["id" if name == "users" else "user_id"], last)


def every_other_user(name: str, table: pa.Table) -> pa.Array:
    """Rows of even customers only (users by id, other tables by user_id; events: every third event)."""
    if name == "users":
        return pc.equal(pc.bit_wise_and(table["id"], 1), 0)
    if "user_id" in table.column_names:
        return pc.equal(pc.bit_wise_and(table["user_id"], 1), 0)
    return pa.array(table["id"].to_numpy() % 3 == 0)


CREATION = {
    "users": "created_at",
    "devices": "activated_at",
    "api_tokens": "issued_at",
    "integrations": "linked_at",
    "body_metrics": "measured_at",
    "connection_events": "ts",
}


def brute_force(
    prod: dict[str, pa.Table],
    exposed: dict[str, dict[str, tuple[str, ...]]],
    exposed_ids: dict[str, set[int] | None],
    window_end: datetime,
) -> dict[int, set[str]]:
    """Plain-Python recomputation of the blast radius: customer -> the fields exposed for them."""
    device_owner = {r["id"]: r["user_id"] for r in prod["devices"].to_pylist()}
    flags: dict[int, set[str]] = {}
    for name, cols in exposed.items():
        if not any(cols.values()):
            continue
        ids = exposed_ids.get(name)
        for row in prod[name].to_pylist():
            if ids is not None and row["id"] not in ids:
                continue
            created = row.get(CREATION[name])
            if created is not None and created > window_end:
                continue
            if name == "users":
                user = row["id"]
            elif "user_id" in row:
                user = row["user_id"]
            else:
                user = device_owner[row["device_id"]]
            for col, cats in cols.items():
                value = row[col]
                if value is None or value == "":
                    continue
                if "alexa_token" in cats and len(cats) > 1:
                    other = next(c for c in cats if c != "alexa_token")
                    flags.setdefault(user, set()).add(
                        "alexa_token" if str(value).startswith(("Atza|", "Atzr|")) else other
                    )
                else:
                    flags.setdefault(user, set()).update(cats)
    created = {r["id"]: r["created_at"] for r in prod["users"].to_pylist()}
    return {u: f for u, f in flags.items() if f and created[u] <= window_end}


def computed_flags(affected: pa.Table, fields: Iterable[str]) -> dict[int, set[str]]:
    rows = affected.to_pylist()
    return {r["user_id"]: {f for f in fields if r[f]} for r in rows}


def all_text(paths: Iterable[Path]) -> str:
    out = []
    for p in paths:
        if p.is_file():
            out.append(p.read_bytes().decode("utf-8", "replace"))
    return "\n".join(out)


NOTES_CLASSIFICATION = {
    "schema": "dataward.classification/v1",
    "objects": [
        {"object": "scratch", "columns": [{"name": "email", "categories": [{"id": "email"}]}]},
        {"object": "users", "columns": [{"name": "email", "categories": [{"id": "email"}]},
                                        {"name": "email_old", "categories": [{"id": "email"}]}]},
        {"object": "body_metrics", "columns": [{"name": "weight_kg", "categories": [{"id": "health_metric"}]}]},
        {"object": "devices", "columns": [{"name": "wifi_ssid", "categories": [{"id": "wifi_ssid"}]}]},
    ],
}
EXPECTED_NOTES = [
    "scratch: plays no role in the schema map, so its rows cannot be tied to customers",
    "users: columns email_old are not in production; counted as not exposed",
    "body_metrics: not in the production source, so its rows cannot be tied to customers",
    "devices: production has no column user_id, rows cannot be tied to customers",
]


def notes_case(prod: dict[str, pa.Table], root: Path) -> tuple[str, Path]:
    """A production source without body_metrics and with devices missing its customer column, and a
    classification naming a table of no role, a column production lacks, and those two tables."""
    tables = {n: t for n, t in prod.items() if n != "body_metrics"}
    tables["devices"] = tables["devices"].drop_columns(["user_id"])
    path = root / "notes.json"
    path.write_text(json.dumps(NOTES_CLASSIFICATION))
    return write_store(f"file://{root}/prod_notes", tables), path  # a Parquet folder: both engines read it
