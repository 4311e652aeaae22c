"""The affected-lookup site (k-anonymous ranges, decoys, verification codes) and the hash-chained audit log."""

from __future__ import annotations

import contextlib
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
from dataward.errors import DatawardError
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
        assert check_site(site["dir"], users[uid]["email"])["affected"] is True
        got = check_site(site["dir"], users[uid]["email"], verification_code(site["secret"], uid))
        assert got["affected"] is True and got["code_valid"] is True
        assert set(got["categories"]) == {f for f in site["fields"] if affected[uid][f]}
    unaffected = [u for u in users if u not in affected][:60]
    for uid in unaffected:
        assert check_site(site["dir"], users[uid]["email"])["affected"] is False
    some = users[next(iter(affected))]["email"]
    assert check_site(site["dir"], "  " + some.upper() + " ")["affected"] is True  # normalised


def test_verification_codes_check(site):
    uid = next(iter(site["affected"]))
    email = site["users"][uid]["email"]
    code = verification_code(site["secret"], uid)
    assert check_site(site["dir"], email, code)["code_valid"] is True
    assert check_site(site["dir"], email, code.lower().replace("-", ""))["code_valid"] is True
    assert check_site(site["dir"], email, "AAAA-AAAA-AAAA-AAAA")["code_valid"] is False
    other = next(u for u in site["affected"] if u != uid)
    assert check_site(site["dir"], email, verification_code(site["secret"], other))["code_valid"] is False


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.text(min_size=1, max_size=40), st.integers(0, 2**40), st.integers(0, 2**24 - 1)),
             min_size=1, max_size=30),
    st.booleans(),
)
def test_vectorised_records_match_the_reference_crypto(rows, require_code):
    """The vectorised locators, codes and sealed boxes equal the per-customer definitions the page uses
    (stdlib HMAC, cryptography's HKDF and AES-GCM)."""
    import hashlib
    import hmac

    import numpy as np
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from dataward.incident import lookup
    from dataward.incident.codes import normalise_code, normalise_email

    emails, ids, masks = (list(c) for c in zip(*rows, strict=True))
    secret = "5e" * 16
    people = lookup._People.of(emails, np.array(masks, np.int64), np.array(ids, np.int64), secret)
    salt = b"s" * 16
    locators = lookup._hmacs(salt, lookup._locator_messages(people, require_code))
    boxes = lookup._seal(salt, people)
    for i, (email, uid, mask) in enumerate(rows):
        norm, code = normalise_email(email).encode(), normalise_code(verification_code(secret, uid)).encode()
        message = lookup.LOCATOR_INFO + b"\n" + norm + (b"\n" + code if require_code else b"")
        assert locators[i].tobytes() == hmac.new(salt, message, hashlib.sha256).digest()
        opened = AESGCM(lookup.record_key(salt, norm, code)).decrypt(lookup.NONCE, boxes[i].tobytes(), None)
        assert int.from_bytes(opened, "big") == mask


def test_range_files_are_padded_and_hold_no_email(site):
    files = sorted((site["dir"] / "range").iterdir())
    assert len(files) == 16**3 and site["summary"]["files"] == 16**3
    sizes = {f.stat().st_size for f in files}
    assert len(sizes) == 1, "every range file has the same size"
    counts = {len(f.read_text().splitlines()) for f in files}
    assert len(counts) == 1 and min(counts) >= 16
    ranges = b"".join(f.read_bytes() for f in files)
    assert not ranges.translate(None, b"0123456789abcdef:\n"), "range files hold only locators and sealed boxes"
    blob = (site["dir"] / "index.html").read_text() + (site["dir"] / "meta.json").read_text()
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
            "--code",
            verification_code(site["secret"], uid),
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


