"""Cloud rules: pure functions of a ``CloudStore``'s facts -> findings (``<provider>.<kind>.<rule>`` ids).

Severity follows DESIGN.md: critical = readable without credentials and holding credential, health or
identity data (known from ``--probe`` or from a data-classification tag); high = readable without credentials;
medium = reachable from the internet with credentials still required, or no TLS on such a store; low/info =
one change away (an open security group on a private store, no AUTH inside the VPC, no encryption at rest).
Each finding's remediation is the exact setting to change, taken from the provider's facts (``fixes``).

A rule is a class whose facts are its attributes (id suffix, summary, description, severities, remediation,
docs anchor): the docs, the SARIF rule metadata and the findings all read them there, and ``CLOUD_RULES`` is
the one registry of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import ClassVar

from dataward.findings import Finding, Severity
from dataward.inventory.base import CloudStore
from dataward.registry import Registry
from dataward.report.model import RuleDoc

DOCS_URI = "https://github.com/dataward/dataward/blob/main/docs/inventory.md"


class CloudRule:
    """A cloud rule: the facts on the class, ``check`` yields its findings for one store.

    ``suffix`` is the last part of the id (``public`` -> ``aws.rds.public``); ``fixes`` are the keys of the
    store's ``fixes`` (the exact setting for that store) tried in turn for a finding's remediation.
    """

    suffix: ClassVar[str]
    summary: ClassVar[str]  # one line: docs, SARIF shortDescription
    description: ClassVar[str]  # what it checks and why it matters: SARIF fullDescription
    severities: ClassVar[str]  # when it is critical/high/medium/low, for the docs and SARIF help
    remediation: ClassVar[str]  # the fix in general; each finding names its store's exact setting
    fixes: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def anchor(cls) -> str:
        """The rule's anchor in docs/inventory.md (``<a id="rule-public">``)."""
        return f"rule-{cls.suffix}"

    @classmethod
    def help_uri(cls) -> str:
        return f"{DOCS_URI}#{cls.anchor()}"

    @classmethod
    def fix_for(cls, store: CloudStore) -> str:
        return next((store.fixes[k] for k in cls.fixes if store.fixes.get(k)), "")

    @classmethod
    def doc(cls, rule_id: str) -> RuleDoc:
        """What a report says about the rule ``rule_id`` (``aws.<kind>.<suffix>``) in its rule metadata."""
        return RuleDoc(
            id=rule_id, summary=cls.summary, description=f"{cls.description} Severity: {cls.severities}.",
            remediation=f"{cls.remediation} Each result's remediation names the exact setting and command for "
                        f"its store.", help_uri=cls.help_uri(),
        )

    @classmethod
    def check(cls, store: CloudStore, sensitive: frozenset[str]) -> Iterator[Finding]:
        raise NotImplementedError

    @classmethod
    def finding(cls, store: CloudStore, severity: Severity, title: str, evidence: str,
                categories: Iterable[str] = ()) -> Finding:
        return finding(store, cls.suffix, severity, title, evidence, cls.fix_for(store), categories)


CLOUD_RULES: Registry[type[CloudRule]] = Registry("cloud rule", key=lambda r: r.suffix)


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
    return [f for rule in CLOUD_RULES for f in rule.check(store, sensitive)]


def rule_docs(rule_ids: Iterable[str]) -> dict[str, RuleDoc]:
    """Report rule metadata for the cloud rule ids among ``rule_ids`` (``<provider>.<kind>.<suffix>``)."""
    out: dict[str, RuleDoc] = {}
    for rule_id in rule_ids:
        parts = rule_id.split(".")
        rule = CLOUD_RULES.find(parts[-1]) if len(parts) == 3 else None
        if rule is not None:
            out[rule_id] = rule.doc(rule_id)
    return out


def _where(store: CloudStore) -> str:
    return f"{store.kind} {store.name} ({store.account}, {store.region})"


@CLOUD_RULES.register
class Public(CloudRule):
    suffix = "public"
    summary = "The account's settings let anyone on the internet connect to the store."
    description = ("The store's settings together (a public flag or public endpoint, a subnet routed to an internet "
                   "gateway, a security group open to 0.0.0.0/0 or ::/0 on its port, an OpenSearch or S3 policy for "
                   "Principal \"*\", S3 ACL grants not stopped by Block Public Access) let anyone on the internet "
                   "reach it; the finding's evidence lists the settings that decided it.")
    severities = ("critical when readable without credentials and it holds credential, health or identity data "
                  "(probe, or a data-classification tag); high when readable without credentials; medium when "
                  "credentials are still required")
    remediation = ("Make the store private: turn off its public flag or move it to private subnets, remove the "
                   "0.0.0.0/0 and ::/0 ingress rules on its port, replace Principal \"*\" in its access policy, "
                   "and turn on S3 Block Public Access for buckets.")
    fixes = ("public",)

    @classmethod
    def check(cls, store: CloudStore, sensitive: frozenset[str]) -> Iterator[Finding]:
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
        yield cls.finding(store, severity, f"{_where(store)} {what}", evidence, categories=sensitive)


