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
    findings_document(plane, filters)             -> dataward.report/v1 (+ per finding: state, window, suppression;
                                                     + next: the cursor of the next page)
    export_findings(plane, filters, fmt)          -> (text, media type): json | sarif | ocsf
    suppress_finding(plane, id, reason, expires, user) / unsuppress_finding(plane, id, user)
    incidents_document(plane)                     -> dataward.incidents/v1
    incident_document(plane, name)                -> dataward.incident/v1 (obligations, respond and notify progress,
                                                     their latest jobs)
    open_incident(plane, name, user, store=, window_from=, window_to=, window_id=)
    blast_radius_document(plane, name)            -> dataward.blast_radius/v1 (as `incident blast-radius --format json`)
    audit_document(plane, limit=)                 -> dataward.audit/v1
    audit_log_status(plane, incident=)            -> the incident audit log's verification (dataward.audit_verify/v2+)
    copies_of(state, now, refresh=)               -> (read at, dataward copy manifests, stores read): cached a minute
    settings_document(plane, policy, admin=)      -> dataward.settings/v1 (effective policy redacted, sinks labelled)
    compute_blast_radius(plane, name, user, exposed=, classification=)
                                                  -> dataward.blast_radius/v1, computed from `serve --source`
    build_lookup_site(plane, name, user)          -> the incident's lookup site, built (shape and counts)
    send_test_alert(plane, policy, index, user, now) -> the test alert's payload (DeliveryFailed: 502)
