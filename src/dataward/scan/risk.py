"""Severity of what is inside a store, from exposure × sensitivity tier × volume (DESIGN.md 'Severity').

Exposure rules (exposure/) judge the store as a whole; these findings name each table, key pattern or topic
that holds sensitive data, with its categories and estimated records, so a reader sees *what* is open.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final, Literal

from dataward.categories import CATEGORY_TIERS, SENSITIVE_TIERS, TIER_ORDER, Tier, worst_tier
from dataward.classify.base import ObjectResult
from dataward.exposure.content import EXPOSED_RULE, INVENTORY_RULE, remediation
from dataward.findings import Finding, Severity
from dataward.stores.base import ExposureFacts

BULK_RECORDS: Final = 100_000  # an exposed object at least this large is worse than a handful of rows

Exposure = Literal["open", "local"] | None  # open: anyone on the network (or the web); local: every account


def exposure_of(facts: ExposureFacts) -> Exposure:
    """How far the contents reach: an open server or a file served from a web root is 'open'; a file
    every local account can read is 'local' (exposure/files.py's world-readable facts)."""
    if facts.exposed:
        return "open"
    details = facts.details or {}
    readable = set(details.get("world_readable") or ()) | set(details.get("group_readable") or ())
    if any(p in readable for p in (details.get("web_root") or {})):
        return "open"
    if details.get("world_readable"):
        return "local"
    return None


def object_severity(
    exposure: Exposure | bool, categories: Iterable[str], records: int | None, *, linkable: bool = False
) -> Severity:
    """Open credential/health/identity data is critical; open device data high (medium when tiny).

    ``linkable``: the same open store also holds identity or credential data, so device data (SSIDs,
    nicknames like "Emma's Nursery", MACs) joins to a named customer and is as bad as the identity itself.
    Data only local accounts can read ranks one step lower.
    """
    exposure = "open" if exposure is True else (None if exposure is False else exposure)
    tier = worst_tier(frozenset(categories))
    if tier is None or exposure is None:
        return Severity.INFO
    if tier in SENSITIVE_TIERS or (tier is Tier.DEVICE and linkable):
        severity = Severity.CRITICAL
    elif tier is Tier.DEVICE:
        severity = Severity.HIGH if (records is None or records >= 10) else Severity.MEDIUM
    else:
        severity = Severity.LOW
    return severity if exposure == "open" else Severity(max(int(severity) - 1, int(Severity.LOW)))


def content_findings(facts: ExposureFacts, objects: Iterable[ObjectResult]) -> Iterator[Finding]:
    """One finding per object holding anything above the metadata tier: critical when the store is open."""
    objects = list(objects)
    store_tiers = {CATEGORY_TIERS[c] for o in objects for c in o.categories if c in CATEGORY_TIERS}
    linkable = bool(store_tiers & {Tier.IDENTITY, Tier.CREDENTIAL})
    exposure = exposure_of(facts)
    for obj in objects:
        cats = sorted(c for c in obj.categories if CATEGORY_TIERS.get(c, Tier.METADATA) is not Tier.METADATA)
        if not cats:
            continue
        severity = object_severity(exposure, cats, obj.records, linkable=linkable)
        rule = EXPOSED_RULE if exposure else INVENTORY_RULE
        yield Finding(
            rule=f"{facts.store}.{rule}",
            severity=severity,
            target=facts.target,
            store=facts.store,
            store_name=facts.name,
            object=obj.object,
            categories=cats,
            records=obj.records,
            title=_title(exposure, obj, cats),
            evidence=_evidence(obj),
            remediation=remediation(rule),
        )


def tiers_of(categories: Iterable[str]) -> list[str]:
    """Tiers present, most sensitive first (for titles and summaries)."""
    present = {CATEGORY_TIERS[c] for c in categories if c in CATEGORY_TIERS}
    return [t.value for t in TIER_ORDER if t in present]


def _title(exposure: Exposure, obj: ObjectResult, cats: list[str]) -> str:
    what = ", ".join(cats[:6]) + (", ..." if len(cats) > 6 else "")
    size = f" ({obj.records:,} records)" if obj.records else ""
    tiers = "/".join(tiers_of(cats))
    if exposure == "open":
        return f"'{obj.object}'{size} is readable without credentials and holds {tiers} data: {what}"
    if exposure == "local":
        return f"'{obj.object}'{size} is readable by every local account and holds {tiers} data: {what}"
    return f"'{obj.object}'{size} holds {tiers} data: {what}"


def _evidence(obj: ObjectResult) -> str:
    """Which columns, with the classifier's redacted evidence (never a raw value)."""
    parts = []
    for col in obj.columns:
        ids = [c for c in col.category_ids if CATEGORY_TIERS.get(c, Tier.METADATA) is not Tier.METADATA]
        if ids:
            ev = f" e.g. {col.evidence}" if col.evidence else ""
            parts.append(f"{col.name}: {'/'.join(ids)}{ev}")
        elif col.free_text and "." not in col.name:  # embedded in notes or blobs: no value to show
            parts.append(f"{col.name}: free text with {'/'.join(col.free_text)}")
    sensitive = len(parts)
    shown = "; ".join(parts[:8]) + ("; ..." if len(parts) > 8 else "")
    return f"{sensitive} of {len(obj.columns)} sampled columns hold sensitive data ({shown})"


def rank_key(finding: Finding) -> tuple[int, int]:
    """Worst first; within a severity, more records first (volume)."""
    return (-int(finding.severity), -(finding.records or 0))
