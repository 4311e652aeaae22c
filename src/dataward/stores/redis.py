"""Redis: who can read the keyspace, observed with read-only commands only.

The probe speaks RESP itself (a dozen lines) so that exactly the commands listed here are sent: PING, AUTH,
INFO, CONFIG GET, ACL WHOAMI/GETUSER/DRYRUN, COMMAND INFO, SCAN, TYPE and the read commands of each type.
Dangerous commands (CONFIG SET, MODULE LOAD, FLUSHALL, ...) are detected without running them: ``COMMAND INFO``
says whether the name exists (``rename-command`` hides it) and ``ACL DRYRUN`` (Redis 7+) says whether the
user may run it, without its side effects (https://redis.io/docs/latest/commands/acl-dryrun/).

``details`` keys (documented in docs/exposure.md): ``protected_mode``, ``denied_by_protected_mode``,
``requirepass_set``, ``bind``, ``user``, ``default_user_enabled``, ``default_user_nopass``,
``dangerous_commands``, ``enable_debug_command``, ``enable_module_command``, ``keyspace``, ``role``,
``redis_mode``, ``tls_port``.
"""

from __future__ import annotations

import socket
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from dataward.errors import TargetError
from dataward.redact import redact
from dataward.stores._docs import VALUE_COLUMN, approx_size, columns_from_records, key_pattern, parse_value
from dataward.stores._net import (
    ProtocolError,
    answered_otherwise,
    connect,
    describe_error,
    endpoint,
    tls_handshake_ok,
    unreachable,
)
from dataward.stores.base import Budget, ExposureFacts, SampledObject, register_store
from dataward.targets import Target

_MAX_VALUE = 64 * 1024  # bytes of one string value read while sampling

# Passwords tried when the server demands one: the redis.conf example and the usual suspects.
DEFAULT_PASSWORDS: tuple[str, ...] = ("foobared", "redis", "password", "admin", "123456")

# (command, arguments that make a valid call for ACL DRYRUN): never executed, only simulated.
DANGEROUS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("CONFIG", ("SET", "dir", "/tmp")),
    ("MODULE", ("LOAD", "/nonexistent.so")),
    ("DEBUG", ("SLEEP", "0")),
    ("FLUSHALL", ()),
    ("FLUSHDB", ()),
    ("REPLICAOF", ("NO", "ONE")),
    ("SLAVEOF", ("NO", "ONE")),
    ("EVAL", ("return 1", "0")),
    ("SHUTDOWN", ("NOSAVE",)),
    ("MIGRATE", ("127.0.0.1", "1", "k", "0", "1")),
)


class RespError(str):
    """An error reply ('-ERR ...'), returned rather than raised so a probe can read it as a fact."""


Reply = Any  # str | int | None | RespError | list[Reply]


