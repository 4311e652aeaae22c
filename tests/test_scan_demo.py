"""The demo's seed-case replay (dataward.demo.leak): critical findings for every sensitive table, HTML report,
no canary in any file it writes, and the server it started is gone afterwards."""

from __future__ import annotations

import io
import os
import socket
from pathlib import Path

import pytest
from _seed_data import CANARY, load, seed_tables
from rich.console import Console

from dataward.demo.leak import replay
from dataward.findings import Severity
from dataward.targets import parse_target


def test_replay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAWARD_DEMO_ANALYTICS_URL", "")  # restored after the test
    monkeypatch.setenv("DATAWARD_DEMO_PRODUCTION_URL", "")
    prod = tmp_path / "production.duckdb"
    load(f"duckdb://{prod}", seed_tables(300))
    out = tmp_path / "out"
    buf = io.StringIO()
    report = replay(f"duckdb://{prod}", out, Console(file=buf, width=160))
    critical = {f.object for f in report.at_or_above(Severity.CRITICAL) if f.object}
    assert {"users", "api_tokens", "integrations", "body_metrics", "devices"} <= critical
    text = buf.getvalue()
    assert "critical: what anyone could read" in text and str(out / "report.html") in text
    for path in out.iterdir():
        if path.suffix in (".html", ".json"):
            content = path.read_text()
            assert not any(v in content for v in CANARY.values()), path
    assert not any(v in text for v in CANARY.values())
    copy = parse_target(os.environ["DATAWARD_DEMO_ANALYTICS_URL"])
    if copy.scheme == "postgresql":  # the demo's server is stopped: nothing listens there any more
        with pytest.raises(OSError):
            socket.create_connection((copy.host or "127.0.0.1", copy.port or 5432), timeout=1).close()
