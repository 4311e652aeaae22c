"""``copy run`` end to end on file stores: joins survive, canaries do not, drift and failures write nothing."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from _copy_helpers import all_text, canaries, cloud, dest_url, plan_for, snapshot, source_url, write_source
from click.testing import CliRunner

from dataward.cli import cli
from dataward.copy import run as run_mod
from dataward.copy import transforms as tf
from dataward.copy.audit import DestinationAudit
from dataward.copy.plan import ColumnPlan, Plan, TablePlan, dump_plan
from dataward.copy.run import CopyOptions, PlanMismatch, run_copy
from dataward.errors import ConfigError, DatawardError
from dataward.manifest import read_manifest
from dataward.tables import open_tables
from dataward.targets import parse_target

KEY = tf.PseudonymKey(b"copy-test-key-0123456789")
PAIRS = [("sqlite", "duckdb"), ("duckdb", "parquet"), ("parquet", "sqlite")]


@pytest.fixture(scope="module")
def tables() -> dict:
    return cloud()


@pytest.fixture
def sqlite_source(tmp_path: Path, tables: dict):
    return write_source(source_url("sqlite", tmp_path), tables)


def _count(url: str, sql: str) -> int:
    with open_tables(url) as store:
        con = duckdb.connect()
        for t in store.list_tables():
            con.register(t, store.read_table(t))
        return int(con.sql(sql).fetchall()[0][0])


JOINS = [
    "SELECT count(*) FROM connection_events e JOIN devices d ON e.device_id = d.id",
    "SELECT count(*) FROM devices d JOIN users u ON d.user_id = u.id",
    "SELECT count(*) FROM api_tokens a JOIN users u ON a.user_id = u.id",
    "SELECT count(DISTINCT user_id) FROM devices",
]


@pytest.mark.parametrize("src_kind, dst_kind", PAIRS)
def test_copy_keeps_joins_and_drops_every_canary(tmp_path: Path, tables: dict, src_kind: str, dst_kind: str) -> None:
    src = write_source(source_url(src_kind, tmp_path), tables)
    dst = dest_url(dst_kind, tmp_path)
    result = run_copy(src, parse_target(dst), plan_for(src), KEY, CopyOptions(owner="data@example.com"))
    for sql in JOINS:
        assert _count(dst, sql) == _count(src.url, sql), sql
    cells = set(all_text(dst))
    assert not canaries(tables) & cells
    manifest = read_manifest(dst)
    assert manifest is not None and manifest.key_id == KEY.key_id and manifest.owner == "data@example.com"
    assert manifest.tables["users"].rows == tables["users"].num_rows
    assert result.manifest.plan_hash == plan_for(src).digest
    text = json.dumps(manifest.to_json())
    assert KEY.secret.decode() not in text and not any(c in text for c in canaries(tables))
    _assert_no_canary_bytes(tmp_path, dst_kind, tables)


def _assert_no_canary_bytes(tmp_path: Path, kind: str, tables: dict) -> None:
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.name.startswith("copy")] if kind != "parquet" else []
    files += list((tmp_path / "copy").glob("*")) if kind == "parquet" else []
    marks = [b"cnry", b"CNRY", b"Cnry", KEY.secret]
    for path in files:
        data = path.read_bytes()
        assert not any(m in data for m in marks), path


def test_dropped_columns_are_absent_and_generalised_ones_coarse(tmp_path: Path, sqlite_source) -> None:
    dst = dest_url("duckdb", tmp_path)
    run_copy(sqlite_source, parse_target(dst), plan_for(sqlite_source), KEY)
    with open_tables(dst) as store:
        assert store.schema("users").names == ["id", "email", "region", "created_at"]
        devices = store.read_table("devices")
        assert "mac" not in devices.column_names and "wifi_ssid" not in devices.column_names
        assert set(devices.column("firmware_version").to_pylist()) <= {"4.36", "4.61"}
        assert all(ip is None or ip.endswith(".0/24") for ip in devices.column("ip_address").to_pylist())
        assert all(t.hour == 0 for t in store.read_table("connection_events").column("ts").to_pylist())
        assert "body_metrics" in store.list_tables()
        assert store.schema("body_metrics").names == ["user_id"]  # an id nothing references is dropped


def test_rotating_the_key_changes_every_pseudonym(tmp_path: Path, sqlite_source) -> None:
    a, b = dest_url("duckdb", tmp_path / "a"), dest_url("duckdb", tmp_path / "b")
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    other = tf.PseudonymKey(b"rotated-key-0123456789ab")
    plan = plan_for(sqlite_source)
    run_copy(sqlite_source, parse_target(a), plan, KEY)
    run_copy(sqlite_source, parse_target(b), plan, other)
    with open_tables(a) as sa, open_tables(b) as sb:
        for col in ("id", "email"):
            old = set(sa.read_table("users").column(col).to_pylist())
            new = set(sb.read_table("users").column(col).to_pylist())
            assert not old & new
    assert read_manifest(a).key_id != read_manifest(b).key_id


def test_schema_drift_stops_before_any_row_is_written(tmp_path: Path, sqlite_source) -> None:
    plan = plan_for(sqlite_source)
    with open_tables(sqlite_source) as store:
        store.execute("ALTER TABLE users ADD COLUMN secret_answer TEXT")
    dst = tmp_path / "copy.duckdb"
    with pytest.raises(PlanMismatch, match=r"columns not in the plan: users\.secret_answer"):
        run_copy(sqlite_source, parse_target(f"duckdb:///{dst}"), plan, KEY)
    assert not dst.exists()


def test_plan_naming_a_vanished_column_is_an_error(tmp_path: Path, sqlite_source) -> None:
    plan = plan_for(sqlite_source)
    cols = dict(plan.tables["users"].columns)
    cols["shoe_size"] = ColumnPlan(action="keep")
    tampered = Plan(source=plan.source, tables={**plan.tables, "users": TablePlan(columns=cols)})
    with pytest.raises(PlanMismatch, match=r"planned columns missing from the source: users\.shoe_size"):
        run_copy(sqlite_source, parse_target(dest_url("sqlite", tmp_path)), tampered, KEY)
    assert not (tmp_path / "copy.db").exists()


def test_a_table_missing_from_the_plan_is_drift(tmp_path: Path, sqlite_source) -> None:
    plan = plan_for(sqlite_source)
    partial = Plan(source=plan.source, tables={t: p for t, p in plan.tables.items() if t != "api_tokens"})
    with pytest.raises(PlanMismatch, match="tables not in the plan: api_tokens"):
        run_copy(sqlite_source, parse_target(dest_url("parquet", tmp_path)), partial, KEY)
    assert not (tmp_path / "copy").exists()


def test_pseudonymising_without_a_key_is_refused(tmp_path: Path, sqlite_source) -> None:
    with pytest.raises(ConfigError, match="no key was given"):
        run_copy(sqlite_source, parse_target(dest_url("duckdb", tmp_path)), plan_for(sqlite_source), None)


def test_copying_onto_the_source_is_refused(sqlite_source) -> None:
    with pytest.raises(DatawardError, match="the source itself"):
        run_copy(sqlite_source, sqlite_source, plan_for(sqlite_source), KEY)


@pytest.mark.parametrize("dst_kind", ["duckdb", "sqlite", "parquet"])
def test_interrupted_copy_leaves_the_destination_as_it_was(
    tmp_path: Path, sqlite_source, monkeypatch: pytest.MonkeyPatch, dst_kind: str
) -> None:
    dst = dest_url(dst_kind, tmp_path)
    plan = plan_for(sqlite_source)
    run_copy(sqlite_source, parse_target(dst), plan, KEY, CopyOptions(owner="first"))
    before, files_before = snapshot(dst), sorted(p.name for p in tmp_path.iterdir())
    calls = {"n": 0}
    real = run_mod._pseudonymize

    def flaky(pseudo, domain, values):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 12:  # mid-way: two tables staged, the third half-written
            raise RuntimeError("injected failure")
        return real(pseudo, domain, values)

    monkeypatch.setattr(run_mod, "_pseudonymize", flaky)
    with pytest.raises(RuntimeError, match="injected failure"):
        run_copy(sqlite_source, parse_target(dst), plan, tf.PseudonymKey(b"x" * 20), CopyOptions(batch_size=100))
    assert snapshot(dst) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == files_before  # no staging folder left behind
    assert read_manifest(dst).owner == "first"


def test_interrupted_first_copy_leaves_no_file(tmp_path: Path, sqlite_source, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(pseudo, domain, values):  # type: ignore[no-untyped-def]
        raise RuntimeError("injected failure")

    monkeypatch.setattr(run_mod, "_pseudonymize", boom)
    with pytest.raises(RuntimeError):
        run_copy(sqlite_source, parse_target(dest_url("sqlite", tmp_path)), plan_for(sqlite_source), KEY)
    assert not (tmp_path / "copy.db").exists()


def test_k_anonymity_suppresses_small_classes(tmp_path: Path, sqlite_source, tables: dict) -> None:
    dst = dest_url("duckdb", tmp_path)
    regions = tables["users"].column("region").to_pylist()
    small = {r for r in set(regions) if regions.count(r) < 5}
    assert small, "the helper cloud plants a rare region"
    result = run_copy(sqlite_source, parse_target(dst), plan_for(sqlite_source), KEY, CopyOptions(k=5))
    expected = sum(regions.count(r) for r in small)
    assert result.manifest.tables["users"].suppressed == expected
    with open_tables(dst) as store:
        copied = store.read_table("users").column("region").to_pylist()
    assert copied.count(None) == expected and not small & set(copied)
    assert result.manifest.tables["users"].rows == len(regions)  # rows kept, quasi-identifiers nulled


def test_k_anonymity_refuse_mode_writes_nothing(tmp_path: Path, sqlite_source) -> None:
    dst = tmp_path / "copy.duckdb"
    with pytest.raises(DatawardError, match="is not 5-anonymous on (region|ip_address)"):
        run_copy(sqlite_source, parse_target(f"duckdb:///{dst}"), plan_for(sqlite_source), KEY,
                 CopyOptions(k=5, k_mode="refuse"))  # fmt: skip
    assert not dst.exists()


def test_unsafe_destination_is_refused_unless_overridden(
    tmp_path: Path, sqlite_source, monkeypatch: pytest.MonkeyPatch
) -> None:
    def open_door(dest, *, require_tls=False, budget=None):  # type: ignore[no-untyped-def]
        return DestinationAudit(dest.display, ("it is readable without credentials",))

    monkeypatch.setattr(run_mod, "audit_destination", open_door)
    dst = dest_url("duckdb", tmp_path)
    with pytest.raises(DatawardError, match="refusing to copy into .*readable without credentials"):
        run_copy(sqlite_source, parse_target(dst), plan_for(sqlite_source), KEY)
    assert not (tmp_path / "copy.duckdb").exists()
    opts = CopyOptions(allow_unsafe_destination=True)
    result = run_copy(sqlite_source, parse_target(dst), plan_for(sqlite_source), KEY, opts)
    assert "readable without credentials" in (read_manifest(dst).unsafe_destination or "")
    assert result.manifest.unsafe_destination


def test_cli_run_drift_is_one_line_exit_2(tmp_path: Path, sqlite_source, monkeypatch: pytest.MonkeyPatch) -> None:
    plan_file = tmp_path / "plan.toml"
    plan_file.write_text(dump_plan(plan_for(sqlite_source)))
    with open_tables(sqlite_source) as store:
        store.execute("ALTER TABLE devices ADD COLUMN owner_phone TEXT")
    monkeypatch.setenv("DATAWARD_PSEUDONYM_KEY", "cli-key-0123456789abcdef")
    args = ["copy", "run", "--from", sqlite_source.url, "--to", dest_url("duckdb", tmp_path), "--plan", str(plan_file)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert "devices.owner_phone" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "copy.duckdb").exists()


def test_cli_run_json_and_key_file(tmp_path: Path, sqlite_source, monkeypatch: pytest.MonkeyPatch) -> None:
    plan_file = tmp_path / "plan.toml"
    plan_file.write_text(dump_plan(plan_for(sqlite_source)))
    key_file = tmp_path / "key"
    key_file.write_text("file-key-0123456789abcdef\n")
    monkeypatch.delenv("DATAWARD_PSEUDONYM_KEY", raising=False)
    args = ["copy", "run", "--from", sqlite_source.url, "--to", dest_url("parquet", tmp_path), "--plan",
            str(plan_file), "--key-file", str(key_file), "--expires", "2030-01-31", "--format", "json"]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["manifest"]["expires"] == "2030-01-31"
    assert "file-key" not in result.output
    assert out["manifest"]["key_id"] == tf.PseudonymKey(b"file-key-0123456789abcdef").key_id


def test_world_readable_destination_file_is_refused(tmp_path: Path, sqlite_source) -> None:
    dst = tmp_path / "copy.duckdb"
    run_copy(sqlite_source, parse_target(f"duckdb:///{dst}"), plan_for(sqlite_source), KEY)
    assert dst.stat().st_mode & 0o077 == 0  # a file the copy creates is private to its owner
    dst.chmod(0o644)
    modes = {f: f.stat().st_mode for f in (tmp_path, *tmp_path.parents)}
    try:
        for folder, mode in modes.items():  # pytest's temp folders are private: open the path up for a moment
            folder.chmod(mode | 0o005)
        with pytest.raises(DatawardError, match="readable or writable by every local account"):
            run_copy(sqlite_source, parse_target(f"duckdb:///{dst}"), plan_for(sqlite_source), KEY)
    finally:
        for folder, mode in modes.items():
            folder.chmod(mode)
