"""Findings (DESIGN.md 'Finding'): the one shape every part reports problems in."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dataward.errors import DatawardError
from dataward.suggest import did_you_mean

FINDING_SCHEMA = "dataward.finding/v1"
REPORT_SCHEMA = "dataward.report/v1"


class Severity(IntEnum):
    """Ordered so that ``max()`` and ``>=`` mean 'worse'."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = [s.label for s in cls]
            raise DatawardError(
                f"severity '{text}' is not one of {', '.join(names)}.{did_you_mean(text.lower(), names)}"
            ) from None


def fingerprint(rule: str, target: str, obj: str | None) -> str:
    """Stable id of (rule, target, object): the same problem keeps its id across scans."""
    raw = "\x1f".join((rule, target, obj or ""))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class Finding(BaseModel):
    """One problem on one object of one store; every text field is already redacted."""

    model_config = ConfigDict(frozen=True)

    id: str = ""
    rule: str
    severity: Severity
    target: str  # redacted display URL
    store: str  # store kind ("redis") ...
    store_name: str | None = None  # ... and the policy's name for it, when known
    object: str | None = None
    categories: list[str] = Field(default_factory=list)
    records: int | None = None
    title: str
    evidence: str = ""
    remediation: str = ""
    first_seen: str = Field(default_factory=utc_now)
    policy: str | None = None  # the policy line that produced a policy finding
    suppressed: bool = False

    def model_post_init(self, __context: Any) -> None:
        if not self.id:
            object.__setattr__(self, "id", fingerprint(self.rule, self.target, self.object))

    def to_json(self) -> dict[str, Any]:
        data = self.model_dump(exclude_none=True)
        data["severity"] = self.severity.label
        data["schema"] = FINDING_SCHEMA
        return data


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Worst first, then grouped by store and object, so a report reads top-down."""
    return sorted(findings, key=lambda f: (-f.severity, f.store_name or f.target, f.object or "", f.rule))
