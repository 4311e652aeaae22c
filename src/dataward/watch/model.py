"""What the watcher remembers per store, and the changes one probe makes to it (plain data, no I/O)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dataward.exposure.base import Contents


def iso(ts: datetime) -> str:
    """UTC, seconds, 'Z' (the shape of every time in history, alerts and findings)."""
    return ts.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Window:
    """One exposure window of one finding on one store; open while ``closed`` is None."""

    store: str
    finding: str
    rule: str
    severity: int
    title: str
    target: str
    opened: str
    last_seen: str
    categories: tuple[str, ...] = ()
    last_secure: str | None = None  # the last probe before ``opened`` that saw the store without it
    closed: str | None = None
    id: int | None = None


@dataclass
class StoreState:
    """The persisted state of one watched store."""

    store: str
    target: str = ""
    kind: str = ""
    reachable: bool | None = None  # None: never probed
    failures: int = 0
    unreachable_alerted: bool = False
    last_probe: str | None = None
    last_ok: str | None = None
    last_full: str | None = None
    last_secure: str | None = None
    contents: Contents | None = None
    fast_ids: tuple[str, ...] = ()  # findings >= threshold the fast path alone produced last time
    extra: tuple[dict[str, Any], ...] = ()  # findings >= threshold only a full scan produces (finding JSON)
    open: dict[str, Window] = field(default_factory=dict)

    @property
    def exposed(self) -> bool:
        return bool(self.open)


@dataclass(frozen=True)
class Event:
    """A state change, written to the history's ``events`` table."""

    at: str
    store: str
    event: str  # opened | closed | unreachable | reachable | exposed | fixed | new_finding
    finding: str | None = None
    severity: int | None = None
    detail: str = ""


@dataclass(frozen=True)
class Alert:
    """An alert to send to every sink that wants this event (payload is already redacted)."""

    key: str  # dedupe key: the same transition never alerts twice, even across restarts
    event: str
    store: str
    payload: dict[str, Any]


def contents_to_json(contents: Contents | None) -> str | None:
    if contents is None:
        return None
    return json.dumps(
        {
            "categories": sorted(contents.categories),
            "by_object": {k: sorted(v) for k, v in contents.by_object.items()},
            "records": contents.records,
        }
    )


def contents_from_json(text: str | None) -> Contents | None:
    if not text:
        return None
    data = json.loads(text)
    return Contents(
        categories=frozenset(data.get("categories", [])),
        by_object={k: frozenset(v) for k, v in data.get("by_object", {}).items()},
        records=dict(data.get("records", {})),
    )