class RespConnection:
    """A minimal RESP2 client: one command at a time or a pipeline, bounded by a socket timeout."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._file = sock.makefile("rb")

    def call(self, *args: str) -> Reply:
        return self.pipeline([args])[0]

    def pipeline(self, commands: Sequence[Sequence[str]]) -> list[Reply]:
        self._sock.sendall(b"".join(_encode(c) for c in commands))
        return [self._read() for _ in commands]

    def _read(self) -> Reply:
        line = self._file.readline()
        if not line.endswith(b"\r\n"):
            raise ProtocolError("the server closed the connection or does not speak RESP")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode("utf-8", "replace")
        if kind == b"-":
            return RespError(rest.decode("utf-8", "replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._file.read(n + 2)[:-2].decode("utf-8", "replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise ProtocolError("the server does not speak RESP (not Redis)")

    def close(self) -> None:
        self._file.close()
        self._sock.close()


def _encode(args: Sequence[str]) -> bytes:
    out = [f"*{len(args)}\r\n".encode()]
    for a in args:
        b = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


@dataclass
class _Session:
    """What probing learned about authentication before reading anything."""

    auth_required: bool | None = None
    anonymous: bool = False
    denied_by_protected_mode: bool = False
    authenticated: bool | None = None
    default_credentials: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        return bool(self.anonymous or self.authenticated or self.default_credentials)


@register_store
class RedisStore:
    """Redis 6/7 (and compatible servers that answer RESP): ``redis://`` and ``rediss://`` (TLS)."""

    scheme: ClassVar[str] = "redis"
    schemes: ClassVar[tuple[str, ...]] = ("rediss",)
    default_ports: ClassVar[tuple[int, ...]] = (6379,)
    local: ClassVar[bool] = False
    listens: ClassVar[bool] = True
    display_name: ClassVar[str] = "Redis"
    remediation: ClassVar[Mapping[str, str]] = {
        "no-auth": "Set requirepass / ACLs (disable the default user's nopass), bind to a "
        "private interface, keep protected-mode on.",
        "no-tls": "Configure tls-port with a certificate and disable the plain port (port 0).",
        "public-bind": "Bind to 127.0.0.1 or a private interface, and keep protected-mode on.",
    }

    discovery_hello: ClassVar[bytes] = b"PING\r\n"  # inline command: any Redis answers it

    @classmethod
    def identify(cls, answer: bytes) -> bool:
        """An inline PING answers +PONG, or -NOAUTH / -DENIED / an ACL refusal when it is locked."""
        return answer.startswith((b"+PONG", b"-NOAUTH", b"-DENIED", b"-NOPERM", b"-ERR operation not permitted"))

    def probe(self, target: Target, budget: Budget) -> ExposureFacts:
        ep = endpoint(target, 6379, ("rediss",))
        facts = self._probe_once(target, budget, ep.host, ep.port, ep.tls)
        dropped = facts.details.get("protocol_mismatch") or (
            facts.error is not None and facts.error not in ("connection refused",) and "timeout" not in facts.error)
        if not ep.tls and dropped and tls_handshake_ok(ep.host, ep.port, budget.timeout_s):
            # a TLS-only port (tls-port, port 0) drops plain text: probe it over TLS, and say TLS is required
            return replace(self._probe_once(target, budget, ep.host, ep.port, True), tls_required=True)
        return facts

    def _probe_once(self, target: Target, budget: Budget, host: str, port: int, tls: bool) -> ExposureFacts:
        try:
            conn = RespConnection(connect(host, port, budget.timeout_s, tls))
        except OSError as exc:
            return unreachable(target, self.scheme, describe_error(exc, budget.timeout_s))
        try:
            return _probe(conn, target, budget, tls)
        except ProtocolError as exc:
            return answered_otherwise(target, self.scheme, str(exc))
        except (OSError, ValueError) as exc:
            return unreachable(target, self.scheme, describe_error(exc, budget.timeout_s))
        finally:
            conn.close()

    def sample(self, target: Target, budget: Budget) -> Iterator[SampledObject]:
        ep = endpoint(target, 6379, ("rediss",))
        try:
            conn = RespConnection(connect(ep.host, ep.port, budget.timeout_s, ep.tls))
        except OSError as exc:
            raise _cannot_read(target, describe_error(exc, budget.timeout_s)) from None
        try:
            session = _authenticate(conn, target, ())
            if not session.usable:
                raise _cannot_read(target, "the server requires a password")
            yield from _sample(conn, target, budget)
        except (OSError, ProtocolError, ValueError) as exc:
            raise _cannot_read(target, describe_error(exc, budget.timeout_s)) from None
        finally:
            conn.close()


def _cannot_read(target: Target, why: str) -> TargetError:
    return TargetError(f"cannot read {target.display}: {why}",
                       tip="check the host, port and password (redis://:{password}@host:6379)")


def _probe(conn: RespConnection, target: Target, budget: Budget, tls: bool) -> ExposureFacts:
    session = _authenticate(conn, target, _default_passwords(budget))
    if not session.usable:
        return ExposureFacts(
            target=target.display, store="redis", reachable=True, auth_required=session.auth_required,
            anonymous_access=False, authenticated=session.authenticated, tls_offered=True if tls else None,
            tls_required=None, scope=target.scope, details=session.details, name=target.name)
    info = _parse_info(_text(conn.call("INFO")))
    config = _config(conn)
    details = {**session.details, **_config_details(config), **_acl_details(conn)}
    details["dangerous_commands"] = _dangerous_commands(conn, details.get("user") or "default", config)
    keyspace = _keyspace(info)
    details.update(keyspace=keyspace, role=info.get("role"), redis_mode=info.get("redis_mode"))
    readable = not isinstance(conn.call("SCAN", "0", "COUNT", "1"), RespError)
    tls_port = details.get("tls_port")
    return ExposureFacts(
        target=target.display, store="redis", reachable=True, version=info.get("redis_version"),
        auth_required=session.auth_required, anonymous_access=session.anonymous,
        default_credentials=session.default_credentials, authenticated=session.authenticated,
        tls_offered=True if tls else (bool(tls_port) if tls_port is not None else None),
        tls_required=(config.get("port") == "0") if tls and "port" in config else (False if not tls else None),
        scope=target.scope, bind=_normalise_bind(config.get("bind")), listable=tuple(keyspace),
        readable=readable, records=sum(keyspace.values()) if readable else None, details=details,
        name=target.name)


def _default_passwords(budget: Budget) -> tuple[tuple[str, str], ...]:
    """Budget.default_credentials when given, else the built-in list, all as the 'default' user."""
    if budget.default_credentials is not None:
        return budget.default_credentials
    return tuple(("default", pw) for pw in DEFAULT_PASSWORDS)


