"""The API's documents, read from the watcher's state: ``dataward.stores/v1`` and ``dataward.history/v1``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select

from dataward.state.schema import events, stores, windows
from dataward.watch.history import history_document
from dataward.watch.model import iso
from dataward.watch.state import StateDB

STORES_SCHEMA = "dataward.stores/v1"


def stores_document(engine: Engine) -> dict[str, Any]:
    """Every watched store with its state: exposed (an open window), unreachable, protected, or unknown."""
    with engine.begin() as conn:
        rows = conn.execute(select(stores.c.store, stores.c.kind, stores.c.reachable, stores.c.last_probe,
                                   stores.c.last_secure).order_by(stores.c.store)).all()
        opened: dict[str, str] = {store: at for store, at in conn.execute(
            select(windows.c.store, func.min(windows.c.opened))
            .where(windows.c.closed.is_(None)).group_by(windows.c.store))}
        unreachable: dict[str, str] = {store: at for store, at in conn.execute(
            select(events.c.store, func.max(events.c.at))
            .where(events.c.event == "unreachable").group_by(events.c.store))}
    out = []
    for name, kind, reachable, last_probe, last_secure in rows:
        if name in opened:
            state, since = "exposed", opened[name]
        elif reachable is None:
            state, since = "unknown", None
        elif not reachable:
            state, since = "unreachable", unreachable.get(name, last_probe)
        else:
            state, since = "protected", last_secure
        out.append({"name": name, "kind": kind, "state": state, "since": since, "last_probe": last_probe})
    return {"schema": STORES_SCHEMA, "generated_at": iso(datetime.now(UTC)), "stores": out}


def history_of(db: StateDB, store: str | None) -> dict[str, Any]:
    return history_document(db.windows(store=store))
