"""`dataward analytics --from sqlite:///…` (issue 13 item 8): DuckDB pulls the Arrow stream on its own threads,
and the SQLite connection refused to be used outside the thread that opened it ("SQLite objects created in a
thread can only be used in that same thread"), so analytics on any SQLite source crashed."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from dataward.cli import cli
from dataward.devicecloud import generate, load_ground_truth


def test_analytics_from_sqlite_gives_the_ground_truth(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cloud.db'}"
    result = generate(300, 3, url)
    truth = load_ground_truth(result.ground_truth_path)
    run = CliRunner().invoke(cli, ["analytics", "--from", url, "--format", "json"])
    assert run.exit_code == 0, run.output
    doc = json.loads(run.output)
    for answer in ("devices_per_user", "failures_by_error_code", "users_by_month"):
        assert doc[answer] == truth["analytics"][answer], answer
    assert doc["connectivity_by_model"].keys() == truth["analytics"]["connectivity_by_model"].keys()
