"""Product analytics: on production and on a safe copy they equal the generator's ground truth, except where
the copy's generalisation makes an answer coarser, which the output states."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner

from dataward.analytics.html import render_html
from dataward.analytics.metrics import compute
from dataward.cli import cli
from dataward.copy import transforms as tf
from dataward.copy.plan import ColumnPlan, Plan, TablePlan, make_plan
from dataward.copy.run import run_copy
from dataward.devicecloud import generate, load_ground_truth
from dataward.tables import open_tables
from dataward.targets import parse_target

KEY = tf.PseudonymKey(b"analytics-test-key-0123456789")
EXACT = ("connectivity_by_model", "failures_by_error_code", "users_by_month", "devices_per_user")
BY_FIRMWARE = ("connectivity_by_firmware", "failures_by_firmware")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict, Path]:
    folder = tmp_path_factory.mktemp("analytics")
    url = f"duckdb:///{folder}/prod.duckdb"
    result = generate(2000, 5, url)
    return url, load_ground_truth(result.ground_truth_path), folder


@pytest.fixture(scope="module")
def safe_copy(cloud: tuple[str, dict, Path]) -> str:
    url, _, folder = cloud
    dest = f"file:///{folder}/safe"
    source = parse_target(url)
    run_copy(source, parse_target(dest), make_plan(source), KEY)
    return dest


def _major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def coarsened(counts: dict, truth: dict) -> dict[str, dict]:
    """The ground truth's per-firmware answers regrouped by major.minor, from its raw counts."""
    connects: dict[str, int] = defaultdict(int)
    attempts: dict[str, int] = defaultdict(int)
    failures: dict[str, int] = defaultdict(int)
    for fw, n in counts["connects_by_firmware"].items():
        connects[_major_minor(fw)] += n
    for fw, n in counts["attempts_by_firmware"].items():
        attempts[_major_minor(fw)] += n
    for fw, n in truth["failures_by_firmware"].items():
        failures[_major_minor(fw)] += n
    return {
        "connectivity_by_firmware": {k: round(connects[k] / a, 4) for k, a in attempts.items() if a},
        "failures_by_firmware": dict(failures),
    }


def test_production_answers_equal_ground_truth(cloud: tuple[str, dict, Path]) -> None:
    url, truth, _ = cloud
    got = compute(parse_target(url)).to_json()
    for key, value in truth["analytics"].items():
        assert got[key] == value, key
    assert got["coarser"] == {} and got["unavailable"] == {}


def test_safe_copy_answers_equal_ground_truth_or_say_why_not(cloud: tuple[str, dict, Path], safe_copy: str) -> None:
    _, truth, _ = cloud
    got = compute(parse_target(safe_copy)).to_json()
    for key in EXACT:
        assert got[key] == truth["analytics"][key], key
    expected = coarsened(truth["analytics_counts"], truth["analytics"])
    for key in BY_FIRMWARE:
        assert got[key] == expected[key], key
        assert "major.minor" in got["coarser"][key]
    assert set(got["coarser"]) == set(BY_FIRMWARE)


def test_a_dropped_column_makes_its_answer_unavailable(cloud: tuple[str, dict, Path], tmp_path: Path) -> None:
    url, truth, _ = cloud
    source = parse_target(url)
    plan = make_plan(source)
    users = dict(plan.tables["users"].columns)
    users["created_at"] = ColumnPlan(action="drop", why="test")
    plan = Plan(source=plan.source, tables={**plan.tables, "users": TablePlan(columns=users)})
    dest = f"duckdb:///{tmp_path}/copy.duckdb"
    run_copy(source, parse_target(dest), plan, KEY)
    got = compute(parse_target(dest))
    assert got.users_by_month == {}
    assert "created_at" in got.unavailable["users_by_month"]
    assert got.devices_per_user == truth["analytics"]["devices_per_user"]


def test_cli_json_and_offline_html(cloud: tuple[str, dict, Path], safe_copy: str, tmp_path: Path) -> None:
    _, truth, _ = cloud
    html = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["analytics", "--from", safe_copy, "--format", "json", "--html", str(html)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["schema"] == "dataward.analytics/v1"
    assert doc["devices_per_user"] == truth["analytics"]["devices_per_user"]
    page = html.read_text()
    assert page.count("<svg") == 5 and "<script" not in page
    assert not re.search(r"(src|href)=['\"]https?:", page)  # nothing loaded from a network
    assert "major.minor" in page  # the caveat is on the page too


def test_cli_table_output(safe_copy: str) -> None:
    result = CliRunner().invoke(cli, ["analytics", "--from", safe_copy])
    assert result.exit_code == 0
    assert "Connectivity by model" in result.output and "note: connectivity_by_firmware is coarser" in result.output


def test_no_raw_value_reaches_the_report(cloud: tuple[str, dict, Path], safe_copy: str) -> None:
    url, _, _ = cloud
    with open_tables(url) as store:
        emails = store.read_table("users", ["email"]).column("email").to_pylist()[:50]
    page = render_html(compute(parse_target(safe_copy)))
    assert not any(e in page for e in emails)
