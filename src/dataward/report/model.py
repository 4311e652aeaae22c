"""The scan report (DESIGN.md ``dataward.report/v1``): targets scanned, findings, summary counts.

Everything in a Report is already safe to persist: URLs are redacted, evidence is redacted by the classifier
and the rules. Renderers (one module per format in this package) only read it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from dataward import __version__
from dataward.findings import REPORT_SCHEMA, Finding, Severity, utc_now

SEVERITIES = [s.label for s in sorted(Severity, reverse=True)]  # critical .. info


class ScannedColumn(BaseModel):
    name: str
    categories: list[str] = Field(default_factory=list)
    evidence: str = ""


class ScannedObject(BaseModel):
    object: str
    records: int | None = None
    categories: list[str] = Field(default_factory=list)
    columns: list[ScannedColumn] = Field(default_factory=list)


class ScannedTarget(BaseModel):
    """One store as the scan saw it: reachability, exposure facts in brief, and what is inside."""

    target: str  # redacted URL
    store: str
    name: str | None = None
    role: str | None = None
    owner: str | None = None
    region: str | None = None
    reachable: bool = False
    exposed: bool = False
    error: str | None = None
    version: str | None = None
    scope: str = "unknown"
    records: int | None = None
    sampled_rows: int = 0
    objects: list[ScannedObject] = Field(default_factory=list)

    @property
    def label(self) -> str:
        return self.name or self.target

    @property
    def categories(self) -> list[str]:
        return sorted({c for o in self.objects for c in o.categories})


@dataclass(frozen=True)
class RuleDoc:
    """What a report format says about a rule id (SARIF reportingDescriptor): one line, the full description,
    the fix, and where its docs are (empty: the formats' defaults)."""

    id: str
    summary: str
    remediation: str
    description: str = ""
    help_uri: str = ""


class Report(BaseModel):
    targets: list[ScannedTarget] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    generated_at: str = Field(default_factory=utc_now)
    policy: str | None = None  # the policy file, when one was used
    baseline: str | None = None
    # Metadata for rule ids the report's own registries do not know (the cloud inventory's aws.* rules).
    rule_docs: dict[str, RuleDoc] = Field(default_factory=dict)

    @property
    def active(self) -> list[Finding]:
        """Findings that count: not suppressed by the baseline."""
        return [f for f in self.findings if not f.suppressed]

    def worst(self) -> Severity | None:
        return max((f.severity for f in self.active), default=None)

    def at_or_above(self, severity: Severity) -> list[Finding]:
        return [f for f in self.active if f.severity >= severity]

    def label_of(self, finding: Finding) -> str:
        """The store a finding belongs to, as reports group them (policy name, else URL)."""
        return finding.store_name or finding.target

    def summary(self) -> dict[str, Any]:
        """Counts by severity and by store (suppressed findings counted apart)."""
        by_sev = Counter(f.severity.label for f in self.active)
        by_store: dict[str, dict[str, int]] = {}
        for t in self.targets:
            by_store.setdefault(t.label, {s: 0 for s in SEVERITIES})
        for f in self.active:
            by_store.setdefault(self.label_of(f), {s: 0 for s in SEVERITIES})[f.severity.label] += 1
        worst = self.worst()
        return {
            "total": len(self.active),
            "by_severity": {s: by_sev.get(s, 0) for s in SEVERITIES},
            "by_store": by_store,
            "suppressed": sum(1 for f in self.findings if f.suppressed),
            "targets": len(self.targets),
            "reachable": sum(1 for t in self.targets if t.reachable),
            "exposed": sum(1 for t in self.targets if t.exposed),
            "worst": worst.label if worst is not None else None,
        }

    def findings_by_store(self) -> list[tuple[str, list[Finding]]]:
        """Findings grouped per store, the store with the worst finding first, worst first inside."""
        groups: dict[str, list[Finding]] = {}
        for t in self.targets:
            groups.setdefault(t.label, [])
        for f in self.findings:
            groups.setdefault(self.label_of(f), []).append(f)
        for items in groups.values():
            items.sort(key=lambda f: (f.suppressed, -int(f.severity), -(f.records or 0), f.object or "", f.rule))

        def key(item: tuple[str, list[Finding]]) -> tuple[int, str]:
            active = [f.severity for f in item[1] if not f.suppressed]
            return (-int(max(active, default=-1)), item[0])

        return sorted(groups.items(), key=key)

    def target_for(self, label: str) -> ScannedTarget | None:
        return next((t for t in self.targets if t.label == label), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": REPORT_SCHEMA,
            "generated_at": self.generated_at,
            "tool": {"name": "dataward", "version": __version__},
            "policy": self.policy,
            "baseline": self.baseline,
            "targets": [t.model_dump(exclude_none=True) for t in self.targets],
            "findings": [f.to_json() for f in self.findings],
            "summary": self.summary(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Report:
        """Read a report written by ``to_json`` (e.g. to render it in another format later)."""
        findings = []
        for f in data.get("findings", []):
            f = {k: v for k, v in f.items() if k != "schema"}
            f["severity"] = Severity.parse(f["severity"])
            findings.append(Finding(**f))
        return cls(
            targets=[ScannedTarget(**t) for t in data.get("targets", [])],
            findings=findings,
            generated_at=data.get("generated_at") or utc_now(),
            policy=data.get("policy"),
            baseline=data.get("baseline"),
        )
