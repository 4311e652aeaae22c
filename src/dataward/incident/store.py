"""The incident database: incidents, their computed artifacts and the ledgers of respond and notify.

The tables live in dataward's state database (:mod:`dataward.state`): SQLite by default
(``./dataward-incidents.db``, created 0600: it holds each incident's secret), PostgreSQL supported
(``postgresql://…``). Artifacts (the blast-radius JSON, the affected-customers Parquet, the relink list) are stored as blobs so a whole
incident lives in one place and a second machine can resume a job from the database alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from dataward.errors import DatawardError
from dataward.state import display, open_state_db, upsert
from dataward.state.schema import artifacts, incidents, ledger, sends
from dataward.suggest import did_you_mean

DEFAULT_DB = "dataward-incidents.db"


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
    """Access to the incident tables of a state database (:mod:`dataward.state`); one instance per command run."""

    def __init__(self, location: str) -> None:
        self.display = display(location)
        self.engine = open_state_db(location)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> IncidentDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # incidents -------------------------------------------------------------------------------------
    def add(self, incident: Incident) -> None:
        with self.engine.begin() as conn:
            if conn.execute(select(incidents.c.name).where(incidents.c.name == incident.name)).first():
                raise DatawardError(
                    f"an incident named '{incident.name}' already exists",
                    tip="choose another --name, or work on the existing one",
                )
            conn.execute(incidents.insert().values(**asdict(incident)))

    def find(self, name: str) -> Incident | None:
        with self.engine.begin() as conn:
            row = conn.execute(select(incidents).where(incidents.c.name == name)).mappings().first()
        return None if row is None else Incident(**row)

    def get(self, name: str) -> Incident:
        incident = self.find(name)
        if incident is None:
            names = self.names()
            raise DatawardError(
                f"no incident named '{name}' in {self.display}.{did_you_mean(name, names)}",
                tip="list incidents with `dataward incident list`, or open one with `dataward incident open`",
            )
        return incident

    def names(self) -> list[str]:
        query = select(incidents.c.name).order_by(incidents.c.opened_at, incidents.c.name)
        with self.engine.begin() as conn:
            return list(conn.execute(query).scalars())

    def set_source(self, name: str, source: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(incidents).where(incidents.c.name == name).values(source=source))

    # artifacts -------------------------------------------------------------------------------------
    def put_artifact(self, incident: str, name: str, content: bytes) -> None:
        self.put_artifacts(incident, {name: content})

    def put_artifacts(self, incident: str, contents: dict[str, bytes]) -> None:
        """Several artifacts in one transaction: all of them are kept, or none."""
        with self.engine.begin() as conn:
            for name, content in contents.items():
                upsert(conn, artifacts, {"incident": incident, "name": name, "content": content,
                                         "created_at": now_iso()}, keys=["incident", "name"])

    def artifact(self, incident: str, name: str) -> bytes | None:
        c = artifacts.c
        with self.engine.begin() as conn:
            raw = conn.execute(select(c.content).where(c.incident == incident, c.name == name)).scalar()
        return None if raw is None else bytes(raw)

    def put_json(self, incident: str, name: str, data: Any) -> None:
        self.put_artifact(incident, name, json.dumps(data, sort_keys=True).encode())

    def json_artifact(self, incident: str, name: str) -> Any:
        raw = self.artifact(incident, name)
        return None if raw is None else json.loads(raw)

    # respond ledger --------------------------------------------------------------------------------
    def ledger_states(self, incident: str, step: str) -> dict[str, str]:
        with self.engine.begin() as conn:
            return {unit: state for unit, state, _ in conn.execute(_LEDGER, {"incident": incident, "step": step})}

    def ledger_rows(self, incident: str, step: str) -> dict[str, tuple[str, str | None]]:
        """Each unit's (state, detail), read at once."""
        with self.engine.begin() as conn:
            rows = conn.execute(_LEDGER, {"incident": incident, "step": step})
            return {unit: (state, detail) for unit, state, detail in rows}

    def ledger_detail(self, incident: str, step: str) -> dict[str, str | None]:
        with self.engine.begin() as conn:
            return {unit: detail for unit, _, detail in conn.execute(_LEDGER, {"incident": incident, "step": step})}

    def steps_done(self, incident: str) -> list[str]:
        """Steps of the response with at least one unit done (in no particular order)."""
        c = ledger.c
        query = select(c.step).distinct().where(c.incident == incident, c.state == "done")
        with self.engine.begin() as conn:
            return [str(step) for step in conn.execute(query).scalars()]

    def set_ledger(
        self, incident: str, step: str, units: Sequence[str], state: str, detail: str | None = None
    ) -> None:
        """Record units of a step in a state (one transaction: all of them or none)."""
        stamp = now_iso()
        rows = [{"incident": incident, "step": step, "unit": u, "state": state, "detail": detail, "updated_at": stamp}
                for u in units]
        with self.engine.begin() as conn:
            upsert(conn, ledger, rows, keys=["incident", "step", "unit"])

    def claim_unit(self, incident: str, step: str, unit: str, owner: str, seen: tuple[str, str | None] | None) -> bool:
        """Compare-and-set before a unit's side effects: the unit becomes ``claimed`` by ``owner`` only if its
        row is still as this run read it (``seen``: its (state, detail), or None when it had none). False when
        another run claimed or finished it meanwhile (one statement: two runs at once cannot both win)."""
        c = ledger.c
        values = {"state": CLAIMED, "detail": owner, "updated_at": now_iso()}
        with self.engine.begin() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            if seen is None:
                statement: Any = dialect.insert(ledger).values(incident=incident, step=step, unit=unit, **values) \
                    .on_conflict_do_nothing(index_elements=["incident", "step", "unit"])
            else:
                statement = update(ledger).where(c.incident == incident, c.step == step, c.unit == unit,
                                                 c.state == seen[0], _same(c.detail, seen[1])).values(**values)
            return conn.execute(statement.returning(c.unit)).first() is not None  # rowcount varies by driver

    def release_unit(self, incident: str, step: str, unit: str, owner: str) -> None:
        """Drop ``owner``'s claim on a unit it did not finish (a run stopped by an error): the next run does it."""
        c = ledger.c
        with self.engine.begin() as conn:
            conn.execute(delete(ledger).where(c.incident == incident, c.step == step, c.unit == unit,
                                              c.state == CLAIMED, c.detail == owner))

    # send ledger -----------------------------------------------------------------------------------
    def send_states(self, incident: str) -> dict[int, tuple[str, str]]:
        with self.engine.begin() as conn:
            return {int(u): (s, m) for u, s, m in conn.execute(_SENDS, {"incident": incident})}

    def set_send(self, incident: str, user_id: int, state: str, message_id: str) -> None:
        """Write-ahead: the state is durable before the side effect it announces happens."""
        self.set_sends(incident, [(user_id, state, message_id)])

    def set_sends(self, incident: str, rows: Iterable[tuple[int, str, str]]) -> None:
        stamp = now_iso()
        batch = [{"incident": incident, "user_id": int(u), "state": s, "message_id": m, "updated_at": stamp}
                 for u, s, m in rows]
        with self.engine.begin() as conn:
            upsert(conn, sends, batch, keys=["incident", "user_id"])

    def claim_sends(self, incident: str, state: str,
                    rows: Iterable[tuple[int, str, tuple[str, str] | None]]) -> set[int]:
        """Write-ahead that another run cannot overtake: each (user id, message id, its (state, message id) as
        this run read it, or None) becomes ``state`` only if its row is still as read; a row another run
        claimed or sent meanwhile is left alone. The user ids claimed (one transaction)."""
        stamp, claimed = now_iso(), set()
        c = sends.c
        with self.engine.begin() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            for user_id, message_id, seen in rows:
                values = {"state": state, "message_id": message_id, "updated_at": stamp}
                if seen is None:
                    statement: Any = dialect.insert(sends).values(incident=incident, user_id=int(user_id), **values) \
                        .on_conflict_do_nothing(index_elements=["incident", "user_id"])
                else:
                    statement = update(sends).where(c.incident == incident, c.user_id == int(user_id),
                                                    c.state == seen[0], c.message_id == seen[1]).values(**values)
                if conn.execute(statement.returning(c.user_id)).first() is not None:  # rowcount varies by driver
                    claimed.add(int(user_id))
        return claimed


CLAIMED = "claimed"  # a respond unit in flight; its detail is the owning run's id


def _same(column: Any, value: str | None) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value


# Built once: the ledgers are read and written per batch or per customer, where building a statement costs
# more than running it.
_LEDGER = select(ledger.c.unit, ledger.c.state, ledger.c.detail).where(
    ledger.c.incident == bindparam("incident"), ledger.c.step == bindparam("step"))
_SENDS = select(sends.c.user_id, sends.c.state, sends.c.message_id).where(sends.c.incident == bindparam("incident"))


@contextmanager
def open_incident_db(url: str | None = None) -> Iterator[IncidentDB]:
    """The incident database at ``url`` (a path, sqlite:///path or postgresql://…), created if missing."""
    db = IncidentDB(url or DEFAULT_DB)
    try:
        yield db
    finally:
        db.close()
