"""Redis exposure against real redis-server processes (dataward.testing.servers.RedisServer).

One secure and several insecure configurations, each with exact facts and findings; a secure server yields
nothing of severity high or above; a probe and a sample leave DBSIZE unchanged and run only read commands
(INFO commandstats); no planted value reaches a fact or a finding.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from dataward.exposure.base import Contents, evaluate
from dataward.findings import Severity
from dataward.stores.base import Budget, store_for
from dataward.stores.redis import RedisStore
from dataward.targets import parse_target
from dataward.testing.servers import BinaryMissing, RedisServer

CANARY_EMAIL = "canary.redis.93af@example.com"
CANARY_TOKEN = "eyJhbGciOiJIUzI1NiJ9.canaryRedisToken0000.sig"
PASSWORD = "Zq8-not-a-default-pw"
BUDGET = Budget(timeout_s=2)
# Commands a probe or sample may send (redis names subcommands 'config|get'); anything else is a bug.
READ_ONLY = {"ping", "auth", "info", "config|get", "acl|whoami", "acl|getuser", "acl|dryrun", "command|info",
             "scan", "type", "getrange", "hscan", "lrange", "srandmember", "zrange", "select", "dbsize"}
ADMIN_ONLY = {"config|resetstat", "info", "hello", "client|setinfo"}  # the admin client's own


def _start(**kw: Any) -> Iterator[RedisServer]:
    try:
        server = RedisServer(**kw).start()
    except BinaryMissing as exc:
        pytest.skip(str(exc))
    try:
        _plant(server)
        yield server
    finally:
        server.stop()


def _plant(server: RedisServer) -> None:
    with server.admin_client() as c:
        for i in range(30):
            c.set(f"session:{i:04x}9f2c1a7b5d3e", json.dumps({"email": CANARY_EMAIL, "token": CANARY_TOKEN,
                                                              "device": {"mac": "aa:bb:cc:dd:ee:ff"}}))
        for i in range(12):
            c.hset(f"user:{1000 + i}", mapping={"email": CANARY_EMAIL, "full_name": "Ann Canary"})
        c.rpush("queue:events", "connect", "disconnect")


@pytest.fixture(scope="module")
def secure() -> Iterator[RedisServer]:
    yield from _start(requirepass=PASSWORD)


@pytest.fixture(scope="module")
def open_loopback() -> Iterator[RedisServer]:
    """No password; protected-mode on; bound to loopback (protected-mode lets loopback clients in)."""
    yield from _start()


@pytest.fixture(scope="module")
def open_everywhere() -> Iterator[RedisServer]:
    """No password, protected-mode off, bound to every interface: the classic exposed Redis."""
    yield from _start(protected_mode=False, bind="0.0.0.0")


@pytest.fixture(scope="module")
def default_password() -> Iterator[RedisServer]:
    """requirepass set to the redis.conf example password."""
    yield from _start(requirepass="foobared")


def _probe(url: str, budget: Budget = BUDGET) -> Any:
    target = parse_target(url)
    return store_for(target).probe(target, budget)


def _rules(facts: Any, contents: Contents | None = None) -> dict[str, Severity]:
    return {f.rule: f.severity for f in evaluate(facts, contents)}


def _observed(server: RedisServer, action: Any) -> tuple[Any, set[str]]:
    """Run action; return its result and the commands the server ran meanwhile (admin's own excluded)."""
    with server.admin_client() as c:
        before = c.dbsize()
        c.config_resetstat()
    result = action()
    with server.admin_client() as c:
        stats = c.info("commandstats")
        assert c.dbsize() == before, "a probe must not change the keyspace"
    commands = {k.removeprefix("cmdstat_") for k in stats}
    return result, commands - ADMIN_ONLY


def _no_canary(facts: Any, contents: Contents | None = None) -> None:
    text = json.dumps([f.to_json() for f in evaluate(facts, contents)]) + repr(facts)
    for canary in (CANARY_EMAIL, CANARY_TOKEN, "Ann Canary", PASSWORD):
        assert canary not in text


def test_secure_requirepass(secure: RedisServer) -> None:
    facts, commands = _observed(secure, lambda: _probe(secure.url(), Budget(timeout_s=2, default_credentials=())))
    assert commands <= READ_ONLY
    assert (facts.reachable, facts.auth_required, facts.anonymous_access) == (True, True, False)
    assert facts.default_credentials is None and facts.listable == () and facts.records is None
    assert _rules(facts) == {}
    assert all(s < Severity.HIGH for s in _rules(facts, Contents(frozenset({"email"}))).values())


def test_secure_with_the_right_password(secure: RedisServer) -> None:
    facts = _probe(secure.url(user="default", password=PASSWORD))
    assert (facts.authenticated, facts.readable, facts.records, facts.listable) == (True, True, 43, ("db0",))
    assert facts.version is not None and facts.version.count(".") == 2
    assert facts.details["requirepass_set"] is True and facts.details["protected_mode"] is True
    assert facts.details["default_user_nopass"] is False and facts.bind == "127.0.0.1"
    assert _rules(facts) == {}
    _no_canary(facts)
    wrong = _probe(secure.url(user="default", password="wrong"))
    assert wrong.authenticated is False and _rules(wrong) == {"redis.auth-failed": Severity.INFO}


def test_default_password_is_found(default_password: RedisServer) -> None:
    facts = _probe(default_password.url())
    assert facts.auth_required is True and facts.anonymous_access is False
    assert facts.default_credentials == "user 'default' with the well-known password 'f***8'"
    assert facts.records == 43
    assert _rules(facts) == {"redis.default-credentials": Severity.HIGH, "redis.dangerous-commands": Severity.HIGH}
    _no_canary(facts)


def test_no_password_protected_mode_loopback(open_loopback: RedisServer) -> None:
    facts, commands = _observed(open_loopback, lambda: _probe(open_loopback.url()))
    assert commands <= READ_ONLY, commands - READ_ONLY
    assert (facts.auth_required, facts.anonymous_access, facts.readable) == (False, True, True)
    assert facts.details["protected_mode"] is True and facts.details["requirepass_set"] is False
    assert facts.details["default_user_enabled"] is True and facts.details["default_user_nopass"] is True
    assert facts.details["dangerous_commands"] == [
        "CONFIG", "FLUSHALL", "FLUSHDB", "REPLICAOF", "SLAVEOF", "EVAL", "SHUTDOWN", "MIGRATE"]
    assert facts.details["keyspace"] == {"db0": 43} and facts.records == 43
    assert facts.bind == "127.0.0.1" and facts.tls_offered is False
    assert _rules(facts) == {
        "redis.no-auth": Severity.HIGH,
        "redis.dangerous-commands": Severity.HIGH,
        "redis.default-user-nopass": Severity.LOW,
    }
    identity = Contents(categories=frozenset({"email", "api_token"}))
    assert _rules(facts, identity)["redis.no-auth"] == Severity.CRITICAL
    _no_canary(facts, identity)


def test_no_password_all_interfaces_protected_mode_off(open_everywhere: RedisServer) -> None:
    facts = _probe(open_everywhere.url())
    assert facts.details["protected_mode"] is False and facts.bind == "0.0.0.0"
    assert facts.anonymous_access is True
    assert _rules(facts) == {
        "redis.no-auth": Severity.HIGH,
        "redis.dangerous-commands": Severity.HIGH,
        "redis.default-user-nopass": Severity.MEDIUM,
        "redis.protected-mode-off": Severity.MEDIUM,
        "redis.public-bind": Severity.LOW,
        "redis.no-tls": Severity.LOW,
    }


def test_dangerous_commands_hidden_by_acl(open_loopback: RedisServer) -> None:
    """With -@dangerous for the default user the probe cannot ask (ACL DRYRUN is @dangerous): 'unknown'."""
    with open_loopback.admin_client() as c:
        c.execute_command("ACL", "SETUSER", "default", "-@dangerous")
    try:
        facts = _probe(open_loopback.url())
    finally:
        with open_loopback.admin_client() as c:
            c.execute_command("ACL", "SETUSER", "default", "+@all")
    assert facts.anonymous_access is True and facts.details["dangerous_commands"] is None
    assert "redis.dangerous-commands" not in _rules(facts)


def test_password_switched_off_at_runtime(secure: RedisServer) -> None:
    """The seeds' story: a store that was secure loses its password; the next probe sees it."""
    secure.config_set("requirepass", "")
    try:
        assert _probe(secure.url()).anonymous_access is True
    finally:
        secure.config_set("requirepass", PASSWORD)
    assert _probe(secure.url()).anonymous_access is False


def test_sample_groups_keys_into_patterns(open_loopback: RedisServer) -> None:
    target = parse_target(open_loopback.url())
    objects, commands = _observed(open_loopback, lambda: {
        o.object: o for o in store_for(target).sample(target, Budget(rows_per_object=10))})
    assert commands <= READ_ONLY, commands - READ_ONLY
    assert set(objects) == {"db0:session:*", "db0:user:*", "db0:queue:events"}
    session = objects["db0:session:*"]
    assert session.records == 30 and [c.name for c in session.columns] == ["email", "token", "device.mac"]
    assert len(session.columns[0].values) == 10
    assert [c.name for c in objects["db0:user:*"].columns] == ["email", "full_name"]
    assert objects["db0:queue:events"].columns[0].name == "$value"


def test_sample_refuses_without_password(secure: RedisServer) -> None:
    from dataward.errors import TargetError

    target = parse_target(secure.url())
    with pytest.raises(TargetError, match="requires a password"):
        list(store_for(target).sample(target, BUDGET))


def test_unreachable_and_identify(open_loopback: RedisServer) -> None:
    gone = _probe("redis://127.0.0.1:1")
    assert (gone.reachable, gone.error) == (False, "connection refused")
    assert _rules(gone) == {"redis.unreachable": Severity.INFO}
    import socket

    with socket.create_connection((open_loopback.host, open_loopback.port), timeout=2) as sock:
        sock.sendall(RedisStore.discovery_hello)
        assert RedisStore.identify(sock.recv(64))
    assert RedisStore.identify(b"-NOAUTH Authentication required.\r\n")
    assert not RedisStore.identify(b"VERSION 1.6.18\r\n")


# ---- seen from another host (network namespace) --------------------------------------------------------


@pytest.mark.netns
def test_protected_mode_denies_a_remote_client(redis_factory: Any, netns: Any) -> None:
    """No password, protected-mode on, bound to every interface: a client on another host gets -DENIED."""
    server = redis_factory.new(protected_mode=True, bind="0.0.0.0", netns=netns.name, connect_host=netns.ns_address)
    facts = _probe(server.url())
    assert (facts.reachable, facts.scope, facts.anonymous_access) == (True, "private", False)
    assert facts.details == {"protected_mode": True, "denied_by_protected_mode": True}
    assert _rules(facts) == {"redis.protected-mode-only": Severity.LOW}
    assert _rules(facts, Contents(frozenset({"email"}))) == {"redis.protected-mode-only": Severity.MEDIUM}


@pytest.mark.netns
def test_open_redis_seen_from_another_host(redis_factory: Any, netns: Any) -> None:
    server = redis_factory.new(protected_mode=False, bind="0.0.0.0", netns=netns.name,
                               connect_host=netns.ns_address)
    facts = _probe(server.url())
    assert (facts.scope, facts.anonymous_access, facts.bind) == ("private", True, "0.0.0.0")
    assert _rules(facts) == {
        "redis.no-auth": Severity.HIGH,
        "redis.dangerous-commands": Severity.HIGH,
        "redis.default-user-nopass": Severity.MEDIUM,
        "redis.protected-mode-off": Severity.MEDIUM,
        "redis.public-bind": Severity.LOW,
        "redis.no-tls": Severity.LOW,
    }


def test_tls_only_port_is_probed_over_tls(tmp_path: Any) -> None:
    """``port 0`` + ``tls-port``: a plain probe is dropped, so dataward retries over TLS: TLS offered and required.

    RedisServer has no TLS option, so this one test runs redis-server itself (same binary, own temp dir)."""
    import shutil
    import subprocess

    from dataward.localservers.base import wait_until
    from dataward.localservers.ports import free_port, port_open
    from dataward.localservers.tls import self_signed

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    crt, key = self_signed(tmp_path, ("127.0.0.1", "localhost"))
    port = free_port()
    proc = subprocess.Popen([binary, "--port", "0", "--tls-port", str(port), "--tls-cert-file", str(crt),
                             "--tls-key-file", str(key), "--tls-auth-clients", "no", "--save", "",
                             "--appendonly", "no", "--bind", "127.0.0.1", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        if not wait_until(lambda: port_open("127.0.0.1", port) or proc.poll() is not None, 10):
            pytest.skip("redis-server with --tls-port did not come up")
        if proc.poll() is not None:
            pytest.skip("this redis-server was built without TLS")
        facts = _probe(f"redis://127.0.0.1:{port}")
        direct = _probe(f"rediss://127.0.0.1:{port}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert (facts.reachable, facts.tls_offered, facts.tls_required) == (True, True, True)
    assert (direct.tls_offered, direct.tls_required, direct.details["tls_port"]) == (True, True, port)
    assert facts.anonymous_access is True and "redis.no-tls" not in _rules(facts)
