"""The incident database: incidents, their computed artifacts and the ledgers of respond and notify.

SQLite by default (``./dataward-incidents.db``), PostgreSQL supported (``postgresql://…``). Artifacts
(the blast-radius JSON, the affected-customers Parquet, the relink list) are stored as blobs so a whole
incident lives in one place and a second machine can resume a job from the database alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dataward.errors import DatawardError
from dataward.incident.db import SqlDb, connect
from dataward.suggest import did_you_mean

DEFAULT_DB = "dataward-incidents.db"

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS incidents (
        name TEXT PRIMARY KEY, store TEXT NOT NULL, window_from TEXT NOT NULL, window_to TEXT NOT NULL,
        window_source TEXT NOT NULL, aware_at TEXT NOT NULL, finding TEXT, opened_at TEXT NOT NULL,
        source TEXT, secret TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS artifacts (
        incident TEXT NOT NULL, name TEXT NOT NULL, content {blob} NOT NULL, created_at TEXT NOT NULL,
        PRIMARY KEY (incident, name))""",
    """CREATE TABLE IF NOT EXISTS ledger (
        incident TEXT NOT NULL, step TEXT NOT NULL, unit TEXT NOT NULL, state TEXT NOT NULL,
        detail TEXT, updated_at TEXT NOT NULL, PRIMARY KEY (incident, step, unit))""",
    """CREATE TABLE IF NOT EXISTS sends (
        incident TEXT NOT NULL, user_id BIGINT NOT NULL, state TEXT NOT NULL, message_id TEXT NOT NULL,
        updated_at TEXT NOT NULL, PRIMARY KEY (incident, user_id))""",
)


def now_iso() -> str:
    return iso(datetime.now(UTC))


