"""The store interface and its registry (one module per kind, registered by URL scheme)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import pyarrow as pa

from dataward.registry import Registry, scheme_registry
from dataward.targets import Target


@dataclass(frozen=True)
class Budget:
    """How much a probe or sample may read: rows per object, objects per store, bytes, seconds."""

    rows_per_object: int = 2000
    max_objects: int = 200
    max_bytes: int = 64 * 1024 * 1024
    timeout_s: float = 3.0
    listen_s: float = 2.0  # MQTT: how long to listen to '#' during a probe
    # (user, password) pairs a probe tries as "well-known default or empty credentials";
    # None = the store module's own short built-in list, () = try none.
    default_credentials: tuple[tuple[str, str], ...] | None = None


@dataclass(frozen=True)
class ExposureFacts:
    """What a probe observed, as plain facts; rules (exposure/) turn these into findings.

    ``None`` means 'could not tell'. ``details`` holds kind-specific facts (``protected_mode``,
    ``dangerous_commands``, ``ssl``, ``anonymous_users`` ...) under documented keys of that store module.
    """

    target: str  # redacted display URL
    store: str  # kind, e.g. "redis"
    reachable: bool
    error: str | None = None
    version: str | None = None
    auth_required: bool | None = None  # does the server demand credentials at all?
    anonymous_access: bool | None = None  # could we read anything without credentials?
    default_credentials: str | None = None  # e.g. "root with an empty password" when that worked
    authenticated: bool | None = None  # did the credentials in the URL work?
    tls_offered: bool | None = None
    tls_required: bool | None = None
    scope: str = "unknown"  # loopback | private | public | local-file | unknown (from the URL)
    bind: str | None = None  # the server's own listen address, when the protocol reveals it
    listable: tuple[str, ...] = ()  # what an unauthenticated (or given) client could list
    readable: bool | None = None  # could rows / values be read?
    records: int | None = None  # estimated records (keys, rows, messages), from the store's statistics
    details: dict[str, Any] = field(default_factory=dict)
    name: str | None = None  # the policy's store name, when known

    @property
    def exposed(self) -> bool:
        """Readable by someone without valid credentials (no auth, or default/empty ones)."""
        return bool(self.reachable and (self.anonymous_access or self.default_credentials))


@dataclass(frozen=True)
class SampledColumn:
    """Values sampled from one column / field / key pattern; never written anywhere."""

    name: str
    values: pa.Array  # strings or numbers; nested JSON arrives as strings
    dtype: str = "string"  # the store's own type name, for name+type heuristics


@dataclass(frozen=True)
class SampledObject:
    """One table, key pattern, topic, bucket prefix, index or collection with its sampled columns."""

    target: str  # redacted display URL
    store: str
    object: str
    columns: tuple[SampledColumn, ...]
    records: int | None = None  # estimated size of the whole object, not of the sample


class Store(Protocol):
    """A store kind. ``probe`` and ``sample`` are read-only and bounded by the budget's timeout.

    Optional discovery hook (dataward/scan/discovery.py looks these up with getattr, so kinds without them still
    register): ``discovery_hello: ClassVar[bytes]`` is what to send right after connecting (``b""`` = the
    server speaks first, just read its greeting), and ``identify(cls, answer: bytes) -> bool`` (a classmethod)
    says whether the bytes the server sent back are this kind's protocol. ``discovery_url(cls, host, port)``
    (optional classmethod) builds the target URL of a discovered server; the default is ``scheme://host:port``.
    """

    scheme: ClassVar[str]
    schemes: ClassVar[tuple[str, ...]]
    default_ports: ClassVar[tuple[int, ...]]
    # What the rest of dataward asks about a kind (docs/exposure.md "Store kinds"):
    local: ClassVar[bool]  # files on disk: no network transport or login, so TLS/bind/auth rules do not apply
    listens: ClassVar[bool]  # a server with a listen address of its own (bind rules apply); not files, not buckets
    display_name: ClassVar[str]  # "PostgreSQL", in finding titles
    remediation: ClassVar[Mapping[str, str]]  # generic rule ("no-auth") -> this kind's fix; else the rule's own

    def probe(self, target: Target, budget: Budget) -> ExposureFacts: ...

    def sample(self, target: Target, budget: Budget) -> Iterator[SampledObject]: ...


STORES: Registry[type[Any]] = scheme_registry(
    "store kind", "dataward.stores", key=lambda cls: cls.scheme,
    unknown="'{name}://' is not a {family} dataward knows.", tip="known kinds: {known}",
)
register_store = STORES.register  # the class decorator every store module uses


def store_for(target: Target) -> Store:
    """The store that speaks this target's protocol, or a TargetError with a suggestion."""
    cls = STORES.get(target.scheme)
    resolve: Callable[[Target], type] | None = getattr(cls, "resolve", None)
    if resolve is not None:  # an http:// URL can be Elasticsearch, OpenSearch, ...
        cls = resolve(target)
    store: Store = cls()
    return store


def is_local(kind: str) -> bool:
    """A kind whose stores are files on this machine (``sqlite``, ``duckdb``, ``file``); unknown kinds are not."""
    cls = STORES.find(kind)
    return bool(cls is not None and cls.local)


def listens(kind: str) -> bool:
    """Whether the kind's stores have a listen address of their own (a bucket is served by its provider's
    endpoint, files by no server); unknown kinds are assumed to."""
    cls = STORES.find(kind)
    return cls is None or bool(cls.listens)


def display_name(kind: str) -> str:
    """How a finding's title names the kind ('PostgreSQL', 'S3 bucket'); the kind itself when unknown."""
    cls = STORES.find(kind)
    return str(cls.display_name) if cls is not None else kind


def kind_remediation(kind: str, rule: str) -> str | None:
    """The kind's own fix for a generic rule (``no-auth``), or None to use the rule's."""
    cls = STORES.find(kind)
    return cls.remediation.get(rule) if cls is not None else None
