"""Elasticsearch/OpenSearch rules: security switched off, indices searchable without credentials, Kibana open.

One rule serves both kinds (facts.store is ``elasticsearch`` or ``opensearch``); the generic families add
``<kind>.no-auth``, ``<kind>.default-credentials`` and ``<kind>.no-tls``. Facts come from
stores/elasticsearch.py, tested against a replay fixture.
"""

from __future__ import annotations

from collections.abc import Iterator

from dataward.exposure._generic import contents_note, exposure_severity
from dataward.exposure.base import Contents, Hit, exposure_rule
from dataward.findings import Severity
from dataward.stores.base import ExposureFacts, display_name

_KINDS = ("elasticsearch", "opensearch")
_SECURITY_FIX = ("Enable security (xpack.security.enabled: true, or the OpenSearch security plugin), set "
                 "passwords for built-in users, and require TLS on HTTP.")
_KIBANA_FIX = "Enable security in Kibana / OpenSearch Dashboards and bind server.host to a private interface."


def _who(facts: ExposureFacts) -> str | None:
    if facts.anonymous_access:
        return "without credentials"
    if facts.default_credentials:
        return f"as {facts.default_credentials}"
    return None


@exposure_rule(
    "elasticsearch.security-disabled",
    stores=_KINDS,
    summary="The cluster's security layer is switched off: anyone who reaches it can read, write and delete.",
    remediation=_SECURITY_FIX,
)
def security_disabled(facts: ExposureFacts, contents: Contents) -> Iterator[Hit]:
    if facts.details.get("security") != "disabled":
        return
    endpoint = "_plugins/_security/authinfo" if facts.store == "opensearch" else "_security/_authenticate"
    yield Hit(severity=exposure_severity(contents),
        title=f"{display_name(facts.store)} runs with security switched off{contents_note(contents)}",
        evidence=f"GET /{endpoint} says security is not enabled; every index can be read, overwritten or "
        "deleted (the 'Meow' bot wiped such clusters)",
    )


@exposure_rule(
    "elasticsearch.indices-readable",
    stores=_KINDS,
    summary="Indices are listed by _cat/indices and searchable with _search without real credentials.",
    remediation=_SECURITY_FIX,
)
def indices_readable(facts: ExposureFacts, contents: Contents) -> Iterator[Hit]:
    who = _who(facts)
    if who is None or not facts.details.get("search_readable"):
        return
    n = len(facts.listable)
    shown = ", ".join(facts.listable[:5]) + (", ..." if n > 5 else "")
    docs = f"; about {facts.records:,} documents" if facts.records else ""
    yield Hit(severity=exposure_severity(contents),
        title=f"{display_name(facts.store)} indices are searchable {who}{contents_note(contents)}",
        evidence=f"_cat/indices listed {n} index(es) ({shown}) and _search returned documents {who}{docs}",
    )


@exposure_rule(
    "elasticsearch.kibana-open",
    stores=_KINDS,
    summary="Kibana / OpenSearch Dashboards next to the cluster answers without credentials.",
    remediation=_KIBANA_FIX,
)
def kibana_open(facts: ExposureFacts, contents: Contents) -> Iterator[Hit]:
    if facts.details.get("kibana") != "open":
        return
    port = facts.details.get("kibana_port")
    version = f" {facts.details['kibana_version']}" if facts.details.get("kibana_version") else ""
    yield Hit(severity=max(exposure_severity(contents), Severity.HIGH),
        obj=f"kibana:{port}",
        title=f"Kibana{version} on port {port} answers without credentials{contents_note(contents)}",
        evidence=f"GET :{port}/api/status answered 200 without credentials; its console reaches every index",
    )
