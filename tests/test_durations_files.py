"""The basics every command shares: one duration reader (issue 12: `watch --interval 1h` worked while
`incident notify --warmup 1h` was refused) and one atomic writer."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from dataward.cli import cli
from dataward.durations import parse_duration
from dataward.errors import ConfigError, DatawardError
from dataward.files import atomic_write


@pytest.mark.parametrize("text, seconds", [
    ("15s", 15), ("2m", 120), ("2min", 120), ("1h", 3600), ("1d", 86400), ("500ms", 0.5), ("1.5h", 5400),
    (7, 7), (0.25, 0.25), ("30", 30), (" 2 m ", 120), ("1H", 3600),
])
def test_parse_duration(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "fast", "-1s", "0", "0s", "15 parsecs", "1h30", "s", True, -3])
def test_parse_duration_rejects(text: str | float) -> None:
    with pytest.raises(ConfigError):
        parse_duration(text, "--interval")


def test_parse_duration_default_and_zero() -> None:
    assert parse_duration(None, "ack_timeout", default=30.0) == 30.0
    assert parse_duration("0s", "--warmup", allow_zero=True) == 0.0
    with pytest.raises(ConfigError, match="ack_timeout is missing"):
        parse_duration(None, "ack_timeout")


def test_notify_warmup_takes_the_same_durations_as_watch(tmp_path: Path) -> None:
    """`--warmup 1h` is read (the command goes on to look for the incident); `--warmup soon` is refused."""
    db = str(tmp_path / "inc.db")
    base = ["incident", "notify", "nope", "--smtp", "smtp://127.0.0.1:1", "--db", db]
    accepted = CliRunner().invoke(cli, [*base, "--warmup", "1h"])
    assert accepted.exit_code == 2 and "no incident named 'nope'" in accepted.output, accepted.output
    refused = CliRunner().invoke(cli, [*base, "--warmup", "soon"])
    assert refused.exit_code == 2 and "'soon' is not a duration" in refused.output, refused.output


def test_atomic_write_replaces_whole_and_is_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")
    atomic_write(target, '{"new": true}\n')
    assert target.read_text() == '{"new": true}\n'
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    atomic_write(target, b"bytes", mode=0o644)
    assert target.read_bytes() == b"bytes" and stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


@pytest.mark.parametrize("where, message", [
    ("missing/out.json", "the folder of the report missing/out.json does not exist"),
    ("/proc/out.json", r"cannot write the report /proc/out.json \("),
])
def test_atomic_write_errors_are_one_sentence(tmp_path: Path, where: str, message: str, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DatawardError, match=message):
        atomic_write(where, "x", what="the report")
    assert list(tmp_path.iterdir()) == []