def test_site_written_in_many_chunks_answers_every_email(site, tmp_path, monkeypatch):
    """The chunked writer (codes and decoys per chunk, files by a writer thread) loses no customer."""
    from dataward.incident import lookup

    monkeypatch.setattr(lookup, "CHUNK_FILES", 700)  # 4096 files -> 6 chunks, the last one short
    seen: list[tuple[int, int]] = []
    with open_incident_db(site["db"]) as db:
        ops.build_lookup(db, "leak", str(tmp_path / "s"), prefix_hex=3, min_pad=16,
                         progress=lambda phase, done, files: phase == lookup.WRITING and seen.append((done, files)))  # fmt: skip
    assert seen[-1] == (4096, 4096) and len(seen) == 6
    assert len(list((tmp_path / "s" / "range").iterdir())) == 4096
    for uid in list(site["affected"])[:200]:
        email = site["users"][uid]["email"]
        answer = check_site(tmp_path / "s", email, verification_code(site["secret"], uid))
        assert answer["affected"] and answer["code_valid"], email
    unaffected = [u for u in site["users"] if u not in site["affected"]][:50]
    assert not any(check_site(tmp_path / "s", site["users"][u]["email"])["affected"] for u in unaffected)


# lookup site: issue 13 item 2 ------------------------------------------------------------------------
def _small_site(tmp: Path, n: int = 300, **kw) -> tuple[Path, list[str], list[int], str, dict]:
    import numpy as np

    from dataward.incident.lookup import build_site

    emails = [f"user{i}@example.org" for i in range(n)]
    ids = list(range(1, n + 1))
    secret = "7a" * 16
    out = tmp / f"site{len(list(tmp.iterdir()))}"
    summary = build_site(out, emails, np.arange(n, dtype=np.int64) % 7 + 1, ids, secret, ["email", "phone", "gender"], **kw)
    return out, emails, ids, secret, summary


def test_codes_cost_at_least_2_to_the_60_to_forge():
    """A code carries >= 60 bits (it is the only secret a forger lacks: the salt and email are public)."""
    from dataward.incident.codes import normalise_code

    code = normalise_code(verification_code("5e" * 16, 42))
    assert len(code) * 5 >= 60 and set(code) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


def test_categories_are_readable_only_with_the_customers_code(tmp_path):
    out, emails, ids, secret, _ = _small_site(tmp_path)
    member = check_site(out, emails[5])
    assert member["affected"] is True and member["categories"] == []  # membership only, as with HIBP
    opened = check_site(out, emails[5], verification_code(secret, ids[5]))
    assert opened["code_valid"] is True and opened["categories"] == ["phone", "gender"]  # mask 5 % 7 + 1 = 0b110
    wrong = check_site(out, emails[5], verification_code(secret, ids[6]))
    assert wrong["code_valid"] is False and wrong["categories"] == []


def test_no_range_line_holds_a_short_tag_or_a_plain_mask(tmp_path):
    """Every line is a locator and an AES-GCM box (ciphertext + 128-bit tag), nothing shorter to brute-force."""
    out, *_ = _small_site(tmp_path)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["schema"] == "dataward.lookup/v2"
    line = next((out / "range").iterdir()).read_text().splitlines()[0]
    locator, box = line.split(":")
    assert len(bytes.fromhex(box)) >= 3 + 16 and len(locator) == meta["suffix_hex"]


def test_sensitive_site_needs_the_code_even_for_membership(tmp_path):
    out, emails, ids, secret, _ = _small_site(tmp_path, require_code=True)
    with pytest.raises(DatawardError, match="code"):
        check_site(out, emails[3])
    assert check_site(out, emails[3], verification_code(secret, ids[3]))["affected"] is True
    assert check_site(out, emails[3], verification_code(secret, ids[4]))["affected"] is False


def test_decoys_and_salt_come_from_the_os_not_numpy(tmp_path, monkeypatch):
    import numpy as np

    def refuse(*_a, **_k):
        raise AssertionError("NumPy's PCG64 is not a cryptographic generator")

    monkeypatch.setattr(np.random, "default_rng", refuse)
    monkeypatch.setattr(np.random, "Generator", refuse)
    out, emails, ids, secret, _ = _small_site(tmp_path)
    assert check_site(out, emails[0], verification_code(secret, ids[0]))["code_valid"] is True


