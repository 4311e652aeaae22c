"""Exposure windows from the watcher's history: JSON (``dataward.history/v1``) and a table of sentences.

``windows`` are per store and finding id (DESIGN.md); ``store_windows`` merge the overlapping windows of one
store into one interval ("analytics-copy: readable without auth from ... to ..., 27 min, held email, ...").
The incident commands read these with ``history_json(state)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dataward.findings import Severity
from dataward.watch.model import Window, iso, parse_iso
from dataward.watch.state import open_state

HISTORY_SCHEMA = "dataward.history/v1"


@dataclass
class StoreWindow:
    """Overlapping windows of one store merged: from the first opening to the last closing."""

    store: str
    opened: str
    closed: str | None
    severity: int
    title: str
    target: str
    findings: list[str] = field(default_factory=list)
    categories: set[str] = field(default_factory=set)
    last_secure: str | None = None


def merge(windows: list[Window]) -> list[StoreWindow]:
    """Per store, overlapping (or touching) finding windows become one store window."""
    out: list[StoreWindow] = []
    by_store: dict[str, list[Window]] = {}
    for w in windows:
        by_store.setdefault(w.store, []).append(w)
    for store, items in sorted(by_store.items()):
        items.sort(key=lambda w: w.opened)
        current: StoreWindow | None = None
        for w in items:
            if current is not None and (current.closed is None or w.opened <= current.closed):
                current.closed = None if current.closed is None or w.closed is None else max(current.closed, w.closed)
                current.findings.append(w.finding)
                current.categories |= set(w.categories)
                if w.severity > current.severity:
                    current.severity, current.title = w.severity, w.title
                continue
            current = StoreWindow(store, w.opened, w.closed, w.severity, w.title, w.target, [w.finding],
                                  set(w.categories), w.last_secure)
            out.append(current)
    return out


def history_json(state: str, store: str | None = None) -> dict[str, Any]:
    """The ``dataward.history/v1`` document of a state database (path or URL); it must already be one."""
    db = open_state(state, create=False)
    try:
        windows = db.windows(store=store)
    finally:
        db.close()
    return history_document(windows)


load_history = history_json


def history_document(windows: list[Window]) -> dict[str, Any]:
    return {
        "schema": HISTORY_SCHEMA,
        "generated_at": iso(datetime.now(UTC)),
        "windows": [
            {
                "store": w.store, "finding": w.finding, "rule": w.rule, "severity": Severity(w.severity).label,
                "title": w.title, "target": w.target, "categories": list(w.categories),
                "opened": w.opened, "closed": w.closed, "last_secure": w.last_secure, "last_seen": w.last_seen,
                "minutes": _minutes(w.opened, w.closed),
            }
            for w in windows
        ],
        "store_windows": [
            {
                "store": s.store, "opened": s.opened, "closed": s.closed, "severity": Severity(s.severity).label,
                "title": s.title, "target": s.target, "findings": s.findings, "categories": sorted(s.categories),
                "last_secure": s.last_secure, "minutes": _minutes(s.opened, s.closed),
            }
            for s in merge(windows)
        ],
    }


def _minutes(opened: str, closed: str | None) -> float:
    end = parse_iso(closed) if closed else datetime.now(UTC)
    return round((end - parse_iso(opened)).total_seconds() / 60, 1)


def duration_text(opened: str, closed: str | None) -> str:
    """'27 min', '3 h 5 min', '22 days 4 h', '40 s'."""
    end = parse_iso(closed) if closed else datetime.now(UTC)
    return seconds_text(int((end - parse_iso(opened)).total_seconds()))


def seconds_text(seconds: int) -> str:
    """A span as people read it: '40 s', '27 min', '3 h 5 min', '22 days 4 h' (negative spans are 0 s)."""
    seconds = max(0, seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} days {hours} h" if hours else f"{days} days"


def _sentence_case(title: str) -> str:
    """'Redis answers ...' -> 'redis answers ...', but 'SQLite file ...' stays (an acronym or brand)."""
    first = title.split(" ", 1)[0]
    return title[:1].lower() + title[1:] if first[1:].islower() else title


def history_lines(doc: dict[str, Any]) -> list[str]:
    """One sentence per store window, oldest first."""
    lines = []
    for s in sorted(doc["store_windows"], key=lambda s: s["opened"]):
        until = f"to {s['closed']}" if s["closed"] else "until now (still open)"
        held = ", held " + ", ".join(s["categories"]) if s["categories"] else ", contents unknown"
        title = _sentence_case(s["title"]) if s["title"] else "exposed"
        lines.append(
            f"{s['store']}: {title} from {s['opened']} {until}, {duration_text(s['opened'], s['closed'])}{held}"
            f" ({s['severity']}, {len(s['findings'])} finding{'s' if len(s['findings']) != 1 else ''})"
        )
    return lines
