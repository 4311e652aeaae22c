"""The role's required controls (tls, private_network, expiry) as a table: facts in, policy rule ids out.

A local kind (a file on disk: ``local = True`` on its store class) has no transport or listen address, so the
tls and private_network requirements never fire for it.
"""

from __future__ import annotations

from typing import Any

import pytest

from dataward.policy import parse_policy
from dataward.policy.rules import PolicyContext, evaluate_policy
from dataward.stores.base import ExposureFacts

POLICY = """
[[store]]
name = "copy"
url = "{url}"
role = "analytics"
owner = "data-team@example.com"
{expires}

[role.analytics]
require = ["tls", "private_network", "expiry"]
"""


def _rules(store: str, url: str, *, expires: bool = True, **facts: Any) -> set[str]:
    policy = parse_policy(POLICY.format(url=url, expires="expires = 2999-01-31" if expires else ""))
    seen = ExposureFacts(target=url, store=store, reachable=True, **facts)
    ctx = PolicyContext(policy, policy.store[0], seen)
    return {f.rule for f in evaluate_policy(ctx)}


@pytest.mark.parametrize(
    "store, url, facts, expected",
    [
        ("postgresql", "postgresql://db.example:5432/app", {"tls_offered": False, "scope": "private"},
         {"policy.tls-required"}),
        ("postgresql", "postgresql://db.example:5432/app", {"tls_required": True, "scope": "public"},
         {"policy.private-network"}),
        ("redis", "redis://db.example:6379/0", {"tls_required": True, "scope": "private", "bind": "0.0.0.0"},
         {"policy.private-network"}),
        ("postgresql", "postgresql://db.example:5432/app", {"tls_required": True, "scope": "private"}, set()),
        ("sqlite", "sqlite:///srv/copy.db", {"tls_offered": False, "scope": "public"}, set()),
        ("duckdb", "duckdb:///srv/copy.duckdb", {"scope": "local-file", "bind": "0.0.0.0"}, set()),
    ],
    ids=["no-tls", "public-address", "all-interfaces", "compliant", "sqlite-is-local", "duckdb-is-local"],
)
def test_required_controls(store: str, url: str, facts: dict[str, Any], expected: set[str]) -> None:
    assert _rules(store, url, **facts) == expected


def test_expiry_missing_names_the_rule() -> None:
    rules = _rules("postgresql", "postgresql://db.example:5432/app", expires=False, tls_required=True,
                   scope="private")
    assert rules == {"policy.expiry-missing"}