def test_padding_depends_only_on_the_size_bucket(tmp_path):
    """Lines per file follow from a rounded-up count, never from the fullest range (which leaked its size)."""
    sizes = {_small_site(tmp_path, n, prefix_hex=1)[4]["lines_per_file"] for n in (290, 300, 300, 310)}
    assert len(sizes) == 1


@pytest.mark.parametrize("n", [1, 10, 2_000, 100_000, 2_400_000, 10**9])
def test_prefix_length_keeps_the_site_within_65536_files(n):
    from dataward.incident.lookup import site_shape

    shape = site_shape(n)
    assert 16**shape.prefix_hex <= 65536
    assert shape.lines_per_file * 16**shape.prefix_hex >= n
    if n >= 2_000:
        assert n / 16**shape.prefix_hex <= shape.lines_per_file < 4 * max(16, n / 16**shape.prefix_hex)


def test_default_build_chooses_the_prefix(tmp_path):
    out, *_ = _small_site(tmp_path, 2000)
    assert 16 <= len(list((out / "range").iterdir())) <= 4096


@pytest.mark.parametrize(
    "damage",
    [
        lambda s: (s / "meta.json").write_text("{"),
        lambda s: (s / "meta.json").write_text("[1, 2]"),
        lambda s: (s / "meta.json").write_text('{"schema": "dataward.lookup/v2", "salt": "zz"}'),
        lambda s: [f.write_text("garbage line\n") for f in (s / "range").iterdir()],
        lambda s: [f.write_bytes(b"\xff\xfe:\x00\n" * 3) for f in (s / "range").iterdir()],
        lambda s: shutil.rmtree(s / "range"),
    ],
    ids=["meta not JSON", "meta a list", "meta bad salt", "range garbage", "range binary", "no ranges"],
)
def test_a_damaged_site_is_one_sentence(tmp_path, damage):
    out, emails, ids, secret, _ = _small_site(tmp_path)
    damage(out)
    r = CliRunner().invoke(
        cli, ["incident", "lookup", "check", emails[1], "--site", str(out), "--code", verification_code(secret, ids[1])]
    )
    assert r.exit_code == 2, r.output
    assert r.output.startswith("error: ") and "Traceback" not in r.output


def test_cli_lookup_build_onto_a_file_with_force_is_one_sentence(site, tmp_path):
    target = tmp_path / "site.txt"
    target.write_text("keep")
    r = CliRunner().invoke(
        cli, ["incident", "lookup", "build", "leak", "-o", str(target), "--force", "--db", site["db"], "--prefix-hex", "2"]
    )
    assert r.exit_code == 2 and r.output.startswith("error: ") and "Traceback" not in r.output, r.output
    assert target.read_text() == "keep"


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(st.binary(max_size=200).map(lambda b: b.decode("latin-1")), _META := st.fixed_dictionaries(
        {"schema": st.sampled_from(["dataward.lookup/v2", "x"]), "salt": st.text(max_size=40) | st.integers(),
         "prefix_hex": st.integers(-3, 9) | st.text(max_size=3), "suffix_hex": st.integers(-3, 70),
         "categories": st.lists(st.text(max_size=5), max_size=30) | st.integers(),
         "require_code": st.booleans() | st.none()},
    ).map(json.dumps)),
    st.binary(max_size=400),
    st.text(max_size=30),
    st.none() | st.text(max_size=30),
)
def test_the_lookup_reader_raises_only_dataward_errors(tmp_path_factory, meta, ranges, email, code):
    root = tmp_path_factory.mktemp("fuzzsite")
    (root / "meta.json").write_text(meta, encoding="latin-1")
    (root / "range").mkdir()
    for name in ("0", "00", "000", "0000", "f", "ff"):
        (root / "range" / name).write_bytes(ranges)
    with contextlib.suppress(DatawardError):
        check_site(root, email, code)


