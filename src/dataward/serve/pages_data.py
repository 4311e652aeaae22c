"""What the pages show, read from the state database in a few aggregate queries (the API's documents are in
:mod:`dataward.serve.views`). Every value here is already redacted: the watcher stores findings' titles and
redacted evidence only, never a raw customer value.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import Engine, func, select

from dataward.findings import Severity
from dataward.manifest import read_manifest
from dataward.scan.baseline import load_baseline
from dataward.state.schema import events, stores, windows
from dataward.tables.base import TABLES
from dataward.targets import parse_target, redact_url
from dataward.watch.history import seconds_text
from dataward.watch.model import contents_from_json, iso, parse_iso

T = TypeVar("T")
STATES = ("exposed", "unreachable", "unknown", "protected")  # the order the overview lists them in
WORST = 10


def severity_label(value: int | None) -> str:
    return Severity(value).label if value is not None and 0 <= value <= 4 else "info"


def age_text(since: str | None, now: datetime) -> str:
    """'40 s', '27 min', '3 h 5 min', '22 days 4 h' since ``since``."""
    if not since:
        return "—"
    return seconds_text(int((now - parse_iso(since)).total_seconds()))


def overview(engine: Engine, now: datetime | None = None, suppressed: frozenset[str] = frozenset()
             ) -> dict[str, Any]:
    """Stores by state, the open exposure window of each exposed store with its age, and the worst open
    findings (``suppressed`` finding ids left out, as the findings page does), from one aggregate over the open
    windows."""
    now = now or datetime.now(UTC)
    heads = open_windows_by_store(engine, now)
    listed = store_states(engine, now, heads)
    counts = {state: sum(1 for s in listed if s["state"] == state) for state in STATES}
    c = windows.c
    query = (select(c.id, c.store, c.finding, c.rule, c.severity, c.title, c.opened).where(c.closed.is_(None))
             .order_by(c.severity.desc(), c.store, c.rule, c.finding, c.id).limit(WORST))
    if suppressed:
        query = query.where(c.finding.not_in(sorted(suppressed)))
    with engine.begin() as conn:
        worst = [{"id": r.finding, "store": r.store, "rule": r.rule or "", "severity": severity_label(r.severity),
                  "title": r.title or "", "opened": r.opened} for r in conn.execute(query)]
    return {"stores": listed, "counts": counts, "windows": heads, "worst": worst,
            "exposed": [s["name"] for s in listed if s["state"] == "exposed"]}


def state_of(name: str, reachable: bool | None, last_probe: str | None, last_secure: str | None,
             opened: dict[str, str], unreachable: dict[str, str]) -> tuple[str, str | None]:
    """A store's state and since when (``dataward.stores/v1``): exposed (an open window, since the oldest
    ``opened``), unknown (never probed), unreachable (since the last ``unreachable`` event), else protected
    (since the last secure probe)."""
    if name in opened:
        return "exposed", opened[name]
    if reachable is None:
        return "unknown", None
    if not reachable:
        return "unreachable", unreachable.get(name, last_probe)
    return "protected", last_secure


def store_states(engine: Engine, now: datetime, heads: list[dict[str, Any]],
                 store: str | None = None) -> list[dict[str, Any]]:
    """Every store (or one) with its state as ``dataward.stores/v1`` defines it (exposed: an open window, since
    the oldest; unreachable: since the last ``unreachable`` event; protected: since the last secure probe;
    unknown: never probed), from the open windows' aggregate ``heads``; exposed first."""
    opened = {h["store"]: h["opened"] for h in heads}
    rows_q = select(stores.c.store, stores.c.kind, stores.c.reachable, stores.c.last_probe, stores.c.last_secure)
    events_q = (select(events.c.store, func.max(events.c.at)).where(events.c.event == "unreachable")
                .group_by(events.c.store))
    if store is not None:
        rows_q, events_q = rows_q.where(stores.c.store == store), events_q.where(events.c.store == store)
    with engine.begin() as conn:
        rows = conn.execute(rows_q).all()
        unreachable: dict[str, str] = {name: at for name, at in conn.execute(events_q)}
    out = []
    for name, kind, reachable, last_probe, last_secure in rows:
        state, since = state_of(name, reachable, last_probe, last_secure, opened, unreachable)
        out.append({"name": name, "kind": kind, "state": state, "since": since, "last_probe": last_probe,
                    "age": age_text(since, now) if state != "unknown" else "—",
                    "probed": age_text(last_probe, now) + " ago" if last_probe else "never"})
    out.sort(key=lambda s: (STATES.index(s["state"]), s["name"]))
    return out


