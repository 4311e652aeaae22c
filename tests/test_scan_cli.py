"""`dataward scan` on real SQLite/DuckDB files with the real classifier: exit codes, formats, baseline, canaries."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from dataward.cli import cli

CANARIES = {
    "email": "zq81x.canary@leak-canary.example",
    "token": "Atza|IwEBIzq81xCANARYzq81xCANARYzq81xCANARYzq81xCANARYzq81xCANARY",
    "ssid": "CanaryNet-zq81x",
    "name": "Zebulon Quakenbush",
}


def _make_db(path: Path, n: int = 200, mode: int = 0o600) -> Path:
    con = sqlite3.connect(path)
    con.execute("create table users (id integer, email text, full_name text, password_hash text, country text)")
    rows = [(i, f"user{i}@mail{i % 7}.example", "Emma Smith", "$2b$12$" + "a" * 53, "US") for i in range(n)]
    rows.append((n, CANARIES["email"], CANARIES["name"], "$2b$12$" + "b" * 53, "US"))
    con.executemany("insert into users values (?, ?, ?, ?, ?)", rows)
    con.execute("create table integrations (id integer, user_id integer, provider text, access_token text)")
    toks = [(i, i, "alexa", "Atza|IwEBI" + "x" * 60 + str(i)) for i in range(n)] + [(n, n, "alexa", CANARIES["token"])]
    con.executemany("insert into integrations values (?, ?, ?, ?)", toks)
    con.execute("create table devices (id integer, user_id integer, wifi_ssid text, model text)")
    devs = [(i, i, f"NETGEAR{i % 90 + 10}", "WYZEC3") for i in range(n)] + [(n, n, CANARIES["ssid"], "WYZEC3")]
    con.executemany("insert into devices values (?, ?, ?, ?)", devs)
    con.commit()
    con.close()
    os.chmod(path, mode)
    return path


@pytest.fixture(scope="module")
def db() -> Iterator[Path]:
    """A world-readable export: the folder chain must be traversable by everyone (pytest's tmp is 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="dataward-scan-", dir="/tmp"))
    folder.chmod(0o755)
    try:
        yield _make_db(folder / "export.db", mode=0o644)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def private_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _make_db(tmp_path_factory.mktemp("scan") / "private.db", mode=0o600)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["scan", *args])
    return result.exit_code, result.stdout, result.stderr


def test_world_readable_export_fails_at_high(db: Path) -> None:
    code, out, _ = run(f"sqlite:///{db}", "--format", "json")
    assert code == 1
    report = json.loads(out)
    cats = {f.get("object"): set(f["categories"]) for f in report["findings"] if f["rule"] == "sqlite.exposed-data"}
    assert all(f["severity"] == "high" for f in report["findings"] if f["rule"] == "sqlite.exposed-data")
    assert {"email", "password_hash"} <= cats["users"]
    assert "alexa_token" in cats["integrations"]
    assert "wifi_ssid" in cats["devices"]


def test_fail_on_threshold(private_db: Path) -> None:
    assert run(f"sqlite:///{private_db}", "--format", "json", "--fail-on", "critical")[0] == 0
    assert run(f"sqlite:///{private_db}", "--format", "json", "--fail-on", "info")[0] == 1


@pytest.mark.parametrize("fmt", ["table", "json", "sarif", "html", "ocsf"])
def test_canaries_never_appear(db: Path, tmp_path: Path, fmt: str) -> None:
    out_file = tmp_path / f"report.{fmt}"
    code, out, err = run(f"sqlite:///{db}", "--format", fmt, "-o", str(out_file))
    assert code == 1 and out_file.exists()
    text = out_file.read_text() + out + err
    for value in CANARIES.values():
        assert value not in text, f"{value} leaked into {fmt}"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temp file left behind"


def test_format_from_output_suffix(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.sarif"
    run(f"sqlite:///{db}", "-o", str(out))
    assert json.loads(out.read_text())["version"] == "2.1.0"


def test_piped_default_is_json(db: Path) -> None:
    _, out, _ = run(f"sqlite:///{db}")
    assert json.loads(out)["schema"] == "dataward.report/v1"


def test_no_contents_skips_classification(db: Path) -> None:
    _, out, _ = run(f"sqlite:///{db}", "--format", "json", "--no-contents")
    rules = {f["rule"] for f in json.loads(out)["findings"]}
    assert "sqlite.sensitive-data" not in rules
    assert json.loads(out)["targets"][0]["objects"] == []


def test_baseline_round_trip(db: Path, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    code, _, err = run(f"sqlite:///{db}", "--format", "json", "--baseline", str(baseline), "--update-baseline",
                       "--reason", "export scheduled for deletion")
    assert code == 0 and "suppression(s) added" in err
    data = json.loads(baseline.read_text())
    assert data["schema"] == "dataward.baseline/v1"
    assert all(s["reason"] == "export scheduled for deletion" and s["expires"] for s in data["suppressions"])
    for value in CANARIES.values():
        assert value not in baseline.read_text()
    code, out, _ = run(f"sqlite:///{db}", "--format", "json", "--baseline", str(baseline))
    assert code == 0
    assert json.loads(out)["summary"]["suppressed"] == len(data["suppressions"])
    for s in data["suppressions"]:
        s["expires"] = "2001-01-01"
    baseline.write_text(json.dumps(data))
    code, out, _ = run(f"sqlite:///{db}", "--format", "json", "--baseline", str(baseline))
    assert code == 1
    assert any("suppression expired on 2001-01-01" in f["evidence"] for f in json.loads(out)["findings"])


@pytest.mark.parametrize(
    "args, message",
    [
        ((), "error: nothing to scan."),
        (("not-a-url",), "error: a target is not a URL (it has no scheme://)."),
        (("postgress://db:5432/app",), "error: 'postgress://' is not a store kind dataward knows. Did you mean 'postgres'?"),
        (("sqlite:///x.db", "--fail-on", "hgh"), "error: severity 'hgh' is not one of info, low, medium, high, critical. Did you mean 'high'?"),
        (("sqlite:///x.db", "--config", "/nonexistent/dataward.toml"), "error: cannot read the policy file /nonexistent/dataward.toml (No such file or directory)."),
        (("sqlite:///x.db", "--update-baseline"), "error: --update-baseline needs --baseline FILE."),
        (("sqlite:///x.db", "--baseline", "/nonexistent/b.json"), "error: the baseline file /nonexistent/b.json does not exist."),
        (("--discover", "10.0.0.1", "--ports", "80,abc"), "error: --ports item 'abc' is not a port or range."),
    ],
)
def test_usage_errors_are_one_line_exit_2(args: tuple[str, ...], message: str) -> None:
    code, out, err = run(*args)
    assert code == 2
    assert err.splitlines()[0] == message
    assert "Traceback" not in out + err


def test_output_into_missing_folder_writes_nothing(db: Path, tmp_path: Path) -> None:
    code, _, err = run(f"sqlite:///{db}", "-o", str(tmp_path / "nope" / "r.json"))
    assert code == 2 and "does not exist" in err
    assert not (tmp_path / "nope").exists()
