"""The demo's happy ending (dataward.demo.safe): the open store is refused, the safe copy re-scans clean, and
the analytics on it match production's ground truth; no raw value reaches any output."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from dataward.demo import DemoContext, generate_production
from dataward.demo.safe import EXACT, safe_copy_and_analytics
from dataward.tables import open_tables


def test_safe_copy_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAWARD_DEMO_ANALYTICS_URL", "")  # restored after the test
    monkeypatch.delenv("DATAWARD_DEMO_PRODUCTION_URL", raising=False)
    buf = io.StringIO()
    ctx = DemoContext(out=tmp_path, console=Console(file=buf, width=200), users=2000)
    with ctx.resources:  # the servers the step started stop here
        generate_production(ctx)
        safe_copy_and_analytics(ctx)
    text = buf.getvalue()
    assert "clean: nothing at or above high" in text
    assert "refusing to copy into" in text or "postgresql" not in text  # refused when PostgreSQL is installed
    result = ctx.state["safe_analytics"]
    for key in EXACT:
        assert getattr(result, key) == ctx.ground_truth["analytics"][key]
    with open_tables(ctx.production_url) as store:
        raw = store.read_table("users", ["email", "password_hash"]).to_pylist()[:200]
    values = [v for row in raw for v in row.values()]
    for path in (tmp_path / "analytics.html", tmp_path / "plan.toml"):
        content = path.read_text()
        assert not any(v in content for v in values), path
    assert not any(v in text for v in values)
