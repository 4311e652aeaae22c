"""Generic network rules: listening on all interfaces or a public address; unreachable; unknown protocol.

Registered as ``*.public-bind``, ``*.unreachable`` and ``*.unknown-protocol``; findings are
``<store>.<rule>``. Buckets and local files have no listen address and are left to their own families.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from dataward.exposure._generic import (
    LOCAL_KINDS,
    binds_all_interfaces,
    contents_note,
    make_finding,
    remediation,
    split_addresses,
    store_name,
    weak_config_severity,
)
from dataward.exposure.base import Contents, exposure_rule
from dataward.findings import Finding, Severity
from dataward.stores.base import ExposureFacts

_NO_LISTENER = LOCAL_KINDS | {"s3"}


def _public_address(bind: str | None) -> str | None:
    """The first public (globally routable) address in a bind list, if any."""
    for addr in split_addresses(bind or ""):
        try:
            ip = ipaddress.ip_address(addr.strip("[]"))
        except ValueError:
            continue
        if ip.is_global:
            return addr
    return None


@exposure_rule(
    "*.public-bind",
    summary="The store listens on every interface or on a public address.",
    remediation=remediation("public-bind", "*"),
)
def public_bind(facts: ExposureFacts, contents: Contents) -> Iterator[Finding]:
    if facts.store in _NO_LISTENER or not facts.reachable:
        return
    public = _public_address(facts.bind) or (facts.target if facts.scope == "public" else None)
    if public:
        severity, what, where = Severity.MEDIUM, "is reachable on a public address", public
    elif binds_all_interfaces(facts.bind):
        severity, what, where = weak_config_severity(contents), "listens on all interfaces", str(facts.bind)
    else:
        return
    source = "the server's own settings" if facts.bind else "the target URL"
    yield make_finding(
        "public-bind",
        facts,
        contents,
        severity=severity,
        title=f"{store_name(facts.store)} {what}{contents_note(contents)}",
        evidence=f"{what} ({where}), from {source}",
    )


@exposure_rule(
    "*.unreachable",
    summary="The store could not be reached or its handshake failed (timeout, refused, TLS error).",
    remediation=remediation("unreachable", "*"),
)
def unreachable(facts: ExposureFacts, contents: Contents) -> Iterator[Finding]:
    if facts.reachable or facts.details.get("protocol_mismatch"):
        return
    yield make_finding(
        "unreachable",
        facts,
        contents,
        severity=Severity.INFO,
        title=f"{store_name(facts.store)} could not be reached",
        evidence=facts.error or "no answer",
    )


@exposure_rule(
    "*.unknown-protocol",
    summary="Something answers at the address, but not the store's protocol.",
    remediation=remediation("unknown-protocol", "*"),
)
def unknown_protocol(facts: ExposureFacts, contents: Contents) -> Iterator[Finding]:
    mismatch = facts.details.get("protocol_mismatch")
    if not mismatch:
        return
    yield make_finding(
        "unknown-protocol",
        facts,
        contents,
        severity=Severity.INFO,
        title=f"the service at the target does not speak the {store_name(facts.store)} protocol",
        evidence=str(mismatch),
    )
