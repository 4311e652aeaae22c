"""The control plane's documents and actions, for the JSON API and the pages alike (library first, routes thin).

Everything works on a :class:`Plane`: the state database (the watcher's windows and stores, the incident
tables, the accounts, the audit log), the baseline file that suppressions go to, and the event bus. Readers
return plain JSON-ready dicts; actions take the acting :class:`~dataward.serve.accounts.User` and write an
audit entry (``cp_audit``) with their name. A user-caused problem is a :class:`~dataward.errors.DatawardError`
(:class:`NotFound` for an unknown finding, incident or window), which the API turns into 400/404/409.

Stable signatures (the pages call these)::

    stores_document(engine)                       -> dataward.stores/v1
    history_of(db, store)                         -> dataward.history/v1
    overview_document(plane)                      -> dataward.overview/v1
    findings_report(plane, filters)               -> Report (findings of the current filter)
    findings_document(plane, filters)             -> dataward.report/v1 (+ per finding: state, window, suppression)
    export_findings(plane, filters, fmt)          -> (text, media type): json | sarif | ocsf
    suppress_finding(plane, id, reason, expires, user) / unsuppress_finding(plane, id, user)
    incidents_document(plane)                     -> dataward.incidents/v1
    open_incident(plane, name, user, store=, window_from=, window_to=, window_id=)
    blast_radius_document(plane, name)            -> dataward.blast_radius/v1 (as `incident blast-radius --format json`)
    audit_document(plane, limit=)                 -> dataward.audit/v1
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine, func, select

from dataward.errors import DatawardError
from dataward.findings import Finding, Severity, sort_findings
from dataward.incident import ops as incident_ops
from dataward.incident.store import IncidentDB
from dataward.report.base import FORMATS
from dataward.report.model import Report, ScannedTarget
from dataward.scan.baseline import DEFAULT_DAYS, Baseline, Suppression, load_baseline, write_baseline
from dataward.serve.accounts import User
from dataward.serve.events import EventBus
from dataward.state.engine import is_sqlite, sqlite_path
from dataward.state.schema import cp_audit, events, stores, windows
from dataward.watch.history import duration_text, history_document
from dataward.watch.model import iso, parse_iso
from dataward.watch.state import StateDB

STORES_SCHEMA: Final = "dataward.stores/v1"
OVERVIEW_SCHEMA: Final = "dataward.overview/v1"
INCIDENTS_SCHEMA: Final = "dataward.incidents/v1"
AUDIT_SCHEMA: Final = "dataward.audit/v1"
FINDING_STATES: Final = ("open", "fixed", "suppressed", "all")
EXPORT_FORMATS: Final = {"json": "application/json", "sarif": "application/sarif+json",
                         "ocsf": "application/x-ndjson"}
MAX_REASON: Final = 500
MAX_SUPPRESS_DAYS: Final = 3650
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class NotFound(DatawardError):
    """The finding, incident or window asked for does not exist (404)."""


class Conflict(DatawardError):
    """The name is already taken (409)."""


@dataclass
class Plane:
    """What the API and the pages work on: the state database, the baseline file and the event bus."""

    db: StateDB
    baseline: str
    bus: EventBus = field(default_factory=EventBus)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def engine(self) -> Engine:
        return self.db.engine

    @cached_property
    def incidents(self) -> IncidentDB:
        """The incident tables of the same state database."""
        return IncidentDB(self.db.location)

    def close(self) -> None:
        """Close what the plane opened (not ``db``: its opener closes it)."""
        if "incidents" in self.__dict__:
            self.incidents.close()


def default_baseline(state: str) -> str:
    """``baseline.json`` beside a SQLite state file, else in the working directory."""
    if is_sqlite(state):
        return str(Path(sqlite_path(state)).with_name("baseline.json"))
    return "baseline.json"


# ---- stores, history, overview -------------------------------------------------------------------------------
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
    """The ``dataward.history/v1`` document (every window, or one store's)."""
    return history_document(db.windows(store=store))


def overview_document(plane: Plane, worst: int = 10) -> dict[str, Any]:
    """The overview page's data: stores by state, open windows with how long open, the worst open findings
    (suppressed ones left out), and the last probe overall and per store."""
    doc = stores_document(plane.engine)
    by_state: dict[str, list[str]] = {s: [] for s in ("exposed", "unreachable", "protected", "unknown")}
    for s in doc["stores"]:
        by_state[s["state"]].append(s["name"])
    now = datetime.now(UTC)
    open_windows = [
        {"id": w.id, "store": w.store, "finding": w.finding, "rule": w.rule, "severity": Severity(w.severity).label,
         "title": w.title, "opened": w.opened, "last_seen": w.last_seen,
         "open_seconds": max(0, int((now - parse_iso(w.opened)).total_seconds())),
         "open_for": duration_text(w.opened, None)}
        for w in plane.db.windows(open_only=True)
    ]
    open_windows.sort(key=lambda w: (w["opened"], w["store"]))
    findings = findings_document(plane, FindingFilter())["findings"]
    probes = [s["last_probe"] for s in doc["stores"] if s["last_probe"]]
    return {
        "schema": OVERVIEW_SCHEMA,
        "generated_at": iso(now),
        "counts": {state: len(names) for state, names in by_state.items()},
        "stores_by_state": by_state,
        "stores": doc["stores"],
        "open_windows": open_windows,
        "worst_findings": findings[:worst],
        "last_probe": max(probes, default=None),
    }


# ---- findings ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FindingFilter:
    """The findings filter of the API and the page: each given field must match exactly (``severity`` may
    list several, comma-separated); ``state`` is ``open`` (default: open windows, not suppressed), ``fixed``
    (the last window is closed), ``suppressed`` (by the baseline) or ``all``."""

    severity: str | None = None
    store: str | None = None
    rule: str | None = None
    category: str | None = None
    state: str = "open"

    def check(self) -> FindingFilter:
        if self.state not in FINDING_STATES:
            raise DatawardError(f"'{self.state}' is not a finding state", tip=f"states: {', '.join(FINDING_STATES)}")
        self.severities()
        return self

    def severities(self) -> set[Severity] | None:
        if not self.severity:
            return None
        return {Severity.parse(s) for s in self.severity.split(",") if s.strip()}


@dataclass
class _Row:
    finding: Finding
    window: dict[str, Any]
    state: str
    suppression: Suppression | None = None


def _rows(plane: Plane, filters: FindingFilter) -> list[_Row]:
    """One row per (store, finding id): its latest window, enriched by the last full scan's finding."""
    filters.check()
    c = windows.c
    query = select(c.id, c.store, c.finding, c.rule, c.severity, c.title, c.target, c.categories, c.opened,
                   c.last_seen, c.closed).order_by(c.id)
    if filters.state == "open":
        query = query.where(c.closed.is_(None))
    if filters.store:
        query = query.where(c.store == filters.store)
    if filters.rule:
        query = query.where(c.rule == filters.rule)
    severities = filters.severities()
    if severities:
        query = query.where(c.severity.in_(sorted(int(s) for s in severities)))
    with plane.engine.begin() as conn:
        latest: dict[tuple[str, str], Any] = {}
        for r in conn.execute(query):
            key = (r.store, r.finding)
            if key not in latest or latest[key].closed is not None:  # an open window wins, else the newest
                latest[key] = r
        wanted = {store for store, _ in latest}
        info = {s: (k, e) for s, k, e in conn.execute(select(stores.c.store, stores.c.kind, stores.c.extra))
                if s in wanted}
    full: dict[tuple[str, str], dict[str, Any]] = {}
    for store, (_, extra) in info.items():
        for e in json.loads(extra or "[]"):
            if isinstance(e, dict) and e.get("id"):
                full[(store, str(e["id"]))] = e
    baseline = _load_baseline(plane).by_id()
    today = date.today()
    out = []
    for (store, fid), r in latest.items():
        categories = json.loads(r.categories or "[]")
        if filters.category and filters.category not in categories:
            continue
        finding = _finding(store, fid, r, info.get(store, (None, None))[0], categories, full.get((store, fid)))
        s = baseline.get(fid)
        state = "open" if r.closed is None else "fixed"
        active = s is not None and s.expires >= today
        if active:
            finding = finding.model_copy(update={"suppressed": True})
        if filters.state == "suppressed" and not active:
            continue
        if filters.state in ("open", "fixed") and (active or state != filters.state):
            continue
        window = {"id": r.id, "opened": r.opened, "last_seen": r.last_seen or r.opened, "closed": r.closed}
        out.append(_Row(finding, window, "suppressed" if active else state, s))
    order = {id(f): i for i, f in enumerate(sort_findings([row.finding for row in out]))}
    out.sort(key=lambda row: order[id(row.finding)])
    return out


def _finding(store: str, fid: str, r: Any, kind: str | None, categories: list[str],
             full: dict[str, Any] | None) -> Finding:
    if full is not None:
        data = {k: v for k, v in full.items() if k != "schema"}
        data["severity"] = Severity.parse(str(data["severity"]))
        data["store_name"] = store
        data["first_seen"] = r.opened
        return Finding(**data)
    return Finding(id=fid, rule=r.rule or "", severity=Severity(int(r.severity or 0)), target=r.target or "",
                   store=kind or "", store_name=store, categories=categories, title=r.title or "",
                   first_seen=r.opened)


def findings_report(plane: Plane, filters: FindingFilter) -> Report:
    """The findings of the current filter as a :class:`~dataward.report.Report` (worst first), with the watched
    stores (or the filter's store) as its targets."""
    return _report(plane, filters)[0]


def _report(plane: Plane, filters: FindingFilter) -> tuple[Report, list[_Row]]:
    rows = _rows(plane, filters)
    with plane.engine.begin() as conn:
        found = conn.execute(select(stores.c.store, stores.c.kind, stores.c.target, stores.c.reachable)
                             .order_by(stores.c.store)).all()
    exposed = {w.store for w in plane.db.windows(open_only=True)}
    targets = [
        ScannedTarget(target=target or "", store=kind or "", name=name, reachable=bool(reachable),
                      exposed=name in exposed)
        for name, kind, target, reachable in found if not filters.store or name == filters.store
    ]
    return Report(targets=targets, findings=[row.finding for row in rows], baseline=Path(plane.baseline).name), rows


def findings_document(plane: Plane, filters: FindingFilter) -> dict[str, Any]:
    """``dataward.report/v1`` of the current filter; each finding also carries ``state`` (open, fixed,
    suppressed), ``window`` (id, opened, last_seen, closed) and ``suppression`` (reason, expires) when any."""
    report, rows = _report(plane, filters)
    doc = report.to_json()
    for item, row in zip(doc["findings"], rows, strict=True):
        item.update(_row_extra(row))
    doc["filters"] = {"severity": filters.severity, "store": filters.store, "rule": filters.rule,
                      "category": filters.category, "state": filters.state}
    return doc


def _row_extra(row: _Row) -> dict[str, Any]:
    s = row.suppression
    return {"state": row.state, "window": row.window,
            "suppression": None if s is None else {"reason": s.reason, "expires": s.expires.isoformat(),
                                                   "added": s.added.isoformat() if s.added else None}}


def export_findings(plane: Plane, filters: FindingFilter, fmt: str) -> tuple[str, str]:
    """The current filter rendered by the report formatter ``fmt`` (json, sarif, ocsf): (text, media type)."""
    if fmt not in EXPORT_FORMATS:
        raise DatawardError(f"'{fmt}' is not an export format", tip=f"formats: {', '.join(EXPORT_FORMATS)}")
    return FORMATS.get(fmt).render(findings_report(plane, filters)), EXPORT_FORMATS[fmt]


def _load_baseline(plane: Plane) -> Baseline:
    return load_baseline(plane.baseline, missing_ok=True)


def _known_finding(plane: Plane, finding_id: str) -> Finding:
    rows = [r for r in _rows(plane, FindingFilter(state="all")) if r.finding.id == finding_id]
    if not rows:
        raise NotFound(f"there is no finding '{finding_id[:40]}'", tip="GET /api/v1/findings?state=all lists them")
    return rows[0].finding


def suppress_finding(plane: Plane, finding_id: str, reason: str, expires: str | date | None,
                     user: User) -> dict[str, Any]:
    """Suppress a finding in the baseline file (``dataward.baseline/v1``) with a reason and an expiry (default
    90 days; not in the past, at most 10 years); replaces an earlier suppression of it. Audited."""
    reason = (reason or "").strip()
    if not reason:
        raise DatawardError("a suppression needs a reason")
    if len(reason) > MAX_REASON:
        raise DatawardError(f"the reason is longer than {MAX_REASON} characters")
    today = date.today()
    until = _date(expires) if expires else today + timedelta(days=DEFAULT_DAYS)
    if until < today:
        raise DatawardError(f"the expiry {until.isoformat()} is in the past")
    if until > today + timedelta(days=MAX_SUPPRESS_DAYS):
        raise DatawardError("a suppression expires within 10 years", tip="it is a decision to revisit")
    finding = _known_finding(plane, finding_id)
    entry = Suppression(id=finding.id, reason=reason, expires=until, rule=finding.rule, target=finding.target,
                        object=finding.object, added=today)
    with plane._lock:
        baseline = _load_baseline(plane)
        kept = tuple(s for s in baseline.suppressions if s.id != finding.id)
        write_baseline(Baseline((*kept, entry), plane.baseline), plane.baseline)
        record(plane.engine, user, "finding.suppress", finding.id,
               {"reason": reason, "expires": until.isoformat(), "rule": finding.rule, "store": finding.store_name})
    return {"finding": finding.id, "suppression": entry.to_json(), "baseline": Path(plane.baseline).name}


def unsuppress_finding(plane: Plane, finding_id: str, user: User) -> dict[str, Any]:
    """Remove a finding's suppression from the baseline file (it counts again). Audited."""
    with plane._lock:
        baseline = _load_baseline(plane)
        kept = tuple(s for s in baseline.suppressions if s.id != finding_id)
        if len(kept) == len(baseline.suppressions):
            raise NotFound(f"the finding '{finding_id[:40]}' is not suppressed")
        write_baseline(Baseline(kept, plane.baseline), plane.baseline)
        record(plane.engine, user, "finding.unsuppress", finding_id, {})
    return {"finding": finding_id, "suppression": None, "baseline": Path(plane.baseline).name}


def _date(value: str | date) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise DatawardError(f"'{str(value)[:40]}' is not a date", tip="write it as YYYY-MM-DD") from None


# ---- incidents -----------------------------------------------------------------------------------------------
def incidents_document(plane: Plane) -> dict[str, Any]:
    """Every incident (as `dataward incident list --format json`), with whether its blast radius is computed,
    how many customers it affects, and the response steps done."""
    db = plane.incidents
    items = []
    for name in db.names():
        item = db.get(name).to_json()
        radius = db.json_artifact(name, incident_ops.REPORT)
        item["blast_radius"] = radius is not None
        item["affected_customers"] = radius.get("affected_customers") if isinstance(radius, dict) else None
        item["steps_done"] = sorted(db.steps_done(name))
        items.append(item)
    return {"schema": INCIDENTS_SCHEMA, "incidents": items}


def open_incident(plane: Plane, name: str, user: User, *, store: str | None = None, window_from: str | None = None,
                  window_to: str | None = None, window_id: int | None = None) -> dict[str, Any]:
    """Open an incident for ``store`` from ``window_from`` to ``window_to``, or from an exposure window (its id
    in ``/api/v1/history`` and the overview; a window still open runs to now unless ``window_to`` is given).
    Uses the incident library (``dataward incident open``). Audited."""
    if not _NAME.match(name or ""):
        raise DatawardError(f"'{(name or '')[:40]}' is not an incident name",
                            tip="use up to 64 letters, digits and . _ -, starting with a letter or digit")
    if window_id is not None:
        found = [w for w in plane.db.windows() if w.id == window_id]
        if not found:
            raise NotFound(f"there is no exposure window {window_id}")
        w = found[0]
        if store is not None and store != w.store:
            raise DatawardError(f"the window {window_id} is of store '{w.store}', not '{store}'")
        store, window_from = w.store, window_from or w.opened
        window_to = window_to or w.closed or iso(datetime.now(UTC))
    if not store:
        raise DatawardError("an incident needs a store", tip='send {"name", "store", "from", "to"} or "window"')
    if plane.incidents.find(name) is not None:
        raise Conflict(f"an incident named '{name}' already exists")
    incident = incident_ops.open_incident(plane.incidents, name, store, window_from, window_to)
    record(plane.engine, user, "incident.open", incident.name,
           {"store": incident.store, "from": incident.window_from, "to": incident.window_to, "window": window_id})
    return incident.to_json()


def blast_radius_document(plane: Plane, name: str) -> dict[str, Any]:
    """The stored ``dataward.blast_radius/v1`` of an incident: the document `dataward incident blast-radius
    --format json` printed when it was computed."""
    db = plane.incidents
    if db.find(name) is None:
        raise NotFound(f"there is no incident '{name[:64]}'")
    radius = db.json_artifact(name, incident_ops.REPORT)
    if radius is None:
        raise NotFound(f"incident '{name}' has no blast radius yet",
                       tip=f"run `dataward incident blast-radius {name} --source URL --db STATE` first")
    return dict(radius)


# ---- audit ---------------------------------------------------------------------------------------------------
def record(engine: Engine, user: User, action: str, subject: str, detail: dict[str, Any]) -> None:
    """Append an audit entry (who, what, to what, the request's fields) to ``cp_audit``."""
    with engine.begin() as conn:
        conn.execute(cp_audit.insert().values(at=iso(datetime.now(UTC)), user_name=user.name, action=action,
                                              subject=subject, detail=json.dumps(detail, sort_keys=True)))


def audit_document(plane: Plane, limit: int = 200) -> dict[str, Any]:
    """The latest audit entries, newest first."""
    c = cp_audit.c
    query = select(c.id, c.at, c.user_name, c.action, c.subject, c.detail).order_by(c.id.desc()).limit(limit)
    with plane.engine.begin() as conn:
        rows = conn.execute(query).all()
    return {"schema": AUDIT_SCHEMA, "entries": [
        {"id": r.id, "at": r.at, "user": r.user_name, "action": r.action, "subject": r.subject,
         "detail": json.loads(r.detail)} for r in rows]}