# audit log --------------------------------------------------------------------------------------------
def _public_pem(private_key_file: Path, out: Path) -> Path:
    """The public half of a PEM private key, written where the verifier keeps it (not beside the log)."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(private_key_file.read_bytes(), password=None)
    out.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return out


def _write_log(path: Path, key: Path, entries: int = 400, every: int = 50, changed: int | None = None) -> Path:
    audit = AuditLog(path, key, checkpoint_every=every)
    for i in range(entries):
        uid = 999 if i == changed else i
        audit.append("notify.sent", incident="leak", user_id=uid, message_id=f"<{i}@example.com>")
    audit.checkpoint()
    return path


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    """The operator's signing key and the verifier's pinned copy of its public half, both away from the log."""
    (tmp_path / "keys").mkdir()
    (tmp_path / "logs").mkdir()
    key = tmp_path / "keys" / "audit-ed25519"
    _write_log(tmp_path / "keys" / "warmup.jsonl", key, entries=1)  # creates the key
    return {"key": key, "pub": _public_pem(key, tmp_path / "keys" / "trusted.pub")}


@pytest.fixture
def log(tmp_path: Path, keys: dict[str, Path]) -> Path:
    return _write_log(tmp_path / "logs" / "audit.jsonl", keys["key"])


def _verify(log: Path, pub: Path, *extra: str) -> tuple[int, str]:
    r = CliRunner().invoke(cli, ["incident", "audit", "verify", str(log), "--public-key", str(pub), *extra])
    return r.exit_code, r.output


def _rechain(lines: list[bytes]) -> list[bytes]:
    """What someone without the key can do: recompute every entry's hash and link after editing the entries."""
    from dataward.incident.audit import GENESIS, _body

    out, prev = [], GENESIS
    for seq, raw in enumerate(lines, start=1):
        entry = json.loads(raw)
        entry.pop("hash")
        entry["prev"], entry["seq"] = prev, seq
        body = _body(entry)
        prev = __import__("hashlib").sha256(body).hexdigest()
        out.append(b'{"hash":"' + prev.encode() + b'",' + body)
    return out


def _flip(lines: list[bytes], _other: list[bytes]) -> list[bytes]:
    target = bytearray(lines[200])
    target[target.rindex(b"}") - 3] ^= 1
    return [*lines[:200], bytes(target), *lines[201:]]


def _edit_and_rechain(lines: list[bytes], keep_checkpoints: bool) -> list[bytes]:
    edited = [line.replace(b'"user_id":2}', b'"user_id":7}') for line in lines]
    assert edited != lines
    if not keep_checkpoints:
        edited = [line for line in edited if b'"action":"checkpoint"' not in line]
    return _rechain(edited)


def _other_logs_checkpoint(lines: list[bytes], other: list[bytes]) -> list[bytes]:
    """The last checkpoint of another log signed by the same key, put in place of this log's."""
    return [*lines[:-1], other[-1]]


def _append_unsigned(lines: list[bytes]) -> list[bytes]:
    extra = json.loads(lines[-1])
    extra.update(action="notify.sent", user_id=12345)
    extra.pop("sig")
    return _rechain([*lines, json.dumps(extra).encode()])


MUTATIONS = {
    "byte flip": _flip,
    "delete first line": lambda ls, _: ls[1:],
    "delete middle line": lambda ls, _: ls[:150] + ls[151:],
    "delete last line (the final checkpoint)": lambda ls, _: ls[:-1],
    "reorder two lines": lambda ls, _: [*ls[:10], ls[11], ls[10], *ls[12:]],
    "duplicate a line": lambda ls, _: [*ls[:30], ls[30], *ls[30:]],
    "truncate to 10 lines": lambda ls, _: ls[:10],
    "truncate inside a line": lambda ls, _: [*ls[:-1], ls[-1][:40]],
    "empty log": lambda ls, _: [],
    "rewrite with recomputed hashes, no checkpoints": lambda ls, _: _edit_and_rechain(ls, False),
    "rewrite with recomputed hashes, old checkpoints kept": lambda ls, _: _edit_and_rechain(ls, True),
    "swap in another log's checkpoint": _other_logs_checkpoint,
    "entries appended after the last checkpoint": lambda ls, _: _append_unsigned(ls),
}


