"""The seed case as it happened: an Elasticsearch analytics cluster, security off, holding copied production.

Runs against the REPLAY FIXTURE of tests/replay/elasticsearch.py (a local HTTP server answering like
Elasticsearch 7.x with security off), not a real cluster: Elasticsearch cannot run on the test machines.
"""

from __future__ import annotations

import json

import pytest
from _seed_data import CANARY, seed_tables
from click.testing import CliRunner
from replay.elasticsearch import ReplaySearchCluster

from dataward.cli import cli

pytestmark = pytest.mark.fixture_replay


def test_open_es_analytics_copy_is_critical_per_index() -> None:
    tables = seed_tables(200)
    indices = {name: tables[name].to_pylist() for name in ("users", "devices", "integrations", "body_metrics")}
    with ReplaySearchCluster("es7", indices=indices) as cluster:
        result = CliRunner().invoke(cli, ["scan", cluster.url, "--format", "json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    per_index = {f["object"]: f for f in report["findings"] if f["rule"].endswith(".exposed-data")}
    assert {"users", "devices", "integrations", "body_metrics"} <= set(per_index), sorted(per_index)
    assert all(f["severity"] == "critical" for f in per_index.values())
    assert "email" in per_index["users"]["categories"]
    assert "alexa_token" in per_index["integrations"]["categories"]
    assert "health_metric" in per_index["body_metrics"]["categories"]
    assert {"wifi_ssid", "device_nickname"} <= set(per_index["devices"]["categories"])
    assert not any(v in result.output for v in CANARY.values())
