"""End to end against real PostgreSQL servers (dataward.testing): the seed case, a compliant set, trust for
one user, and policy findings — through the CLI, with the real probes, sampler and classifier."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _seed_data import CANARY, load, seed_tables
from click.testing import CliRunner

from dataward.cli import cli

SENSITIVE = {
    "users": {"email", "password_hash"},
    "api_tokens": {"api_token"},
    "integrations": {"alexa_token"},
    "body_metrics": {"health_metric", "gender"},
    "devices": {"wifi_ssid", "device_nickname"},
}


@pytest.fixture(scope="module")
def tables() -> dict[str, Any]:
    return seed_tables(users=300)


@pytest.fixture(scope="module")
def production(postgres_factory: Any, tables: dict[str, Any]) -> Any:
    """Production: scram for everyone, except one reporting user trusted from anywhere (pg_hba 'trust')."""
    pg = postgres_factory.new(
        auth="scram", users={"app": "app-pw", "reporting": ""}, databases=["app"],
        hba=["host all reporting 0.0.0.0/0 trust", "host all all 0.0.0.0/0 scram-sha-256"],
    )
    load(pg.url(user="app", db="app"), tables)
    return pg


@pytest.fixture(scope="module")
def analytics_copy(postgres_factory: Any, tables: dict[str, Any]) -> Any:
    """The naive analytics copy: every table copied, its protection switched off (trust for everyone)."""
    pg = postgres_factory.new(auth="trust", users={"app": "app-pw"}, databases=["analytics"])
    load(pg.url(user="app", db="analytics"), tables)
    return pg


@pytest.fixture(scope="module")
def safe_copy(postgres_factory: Any, tables: dict[str, Any]) -> Any:
    """A compliant analytics store: password required, TLS required, nothing sensitive inside."""
    pg = postgres_factory.new(auth="scram", users={"app": "app-pw"}, databases=["analytics"], ssl=True,
                              hba=["hostssl all all 0.0.0.0/0 scram-sha-256"])
    load(pg.url(user="app", db="analytics") + "?sslmode=require", {"connection_events": tables["connection_events"]})
    return pg


def scan_json(tmp_path: Path, policy: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    path = tmp_path / "dataward.toml"
    path.write_text(policy)
    result = CliRunner(env=env).invoke(cli, ["scan", "--config", str(path), "--format", "json", *args])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout), result.stdout + result.stderr


def test_seed_case_gives_a_critical_finding_per_sensitive_table(tmp_path: Path, analytics_copy: Any) -> None:
    url = analytics_copy.url(user="app", password="", db="analytics")  # no credentials: as an outsider
    policy = f"""
[[store]]
name = "analytics-copy"
url = "{url}"
role = "analytics"
owner = "data-team@example.com"
expires = 2999-01-01

[role.analytics]
forbid = ["credential", "health"]
require = ["auth"]
"""
    code, report, text = scan_json(tmp_path, policy)
    assert code == 1
    per_table = {f["object"]: f for f in report["findings"] if f["rule"] == "postgresql.exposed-data"}
    assert set(per_table) == set(SENSITIVE)
    for table, expected in SENSITIVE.items():
        f = per_table[table]
        assert f["severity"] == "critical", (table, f)
        assert expected <= set(f["categories"]), (table, f["categories"])
        assert f["records"] and f["records"] > 0
    assert "connection_events" not in per_table
    rules = {f["rule"] for f in report["findings"]}
    assert {"postgresql.no-auth", "policy.auth-required", "policy.forbidden-data"} <= rules
    for value in CANARY.values():
        assert value not in text


def test_compliant_set_exits_zero(tmp_path: Path, safe_copy: Any, production: Any) -> None:
    policy = """
[[store]]
name = "analytics-safe"
url = {env = "DW_SAFE_URL"}
role = "analytics"
owner = "data-team@example.com"
expires = 2999-01-01
region = "us"

[role.analytics]
forbid = ["credential", "health", "identity"]
require = ["auth", "tls", "owner", "expiry"]

[residency]
allowed_regions = ["us"]
"""
    env = {"DW_SAFE_URL": safe_copy.url(user="app", db="analytics") + "?sslmode=require"}
    code, report, text = scan_json(tmp_path, policy, env=env)
    severities = {f["severity"] for f in report["findings"]}
    assert code == 0, report["findings"]
    assert not severities & {"critical", "high"}
    assert "app-pw" not in text


def test_production_with_trust_for_one_user(tmp_path: Path, production: Any) -> None:
    """Seen by the monitoring superuser: pg_hba trusts 'reporting' from anywhere -> medium (sensitive inside).
    Seen as that user with no password: the database answers without credentials -> high or worse."""
    admin = production.url(user="dw_admin", password=production.admin_password, db="app")
    policy = f'[[store]]\nname = "production"\nurl = "{admin}"\nrole = "production"\n'
    _, report, text = scan_json(tmp_path, policy)
    hba = [f for f in report["findings"] if f["rule"] == "postgresql.hba-trust"]
    assert [f["severity"] for f in hba] == ["medium"]
    assert production.admin_password not in text
    outsider = production.url(user="reporting", password="", db="app")
    _, report, _ = scan_json(tmp_path, f'[[store]]\nname = "production"\nurl = "{outsider}"\nrole = "production"\n')
    no_auth = [f for f in report["findings"] if f["rule"] == "postgresql.no-auth"]
    assert no_auth and no_auth[0]["severity"] in ("high", "critical")


def test_expired_copy_missing_owner_wrong_region(tmp_path: Path, safe_copy: Any) -> None:
    url = safe_copy.url(user="app", db="analytics") + "?sslmode=require"
    policy = """
[[store]]
name = "analytics-2019"
url = {env = "DW_URL"}
role = "analytics"
expires = 2020-01-31
region = "cn-north-1"

[role.analytics]
require = ["auth", "owner", "expiry"]

[residency]
allowed_regions = ["us"]
"""
    _, report, _ = scan_json(tmp_path, policy, env={"DW_URL": url})
    got = {f["rule"]: f for f in report["findings"] if f["rule"].startswith("policy.")}
    assert {"policy.expired", "policy.owner-missing", "policy.region-not-allowed"} <= set(got)
    assert got["policy.expired"]["severity"] == "high"
    assert got["policy.expired"]["policy"].endswith("dataward.toml:6)")
    assert got["policy.region-not-allowed"]["policy"].endswith("dataward.toml:13)")


def test_discover_finds_an_unlisted_open_store(redis_open: Any) -> None:
    """--discover connects to the given ports, identifies Redis from its answer, and the scan judges it."""
    result = CliRunner().invoke(
        cli, ["scan", "--discover", "127.0.0.1", "--ports", str(redis_open.port), "--format", "json", "--timeout", "2"]
    )
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert [t["store"] for t in report["targets"]] == ["redis"]
    assert any(f["rule"] == "redis.no-auth" for f in report["findings"])