"""

from __future__ import annotations

import base64
import json
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine, and_, func, or_, select

from dataward.errors import DatawardError
from dataward.findings import Finding, Severity
from dataward.incident import ops as incident_ops
from dataward.incident.progress import Progress
from dataward.incident.store import IncidentDB
from dataward.report.base import FORMATS
from dataward.report.model import Report, ScannedTarget
from dataward.scan.baseline import DEFAULT_DAYS, Baseline, Suppression, load_baseline, write_baseline
from dataward.schemamap import SchemaMap
from dataward.serve import accounts, pages_data
from dataward.serve.accounts import User
from dataward.serve.events import EventBus
from dataward.serve.jobs import RUNNING, Job, JobRunner
from dataward.state.engine import is_sqlite, sqlite_path
from dataward.state.schema import cp_audit, events, ledger, sends, stores, windows
from dataward.watch.history import duration_text, history_document
from dataward.watch.model import iso, parse_iso
from dataward.watch.state import StateDB

STORES_SCHEMA: Final = "dataward.stores/v1"
OVERVIEW_SCHEMA: Final = "dataward.overview/v1"
INCIDENTS_SCHEMA: Final = "dataward.incidents/v1"
INCIDENT_SCHEMA: Final = "dataward.incident/v1"
AUDIT_SCHEMA: Final = "dataward.audit/v1"
FINDING_STATES: Final = ("open", "fixed", "suppressed", "all")
EXPORT_FORMATS: Final = {"json": "application/json", "sarif": "application/sarif+json",
                         "ocsf": "application/x-ndjson"}
MAX_REASON: Final = 500
MAX_OFFSET: Final = 10**9  # a findings page's offset (the API's bound; the pages' page numbers too)
MAX_SUPPRESS_DAYS: Final = 3650
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class NotFound(DatawardError):
    """The finding, incident or window asked for does not exist (404)."""


class Conflict(DatawardError):
    """The name is already taken (409)."""


class DeliveryFailed(DatawardError):
    """An alert sink refused or could not be reached (502)."""


@dataclass(frozen=True)
class StepSettings:
    """Where the incident steps run from the control plane take their inputs (`dataward serve`'s options): the
    response playbook (`incident respond --playbook`), the mail server and notice settings (`incident notify
    --smtp --template --sender --company --lookup-address`) and the incident audit log's signing key."""

    playbook: str | None = None
    smtp: str | None = field(default=None, repr=False)  # may carry a password: never shown unredacted
    template_dir: str | None = None
    sender: str = "security@example.com"
    company: str = "our"
    lookup_address: str | None = None
    signing_key: str | None = None


@dataclass
class Plane:
    """What the API and the pages work on: the state database, the baseline file and the event bus."""

    db: StateDB
    baseline: str
    bus: EventBus = field(default_factory=EventBus)
    watch: str = "off"  # "running" (the watch engine in this process), "external" (history polled), "off"
    watch_alive: Callable[[], bool] | None = field(default=None, repr=False)
    audit_log: str | None = None  # the incident audit log (`incident respond/notify --audit-log`); None: not set
    audit_public_key: str | None = None  # the signer's public key, kept away from the log
    audit_key_fingerprint: str | None = None  # or a pinned fingerprint
    lookup_dir: str | None = None  # where incidents' lookup sites are built (one folder each); None: the default
    source: str | None = field(default=None, repr=False)  # production source (`serve --source`); never shown raw
    schema: SchemaMap | None = field(default=None, repr=False)  # its [schema] map; None: the reference one
    steps: StepSettings = field(default_factory=StepSettings)  # respond and notify (dataward.serve.steps)
    jobs: JobRunner = field(default_factory=JobRunner, repr=False)  # their background jobs
    _verified: dict[tuple[Any, ...], dict[str, Any]] = field(default_factory=dict, repr=False)
    _walked: dict[tuple[Any, ...], tuple[float, dict[str, Any]]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def watch_state(self) -> str:
        """``running``, ``stopped`` (the engine in this process ended), ``external`` or ``off``."""
        if self.watch == "running" and self.watch_alive is not None and not self.watch_alive():
            return "stopped"
        return self.watch

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


def default_lookup_dir(state: str) -> str:
    """``lookup/`` beside a SQLite state file, else in the working directory."""
    if is_sqlite(state):
        return str(Path(sqlite_path(state)).with_name("lookup"))
    return "lookup"


def default_baseline(state: str) -> str:
    """``baseline.json`` beside a SQLite state file, else in the working directory."""
    if is_sqlite(state):
        return str(Path(sqlite_path(state)).with_name("baseline.json"))
    return "baseline.json"


# ---- stores, history, overview -------------------------------------------------------------------------------
def stores_document(engine: Engine, opened: dict[str, str] | None = None) -> dict[str, Any]:
    """Every watched store with its state: exposed (an open window), unreachable, protected, or unknown.
    ``opened``: each exposed store's oldest open window, when the caller has it already (the overview)."""
    with engine.begin() as conn:
        rows = conn.execute(select(stores.c.store, stores.c.kind, stores.c.reachable, stores.c.last_probe,
                                   stores.c.last_secure).order_by(stores.c.store)).all()
        if opened is None:
            opened = {store: at for store, at in conn.execute(
                select(windows.c.store, func.min(windows.c.opened))
                .where(windows.c.closed.is_(None)).group_by(windows.c.store))}
        unreachable: dict[str, str] = {store: at for store, at in conn.execute(
            select(events.c.store, func.max(events.c.at))
            .where(events.c.event == "unreachable").group_by(events.c.store))}
    out = []
    for name, kind, reachable, last_probe, last_secure in rows:
        state, since = pages_data.state_of(name, reachable, last_probe, last_secure, opened, unreachable)
        out.append({"name": name, "kind": kind, "state": state, "since": since, "last_probe": last_probe})
    return {"schema": STORES_SCHEMA, "generated_at": iso(datetime.now(UTC)), "stores": out}


def history_of(db: StateDB, store: str | None) -> dict[str, Any]:
    """The ``dataward.history/v1`` document (every window, or one store's)."""
    return history_document(db.windows(store=store))


def overview_document(plane: Plane, worst: int = 10, windows_shown: int = 100) -> dict[str, Any]:
    """The overview page's data: stores by state; per exposed store its exposure (``store_windows``: since
    when, how long, how many findings, and ``window_id``, the window to open an incident from); the oldest open
    finding windows (``open_windows``, at most ``windows_shown``, of ``open_windows_total``); the worst open
    findings (suppressed ones left out); the last probe overall and per store; the watch engine's state
    (``running``, ``stopped``, ``external``: a watcher elsewhere, or ``off``)."""
    now = datetime.now(UTC)

    def since(opened: str) -> dict[str, Any]:
        return {"open_seconds": max(0, int((now - parse_iso(opened)).total_seconds())),
                "open_for": duration_text(opened, None)}

    c = windows.c
    is_open = c.closed.is_(None)
    with plane.engine.begin() as conn:
        oldest = conn.execute(select(c.id, c.store, c.finding, c.rule, c.severity, c.title, c.opened, c.last_seen)
                              .where(is_open).order_by(c.opened, c.store, c.id).limit(windows_shown)).all()
        # per store: since when, how bad, how many; its first window (the watcher inserts windows as they open)
        heads = conn.execute(select(c.store, func.min(c.opened).label("opened"), func.max(c.severity).label("worst"),
                                    func.count().label("findings"), func.min(c.id).label("id"))
                             .where(is_open).group_by(c.store)).all()
        titles = {i: (rule, title) for i, rule, title in
                  conn.execute(select(c.id, c.rule, c.title).where(c.id.in_([h.id for h in heads])))}
    total = sum(int(h.findings) for h in heads)
    doc = stores_document(plane.engine, opened={h.store: h.opened for h in heads})
    by_state: dict[str, list[str]] = {s: [] for s in ("exposed", "unreachable", "protected", "unknown")}
    for s in doc["stores"]:
        by_state[s["state"]].append(s["name"])
    store_windows = [
        {"store": h.store, "window_id": h.id, "opened": h.opened, **since(h.opened),
         "severity": Severity(int(h.worst or 0)).label, "findings": int(h.findings), "rule": titles[h.id][0],
         "title": titles[h.id][1]}
        for h in sorted(heads, key=lambda h: (h.opened, h.store))
    ]
    open_windows = [
        {"id": w.id, "store": w.store, "finding": w.finding, "rule": w.rule,
         "severity": Severity(int(w.severity or 0)).label, "title": w.title, "opened": w.opened,
         "last_seen": w.last_seen, **since(w.opened)}
        for w in oldest
    ]
    findings = findings_document(plane, FindingFilter(limit=worst))["findings"]
    probes = [s["last_probe"] for s in doc["stores"] if s["last_probe"]]
    return {
        "schema": OVERVIEW_SCHEMA,
        "generated_at": iso(now),
        "counts": {state: len(names) for state, names in by_state.items()},
        "stores_by_state": by_state,
        "stores": doc["stores"],
        "store_windows": store_windows,
        "open_windows": open_windows,
        "open_windows_total": int(total),
        "worst_findings": findings,
        "last_probe": max(probes, default=None),
        "watch": plane.watch_state(),
    }


def overview_now(doc: dict[str, Any], plane: Plane) -> dict[str, Any]:
    """An overview document (perhaps cached while the state is unchanged) with its time-dependent fields
    computed afresh: ``generated_at``, the windows' ``open_seconds`` and ``open_for``, the watch state."""
    now = datetime.now(UTC)

    def aged(w: dict[str, Any]) -> dict[str, Any]:
        return {**w, "open_seconds": max(0, int((now - parse_iso(w["opened"])).total_seconds())),
                "open_for": duration_text(w["opened"], None)}

    return {**doc, "generated_at": iso(now), "store_windows": [aged(w) for w in doc["store_windows"]],
            "open_windows": [aged(w) for w in doc["open_windows"]], "watch": plane.watch_state()}


# ---- findings ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FindingFilter:
    """The findings filter of the API and the page: each given field must match exactly (``severity`` may
    list several, comma-separated); ``state`` is ``open`` (default: open windows, not suppressed), ``fixed``
    (the last window is closed), ``suppressed`` (by the baseline) or ``all``. ``limit`` and ``offset`` page
    through the result (worst first); the document's ``total`` and ``summary`` count the whole filter.
    ``cursor`` (the ``next`` of the page before, instead of ``offset``) continues after that page's last row:
    keyset paging, as cheap on the thousandth page as on the first, and stable while findings arrive."""

    severity: str | None = None
    store: str | None = None
    rule: str | None = None
    category: str | None = None
    state: str = "open"
    limit: int | None = None
    offset: int = 0
    cursor: str | None = None

    def check(self) -> FindingFilter:
        if self.state not in FINDING_STATES:
            raise DatawardError(f"'{self.state}' is not a finding state", tip=f"states: {', '.join(FINDING_STATES)}")
        if (self.limit is not None and self.limit < 0) or self.offset < 0:
            raise DatawardError("limit and offset cannot be negative")
        if self.offset > MAX_OFFSET or (self.limit is not None and self.limit > MAX_OFFSET):
            raise DatawardError("that page is past the last one", tip="the first page has the total; or follow `next`")
        if self.cursor is not None and self.offset:
            raise DatawardError("give cursor or offset, not both", tip="cursor continues where the last page ended")
        self.severities()
        self.after()
        return self

    def after(self) -> SortKey | None:
        """The sort key the cursor continues after (None without a cursor)."""
        return None if self.cursor is None else decode_cursor(self.cursor)

    def severities(self) -> set[Severity] | None:
        if not self.severity:
            return None
        return {Severity.parse(s) for s in self.severity.split(",") if s.strip()}

    def as_json(self) -> dict[str, Any]:
        return {"severity": self.severity, "store": self.store, "rule": self.rule, "category": self.category,
                "state": self.state, "limit": self.limit, "offset": self.offset, "cursor": self.cursor}


SortKey = tuple[int, str, int]  # a findings row's place in the order: (severity, store, window id)


def encode_cursor(key: SortKey) -> str:
    """An opaque cursor: the sort key of a page's last row, as unpadded base64url JSON."""
    return base64.urlsafe_b64encode(json.dumps(list(key), separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> SortKey:
    """The sort key inside a cursor :func:`encode_cursor` made; anything else is a one-sentence error."""
    try:
        severity, store, window = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if (isinstance(severity, int) and isinstance(store, str) and isinstance(window, int)
                and 0 <= severity <= 100 and 0 <= window < 2**63):  # within SQL's integers
            return severity, store, window
    except (ValueError, TypeError):
        pass
    raise DatawardError("the cursor is not one this server gave", tip="use the `next` of the page before, as is")


def _key(row: Any) -> SortKey:
    return int(row.severity or 0), row.store, int(row.id)


def _rank(key: SortKey) -> tuple[int, str, int]:
    """A sort key in ascending order of the list (worst first, then by store, oldest first)."""
    return -key[0], key[1], key[2]


def _after_sql(query: Any, key: SortKey) -> Any:
    """Rows after ``key`` in the order ``_ORDER``: a keyset condition the windows_by_state index serves."""
    c, (severity, store, window) = windows.c, key
    return query.where(or_(c.severity < severity, and_(c.severity == severity, or_(
        c.store > store, and_(c.store == store, c.id > window)))))


@dataclass(frozen=True)
class _Light:
    """One (store, finding id) of the filter: its latest window's row, its state and suppression."""

    row: Any
    state: str
    suppression: Suppression | None

    @property
    def window(self) -> dict[str, Any]:
        r = self.row
        return {"id": r.id, "opened": r.opened, "last_seen": r.last_seen or r.opened, "closed": r.closed}


@dataclass
class _Row:
    finding: Finding
    light: _Light


_COLUMNS = (windows.c.id, windows.c.store, windows.c.finding, windows.c.rule, windows.c.severity, windows.c.title,
            windows.c.target, windows.c.categories, windows.c.opened, windows.c.last_seen, windows.c.closed)
_ORDER = (windows.c.severity.desc(), windows.c.store, windows.c.id)  # worst first, by store, oldest first
_MAX_SQL_IDS = 500  # suppressed ids excluded in SQL up to this many; beyond, in Python


@dataclass
class _Selection:
    """The filter's page of (store, finding id) pairs, and counts over the whole filter."""

    page: list[_Light]
    total: int
    counts: dict[tuple[str, int], int]  # (store, severity) -> findings not suppressed
    suppressed: int
    next: str | None = None  # the cursor of the page after this one (None: this is the last)


def _next_cursor(page: list[Any], limit: int | None, more: bool) -> str | None:
    """The cursor after a full page's last row when more rows follow."""
    return encode_cursor(_key(page[-1])) if limit and more and page else None


def _where(query: Any, filters: FindingFilter, finding_id: str | None = None) -> Any:
    c = windows.c
    if filters.store:
        query = query.where(c.store == filters.store)
    if filters.rule:
        query = query.where(c.rule == filters.rule)
    if filters.category:  # categories is a JSON list: its quoted item, bound as a LIKE parameter
        query = query.where(c.categories.contains(json.dumps(filters.category), autoescape=True))
    if finding_id is not None:
        query = query.where(c.finding == finding_id)
    severities = filters.severities()
    if severities:
        query = query.where(c.severity.in_(sorted(int(s) for s in severities)))
    return query


def _active_suppressions(plane: Plane) -> dict[str, Suppression]:
    today = date.today()
    return {fid: s for fid, s in _load_baseline(plane).by_id().items() if s.expires >= today}


def _select(plane: Plane, filters: FindingFilter, finding_id: str | None = None) -> _Selection:
    """The filter's (store, finding id) pairs, worst first; no Finding built yet.

    ``state=open`` (the default, and the pages' list) is filtered, counted and paged in SQL: an open window is
    the only open one of its (store, finding id). The other states need each pair's latest window, in Python.
    """
    filters.check()
    c = windows.c
    active = _active_suppressions(plane)
    if filters.state == "open" and len(active) <= _MAX_SQL_IDS:
        def open_(query: Any) -> Any:
            query = _where(query.where(c.closed.is_(None)), filters, finding_id)
            return query.where(c.finding.not_in(sorted(active))) if active else query

        with plane.engine.begin() as conn:
            grouped = {(store, int(sev or 0)): int(n) for store, sev, n in
                       conn.execute(open_(select(c.store, c.severity, func.count())).group_by(c.store, c.severity))}
            page = _open_page(conn, open_, filters)
        more = filters.limit is not None and len(page) > filters.limit
        page = page[:filters.limit]
        return _Selection([_Light(r, "open", None) for r in page], sum(grouped.values()), grouped, 0,
                          _next_cursor(page, filters.limit, more))
    query = _where(select(*_COLUMNS).order_by(*_ORDER), filters, finding_id)
    if filters.state == "open":
        query = query.where(c.closed.is_(None))
    if filters.state == "suppressed":
        query = query.where(c.finding.in_(sorted(active)))
    with plane.engine.begin() as conn:
        rows = conn.execute(query).all()
    if filters.state != "open":  # one window per (store, finding): an open one, else the newest
        latest: dict[tuple[str, str], Any] = {}
        for r in rows:
            key = (r.store, r.finding)
            kept = latest.get(key)
            if kept is None or (kept.closed is not None and (r.closed is None or r.id > kept.id)):
                latest[key] = r
        rows = sorted(latest.values(), key=lambda r: (-int(r.severity or 0), r.store, r.id))
    lights = []
    counts: dict[tuple[str, int], int] = {}
    suppressed = 0
    for r in rows:
        s = active.get(r.finding)
        state = "suppressed" if s is not None else ("open" if r.closed is None else "fixed")
        if filters.state != "all" and state != filters.state:
            continue
        if s is None:
            key = (r.store, int(r.severity or 0))
            counts[key] = counts.get(key, 0) + 1
        else:
            suppressed += 1
        lights.append(_Light(r, state, s))
    return _python_page(lights, filters, counts, suppressed)


def _open_page(conn: Any, open_: Callable[[Any], Any], filters: FindingFilter) -> list[Any]:
    """The page's rows (one more than ``limit``: whether another page follows): its ids first, after the
    cursor or at the offset (a narrow sort the windows_by_state index covers), then their rows."""
    c, after = windows.c, filters.after()
    paged = open_(select(c.id)).order_by(*_ORDER)
    paged = _after_sql(paged, after) if after is not None else paged.offset(filters.offset)
    if filters.limit is not None:
        paged = paged.limit(filters.limit + 1)
    ids = list(conn.execute(paged).scalars())
    by_id = {r.id: r for r in conn.execute(select(*_COLUMNS).where(c.id.in_(ids)))} if ids else {}
    return [by_id[i] for i in ids]


def _python_page(lights: list[_Light], filters: FindingFilter, counts: dict[tuple[str, int], int],
                 suppressed: int) -> _Selection:
    """The page of rows selected in Python: after the cursor, else at the offset."""
    total, after = len(lights), filters.after()
    lights = sorted(lights, key=lambda light: _rank(_key(light.row)))  # one order for offset and cursor alike
    if after is not None:
        lights = [light for light in lights if _rank(_key(light.row)) > _rank(after)]
    start = 0 if after is not None else filters.offset
    end = None if filters.limit is None else start + filters.limit
    page = lights[start:end]
    more = end is not None and len(lights) > end
    return _Selection(page, total, counts, suppressed, _next_cursor([light.row for light in page], filters.limit, more))


def _build(plane: Plane, lights: list[_Light]) -> list[_Row]:
    """Findings for these rows, with the last full scan's finding (evidence, object, records) when there is one."""
    wanted = {light.row.store for light in lights}
    full: dict[tuple[str, str], dict[str, Any]] = {}
    kinds: dict[str, str] = {}
    if wanted:
        query = select(stores.c.store, stores.c.kind, stores.c.extra).where(stores.c.store.in_(sorted(wanted)))
        with plane.engine.begin() as conn:
            for store, kind, extra in conn.execute(query):
                kinds[store] = kind or ""
                for e in json.loads(extra or "[]"):
                    if isinstance(e, dict) and e.get("id"):
                        full[(store, str(e["id"]))] = e
    out = []
    for light in lights:
        r = light.row
        finding = _finding(r, kinds.get(r.store, ""), full.get((r.store, r.finding)))
        if light.state == "suppressed":
            finding = finding.model_copy(update={"suppressed": True})
        out.append(_Row(finding, light))
    return out


def _finding(r: Any, kind: str, full: dict[str, Any] | None) -> Finding:
    if full is not None:
        data = {k: v for k, v in full.items() if k != "schema"}
        data["severity"] = Severity.parse(str(data["severity"]))
        data["store_name"] = r.store
        data["first_seen"] = r.opened
        return Finding(**data)
    return Finding(id=r.finding, rule=r.rule or "", severity=Severity(int(r.severity or 0)), target=r.target or "",
                   store=kind, store_name=r.store, categories=json.loads(r.categories or "[]"), title=r.title or "",
                   first_seen=r.opened)


def findings_report(plane: Plane, filters: FindingFilter) -> Report:
    """The findings of the current filter (its page, with ``limit``) as a :class:`~dataward.report.Report`
    (worst first), with the watched stores (or the filter's store) as its targets."""
    return _report(plane, filters)[0]


def _report(plane: Plane, filters: FindingFilter) -> tuple[Report, list[_Row], _Selection]:
    selection = _select(plane, filters)
    rows = _build(plane, selection.page)
    with plane.engine.begin() as conn:
        found = conn.execute(select(stores.c.store, stores.c.kind, stores.c.target, stores.c.reachable)
                             .order_by(stores.c.store)).all()
        exposed = set(conn.execute(select(windows.c.store).distinct().where(windows.c.closed.is_(None))).scalars())
    targets = [
        ScannedTarget(target=target or "", store=kind or "", name=name, reachable=bool(reachable),
                      exposed=name in exposed)
        for name, kind, target, reachable in found if not filters.store or name == filters.store
    ]
    report = Report(targets=targets, findings=[row.finding for row in rows], baseline=Path(plane.baseline).name)
    return report, rows, selection


def findings_document(plane: Plane, filters: FindingFilter) -> dict[str, Any]:
    """``dataward.report/v1`` of the current filter; each finding also carries ``state`` (open, fixed,
    suppressed), ``window`` (id, opened, last_seen, closed) and ``suppression`` (reason, expires) when any;
    ``total`` and ``summary`` count every finding of the filter, ``findings`` holds its page."""
    report, rows, selection = _report(plane, filters)
    doc = report.to_json()
    for item, row in zip(doc["findings"], rows, strict=True):
        item.update(_light_extra(row.light))
    doc["summary"].update(_summary(selection, report))
    doc["total"] = selection.total
    doc["next"] = selection.next
    doc["filters"] = filters.as_json()
    return doc


def _summary(selection: _Selection, report: Report) -> dict[str, Any]:
    """Report.summary's counts over every finding of the filter, not only the page."""
    by_sev = {s.label: 0 for s in sorted(Severity, reverse=True)}
    by_store: dict[str, dict[str, int]] = {t.label: dict.fromkeys(by_sev, 0) for t in report.targets}
    for (store, severity), n in selection.counts.items():
        label = Severity(severity).label
        by_sev[label] += n
        by_store.setdefault(store, dict.fromkeys(by_sev, 0))[label] += n
    worst = max((sev for (_, sev), n in selection.counts.items() if n), default=None)
    return {"total": sum(selection.counts.values()), "by_severity": by_sev, "by_store": by_store,
            "suppressed": selection.suppressed, "worst": None if worst is None else Severity(worst).label}


def _light_extra(light: _Light) -> dict[str, Any]:
    s = light.suppression
    return {"state": light.state, "window": light.window,
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
    page = _select(plane, FindingFilter(state="all", limit=1), finding_id=finding_id).page
    if not page:
        raise NotFound(f"there is no finding '{finding_id[:40]}'", tip="GET /api/v1/findings?state=all lists them")
    return _build(plane, page)[0].finding


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
    how many customers it affects, the response steps done and the steps running as jobs of this server."""
    db = plane.incidents
    items = []
    for name in db.names():
        item = db.get(name).to_json()
        radius = db.json_artifact(name, incident_ops.REPORT)
        item["blast_radius"] = radius is not None
        item["affected_customers"] = radius.get("affected_customers") if isinstance(radius, dict) else None
        item["steps_done"] = sorted(db.steps_done(name))
        item["jobs_running"] = sorted(step for step, job in plane.jobs.latest_here(name).items()
                                      if job.state == "running")
        items.append(item)
    return {"schema": INCIDENTS_SCHEMA, "incidents": items}


def incident_document(plane: Plane, name: str) -> dict[str, Any]:
    """One incident (``dataward.incident/v1``): its record, whether its blast radius is computed and how many it
    affects, the obligations with their deadlines (from the blast radius), the respond ledger's units per step
    and state, the notify ledger's messages per state (``notify_uncertain``: how many of them a crash left
    uncertain, :func:`uncertain_notices`), and ``jobs``: the latest job of each step (respond,
    notify, blast_radius, lookup; ``dataward.job/v1``, see :mod:`dataward.serve.jobs`), recorded in the state
    database, so a restart keeps them."""
    db = plane.incidents
    found = db.find(name)
    if found is None:
        raise NotFound(f"there is no incident '{name[:64]}'")
    radius = db.json_artifact(name, incident_ops.REPORT)
    with plane.engine.begin() as conn:
        steps = conn.execute(select(ledger.c.step, ledger.c.state, func.count()).where(ledger.c.incident == name)
                             .group_by(ledger.c.step, ledger.c.state)).all()
        sent = conn.execute(select(sends.c.state, func.count()).where(sends.c.incident == name)
                            .group_by(sends.c.state)).all()
    respond: dict[str, dict[str, int]] = {}
    for step, state, n in steps:
        respond.setdefault(step, {})[state] = int(n)
    notify = {state: int(n) for state, n in sent}
    jobs = plane.jobs.latest(name)
    return {
        "schema": INCIDENT_SCHEMA, **found.to_json(),
        "blast_radius": radius is not None,
        "affected_customers": radius.get("affected_customers") if isinstance(radius, dict) else None,
        "obligations": radius.get("obligations", []) if isinstance(radius, dict) else [],
        "respond": respond,
        "notify": notify,
        "notify_uncertain": uncertain_notices(notify, jobs.get("notify")),
        "audit_log": audit_log_status(plane, incident=name),
        "lookup": lookup_status(plane, name),
        "jobs": {step: job.to_json() for step, job in sorted(jobs.items())},
    }


def uncertain_notices(notify: dict[str, int], job: Job | None) -> int:
    """Notices whose fate is unknown: ``uncertain`` in the notify ledger, and ``sending`` while no notify job of
    this server runs (a crash left them written ahead; the next run marks them uncertain)."""
    sending = notify.get("sending", 0) if job is None or job.state != RUNNING else 0
    return notify.get("uncertain", 0) + sending


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


def compute_blast_radius(plane: Plane, name: str, user: User, *, exposed: str | None = None,
                         classification: dict[str, Any] | None = None, policy: Any = None,
                         progress: Progress | None = None) -> dict[str, Any]:
    """Compute (or recompute) the incident's blast radius from the production source serve was started with
    (``--source``), with the incident library (``dataward incident blast-radius``, whose ``--exposed`` and
    ``--classification`` are ``exposed`` and ``classification``, a report document rather than a file), and
    keep it with the incident. The exposed store read is one of ``policy``'s (:func:`exposed_store`). Audited
    (URLs redacted); the answer is the ``dataward.blast_radius/v1`` document. ``progress``: the library's hook
    (a job's)."""
    from dataward.targets import redact_url

    source = blast_radius_source(plane, name)
    exposed = exposed_store(plane, name, exposed, policy, has_classification=classification is not None)
    with _classification_file(classification) as path:
        result = incident_ops.run_blast_radius(plane.incidents, name, source, schema=plane.schema, exposed=exposed,
                                               classification=path, read_incident_store=False,
                                               progress=progress)
    record(plane.engine, user, "incident.blast_radius", name,
           {"source": redact_url(source), "affected": result.affected_customers,
            "exposed": redact_url(exposed) if exposed else None, "classification": classification is not None})
    return blast_radius_document(plane, name)


def exposed_store(plane: Plane, name: str, exposed: str | None, policy: Any, *,
                  has_classification: bool = True) -> str | None:
    """The URL of the exposed store a blast radius may read: ``exposed``, else the incident's store, when it is a
    store of serve's --config (``policy``), by its name, its URL or its redacted URL. A responder cannot make the
    server read any other file, database or host (no local file read, no request forgery): an ``exposed`` that
    is not configured is refused; an incident's store that is not is left unread (a classification tells;
    without ``has_classification`` that is one sentence saying what to send)."""
    from dataward.targets import redact_url

    configured = {t.name or t.url: t.url for t in policy.targets()} if policy is not None else {}
    incident = plane.incidents.find(name) if exposed is None else None
    wanted = exposed if exposed is not None else incident.store if incident is not None else None
    for store, url in configured.items():
        if wanted in (store, url, redact_url(url)):
            return url
    if exposed is None and incident is not None and not has_classification:
        raise DatawardError(f"cannot tell what the exposed store '{incident.store}' held: it is not a store of "
                            "serve's --config, and the control plane reads no other",
                            tip="send exposed (the name of one of its stores) or classification (`dataward classify "
                                "URL --format json`'s output) in the body of POST /api/v1/incidents/NAME/blast-radius")
    if exposed is not None:
        raise DatawardError("exposed is not a store of serve's --config: the control plane reads no other file, "
                            "database or host", tip=f"name one of its stores ({', '.join(sorted(configured)[:20])})"
                            if configured else "add it to serve's --config as a [[store]], or send its "
                            "classification; or run `dataward incident blast-radius NAME --exposed URL` in a shell")
    return None


def blast_radius_source(plane: Plane, name: str) -> str:
    """The production source to compute the incident's blast radius from (``--source``); NotFound for an
    unknown incident, one sentence when serve has no source."""
    if plane.incidents.find(name) is None:
        raise NotFound(f"there is no incident '{name[:64]}'")
    if not plane.source:
        raise DatawardError("no production source is configured: start `dataward serve` with --source URL "
                            "(or DATAWARD_SOURCE) to compute a blast radius from the control plane")
    return plane.source


def check_classification(document: dict[str, Any] | None) -> None:
    """A classification given to :func:`compute_blast_radius` must be a classification or scan report."""
    if document is not None and "objects" not in document and "findings" not in document:
        raise DatawardError("classification is not a classification or scan report (it has no objects or "
                            "findings)", tip="send `dataward classify URL --format json`'s output")
    if document is not None:
        from dataward.incident.exposure import from_classification

        from_classification(document)  # a malformed one: a sentence now, not in a background job


@contextmanager
def _classification_file(document: dict[str, Any] | None) -> Iterator[str | None]:
    """A classification or scan report given as a document, in a private temporary file the library reads."""
    if document is None:
        yield None
        return
    check_classification(document)
    with tempfile.TemporaryDirectory(prefix="dataward-classification-") as folder:
        path = Path(folder) / "classification.json"
        path.write_text(json.dumps(document))
        yield str(path)


def lookup_site_dir(plane: Plane, name: str) -> Path:
    """The folder an incident's lookup site is built in: ``NAME`` under the plane's lookup folder."""
    if not _NAME.match(name or ""):
        raise NotFound(f"there is no incident '{(name or '')[:64]}'")
    return Path(plane.lookup_dir or default_lookup_dir(plane.db.location)) / name


def lookup_status(plane: Plane, name: str) -> dict[str, Any] | None:
    """When the incident's lookup site was last built and its shape (range files, lines in each, whether it
    needs the code), from the built site's ``meta.json``; None when it was never built. Nothing of a customer."""
    meta_file = lookup_site_dir(plane, name) / "meta.json"
    try:
        meta = json.loads(meta_file.read_text())
        built = datetime.fromtimestamp(meta_file.stat().st_mtime, UTC)
        return {"built_at": iso(built), "files": 16 ** int(meta["prefix_hex"]),
                "lines_per_file": int(meta["lines_per_file"]), "require_code": bool(meta["require_code"]),
                "site": str(meta_file.parent)}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def build_lookup_site(plane: Plane, name: str, user: User, progress: Progress | None = None) -> dict[str, Any]:
    """Build (or rebuild) the incident's "was I affected?" site into :func:`lookup_site_dir` with the incident
    library (``dataward incident lookup build``), from its blast radius and the production source it used.
    Audited; the answer holds the site's shape and counts, never an email."""
    out = lookup_build_dir(plane, name)
    summary = incident_ops.build_lookup(plane.incidents, name, str(out), force=True, progress=progress)
    record(plane.engine, user, "incident.lookup", name,
           {"files": summary["files"], "affected": summary["affected"]})
    status = lookup_status(plane, name) or {}
    return {**status, "affected": summary["affected"], "missing_email": summary["missing_email"]}


def lookup_build_dir(plane: Plane, name: str) -> Path:
    """Where the incident's lookup site is built, once it can be: NotFound for an unknown incident, one
    sentence without a blast radius or when the lookup folder cannot be made."""
    db = plane.incidents
    if db.find(name) is None:
        raise NotFound(f"there is no incident '{name[:64]}'")
    if db.json_artifact(name, incident_ops.REPORT) is None:
        raise DatawardError(f"incident '{name}' has no blast radius yet",
                            tip=f"run `dataward incident blast-radius {name} --source URL --db STATE` first")
    out = lookup_site_dir(plane, name)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatawardError(f"cannot create the lookup folder {out.parent}: {exc.strerror or exc}",
                            tip="pass `dataward serve --lookup-dir` a folder it may write") from None
    return out


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


# ---- the incident audit log: its verification status ----------------------------------------------------------
def audit_log_status(plane: Plane, incident: str | None = None) -> dict[str, Any]:
    """Whether the incident audit log (the hash chain `incident respond` and `notify` append to) verifies, as
    `dataward incident audit verify --format json` says, with the key pinned to serve (``--audit-public-key`` or
    ``--audit-key-fingerprint``; else the public half of this machine's signing key, never a file beside the
    log), and how many entries name ``incident``. ``status``: ``verified``, ``failed``, ``writing`` (a job of
    this server is appending: its newest entries are signed when it ends), ``absent`` (no log yet) or
    ``no-key``. The walk is cached until the log file changes (while a job appends, at most every 5 s)."""
    from dataward.incident.audit import default_key_path, public_key_path, verify_log

    path = Path(plane.audit_log or "dataward-audit.jsonl")
    key: str | None = plane.audit_public_key
    trust = "pinned" if key or plane.audit_key_fingerprint else "local signing key"
    if key is None and not plane.audit_key_fingerprint:
        local = public_key_path(default_key_path())
        key = str(local) if local.is_file() else None
    out: dict[str, Any] = {"log": path.name, "trust": trust}
    try:
        stat = path.stat()
    except OSError:
        return {**out, "status": "absent", "ok": None, "reason": "no audit log yet (no respond or notify run)"}
    if key is None and not plane.audit_key_fingerprint:
        return {**out, "status": "no-key", "ok": None,
                "reason": "no public key to verify with", "tip": "start serve with --audit-public-key FILE"}
    writing = bool(plane.jobs.running())
    log_id = (str(path), key, plane.audit_key_fingerprint, incident)
    version = (*log_id, stat.st_mtime_ns, stat.st_size, writing)
    cached = plane._verified.get(version) or (_recent_walk(plane, log_id) if writing else None)
    if cached is not None:
        return cached
    try:
        result = verify_log(path, key, key_fingerprint=plane.audit_key_fingerprint).to_json()
    except DatawardError as exc:
        return {**out, "status": "no-key", "ok": None, "reason": exc.message}
    mine = 0
    if incident is not None:
        needle = b'"incident":' + json.dumps(incident).encode()
        with open(path, "rb") as fh:
            mine = sum(1 for line in fh if needle in line)
    status = "verified" if result["ok"] else "writing" if writing and _still_writing(result) else "failed"
    answer = {**out, **result, "status": status, "incident_entries": mine}
    if status == "writing":
        answer["reason"] = "a job of this server is appending; its newest entries are signed when it ends"
    with plane._lock:
        if len(plane._verified) > 64:
            plane._verified.clear()
        plane._verified[version] = answer
        if len(plane._walked) > 64:
            plane._walked.clear()
        plane._walked[log_id] = (time.monotonic(), answer)
    return answer


WRITING_WALK_S: Final = 5.0  # while a job appends to the log, walk it at most this often


def _recent_walk(plane: Plane, log_id: tuple[Any, ...]) -> dict[str, Any] | None:
    """The last walk of the log if it is recent: a job appending changes the file at every entry, and a walk
    of a long log takes seconds."""
    with plane._lock:
        at, answer = plane._walked.get(log_id, (0.0, None))
    return answer if answer is not None and time.monotonic() - at < WRITING_WALK_S else None


def _still_writing(result: dict[str, Any]) -> bool:
    """Whether a failure is only what a job of this server appending leaves for a moment: entries after the
    last checkpoint (signed when the job ends), or a last line half written."""
    if result["bad_entry"] is None:
        return int(result["unsigned_tail"]) > 0
    return bool(result["bad_entry"] == result["entries"] + 1 and "audit line format" in result["reason"])


# ---- copies and settings (the copies and settings pages' data) -----------------------------------------------
COPIES_SCHEMA: Final = "dataward.copies/v1"
SETTINGS_SCHEMA: Final = "dataward.settings/v1"
COPIES_TTL: Final = timedelta(seconds=60)


def copies_of(state: Any, now: datetime, refresh: bool = False) -> tuple[datetime, list[dict[str, Any]], int]:
    """The safe copies among the policy's stores (``state.policy``; see :func:`pages_data.copies`): (read at,
    rows, stores read). Reading opens every store, so the answer is kept a minute in ``state.copies_cache``,
    which the copies page shares."""
    policy = getattr(state, "policy", None)
    targets = [(t.name or t.url, t.url) for t in policy.targets()] if policy is not None else []
    cached = getattr(state, "copies_cache", None)
    if cached is None or refresh or now - cached[0] > COPIES_TTL:
        cached = (now, pages_data.copies(targets, now))
        state.copies_cache = cached
    return cached[0], cached[1], len(targets)


def copies_document(state: Any, now: datetime, refresh: bool = False) -> dict[str, Any]:
    """``dataward.copies/v1``: every safe copy's manifest (source, destination, key id, expiry, k-anonymity,
    ``expired``), expired ones first; URLs redacted."""
    read_at, rows, read = copies_of(state, now, refresh)
    return {"schema": COPIES_SCHEMA, "read_at": iso(read_at), "stores_read": read,
            "expired": sum(1 for r in rows if r.get("expired")), "copies": rows}


def alert_sinks(policy: Any) -> list[Any]:
    from dataward.watch import config_from_policy

    return list(config_from_policy(policy).alerts) if policy is not None else []


def settings_document(plane: Plane, policy: Any, *, admin: bool) -> dict[str, Any]:
    """``dataward.settings/v1``: the effective policy, read-only, every URL redacted and without its alert
    section (alert URLs carry their secret in the path); the alert sinks by label and events; the watch state.
    For an admin also the users (no password, no token) and the latest audit entries."""
    document = None
    if policy is not None:
        document = pages_data.redacted_config(policy.model_dump(mode="json", by_alias=True, exclude_none=True))
        document.pop("alert", None)
    out: dict[str, Any] = {
        "schema": SETTINGS_SCHEMA, "source": str(getattr(policy, "source", None) or "") or None, "policy": document,
        "sinks": [{"index": i, "label": a.label, "events": list(a.events)} for i, a in enumerate(alert_sinks(policy))],
        "watch": plane.watch_state(), "baseline": Path(plane.baseline).name,
    }
    if admin:
        out["users"] = [{"name": u.name, "role": u.role, "disabled": u.disabled, "created_at": u.created_at,
                         "tokens": u.tokens, "must_change": u.must_change} for u in accounts.list_users(plane.engine)]
        out["audit"] = audit_document(plane, limit=20)["entries"]
    return out


def send_test_alert(plane: Plane, policy: Any, index: int, user: User, now: datetime) -> dict[str, Any]:
    """Send a test alert (``event: test``, no finding) to the policy's alert sink ``index``. Audited before the
    send; a refused delivery is :class:`DeliveryFailed`."""
    from dataward.watch.alerts.base import DeliveryError, sink_for

    sinks = alert_sinks(policy)
    if not 0 <= index < len(sinks):
        raise NotFound(f"there is no alert sink {index}", tip="GET /api/v1/settings lists them")
    sink = sinks[index]
    payload: dict[str, Any] = {"schema": "dataward.alert/v1", "event": "test", "store": "dataward-test-alert",
                               "at": iso(now), "target": "test://", "finding": None, "categories": [], "window": {},
                               "test": True, "sent_by": user.name}
    record(plane.engine, user, "alert.test", sink.label, {})
    try:
        sink_for(sink.url).send(payload)
    except DeliveryError as exc:
        raise DeliveryFailed(f"the test alert to {sink.label} failed: {exc}") from None
    return {"sink": sink.label, "sent": True, "payload": payload}
