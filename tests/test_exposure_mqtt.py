"""MQTT exposure against real Mosquitto brokers (dataward.testing.servers MosquittoServer).

A secure broker (password file, no anonymous) and insecure ones (anonymous; a well-known admin/admin login;
anonymous behind an ACL), each with exact facts and findings; retained messages are identical before and
after a probe (the probe never publishes); no payload reaches a fact or a finding.
Every URL carries ``?tls_port=`` so that the TLS-listener check never touches a standard port on this machine.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as paho
import paho.mqtt.publish as publish
import pytest

from dataward.exposure.base import Contents, evaluate
from dataward.findings import Severity
from dataward.stores.base import Budget, ExposureFacts, store_for
from dataward.stores.mqtt import MqttStore, connect_packet
from dataward.targets import parse_target
from dataward.testing.servers import BinaryMissing
from dataward.testing.servers.mosquitto import MosquittoServer
from dataward.testing.waiting import connect_and_wait, subscribe_and_wait, wait_until

CANARY_SSID = "Canary Nursery 77e1"
CANARY_EMAIL = "canary.mqtt.0c5d@example.com"
PUBLISHER, PUBLISHER_PW = "publisher", "pub-Zq8-secret"
BUDGET = Budget(timeout_s=2, listen_s=0.6)
RETAINED = [
    ("devices/aa:bb:cc:dd:ee:01/state", {"wifi_ssid": CANARY_SSID, "rssi": -41}),
    ("devices/aa:bb:cc:dd:ee:02/state", {"wifi_ssid": CANARY_SSID, "rssi": -57}),
    ("users/1042/profile", {"email": CANARY_EMAIL}),
    ("public/firmware", {"latest": "4.36.11"}),
]


def _auth(server: MosquittoServer) -> dict[str, str] | None:
    if server.allow_anonymous and not server.passwords:
        return None
    user = PUBLISHER if PUBLISHER in server.passwords else next(iter(server.passwords))
    return {"username": user, "password": server.passwords[user]}


def _plant(server: MosquittoServer) -> None:
    msgs = [{"topic": t, "payload": json.dumps(p), "retain": True, "qos": 1} for t, p in RETAINED]
    publish.multiple(msgs, hostname=server.host, port=server.port, auth=_auth(server))


def _retained(server: MosquittoServer) -> list[tuple[str, bytes]]:
    """Retained messages as a separate client sees them: subscribe '#', then publish a marker and wait for it
    (the broker sends a subscription's retained messages before anything published after its SUBACK)."""
    seen: list[tuple[str, bytes]] = []
    marker = f"dataward-test/marker/{secrets.token_hex(4)}"
    client = paho.Client(paho.CallbackAPIVersion.VERSION2)
    auth = _auth(server)
    if auth:
        client.username_pw_set(auth["username"], auth["password"])
    client.on_message = lambda c, u, m: seen.append((m.topic, m.payload)) if m.retain or m.topic == marker else None
    connect_and_wait(client, server.host, server.port)
    try:
        subscribe_and_wait(client, "#", qos=1)
        client.publish(marker, b"", qos=1)
        wait_until(lambda: any(topic == marker for topic, _ in seen), 10, "the marker message")
    finally:
        client.loop_stop()
        client.disconnect()
    return sorted(m for m in seen if m[0] != marker)


def _start(**kw: Any) -> Iterator[MosquittoServer]:
    try:
        server = MosquittoServer(**kw).start()
    except BinaryMissing as exc:
        pytest.skip(str(exc))
    try:
        if not server.tls:
            _plant(server)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def secure() -> Iterator[MosquittoServer]:
    yield from _start(allow_anonymous=False, passwords={PUBLISHER: PUBLISHER_PW})


@pytest.fixture(scope="module")
def anonymous() -> Iterator[MosquittoServer]:
    yield from _start()


@pytest.fixture(scope="module")
def default_login() -> Iterator[MosquittoServer]:
    yield from _start(allow_anonymous=False, passwords={"admin": "admin", PUBLISHER: PUBLISHER_PW})


@pytest.fixture(scope="module")
def anonymous_acl() -> Iterator[MosquittoServer]:
    """Anonymous allowed, but the ACL lets anonymous clients read public/# only."""
    yield from _start(passwords={PUBLISHER: PUBLISHER_PW},
                      acl=["topic read public/#", f"user {PUBLISHER}", "topic readwrite #"])


@pytest.fixture(scope="module")
def tls_broker() -> Iterator[MosquittoServer]:
    yield from _start(tls=True, allow_anonymous=False, passwords={PUBLISHER: PUBLISHER_PW})


def _url(server: MosquittoServer, user: str | None = None, password: str | None = None, tls_port: int = 1) -> str:
    return f"{server.url(user, password)}?tls_port={tls_port}"


def _probe(url: str, budget: Budget = BUDGET) -> ExposureFacts:
    target = parse_target(url)
    return store_for(target).probe(target, budget)


def _rules(facts: ExposureFacts, contents: Contents | None = None) -> dict[str, Severity]:
    return {f.rule: f.severity for f in evaluate(facts, contents)}


def _no_canary(facts: ExposureFacts) -> None:
    text = json.dumps([f.to_json() for f in evaluate(facts, Contents(frozenset({"email"})))]) + repr(facts)
    for canary in (CANARY_SSID, CANARY_EMAIL, PUBLISHER_PW, "aa:bb:cc:dd:ee:01"):
        assert canary not in text


def test_secure_broker(secure: MosquittoServer) -> None:
    before = _retained(secure)
    facts = _probe(_url(secure))
    assert _retained(secure) == before and len(before) == 4
    assert (facts.reachable, facts.auth_required, facts.anonymous_access) == (True, True, False)
    assert facts.default_credentials is None and facts.details["connack"] == 5
    assert facts.details["subscribe_all"] is None and facts.records == 0
    assert facts.tls_offered is False
    assert _rules(facts) == {}
    assert all(s < Severity.HIGH for s in _rules(facts, Contents(frozenset({"email"}))).values())
    good = _probe(_url(secure, PUBLISHER), Budget(timeout_s=2, listen_s=0.6, default_credentials=()))
    assert (good.authenticated, good.details["subscribe_all"], good.details["retained"]) == (True, True, 4)
    assert _rules(good) == {}
    _no_canary(good)


def test_anonymous_broker(anonymous: MosquittoServer) -> None:
    before = _retained(anonymous)
    facts = _probe(_url(anonymous))
    assert _retained(anonymous) == before and len(before) == 4
    assert (facts.auth_required, facts.anonymous_access, facts.readable) == (False, True, True)
    d = facts.details
    assert (d["connack"], d["subscribe_all"], d["sys_readable"]) == (0, True, True)
    assert (d["topics"], d["messages"], d["retained"]) == (4, 4, 4) and d["sys_topics"] > 0
    assert facts.version is not None and facts.version.startswith("mosquitto version")
    assert facts.listable == ("devices/+/state", "public/firmware", "users/+/profile")
    assert _rules(facts) == {"mqtt.no-auth": Severity.HIGH, "mqtt.subscribe-all": Severity.HIGH,
                             "mqtt.sys-readable": Severity.LOW}
    assert _rules(facts, Contents(frozenset({"email"})))["mqtt.subscribe-all"] == Severity.CRITICAL
    _no_canary(facts)


def test_default_admin_login(default_login: MosquittoServer) -> None:
    facts = _probe(_url(default_login))
    assert facts.auth_required is True and facts.anonymous_access is False
    assert facts.default_credentials == "user 'admin' with the well-known password 'a***5'"
    assert facts.details["subscribe_all"] is True and facts.details["retained"] == 4
    assert _rules(facts) == {"mqtt.default-credentials": Severity.HIGH, "mqtt.subscribe-all": Severity.HIGH,
                             "mqtt.sys-readable": Severity.LOW}
    _no_canary(facts)


def test_anonymous_behind_acl(anonymous_acl: MosquittoServer) -> None:
    """Mosquitto 2 grants '#' but delivers only what the ACL allows: the facts say how much arrived."""
    facts = _probe(_url(anonymous_acl))
    d = facts.details
    assert (facts.anonymous_access, d["subscribe_all"], d["topics"], d["retained"]) == (True, True, 1, 1)
    assert facts.listable == ("public/firmware",)
    assert _rules(facts)["mqtt.subscribe-all"] == Severity.HIGH


def test_tls_listener(tls_broker: MosquittoServer, anonymous: MosquittoServer) -> None:
    facts = _probe(_url(tls_broker))
    assert facts.reachable and facts.tls_offered is True and facts.auth_required is True
    # a plain broker whose host also has a TLS listener (here: the other broker's port) offers TLS too
    plain = _probe(_url(anonymous, tls_port=tls_broker.port))
    assert (plain.tls_offered, plain.tls_required, plain.details["tls_port"]) == (True, False, tls_broker.port)


def test_sample_topic_patterns(anonymous: MosquittoServer) -> None:
    before = _retained(anonymous)
    target = parse_target(_url(anonymous))
    objects = {o.object: o for o in store_for(target).sample(target, BUDGET)}
    assert _retained(anonymous) == before
    assert set(objects) == {"devices/+/state", "users/+/profile", "public/firmware"}
    devices = objects["devices/+/state"]
    assert devices.records == 2 and [c.name for c in devices.columns] == ["wifi_ssid", "rssi"]
    assert devices.columns[1].dtype == "int"


def test_sample_refused(secure: MosquittoServer) -> None:
    from dataward.errors import TargetError

    target = parse_target(_url(secure))
    with pytest.raises(TargetError, match="not authorized"):
        list(store_for(target).sample(target, BUDGET))


def test_identify_and_unreachable(anonymous: MosquittoServer) -> None:
    import socket

    with socket.create_connection((anonymous.host, anonymous.port), timeout=2) as sock:
        sock.sendall(MqttStore.discovery_hello)
        assert MqttStore.identify(sock.recv(16))
    assert MqttStore.identify(b"\x20\x02\x00\x05")
    assert not MqttStore.identify(b"+PONG\r\n")
    assert connect_packet("x")[0] == 0x10  # CONNECT, and nothing in this module builds a PUBLISH (0x3_)
    gone = _probe("mqtt://127.0.0.1:1?tls_port=1")
    assert (gone.reachable, gone.error) == (False, "connection refused")
