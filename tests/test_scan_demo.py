"""The demo's seed-case replay (dataward.demo_leak): critical findings for every sensitive table, HTML report,
no canary in any file it writes, and the server it started is gone afterwards."""

from __future__ import annotations

import io
from pathlib import Path

from _seed_data import CANARY, load, seed_tables
from rich.console import Console

from dataward.demo_leak import replay
from dataward.findings import Severity


def test_replay(tmp_path: Path) -> None:
    prod = tmp_path / "production.duckdb"
    load(f"duckdb://{prod}", seed_tables(300))
    out = tmp_path / "out"
    buf = io.StringIO()
    report = replay(f"duckdb://{prod}", out, Console(file=buf, width=160))
    critical = {f.object for f in report.at_or_above(Severity.CRITICAL) if f.object}
    assert {"users", "api_tokens", "integrations", "body_metrics", "devices"} <= critical
    text = buf.getvalue()
    assert "critical findings" in text and str(out / "report.html") in text
    for path in out.iterdir():
        if path.suffix in (".html", ".json"):
            content = path.read_text()
            assert not any(v in content for v in CANARY.values()), path
    assert not any(v in text for v in CANARY.values())
