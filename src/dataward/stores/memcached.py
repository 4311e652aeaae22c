"""memcached: unauthenticated ``stats``, ``stats items`` and whether every key can be dumped.

The probe speaks the text protocol (https://github.com/memcached/memcached/blob/master/doc/protocol.txt) and
sends only ``stats``, ``stats settings``, ``stats items``, ``lru_crawler metadump`` and ``stats cachedump``;
sampling adds ``get``. With ``-Y authfile`` memcached answers ``CLIENT_ERROR unauthenticated`` until a client
authenticates; the protocol's way to do that is a ``set`` whose value is ``user password`` (it stores
nothing), used only with the URL's own credentials (memcached://user:{password}@host:11211). No default
credentials are guessed: memcached ships with none.

``details`` keys (docs/exposure.md): ``key_dump`` (``metadump`` | ``cachedump`` | None), ``interface``,
``auth_enabled_ascii``, ``auth_enabled_sasl``, ``flush_enabled``, ``ssl_enabled``, ``slabs``, ``udp_port``.
"""

from __future__ import annotations

import socket
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar
from urllib.parse import unquote

from dataward.errors import TargetError
from dataward.stores._docs import approx_size, columns_from_records, key_pattern, parse_value
from dataward.stores._net import (
    ProtocolError,
    answered_otherwise,
    connect,
    describe_error,
    endpoint,
    unreachable,
)
from dataward.stores.base import Budget, ExposureFacts, SampledObject, register_store
from dataward.targets import Target

_END = (b"END", b"OK")
_DATA = (b"STAT ", b"key=", b"ITEM ")


class TextConnection:
    """memcached's line protocol: one request, lines up to END (or an error line)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._file = sock.makefile("rb")

    def lines(self, command: str, limit: int = 1_000_000) -> list[str]:
        """The answer's lines without the END; an error line comes back as the only line."""
        self._sock.sendall(command.encode() + b"\r\n")
        out: list[str] = []
        while len(out) < limit:
            line = self._file.readline()
            if not line.endswith(b"\n"):  # metadump lines end in a bare LF, everything else in CRLF
                raise ProtocolError("the server closed the connection or does not speak memcached")
            line = line.rstrip(b"\r\n")
            if line in _END:
                return out
            if not line.startswith(_DATA):  # CLIENT_ERROR, SERVER_ERROR, BUSY, or another protocol
                return [line.decode("utf-8", "replace")]
            out.append(line.decode("utf-8", "replace"))
        return out

    def line(self, command: str) -> str:
        """A one-line answer (``version``)."""
        self._sock.sendall(command.encode() + b"\r\n")
        return self._file.readline().decode("utf-8", "replace").strip()

    def get_many(self, keys: list[str]) -> dict[str, bytes]:
        """``get k1 k2 ...``: VALUE <key> <flags> <bytes> / data / ... / END."""
        self._sock.sendall(("get " + " ".join(keys)).encode() + b"\r\n")
        out: dict[str, bytes] = {}
        while True:
            line = self._file.readline()
            if not line.startswith(b"VALUE "):
                return out
            _, key, _flags, size = line.split()[:4]
            out[key.decode("utf-8", "replace")] = self._file.read(int(size) + 2)[:-2]

    def authenticate(self, username: str, password: str) -> bool:
        payload = f"{username} {password}".encode()
        self._sock.sendall(b"set auth 0 0 %d\r\n%s\r\n" % (len(payload), payload))
        return self._file.readline().startswith(b"STORED")

    def close(self) -> None:
        self._file.close()
        self._sock.close()


def _stats(lines: list[str]) -> dict[str, str]:
    return {p[1]: p[2] if len(p) > 2 else "" for p in (ln.split(" ", 2) for ln in lines) if p[0] == "STAT"}


def _unauthenticated(lines: list[str]) -> bool:
    return bool(lines) and lines[0].startswith("CLIENT_ERROR") and "unauth" in lines[0]


