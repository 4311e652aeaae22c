"""MQTT brokers (Mosquitto and others): anonymous connect, ``#`` and ``$SYS/#`` subscriptions, TLS listener.

The probe speaks MQTT 3.1.1 itself (OASIS standard, http://docs.oasis-open.org/mqtt/mqtt/v3.1.1/) with the
four packets it needs, CONNECT, SUBSCRIBE, PINGREQ and DISCONNECT, so that it provably never sends PUBLISH:
there is no code here that builds one, the CONNECT carries no will message, and the session is clean. It
listens for ``Budget.listen_s`` seconds and counts the topics and messages it was sent (retained ones arrive
at once). Subscriptions ask for QoS 0, so the broker never expects an acknowledgement.

``details`` keys (docs/exposure.md): ``connack`` (the CONNACK return code without credentials),
``subscribe_all`` (was ``#`` granted), ``sys_readable`` (was ``$SYS/#`` granted), ``topics``, ``messages``,
``retained``, ``sys_topics``, ``listen_s``, ``tls_port`` (the port checked for a TLS listener).
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from dataward.errors import TargetError
from dataward.redact import redact
from dataward.stores._docs import columns_from_records, parse_value, topic_pattern
from dataward.stores._net import (
    Endpoint,
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

DEFAULT_CREDENTIALS: tuple[tuple[str, str], ...] = (
    ("admin", "admin"), ("admin", "password"), ("guest", "guest"), ("mosquitto", "mosquitto"), ("test", "test"),
)
TLS_PORT = 8883
_CONNACK_TEXT = {1: "unacceptable protocol version", 2: "client id rejected", 3: "server unavailable",
                 4: "bad user name or password", 5: "not authorized"}


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("!H", len(data)) + data


def _packet(kind: int, body: bytes) -> bytes:
    """Fixed header (type/flags byte, variable-length remaining length) + body."""
    n, length = len(body), bytearray()
    while True:
        byte, n = n % 128, n // 128
        length.append(byte | (0x80 if n else 0))
        if not n:
            return bytes([kind]) + bytes(length) + body


def connect_packet(client_id: str, username: str | None = None, password: str | None = None) -> bytes:
    """CONNECT, MQTT 3.1.1, clean session, no will (so nothing can ever be published on our behalf)."""
    flags = 0x02 | (0x80 if username is not None else 0) | (0x40 if username is not None and password is not None
                                                            else 0)
    body = _string("MQTT") + bytes([4, flags]) + struct.pack("!H", 30) + _string(client_id)
    if username is not None:
        body += _string(username)
        if password is not None:
            body += _string(password)
    return _packet(0x10, body)


def subscribe_packet(packet_id: int, filters: tuple[str, ...]) -> bytes:
    return _packet(0x82, struct.pack("!H", packet_id) + b"".join(_string(f) + b"\x00" for f in filters))


@dataclass
class Message:
    topic: str
    payload: bytes
    retained: bool


class MqttConnection:
    """A socket with packet framing; reads are bounded by the socket timeout."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buf = bytearray()

    def send(self, data: bytes) -> None:
        self._sock.sendall(data)

    def read_packet(self, deadline: float) -> tuple[int, bytes] | None:
        """The next (type byte, body), or None when the deadline passes first."""
        while True:
            parsed = self._parse()
            if parsed is not None:
                return parsed
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self._sock.settimeout(remaining)
            try:
                chunk = self._sock.recv(65536)
            except TimeoutError:
                return None
            if not chunk:
                raise ProtocolError("the broker closed the connection")
            self._buf.extend(chunk)

    def _parse(self) -> tuple[int, bytes] | None:
        if len(self._buf) < 2:
            return None
        length, mult, i = 0, 1, 1
        while True:
            if i >= len(self._buf) or i > 4:
                if i > 4:
                    raise ProtocolError("the server does not speak MQTT")
                return None
            byte = self._buf[i]
            length += (byte & 0x7F) * mult
            mult *= 128
            i += 1
            if not byte & 0x80:
                break
        if len(self._buf) < i + length:
            return None
        kind, body = self._buf[0], bytes(self._buf[i : i + length])
        del self._buf[: i + length]
        return kind, body

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.sendall(b"\xe0\x00")  # DISCONNECT: the broker drops the clean session
        self._sock.close()


@dataclass
class _Listen:
    granted: dict[str, bool] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)


def _parse_publish(kind: int, body: bytes) -> Message:
    (n,) = struct.unpack("!H", body[:2])
    topic = body[2 : 2 + n].decode("utf-8", "replace")
    offset = 2 + n + (2 if (kind >> 1) & 3 else 0)  # a packet id only for QoS 1/2
    return Message(topic, body[offset:], bool(kind & 1))


