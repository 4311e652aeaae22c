"""The cloud-provider family: what a provider reports about each store it finds, and the registry of providers.

A provider (``providers/aws.py``; GCP or Azure would be one module each) reads an account's settings through
the cloud's own API and returns ``CloudStore`` facts: what the store is, where it lives, how it is protected,
and whether its settings let the internet reach it (with the reasons). Rules (``rules.py``) turn those facts
into findings; nothing here talks to a store itself (``probe.py`` does, when asked).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from dataward.registry import Registry

SCHEMA = "dataward.inventory/v1"

# Tag keys read (case-insensitively) for who owns a store and what it holds; the first one present wins.
OWNER_TAGS = ("owner", "team", "contact", "owner-email", "dataward:owner")
CLASSIFICATION_TAGS = ("data-classification", "dataclassification", "classification", "data_classification",
                       "dataward:classification", "sensitivity")
ROLE_TAGS = ("dataward:role", "role", "environment", "env", "stage")
# Classification tag values that say a store holds customer data (so anonymous access is critical).
SENSITIVE_CLASSIFICATIONS = frozenset({"pii", "personal", "customer", "customer-data", "confidential",
                                       "restricted", "sensitive", "secret", "phi", "health"})


@dataclass(frozen=True)
class CloudStore:
    """One store as the cloud account's settings describe it (every field a plain fact; None = unknown).

    ``endpoint`` is ``host:port`` for network stores and ``s3://bucket`` for buckets: the identity that lets
    inventory, discovery and the policy agree they are talking about the same store.
    """

    id: str  # the resource's ARN (or the provider's equivalent)
    provider: str  # "aws"
    kind: str  # "rds", "aurora", "docdb", "redshift", "elasticache", "memorydb", "opensearch", "s3", "ec2"
    name: str
    account: str
    region: str
    engine: str | None = None
    version: str | None = None
    host: str | None = None
    port: int | None = None
    scheme: str | None = None  # the dataward target scheme that speaks to it (postgresql, redis, s3, ...)
    tags: Mapping[str, str] = field(default_factory=dict)
    encrypted_at_rest: bool | None = None
    tls_in_transit: bool | None = None
    auth: str | None = None  # how clients authenticate: "password", "auth-token", "iam", "none", ...
    auth_required: bool | None = None
    reachable_from_internet: bool = False
    anonymous: bool = False  # reachable from the internet AND readable without credentials (settings say so)
    why: tuple[str, ...] = ()  # the settings that decided reachability, one sentence each
    open_ingress: tuple[str, ...] = ()  # security-group rules open to the world on the store's port
    fixes: Mapping[str, str] = field(default_factory=dict)  # problem -> the exact setting that fixes it
    details: Mapping[str, Any] = field(default_factory=dict)
    listed_as: str | None = None  # the policy's [[store]] name, once reconciled

    @property
    def endpoint(self) -> str | None:
        if self.kind == "s3":
            return f"s3://{self.name}"
        if self.host is None:
            return None
        return f"{self.host}:{self.port}" if self.port else self.host

    @property
    def owner(self) -> str | None:
        return tag(self.tags, OWNER_TAGS)

    @property
    def classification(self) -> str | None:
        return tag(self.tags, CLASSIFICATION_TAGS)

    @property
    def tagged_sensitive(self) -> bool:
        value = (self.classification or "").strip().lower()
        return value in SENSITIVE_CLASSIFICATIONS

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "provider": self.provider,
            "name": self.name,
            "account": self.account,
            "region": self.region,
            "engine": self.engine,
            "version": self.version,
            "endpoint": self.endpoint,
            "owner": self.owner,
            "classification": self.classification,
            "tags": dict(self.tags),
            "encrypted_at_rest": self.encrypted_at_rest,
            "tls_in_transit": self.tls_in_transit,
            "auth": self.auth,
            "auth_required": self.auth_required,
            "reachable_from_internet": self.reachable_from_internet,
            "anonymous": self.anonymous,
            "why": list(self.why),
            "open_ingress": list(self.open_ingress),
            "listed_as": self.listed_as,
        }


def tag(tags: Mapping[str, str], keys: tuple[str, ...]) -> str | None:
    """The value of the first of ``keys`` present in ``tags`` (keys compared case-insensitively)."""
    lowered = {k.lower(): v for k, v in tags.items()}
    return next((lowered[k] for k in keys if lowered.get(k)), None)


@dataclass(frozen=True)
class InventoryOptions:
    """What to read: regions (``None`` = every enabled region), accounts (roles to assume), how many at once."""

    profile: str | None = None
    regions: tuple[str, ...] | None = None
    assume_roles: tuple[str, ...] = ()
    region_workers: int = 8  # (account, region) pairs read at the same time
    calls_per_region: int = 4  # API calls in flight per region (a bounded thread pool)
    on_call: Callable[[str, str], None] | None = None  # (service, operation) before each API call


@dataclass(frozen=True)
class Collection:
    """What a provider read: the stores, and one line per call that failed (a denied API, a dead region)."""

    stores: tuple[CloudStore, ...] = ()
    errors: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()


class Provider(Protocol):
    """A cloud provider: ``collect`` reads the accounts' settings and returns every store found."""

    name: ClassVar[str]
    display_name: ClassVar[str]

    def collect(self, options: InventoryOptions) -> Collection: ...


PROVIDERS: Registry[type[Provider]] = Registry(
    "cloud provider", package="dataward.inventory.providers", key=lambda cls: cls.name
)