@register_store
class MemcachedStore:
    """memcached 1.4.31+ (``lru_crawler metadump``) and older (``stats cachedump``)."""

    scheme: ClassVar[str] = "memcached"
    schemes: ClassVar[tuple[str, ...]] = ()
    default_ports: ClassVar[tuple[int, ...]] = (11211,)
    local: ClassVar[bool] = False
    listens: ClassVar[bool] = True
    display_name: ClassVar[str] = "memcached"
    remediation: ClassVar[Mapping[str, str]] = {
        "no-auth": "Enable SASL (-S) or bind memcached to loopback (-l 127.0.0.1) behind a firewall.",
        "public-bind": "Start memcached with -l 127.0.0.1 (or a private address) and -U 0.",
    }

    discovery_hello: ClassVar[bytes] = b"version\r\n"

    @classmethod
    def identify(cls, answer: bytes) -> bool:
        """``version`` answers ``VERSION 1.6.x``, or CLIENT_ERROR unauthenticated when -Y is set."""
        return answer.startswith((b"VERSION ", b"CLIENT_ERROR unauthenticated"))

    def probe(self, target: Target, budget: Budget) -> ExposureFacts:
        try:
            conn = self._open(target, budget)
        except OSError as exc:
            return unreachable(target, self.scheme, describe_error(exc, budget.timeout_s))
        try:
            return self._probe(conn, target, budget)
        except ProtocolError as exc:
            return answered_otherwise(target, self.scheme, str(exc))
        except (OSError, ValueError) as exc:
            return unreachable(target, self.scheme, describe_error(exc, budget.timeout_s))
        finally:
            conn.close()

    def _open(self, target: Target, budget: Budget) -> TextConnection:
        ep = endpoint(target, 11211)
        return TextConnection(connect(ep.host, ep.port, budget.timeout_s, ep.tls))

    def _probe(self, conn: TextConnection, target: Target, budget: Budget) -> ExposureFacts:
        first = conn.lines("stats")
        auth_required = _unauthenticated(first)
        authenticated = None
        if auth_required:
            if target.username is None or target.password is None:
                return self._locked(target)
            authenticated = conn.authenticate(target.username, target.password)
            first = conn.lines("stats") if authenticated else first
            if not authenticated:
                return self._locked(target, authenticated=False)
        stats = _stats(first)
        if "pid" not in stats:
            raise ProtocolError("the server does not answer memcached 'stats'")
        settings = _stats(conn.lines("stats settings"))
        slabs = sorted({ln.split(":")[1] for ln in conn.lines("stats items") if ln.startswith("STAT items:")})
        dump = _dump_method(self._open(target, budget), target, slabs)
        details: dict[str, Any] = {
            "key_dump": dump,
            **({} if auth_required else {"anonymous_how": "'stats' answered without authentication"}), "interface": settings.get("inter"), "slabs": len(slabs),
            "auth_enabled_ascii": settings.get("auth_enabled_ascii") not in (None, "no"),  # yes or the file
            "auth_enabled_sasl": settings.get("auth_enabled_sasl") == "yes",
            "flush_enabled": settings.get("flush_enabled") == "yes" if "flush_enabled" in settings else None,
            "ssl_enabled": settings.get("ssl_enabled") == "yes" if "ssl_enabled" in settings else None,
            "udp_port": int(settings.get("udpport") or 0),
        }
        return ExposureFacts(
            target=target.display, store=self.scheme, reachable=True, version=stats.get("version"),
            auth_required=auth_required, anonymous_access=not auth_required, authenticated=authenticated,
            tls_offered=details["ssl_enabled"], tls_required=None, scope=target.scope,
            bind=_bind(settings.get("inter")),
            readable=True, records=int(stats.get("curr_items") or 0), details=details, name=target.name)

    def _locked(self, target: Target, authenticated: bool | None = None) -> ExposureFacts:
        return ExposureFacts(target=target.display, store=self.scheme, reachable=True, auth_required=True,
                             anonymous_access=False, authenticated=authenticated, readable=False,
                             scope=target.scope, details={"auth_enabled_ascii": True}, name=target.name)

    def sample(self, target: Target, budget: Budget) -> Iterator[SampledObject]:
        try:
            conn = self._open(target, budget)
        except OSError as exc:
            raise _cannot_read(target, describe_error(exc, budget.timeout_s)) from None
        try:
            if _unauthenticated([conn.line("version")]) and not (
                target.username and target.password is not None and conn.authenticate(target.username,
                                                                                       target.password)):
                raise _cannot_read(target, "the server requires authentication")
            yield from self._sample(conn, target, budget)
        except (OSError, ProtocolError, ValueError) as exc:
            raise _cannot_read(target, describe_error(exc, budget.timeout_s)) from None
        finally:
            conn.close()

    def _sample(self, conn: TextConnection, target: Target, budget: Budget) -> Iterator[SampledObject]:
        limit = budget.rows_per_object * budget.max_objects
        keys = _metadump_keys(conn.lines("lru_crawler metadump all", limit=limit))
        total = int(_stats(conn.lines("stats")).get("curr_items") or len(keys))
        groups: dict[str, list[str]] = defaultdict(list)
        for key in keys:
            groups[key_pattern(key)].append(key)
        deadline = time.monotonic() + max(budget.timeout_s * 10, 30.0)
        ranked = sorted(groups.items(), key=lambda kv: -len(kv[1]))[: budget.max_objects]
        for pattern, members in ranked:
            if time.monotonic() > deadline:
                return
            records = round(len(members) * total / max(len(keys), 1))
            yield self._read_pattern(conn, target, pattern, members[: budget.rows_per_object], records, budget)

    def _read_pattern(self, conn: TextConnection, target: Target, pattern: str, keys: list[str],
                      records: int, budget: Budget) -> SampledObject:
        rows: list[dict[str, Any]] = []
        size = 0
        for start in range(0, len(keys), 100):
            for raw in conn.get_many(keys[start : start + 100]).values():
                rows.append(parse_value(raw))
                size += approx_size(rows[-1])
            if size > budget.max_bytes:
                break
        return SampledObject(target=target.display, store=self.scheme, object=pattern,
                             columns=columns_from_records(rows), records=records)


