"""Kind-specific exposure rules (redis, mqtt, memcached, elasticsearch/opensearch, mongodb) as a table:
hand-made facts (and contents) -> exactly the kind-specific findings and severities. No server needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dataward.exposure.base import RULES, Contents, evaluate
from dataward.findings import Severity
from dataward.stores.base import ExposureFacts

KINDS = ("redis", "mqtt", "memcached", "elasticsearch", "opensearch", "mongodb")
IDENTITY = Contents(categories=frozenset({"email"}))
NONE = Contents()
H, M, L, C = Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.CRITICAL


def facts(store: str, **kw: Any) -> ExposureFacts:
    base: dict[str, Any] = {"target": f"{store}://127.0.0.1:1", "store": store, "reachable": True,
                            "scope": "loopback"}
    base.update(kw)
    return ExposureFacts(**base)


ANON = {"auth_required": False, "anonymous_access": True}
LOCKED = {"auth_required": True, "anonymous_access": False}
CASES = [
    # redis
    ("redis protected-mode off, loopback", facts("redis", **ANON, details={"protected_mode": False}), NONE,
     {"redis.protected-mode-off": L}),
    ("redis protected-mode off, private URL", facts("redis", **ANON, scope="private",
                                                    details={"protected_mode": False}), NONE,
     {"redis.protected-mode-off": M}),
    ("redis protected-mode off but a password", facts("redis", **LOCKED, details={"protected_mode": False}),
     NONE, {}),
    ("redis -DENIED", facts("redis", details={"denied_by_protected_mode": True}), IDENTITY,
     {"redis.protected-mode-only": M}),
    ("redis only FLUSH*", facts("redis", **ANON, details={"dangerous_commands": ["FLUSHALL", "FLUSHDB"]}), NONE,
     {"redis.dangerous-commands": M}),
    ("redis CONFIG, identity inside", facts("redis", **ANON, details={"dangerous_commands": ["CONFIG"]}),
     IDENTITY, {"redis.dangerous-commands": C}),
    ("redis CONFIG with a default password", facts("redis", **LOCKED, default_credentials="user 'default' with x",
                                                   details={"dangerous_commands": ["CONFIG"]}), NONE,
     {"redis.dangerous-commands": H}),
    ("redis CONFIG for a real user only", facts("redis", **LOCKED, authenticated=True,
                                                details={"dangerous_commands": ["CONFIG"]}), NONE, {}),
    ("redis dangerous unknown", facts("redis", **ANON, details={"dangerous_commands": None}), NONE, {}),
    ("redis nopass default user", facts("redis", **ANON, details={"default_user_enabled": True,
                                                                  "default_user_nopass": True}), NONE,
     {"redis.default-user-nopass": L}),
    ("redis disabled default user", facts("redis", **LOCKED, details={"default_user_enabled": False,
                                                                      "default_user_nopass": True}), NONE, {}),
    # mqtt
    ("mqtt # with messages", facts("mqtt", **ANON, details={"subscribe_all": True, "messages": 3}), IDENTITY,
     {"mqtt.subscribe-all": C}),
    ("mqtt # quiet", facts("mqtt", **ANON, details={"subscribe_all": True, "messages": 0}), NONE,
     {"mqtt.subscribe-all": M}),
    ("mqtt # refused", facts("mqtt", **ANON, details={"subscribe_all": False, "sys_readable": False}), NONE, {}),
    ("mqtt # for a real user", facts("mqtt", **LOCKED, authenticated=True,
                                     details={"subscribe_all": True, "sys_readable": True, "messages": 9}),
     IDENTITY, {}),
    ("mqtt $SYS", facts("mqtt", **ANON, details={"sys_readable": True, "sys_topics": 40}), NONE,
     {"mqtt.sys-readable": L}),
    # memcached
    ("memcached dump", facts("memcached", **ANON, details={"key_dump": "cachedump"}), IDENTITY,
     {"memcached.key-dump": C}),
    ("memcached no dump", facts("memcached", **ANON, details={"key_dump": None}), NONE, {}),
    ("memcached dump with auth", facts("memcached", **LOCKED, authenticated=True, details={"key_dump": "metadump"}),
     NONE, {}),
    ("memcached udp", facts("memcached", **ANON, details={"udp_port": 11211}), NONE, {"memcached.udp-enabled": M}),
    # elasticsearch / opensearch
    ("es security off", facts("elasticsearch", **ANON, details={"security": "disabled"}), NONE,
     {"elasticsearch.security-disabled": H}),
    ("opensearch readable", facts("opensearch", **ANON, listable=("users",), records=10,
                                  details={"search_readable": True}), IDENTITY,
     {"elasticsearch.indices-readable": C}),
    ("es anonymous role, nothing searchable", facts("elasticsearch", **ANON, details={"security": "anonymous",
                                                                                      "search_readable": False}),
     NONE, {}),
    ("es readable with real credentials", facts("elasticsearch", **LOCKED, authenticated=True,
                                                details={"search_readable": True, "security": "enabled"}),
     IDENTITY, {}),
    ("kibana open", facts("elasticsearch", **LOCKED, details={"kibana": "open", "kibana_port": 5601}), NONE,
     {"elasticsearch.kibana-open": H}),
    ("kibana locked", facts("elasticsearch", **LOCKED, details={"kibana": "auth", "kibana_port": 5601}), NONE, {}),
    # mongodb
    ("mongo listDatabases", facts("mongodb", **ANON, listable=("admin", "app"), records=5,
                                  details={"list_databases": "ok", "collections": 2}), IDENTITY,
     {"mongodb.list-databases-unauth": C}),
    ("mongo unauthorized", facts("mongodb", **LOCKED, details={"list_databases": "unauthorized"}), IDENTITY, {}),
]


@pytest.mark.parametrize("name, f, contents, expected", CASES, ids=[c[0] for c in CASES])
def test_kind_rules(name: str, f: ExposureFacts, contents: Contents, expected: dict[str, Severity]) -> None:
    kind_rules = {r for r, rule in RULES.items() if rule.stores and set(rule.stores) & set(KINDS)}
    got = {x.rule: x.severity for x in evaluate(f, contents) if x.rule in kind_rules}
    assert got == expected


def test_every_kind_rule_is_documented_and_tabled() -> None:
    docs = (Path(__file__).resolve().parent.parent / "docs" / "exposure.md").read_text()
    rules = [r for r, rule in RULES.items() if rule.stores and set(rule.stores) & set(KINDS)]
    assert len(rules) == 12
    tabled = {r for _, _, _, expected in CASES for r in expected}
    for rule in rules:
        assert f"`{rule}`" in docs, f"{rule} is not documented in docs/exposure.md"
        assert rule in tabled, f"{rule} has no positive case in CASES"


def test_findings_never_quote_key_or_topic_names() -> None:
    """Key and topic names can embed customer data: kind rules only count them."""
    f = facts("redis", **ANON, listable=("db0",), details={"dangerous_commands": ["CONFIG"], "protected_mode": False,
                                                           "default_user_enabled": True, "default_user_nopass": True})
    m = facts("mqtt", **ANON, listable=("users/+/email/ann@example.com",), details={"subscribe_all": True,
                                                                                   "messages": 1})
    text = " ".join(x.evidence + x.title for x in evaluate(f) + evaluate(m))
    assert "ann@example.com" not in text
