"""Generic network rules: listening on all interfaces or a public address; unreachable; unknown protocol.

Registered as ``*.public-bind``, ``*.unreachable`` and ``*.unknown-protocol``; findings are
``<store>.<rule>``. Buckets and local files have no listen address and are left to their own families.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from dataward.exposure._generic import (
    binds_all_interfaces,
    contents_note,
    split_addresses,
    weak_config_severity,
)
from dataward.exposure.base import Contents, Hit, exposure_rule
from dataward.findings import Severity
from dataward.stores.base import ExposureFacts, display_name, listens


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
    local=False,
    summary="The store listens on every interface or on a public address.",
    remediation="Listen on a private interface only and firewall the port.",
)
def public_bind(facts: ExposureFacts, contents: Contents) -> Iterator[Hit]:
    if not listens(facts.store) or not facts.reachable:
        return
    public = _public_address(facts.bind) or (facts.target if facts.scope == "public" else None)
    if public:
        severity, what, where = Severity.MEDIUM, "is reachable on a public address", public
    elif binds_all_interfaces(facts.bind):
        severity, what, where = weak_config_severity(contents), "listens on all interfaces", str(facts.bind)
    else:
        return
    source = "the server's own settings" if facts.bind else "the target URL"
    yield Hit(severity=severity,
        title=f"{display_name(facts.store)} {what}{contents_note(contents)}",
        evidence=f"{what} ({where}), from {source}",
    )


@exposure_rule(
    "*.unreachable",
    summary="The store could not be reached or its handshake failed (timeout, refused, TLS error).",
    remediation="Check the host, port and firewall, or pass a larger timeout.",
)
def unreachable(facts: ExposureFacts, contents: Contents) -> Iterator[Hit]:
    if facts.reachable or facts.details.get("protocol_mismatch"):
        return
    yield Hit(severity=Severity.INFO,
        title=f"{display_name(facts.store)} could not be reached",
        evidence=facts.error or "no answer",
    )


@exposure_rule(
    "*.unknown-protocol",
    summary="Something answers at the address, but not the store's protocol.",
    remediation="Check the URL's scheme and port: another service answers there.",
)
def unknown_protocol(facts: ExposureFacts, contents: Contents) -> Iterator[Hit]:
    mismatch = facts.details.get("protocol_mismatch")
    if not mismatch:
        return
    yield Hit(severity=Severity.INFO,
        title=f"the service at the target does not speak the {display_name(facts.store)} protocol",
        evidence=str(mismatch),
    )
