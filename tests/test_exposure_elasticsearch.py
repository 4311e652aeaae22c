"""Elasticsearch / OpenSearch exposure, against the REPLAY FIXTURE in tests/replay/elasticsearch.py.

Not a real cluster (Elasticsearch cannot run on the test machines): a local HTTP server replays the
documented answers of ES 7.x, ES 8.x with security off and on, and OpenSearch 2.x with and without its
security plugin. Each case asserts exact facts and findings, that a secured cluster yields nothing of
severity high or above, that only GET requests were sent, and that no planted value reaches a finding.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from replay.elasticsearch import ReplaySearchCluster

from dataward.exposure.base import Contents, evaluate
from dataward.findings import Severity
from dataward.stores.base import Budget, store_for
from dataward.stores.elasticsearch import ElasticsearchStore
from dataward.targets import parse_target

pytestmark = pytest.mark.fixture_replay

CANARY_EMAIL = "canary.es.7f3a9e@example.com"
CANARY_TOKEN = "Atza|IwEBIcanaryES0000000000000000000000000000000000"
DOCS: dict[str, list[dict[str, Any]]] = {
    "users": [{"email": CANARY_EMAIL, "profile": {"full_name": "Ann Canary", "wifi_ssid": "Emma's Nursery"}}] * 3,
    "integrations": [{"provider": "alexa", "access_token": CANARY_TOKEN}],
    ".kibana_1": [{"type": "config"}],
}
BUDGET = Budget(timeout_s=2, default_credentials=())


def _probe(url: str, budget: Budget = BUDGET) -> Any:
    target = parse_target(url)
    return store_for(target).probe(target, budget)


def _rules(facts: Any, contents: Contents | None = None) -> dict[str, Severity]:
    return {f.rule: f.severity for f in evaluate(facts, contents)}


def _no_canary(facts: Any) -> None:
    text = json.dumps([f.to_json() for f in evaluate(facts)]) + repr(facts)
    assert CANARY_EMAIL not in text and CANARY_TOKEN not in text and "Ann Canary" not in text


@pytest.mark.parametrize("mode, kind, version", [
    ("es7", "elasticsearch", "7.17.9"),
    ("es8-open", "elasticsearch", "8.11.1"),
    ("opensearch2", "opensearch", "2.11.1"),
])
def test_open_cluster(mode: str, kind: str, version: str) -> None:
    with ReplaySearchCluster(mode, DOCS) as cluster:
        facts = _probe(cluster.url)
        assert {m for m, _ in cluster.requests} == {"GET"}
    assert (facts.store, facts.version, facts.reachable) == (kind, version, True)
    assert (facts.auth_required, facts.anonymous_access, facts.readable) == (False, True, True)
    assert facts.listable == ("users", "integrations") and facts.records == 4
    assert facts.details["security"] == "disabled"
    assert facts.details["indices"] == 2 and facts.details["system_indices"] == 1
    assert facts.details["kibana"] is None and facts.bind == "127.0.0.1"
    assert _rules(facts) == {
        f"{kind}.no-auth": Severity.HIGH,
        "elasticsearch.security-disabled": Severity.HIGH,
        "elasticsearch.indices-readable": Severity.HIGH,
    }
    identity = Contents(categories=frozenset({"email", "alexa_token"}))
    assert _rules(facts, identity)["elasticsearch.indices-readable"] == Severity.CRITICAL
    _no_canary(facts)


def test_es8_secured_no_credentials() -> None:
    with ReplaySearchCluster("es8-secured", DOCS, users={"elastic": "s3cret-pw"}) as cluster:
        facts = _probe(cluster.url)
    assert (facts.reachable, facts.auth_required, facts.anonymous_access) == (True, True, False)
    assert facts.details["auth_realm"] == "security" and facts.details["security"] == "enabled"
    assert facts.listable == () and facts.readable is None
    assert all(s < Severity.HIGH for s in _rules(facts).values())
    assert _rules(facts) == {}


def test_es8_secured_with_credentials_reads_but_is_not_exposed() -> None:
    with ReplaySearchCluster("es8-secured", DOCS, users={"elastic": "s3cret-pw"}) as cluster:
        facts = _probe(cluster.url_with("elastic", "s3cret-pw"))
        wrong = _probe(cluster.url_with("elastic", "nope"))
    assert (facts.authenticated, facts.readable, facts.version) == (True, True, "8.11.1")
    assert facts.listable == ("users", "integrations")
    assert "s3cret-pw" not in repr(facts)
    assert _rules(facts) == {}
    assert wrong.authenticated is False and _rules(wrong) == {"elasticsearch.auth-failed": Severity.INFO}


def test_opensearch_demo_credentials_found() -> None:
    with ReplaySearchCluster("opensearch2-secured", DOCS) as cluster:
        facts = _probe(cluster.url, Budget(timeout_s=2))  # built-in list: admin/admin is the demo login
    assert facts.store == "opensearch" and facts.auth_required is True
    assert facts.default_credentials == "user 'admin' with the well-known password 'a***5'"
    assert facts.details["auth_realm"] == "OpenSearch Security"
    assert _rules(facts) == {
        "opensearch.default-credentials": Severity.HIGH,
        "elasticsearch.indices-readable": Severity.HIGH,
    }


def test_bound_to_every_interface() -> None:
    with ReplaySearchCluster("es8-open", DOCS, bind_all=True) as cluster:
        facts = _probe(cluster.url)
    assert facts.bind == "0.0.0.0" and facts.details["bound_address"] == ["[::]:9200"]
    rules = _rules(facts)
    assert rules["elasticsearch.public-bind"] == Severity.LOW and rules["elasticsearch.no-tls"] == Severity.LOW


def test_kibana_open_next_to_cluster() -> None:
    with ReplaySearchCluster("es7", DOCS, kibana="open") as cluster:
        facts = _probe(cluster.url)
    assert facts.details["kibana"] == "open" and facts.details["kibana_version"] == "7.17.9"
    assert _rules(facts)["elasticsearch.kibana-open"] == Severity.HIGH


def test_sample_flattens_documents() -> None:
    with ReplaySearchCluster("es8-open", DOCS) as cluster:
        target = parse_target(cluster.url)
        objects = {o.object: o for o in store_for(target).sample(target, Budget(rows_per_object=2))}
        assert {m for m, _ in cluster.requests} == {"GET"}
    assert set(objects) == {"users", "integrations"}
    users = objects["users"]
    assert [c.name for c in users.columns] == ["email", "profile.full_name", "profile.wifi_ssid"]
    assert users.records == 3 and len(users.columns[0].values) == 2
    assert objects["integrations"].columns[1].values.to_pylist() == [CANARY_TOKEN]


@pytest.mark.parametrize("url, resolved", [
    ("http://127.0.0.1:9200/?kind=elasticsearch", ElasticsearchStore),
    ("https://127.0.0.1:9200", ElasticsearchStore),
    ("opensearch://127.0.0.1:9200", ElasticsearchStore),
])
def test_http_urls_resolve(url: str, resolved: type) -> None:
    assert isinstance(store_for(parse_target(url)), resolved)


def test_unknown_http_kind_is_a_clear_error() -> None:
    from dataward.errors import TargetError

    with pytest.raises(TargetError, match="kind=couchdb"):
        store_for(parse_target("http://127.0.0.1:1/?kind=couchdb"))


def test_not_a_search_cluster_and_unreachable() -> None:
    import http.server
    import threading

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        other = _probe(f"http://127.0.0.1:{server.server_address[1]}/?kibana_port=1")
    finally:
        server.shutdown()
        server.server_close()
    assert other.reachable and "protocol_mismatch" in other.details
    assert _rules(other) == {"elasticsearch.unknown-protocol": Severity.INFO}
    gone = _probe("http://127.0.0.1:1/")
    assert (gone.reachable, gone.error) == (False, "connection refused")


def test_identify_hook() -> None:
    with ReplaySearchCluster("es8-secured", DOCS, users={"a": "b"}) as cluster:
        import socket

        with socket.create_connection(("127.0.0.1", cluster.port), timeout=2) as sock:
            sock.sendall(ElasticsearchStore.discovery_hello)
            answer = sock.recv(4096)
    assert ElasticsearchStore.identify(answer)
    assert not ElasticsearchStore.identify(b"+PONG\r\n")


@pytest.mark.parametrize("mode", ["es8-secured", "opensearch2"])
def test_discovery_names_the_fixture_on_a_random_port(mode: str) -> None:
    from dataward.scan.discovery import discover_services

    with ReplaySearchCluster(mode, DOCS, users={"elastic": "x"}) as cluster:
        found = {s.port: s.kind for s in discover_services("127.0.0.1", ports=[cluster.port], timeout=5.0)}  # loaded CI
    assert found == {cluster.port: "elasticsearch"}