@pytest.mark.parametrize("mutate", list(MUTATIONS.values()), ids=list(MUTATIONS))
def test_every_kind_of_edit_is_caught(tmp_path, keys, log, mutate):
    other = _write_log(tmp_path / "logs" / "other.jsonl", keys["key"], changed=3).read_bytes().splitlines()
    assert _verify(log, keys["pub"])[0] == 0
    lines = mutate(log.read_bytes().splitlines(), other)
    log.write_bytes(b"".join(line + b"\n" for line in lines))
    code, out = _verify(log, keys["pub"])
    assert code == 1, out
    assert "Traceback" not in out


def test_a_chain_rewritten_and_signed_with_another_key_fails_against_the_pinned_key(tmp_path, keys, log):
    """The forger signs with a key of their own and leaves its public half beside the log: the pinned key wins."""
    forged = _write_log(tmp_path / "forged.jsonl", tmp_path / "forger-key", changed=7)
    shutil.copy(forged, log)
    _public_pem(tmp_path / "forger-key", log.with_name(log.name + ".pub"))
    code, out = _verify(log, keys["pub"])
    assert code == 1 and "signature" in out


def test_truncation_at_a_checkpoint_is_caught_against_the_last_known_head(keys, log):
    """Cutting the log right after an earlier checkpoint leaves only valid signatures: as with CT's signed
    tree heads, the verifier catches it by comparing with the head it saw before (``--known-head``)."""
    r = CliRunner().invoke(
        cli, ["incident", "audit", "verify", str(log), "--public-key", str(keys["pub"]), "--format", "json"]
    )
    head = json.loads(r.output)["head"]
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:102]))  # 2 checkpoints: 100 entries + 2 checkpoints
    assert _verify(log, keys["pub"])[0] == 0  # internally consistent
    code, out = _verify(log, keys["pub"], "--known-head", f"{head['entries']}:{head['hash']}")
    assert code == 1 and "shorter" in out
    log.write_bytes(b"".join(lines))
    assert _verify(log, keys["pub"], "--known-head", f"{head['entries']}:{head['hash']}")[0] == 0


def test_verify_needs_a_pinned_key_and_never_takes_the_one_beside_the_log(keys, log):
    _public_pem(keys["key"], log.with_name(log.name + ".pub"))
    r = CliRunner().invoke(cli, ["incident", "audit", "verify", str(log)])
    assert r.exit_code == 2 and "--public-key" in r.output


def test_a_pinned_fingerprint_checks_the_key_the_log_names(keys, log):
    from dataward.incident.audit import fingerprint, load_public_key

    good = fingerprint(load_public_key(keys["pub"]))
    r = CliRunner().invoke(cli, ["incident", "audit", "verify", str(log), "--key-fingerprint", good])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["incident", "audit", "verify", str(log), "--key-fingerprint", "sha256:" + "ab" * 32])
    assert r.exit_code == 1 and "fingerprint" in r.output


def test_signing_key_is_created_in_the_config_dir_not_beside_the_log(tmp_path, monkeypatch):
    monkeypatch.setenv("DATAWARD_CONFIG_DIR", str(tmp_path / "conf"))
    (tmp_path / "logs").mkdir()
    audit = AuditLog(tmp_path / "logs" / "audit.jsonl")
    audit.append("respond.start", incident="leak")
    audit.checkpoint()
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == ["audit.jsonl"]
    key = tmp_path / "conf" / "audit-ed25519"
    assert key.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "conf").stat().st_mode & 0o777 == 0o700
    assert _verify(tmp_path / "logs" / "audit.jsonl", key.with_name(key.name + ".pub"))[0] == 0


