"""dataward's state database: one SQLAlchemy layer, Alembic migrations, upgrades without loss, refusals.

The "old" databases here are made with the exact DDL of the code before the layer existed (the watcher's
``watch/state`` and the incident job's ``incident/store``), so an upgrade of dataward is tested on what users have.
"""

from __future__ import annotations

import sqlite3
import stat
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from sqlalchemy import inspect, select

from dataward.cli import cli
from dataward.errors import ConfigError, DatawardError
from dataward.incident.store import open_incident_db
from dataward.state import VERSION_TABLE, head_revision, open_state_db, schema
from dataward.state.migrate import schema_differences
from dataward.testing.servers import PostgresServer
from dataward.watch.state import open_state

# ---- the DDL of the code before the layer (watch/state/base.py and incident/store.py, verbatim) -------------
OLD_WATCH_DDL = [
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)",
    """CREATE TABLE IF NOT EXISTS stores (
        store TEXT PRIMARY KEY, target TEXT, kind TEXT, reachable INTEGER, failures INTEGER NOT NULL,
        unreachable_alerted INTEGER NOT NULL, last_probe TEXT, last_ok TEXT, last_full TEXT,
        last_secure TEXT, contents TEXT, fast_ids TEXT, extra TEXT)""",
    """CREATE TABLE IF NOT EXISTS windows (
        id {serial}, store TEXT NOT NULL, finding TEXT NOT NULL, rule TEXT, severity INTEGER,
        title TEXT, target TEXT, categories TEXT, last_secure TEXT, opened TEXT NOT NULL,
        last_seen TEXT, closed TEXT)""",
    "CREATE INDEX IF NOT EXISTS windows_open ON windows (store, closed)",
    """CREATE TABLE IF NOT EXISTS events (
        id {serial}, at TEXT NOT NULL, store TEXT NOT NULL, event TEXT NOT NULL, finding TEXT,
        severity INTEGER, detail TEXT)""",
    """CREATE TABLE IF NOT EXISTS alerts (
        id {serial}, key TEXT NOT NULL, sink TEXT NOT NULL, event TEXT NOT NULL, store TEXT NOT NULL,
        payload TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL, next_attempt TEXT,
        last_error TEXT, created TEXT NOT NULL, sent_at TEXT, UNIQUE (key, sink))""",
    "CREATE INDEX IF NOT EXISTS alerts_due ON alerts (status, next_attempt)",
]
OLD_INCIDENT_DDL = [
    """CREATE TABLE IF NOT EXISTS incidents (
        name TEXT PRIMARY KEY, store TEXT NOT NULL, window_from TEXT NOT NULL, window_to TEXT NOT NULL,
        window_source TEXT NOT NULL, aware_at TEXT NOT NULL, finding TEXT, opened_at TEXT NOT NULL,
        source TEXT, secret TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS artifacts (
        incident TEXT NOT NULL, name TEXT NOT NULL, content {blob} NOT NULL, created_at TEXT NOT NULL,
        PRIMARY KEY (incident, name))""",
    """CREATE TABLE IF NOT EXISTS ledger (
        incident TEXT NOT NULL, step TEXT NOT NULL, unit TEXT NOT NULL, state TEXT NOT NULL,
        detail TEXT, updated_at TEXT NOT NULL, PRIMARY KEY (incident, step, unit))""",
    """CREATE TABLE IF NOT EXISTS sends (
        incident TEXT NOT NULL, user_id BIGINT NOT NULL, state TEXT NOT NULL, message_id TEXT NOT NULL,
        updated_at TEXT NOT NULL, PRIMARY KEY (incident, user_id))""",
]
OLD_WATCH_ROWS = [
    ("INSERT INTO meta (key, value) VALUES (?, ?)", ("schema", "1")),
    ("INSERT INTO stores (store, target, kind, reachable, failures, unreachable_alerted, last_probe, fast_ids, extra)"
     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", ("cache", "redis://127.0.0.1:1", "redis", 1, 0, 0, "2026-12-01T10:00:00Z",
                                             '["f1"]', "[]")),
    ("INSERT INTO windows (store, finding, rule, severity, title, target, categories, opened, last_seen, closed)"
     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ("cache", "f0", "redis.no-auth", 4, "Redis answers", "redis://h",
                                                 '["email"]', "2026-11-01T10:00:00Z", "2026-11-01T11:00:00Z",
                                                 "2026-11-01T11:00:00Z")),
    ("INSERT INTO windows (store, finding, rule, severity, title, target, categories, opened, last_seen)"
     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", ("cache", "f1", "redis.no-auth", 4, "Redis answers", "redis://h",
                                              '["email"]', "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z")),
    ("INSERT INTO events (at, store, event, finding, severity, detail) VALUES (?, ?, ?, ?, ?, ?)",
     ("2026-12-01T09:00:00Z", "cache", "opened", "f1", 4, "")),
    ("INSERT INTO alerts (key, sink, event, store, payload, status, attempts, next_attempt, created)"
     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", ("k1", "stdout", "exposed", "cache", '{"event": "exposed"}', "pending", 0,
                                              "2026-12-01T09:00:00Z", "2026-12-01T09:00:00Z")),
]
OLD_INCIDENT_ROWS = [
    ("INSERT INTO incidents (name, store, window_from, window_to, window_source, aware_at, opened_at, secret)"
     " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", ("inc-1", "analytics-copy", "2019-12-04T00:00:00Z", "2019-12-26T00:00:00Z",
                                          "manual", "2019-12-27T00:00:00Z", "2019-12-27T00:00:00Z", "s3cr3t")),
    ("INSERT INTO artifacts (incident, name, content, created_at) VALUES (?, ?, ?, ?)",
     ("inc-1", "blast_radius.json", b'{"affected_customers": 3}', "2019-12-27T00:00:00Z")),
    ("INSERT INTO ledger (incident, step, unit, state, updated_at) VALUES (?, ?, ?, ?, ?)",
     ("inc-1", "revoke_tokens", "0", "done", "2019-12-27T00:00:00Z")),
    ("INSERT INTO sends (incident, user_id, state, message_id, updated_at) VALUES (?, ?, ?, ?, ?)",
     ("inc-1", 42, "sent", "<m1@x>", "2019-12-27T00:00:00Z")),
]


