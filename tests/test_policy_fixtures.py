"""Policy file -> expected findings (or the exact one-line error), one fixture pair per case.

Fixtures live in tests/fixtures/policy/: ``NAME.toml`` and ``NAME.expected.json`` holding either
``{"error": "<stderr line>"}`` or ``{"findings": [[rule, severity, object, policy-ref], ...]}`` (policy findings
only). Store URLs name two fake hosts: ``open.example`` (answers without credentials, holds the seed case's
copied production tables) and ``secure.example`` (password + TLS required, holds nothing sensitive).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _scan_helpers import FakeStore, facts, sampled, scan_with
from click.testing import CliRunner

from dataward.cli import cli
from dataward.policy import load_policy
from dataward.report.base import FORMATS

FIXTURES = Path(__file__).parent / "fixtures" / "policy"
CASES = sorted(p.name.removesuffix(".toml") for p in FIXTURES.glob("*.toml"))
SEED = {
    "users": {"id": ["1"], "email": ["a@x.example"]},
    "integrations": {"id": ["1"], "access_token": ["Atza|x"]},
    "devices": {"id": ["1"], "nickname": ["Emma's Nursery"], "wifi_ssid": ["NETGEAR47"]},
    "body_metrics": {"id": ["1"], "weight_kg": ["71.5"]},
}


@pytest.fixture
def fake() -> FakeStore:
    store = FakeStore()
    store.facts["open.example"] = facts(
        "open.example", anonymous_access=True, auth_required=False, readable=True, scope="unknown"
    )
    store.objects["open.example"] = [sampled("open.example", t, c) for t, c in SEED.items()]
    store.facts["secure.example"] = facts(
        "secure.example", auth_required=True, authenticated=True, readable=True, tls_offered=True,
        tls_required=True, scope="private",
    )
    store.objects["secure.example"] = [sampled("secure.example", "connection_events", {"kind": ["connect"]})]
    return store


def _scan_json(fake: FakeStore, case: str) -> dict[str, Any]:
    """The policy's stores scanned through the fake store, as ``dataward scan --format json`` prints them."""
    policy = load_policy(f"{case}.toml")  # relative, as policy refs name it: the tests run in FIXTURES
    report = scan_with(fake, policy.targets(), policy)
    return dict(json.loads(FORMATS.get("json").render(report)))


@pytest.mark.parametrize("case", CASES)
def test_policy_fixture(case: str, fake: FakeStore, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = json.loads((FIXTURES / f"{case}.expected.json").read_text())
    monkeypatch.chdir(FIXTURES)  # error lines name the file as given on the command line
    if "error" in expected:  # the policy is refused before any store is contacted
        result = CliRunner().invoke(cli, ["scan", "--config", f"{case}.toml", "--format", "json"])
        assert result.exit_code == 2, result.output
        assert result.stderr.splitlines()[0] == expected["error"]
        assert "Traceback" not in result.output
        return
    report = _scan_json(fake, case)
    got = sorted(
        [f["rule"], f["severity"], f.get("object"), f.get("policy")]
        for f in report["findings"]
        if f["rule"].startswith("policy.")
    )
    assert got == sorted(expected["findings"])


def test_compliant_policy_has_nothing_high(fake: FakeStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)
    severities = {f["severity"] for f in _scan_json(fake, "compliant")["findings"]}
    assert not severities & {"critical", "high"}  # so `dataward scan` exits 0 (--fail-on high)


def test_inline_password_warns_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "dataward.toml"
    path.write_text('[[store]]\nname = "prod"\nurl = "postgresql://app:hunter2@db:5432/app"\n')
    policy = load_policy(path)
    err = capsys.readouterr().err
    assert "password written in its url" in err and "hunter2" not in err
    assert policy.targets()[0].password == "hunter2"


def test_env_and_file_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "url.txt").write_text("postgresql://app:pw@db:5432/app\n")
    monkeypatch.setenv("DW_TEST_URL", "redis://cache:6379/0")
    path = tmp_path / "dataward.toml"
    path.write_text(
        '[[store]]\nname = "a"\nurl = {file = "url.txt"}\n[[store]]\nname = "b"\nurl = {env = "DW_TEST_URL"}\n'
    )
    a, b = load_policy(path, warn=lambda m: pytest.fail(m)).targets()
    assert (a.name, a.host, b.scheme) == ("a", "db", "redis")
