"""Reachable from another host versus loopback only: servers inside a network namespace, probed from the
host over a veth pair (dataward.testing.netns). Skips with the reason where namespaces are not allowed."""

from __future__ import annotations

from typing import Any

import pytest

from dataward.exposure.base import evaluate
from dataward.findings import Severity
from dataward.scan.discovery import discover_services
from dataward.stores.base import Budget, ExposureFacts, store_for
from dataward.targets import parse_target

pytestmark = pytest.mark.netns
BUDGET = Budget(timeout_s=2)


def probe(url: str) -> ExposureFacts:
    target = parse_target(url)
    return store_for(target).probe(target, BUDGET)


def rules(facts: ExposureFacts) -> dict[str, Severity]:
    return {f.rule: f.severity for f in evaluate(facts)}


@pytest.fixture(scope="module")
def pg_pair(netns: Any, postgres_factory: Any) -> tuple[Any, Any]:
    """Two PostgreSQL servers in one namespace: one on every interface, one on its loopback only."""
    wide = postgres_factory.new(auth="scram", listen="0.0.0.0", netns=netns.name, connect_host=netns.ns_address)
    local = postgres_factory.new(auth="trust", listen="127.0.0.1", netns=netns.name, connect_host=netns.ns_address)
    return wide, local


def test_pg_reachable_from_another_host(pg_pair: tuple[Any, Any], netns: Any) -> None:
    wide, _ = pg_pair
    facts = probe(wide.url(user="app"))
    assert facts.reachable and facts.scope == "private" and facts.bind == "0.0.0.0"
    assert facts.authenticated is True and facts.anonymous_access is False
    # no TLS matters now: the store is reached over the network, not over loopback
    assert rules(facts) == {"postgresql.public-bind": Severity.LOW, "postgresql.no-tls": Severity.LOW}


def test_pg_loopback_only_is_not_reachable(pg_pair: tuple[Any, Any]) -> None:
    _, local = pg_pair
    facts = probe(f"postgresql://postgres@{local.host}:{local.port}/postgres")
    assert facts.reachable is False and facts.error == "connection refused"
    assert rules(facts) == {"postgresql.unreachable": Severity.INFO}


def test_mariadb_empty_root_reachable_only_when_bound_wide(netns: Any) -> None:
    from dataward.testing.servers import BinaryMissing
    from dataward.testing.servers.mariadb import MariaDBServer

    servers = []
    try:
        for bind in ("0.0.0.0", "127.0.0.1"):
            servers.append(MariaDBServer(root_password=None, bind=bind, netns=netns.name,
                                         connect_host=netns.ns_address).start())
    except BinaryMissing as exc:
        pytest.skip(f"MariaDB cannot start: {exc}")
    try:
        wide, local = servers
        facts = probe(f"mysql://{wide.host}:{wide.port}/")
        assert facts.scope == "private" and facts.default_credentials == "root with an empty password"
        assert rules(facts)["mysql.default-credentials"] == Severity.HIGH
        facts = probe(f"mysql://{local.host}:{local.port}/")
        assert facts.reachable is False
    finally:
        for server in servers:
            server.stop()


def test_discovery_across_the_veth_pair(pg_pair: tuple[Any, Any], netns: Any) -> None:
    wide, local = pg_pair
    services = discover_services(f"{netns.ns_address}/30", [wide.port, local.port], timeout=1.0)
    assert [(s.host, s.port, s.kind) for s in services] == [(netns.ns_address, wide.port, "postgresql")]
