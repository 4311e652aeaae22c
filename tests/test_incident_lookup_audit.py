"""The affected-lookup site (k-anonymous ranges, decoys, verification codes) and the hash-chained audit log."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from incident_helpers import cloud_tables, exposed_copy, write_store

from dataward.cli import cli
from dataward.incident import ops
from dataward.incident.audit import AuditLog, verify_log
from dataward.incident.codes import verification_code
from dataward.incident.lookup import check_site
from dataward.incident.store import open_incident_db

COLUMNS = {"users": ["id", "email", "country"], "devices": ["id", "user_id", "wifi_ssid", "nickname"]}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("lookup")
    prod = cloud_tables()
    source = write_store(f"duckdb:///{root}/prod.duckdb", prod)
    half = exposed_copy(
        prod,
        COLUMNS,
        lambda name, t: __import__("pyarrow").compute.less_equal(
            t["id" if name == "users" else "user_id"], 1000
        ),
    )
    copy = write_store(f"duckdb:///{root}/copy.duckdb", half)
    db_path = str(root / "inc.db")
    with open_incident_db(db_path) as db:
        ops.open_incident(db, "leak", copy, "2019-12-04", "2019-12-26")
        result = ops.run_blast_radius(db, "leak", source)
        out = root / "site"
        summary = ops.build_lookup(db, "leak", str(out), prefix_hex=3, min_pad=16)
        secret = db.get("leak").secret
    users = {r["id"]: r for r in prod["users"].to_pylist()}
    affected = {r["user_id"]: r for r in result.affected.to_pylist()}
    return {
        "dir": out,
        "users": users,
        "affected": affected,
        "fields": result.fields,
        "summary": summary,
        "secret": secret,
        "db": db_path,
        "source": source,
    }


def test_lookup_answers_for_affected_and_unaffected(site):
    users, affected = site["users"], site["affected"]
    assert 200 < len(affected) < len(users)
    for uid in list(affected)[:60]:
        got = check_site(site["dir"], users[uid]["email"])
        assert got["affected"] is True
        assert set(got["categories"]) == {f for f in site["fields"] if affected[uid][f]}
    unaffected = [u for u in users if u not in affected][:60]
    for uid in unaffected:
        assert check_site(site["dir"], users[uid]["email"]) == {"affected": False, "categories": []}
    some = users[next(iter(affected))]["email"]
    assert check_site(site["dir"], "  " + some.upper() + " ")["affected"] is True  # normalised


def test_verification_codes_check(site):
    uid = next(iter(site["affected"]))
    email = site["users"][uid]["email"]
    code = verification_code(site["secret"], uid)
    assert check_site(site["dir"], email, code)["code_valid"] is True
    assert check_site(site["dir"], email, code.lower().replace("-", ""))["code_valid"] is True
    assert check_site(site["dir"], email, "AAAA-AAAA")["code_valid"] is False
    other = next(u for u in site["affected"] if u != uid)
    assert check_site(site["dir"], email, verification_code(site["secret"], other))["code_valid"] is False


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.text(min_size=1, max_size=40), st.integers(0, 2**40), st.integers(0, 2**24 - 1)),
             min_size=1, max_size=30),
    st.binary(min_size=16, max_size=80),
)
def test_vectorised_lines_match_the_reference_hmacs(rows, salt):
    """The vectorised lines equal the per-customer definition (stdlib HMAC) the page and the notices rely on."""
    import hashlib
    import hmac

    import numpy as np

    from dataward.incident import lookup
    from dataward.incident.codes import normalise_code, normalise_email

    emails, ids, masks = (list(c) for c in zip(*rows, strict=True))
    secret = "5e" * 16
    affected = lookup._Affected.hashed(salt, emails, np.array(masks, np.int64), ids, 5)
    got, prefixes = lookup._lines(affected, lookup._Keys(salt, secret, 5)), affected.prefixes
    for i, (email, uid, mask) in enumerate(rows):
        norm = normalise_email(email)
        digest = hmac.new(salt, norm.encode(), hashlib.sha256).hexdigest()
        code = normalise_code(verification_code(secret, uid))
        check = hmac.new(salt, f"{norm}|{code}".encode(), hashlib.sha256).hexdigest()[:8]
        assert got[i].tobytes().decode() == f"{digest[5:27]}:{mask:06x}:{check}"
        assert prefixes[i] == int(digest[:5], 16)


def test_range_files_are_padded_and_hold_no_email(site):
    files = sorted((site["dir"] / "range").iterdir())
    assert len(files) == 16**3
    sizes = {f.stat().st_size for f in files}
    assert len(sizes) == 1, "every range file has the same size"
    counts = {len(f.read_text().splitlines()) for f in files}
    assert min(counts) >= 16
    blob = (
        "\n".join(f.read_text() for f in files)
        + (site["dir"] / "index.html").read_text()
        + (site["dir"] / "meta.json").read_text()
    )
    for user in site["users"].values():
        assert user["email"] not in blob and user["email"].split("@")[0] not in blob
    assert "@" not in blob.replace('"email"', "")


def test_cli_lookup_check_json(site):
    runner = CliRunner()
    uid = next(iter(site["affected"]))
    r = runner.invoke(
        cli,
        [
            "incident",
            "lookup",
            "check",
            site["users"][uid]["email"],
            "--site",
            str(site["dir"]),
            "--format",
            "json",
        ],
    )
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["affected"] is True and data["categories"]
    r = runner.invoke(cli, ["incident", "lookup", "check", "nobody@example.org", "--site", str(site["dir"])])
    assert r.exit_code == 0 and "not affected" in r.output


def test_cli_lookup_build_into_an_unwritable_folder_is_one_sentence(site):
    """/proc exists but takes no new folders: the OS error is a one-line usage error, not a traceback."""
    r = CliRunner().invoke(
        cli, ["incident", "lookup", "build", "leak", "-o", "/proc/dw-site", "--db", site["db"], "--prefix-hex", "2"]
    )
    assert r.exit_code == 2, r.output
    assert "cannot write the lookup site" in r.output and "Traceback" not in r.output


def test_cli_lookup_build_refuses_existing_folder(site, tmp_path):
    runner = CliRunner()
    out = tmp_path / "site"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    r = runner.invoke(
        cli, ["incident", "lookup", "build", "leak", "-o", str(out), "--db", site["db"], "--prefix-hex", "2"]
    )
    assert r.exit_code == 2 and "not empty" in r.output
    assert (out / "keep.txt").exists()
    r = runner.invoke(
        cli,
        [
            "incident",
            "lookup",
            "build",
            "leak",
            "-o",
            str(tmp_path / "s2"),
            "--db",
            site["db"],
            "--prefix-hex",
            "2",
        ],
    )
    assert r.exit_code == 0, r.output
    assert len(list((tmp_path / "s2" / "range").iterdir())) == 256


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("chromium is not installed, so the lookup page cannot be run in a browser here")
    return path


def test_page_checks_in_the_browser(site, tmp_path):
    """The page's WebCrypto HMAC matches Python's: headless Chromium answers like `lookup check`."""
    chromium = _chromium()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site["dir"]))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        uid = next(iter(site["affected"]))
        email = site["users"][uid]["email"]
        code = verification_code(site["secret"], uid)
        flags = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            f"--user-data-dir={tmp_path / 'p'}",
            "--virtual-time-budget=15000",
            "--dump-dom",
        ]
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        dom = subprocess.run(
            [*flags, f"{base}#email={email}&code={code}"],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
        assert "This address was affected" in dom and "verification code is genuine" in dom
        unaffected = next(u for u in site["users"] if u not in site["affected"])
        dom = subprocess.run(
            [*flags, f"{base}#email={site['users'][unaffected]['email']}"],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
        assert "not among the affected" in dom
    finally:
        server.shutdown()


# audit log --------------------------------------------------------------------------------------------
@pytest.fixture
def log(tmp_path: Path) -> Path:
    audit = AuditLog(tmp_path / "audit.jsonl", checkpoint_every=50)
    for i in range(400):
        audit.append("notify.sent", incident="leak", user_id=i, message_id=f"<{i}@example.com>")
    audit.checkpoint()
    return tmp_path / "audit.jsonl"


def test_intact_log_verifies(log):
    result = verify_log(log)
    assert result.ok and result.entries == 408 and result.checkpoints == 8 and result.unsigned_tail == 0


@pytest.mark.parametrize("line", [1, 37, 200, 408])
def test_one_edited_byte_is_named(log, line):
    lines = log.read_bytes().split(b"\n")
    target = bytearray(lines[line - 1])
    pos = target.rindex(b"}") - 3  # inside the entry's content, not its structure
    target[pos] = ord("X") if target[pos] != ord("X") else ord("Y")
    lines[line - 1] = bytes(target)
    log.write_bytes(b"\n".join(lines))
    result = verify_log(log)
    assert not result.ok and result.bad_entry == line


def test_removed_and_reordered_entries_are_found(log):
    lines = log.read_bytes().split(b"\n")
    log.write_bytes(b"\n".join(lines[:99] + lines[100:]))
    assert verify_log(log).bad_entry == 100
    lines[10], lines[11] = lines[11], lines[10]
    log.write_bytes(b"\n".join(lines))
    assert verify_log(log).bad_entry == 11


def test_rewritten_chain_fails_the_signature(log, tmp_path):
    """Recomputing every hash after an edit is not enough: the next checkpoint's signature breaks."""
    forger = AuditLog(tmp_path / "forged.jsonl", checkpoint_every=10**9)  # a different key
    for i in range(400):
        forger.append(
            "notify.sent", incident="leak", user_id=i if i != 7 else 999, message_id=f"<{i}@example.com>"
        )
    shutil.copy(tmp_path / "forged.jsonl", log)  # keep the original public key next to the log
    original = verify_log(log)
    assert original.ok and original.checkpoints == 0 and original.unsigned_tail == 400  # unsigned: reported
    forger.checkpoint()
    shutil.copy(tmp_path / "forged.jsonl", log)
    result = verify_log(log)
    assert not result.ok and result.bad_entry == 401 and "signature" in result.reason