def make_old_sqlite(path: Path, watch: bool = True, incident: bool = True) -> None:
    conn = sqlite3.connect(path)
    statements = (OLD_WATCH_DDL if watch else []) + (OLD_INCIDENT_DDL if incident else [])
    for ddl in statements:
        conn.execute(ddl.format(serial="INTEGER PRIMARY KEY AUTOINCREMENT", blob="BLOB"))
    for sql, params in (OLD_WATCH_ROWS if watch else []) + (OLD_INCIDENT_ROWS if incident else []):
        conn.execute(sql, params)
    conn.commit()
    conn.close()


def make_old_postgres(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for ddl in OLD_WATCH_DDL + OLD_INCIDENT_DDL:
            conn.execute(ddl.format(serial="BIGSERIAL PRIMARY KEY", blob="BYTEA").encode())
        for sql, params in OLD_WATCH_ROWS + OLD_INCIDENT_ROWS:
            conn.execute(sql.replace("?", "%s").encode(), params)


@pytest.fixture(scope="module")
def pg(postgres_factory: Any) -> PostgresServer:
    return postgres_factory(auth="scram", users={"ward": "ward-pw"}, databases=("fresh", "old", "foreign"))


@pytest.fixture
def pg_db(pg: PostgresServer) -> Iterator[str]:
    """A new, empty database owned by the test's role (dropped afterwards)."""
    name = f"state_{threading.get_ident() % 10**8}_{id(object())}"
    pg.execute_admin(f'CREATE DATABASE "{name}" OWNER ward')
    yield pg.url(user="ward", db=name)
    pg.execute_admin(f'DROP DATABASE "{name}" WITH (FORCE)')


def tables_of(location: str) -> set[str]:
    engine = open_state_db(location)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


# ---- a new database ----------------------------------------------------------------------------------------
def test_new_sqlite_has_every_table_at_head_and_is_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    assert tables_of(str(path)) == set(schema.metadata.tables) | {VERSION_TABLE}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sqlite3.connect(path).execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchall() == [(head_revision(),)]


def test_sqlite_url_form_is_an_absolute_path(tmp_path: Path) -> None:
    path = tmp_path / "url.db"
    open_state_db(f"sqlite:///{path}").dispose()
    assert path.is_file()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrations_build_exactly_the_tables_of_the_schema_module(backend: str, tmp_path: Path, request: Any) -> None:
    """A table changed in schema.py without a migration (or the reverse) fails here."""
    location = str(tmp_path / "m.db") if backend == "sqlite" else request.getfixturevalue("pg_db")
    engine = open_state_db(location)
    try:
        with engine.connect() as conn:
            diff = schema_differences(conn)
    finally:
        engine.dispose()
    assert diff == []


def test_concurrent_first_opens_migrate_once(tmp_path: Path) -> None:
    path = str(tmp_path / "race.db")
    errors: list[str] = []

    def open_one() -> None:
        try:
            open_state_db(path).dispose()
        except BaseException:  # collected for the assertion below, with where it happened
            errors.append(traceback.format_exc())

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [], errors[0]
    assert sqlite3.connect(path).execute(f"SELECT count(*) FROM {VERSION_TABLE}").fetchone() == (1,)


# ---- upgrading a database made by the earlier code ------------------------------------------------------------
def test_old_watch_database_upgrades_without_loss(tmp_path: Path) -> None:
    path = tmp_path / "watch.db"
    make_old_sqlite(path, watch=True, incident=False)
    path.chmod(0o644)
    db = open_state(str(path))
    try:
        states = db.load_states()
        assert states["cache"].reachable is True and states["cache"].fast_ids == ("f1",)
        assert set(states["cache"].open) == {"f1"}
        assert [(w.finding, w.closed) for w in db.windows()] == [("f0", "2026-11-01T11:00:00Z"), ("f1", None)]
        assert [e.event for e in db.events()] == ["opened"]
        assert [(a["sink"], a["payload"]) for a in db.alerts("pending")] == [("stdout", {"event": "exposed"})]
        with db.engine.begin() as conn:  # ids go on from the old ones (AUTOINCREMENT kept)
            new_id = conn.execute(schema.windows.insert().values(store="s", finding="f2", opened="t")).inserted_primary_key
        assert new_id is not None and new_id[0] == 3
    finally:
        db.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "meta" not in tables_of(str(path))


def test_old_incident_database_upgrades_without_loss(tmp_path: Path) -> None:
    path = tmp_path / "dataward-incidents.db"
    make_old_sqlite(path, watch=False, incident=True)
    engine = open_state_db(str(path))
    try:
        with engine.connect() as conn:
            assert conn.execute(select(schema.incidents.c.name, schema.incidents.c.secret)).all() == [("inc-1", "s3cr3t")]
            assert conn.execute(select(schema.artifacts.c.content)).scalar() == b'{"affected_customers": 3}'
            assert conn.execute(select(schema.ledger.c.state)).scalar() == "done"
            assert conn.execute(select(schema.sends.c.user_id, schema.sends.c.state)).all() == [(42, "sent")]
    finally:
        engine.dispose()
    assert {"stores", "windows", "incidents"} <= tables_of(str(path))


def test_incident_api_reads_an_old_incident_database_and_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "dataward-incidents.db"
    make_old_sqlite(path, watch=False, incident=True)
    path.chmod(0o644)
    with open_incident_db(str(path)) as db:
        incident = db.get("inc-1")
        assert (incident.store, incident.secret, incident.window) == (
            "analytics-copy", "s3cr3t", ("2019-12-04T00:00:00Z", "2019-12-26T00:00:00Z"))
        assert db.json_artifact("inc-1", "blast_radius.json") == {"affected_customers": 3}
        assert db.ledger_states("inc-1", "revoke_tokens") == {"0": "done"}
        assert db.steps_done("inc-1") == ["revoke_tokens"]
        assert db.send_states("inc-1") == {42: ("sent", "<m1@x>")}
        db.set_sends("inc-1", [(42, "sending", "<m2@x>"), (43, "sent", "<m3@x>")])
        db.set_ledger("inc-1", "revoke_tokens", ["0", "1"], "done")
        assert db.send_states("inc-1") == {42: ("sending", "<m2@x>"), 43: ("sent", "<m3@x>")}
        assert db.ledger_states("inc-1", "revoke_tokens") == {"0": "done", "1": "done"}
        with pytest.raises(DatawardError, match="already exists"):
            db.add(incident)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_old_postgres_database_upgrades_without_loss(pg_db: str) -> None:
    make_old_postgres(pg_db)
    db = open_state(pg_db)
    try:
        assert [w.finding for w in db.windows()] == ["f0", "f1"]
        with db.engine.connect() as conn:
            assert conn.execute(select(schema.sends.c.user_id)).scalar() == 42
            assert conn.execute(select(schema.artifacts.c.content)).scalar() == b'{"affected_customers": 3}'
            diff = schema_differences(conn)
    finally:
        db.close()
    assert diff == []


def test_postgres_state_round_trip(pg_db: str) -> None:
    db = open_state(pg_db)
    try:
        with db.engine.begin() as conn:
            conn.execute(schema.events.insert().values(at="t", store="s", event="opened"))
        assert [e.event for e in db.events("s")] == ["opened"]
    finally:
        db.close()


# ---- refusals: not dataward's database ------------------------------------------------------------------------
def foreign_sqlite(path: Path) -> bytes:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)")
    conn.execute("INSERT INTO users (email) VALUES ('emma@example.com')")
    conn.commit()
    conn.close()
    path.chmod(0o644)
    return path.read_bytes()


