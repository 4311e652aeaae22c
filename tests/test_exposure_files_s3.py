"""Exposure of data files (SQLite, DuckDB, Parquet/CSV exports) and S3 buckets: exact facts and findings
from real files and a real (moto) S3 server, and proof that a probe writes nothing."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dataward.exposure.base import Contents, evaluate
from dataward.findings import Severity
from dataward.stores.base import Budget, ExposureFacts, store_for
from dataward.targets import parse_target

CANARY = "canary-7f3a@example.com"
IDENTITY = Contents(categories=frozenset({"email"}))
BUDGET = Budget(timeout_s=3)


@pytest.fixture()
def open_dir() -> Iterator[Path]:
    """A folder others can traverse (pytest's tmp_path sits in a 0700 folder, which hides everything)."""
    path = Path(tempfile.mkdtemp(prefix="dataward-files-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def make_sqlite(path: Path, mode: int) -> str:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE users (id INTEGER, email TEXT)")
        conn.executemany("INSERT INTO users VALUES (?, ?)", [(i, CANARY) for i in range(50)])
    conn.close()
    path.chmod(mode)
    return f"sqlite://{path}"


def make_duckdb(path: Path, mode: int) -> str:
    conn = duckdb.connect(str(path))
    conn.execute("CREATE TABLE users AS SELECT range AS id, ? AS email FROM range(40)", [CANARY])
    conn.close()
    path.chmod(mode)
    return f"duckdb://{path}"


def make_parquet(folder: Path, mode: int) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    for name in ("users", "devices"):
        pq.write_table(pa.table({"email": [CANARY] * 30}), folder / f"{name}.parquet")
        (folder / f"{name}.parquet").chmod(mode)
    return f"file://{folder}/*.parquet"


def probe(url: str) -> ExposureFacts:
    target = parse_target(url)
    return store_for(target).probe(target, BUDGET)


def rules(facts: ExposureFacts, contents: Contents | None = None) -> dict[str, Severity]:
    return {f.rule: f.severity for f in evaluate(facts, contents)}


def digest(path: Path) -> tuple[str, float]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime


def test_private_sqlite_has_no_finding(open_dir: Path) -> None:
    facts = probe(make_sqlite(open_dir / "app.db", 0o600))
    assert facts.reachable and facts.scope == "local-file" and facts.records == 50
    assert facts.details["mode"] == "0600" and facts.details["world_readable"] == []
    assert rules(facts) == {} and rules(facts, IDENTITY) == {}


@pytest.mark.parametrize(
    "maker, store",
    [(make_sqlite, "sqlite"), (make_duckdb, "duckdb")],
)
def test_world_readable_database(open_dir: Path, maker, store: str) -> None:  # type: ignore[no-untyped-def]
    path = open_dir / f"app.{store}"
    facts = probe(maker(path, 0o644))
    assert facts.details["world_readable"] == [str(path)]
    assert rules(facts) == {f"{store}.world-readable": Severity.LOW}
    assert rules(facts, IDENTITY) == {f"{store}.world-readable": Severity.HIGH}


def test_folder_closed_to_others_hides_a_0644_file(open_dir: Path) -> None:
    closed = open_dir / "closed"
    closed.mkdir(mode=0o700)
    facts = probe(make_sqlite(closed / "app.db", 0o644))
    assert facts.details["world_readable"] == []
    assert rules(facts, IDENTITY) == {}


def test_world_writable_export(open_dir: Path) -> None:
    facts = probe(make_parquet(open_dir / "exports", 0o666))
    assert facts.details["files"] == 2 and facts.records == 60
    assert rules(facts) == {"file.world-readable": Severity.LOW, "file.world-writable": Severity.MEDIUM}


def test_export_in_web_root(open_dir: Path) -> None:
    facts = probe(make_parquet(open_dir / "site" / "htdocs" / "dl", 0o644))
    assert list(facts.details["web_root"].values()) == [str(open_dir / "site" / "htdocs")] * 2
    assert rules(facts)["file.web-root"] == Severity.HIGH
    assert rules(facts, IDENTITY)["file.web-root"] == Severity.CRITICAL


def test_web_root_file_not_readable_by_others(open_dir: Path) -> None:
    facts = probe(make_parquet(open_dir / "www" / "private", 0o600))
    assert rules(facts) == {"file.web-root": Severity.MEDIUM}


def test_missing_file_is_an_info_finding(open_dir: Path) -> None:
    facts = probe(f"sqlite://{open_dir}/nope.db")
    assert not facts.reachable and facts.error == "no such file"
    assert rules(facts) == {"sqlite.unreachable": Severity.INFO}


def test_corrupt_database_is_a_fact_not_a_traceback(open_dir: Path) -> None:
    bad = open_dir / "bad.db"
    bad.write_bytes(b"this is not a database" * 100)
    facts = probe(f"sqlite://{bad}")
    assert facts.reachable and facts.readable is False and facts.details["read_error"]


@pytest.mark.parametrize("maker, name", [(make_sqlite, "a.db"), (make_duckdb, "a.duckdb"), (make_parquet, "ex")])
def test_probe_and_sample_write_nothing(open_dir: Path, maker, name: str) -> None:  # type: ignore[no-untyped-def]
    url = maker(open_dir / name, 0o600)
    files = sorted(p for p in open_dir.rglob("*") if p.is_file())
    before = {p: digest(p) for p in files}
    target = parse_target(url)
    store = store_for(target)
    store.probe(target, BUDGET)
    objects = list(store.sample(target, BUDGET))
    assert objects and all(o.columns for o in objects)
    assert CANARY in objects[0].columns[-1].values.to_pylist()
    after = {p: digest(p) for p in sorted(p for p in open_dir.rglob("*") if p.is_file())}
    assert after == before
    assert not any(CANARY in repr(f.to_json()) for f in evaluate(store.probe(target, BUDGET), IDENTITY))


def test_files_details_are_documented() -> None:
    doc = (Path(__file__).parents[1] / "docs" / "exposure.md").read_text()
    for key in ("world_readable", "world_writable", "group_readable", "web_root", "mode", "owner", "size_bytes"):
        assert f"`{key}`" in doc, key