def iso(moment: datetime) -> str:
    """UTC, second precision, 'Z' suffix: the one timestamp form incident records use."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """ISO 8601 date or date-time; a naive one is taken as UTC. DatawardError for anything else."""
    raw = text.strip()
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise DatawardError(
            f"'{text}' is not a time", tip="write it as ISO 8601, e.g. 2019-12-04 or 2019-12-04T08:00:00Z"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_duration(value: object, default: float) -> float:
    """Seconds from '30s', '500ms', '2m' or a bare number (None gives the default)."""
    if value is None:
        return default
    text = str(value).strip().lower()
    for suffix, factor in (("ms", 0.001), ("s", 1.0), ("m", 60.0)):
        number = text[: -len(suffix)]
        if text.endswith(suffix) and number.replace(".", "", 1).isdigit():
            return float(number) * factor
    try:
        return float(text)
    except ValueError:
        raise DatawardError(f"'{value}' is not a duration", tip="write e.g. 30s, 500ms or 2m") from None


@dataclass(frozen=True)
class Incident:
    """One exposure episode of one store, with the window it was readable in."""

    name: str
    store: str  # the exposed store: its policy name or redacted URL
    window_from: str
    window_to: str
    window_source: str  # "manual" | "history:<file or db>"
    aware_at: str  # when the company learned of it (GDPR Art. 33's 72 h run from here)
    opened_at: str
    finding: str | None = None
    source: str | None = None  # production source URL used by blast-radius (only when it has no password)
    secret: str = ""  # per-incident key for verification codes; never printed

    @property
    def window(self) -> tuple[str, str]:
        return (self.window_from, self.window_to)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "store": self.store,
            "window": [self.window_from, self.window_to],
            "window_source": self.window_source,
            "aware_at": self.aware_at,
            "opened_at": self.opened_at,
            "finding": self.finding,
        }


class IncidentDB:
    """Access to the incident database; one instance per command run."""

    def __init__(self, db: SqlDb) -> None:
        self.db = db
        blob = "BYTEA" if db.kind == "postgresql" else "BLOB"
        for statement in _SCHEMA:
            db.execute(statement.replace("{blob}", blob))

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> IncidentDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # incidents -------------------------------------------------------------------------------------
    def add(self, incident: Incident) -> None:
        if self.find(incident.name) is not None:
            raise DatawardError(
                f"an incident named '{incident.name}' already exists",
                tip="choose another --name, or work on the existing one",
            )
        self.db.execute(
            "INSERT INTO incidents (name, store, window_from, window_to, window_source, aware_at, finding,"
            " opened_at, source, secret) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                incident.name,
                incident.store,
                incident.window_from,
                incident.window_to,
                incident.window_source,
                incident.aware_at,
                incident.finding,
                incident.opened_at,
                incident.source,
                incident.secret,
            ),
        )

    def find(self, name: str) -> Incident | None:
        rows = self.db.query(
            "SELECT name, store, window_from, window_to, window_source, aware_at, opened_at, finding, source,"
            " secret FROM incidents WHERE name = ?",
            (name,),
        )
        if not rows:
            return None
        r = rows[0]
        return Incident(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9])

    def get(self, name: str) -> Incident:
        incident = self.find(name)
        if incident is None:
            names = self.names()
            raise DatawardError(
                f"no incident named '{name}' in {self.db.display}.{did_you_mean(name, names)}",
                tip="list incidents with `dataward incident list`, or open one with `dataward incident open`",
            )
        return incident

    def names(self) -> list[str]:
        return [r[0] for r in self.db.query("SELECT name FROM incidents ORDER BY opened_at, name")]

    def set_source(self, name: str, source: str | None) -> None:
        self.db.execute("UPDATE incidents SET source = ? WHERE name = ?", (source, name))

    # artifacts -------------------------------------------------------------------------------------
    def put_artifact(self, incident: str, name: str, content: bytes) -> None:
        with self.db.transaction():
            self.db.execute("DELETE FROM artifacts WHERE incident = ? AND name = ?", (incident, name))
            self.db.execute(
                "INSERT INTO artifacts (incident, name, content, created_at) VALUES (?, ?, ?, ?)",
                (incident, name, content, now_iso()),
            )

    def artifact(self, incident: str, name: str) -> bytes | None:
        rows = self.db.query(
            "SELECT content FROM artifacts WHERE incident = ? AND name = ?", (incident, name)
        )
        return bytes(rows[0][0]) if rows else None

    def put_json(self, incident: str, name: str, data: Any) -> None:
        self.put_artifact(incident, name, json.dumps(data, sort_keys=True).encode())

    def json_artifact(self, incident: str, name: str) -> Any:
        raw = self.artifact(incident, name)
        return None if raw is None else json.loads(raw)

    # respond ledger --------------------------------------------------------------------------------
    def ledger_states(self, incident: str, step: str) -> dict[str, str]:
        rows = self.db.query(
            "SELECT unit, state FROM ledger WHERE incident = ? AND step = ?", (incident, step)
        )
        return {r[0]: r[1] for r in rows}

    def ledger_detail(self, incident: str, step: str) -> dict[str, str | None]:
        rows = self.db.query(
            "SELECT unit, detail FROM ledger WHERE incident = ? AND step = ?", (incident, step)
        )
        return {r[0]: r[1] for r in rows}

    def set_ledger(
        self, incident: str, step: str, units: Sequence[str], state: str, detail: str | None = None
    ) -> None:
        """Record units of a step in a state (one transaction: all of them or none)."""
        stamp = now_iso()
        with self.db.transaction():
            self.db.executemany(
                "DELETE FROM ledger WHERE incident = ? AND step = ? AND unit = ?",
                [(incident, step, u) for u in units],
            )
            self.db.executemany(
                "INSERT INTO ledger (incident, step, unit, state, detail, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                [(incident, step, u, state, detail, stamp) for u in units],
            )

    # send ledger -----------------------------------------------------------------------------------
    def send_states(self, incident: str) -> dict[int, tuple[str, str]]:
        rows = self.db.query("SELECT user_id, state, message_id FROM sends WHERE incident = ?", (incident,))
        return {int(r[0]): (r[1], r[2]) for r in rows}

    def set_send(self, incident: str, user_id: int, state: str, message_id: str) -> None:
        """Write-ahead: the state is durable before the side effect it announces happens."""
        with self.db.transaction():
            self.db.execute("DELETE FROM sends WHERE incident = ? AND user_id = ?", (incident, user_id))
            self.db.execute(
                "INSERT INTO sends (incident, user_id, state, message_id, updated_at) VALUES (?, ?, ?, ?, ?)",
                (incident, user_id, state, message_id, now_iso()),
            )

    def set_sends(self, incident: str, rows: Iterable[tuple[int, str, str]]) -> None:
        stamp = now_iso()
        items = list(rows)
        with self.db.transaction():
            self.db.executemany(
                "DELETE FROM sends WHERE incident = ? AND user_id = ?", [(incident, u) for u, _, _ in items]
            )
            self.db.executemany(
                "INSERT INTO sends (incident, user_id, state, message_id, updated_at) VALUES (?, ?, ?, ?, ?)",
                [(incident, u, s, m, stamp) for u, s, m in items],
            )


@contextmanager
def open_incident_db(url: str | None = None) -> Iterator[IncidentDB]:
    """The incident database at ``url`` (a path, sqlite:///path or postgresql://…), created if missing."""
    db = IncidentDB(connect(url or DEFAULT_DB))
    try:
        yield db
    finally:
        db.close()
