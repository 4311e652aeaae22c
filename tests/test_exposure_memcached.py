"""memcached exposure against real memcached processes (dataward.testing.servers MemcachedServer).

A secure server (ASCII auth, -Y) and two insecure ones (no auth on loopback; no auth on every interface), each
with exact facts and findings; nothing is written (curr_items and cmd_set unchanged); no planted value
reaches a fact or a finding; sample() returns the planted key patterns and fields.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from dataward.exposure.base import Contents, evaluate
from dataward.findings import Severity
from dataward.stores.base import Budget, ExposureFacts, store_for
from dataward.stores.memcached import MemcachedStore
from dataward.targets import parse_target
from dataward.testing.servers import BinaryMissing
from dataward.testing.servers.memcached import MemcachedServer

CANARY_EMAIL = "canary.memcached.4be1@example.com"
USER, PASSWORD = "app", "mc-Zq8-secret"
BUDGET = Budget(timeout_s=2)


def _raw(server: MemcachedServer, commands: bytes, auth: bool = False) -> bytes:
    with socket.create_connection((server.host, server.port), timeout=3) as sock:
        if auth:
            payload = f"{USER} {PASSWORD}".encode()
            sock.sendall(b"set a 0 0 %d\r\n%s\r\n" % (len(payload), payload))
            assert sock.recv(64).startswith(b"STORED")
        sock.sendall(commands + b"stats\r\n")
        out = b""
        while not out.endswith(b"END\r\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            out += chunk
    return out


def _plant(server: MemcachedServer, auth: bool) -> None:
    cmds = b""
    for i in range(20):
        value = json.dumps({"email": CANARY_EMAIL, "device": {"ssid": "Canary Nursery"}}).encode()
        cmds += b"set session:%04x9f2c1a7b 0 0 %d\r\n%s\r\n" % (i, len(value), value)
    for i in range(5):
        cmds += b"set user:%d:name 0 0 10\r\nAnn Canary\r\n" % (100 + i)
    _raw(server, cmds, auth)


def _stat(server: MemcachedServer, name: str, auth: bool = False) -> int:
    for line in _raw(server, b"", auth).decode().splitlines():
        if line.startswith(f"STAT {name} "):
            return int(line.split()[2])
    raise AssertionError(name)


def _start(**kw: Any) -> Iterator[MemcachedServer]:
    try:
        server = MemcachedServer(**kw).start()
    except BinaryMissing as exc:
        pytest.skip(str(exc))
    try:
        _plant(server, auth=bool(kw.get("auth_users")))
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def secure() -> Iterator[MemcachedServer]:
    yield from _start(auth_users={USER: PASSWORD})


@pytest.fixture(scope="module")
def open_loopback() -> Iterator[MemcachedServer]:
    yield from _start()


@pytest.fixture(scope="module")
def open_everywhere() -> Iterator[MemcachedServer]:
    yield from _start(bind="0.0.0.0")


def _probe(url: str) -> ExposureFacts:
    target = parse_target(url)
    return store_for(target).probe(target, BUDGET)


def _rules(facts: ExposureFacts, contents: Contents | None = None) -> dict[str, Severity]:
    return {f.rule: f.severity for f in evaluate(facts, contents)}


def _no_canary(facts: ExposureFacts) -> None:
    text = json.dumps([f.to_json() for f in evaluate(facts, Contents(frozenset({"email"})))]) + repr(facts)
    for canary in (CANARY_EMAIL, "Canary Nursery", "Ann Canary", PASSWORD):
        assert canary not in text


def test_secure_ascii_auth(secure: MemcachedServer) -> None:
    before = _stat(secure, "curr_items", auth=True)
    facts = _probe(secure.url())
    assert (facts.reachable, facts.auth_required, facts.anonymous_access, facts.readable) == (True, True, False, False)
    assert facts.records is None and facts.details == {"auth_enabled_ascii": True}
    assert _rules(facts) == {}
    assert all(s < Severity.HIGH for s in _rules(facts, Contents(frozenset({"email"}))).values())
    authed = _probe(secure.url().replace("://", f"://{USER}:{PASSWORD}@"))
    assert (authed.authenticated, authed.records, authed.details["key_dump"]) == (True, 25, "metadump")
    assert authed.details["auth_enabled_ascii"] is True and _rules(authed) == {}
    _no_canary(authed)
    wrong = _probe(secure.url().replace("://", f"://{USER}:nope@"))
    assert wrong.authenticated is False and _rules(wrong) == {"memcached.auth-failed": Severity.INFO}
    assert _stat(secure, "curr_items", auth=True) == before


def test_no_auth_loopback(open_loopback: MemcachedServer) -> None:
    before = (_stat(open_loopback, "curr_items"), _stat(open_loopback, "cmd_set"))
    facts = _probe(open_loopback.url())
    assert (_stat(open_loopback, "curr_items"), _stat(open_loopback, "cmd_set")) == before
    assert (facts.auth_required, facts.anonymous_access, facts.readable) == (False, True, True)
    assert facts.records == 25 and facts.version is not None
    assert facts.bind == "127.0.0.1" and facts.tls_offered is False
    d = facts.details
    assert (d["key_dump"], d["interface"], d["slabs"], d["udp_port"]) == ("metadump", "127.0.0.1", 2, 0)  # two value sizes, two slab classes
    assert (d["auth_enabled_ascii"], d["auth_enabled_sasl"], d["flush_enabled"]) == (False, False, True)
    assert _rules(facts) == {"memcached.no-auth": Severity.HIGH, "memcached.key-dump": Severity.HIGH}
    assert _rules(facts, Contents(frozenset({"email"})))["memcached.key-dump"] == Severity.CRITICAL
    _no_canary(facts)


def test_no_auth_all_interfaces(open_everywhere: MemcachedServer) -> None:
    facts = _probe(open_everywhere.url())
    assert facts.bind == "0.0.0.0" and facts.details["interface"] == "0.0.0.0"
    assert _rules(facts) == {"memcached.no-auth": Severity.HIGH, "memcached.key-dump": Severity.HIGH,
                             "memcached.public-bind": Severity.LOW, "memcached.no-tls": Severity.LOW}


def test_sample_groups_keys(open_loopback: MemcachedServer) -> None:
    before = (_stat(open_loopback, "curr_items"), _stat(open_loopback, "cmd_set"))
    target = parse_target(open_loopback.url())
    objects = {o.object: o for o in store_for(target).sample(target, Budget(rows_per_object=8))}
    assert (_stat(open_loopback, "curr_items"), _stat(open_loopback, "cmd_set")) == before
    assert set(objects) == {"session:*", "user:*:name"}
    session = objects["session:*"]
    assert session.records == 20 and [c.name for c in session.columns] == ["email", "device.ssid"]
    assert len(session.columns[0].values) == 8
    assert objects["user:*:name"].columns[0].name == "$value"


def test_sample_refused_without_credentials(secure: MemcachedServer) -> None:
    from dataward.errors import TargetError

    target = parse_target(secure.url())
    with pytest.raises(TargetError, match="requires authentication"):
        list(store_for(target).sample(target, BUDGET))


def test_identify_and_other_protocols(open_loopback: MemcachedServer) -> None:
    with socket.create_connection((open_loopback.host, open_loopback.port), timeout=2) as sock:
        sock.sendall(MemcachedStore.discovery_hello)
        assert MemcachedStore.identify(sock.recv(64))
    assert not MemcachedStore.identify(b"+PONG\r\n")
    gone = _probe("memcached://127.0.0.1:1")
    assert (gone.reachable, gone.error) == (False, "connection refused")


def test_udp_rule_from_facts() -> None:
    facts = ExposureFacts(target="memcached://10.0.0.5:11211", store="memcached", reachable=True,
                          auth_required=False, anonymous_access=True, scope="private",
                          details={"udp_port": 11211, "key_dump": None})
    assert _rules(facts)["memcached.udp-enabled"] == Severity.MEDIUM
