"""The watcher's state and history, in dataward's state database (:mod:`dataward.state`).

Tables (see :mod:`dataward.state.schema`): ``stores`` (what the last probes showed), ``windows`` (every exposure
window per store and finding id; open ones have ``closed`` NULL), ``events`` (every state change) and ``alerts``
(the outbox: one row per alert and sink with its delivery status, so a failed delivery is retried and recorded,
never lost). A probe's changes and the alerts they cause are written in one transaction, and an alert's ``key``
is unique per sink, so a restart never alerts twice for the same transition. Nothing here ever holds a raw
value: findings are redacted before they arrive.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select, update

from dataward.state import open_state_db, upsert
from dataward.state.schema import alerts as alerts_t
from dataward.state.schema import events as events_t
from dataward.state.schema import stores as stores_t
from dataward.state.schema import windows as windows_t
from dataward.watch.model import Alert, Event, StoreState, Window, contents_from_json, contents_to_json


def open_state(location: str, *, create: bool = True) -> StateDB:
    """The state database at a path, ``sqlite:///path`` or ``postgresql://…`` (created and migrated as needed).

    ``create=False`` refuses a location that is not already a dataward state database (for readers).
    """
    return StateDB(location, create=create)


@dataclass(frozen=True)
class OutboxRow:
    id: int
    sink: str
    event: str
    store: str
    payload: dict[str, Any]
    attempts: int


class StateDB:
    """The watcher's queries; one instance per thread of the watcher (the engine pools connections)."""

    def __init__(self, location: str, *, create: bool = True) -> None:
        self.location = location
        self.engine = open_state_db(location, create=create)

    def close(self) -> None:
        self.engine.dispose()

    # ---- stores ------------------------------------------------------------------------------------
    def load_states(self) -> dict[str, StoreState]:
        """Every store's last known state with its open windows."""
        with self.engine.begin() as conn:
            rows = conn.execute(select(stores_t)).mappings().all()
        states = {r["store"]: _store_state(r) for r in rows}
        for w in self.windows(open_only=True):
            states.setdefault(w.store, StoreState(store=w.store)).open[w.finding] = w
        return states

    def save(self, state: StoreState, events: Iterable[Event], alerts: Iterable[Alert], sinks: dict[str, set[str]],
             now: str) -> None:
        """One probe's result: the store row, its windows, events and outbox rows, atomically.

        ``sinks`` maps a sink label to the events it wants.
        """
        with self.engine.begin() as conn:
            upsert(conn, stores_t, _store_values(state), keys=["store"])
            _save_windows(conn, state)
            for e in events:
                conn.execute(events_t.insert().values(at=e.at, store=e.store, event=e.event, finding=e.finding,
                                                      severity=e.severity, detail=e.detail))
            for a in alerts:
                for sink, wanted in sinks.items():
                    if a.event in wanted:
                        _enqueue(conn, a, sink, now)

    # ---- history -----------------------------------------------------------------------------------
    def windows(self, store: str | None = None, open_only: bool = False) -> list[Window]:
        query = select(windows_t).order_by(windows_t.c.opened, windows_t.c.store, windows_t.c.id)
        if store is not None:
            query = query.where(windows_t.c.store == store)
        if open_only:
            query = query.where(windows_t.c.closed.is_(None))
        with self.engine.begin() as conn:
            return [_window(r) for r in conn.execute(query).mappings()]

    def events(self, store: str | None = None) -> list[Event]:
        c = events_t.c
        query = select(c.at, c.store, c.event, c.finding, c.severity, c.detail).order_by(c.id)
        if store is not None:
            query = query.where(c.store == store)
        with self.engine.begin() as conn:
            return [Event(*r) for r in conn.execute(query)]

    # ---- alert outbox ------------------------------------------------------------------------------
    def due_alerts(self, now: str, limit: int = 100) -> list[OutboxRow]:
        c = alerts_t.c
        query = (select(c.id, c.sink, c.event, c.store, c.payload, c.attempts)
                 .where(c.status == "pending", c.next_attempt <= now).order_by(c.id).limit(limit))
        with self.engine.begin() as conn:
            return [OutboxRow(r[0], r[1], r[2], r[3], json.loads(r[4]), int(r[5])) for r in conn.execute(query)]

    def next_due_alert(self) -> str | None:
        query = select(func.min(alerts_t.c.next_attempt)).where(alerts_t.c.status == "pending")
        with self.engine.begin() as conn:
            value = conn.execute(query).scalar()
        return None if value is None else str(value)

    def mark_sent(self, alert_id: int, now: str) -> None:
        c = alerts_t.c
        with self.engine.begin() as conn:
            conn.execute(update(alerts_t).where(c.id == alert_id)
                         .values(status="sent", sent_at=now, attempts=c.attempts + 1))

    def mark_failed(self, alert_id: int, error: str, next_attempt: str | None) -> None:
        """Record a failed attempt; ``next_attempt`` None gives up (status 'failed', kept for the record)."""
        c = alerts_t.c
        status = "pending" if next_attempt else "failed"
        with self.engine.begin() as conn:
            conn.execute(update(alerts_t).where(c.id == alert_id).values(
                status=status, attempts=c.attempts + 1, last_error=error[:500], next_attempt=next_attempt))

    def alerts(self, status: str | None = None) -> list[dict[str, Any]]:
        c = alerts_t.c
        query = select(c.id, c.sink, c.event, c.store, c.payload, c.status, c.attempts, c.last_error, c.created,
                       c.sent_at).order_by(c.id)
        if status:
            query = query.where(c.status == status)
        with self.engine.begin() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
        for row in rows:
            row["payload"] = json.loads(row["payload"])
        return rows


