"""The demo's first steps: a production cloud in DuckDB and a summary of what it holds."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from dataward import demo
from dataward.tables import open_tables


def test_demo_generates_production_and_prints_the_summary(tmp_path: Path) -> None:
    buffer = io.StringIO()
    ctx = demo.run(
        steps=[demo.generate_production, demo.summarise_production],
        out=tmp_path,
        users=1000,
        console=Console(file=buffer, width=200),
    )
    text = buffer.getvalue()
    assert (tmp_path / "production.duckdb").exists()
    assert ctx.ground_truth["row_counts"]["users"] == 1000
    for needle in ("connection_events", "wifi_ssid (wifi_ssid)", "access_token (alexa_token)", str(tmp_path)):
        assert needle in text
    with open_tables(ctx.production_url) as db:
        assert db.count_rows("users") == 1000