def _session(ep: Endpoint, timeout_s: float, username: str | None, password: str | None) -> tuple[
        MqttConnection | None, int]:
    """Connect and log in; (connection, 0) on success, (None, CONNACK code) on refusal."""
    conn = MqttConnection(connect(ep.host, ep.port, timeout_s, ep.tls))
    try:
        conn.send(connect_packet(f"dataward-{os.urandom(4).hex()}", username, password))
        answer = conn.read_packet(time.monotonic() + timeout_s)
    except BaseException:
        conn.close()
        raise
    if answer is None:
        conn.close()
        raise TimeoutError
    kind, body = answer
    if kind != 0x20 or len(body) < 2:
        conn.close()
        raise ProtocolError("the server does not speak MQTT (no CONNACK)")
    if body[1] != 0:
        conn.close()
        return None, body[1]
    return conn, 0


def _listen(conn: MqttConnection, filters: tuple[str, ...], seconds: float, timeout_s: float,
            max_messages: int, keep_payloads: bool = True) -> _Listen:
    """Subscribe and collect what the broker sends for ``seconds`` (QoS 0: nothing to acknowledge).

    A probe only counts, so it drops payloads (except the broker's version) rather than hold them."""
    out = _Listen()
    conn.send(subscribe_packet(1, filters))
    end = time.monotonic() + seconds
    suback_by = time.monotonic() + timeout_s
    while True:
        packet = conn.read_packet(min(end, suback_by) if not out.granted else end)
        if packet is None:
            return out
        kind, body = packet
        if kind == 0x90:
            out.granted = {f: code < 0x80 for f, code in zip(filters, body[2:], strict=False)}
        elif kind >> 4 == 3 and len(out.messages) < max_messages:
            message = _parse_publish(kind, body)
            if not keep_payloads and message.topic != "$SYS/broker/version":
                message.payload = b""
            out.messages.append(message)


