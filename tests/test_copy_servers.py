"""Safe copies with real PostgreSQL servers: the destination audit refuses an open server, copies into a
protected one keep joins, drop canaries and replace a previous copy atomically."""

from __future__ import annotations

from pathlib import Path

import pytest
from _copy_helpers import all_text, canaries, cloud, dest_url, plan_for, snapshot, source_url, write_source

from dataward.copy import run as run_mod
from dataward.copy import transforms as tf
from dataward.copy.run import CopyOptions, run_copy
from dataward.errors import DatawardError
from dataward.manifest import read_manifest
from dataward.tables import open_tables
from dataward.targets import parse_target

KEY = tf.PseudonymKey(b"server-test-key-0123456789")


@pytest.fixture(scope="module")
def pg(postgres_factory):  # type: ignore[no-untyped-def]
    """A scram-protected server of this module's own (databases for the source and two destinations)."""
    return postgres_factory(auth="scram", databases=["app", "prod", "copy2"])


@pytest.fixture(scope="module")
def tables() -> dict:
    return cloud(users=200, seed=11)


@pytest.fixture(scope="module")
def pg_source(pg, tables: dict):  # type: ignore[no-untyped-def]
    return write_source(pg.url(user="app", db="prod"), tables)


def _tables_in(url: str) -> list[str]:
    with open_tables(url) as store:
        return store.list_tables()


def test_open_server_is_refused_and_nothing_is_written(tmp_path: Path, pg_trust, tables: dict) -> None:  # type: ignore[no-untyped-def]
    src = write_source(source_url("sqlite", tmp_path), tables)
    dest = pg_trust.url(user="app", db="app")
    before = _tables_in(dest)
    with pytest.raises(DatawardError, match=r"refusing to copy into .*readable without credentials") as err:
        run_copy(src, parse_target(dest), plan_for(src), KEY)
    assert "postgresql.no-auth" in err.value.message
    assert _tables_in(dest) == before


def test_require_tls_refuses_a_plain_server(tmp_path: Path, pg, tables: dict) -> None:  # type: ignore[no-untyped-def]
    src = write_source(source_url("sqlite", tmp_path), tables)
    dest = pg.url(user="app", db="copy2")
    with pytest.raises(DatawardError, match="does not require TLS") as err:
        run_copy(src, parse_target(dest), plan_for(src), KEY, CopyOptions(require_tls=True))
    assert "app-pw" not in err.value.message  # the destination is named redacted
    assert _tables_in(dest) == []


def test_copy_into_protected_postgres_then_replace_atomically(
    tmp_path: Path, pg, tables: dict, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    src = write_source(source_url("duckdb", tmp_path), tables)
    dest = pg.url(user="app", db="app")
    plan = plan_for(src)
    run_copy(src, parse_target(dest), plan, KEY, CopyOptions(owner="first", expires="2031-01-01"))
    assert not canaries(tables) & set(all_text(dest))
    manifest = read_manifest(dest)
    assert manifest is not None and manifest.owner == "first" and "app-pw" not in manifest.source
    before = snapshot(dest)

    calls = {"n": 0}
    real = run_mod._pseudonymize

    def flaky(pseudo, domain, values):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 9:
            raise RuntimeError("injected failure")
        return real(pseudo, domain, values)

    monkeypatch.setattr(run_mod, "_pseudonymize", flaky)
    with pytest.raises(RuntimeError):
        run_copy(src, parse_target(dest), plan, tf.PseudonymKey(b"y" * 24), CopyOptions(batch_size=64))
    assert snapshot(dest) == before
    assert not [t for t in _tables_in(dest) if t.startswith("_dw_stage_")]

    monkeypatch.setattr(run_mod, "_pseudonymize", real)
    run_copy(src, parse_target(dest), plan, KEY, CopyOptions(owner="second"))
    assert read_manifest(dest).owner == "second"
    assert snapshot(dest)["users"] == before["users"]  # same key, same pseudonyms


@pytest.mark.parametrize("dst_kind", ["parquet", "duckdb"])
def test_postgres_source_to_files(tmp_path: Path, pg_source, tables: dict, dst_kind: str) -> None:  # type: ignore[no-untyped-def]
    dest = dest_url(dst_kind, tmp_path)
    result = run_copy(pg_source, parse_target(dest), plan_for(pg_source), KEY)
    assert result.manifest.tables["connection_events"].rows == tables["connection_events"].num_rows
    assert not canaries(tables) & set(all_text(dest))


def test_mariadb_source_to_sqlite(tmp_path: Path, mariadb_factory, tables: dict) -> None:  # type: ignore[no-untyped-def]
    server = mariadb_factory(root_password="root-pw", users={"app": "app-pw"})
    src = write_source(server.url(user="app", db="app"), tables)
    dest = dest_url("sqlite", tmp_path)
    result = run_copy(src, parse_target(dest), plan_for(src), KEY)
    assert result.manifest.tables["devices"].rows == tables["devices"].num_rows
    assert "app-pw" not in result.manifest.source
    assert not canaries(tables) & set(all_text(dest))
