"""Generic exposure rules as a specification: hand-made facts (and contents) -> exact findings."""

from __future__ import annotations

from typing import Any

import pytest

from dataward.exposure.base import RULES, Contents, evaluate
from dataward.findings import Severity
from dataward.stores.base import ExposureFacts

IDENTITY = Contents(categories=frozenset({"email", "person_name"}))
CREDENTIAL = Contents(categories=frozenset({"api_token"}))
DEVICE_ONLY = Contents(categories=frozenset({"device_model"}))
NONE = Contents()


def facts(store: str = "redis", **kw: Any) -> ExposureFacts:
    base: dict[str, Any] = {"target": f"{store}://127.0.0.1:1", "store": store, "reachable": True, "scope": "loopback"}
    base.update(kw)
    return ExposureFacts(**base)


CASES = [
    # (id, facts, contents, {rule: severity})
    ("secure loopback", facts(auth_required=True, tls_offered=False), NONE, {}),
    ("no auth, unknown contents", facts(auth_required=False, anonymous_access=True), NONE,
     {"redis.no-auth": Severity.HIGH}),
    ("no auth, identity inside", facts(auth_required=False, anonymous_access=True), IDENTITY,
     {"redis.no-auth": Severity.CRITICAL, "redis.no-tls": None}),
    ("no auth, credentials inside", facts("postgresql", anonymous_access=True, tls_offered=True, tls_required=True),
     CREDENTIAL, {"postgresql.no-auth": Severity.CRITICAL}),
    ("no auth, only metadata", facts(anonymous_access=True), DEVICE_ONLY, {"redis.no-auth": Severity.HIGH}),
    ("default credentials", facts("mysql", auth_required=True, default_credentials="root with an empty password"),
     NONE, {"mysql.default-credentials": Severity.HIGH}),
    ("default credentials + health", facts("mysql", auth_required=True, default_credentials="root with an empty password"),
     Contents(categories=frozenset({"health_metric"})), {"mysql.default-credentials": Severity.CRITICAL}),
    ("wrong credentials", facts("postgresql", auth_required=True, authenticated=False), NONE,
     {"postgresql.auth-failed": Severity.INFO}),
    ("no tls on private address", facts("postgresql", auth_required=True, tls_offered=False, scope="private"), NONE,
     {"postgresql.no-tls": Severity.LOW}),
    ("no tls, loopback, sensitive", facts("postgresql", auth_required=True, tls_offered=False), IDENTITY,
     {"postgresql.no-tls": Severity.MEDIUM}),
    ("no tls, loopback, unknown contents", facts(auth_required=True, tls_offered=False), NONE, {}),
    ("tls optional, binds all", facts("mysql", auth_required=True, tls_offered=True, tls_required=False, bind="0.0.0.0"),
     NONE, {"mysql.tls-not-required": Severity.LOW, "mysql.public-bind": Severity.LOW}),
    ("tls optional, binds all, sensitive",
     facts("mysql", auth_required=True, tls_offered=True, tls_required=False, bind="*"), IDENTITY,
     {"mysql.tls-not-required": Severity.MEDIUM, "mysql.public-bind": Severity.MEDIUM}),
    ("tls required, private bind", facts("postgresql", auth_required=True, tls_offered=True, tls_required=True,
                                         bind="10.0.0.5", scope="private"), IDENTITY, {}),
    ("public URL", facts(auth_required=True, tls_offered=True, tls_required=True, scope="public",
                         target="redis://8.8.8.8:6379"), NONE, {"redis.public-bind": Severity.MEDIUM}),
    ("public bind address", facts(auth_required=True, tls_offered=True, tls_required=True, bind="127.0.0.1 8.8.4.4"),
     NONE, {"redis.public-bind": Severity.MEDIUM}),
    ("ipv6 all interfaces", facts(auth_required=True, bind="::"), NONE, {"redis.public-bind": Severity.LOW}),
    ("unreachable", facts(reachable=False, error="timeout after 3 s"), IDENTITY, {"redis.unreachable": Severity.INFO}),
    ("unknown protocol", facts("mysql", reachable=False, error="not MySQL",
                               details={"protocol_mismatch": "answered with an HTTP response"}), NONE,
     {"mysql.unknown-protocol": Severity.INFO}),
    ("local file kinds skip generic rules", facts("sqlite", auth_required=False, anonymous_access=True,
                                                  tls_offered=False, scope="local-file"), IDENTITY, {}),
    ("s3 has no listener", facts("s3", auth_required=True, scope="public", tls_offered=True, tls_required=True),
     NONE, {}),
]


@pytest.mark.parametrize("f, contents, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_generic_rules(f: ExposureFacts, contents: Contents, expected: dict[str, Severity | None]) -> None:
    generic = {r.id.split(".", 1)[1] for r in RULES if r.id.startswith("*.")}
    got = {x.rule: x.severity for x in evaluate(f, contents) if x.rule.split(".", 1)[1] in generic}
    # None in the table means 'must not fire'
    assert {k: v for k, v in got.items()} == {k: v for k, v in expected.items() if v is not None}
    for rule, sev in expected.items():
        if sev is None:
            assert rule not in got


def test_finding_shape_and_no_password() -> None:
    f = facts("postgresql", anonymous_access=True, listable=("app", "postgres"), records=1200,
              details={"anonymous_how": "connected as 'postgres' without a password"})
    (finding,) = [x for x in evaluate(f, IDENTITY) if x.rule == "postgresql.no-auth"]
    assert finding.categories == ["email", "person_name"]
    assert finding.records == 1200
    assert "connected as 'postgres' without a password" in finding.evidence
    assert "2 object(s) (app, postgres)" in finding.evidence
    assert "pg_hba.conf" in finding.remediation
    assert finding.title.startswith("PostgreSQL answers without credentials and holds credential") is False
    assert "identity data" in finding.title
    assert finding.id == evaluate(f, IDENTITY)[0].id  # stable across evaluations


def test_key_names_are_not_quoted() -> None:
    f = facts("redis", anonymous_access=True, listable=("user:e@example.com", "token:abc"))
    (finding,) = [x for x in evaluate(f) if x.rule == "redis.no-auth"]
    assert "example.com" not in finding.evidence
    assert "2 object(s)" in finding.evidence


def test_every_generic_rule_is_documented() -> None:
    from pathlib import Path

    doc = (Path(__file__).parents[1] / "docs" / "exposure.md").read_text()
    mine = {f"dataward.exposure.{m}" for m in ("auth", "transport", "network", "postgresql", "mysql", "s3", "files")}
    for rule, spec in RULES.items():
        if spec.fn.__module__ not in mine:
            continue  # the other families document themselves in their own sections
        name = rule.split(".", 1)[1]
        assert f"`{name}`" in doc or f"`{rule}`" in doc, rule
