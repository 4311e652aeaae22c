"""The watcher's state and history database, one schema for SQLite and PostgreSQL.

Tables: ``stores`` (what the last probes showed), ``windows`` (every exposure window per store and finding
id; open ones have ``closed`` NULL), ``events`` (every state change) and ``alerts`` (the outbox: one row per
alert and sink with its delivery status, so a failed delivery is retried and recorded, never lost).
A probe's changes and the alerts they cause are written in one transaction, and an alert's ``key`` is unique
per sink, so a restart never alerts twice for the same transition. Nothing here ever holds a raw value:
findings are redacted before they arrive.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from dataward.watch.model import Alert, Event, StoreState, Window, contents_from_json, contents_to_json

SCHEMA_VERSION = "1"


def ddl(serial: str) -> list[str]:
    """CREATE statements; ``serial`` is the backend's auto-increment primary key type."""
    return [
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)",
        """CREATE TABLE IF NOT EXISTS stores (
            store TEXT PRIMARY KEY, target TEXT, kind TEXT, reachable INTEGER, failures INTEGER NOT NULL,
            unreachable_alerted INTEGER NOT NULL, last_probe TEXT, last_ok TEXT, last_full TEXT,
            last_secure TEXT, contents TEXT, fast_ids TEXT, extra TEXT)""",
        f"""CREATE TABLE IF NOT EXISTS windows (
            id {serial}, store TEXT NOT NULL, finding TEXT NOT NULL, rule TEXT, severity INTEGER,
            title TEXT, target TEXT, categories TEXT, last_secure TEXT, opened TEXT NOT NULL,
            last_seen TEXT, closed TEXT)""",
        "CREATE INDEX IF NOT EXISTS windows_open ON windows (store, closed)",
        f"""CREATE TABLE IF NOT EXISTS events (
            id {serial}, at TEXT NOT NULL, store TEXT NOT NULL, event TEXT NOT NULL, finding TEXT,
            severity INTEGER, detail TEXT)""",
        f"""CREATE TABLE IF NOT EXISTS alerts (
            id {serial}, key TEXT NOT NULL, sink TEXT NOT NULL, event TEXT NOT NULL, store TEXT NOT NULL,
            payload TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL, next_attempt TEXT,
            last_error TEXT, created TEXT NOT NULL, sent_at TEXT, UNIQUE (key, sink))""",
        "CREATE INDEX IF NOT EXISTS alerts_due ON alerts (status, next_attempt)",
    ]


@dataclass(frozen=True)
class OutboxRow:
    id: int
    sink: str
    event: str
    store: str
    payload: dict[str, Any]
    attempts: int