@register_store
class MqttStore:
    """MQTT 3.1.1 brokers: ``mqtt://`` (plain, 1883) and ``mqtts://`` (TLS, 8883)."""

    scheme: ClassVar[str] = "mqtt"
    schemes: ClassVar[tuple[str, ...]] = ("mqtts",)
    default_ports: ClassVar[tuple[int, ...]] = (1883, 8883)
    local: ClassVar[bool] = False
    listens: ClassVar[bool] = True
    display_name: ClassVar[str] = "MQTT broker"
    remediation: ClassVar[Mapping[str, str]] = {
        "no-auth": "Set allow_anonymous false, add a password_file or auth plugin, and "
        "restrict '#' with an ACL file.",
        "no-tls": "Add a TLS listener (listener 8883 with certfile/keyfile) and close the plain listener.",
    }
    # An anonymous CONNECT: a broker answers CONNACK (accepted or refused), never data
    discovery_hello: ClassVar[bytes] = connect_packet("dataward-discovery")

    @classmethod
    def identify(cls, answer: bytes) -> bool:
        """A CONNACK: type 0x20, remaining length 2 (MQTT 3.1.1)."""
        return len(answer) >= 4 and answer[0] == 0x20 and answer[1] == 0x02

    def probe(self, target: Target, budget: Budget) -> ExposureFacts:
        ep = _endpoint(target)
        try:
            return self._probe(ep, target, budget)
        except ProtocolError as exc:
            return answered_otherwise(target, self.scheme, str(exc))
        except OSError as exc:
            return unreachable(target, self.scheme, describe_error(exc, budget.timeout_s))

    def _probe(self, ep: Endpoint, target: Target, budget: Budget) -> ExposureFacts:
        conn, code = _session(ep, budget.timeout_s, None, None)
        details: dict[str, Any] = {"connack": code}
        default_credentials = authenticated = None
        if conn is None and target.username is not None:
            conn, url_code = _session(ep, budget.timeout_s, target.username, target.password)
            authenticated = conn is not None
            if conn is None:
                details["auth_error"] = _CONNACK_TEXT.get(url_code, f"CONNACK code {url_code}")
        if code != 0:
            default_credentials, default_conn = self._try_defaults(ep, budget)
            conn = conn or default_conn
            if default_conn is not None and default_conn is not conn:
                default_conn.close()
        else:
            details["anonymous_how"] = "CONNECT without user name or password was accepted"
        tls_port, tls_ok = self._tls_listener(ep, target, budget)
        details.update(tls_port=tls_port)
        listen = _Listen()
        if conn is not None:
            try:
                listen = _listen(conn, ("#", "$SYS/#"), budget.listen_s, budget.timeout_s, 100_000,
                                 keep_payloads=False)
            finally:
                conn.close()
        details.update(_listen_details(listen, budget.listen_s))
        version = next((m.payload.decode("utf-8", "replace") for m in listen.messages
                        if m.topic == "$SYS/broker/version"), None)
        return ExposureFacts(
            target=target.display, store=self.scheme, reachable=True, version=version,
            auth_required=code in (4, 5), anonymous_access=code == 0, default_credentials=default_credentials,
            authenticated=authenticated, tls_offered=True if ep.tls else tls_ok,
            tls_required=None if ep.tls else False, scope=target.scope,
            listable=tuple(sorted({topic_pattern(m.topic) for m in listen.messages if not m.topic.startswith("$")})),
            readable=listen.granted.get("#"), records=details["messages"], details=details, name=target.name)

    def _try_defaults(self, ep: Endpoint, budget: Budget) -> tuple[str | None, MqttConnection | None]:
        pairs = DEFAULT_CREDENTIALS if budget.default_credentials is None else budget.default_credentials
        for user, password in pairs:
            conn, _ = _session(ep, budget.timeout_s, user, password)
            if conn is not None:
                what = "an empty password" if password == "" else f"the well-known password '{redact(password)}'"
                return f"user '{user}' with {what}", conn
        return None, None

    def _tls_listener(self, ep: Endpoint, target: Target, budget: Budget) -> tuple[int | None, bool | None]:
        """Is there a TLS listener? For mqtts:// the target itself; else ``?tls_port=N`` on the same host, or
        8883 when the broker uses the standard 1883 (on another port we do not guess a sibling: None)."""
        if ep.tls:
            return ep.port, True
        if "tls_port" in target.params:
            port = int(target.params["tls_port"])
        elif ep.port == 1883:
            port = TLS_PORT
        else:
            return None, None
        return port, tls_handshake_ok(ep.host, port, budget.timeout_s)

    def sample(self, target: Target, budget: Budget) -> Iterator[SampledObject]:
        """Messages seen on ``#`` during ``Budget.listen_s``, one object per topic pattern."""
        ep = _endpoint(target)
        try:
            conn, code = _session(ep, budget.timeout_s, target.username, target.password)
            if conn is None:
                raise TargetError(f"cannot read {target.display}: the broker refused the connection "
                                  f"({_CONNACK_TEXT.get(code, code)})",
                                  tip="give the broker's user in the URL: mqtt://user:{password}@host:1883")
            try:
                listen = _listen(conn, ("#",), budget.listen_s, budget.timeout_s,
                                 budget.rows_per_object * budget.max_objects)
            finally:
                conn.close()
        except (OSError, ProtocolError) as exc:
            raise TargetError(f"cannot read {target.display}: {describe_error(exc, budget.timeout_s)}",
                              tip="check the host and port of the broker") from None
        yield from _objects(target, listen.messages, budget)


def _endpoint(target: Target) -> Endpoint:
    ep = endpoint(target, 1883, ("mqtts",))
    return Endpoint(ep.host, target.port or (TLS_PORT if ep.tls else 1883), ep.tls)


def _listen_details(listen: _Listen, seconds: float) -> dict[str, Any]:
    topics = {m.topic for m in listen.messages}
    sys_topics = {t for t in topics if t.startswith("$SYS")}
    return {
        "subscribe_all": listen.granted.get("#"),
        "sys_readable": listen.granted.get("$SYS/#"),
        "topics": len(topics - sys_topics),
        "messages": sum(1 for m in listen.messages if not m.topic.startswith("$SYS")),
        "retained": sum(1 for m in listen.messages if m.retained and not m.topic.startswith("$SYS")),
        "sys_topics": len(sys_topics),
        "listen_s": seconds,
    }


def _objects(target: Target, messages: list[Message], budget: Budget) -> Iterator[SampledObject]:
    groups: dict[str, list[Message]] = defaultdict(list)
    for m in messages:
        groups[topic_pattern(m.topic)].append(m)
    counts = Counter({pattern: len(ms) for pattern, ms in groups.items()})
    for pattern, n in counts.most_common(budget.max_objects):
        rows = [parse_value(m.payload) for m in groups[pattern][: budget.rows_per_object]]
        yield SampledObject(target=target.display, store="mqtt", object=pattern,
                            columns=columns_from_records(rows), records=n)
