"""Target URLs (DESIGN.md 'Target URLs'): parsed once, shown only with the password redacted."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from dataward.errors import TargetError

NetworkScope = Literal["loopback", "private", "public", "local-file", "unknown"]


@dataclass(frozen=True)
class Target:
    """One store to look at.

    ``password`` is held here and nowhere else; ``display`` is what reports, logs and finding ids use.
    """

    url: str
    scheme: str
    host: str | None = None
    port: int | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    path: str = ""
    params: dict[str, str] = field(default_factory=dict)
    name: str | None = None  # the policy's store name, when the target came from dataward.toml

    @property
    def display(self) -> str:
        """The URL with any password replaced, safe to print and persist."""
        return redact_url(self.url)

    @property
    def database(self) -> str | None:
        """The first path segment for server URLs (database, bucket, index)."""
        part = self.path.lstrip("/").split("/", 1)[0]
        return unquote(part) or None

    @property
    def label(self) -> str:
        return self.name or self.display

    def with_credentials(self, username: str | None, password: str | None) -> Target:
        """The same target with other credentials (used to try empty and default logins)."""
        netloc = _netloc(self.host, self.port, username, password)
        query = "&".join(f"{k}={quote(v, safe='/:')}" for k, v in self.params.items())
        url = f"{self.scheme}://{netloc}{self.path}" + (f"?{query}" if query else "")
        return parse_target(url, name=self.name)

    @property
    def scope(self) -> NetworkScope:
        return network_scope(self.host) if self.host else "local-file"


def _netloc(host: str | None, port: int | None, user: str | None, password: str | None) -> str:
    auth = ""
    if user is not None:
        auth = quote(user, safe="")
        if password is not None:
            auth += ":" + quote(password, safe="")
        auth += "@"
    h = host or ""
    if ":" in h:
        h = f"[{h}]"
    return auth + h + (f":{port}" if port else "")


def network_scope(host: str) -> NetworkScope:
    """Loopback, private or public, judged from the address in the URL (names count as unknown)."""
    if host in ("localhost", "localhost.localdomain"):
        return "loopback"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return "unknown"
    if ip.is_loopback:
        return "loopback"
    return "private" if ip.is_private else "public"


# Query parameters whose values are safe to show; every other value is replaced by '***' (an allow-list: a
# deny-list of "password", "token", ... misses auth=, sig=, X-Amz-Signature=, pwd=, sas=, credentials=, ...).
HARMLESS_PARAMS: frozenset[str] = frozenset({
    "kind", "tls", "tls_port", "kibana_port", "starttls", "schema", "region", "endpoint_url", "endpoint",
    "connect_timeout", "timeout", "sslmode", "ssl", "db", "database", "authsource", "replicaset", "format",
})


def redact_url(url: str) -> str:
    """The URL with its password and every query value outside a short allow-list replaced by '***'.

    Never raises: a URL that cannot be parsed (an unclosed IPv6 bracket, a password holding an unencoded '#',
    '?' or '/') is cut down to its scheme rather than echoed.
    """
    if "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    rest = _redact_userinfo(rest)
    try:
        parts = urlsplit(f"{scheme}://{rest}")
    except ValueError:
        return f"{scheme}://…"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = "&".join(f"{k}={v if k.lower() in HARMLESS_PARAMS else '***'}" for k, v in pairs)
    out = f"{parts.scheme}://{parts.netloc}{parts.path}"
    return out + (f"?{query}" if query else "")


def _redact_userinfo(rest: str) -> str:
    """Hide the password of ``user:password@host…`` even when the password holds '#', '?' or '/' unencoded."""
    at = rest.rfind("@")
    if at == -1:
        return rest
    user, colon, _ = rest[:at].partition(":")
    if not colon or "/" in user:
        return rest
    return f"{user}:***@{rest[at + 1:]}"


def parse_target(url: str, name: str | None = None) -> Target:
    """Parse a target URL; a TargetError names what is wrong with it."""
    if "://" not in url:
        # The value is not echoed: a secret pasted where a URL belongs ({file}, {env}) must not reach a terminal.
        raise TargetError(
            f"{f'the url of {name!r}' if name else 'a target'} is not a URL (it has no scheme://)",
            tip="write it as scheme://host:port/db, e.g. postgresql://db.internal:5432/app or sqlite:///path/app.db",
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetError(
            f"'{redact_url(url)}' is not a valid URL ({_why_invalid(url, exc)})",
            tip="a password holding '#', '?', '/' or '@' must be percent-encoded (e.g. %23 for '#')",
        ) from None
    scheme = parts.scheme.lower()
    return Target(
        url=url,
        scheme=scheme,
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
        path=parts.path,
        params=dict(parse_qsl(parts.query, keep_blank_values=True)),
        name=name,
    )


# Default ports of target schemes, for URLs written without one (identity compares host:port).
DEFAULT_PORTS = {"postgresql": 5432, "postgres": 5432, "mysql": 3306, "mariadb": 3306, "redis": 6379,
                 "rediss": 6379, "memcached": 11211, "mongodb": 27017, "mqtt": 1883, "https": 443, "http": 80}


def endpoint_key(target: Target) -> str | None:
    """A store's identity: ``host:port`` (lower case, default port filled in) or ``s3://bucket``.

    Inventory, discovery and the policy spell one store's URL differently (credentials, database, query
    parameters); they agree on this. None for local files.
    """
    if target.scheme == "s3":
        return f"s3://{(target.host or target.database or '').lower()}"
    if not target.host:
        return None
    port = target.port or DEFAULT_PORTS.get(target.scheme)
    return f"{target.host.lower()}:{port}" if port else target.host.lower()


def is_bare_endpoint(target: Target) -> bool:
    """``scheme://host:port`` and nothing else: what discovery finds (no credentials, database or parameters)."""
    return bool(target.host) and not target.username and target.path in ("", "/") and not target.params


def _why_invalid(url: str, exc: ValueError) -> str:
    text = str(exc)
    if "IPv6" in text:
        return "an IPv6 address must be closed with ']'"
    if "@" in url.split("://", 1)[1].split("#")[-1] and "@" not in url.split("#")[0].split("?")[0]:
        return "its password seems to hold an unencoded '#', '?' or '/'"
    if "port" in text.lower():
        return "its port is not a number"
    return "it cannot be parsed"
