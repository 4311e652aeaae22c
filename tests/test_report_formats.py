"""Every output format renders the same report, valid against its published schema.

SARIF is checked against the SARIF 2.1.0 object model of sarif-om (the OASIS classes: property names,
required properties, enumerations; see tests/_sarif_check.py).
JSON is validated against dataward's own published schema (src/dataward/schemas/report.schema.json).
HTML is rendered by headless Chromium (Debian's chromium) to a screenshot and a DOM dump.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from _sarif_check import sarif_problems
from _scan_helpers import CANARY_EMAIL, CANARY_TOKEN, FakeStore, facts, sampled, scan_with
from referencing import Registry, Resource

from dataward.policy import parse_policy
from dataward.report.base import FORMATS
from dataward.report.model import Report
from dataward.targets import parse_target

FIXTURES = Path(__file__).parent / "fixtures"
POLICY = """
[[store]]
name = "analytics-copy"
url = "postgresql://10.9.0.5:5432/app"
role = "analytics"
expires = 2020-01-31

[role.analytics]
forbid = ["credential", "health"]
require = ["auth", "owner", "expiry", "tls"]
"""


@pytest.fixture(scope="module")
def report() -> Report:
    store = FakeStore()
    host = "10.9.0.5"
    store.facts[host] = facts(host, anonymous_access=True, auth_required=False, readable=True, tls_offered=False)
    store.objects[host] = [
        sampled(host, "users", {"id": ["1"], "email": [CANARY_EMAIL]}),
        sampled(host, "integrations", {"id": ["1"], "access_token": [CANARY_TOKEN]}),
        sampled(host, "devices", {"id": ["1"], "nickname": ["Emma's Nursery"], "wifi_ssid": ["NETGEAR47"]}),
    ]
    store.facts["10.9.0.6"] = facts("10.9.0.6", auth_required=True, authenticated=True)
    policy = parse_policy(POLICY)
    targets = [*policy.targets(), parse_target("postgresql://app:pw@10.9.0.6:5432/app")]
    return scan_with(store, targets, policy)


def test_every_format_is_registered() -> None:
    assert set(FORMATS.names()) >= {"table", "json", "sarif", "html", "ocsf"}


@pytest.mark.parametrize("fmt", ["table", "json", "sarif", "html", "ocsf"])
def test_no_canary_and_no_password_in_any_format(report: Report, fmt: str) -> None:
    text = FORMATS.get(fmt).render(report)
    assert CANARY_EMAIL not in text and CANARY_TOKEN not in text
    assert "app:pw@" not in text


def test_json_matches_the_published_schema(report: Report) -> None:
    schemas = files("dataward.schemas")
    report_schema = json.loads(schemas.joinpath("report.schema.json").read_text())
    finding_schema = json.loads(schemas.joinpath("finding.schema.json").read_text())
    registry = Registry().with_resources(
        [
            ("https://dataward.dev/schemas/finding.schema.json", Resource.from_contents(finding_schema)),
            ("https://dataward.dev/schemas/report.schema.json", Resource.from_contents(report_schema)),
        ]
    )
    data = json.loads(FORMATS.get("json").render(report))
    jsonschema.Draft202012Validator(report_schema, registry=registry).validate(data)
    assert data["schema"] == "dataward.report/v1"
    assert data["summary"]["by_severity"]["critical"] >= 2
    assert set(data["summary"]["by_store"]) == {"analytics-copy", "postgresql://app:***@10.9.0.6:5432/app"}


def test_json_round_trips(report: Report) -> None:
    again = Report.from_json(json.loads(FORMATS.get("json").render(report)))
    assert [f.id for f in again.findings] == [f.id for f in report.findings]
    assert again.summary() == report.summary()


def test_sarif_follows_the_sarif_2_1_0_object_model(report: Report) -> None:
    log = json.loads(FORMATS.get("sarif").render(report))
    assert sarif_problems(log) == []
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert "policy.forbidden-data" in ids and "postgresql.exposed-data" in ids
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
        assert len(result["partialFingerprints"]["datawardFindingId/v1"]) == 16
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels["postgresql.exposed-data"] == "error"


def test_ocsf_lines_are_detection_findings(report: Report) -> None:
    lines = FORMATS.get("ocsf").render(report).splitlines()
    assert len(lines) == len(report.findings)
    for line in lines:
        event = json.loads(line)
        assert event["class_uid"] == 2004 and event["category_uid"] == 2 and event["type_uid"] == 200401
        assert 1 <= event["severity_id"] <= 5
        assert event["finding_info"]["uid"] and event["finding_info"]["title"]
        assert event["metadata"]["product"]["name"] == "dataward"


def test_table_groups_per_store_worst_first(report: Report) -> None:
    text = FORMATS.get("table").render(report)
    assert text.index("analytics-copy") < text.index("10.9.0.6")
    assert "critical" in text


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("chromium is not installed, so the HTML report cannot be rendered here")
    return path


def test_html_renders_in_headless_chromium(report: Report, tmp_path: Path) -> None:
    html = FORMATS.get("html").render(report)
    assert "<script" not in html.lower()
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")  # nothing fetched
    page = tmp_path / "report.html"
    page.write_text(html)
    chromium = _chromium()
    flags = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'p'}"]
    shot = tmp_path / "shot.png"
    subprocess.run([*flags, f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    assert shot.stat().st_size > 10_000
    dom = subprocess.run([*flags, "--dump-dom", page.as_uri()], check=True, capture_output=True, text=True,
                         timeout=120).stdout
    summary = report.summary()
    assert "Summary" in dom and f"{summary['total']} finding(s)" in dom
    assert "analytics-copy" in dom and "Findings by severity" in dom
    assert CANARY_EMAIL not in dom


@pytest.mark.parametrize(
    "mutate, problem",
    [
        (lambda log: log.update(version="2.0.0"), "version"),
        (lambda log: log["runs"][0]["results"][0].update(level="fatal"), "level"),
        (lambda log: log["runs"][0]["results"][0].update(ruleID="x"), "'ruleID' is not a property"),
        (lambda log: log["runs"][0]["results"][0].pop("message"), "required property 'message'"),
        (lambda log: log["runs"][0]["tool"]["driver"].pop("name"), "required property 'name'"),
    ],
)
def test_sarif_check_catches_departures(report: Report, mutate: Any, problem: str) -> None:
    log = json.loads(FORMATS.get("sarif").render(report))
    mutate(log)
    assert any(problem in p for p in sarif_problems(log))
