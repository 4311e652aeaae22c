"""Generic transport rules: no TLS, or TLS offered but not required, where it matters.

It matters when the store is reachable beyond loopback (by its URL or its own bind address) or when its
contents are known to be sensitive; a loopback-only store with unknown contents yields nothing.
Registered as ``*.no-tls`` and ``*.tls-not-required``; findings are ``<store>.<rule>``.
"""

from __future__ import annotations

from collections.abc import Iterator

from dataward.exposure._generic import beyond_loopback, contents_note, sensitive_tier, weak_config_severity
from dataward.exposure.base import Contents, Hit, exposure_rule
from dataward.stores.base import ExposureFacts, display_name


def _matters(facts: ExposureFacts, contents: Contents) -> bool:
    return facts.reachable and (
        beyond_loopback(facts) or sensitive_tier(contents) is not None
    )


def _where(facts: ExposureFacts) -> str:
    if facts.scope != "loopback":
        return f"reached over a {facts.scope} address"
    return f"listening on {facts.bind}" if facts.bind else "reached over loopback"


@exposure_rule(
    "*.no-tls",
    local=False,
    summary="The store does not offer TLS, so credentials and data cross the network in plain text.",
    remediation="Serve the store over TLS only.",
)
def no_tls(facts: ExposureFacts, contents: Contents) -> Iterator[Hit]:
    if facts.tls_offered is not False or not _matters(facts, contents):
        return
    yield Hit(severity=weak_config_severity(contents),
        title=f"{display_name(facts.store)} does not offer TLS{contents_note(contents)}",
        evidence=f"TLS handshake refused or not offered; {_where(facts)}",
    )


@exposure_rule(
    "*.tls-not-required",
    local=False,
    summary="The store offers TLS but still accepts plain-text clients.",
    remediation="Refuse plain-text connections so clients cannot fall back to them.",
)
def tls_not_required(facts: ExposureFacts, contents: Contents) -> Iterator[Hit]:
    if facts.tls_offered is not True or facts.tls_required is not False or not _matters(facts, contents):
        return
    yield Hit(severity=weak_config_severity(contents),
        title=f"{display_name(facts.store)} accepts plain-text connections{contents_note(contents)}",
        evidence=f"TLS is offered but a plain-text connection was accepted; {_where(facts)}",
    )
