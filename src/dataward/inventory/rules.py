"""Cloud rules: pure functions of a ``CloudStore``'s facts -> findings (``<provider>.<kind>.<rule>`` ids).

Severity follows DESIGN.md: critical = readable without credentials and holding credential, health or
identity data (known from ``--probe`` or from a data-classification tag); high = readable without credentials;
medium = reachable from the internet with credentials still required, or no TLS on such a store; low/info =
one change away (an open security group on a private store, no AUTH inside the VPC, no encryption at rest).
Each finding's remediation is the exact setting to change, taken from the provider's facts (``fixes``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from dataward.findings import Finding, Severity
from dataward.inventory.base import CloudStore
from dataward.registry import Registry

RuleFn = Callable[[CloudStore, frozenset[str]], Iterator[Finding]]


@dataclass(frozen=True)
class CloudRule:
    """A rule family member: ``suffix`` is the last part of the id (``public`` -> ``aws.rds.public``)."""

    suffix: str
    summary: str
    severities: str  # when it is critical/high/medium/low, for the docs
    fn: RuleFn


CLOUD_RULES: Registry[CloudRule] = Registry("cloud rule", key=lambda r: r.suffix)


def cloud_rule(suffix: str, *, summary: str, severities: str) -> Callable[[RuleFn], RuleFn]:
    def wrap(fn: RuleFn) -> RuleFn:
        CLOUD_RULES.register(CloudRule(suffix, summary, severities, fn))
        return fn

    return wrap


def target_of(store: CloudStore) -> str:
    """The store as a target URL (no credentials): what scan and discovery would call it, else its ARN."""
    if store.kind == "s3":
        return f"s3://{store.name}"
    if store.host and store.scheme:
        suffix = "?kind=elasticsearch" if store.scheme in ("http", "https") else ""
        return f"{store.scheme}://{store.host}:{store.port}{suffix}" if store.port else f"{store.scheme}://{store.host}"
    return store.id


def finding(store: CloudStore, suffix: str, severity: Severity, title: str, evidence: str, fix: str,
            categories: Iterable[str] = ()) -> Finding:
    return Finding(
        rule=f"{store.provider}.{store.kind}.{suffix}", severity=severity, target=target_of(store),
        store=store.kind, store_name=store.name, object=store.id, title=title, evidence=evidence,
        remediation=fix, categories=sorted(categories),
    )


def evaluate_store(store: CloudStore, sensitive: frozenset[str] = frozenset()) -> list[Finding]:
    """Every finding the cloud rules draw from one store (``sensitive``: categories a probe found inside)."""
    return [f for rule in CLOUD_RULES for f in rule.fn(store, sensitive)]


def _where(store: CloudStore) -> str:
    return f"{store.kind} {store.name} ({store.account}, {store.region})"


@cloud_rule(
    "public",
    summary="The account's settings let anyone on the internet connect to the store.",
    severities="critical when readable without credentials and it holds credential, health or identity data "
               "(probe, or a data-classification tag); high when readable without credentials; medium when "
               "credentials are still required",
)
def public(store: CloudStore, sensitive: frozenset[str]) -> Iterator[Finding]:
    if not store.reachable_from_internet:
        return
    if store.anonymous and (sensitive or store.tagged_sensitive):
        severity, what = Severity.CRITICAL, "is readable by anyone on the internet and holds sensitive data"
    elif store.anonymous:
        severity, what = Severity.HIGH, "is readable by anyone on the internet"
    else:
        severity, what = Severity.MEDIUM, "is reachable from the internet (credentials still required)"
    evidence = "; ".join(store.why)
    if store.tagged_sensitive and not sensitive:
        evidence += f"; tagged {store.classification!r}"
    yield finding(store, "public", severity, f"{_where(store)} {what}", evidence, store.fixes.get("public", ""),
                  categories=sensitive)


@cloud_rule(
    "open-ingress",
    summary="A security group admits 0.0.0.0/0 or ::/0 on the store's port, though other settings keep it private.",
    severities="low (one setting away from public)",
)
def open_ingress(store: CloudStore, sensitive: frozenset[str]) -> Iterator[Finding]:
    if store.reachable_from_internet or not store.open_ingress:
        return
    yield finding(store, "open-ingress", Severity.LOW,
                  f"{_where(store)} admits the whole internet in its security group",
                  "; ".join(store.why), store.fixes.get("ingress", ""))


@cloud_rule(
    "no-auth",
    summary="The store accepts clients without credentials (no AUTH token, open-access ACL, policy allowing *).",
    severities="low inside the VPC (the public rule covers it when reachable from the internet)",
)
def no_auth(store: CloudStore, sensitive: frozenset[str]) -> Iterator[Finding]:
    if store.auth_required is not False or store.reachable_from_internet:
        return
    yield finding(store, "no-auth", Severity.LOW, f"{_where(store)} requires no credentials",
                  f"auth: {store.auth or 'none'}", store.fixes.get("auth", store.fixes.get("public", "")))


@cloud_rule(
    "no-tls",
    summary="Clients may talk to the store without TLS (in-transit encryption off).",
    severities="medium when reachable from the internet, else low",
)
def no_tls(store: CloudStore, sensitive: frozenset[str]) -> Iterator[Finding]:
    if store.tls_in_transit is not False:
        return
    severity = Severity.MEDIUM if store.reachable_from_internet else Severity.LOW
    yield finding(store, "no-tls", severity, f"{_where(store)} does not require TLS",
                  "in-transit encryption is off", store.fixes.get("tls", ""))


@cloud_rule(
    "unencrypted",
    summary="Data at rest is not encrypted (storage, snapshots and backups readable from the disks).",
    severities="low",
)
def unencrypted(store: CloudStore, sensitive: frozenset[str]) -> Iterator[Finding]:
    if store.encrypted_at_rest is not False:
        return
    yield finding(store, "unencrypted", Severity.LOW, f"{_where(store)} is not encrypted at rest",
                  "encryption at rest is off", store.fixes.get("encryption", ""))


@cloud_rule(
    "no-owner",
    summary="No owner tag (owner, team, contact): nobody answers for the store.",
    severities="info",
)
def no_owner(store: CloudStore, sensitive: frozenset[str]) -> Iterator[Finding]:
    if store.owner:
        return
    yield finding(store, "no-owner", Severity.INFO, f"{_where(store)} has no owner tag",
                  f"tags: {', '.join(sorted(store.tags)) or 'none'}",
                  "Tag the resource with owner=<team or e-mail> (and data-classification=<level>).")