def _authenticate(conn: RespConnection, target: Target, defaults: tuple[tuple[str, str], ...]) -> _Session:
    """PING as nobody; on NOAUTH try the default passwords (probe only), then the URL's credentials."""
    session = _Session()
    first = conn.call("PING")
    if isinstance(first, RespError) and first.startswith("DENIED"):
        # no password is set, but protected-mode refuses non-loopback clients: locked, not by auth
        session.denied_by_protected_mode = True
        session.details.update(protected_mode=True, denied_by_protected_mode=True)
        return session
    if not isinstance(first, RespError):
        session.auth_required, session.anonymous = False, True
        session.details["anonymous_how"] = "PING answered without AUTH"
        return session
    if not first.startswith("NOAUTH"):
        raise ProtocolError(f"the server refused PING ({first.split(' ', 1)[0]})")
    session.auth_required = True
    if defaults:
        session.default_credentials = _try_default_passwords(conn, defaults)
    if target.password is not None:
        reply = conn.call(*_auth_args(target.username, target.password))
        session.authenticated = not isinstance(reply, RespError)
        if isinstance(reply, RespError):
            session.details["auth_error"] = reply.split(" ", 1)[0] + " (AUTH refused)"
    return session


def _auth_args(username: str | None, password: str) -> tuple[str, ...]:
    return ("AUTH", username, password) if username and username != "default" else ("AUTH", password)


def _try_default_passwords(conn: RespConnection, defaults: tuple[tuple[str, str], ...]) -> str | None:
    replies = conn.pipeline([_auth_args(user, pw) for user, pw in defaults])
    for (user, pw), reply in zip(defaults, replies, strict=True):
        if not isinstance(reply, RespError):
            what = "an empty password" if pw == "" else f"the well-known password '{redact(pw)}'"
            return f"user '{user or 'default'}' with {what}"
    return None


def _text(reply: Reply) -> str:
    return reply if isinstance(reply, str) and not isinstance(reply, RespError) else ""