def test_foreign_sqlite_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    before = foreign_sqlite(path)
    with pytest.raises(ConfigError, match="is not a dataward state database"):
        open_state_db(str(path))
    assert path.read_bytes() == before
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.db"]


def test_foreign_postgres_database_is_refused(pg: PostgresServer) -> None:
    with psycopg.connect(pg.url(user="ward", db="foreign"), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS users (id int)")
    with pytest.raises(ConfigError, match="holds other tables, e.g. 'users'"):
        open_state_db(pg.url(user="ward", db="foreign"))


def test_wrong_password_is_one_sentence_without_the_password(pg: PostgresServer) -> None:
    with pytest.raises(ConfigError) as info:
        open_state_db(pg.url(user="ward", password="Canary-Pw-7", db="fresh"))
    assert "Canary-Pw-7" not in info.value.render()
    assert "cannot open the state database" in info.value.message


@pytest.mark.parametrize("content", [b"", b"not a database at all\n" * 50])
def test_history_refuses_a_file_that_is_not_a_state_database(tmp_path: Path, content: bytes) -> None:
    """Issue 13 item 8: history created its tables in any SQLite file it was given."""
    app, other = tmp_path / "app.db", tmp_path / "notes.db"
    before = foreign_sqlite(app)
    other.write_bytes(content)
    for path, original in ((app, before), (other, content)):
        result = CliRunner().invoke(cli, ["history", "--state", str(path)])
        assert result.exit_code == 2, result.output
        assert "is not a dataward state database" in result.output
        assert "Traceback" not in result.output
        assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.db", "notes.db"]


def test_history_reads_an_old_watch_database(tmp_path: Path) -> None:
    path = tmp_path / "watch.db"
    make_old_sqlite(path, watch=True, incident=False)
    result = CliRunner().invoke(cli, ["history", "--state", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"finding": "f1"' in result.output


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_notice_is_claimed_by_one_run_only(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """`claim_sends` is a compare-and-set on both databases: a row claimed, or changed, since a run read it
    stays the other run's."""
    from dataward.incident import ops

    location = str(tmp_path / "state.db") if backend == "sqlite" else request.getfixturevalue("pg_db")
    with open_incident_db(location) as db:
        ops.open_incident(db, "inc", "analytics-copy", "2019-12-04", "2019-12-26")
        assert db.claim_sends("inc", "sending", [(1, "<m1@x>", None), (2, "<m2@x>", None)]) == {1, 2}
        assert db.claim_sends("inc", "sending", [(1, "<m1@x>", None)]) == set()  # the other run's now
        db.set_send("inc", 2, "failed", "<m2@x>")
        assert db.claim_sends("inc", "sending", [(2, "<m2@x>", ("sending", "<m2@x>"))]) == set()  # read stale
        assert db.claim_sends("inc", "sending", [(2, "<m2@x>", ("failed", "<m2@x>"))]) == {2}
        assert db.send_states("inc") == {1: ("sending", "<m1@x>"), 2: ("sending", "<m2@x>")}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_respond_batch_is_claimed_by_one_run_only(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """`claim_unit` is a compare-and-set on both databases: a batch claimed or done since a run read the ledger
    stays the other run's; a claim dropped by its run (stopped by an error) can be claimed again."""
    from dataward.incident import ops

    location = str(tmp_path / "state.db") if backend == "sqlite" else request.getfixturevalue("pg_db")
    with open_incident_db(location) as db:
        ops.open_incident(db, "inc", "analytics-copy", "2019-12-04", "2019-12-26")
        assert db.claim_unit("inc", "s1", "b0", "run-a", None)
        assert not db.claim_unit("inc", "s1", "b0", "run-b", None)  # run b read the ledger before a claimed
        db.set_ledger("inc", "s1", ["b0"], "done")
        assert not db.claim_unit("inc", "s1", "b0", "run-b", ("claimed", "run-a"))  # read stale: a finished it
        assert db.claim_unit("inc", "s1", "b1", "run-a", None)
        db.release_unit("inc", "s1", "b1", "run-b")  # not b's to drop
        assert db.ledger_rows("inc", "s1") == {"b0": ("done", None), "b1": ("claimed", "run-a")}
        db.release_unit("inc", "s1", "b1", "run-a")
        assert db.claim_unit("inc", "s1", "b1", "run-b", None)
        assert db.ledger_rows("inc", "s1")["b1"] == ("claimed", "run-b")
