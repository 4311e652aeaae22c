"""Shared pieces of the generic rule families (auth, transport, network) that apply to every store kind.

Generic rules are registered once under ``*.<rule>`` (e.g. ``*.no-auth``) and emit findings whose rule id
is ``<store>.<rule>`` (``postgresql.no-auth``, ``redis.no-auth``), so one rule serves every kind while each
finding still names the store's own rule. Titles and remediation come from small tables keyed by store kind.
"""

from __future__ import annotations

from typing import Final

from dataward.categories import SENSITIVE_TIERS, Tier, worst_tier
from dataward.exposure.base import Contents
from dataward.findings import Finding, Severity
from dataward.stores.base import ExposureFacts

# Kinds that have no network transport or login: files on disk are judged by exposure/files.py instead.
LOCAL_KINDS: Final[frozenset[str]] = frozenset({"sqlite", "duckdb", "file"})

STORE_NAMES: Final[dict[str, str]] = {
    "postgresql": "PostgreSQL",
    "mysql": "MySQL/MariaDB",
    "redis": "Redis",
    "mqtt": "MQTT broker",
    "memcached": "memcached",
    "elasticsearch": "Elasticsearch",
    "opensearch": "OpenSearch",
    "mongodb": "MongoDB",
    "s3": "S3 bucket",
    "sqlite": "SQLite file",
    "duckdb": "DuckDB file",
    "file": "export file",
}

# rule -> store kind -> remediation; "*" is the fallback for kinds without their own line.
REMEDIATION: Final[dict[str, dict[str, str]]] = {
    "no-auth": {
        "postgresql": "Replace 'trust' lines in pg_hba.conf with scram-sha-256 and set a password for every role.",
        "mysql": "Drop anonymous accounts, set passwords for every account, and remove '%' hosts that need none.",
        "redis": "Set requirepass / ACLs (disable the default user's nopass), bind to a private interface, "
        "keep protected-mode on.",
        "mqtt": "Set allow_anonymous false, add a password_file or auth plugin, and restrict '#' with an ACL file.",
        "memcached": "Enable SASL (-S) or bind memcached to loopback (-l 127.0.0.1) behind a firewall.",
        "elasticsearch": "Enable the security plugin (xpack.security.enabled: true) and require authentication.",
        "opensearch": "Enable the security plugin and require authentication for every index.",
        "mongodb": "Start mongod with --auth (security.authorization: enabled) and create users.",
        "s3": "Enable Block Public Access and remove public ACL grants and '*' principals from the bucket policy.",
        "*": "Require authentication for every client and restrict who can reach the store.",
    },
    "default-credentials": {
        "postgresql": "Change the password of the default role and use scram-sha-256 in pg_hba.conf.",
        "mysql": "Set a strong root password (ALTER USER 'root'@'%' IDENTIFIED BY ...), or drop remote root.",
        "*": "Change the well-known default credentials to a unique secret held in a vault.",
    },
    "auth-failed": {
        "*": "Check the credentials dataward was given (config value {env=..} or {file=..}).",
    },
    "no-tls": {
        "postgresql": "Set ssl = on with a certificate, and use hostssl lines in pg_hba.conf.",
        "mysql": "Configure ssl_cert/ssl_key and set require_secure_transport = ON.",
        "redis": "Configure tls-port with a certificate and disable the plain port (port 0).",
        "mqtt": "Add a TLS listener (listener 8883 with certfile/keyfile) and close the plain listener.",
        "*": "Serve the store over TLS only.",
    },
    "tls-not-required": {
        "postgresql": "Use hostssl (not host) lines in pg_hba.conf so plain connections are refused.",
        "mysql": "Set require_secure_transport = ON.",
        "*": "Refuse plain-text connections so clients cannot fall back to them.",
    },
    "public-bind": {
        "postgresql": "Set listen_addresses to the private interface(s) clients use, not '*'.",
        "mysql": "Set bind_address to a private interface (or skip_networking for local use only).",
        "redis": "Bind to 127.0.0.1 or a private interface, and keep protected-mode on.",
        "memcached": "Start memcached with -l 127.0.0.1 (or a private address) and -U 0.",
        "*": "Listen on a private interface only and firewall the port.",
    },
    "unreachable": {"*": "Check the host, port and firewall, or pass a larger timeout."},
    "unknown-protocol": {"*": "Check the URL's scheme and port: another service answers there."},
}


def store_name(store: str) -> str:
    return STORE_NAMES.get(store, store)


def remediation(rule: str, store: str) -> str:
    table = REMEDIATION[rule]
    return table.get(store, table["*"])


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


def make_finding(
    rule: str,
    facts: ExposureFacts,
    contents: Contents,
    *,
    severity: Severity,
    title: str,
    evidence: str,
    fix: str | None = None,
    obj: str | None = None,
) -> Finding:
    """A finding with rule id ``<store>.<rule>`` (or ``rule`` itself when it is already a full id) and the
    store kind's remediation unless ``fix`` gives one."""
    return Finding(
        rule=rule if "." in rule else f"{facts.store}.{rule}",
        severity=severity,
        target=facts.target,
        store=facts.store,
        store_name=facts.name,
        object=obj,
        categories=sorted(contents.categories),
        records=facts.records,
        title=title,
        evidence=evidence,
        remediation=fix or remediation(rule, facts.store),
    )