@CLOUD_RULES.register
class OpenIngress(CloudRule):
    suffix = "open-ingress"
    summary = "A security group admits 0.0.0.0/0 or ::/0 on the store's port, though other settings keep it private."
    description = ("A security group of the store admits the whole internet on the store's port, while its subnets "
                   "or public flag still keep it private: one change (a public flag, a route to an internet "
                   "gateway) away from public.")
    severities = "low (one setting away from public)"
    remediation = ("Remove the 0.0.0.0/0 and ::/0 ingress rules on the store's port (aws ec2 "
                   "revoke-security-group-ingress) and allow only the application's security group or VPC range.")
    fixes = ("ingress",)

    @classmethod
    def check(cls, store: CloudStore, sensitive: frozenset[str]) -> Iterator[Finding]:
        if store.reachable_from_internet or not store.open_ingress:
            return
        yield cls.finding(store, Severity.LOW, f"{_where(store)} admits the whole internet in its security group",
                          "; ".join(store.why))


@CLOUD_RULES.register
class NoAuth(CloudRule):
    suffix = "no-auth"
    summary = "The store accepts clients without credentials (no AUTH token, open-access ACL, policy allowing *)."
    description = ("Clients need no credentials: ElastiCache without an AUTH token or RBAC user group, MemoryDB with "
                   "the open-access ACL, an OpenSearch policy allowing \"*\" without fine-grained access control. "
                   "Anything inside the network reads it.")
    severities = "low inside the VPC (the public rule covers it when reachable from the internet)"
    remediation = ("Require credentials: an ElastiCache AUTH token or RBAC user group, a MemoryDB ACL other than "
                   "open-access, OpenSearch fine-grained access control or an access policy naming principals.")
    fixes = ("auth", "public")

    @classmethod
    def check(cls, store: CloudStore, sensitive: frozenset[str]) -> Iterator[Finding]:
        if store.auth_required is not False or store.reachable_from_internet:
            return
        yield cls.finding(store, Severity.LOW, f"{_where(store)} requires no credentials",
                          f"auth: {store.auth or 'none'}")


class SettingOff(CloudRule):
    """A rule that fires when one protection of the store (a ``CloudStore`` field) is known to be off."""

    setting: ClassVar[str]  # the CloudStore field, False when the protection is off
    title: ClassVar[str]  # what the finding's title says of the store
    evidence: ClassVar[str]

    @classmethod
    def severity(cls, store: CloudStore) -> Severity:
        return Severity.LOW

    @classmethod
    def check(cls, store: CloudStore, sensitive: frozenset[str]) -> Iterator[Finding]:
        if getattr(store, cls.setting) is not False:
            return
        yield cls.finding(store, cls.severity(store), f"{_where(store)} {cls.title}", cls.evidence)


@CLOUD_RULES.register
class NoTls(SettingOff):
    suffix = "no-tls"
    summary = "Clients may talk to the store without TLS (in-transit encryption off)."
    description = ("In-transit encryption is not required (RDS/Aurora/Redshift/DocumentDB parameter groups, "
                   "ElastiCache TransitEncryptionEnabled, MemoryDB TLSEnabled, OpenSearch EnforceHTTPS and "
                   "node-to-node encryption, S3 without an aws:SecureTransport deny): credentials and data cross "
                   "the network in clear.")
    severities = "medium when reachable from the internet, else low"
    remediation = ("Make TLS mandatory: rds.force_ssl=1 or require_secure_transport=ON in a custom parameter group, "
                   "TransitEncryptionMode=required, EnforceHTTPS, or a bucket-policy deny when "
                   "aws:SecureTransport is false.")
    fixes = ("tls",)
    setting = "tls_in_transit"
    title = "does not require TLS"
    evidence = "in-transit encryption is off"

    @classmethod
    def severity(cls, store: CloudStore) -> Severity:
        return Severity.MEDIUM if store.reachable_from_internet else Severity.LOW


@CLOUD_RULES.register
class Unencrypted(SettingOff):
    suffix = "unencrypted"
    summary = "Data at rest is not encrypted (storage, snapshots and backups readable from the disks)."
    description = ("Encryption at rest is off (StorageEncrypted, Encrypted, AtRestEncryptionEnabled, "
                   "EncryptionAtRestOptions, no S3 default encryption): storage, snapshots and backups are "
                   "readable by whoever gets the disks or a shared snapshot.")
    severities = "low"
    remediation = ("Turn on encryption at rest (KMS); for kinds that set it only at creation, restore an encrypted "
                   "copy (an encrypted snapshot, a new cluster) and migrate.")
    fixes = ("encryption",)
    setting = "encrypted_at_rest"
    title = "is not encrypted at rest"
    evidence = "encryption at rest is off"


@CLOUD_RULES.register
class NoOwner(CloudRule):
    suffix = "no-owner"
    summary = "No owner tag (owner, team, contact): nobody answers for the store."
    description = ("The store has no owner, team or contact tag, so nobody answers for it when it is exposed, and "
                   "nobody is asked before it is kept or deleted.")
    severities = "info"
    remediation = "Tag the resource with owner=<team or e-mail> (and data-classification=<level>)."

    @classmethod
    def fix_for(cls, store: CloudStore) -> str:
        return cls.remediation

    @classmethod
    def check(cls, store: CloudStore, sensitive: frozenset[str]) -> Iterator[Finding]:
        if store.owner:
            return
        yield cls.finding(store, Severity.INFO, f"{_where(store)} has no owner tag",
                          f"tags: {', '.join(sorted(store.tags)) or 'none'}")
