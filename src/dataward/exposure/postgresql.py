"""PostgreSQL-specific rules: a superuser reachable without a password, ``trust`` lines for remote hosts.

The generic families cover the rest (``postgresql.no-auth`` for any role that gets in without a password,
``postgresql.public-bind`` for ``listen_addresses = '*'``, ``postgresql.no-tls`` / ``tls-not-required``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from dataward.exposure._generic import contents_note, weak_config_severity
from dataward.exposure.base import Contents, Hit, exposure_rule
from dataward.findings import Severity
from dataward.stores.base import ExposureFacts

_SUPERUSER_FIX = (
    "Replace 'trust' with scram-sha-256 for every pg_hba.conf line that matches the superuser, and give "
    "the postgres role a password; never let superusers in over the network."
)
_HBA_FIX = "Replace 'trust' with scram-sha-256 (or cert) on every host/hostssl line of pg_hba.conf."


@exposure_rule(
    "postgresql.superuser-no-password",
    stores=("postgresql",),
    summary="A PostgreSQL superuser connects without a password (full read, and programs via COPY PROGRAM).",
    remediation=_SUPERUSER_FIX,
)
def superuser_no_password(facts: ExposureFacts, contents: Contents) -> Iterator[Hit]:
    if not facts.details.get("superuser_without_password"):
        return
    user = facts.details.get("connected_as", "postgres")
    yield Hit(severity=Severity.CRITICAL,
        title=f"PostgreSQL superuser '{user}' connects without a password{contents_note(contents)}",
        evidence=f"connected as superuser '{user}' with no password; a superuser reads every table and can "
        "run server-side programs",
    )


def remote_trust_rules(rules: list[str]) -> list[str]:
    """The host* trust lines whose address is not loopback-only ('local' socket lines are not network)."""
    out = []
    for rule in rules:
        parts = rule.split()
        if not parts or not parts[0].startswith("host"):
            continue
        address = parts[3] if len(parts) > 3 else "all"
        if not _loopback(address):
            out.append(rule)
    return out


def _loopback(address: str) -> bool:
    if address in ("samehost", "localhost"):
        return True
    try:
        return ipaddress.ip_network(address, strict=False).is_loopback
    except ValueError:
        return False  # 'all', 'samenet', a host name: reachable from elsewhere


@exposure_rule(
    "postgresql.hba-trust",
    stores=("postgresql",),
    summary="pg_hba.conf lets some users in from other hosts without a password ('trust').",
    remediation=_HBA_FIX,
)
def hba_trust(facts: ExposureFacts, contents: Contents) -> Iterator[Hit]:
    remote = remote_trust_rules(list(facts.details.get("hba_trust_rules") or ()))
    if not remote:
        return
    severity = max(weak_config_severity(contents), Severity.MEDIUM if facts.scope != "loopback" else Severity.LOW)
    yield Hit(severity=severity,
        title=f"pg_hba.conf trusts {len(remote)} remote rule(s) without a password{contents_note(contents)}",
        evidence="trust lines: " + "; ".join(remote[:5]),
    )