def _store_state(r: Any) -> StoreState:
    return StoreState(
        store=r["store"], target=r["target"] or "", kind=r["kind"] or "",
        reachable=None if r["reachable"] is None else bool(r["reachable"]), failures=int(r["failures"]),
        unreachable_alerted=bool(r["unreachable_alerted"]), last_probe=r["last_probe"], last_ok=r["last_ok"],
        last_full=r["last_full"], last_secure=r["last_secure"], contents=contents_from_json(r["contents"]),
        fast_ids=tuple(json.loads(r["fast_ids"] or "[]")), extra=tuple(json.loads(r["extra"] or "[]")),
    )


def _store_values(s: StoreState) -> dict[str, Any]:
    return {
        "store": s.store, "target": s.target, "kind": s.kind,
        "reachable": None if s.reachable is None else int(s.reachable), "failures": s.failures,
        "unreachable_alerted": int(s.unreachable_alerted), "last_probe": s.last_probe, "last_ok": s.last_ok,
        "last_full": s.last_full, "last_secure": s.last_secure, "contents": contents_to_json(s.contents),
        "fast_ids": json.dumps(list(s.fast_ids)), "extra": json.dumps(list(s.extra)),
    }


def _window(r: Any) -> Window:
    return Window(
        id=r["id"], store=r["store"], finding=r["finding"], rule=r["rule"] or "", severity=int(r["severity"] or 0),
        title=r["title"] or "", target=r["target"] or "", categories=tuple(json.loads(r["categories"] or "[]")),
        last_secure=r["last_secure"], opened=r["opened"], last_seen=r["last_seen"] or r["opened"], closed=r["closed"],
    )


def _save_windows(conn: Connection, state: StoreState) -> None:
    c = windows_t.c
    persisted = dict(conn.execute(
        select(c.finding, c.id).where(c.store == state.store, c.closed.is_(None))).tuples().all())
    for finding, wid in persisted.items():
        w = state.open.get(finding)
        if w is None:  # gone in this probe: the window closes at its time
            conn.execute(update(windows_t).where(c.id == wid).values(closed=state.last_probe))
            continue
        conn.execute(update(windows_t).where(c.id == wid).values(
            last_seen=w.last_seen, severity=w.severity, categories=json.dumps(list(w.categories)), title=w.title))
        w.id = wid
    for finding, w in state.open.items():
        if finding not in persisted:
            w.id = conn.execute(windows_t.insert().values(
                store=w.store, finding=w.finding, rule=w.rule, severity=w.severity, title=w.title, target=w.target,
                categories=json.dumps(list(w.categories)), last_secure=w.last_secure, opened=w.opened,
                last_seen=w.last_seen, closed=None,
            )).inserted_primary_key[0]  # type: ignore[index]


def _enqueue(conn: Connection, alert: Alert, sink: str, now: str) -> None:
    c = alerts_t.c
    if conn.execute(select(c.id).where(c.key == alert.key, c.sink == sink)).first() is not None:
        return  # this transition was already alerted to this sink (e.g. before a restart)
    conn.execute(alerts_t.insert().values(
        key=alert.key, sink=sink, event=alert.event, store=alert.store,
        payload=json.dumps(alert.payload, sort_keys=True), status="pending", attempts=0, next_attempt=now,
        created=now,
    ))


__all__ = ["OutboxRow", "StateDB", "open_state"]