def test_cli_audit_verify(log):
    runner = CliRunner()
    r = runner.invoke(cli, ["incident", "audit", "verify", str(log)])
    assert r.exit_code == 0 and "408 entries" in r.output
    data = log.read_bytes()
    log.write_bytes(data.replace(b'"user_id":123}', b'"user_id":124}', 1))
    r = runner.invoke(cli, ["incident", "audit", "verify", str(log), "--format", "json"])
    assert r.exit_code == 1
    out = json.loads(r.output)
    assert out["ok"] is False and out["bad_entry"] > 100


def test_site_written_in_many_chunks_answers_every_email(site, tmp_path, monkeypatch):
    """The chunked writer (codes and decoys per chunk, files by a writer thread) loses no customer."""
    from dataward.incident import lookup

    monkeypatch.setattr(lookup, "CHUNK_FILES", 700)  # 4096 files -> 6 chunks, the last one short
    seen: list[tuple[int, int]] = []
    with open_incident_db(site["db"]) as db:
        ops.build_lookup(db, "leak", str(tmp_path / "s"), prefix_hex=3, min_pad=16,
                         progress=lambda done, files: seen.append((done, files)))  # fmt: skip
    assert seen[-1] == (4096, 4096) and len(seen) == 6
    assert len(list((tmp_path / "s" / "range").iterdir())) == 4096
    for uid in list(site["affected"])[:200]:
        email = site["users"][uid]["email"]
        answer = check_site(tmp_path / "s", email, verification_code(site["secret"], uid))
        assert answer["affected"] and answer["code_valid"], email
    unaffected = [u for u in site["users"] if u not in site["affected"]][:50]
    assert not any(check_site(tmp_path / "s", site["users"][u]["email"])["affected"] for u in unaffected)
