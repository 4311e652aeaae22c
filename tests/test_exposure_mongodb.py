"""MongoDB exposure, against the wire-level REPLAY FIXTURE in tests/replay/mongodb.py.

Not a real mongod (MongoDB is not installed on the test machines): a local TCP server answers OP_MSG like
mongod 6.0 / 7.0, with or without --auth (code 13 Unauthorized). Each case asserts exact facts and findings,
that an auth-enabled server yields nothing of severity high or above, that only read commands were sent,
and that no planted value reaches a finding.
"""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from replay.mongodb import READ_COMMANDS, ReplayMongo

from dataward.exposure.base import Contents, evaluate
from dataward.findings import Severity
from dataward.stores.base import Budget, store_for
from dataward.stores.mongodb import MongoStore, hello_message
from dataward.targets import parse_target

pytestmark = pytest.mark.fixture_replay

CANARY_EMAIL = "canary.mongo.51c2@example.com"
DATABASES = {
    "analytics": {
        "users": [{"email": CANARY_EMAIL, "profile": {"wifi_ssid": "Canary Nursery"}, "created": 1}] * 4,
        "devices": [{"mac": "aa:bb:cc:dd:ee:01", "model": "WYZEC3"}],
    },
}
BUDGET = Budget(timeout_s=2)


def _probe(url: str) -> Any:
    target = parse_target(url)
    return store_for(target).probe(target, BUDGET)


def _rules(facts: Any, contents: Contents | None = None) -> dict[str, Severity]:
    return {f.rule: f.severity for f in evaluate(facts, contents)}


def _read_only(server: ReplayMongo) -> None:
    assert {c.lower() for c in server.commands} <= READ_COMMANDS, server.commands


@pytest.mark.parametrize("mode, version, wire", [("mongo6-open", "6.0.12", 17), ("mongo7-open", "7.0.4", 21)])
def test_no_auth_lists_databases(mode: str, version: str, wire: int) -> None:
    with ReplayMongo(mode, DATABASES) as server:
        facts = _probe(server.url)
        _read_only(server)
    assert (facts.reachable, facts.version, facts.details["max_wire_version"]) == (True, version, wire)
    assert (facts.auth_required, facts.anonymous_access, facts.readable) == (False, True, True)
    assert facts.listable == ("admin", "config", "local", "analytics")
    assert facts.records == 5 and facts.details["collections"] == 2
    assert facts.details["list_databases"] == "ok" and facts.details["authorization"] == "disabled"
    assert facts.bind == "127.0.0.1"
    assert _rules(facts) == {"mongodb.no-auth": Severity.HIGH, "mongodb.list-databases-unauth": Severity.HIGH}
    identity = Contents(categories=frozenset({"email"}))
    assert _rules(facts, identity)["mongodb.list-databases-unauth"] == Severity.CRITICAL
    text = json.dumps([f.to_json() for f in evaluate(facts, identity)]) + repr(facts)
    assert CANARY_EMAIL not in text and "Canary Nursery" not in text


def test_no_auth_bound_to_all_interfaces() -> None:
    with ReplayMongo("mongo7-open", DATABASES, bind_ip_all=True) as server:
        facts = _probe(server.url)
    assert facts.bind == "0.0.0.0"
    assert _rules(facts) == {"mongodb.no-auth": Severity.HIGH, "mongodb.list-databases-unauth": Severity.HIGH,
                             "mongodb.public-bind": Severity.LOW, "mongodb.no-tls": Severity.LOW}


@pytest.mark.parametrize("mode", ["mongo6-auth", "mongo7-auth"])
def test_auth_enabled_is_not_exposed(mode: str) -> None:
    with ReplayMongo(mode, DATABASES) as server:
        facts = _probe(server.url)
        _read_only(server)
    assert (facts.reachable, facts.auth_required, facts.anonymous_access) == (True, True, False)
    assert facts.details["list_databases"] == "unauthorized" and facts.listable == ()
    assert facts.version is not None  # buildInfo needs no auth
    assert _rules(facts) == {}


def test_sample_reads_each_collection() -> None:
    with ReplayMongo("mongo7-open", DATABASES) as server:
        target = parse_target(server.url)
        objects = {o.object: o for o in store_for(target).sample(target, Budget(rows_per_object=3))}
        _read_only(server)
    assert set(objects) == {"analytics.users", "analytics.devices"}
    users = objects["analytics.users"]
    assert [c.name for c in users.columns] == ["email", "profile.wifi_ssid", "created"]
    assert users.records == 4 and len(users.columns[0].values) == 3
    assert users.columns[2].dtype == "int"


def test_sample_refused_with_auth() -> None:
    from dataward.errors import TargetError

    with ReplayMongo("mongo7-auth", DATABASES) as server, pytest.raises(TargetError, match="requires auth"):
        target = parse_target(server.url)
        list(store_for(target).sample(target, BUDGET))


def test_legacy_op_query_is_refused_like_6x() -> None:
    """What older scanners send (OP_QUERY listDatabases) gets the connection closed, as on mongod 6.0+."""
    import struct

    import bson

    with ReplayMongo("mongo6-open", DATABASES) as server:
        query = bson.encode({"listDatabases": 1})
        body = struct.pack("<i", 0) + b"admin.$cmd\x00" + struct.pack("<ii", 0, -1) + query
        with socket.create_connection(("127.0.0.1", server.port), timeout=2) as sock:
            sock.sendall(struct.pack("<iiii", 16 + len(body), 1, 0, 2004) + body)
            assert sock.recv(16) == b""
        facts = _probe(server.url)  # dataward's OP_MSG probe still sees the exposure
    assert facts.anonymous_access is True


def test_identify_and_wrong_protocol() -> None:
    with ReplayMongo("mongo7-auth") as server, socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(hello_message())
        assert MongoStore.identify(sock.recv(4096))
    assert not MongoStore.identify(b"HTTP/1.1 200 OK\r\n")
    gone = _probe("mongodb://127.0.0.1:1")
    assert (gone.reachable, gone.error) == (False, "connection refused")


def test_discovery_names_the_fixture_on_a_random_port() -> None:
    from dataward.scan.discovery import discover_services

    with ReplayMongo("mongo7-auth") as server:
        found = {s.port: s.kind for s in discover_services("127.0.0.1", ports=[server.port])}
    assert found == {server.port: "mongodb"}
