"""Shared pieces of the generic rule families (auth, transport, network) that apply to every store kind.

Generic rules are registered once under ``*.<rule>`` (e.g. ``*.no-auth``) and emit findings whose rule id
is ``<store>.<rule>`` (``postgresql.no-auth``, ``redis.no-auth``), so one rule serves every kind while each
finding still names the store's own rule. A kind's display name and its own fixes are attributes of its store
class (``display_name``, ``remediation``; see stores/base.py), never tables here.
"""

from __future__ import annotations

from dataward.categories import SENSITIVE_TIERS, Tier, worst_tier
from dataward.exposure.base import Contents
from dataward.findings import Severity
from dataward.stores.base import ExposureFacts


def sensitive_tier(contents: Contents) -> Tier | None:
    """The worst tier in the contents when it is credential, health or identity; else None."""
    tier = worst_tier(contents.categories)
    return tier if tier in SENSITIVE_TIERS else None


def exposure_severity(contents: Contents) -> Severity:
    """DESIGN.md: readable without valid credentials + credential/health/identity data -> critical, else high."""
    return Severity.CRITICAL if sensitive_tier(contents) else Severity.HIGH


def weak_config_severity(contents: Contents) -> Severity:
    """DESIGN.md: weak transport or config -> medium with sensitive data inside, low otherwise."""
    return Severity.MEDIUM if sensitive_tier(contents) else Severity.LOW


def beyond_loopback(facts: ExposureFacts) -> bool:
    """Reachable from other hosts as far as we can tell: the URL is not loopback, or the server binds wide."""
    return facts.scope != "loopback" or binds_all_interfaces(facts.bind)


def binds_all_interfaces(bind: str | None) -> bool:
    if not bind:
        return False
    return any(addr in ("*", "0.0.0.0", "::", "[::]", "::0") for addr in split_addresses(bind))


def split_addresses(bind: str) -> list[str]:
    """'127.0.0.1, ::1' / '0.0.0.0 ::' -> individual addresses."""
    return [a.strip() for a in bind.replace(",", " ").split() if a.strip()]


def contents_note(contents: Contents) -> str:
    tier = sensitive_tier(contents)
    if tier is None:
        return ""
    cats = sorted(c for c in contents.categories)
    return f" and holds {tier.value} data ({', '.join(cats[:4])}{', ...' if len(cats) > 4 else ''})"