class StateDB:
    """Backend-neutral queries; subclasses connect and say how parameters and serial keys are written."""

    serial: ClassVar[str]
    placeholder: ClassVar[str] = "?"

    def __init__(self, location: str) -> None:
        self.location = location
        self.conn: Any = self._connect()
        self._init_schema()

    # ---- backend hooks -----------------------------------------------------------------------------
    def _connect(self) -> Any:
        raise NotImplementedError

    def _insert_id(self, cur: Any, sql: str, params: Sequence[Any]) -> int:
        """Insert a row and return its id."""
        raise NotImplementedError

    def _upsert_sql(self) -> str:
        raise NotImplementedError

    # ---- plumbing ----------------------------------------------------------------------------------
    def _sql(self, text: str) -> str:
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        cur = self.conn.cursor()
        try:
            yield cur
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise
        finally:
            cur.close()

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.transaction() as cur:
            cur.execute(self._sql(sql), tuple(params))
            return list(cur.fetchall())

    def _init_schema(self) -> None:
        with self.transaction() as cur:
            for statement in ddl(self.serial):
                cur.execute(statement)
            cur.execute(self._sql("SELECT value FROM meta WHERE key = ?"), ("schema",))
            if cur.fetchone() is None:
                cur.execute(self._sql("INSERT INTO meta (key, value) VALUES (?, ?)"), ("schema", SCHEMA_VERSION))

    def close(self) -> None:
        self.conn.close()

    # ---- stores ------------------------------------------------------------------------------------
    def load_states(self) -> dict[str, StoreState]:
        """Every store's last known state with its open windows."""
        states: dict[str, StoreState] = {}
        for row in self._rows(
            "SELECT store, target, kind, reachable, failures, unreachable_alerted, last_probe, last_ok,"
            " last_full, last_secure, contents, fast_ids, extra FROM stores"
        ):
            states[row[0]] = StoreState(
                store=row[0], target=row[1] or "", kind=row[2] or "",
                reachable=None if row[3] is None else bool(row[3]), failures=int(row[4]),
                unreachable_alerted=bool(row[5]), last_probe=row[6], last_ok=row[7], last_full=row[8],
                last_secure=row[9], contents=contents_from_json(row[10]),
                fast_ids=tuple(json.loads(row[11] or "[]")), extra=tuple(json.loads(row[12] or "[]")),
            )
        for w in self.windows(open_only=True):
            states.setdefault(w.store, StoreState(store=w.store)).open[w.finding] = w
        return states

    def save(self, state: StoreState, events: Iterable[Event], alerts: Iterable[Alert], sinks: dict[str, set[str]],
             now: str) -> None:
        """One probe's result: the store row, its windows, events and outbox rows, atomically.

        ``sinks`` maps a sink label to the events it wants.
        """
        with self.transaction() as cur:
            cur.execute(self._sql(self._upsert_sql()), self._store_params(state))
            self._save_windows(cur, state)
            for e in events:
                cur.execute(
                    self._sql("INSERT INTO events (at, store, event, finding, severity, detail) VALUES (?, ?, ?, ?, ?, ?)"),
                    (e.at, e.store, e.event, e.finding, e.severity, e.detail),
                )
            for a in alerts:
                for sink, wanted in sinks.items():
                    if a.event in wanted:
                        self._enqueue(cur, a, sink, now)

    def _store_params(self, s: StoreState) -> tuple[Any, ...]:
        return (
            s.store, s.target, s.kind, None if s.reachable is None else int(s.reachable), s.failures,
            int(s.unreachable_alerted), s.last_probe, s.last_ok, s.last_full, s.last_secure,
            contents_to_json(s.contents), json.dumps(list(s.fast_ids)), json.dumps(list(s.extra)),
        )

    def _save_windows(self, cur: Any, state: StoreState) -> None:
        cur.execute(self._sql("SELECT id, finding FROM windows WHERE store = ? AND closed IS NULL"), (state.store,))
        persisted = {finding: wid for wid, finding in cur.fetchall()}
        for finding, wid in persisted.items():
            w = state.open.get(finding)
            if w is None:  # gone in this probe: the window closes at its time
                cur.execute(self._sql("UPDATE windows SET closed = ? WHERE id = ?"), (state.last_probe, wid))
                continue
            cur.execute(
                self._sql("UPDATE windows SET last_seen = ?, severity = ?, categories = ?, title = ? WHERE id = ?"),
                (w.last_seen, w.severity, json.dumps(list(w.categories)), w.title, wid),
            )
            w.id = wid
        for finding, w in state.open.items():
            if finding not in persisted:
                w.id = self._insert_id(
                    cur,
                    "INSERT INTO windows (store, finding, rule, severity, title, target, categories, last_secure,"
                    " opened, last_seen, closed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                    (w.store, w.finding, w.rule, w.severity, w.title, w.target, json.dumps(list(w.categories)),
                     w.last_secure, w.opened, w.last_seen),
                )

    # ---- history -----------------------------------------------------------------------------------
    def windows(self, store: str | None = None, open_only: bool = False) -> list[Window]:
        sql = ("SELECT id, store, finding, rule, severity, title, target, categories, last_secure, opened,"
               " last_seen, closed FROM windows WHERE 1 = 1")
        params: list[Any] = []
        if store is not None:
            sql += " AND store = ?"
            params.append(store)
        if open_only:
            sql += " AND closed IS NULL"
        sql += " ORDER BY opened, store, id"
        return [
            Window(id=r[0], store=r[1], finding=r[2], rule=r[3] or "", severity=int(r[4] or 0), title=r[5] or "",
                   target=r[6] or "", categories=tuple(json.loads(r[7] or "[]")), last_secure=r[8], opened=r[9],
                   last_seen=r[10] or r[9], closed=r[11])
            for r in self._rows(sql, params)
        ]

    def events(self, store: str | None = None) -> list[Event]:
        sql = "SELECT at, store, event, finding, severity, detail FROM events"
        params: tuple[Any, ...] = ()
        if store is not None:
            sql += " WHERE store = ?"
            params = (store,)
        return [Event(*r) for r in self._rows(sql + " ORDER BY id", params)]

    # ---- alert outbox ------------------------------------------------------------------------------
    def _enqueue(self, cur: Any, alert: Alert, sink: str, now: str) -> None:
        cur.execute(self._sql("SELECT 1 FROM alerts WHERE key = ? AND sink = ?"), (alert.key, sink))
        if cur.fetchone() is not None:
            return  # this transition was already alerted to this sink (e.g. before a restart)
        cur.execute(
            self._sql(
                "INSERT INTO alerts (key, sink, event, store, payload, status, attempts, next_attempt, created)"
                " VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)"
            ),
            (alert.key, sink, alert.event, alert.store, json.dumps(alert.payload, sort_keys=True), now, now),
        )

    def due_alerts(self, now: str, limit: int = 100) -> list[OutboxRow]:
        rows = self._rows(
            "SELECT id, sink, event, store, payload, attempts FROM alerts"
            " WHERE status = 'pending' AND next_attempt <= ? ORDER BY id LIMIT ?",
            (now, limit),
        )
        return [OutboxRow(r[0], r[1], r[2], r[3], json.loads(r[4]), int(r[5])) for r in rows]

    def next_due_alert(self) -> str | None:
        rows = self._rows("SELECT min(next_attempt) FROM alerts WHERE status = 'pending'")
        return rows[0][0] if rows else None

    def mark_sent(self, alert_id: int, now: str) -> None:
        self._rows("UPDATE alerts SET status = 'sent', sent_at = ?, attempts = attempts + 1 WHERE id = ?",
                   (now, alert_id))

    def mark_failed(self, alert_id: int, error: str, next_attempt: str | None) -> None:
        """Record a failed attempt; ``next_attempt`` None gives up (status 'failed', kept for the record)."""
        status = "pending" if next_attempt else "failed"
        self._rows(
            "UPDATE alerts SET status = ?, attempts = attempts + 1, last_error = ?, next_attempt = ? WHERE id = ?",
            (status, error[:500], next_attempt, alert_id),
        )

    def alerts(self, status: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT id, sink, event, store, payload, status, attempts, last_error, created, sent_at FROM alerts"
        params: tuple[Any, ...] = ()
        if status:
            sql += " WHERE status = ?"
            params = (status,)
        keys = ("id", "sink", "event", "store", "payload", "status", "attempts", "last_error", "created", "sent_at")
        out = []
        for r in self._rows(sql + " ORDER BY id", params):
            row = dict(zip(keys, r, strict=True))
            row["payload"] = json.loads(row["payload"])
            out.append(row)
        return out
