"""Suppressions: a baseline file of accepted findings, keyed by finding id, each with a reason and an expiry.

A suppression is a decision someone made and must revisit, so it always expires; once it has, the finding
counts again (and says so in its evidence). File shape (JSON, ``dataward.baseline/v1``)::

    {"schema": "dataward.baseline/v1",
     "suppressions": [{"id": "9f2c1a7b5d3e8c40", "rule": "redis.no-auth", "target": "redis://...",
                       "object": null, "reason": "lab box, no customer data", "expires": "2026-03-01",
                       "added": "2026-12-01"}]}
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final

from dataward.errors import ConfigError
from dataward.files import atomic_write
from dataward.findings import Finding

BASELINE_SCHEMA: Final = "dataward.baseline/v1"
DEFAULT_DAYS: Final = 90


@dataclass(frozen=True)
class Suppression:
    id: str
    reason: str
    expires: date
    rule: str | None = None
    target: str | None = None
    object: str | None = None
    added: date | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["expires"] = self.expires.isoformat()
        data["added"] = self.added.isoformat() if self.added else None
        return data


@dataclass(frozen=True)
class Baseline:
    suppressions: tuple[Suppression, ...] = ()
    path: str | None = None

    def by_id(self) -> dict[str, Suppression]:
        return {s.id: s for s in self.suppressions}

    def apply(self, findings: list[Finding], today: date | None = None) -> list[Finding]:
        """Mark suppressed findings; an expired suppression leaves its finding active, with a note."""
        today = today or date.today()
        known = self.by_id()
        out = []
        for f in findings:
            s = known.get(f.id)
            if s is None:
                out.append(f)
            elif s.expires >= today:
                out.append(f.model_copy(update={"suppressed": True}))
            else:
                note = f"baseline suppression expired on {s.expires.isoformat()} (reason was: {s.reason})"
                evidence = f"{f.evidence}; {note}" if f.evidence else note
                out.append(f.model_copy(update={"evidence": evidence}))
        return out

    def updated(self, findings: list[Finding], reason: str, days: int = DEFAULT_DAYS) -> Baseline:
        """This baseline plus every active finding not in it yet (existing entries keep their reason/expiry)."""
        today = date.today()
        known = self.by_id()
        added = [
            Suppression(
                id=f.id,
                reason=reason,
                expires=today + timedelta(days=days),
                rule=f.rule,
                target=f.target,
                object=f.object,
                added=today,
            )
            for f in findings
            if f.id not in known and not f.suppressed
        ]
        unique = {s.id: s for s in added}
        return Baseline((*self.suppressions, *unique.values()), self.path)

    def to_json(self) -> dict[str, Any]:
        return {"schema": BASELINE_SCHEMA, "suppressions": [s.to_json() for s in self.suppressions]}


def load_baseline(path: str | Path, *, missing_ok: bool = False) -> Baseline:
    """Read a baseline file; with ``missing_ok`` a file that does not exist yet is an empty baseline."""
    file = Path(path)
    if not file.exists():
        if missing_ok:
            return Baseline(path=str(path))
        raise ConfigError(
            f"the baseline file {file} does not exist", tip="create it with --update-baseline"
        )
    try:
        data = json.loads(file.read_text())
        entries = data["suppressions"]
        return Baseline(tuple(_entry(e, i) for i, e in enumerate(entries)), str(path))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"the baseline file {file} cannot be read as a dataward baseline ({type(exc).__name__})",
            tip='it is JSON: {"schema": "dataward.baseline/v1", "suppressions": [...]}',
        ) from None


def _entry(e: dict[str, Any], i: int) -> Suppression:
    for key in ("id", "reason", "expires"):
        if not e.get(key):
            raise ConfigError(f"baseline suppression number {i + 1} has no '{key}'",
                              tip="every suppression needs an id, a reason and an expires date")
    try:
        expires = date.fromisoformat(str(e["expires"]))
        added = date.fromisoformat(str(e["added"])) if e.get("added") else None
    except ValueError:
        raise ConfigError(f"baseline suppression number {i + 1} has a date that is not YYYY-MM-DD") from None
    return Suppression(
        id=str(e["id"]), reason=str(e["reason"]), expires=expires, rule=e.get("rule"),
        target=e.get("target"), object=e.get("object"), added=added,
    )


def write_baseline(baseline: Baseline, path: str | Path) -> None:
    """Write atomically, so an interrupted update never leaves half a baseline."""
    atomic_write(path, json.dumps(baseline.to_json(), indent=2) + "\n", what="the baseline file")
