"""A small device cloud with planted canary values, for the safe-copy tests (NumPy, deterministic).

Every sensitive value carries a unique marker so a test can grep a destination for any of them. The
categories here are what the classifier is expected to find; tests that exercise the planner's defaults
without the classifier feed them to ``build_plan`` directly.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa

from dataward.copy.plan import Classified, Plan, build_plan
from dataward.tables import open_tables
from dataward.targets import Target, parse_target

CATEGORIES: dict[str, dict[str, str]] = {
    "users": {"email": "email", "full_name": "person_name", "password_hash": "password_hash"},
    "devices": {
        "mac": "mac_address", "model": "device_model", "firmware_version": "firmware_version",
        "nickname": "device_nickname", "wifi_ssid": "wifi_ssid", "ip_address": "ip_address",
    },
    "api_tokens": {"access_token": "api_token"},
    "body_metrics": {"weight_kg": "health_metric"},
}  # fmt: skip
MODELS = np.array(["WYZEC3", "WYZECP2", "WYZEDB3"])
FIRMWARE = np.array(["4.36.11.5859", "4.36.10.100", "4.61.0.1", "4.61.2.7"])
KINDS = np.array(["connect", "disconnect", "failure"])


def cloud(users: int = 300, seed: int = 7) -> dict[str, pa.Table]:
    rng = np.random.default_rng(seed)
    uid = np.arange(1, users + 1, dtype=np.int64)
    created = np.datetime64("2020-01-01") + rng.integers(0, 900, users).astype("timedelta64[D]")
    regions = rng.choice(np.array(["US-CA", "US-TX", "US-WA", "DE-BE"]), users, p=[0.5, 0.3, 0.19, 0.01])
    tables = {
        "users": pa.table({
            "id": uid,
            "email": [f"user{i}.cnry{seed}u@example.com" for i in uid],
            "full_name": [f"Cnry Person{i}" for i in uid],
            "region": regions,
            "created_at": pa.array(created.astype("datetime64[us]")),
            "password_hash": [f"$2b$12$cnry{i:053d}" for i in uid],
        }),
    }  # fmt: skip
    per_user = rng.integers(1, 7, users)
    owner = np.repeat(uid, per_user)
    n_dev = len(owner)
    did = np.arange(1, n_dev + 1, dtype=np.int64) + 1000
    tables["devices"] = pa.table({
        "id": did,
        "user_id": owner,
        "mac": [f"2C:AA:8E:{i >> 16 & 255:02X}:{i >> 8 & 255:02X}:{i & 255:02X}" for i in did],
        "model": MODELS[rng.integers(0, len(MODELS), n_dev)],
        "firmware_version": FIRMWARE[rng.integers(0, len(FIRMWARE), n_dev)],
        "nickname": [f"Cnry{i}'s Nursery" for i in did],
        "wifi_ssid": [f"CNRYNET{i}" for i in did],
        "ip_address": [f"10.{i >> 8 & 255}.{i & 255}.{i % 200 + 7}" for i in did],
        "activated_at": pa.array((created[np.searchsorted(uid, owner)] + 1).astype("datetime64[us]")),
    })  # fmt: skip
    n_ev = n_dev * 4
    ev_dev = np.repeat(did, 4)
    kind = KINDS[rng.integers(0, 3, n_ev)]
    codes = np.where(kind == "failure", np.array(["E1004", "E2001", "E3003"])[rng.integers(0, 3, n_ev)], None)
    tables["connection_events"] = pa.table({
        "id": np.arange(1, n_ev + 1, dtype=np.int64),
        "device_id": ev_dev,
        "ts": pa.array(np.full(n_ev, np.datetime64("2024-05-01T10:11:12", "us"))),
        "kind": kind,
        "error_code": pa.array(codes.tolist(), pa.string()),
        "rssi": rng.integers(-90, -30, n_ev),
    })  # fmt: skip
    tables["api_tokens"] = pa.table({
        "id": np.arange(1, users + 1, dtype=np.int64),
        "user_id": uid,
        "access_token": [f"tok_cnry{seed}_{i:040d}" for i in uid],
    })  # fmt: skip
    tables["body_metrics"] = pa.table({
        "id": np.arange(1, 4, dtype=np.int64),
        "user_id": uid[:3],
        "weight_kg": [70.5, 81.25, 64.0],
    })  # fmt: skip
    return tables


def canaries(tables: dict[str, pa.Table]) -> set[str]:
    """Every raw sensitive value of the source, as text."""
    out: set[str] = set()
    for table, cols in CATEGORIES.items():
        for col, cat in cols.items():
            if cat in ("device_model", "firmware_version"):
                continue
            out.update(str(v) for v in tables[table].column(col).to_pylist() if v is not None)
    return out


def write_source(url: str, tables: dict[str, pa.Table]) -> Target:
    target = parse_target(url)
    with open_tables(target, create=True) as store:
        for name, table in tables.items():
            store.write_table(name, table.schema, table.to_batches())
    return target


def plan_for(target: Target) -> Plan:
    """The planner's defaults for the helper cloud, with the categories the classifier should find."""
    with open_tables(target) as store:
        schemas = {t: store.schema(t) for t in store.list_tables()}
    found = {t: {c: Classified(cat, 0.95) for c, cat in cols.items()} for t, cols in CATEGORIES.items()}
    return build_plan(schemas, found, target.display)


def dest_url(kind: str, where: Path) -> str:
    return {
        "duckdb": f"duckdb:///{where}/copy.duckdb",
        "sqlite": f"sqlite:///{where}/copy.db",
        "parquet": f"file:///{where}/copy",
    }[kind]


def source_url(kind: str, where: Path) -> str:
    return {
        "duckdb": f"duckdb:///{where}/prod.duckdb",
        "sqlite": f"sqlite:///{where}/prod.db",
        "parquet": f"file:///{where}/prod",
    }[kind]


def all_text(url: str) -> list[str]:
    """Every cell of every table of a destination as text (for canary greps)."""
    out: list[str] = []
    with open_tables(url) as store:
        for table in store.list_tables():
            for col in store.read_table(table).columns:
                out.extend(str(v) for v in col.to_pylist() if v is not None)
    return out


def snapshot(url: str) -> dict[str, list[dict[str, object]]]:
    """Every table of a store as sorted rows, for 'left as it was' comparisons."""
    with open_tables(url) as store:
        return {t: sorted(store.read_table(t).to_pylist(), key=repr) for t in store.list_tables()}


def today_plus(days: int) -> str:
    return (dt.date.today() + dt.timedelta(days=days)).isoformat()
