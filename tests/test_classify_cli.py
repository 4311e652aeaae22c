"""``dataward classify``: formats, exit codes, and the canary test (no raw value in any output, log or
temp file)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

CANARIES = {
    "email": "zq7canary.person@canary-mail.example",
    "full_name": "Quillon Vexmoor",
    "c7": "Atza|IwEBIcanaryCANARY0123456789canaryCANARY0123456789xyz",
    "token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.canarySIGNATUREcanary123",
    "wifi_ssid": "NETGEAR83-5G",
    "nickname": "Quillon's Nursery",
    "password": "canaryPassw0rd!zz",
    "phone": "+14155550199",
}


@pytest.fixture(scope="module")
def canary_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("classify") / "canary.db"
    db = sqlite3.connect(path)
    cols = list(CANARIES)
    db.execute(f"create table users (id integer, {', '.join(c + ' text' for c in cols)})")
    rows = [(i, *CANARIES.values()) for i in range(60)]
    db.executemany(f"insert into users values ({', '.join('?' * (len(cols) + 1))})", rows)
    db.execute("create table notes (body text)")
    db.executemany("insert into notes values (?)", [(json.dumps({"contact": {"email": f"n{i}{CANARIES['email']}"}}),)
                                                    for i in range(30)])
    db.commit()
    db.close()
    return path


def run(args: list[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TMPDIR": str(tmp), "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "dataward", *args], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


def test_json_output(canary_db: Path, tmp_path: Path) -> None:
    proc = run(["classify", f"sqlite:///{canary_db}", "--format", "json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "dataward.classification/v1"
    users = next(o for o in doc["objects"] if o["object"] == "users")
    found = {c["name"]: {m["id"] for m in c["categories"]} for c in users["columns"]}
    assert found["email"] == {"email"} and "alexa_token" in found["c7"] and found["id"] == set()
    assert "password" in found["password"] and "api_token" in found["token"]
    notes = next(o for o in doc["objects"] if o["object"] == "notes")
    assert any(c["name"] == "body.contact.email" for c in notes["columns"])


def test_table_output_and_file(canary_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    proc = run(["classify", f"sqlite:///{canary_db}", "--format", "table", "--all", "-o", str(out)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "alexa_token" in text and "Atza|…[redacted]" in text and "email" in text


def test_bad_url_is_one_line_exit_2(tmp_path: Path) -> None:
    proc = run(["classify", "nosuch://x"], tmp_path)
    assert proc.returncode == 2 and proc.stderr.startswith("error:") and "Traceback" not in proc.stderr
    proc = run(["classify", f"sqlite:///{tmp_path}/missing.db"], tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def _needles() -> list[str]:
    """The canaries and their distinctive cores (a redaction must keep neither)."""
    out = []
    for value in CANARIES.values():
        out.append(value[:-2])
        out.append(value[5:-5])
    return [n for n in out if len(n) >= 8]


def test_canaries_never_leave_memory(canary_db: Path, tmp_path: Path) -> None:
    outputs = []
    for fmt in ("json", "table"):
        out = tmp_path / f"out.{fmt}"
        proc = run(["classify", f"sqlite:///{canary_db}", "--format", fmt, "--all", "-o", str(out)], tmp_path)
        outputs += [proc.stdout, proc.stderr, out.read_text()]
        proc = run(["classify", f"sqlite:///{canary_db}", "--format", fmt, "--all"], tmp_path)
        outputs += [proc.stdout, proc.stderr]
    for path in tmp_path.rglob("*"):
        if path.is_file():
            outputs.append(path.read_text(errors="replace"))
    blob = "\n".join(outputs)
    leaked = [n for n in _needles() if n in blob]
    assert not leaked, leaked


def test_table_shows_free_text_columns() -> None:
    """Issue 13: a notes column with a name and a phone inside is listed, with what is inside, never a value."""
    import pyarrow as pa

    from dataward.classify.engine import classify_object
    from dataward.cli.classify import render_table
    from dataward.stores.base import SampledColumn, SampledObject

    obj = classify_object(SampledObject("t", "sqlite", "tickets", (
        SampledColumn("notes", pa.array(["Call Emma Johnson on +1 415 555 0001", "ok", "no answer today"])),)))
    text = render_table([obj])
    assert "free text with person_name, phone" in text and "Emma" not in text and "555" not in text