def _parse_info(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            key, _, value = line.partition(":")
            out[key] = value.strip()
    return out


def _keyspace(info: dict[str, str]) -> dict[str, int]:
    """``db0:keys=12,expires=0,avg_ttl=0`` -> {"db0": 12}."""
    out: dict[str, int] = {}
    for key, value in info.items():
        if key.startswith("db") and key[2:].isdigit() and "keys=" in value:
            out[key] = int(value.split("keys=", 1)[1].split(",", 1)[0])
    return out


_CONFIG_KEYS = ("protected-mode", "bind", "requirepass", "port", "tls-port", "enable-debug-command",
                "enable-module-command")


def _config(conn: RespConnection) -> dict[str, str]:
    """CONFIG GET (read-only) for the settings that decide exposure; {} when CONFIG is renamed or denied.

    ``requirepass`` is only ever reduced to 'set or not' by _config_details; its value is never kept.
    """
    replies = conn.pipeline([("CONFIG", "GET", key) for key in _CONFIG_KEYS])
    out: dict[str, str] = {}
    for reply in replies:
        if isinstance(reply, list):
            out.update({str(reply[i]): str(reply[i + 1]) for i in range(0, len(reply) - 1, 2)})
    return out


def _config_details(config: dict[str, str]) -> dict[str, Any]:
    if not config:
        return {}
    out: dict[str, Any] = {
        "protected_mode": config.get("protected-mode") == "yes" if "protected-mode" in config else None,
        "requirepass_set": bool(config.get("requirepass")) if "requirepass" in config else None,
        "bind": config.get("bind"),
    }
    if "tls-port" in config:
        out["tls_port"] = int(config["tls-port"] or 0)
    for key in ("enable-debug-command", "enable-module-command"):
        if key in config:
            out[key.replace("-", "_")] = config[key]
    return out


def _acl_details(conn: RespConnection) -> dict[str, Any]:
    whoami, default = conn.pipeline([("ACL", "WHOAMI"), ("ACL", "GETUSER", "default")])
    out: dict[str, Any] = {}
    if not isinstance(whoami, RespError) and isinstance(whoami, str):
        out["user"] = whoami
    if isinstance(default, list):
        fields = {str(default[i]): default[i + 1] for i in range(0, len(default) - 1, 2)}
        flags = [str(f) for f in fields.get("flags") or []]
        out["default_user_enabled"] = "on" in flags
        out["default_user_nopass"] = "nopass" in flags
    return out


def _dangerous_commands(conn: RespConnection, user: str, config: dict[str, str]) -> list[str] | None:
    """Dangerous commands this user could run, judged without running any of them."""
    names = [name for name, _ in DANGEROUS]
    info = conn.call("COMMAND", "INFO", *names)
    existing = [n for n, entry in zip(names, info, strict=False) if entry] if isinstance(info, list) else names
    args_of = dict(DANGEROUS)
    dry = conn.pipeline([("ACL", "DRYRUN", user, n, *args_of[n]) for n in existing])
    if all(isinstance(r, RespError) and "unknown" in r.lower() for r in dry):
        allowed = existing  # Redis 6: no DRYRUN; the command table is the best read-only evidence
    elif dry and all(isinstance(r, RespError) and r.startswith("NOPERM") for r in dry):
        return None  # this user may not ask (ACL DRYRUN is itself @dangerous): cannot tell
    else:
        allowed = [n for n, r in zip(existing, dry, strict=True) if r == "OK"]
    blocked = {"DEBUG": config.get("enable-debug-command"), "MODULE": config.get("enable-module-command")}
    return [n for n in allowed if blocked.get(n) not in ("no", "local")]


def _normalise_bind(bind: str | None) -> str | None:
    """The widest address Redis listens on: '*' or '0.0.0.0' as 0.0.0.0, else the first one given."""
    if bind is None:
        return None
    addrs = [a.lstrip("-") for a in bind.split()]
    if not addrs or any(a in ("*", "0.0.0.0", "::", "::*") for a in addrs):
        return "0.0.0.0"
    return addrs[0]


# --- sampling ---------------------------------------------------------------------------------------------


def _sample(conn: RespConnection, target: Target, budget: Budget) -> Iterator[SampledObject]:
    info = _parse_info(_text(conn.call("INFO", "keyspace")))
    deadline = time.monotonic() + max(budget.timeout_s * 10, 30.0)
    emitted = 0
    for db, size in _keyspace(info).items():
        if emitted >= budget.max_objects or time.monotonic() > deadline:
            return
        conn.call("SELECT", db[2:])
        groups, complete = _scan_groups(conn, budget, deadline)
        scanned = sum(len(v) for v in groups.values())
        for pattern, keys in sorted(groups.items(), key=lambda kv: -len(kv[1]))[: budget.max_objects - emitted]:
            records = len(keys) if complete else round(len(keys) * size / max(scanned, 1))
            obj = _read_pattern(conn, target, f"{db}:{pattern}", keys[: budget.rows_per_object], records, budget)
            emitted += 1
            yield obj


def _scan_groups(conn: RespConnection, budget: Budget, deadline: float) -> tuple[dict[str, list[str]], bool]:
    """SCAN the selected db into key patterns; stops (incomplete) at the key or time budget."""
    limit = budget.rows_per_object * budget.max_objects
    groups: dict[str, list[str]] = defaultdict(list)
    cursor, seen = "0", 0
    while True:
        reply = conn.call("SCAN", cursor, "COUNT", "1000")
        if not isinstance(reply, list):
            return groups, False
        cursor, keys = str(reply[0]), reply[1]
        for key in keys:
            groups[key_pattern(key)].append(key)
        seen += len(keys)
        if cursor == "0":
            return groups, True
        if seen >= limit or time.monotonic() > deadline:
            return groups, False


def _read_pattern(conn: RespConnection, target: Target, name: str, keys: list[str], records: int,
                  budget: Budget) -> SampledObject:
    types = conn.pipeline([("TYPE", k) for k in keys])
    commands = [_read_command(k, t) for k, t in zip(keys, types, strict=True)]
    replies = conn.pipeline([c for c in commands if c])
    rows: list[dict[str, Any]] = []
    size = 0
    it = iter(replies)
    for key_type, command in zip(types, commands, strict=True):
        if not command:
            continue
        rows.extend(_rows(str(key_type), next(it)))
        size += approx_size(rows[-1]) if rows else 0
        if size > budget.max_bytes or len(rows) >= budget.rows_per_object:
            break
    return SampledObject(target=target.display, store="redis", object=name,
                         columns=columns_from_records(rows[: budget.rows_per_object]), records=records)


def _read_command(key: str, key_type: Reply) -> tuple[str, ...] | None:
    return {
        "string": ("GETRANGE", key, "0", str(_MAX_VALUE - 1)),  # bounded, unlike GET
        "hash": ("HSCAN", key, "0", "COUNT", "200"),  # bounded, unlike HGETALL
        "list": ("LRANGE", key, "0", "49"),
        "set": ("SRANDMEMBER", key, "50"),
        "zset": ("ZRANGE", key, "0", "49"),
    }.get(str(key_type))


def _rows(key_type: str, reply: Reply) -> list[dict[str, Any]]:
    """One record per string or hash; one per element of a list/set/zset (each parsed as a value)."""
    if isinstance(reply, RespError) or reply is None:
        return []
    if key_type == "string":
        return [parse_value(reply)]
    if key_type == "hash":
        pairs = reply[1] if isinstance(reply, list) and len(reply) == 2 else []
        return [{str(pairs[i]): pairs[i + 1] for i in range(0, len(pairs) - 1, 2)}]
    return [parse_value(item) for item in reply if isinstance(item, str)] or [{VALUE_COLUMN: None}]