def with_ages(data: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The overview's data (perhaps cached) with every age computed afresh for ``now``; the input is unchanged."""
    stores_now = [{**s, "age": age_text(s["since"], now) if s["state"] != "unknown" else "—",
                   "probed": age_text(s["last_probe"], now) + " ago" if s["last_probe"] else "never"}
                  for s in data["stores"]]
    windows_now = [{**w, "age": age_text(w["opened"], now)} for w in data.get("windows", [])]
    worst_now = [{**f, "age": age_text(f["opened"], now)} for f in data.get("worst", [])]
    return {**data, "stores": stores_now, "windows": windows_now, "worst": worst_now}


def open_windows_by_store(engine: Engine, now: datetime, store: str | None = None) -> list[dict[str, Any]]:
    """One row per store with an open window: since when, how many findings, the worst severity."""
    query = (select(windows.c.store, func.min(windows.c.opened).label("opened"), func.min(windows.c.id).label("first"),
                    func.count().label("findings"), func.max(windows.c.severity).label("severity"))
             .where(windows.c.closed.is_(None)).group_by(windows.c.store).order_by(func.min(windows.c.opened)))
    if store is not None:
        query = query.where(windows.c.store == store)
    with engine.begin() as conn:
        rows = conn.execute(query).all()
    return [{"store": r.store, "opened": r.opened, "age": age_text(r.opened, now), "findings": r.findings,
             "severity": severity_label(r.severity), "window": r.first,
             "suggested": incident_name(r.store, r.opened)} for r in rows]


def stores_list(engine: Engine, now: datetime, *, state: str | None = None, kind: str | None = None,
                q: str | None = None) -> dict[str, Any]:
    """The stores page: every store matching the filters, with its open findings count; the kinds for the filter."""
    heads = open_windows_by_store(engine, now)
    everything = store_states(engine, now, heads)
    counts = {h["store"]: h["findings"] for h in heads}
    rows = [s for s in everything
            if (not state or s["state"] == state) and (not kind or s["kind"] == kind)
            and (not q or q.lower() in s["name"].lower())]
    for s in rows:
        s["open_findings"] = counts.get(s["name"], 0)
    return {"stores": rows, "kinds": sorted({s["kind"] or "" for s in everything} - {""}), "total": len(everything),
            "filters": {"state": state or "", "kind": kind or "", "q": q or ""}}


TIMELINE_DAYS = 30
STORE_FINDINGS = 100  # the store page lists the worst windows; the findings page has the rest
TIMELINE_WIDTH = 1000


def store_page(engine: Engine, name: str, now: datetime) -> dict[str, Any] | None:
    """One store: its state, redacted target, what is inside (categories and record counts per object, never a
    value), its findings (open first), the exposure timeline of the last 30 days as SVG boxes, probe history."""
    found_states = store_states(engine, now, open_windows_by_store(engine, now, store=name), store=name)
    state = found_states[0] if found_states else None
    if state is None:
        return None
    with engine.begin() as conn:
        row = conn.execute(select(stores.c.target, stores.c.contents, stores.c.failures, stores.c.last_ok,
                                  stores.c.last_full).where(stores.c.store == name)).one()
        found = conn.execute(select(windows).where(windows.c.store == name)
                             .order_by(windows.c.closed.is_not(None), windows.c.severity.desc(),
                                       windows.c.opened.desc()).limit(STORE_FINDINGS)).mappings().all()
        total = conn.execute(select(func.count()).where(windows.c.store == name)).scalar_one()
        start = iso(now - timedelta(days=TIMELINE_DAYS))
        spans = conn.execute(select(windows.c.opened, windows.c.closed).where(
            windows.c.store == name, windows.c.closed.is_(None) | (windows.c.closed >= start))).all()
        history = conn.execute(select(events.c.at, events.c.event, events.c.finding, events.c.severity,
                                      events.c.detail).where(events.c.store == name)
                               .order_by(events.c.at.desc(), events.c.id.desc()).limit(50)).mappings().all()
    contents = contents_from_json(row.contents)
    objects = [] if contents is None else [
        {"object": obj, "categories": sorted(cats), "records": contents.records.get(obj)}
        for obj, cats in sorted(contents.by_object.items())]
    findings = [{"id": w["finding"], "rule": w["rule"], "severity": severity_label(w["severity"]),
                 "title": w["title"], "opened": w["opened"], "closed": w["closed"],
                 "categories": _categories(w["categories"]),
                 "open_for": age_text(w["opened"], parse_iso(w["closed"]) if w["closed"] else now)} for w in found]
    return {"store": state, "target": redact_url(row.target) if row.target else "", "failures": row.failures,
            "last_ok": row.last_ok, "last_full": row.last_full,
            "categories": sorted(contents.categories) if contents else [], "objects": objects,
            "findings": findings, "findings_total": total, "timeline": timeline(spans, now), "events": [{**e, "severity": severity_label(e["severity"]) if e["severity"] is not None else ""}
                       for e in history]}


def _categories(text: str | None) -> list[str]:
    try:
        value = json.loads(text) if text else []
    except ValueError:
        return []
    return [str(c) for c in value] if isinstance(value, list) else []


def timeline(spans: Any, now: datetime, days: int = TIMELINE_DAYS) -> dict[str, Any]:
    """The store's exposure over the last ``days`` days: overlapping finding windows merged into one box each
    (x and width in a 0..1000 viewBox), with day ticks every five days."""
    start = now - timedelta(days=days)
    span = (now - start).total_seconds()

    def x(ts: datetime) -> float:
        return round(max(0.0, min(1.0, (ts - start).total_seconds() / span)) * TIMELINE_WIDTH, 1)

    merged: list[list[Any]] = []  # [opened, closed (None: open), findings]
    for opened_text, closed_text in sorted((o, c) for o, c in spans):
        opened = parse_iso(opened_text)
        closed = parse_iso(closed_text) if closed_text else None
        last = merged[-1] if merged else None
        if last is not None and (last[1] is None or opened <= last[1]):
            last[1] = None if last[1] is None or closed is None else max(last[1], closed)
            last[2] += 1
        else:
            merged.append([opened, closed, 1])
    boxes = []
    for opened, closed, findings in merged:
        left, right = x(opened), x(closed or now)
        boxes.append({"x": left, "width": max(2.0, right - left), "open": closed is None,
                      "label": f"{findings} finding{'s' if findings > 1 else ''}: {iso(opened)} – "
                               f"{iso(closed) if closed else 'still open'}"})
    ticks = [{"x": x(start + timedelta(days=d)), "label": (start + timedelta(days=d)).strftime("%m-%d")}
             for d in range(0, days + 1, 5)]
    return {"boxes": boxes, "ticks": ticks, "width": TIMELINE_WIDTH, "days": days}


def copy_row(name: str, url: str, now: datetime) -> dict[str, Any] | None:
    """The safe-copy manifest at one store, flattened for the copies page; None when it is not a copy.

    A store that cannot be read gives a row with ``error`` (one sentence, no credential) instead.
    """
    try:
        if TABLES.find(parse_target(url).scheme) is None:
            return None  # a kind that holds no tables (Redis, MQTT, ...) holds no copy
        manifest = read_manifest(url)
    except Exception as exc:
        return {"name": name, "destination": redact_url(url), "error": type(exc).__name__}
    if manifest is None:
        return None
    expires = manifest.expires
    expired = manifest.expired(now)
    tables = manifest.tables.values()
    return {"name": name, "destination": redact_url(url), "source": manifest.source, "key_id": manifest.key_id,
            "created_at": manifest.created_at, "owner": manifest.owner, "expires": expires, "expired": expired,
            "k": manifest.k, "k_mode": manifest.k_mode, "tables": len(manifest.tables),
            "rows": sum(t.rows for t in tables), "suppressed": sum(t.suppressed for t in tables),
            "unsafe_destination": manifest.unsafe_destination, "error": None}


def copies(targets: list[tuple[str, str]], now: datetime) -> list[dict[str, Any]]:
    """Every store of the policy that holds a dataward copy manifest, expired ones first."""
    rows = [r for name, url in targets if (r := copy_row(name, url, now)) is not None]
    return sorted(rows, key=lambda r: (not r.get("expired"), r.get("error") is None, r["name"]))


def redacted_config(value: Any) -> Any:
    """A policy document for display: every URL through :func:`redact_url` (no password, no secret query)."""
    if isinstance(value, dict):
        return {k: redacted_config(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redacted_config(v) for v in value]
    if isinstance(value, str) and "://" in value:
        return redact_url(value)
    return value


def recent_windows(engine: Engine, now: datetime, *, store: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """The latest exposure windows (open ones first), each with a suggested incident name."""
    query = (select(windows.c.id, windows.c.store, windows.c.title, windows.c.opened, windows.c.closed)
             .order_by(windows.c.closed.is_not(None), windows.c.opened.desc(), windows.c.id.desc()).limit(limit))
    if store:
        query = query.where(windows.c.store == store)
    with engine.begin() as conn:
        rows = conn.execute(query).all()
    return [{"id": r.id, "store": r.store, "title": r.title, "opened": r.opened, "closed": r.closed,
             "age": age_text(r.opened, parse_iso(r.closed) if r.closed else now),
             "suggested": incident_name(r.store, r.opened)} for r in rows]


def incident_name(store: str, opened: str) -> str:
    """``analytics-copy-2026-12-07``: a valid incident name from a store and the day its window opened."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{store}-{opened[:10]}").strip("-._")
    return (name or "incident")[:64]


def time_left(deadline: str | None, now: datetime) -> tuple[str, bool]:
    """('2 days 4 h left' | '3 h overdue', overdue) for an ISO deadline; ('without undue delay', False)."""
    if not deadline:
        return "without undue delay", False
    when = parse_iso(deadline)
    if when >= now:
        return age_text(iso(now), when) + " left", False
    return age_text(deadline, now) + " overdue", True


def state_version(engine: Engine, baseline: str | None = None) -> tuple[Any, ...]:
    """What the overview and findings depend on, in a few index lookups: the last event id (every window
    opened or closed and every reachability change writes one), the last window id, the last probe, and the
    baseline file's mtime and size (suppressions). Equal versions mean equal pages, ages aside."""
    with engine.begin() as conn:
        last_event = conn.execute(select(func.max(events.c.id))).scalar()
        last_window = conn.execute(select(func.max(windows.c.id))).scalar()
        probe = conn.execute(select(func.max(stores.c.last_probe), func.count())).one()
    try:
        stat = Path(baseline).stat() if baseline else None
    except OSError:
        stat = None
    return (last_event, last_window, probe[0], probe[1],
            (stat.st_mtime_ns, stat.st_size) if stat is not None else None)


class VersionedCache:
    """A small LRU of computed page data, each entry valid while :func:`state_version` is unchanged: a
    dashboard reloaded between two probes costs a few index lookups instead of aggregates over every window."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[tuple[Any, ...], Any]] = OrderedDict()

    def get(self, key: Hashable, version: tuple[Any, ...], compute: Callable[[], T]) -> T:
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and hit[0] == version:
                self._entries.move_to_end(key)
                return cast(T, hit[1])
        value = compute()
        with self._lock:
            self._entries[key] = (version, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value


def active_suppressions(baseline: str) -> frozenset[str]:
    """The finding ids the baseline file suppresses today (an expired suppression no longer hides)."""
    today = datetime.now(UTC).date()
    return frozenset(fid for fid, s in load_baseline(baseline, missing_ok=True).by_id().items() if s.expires >= today)