def _dump_method(conn: TextConnection, target: Target, slabs: list[str]) -> str | None:
    """Can every key be listed? Reads one line of a metadump (then drops the connection), else cachedump."""
    try:
        if target.username and target.password is not None:
            conn.authenticate(target.username, target.password)
        lines = conn.lines("lru_crawler metadump all", limit=1)
        if lines and lines[0].startswith("key="):
            return "metadump"
        if not lines and not slabs:
            return "metadump"  # an empty cache: the dump answered END
        if slabs:
            dumped = conn.lines(f"stats cachedump {slabs[0]} 1")
            if dumped and dumped[0].startswith("ITEM "):
                return "cachedump"
        return None
    finally:
        conn.close()


def _metadump_keys(lines: list[str]) -> list[str]:
    """``key=user%3A1 exp=-1 ...`` -> ``user:1`` (metadump URL-encodes keys)."""
    return [unquote(ln.split(" ", 1)[0][4:]) for ln in lines if ln.startswith("key=")]


def _bind(interface: str | None) -> str | None:
    """memcached's ``-l``: unset (NULL) means every interface."""
    if interface in (None, "", "NULL", "(null)"):
        return "0.0.0.0"
    return interface.split(",")[0].split(":")[0]


def _cannot_read(target: Target, why: str) -> TargetError:
    return TargetError(f"cannot read {target.display}: {why}",
                       tip="check the host and port, and give memcached://user:{password}@host when -Y is set")