@pytest.mark.parametrize("kind", ["garbage", "directory", "empty", "private key"])
def test_a_bad_public_key_is_one_sentence(tmp_path, keys, log, kind):
    bad = tmp_path / "bad.pub"
    if kind == "garbage":
        bad.write_bytes(__import__("os").urandom(200))
    elif kind == "directory":
        bad.mkdir()
    elif kind == "empty":
        bad.write_bytes(b"")
    else:
        shutil.copy(keys["key"], bad)
    code, out = _verify(log, bad)
    assert code == 2, out
    assert out.startswith("error: ") and "Traceback" not in out and len(out.strip().splitlines()) <= 2


def test_verifying_a_directory_or_a_missing_log_is_one_sentence(tmp_path, keys):
    for target in (tmp_path, tmp_path / "missing.jsonl"):
        code, out = _verify(target, keys["pub"])
        assert code == 2 and out.startswith("error: "), out


def test_a_garbage_signing_key_is_one_sentence(tmp_path):
    key = tmp_path / "key"
    key.write_bytes(__import__("os").urandom(64))
    audit = AuditLog(tmp_path / "audit.jsonl", key)
    with pytest.raises(DatawardError):
        audit.append("respond.start", incident="leak")


def test_intact_log_verifies(keys, log):
    result = verify_log(log, keys["pub"])
    assert result.ok and result.entries == 408 and result.checkpoints == 8 and result.unsigned_tail == 0


@pytest.mark.parametrize("line", [1, 37, 200, 408])
def test_one_edited_byte_is_named(keys, log, line):
    lines = log.read_bytes().split(b"\n")
    target = bytearray(lines[line - 1])
    pos = target.rindex(b"}") - 3  # inside the entry's content, not its structure
    target[pos] = ord("X") if target[pos] != ord("X") else ord("Y")
    lines[line - 1] = bytes(target)
    log.write_bytes(b"\n".join(lines))
    result = verify_log(log, keys["pub"])
    assert not result.ok and result.bad_entry == line


def test_removed_and_reordered_entries_are_found(keys, log):
    lines = log.read_bytes().split(b"\n")
    log.write_bytes(b"\n".join(lines[:99] + lines[100:]))
    assert verify_log(log, keys["pub"]).bad_entry == 100
    lines[10], lines[11] = lines[11], lines[10]
    log.write_bytes(b"\n".join(lines))
    assert verify_log(log, keys["pub"]).bad_entry == 11


def test_cli_audit_verify(keys, log):
    code, out = _verify(log, keys["pub"])
    assert code == 0 and "408 entries" in out
    data = log.read_bytes()
    log.write_bytes(data.replace(b'"user_id":123}', b'"user_id":124}', 1))
    code, out = _verify(log, keys["pub"], "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["ok"] is False and data["bad_entry"] > 100


_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.dictionaries(st.sampled_from(["action", "sig", "seq", "key", "prev", "hash", "ts", "x"]), _JSONISH)
        | st.fixed_dictionaries({"action": st.just("checkpoint")}, optional={"sig": _JSONISH, "key": _JSONISH}),
        max_size=6,
    ),
    st.binary(max_size=300),
    st.booleans(),
)
def test_the_audit_reader_raises_only_dataward_errors(tmp_path_factory, keys_for_fuzz, entries, junk, chain):
    """Any file (chained entries of any shape, or raw bytes) is verified or refused, never a crash."""
    path = tmp_path_factory.mktemp("fuzz") / "audit.jsonl"
    if chain:
        lines = [json.dumps({"hash": "0" * 64, **e}, default=str).encode() for e in entries]
        try:
            body = b"\n".join(_rechain(lines)) + b"\n" + junk
        except (KeyError, TypeError, ValueError):
            body = junk
    else:
        body = junk
    path.write_bytes(body)
    try:
        result = verify_log(path, keys_for_fuzz)
    except DatawardError:
        return
    assert isinstance(result.ok, bool)


@pytest.fixture(scope="module")
def keys_for_fuzz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzzkey")
    _write_log(root / "a.jsonl", root / "k", entries=1)
    return _public_pem(root / "k", root / "k.pem")
