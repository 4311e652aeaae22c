"""dataward.tables: every kind reads back exactly what it wrote, samples are bounded, errors are one sentence."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataward.errors import TargetError
from dataward.tables import open_tables, quote_ident
from dataward.tables.base import TableStore, prefetch, rebatch
from dataward.targets import parse_target

EMBEDDED = ["sqlite", "duckdb", "file"]
SERVERS = ["postgresql", "mysql"]
_SERVER_FIXTURES = {"postgresql": "pg_trust", "mysql": "mariadb_open"}


def _typed_table(rows: int = 500) -> pa.Table:
    base = dt.datetime(2019, 12, 4, 10, 30, 0)
    return pa.table(
        {
            "id": pa.array(range(1, rows + 1), pa.int64()),
            "rssi": pa.array([-40 - i % 50 for i in range(rows)], pa.int32()),
            "name": pa.array([None if i % 7 == 0 else f'Emma\'s "Nursery", {i}\n' for i in range(rows)]),
            "empty": pa.array(["" if i % 2 else None for i in range(rows)], pa.string()),
            "ts": pa.array(
                [base + dt.timedelta(seconds=i, microseconds=i) for i in range(rows)], pa.timestamp("us")
            ),
            "flag": pa.array([None if i % 5 == 0 else i % 2 == 0 for i in range(rows)], pa.bool_()),
            "weight": pa.array([None if i % 3 == 0 else 60.5 + i / 3 for i in range(rows)], pa.float64()),
        }
    )


def _url(kind: str, tmp: Path) -> str:
    return {
        "sqlite": f"sqlite://{tmp}/t.db",
        "duckdb": f"duckdb://{tmp}/t.duckdb",
        "file": f"file://{tmp}/parquet",
    }[kind]


def server_url(request: pytest.FixtureRequest, kind: str, database: str) -> str:
    """A superuser URL on the session's real test server (dataward.testing.fixtures) for ``database``."""
    name = _SERVER_FIXTURES[kind]
    try:
        server = request.getfixturevalue(name)
    except pytest.FixtureLookupError:
        pytest.skip(f"the {name} fixture of dataward.testing.fixtures is not available")
    return str(server.admin_url).rsplit("/", 1)[0] + "/" + database


@pytest.fixture(params=EMBEDDED + SERVERS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TableStore]:
    kind = request.param
    if kind in SERVERS:
        url = server_url(request, kind, f"dw_tables_{uuid.uuid4().hex[:10]}")
    else:
        url = _url(kind, tmp_path)
    with open_tables(url, create=True) as db:
        yield db


def test_round_trip_keeps_types_values_and_nulls(store: TableStore) -> None:
    table = _typed_table()
    assert store.write_table("devices", table.schema, table.to_batches(max_chunksize=128)) == table.num_rows
    assert store.list_tables() == ["devices"]
    assert store.schema("devices") == table.schema
    assert store.count_rows("devices") == table.num_rows
    estimate = store.estimate_rows("devices")
    if store.kind == "mysql":  # InnoDB's TABLE_ROWS is an estimate from index dives
        assert 0 < estimate <= 2 * table.num_rows
    else:
        assert estimate == table.num_rows
    assert store.read_table("devices").equals(table)
    assert store.read_table("devices", ["weight", "id"]).equals(table.select(["weight", "id"]))


def test_read_batches_honours_batch_size(store: TableStore) -> None:
    table = _typed_table(300)
    store.write_table("t", table.schema, table.to_batches())
    sizes = [b.num_rows for b in store.read_batches("t", ["id"], batch_size=100)]
    assert sum(sizes) == 300 and max(sizes) <= 100


def test_sample_is_bounded_and_seeded(store: TableStore) -> None:
    table = _typed_table(2000)
    store.write_table("t", table.schema, table.to_batches())
    one = store.sample("t", 50, seed=7)
    assert one.num_rows == 50 and one.schema == table.schema
    assert one.equals(store.sample("t", 50, seed=7))
    assert set(one.column("id").to_pylist()) <= set(range(1, 2001))
    assert store.sample("t", 5000).num_rows == 2000


def test_rename_and_drop(store: TableStore) -> None:
    table = _typed_table(10)
    store.write_table("old", table.schema, table.to_batches())
    store.rename_table("old", "new")
    assert store.list_tables() == ["new"]
    store.drop_table("new")
    store.drop_table("never-there")  # dropping what is not there is not an error
    assert store.list_tables() == []


def test_odd_table_names_are_quoted(store: TableStore) -> None:
    table = _typed_table(3)
    name = 'we"ird; DROP TABLE x --' if store.kind != "file" else "we ird"
    store.write_table(name, table.schema, table.to_batches())
    assert store.read_table(name).equals(table)


def test_writing_an_existing_table_is_refused(store: TableStore) -> None:
    table = _typed_table(3)
    store.write_table("t", table.schema, table.to_batches())
    with pytest.raises(TargetError, match="already exists"):
        store.write_table("t", table.schema, table.to_batches())


def test_a_failing_producer_leaves_no_table(store: TableStore) -> None:
    table = _typed_table(10)

    def batches() -> Iterator[pa.RecordBatch]:
        yield from table.to_batches()
        raise RuntimeError("generator broke")

    with pytest.raises(RuntimeError, match="generator broke"):
        store.write_table("t", table.schema, batches())
    assert store.list_tables() == []


def test_unknown_table_suggests_the_close_one(store: TableStore) -> None:
    table = _typed_table(3)
    store.write_table("devices", table.schema, table.to_batches())
    with pytest.raises(TargetError, match="Did you mean 'devices'"):
        store.schema("devics")


@pytest.mark.parametrize(
    "url, message",
    [
        ("nosuch://x", "does not hold tables"),
        ("sqlite:///nonexistent/dir/x.db", "does not exist"),
        ("duckdb:///nonexistent/x.duckdb", "does not exist"),
        ("file:///nonexistent/folder", "does not exist"),
        ("file:///nonexistent/*.csv", "no .parquet"),
    ],
)
def test_bad_urls_are_one_sentence(url: str, message: str) -> None:
    with pytest.raises(TargetError, match=message) as info:
        open_tables(url)
    assert "\n" not in info.value.message


def test_sqlite_file_that_is_not_a_database(tmp_path: Path) -> None:
    bad = tmp_path / "x.db"
    bad.write_text("hello, not sqlite" * 100)
    with pytest.raises(TargetError, match="cannot open"):
        open_tables(f"sqlite://{bad}")


@pytest.mark.parametrize("name, text", [
    ("rows.csv", "id,email\n1,a@example.com\n2,canary-7d1e@example.com,x\n"),  # a row too many columns long
    ("rows.json", '[{"id": 1}, {"id": "canary-7d1e"}]'),
    ("rows.jsonl", '{"id": 1}\n{"id": "canary-7d1e", "id": [1}\n'),
])
def test_an_unreadable_file_is_a_sentence_without_its_values(tmp_path: Path, name: str, text: str) -> None:
    """pyarrow's and json's messages quote the row or the value they stumbled on: the sentence does not."""
    (tmp_path / name).write_text(text)
    with pytest.raises(TargetError, match="cannot read") as info, open_tables(f"file://{tmp_path}/{name}") as db:
        for table in db.list_tables():
            db.read_table(table)
    assert "canary-7d1e" not in info.value.message and "\n" not in info.value.message


def test_file_globs_read_csv_json_and_jsonl_read_only(tmp_path: Path) -> None:
    (tmp_path / "users.csv").write_text("id,email\n1,a@example.com\n2,b@example.com\n")
    (tmp_path / "tokens.jsonl").write_text('{"id": 1, "token": "Atza|x"}\n{"id": 2, "token": "Atzr|y"}\n')
    (tmp_path / "export.json").write_text(json.dumps([{"id": 1, "ssid": "NETGEAR47"}]))
    with open_tables(f"file://{tmp_path}/*") as db:
        assert db.list_tables() == ["export", "tokens", "users"]
        assert db.read_table("users").column("email").to_pylist() == ["a@example.com", "b@example.com"]
        assert db.count_rows("tokens") == 2
        assert db.sample("export", 5).num_rows == 1
        assert db.execute("SELECT count(*) FROM users") == [(2,)]
        with pytest.raises(TargetError, match="only reads"):
            db.drop_table("users")
    with open_tables(f"file://{tmp_path}/users.csv") as db:
        assert db.list_tables() == ["users"]


def test_parquet_folder_execute_runs_duckdb_sql(tmp_path: Path) -> None:
    table = _typed_table(20)
    with open_tables(f"file://{tmp_path}/out", create=True) as db:
        db.write_table("devices", table.schema, table.to_batches())
        assert db.execute("SELECT count(*) FROM devices WHERE id > ?", [10]) == [(10,)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.lists(
        st.one_of(
            st.none(), st.text(alphabet=st.characters(exclude_characters="\x00", exclude_categories=("Cs",)))
        ),
        max_size=20,
    )
)
def test_any_text_survives_every_embedded_kind(tmp_path: Path, values: list[str | None]) -> None:
    table = pa.table({"v": pa.array(values, pa.string())})
    for kind in EMBEDDED:
        with open_tables(_url(kind, tmp_path), create=True) as db:
            db.drop_table("t")
            db.write_table("t", table.schema, table.to_batches())
            assert db.read_table("t").column("v").to_pylist() == values, kind


@given(name=st.text(min_size=1, max_size=20).filter(lambda s: "\x00" not in s))
def test_quote_ident_round_trips(name: str) -> None:
    quoted = quote_ident(name)
    assert quoted[0] == quoted[-1] == '"'
    assert quoted[1:-1].replace('""', '"') == name


def test_prefetch_and_rebatch() -> None:
    batches = [pa.record_batch({"x": list(range(i * 7, i * 7 + 7))}) for i in range(10)]
    out = list(rebatch(prefetch(batches), 16))
    assert [b.num_rows for b in out] == [16, 16, 16, 16, 6]
    assert pa.Table.from_batches(out).column("x").to_pylist() == list(range(70))

    def broken() -> Iterator[int]:
        yield 1
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        list(prefetch(broken()))


@pytest.mark.parametrize("kind", SERVERS)
def test_wrong_password_is_one_sentence(request: pytest.FixtureRequest, kind: str) -> None:
    url = parse_target(server_url(request, kind, "nosuchdb")).with_credentials("nobody", "wrong").url
    with pytest.raises(TargetError, match="cannot connect to") as info:
        open_tables(url)
    assert "wrong" not in info.value.render() and "\n" not in info.value.message


def test_unreachable_server_is_one_sentence() -> None:
    with pytest.raises(TargetError, match="cannot connect to postgresql://127.0.0.1:1/x: Connection refused"):
        open_tables("postgresql://127.0.0.1:1/x")


def test_mysql_insert_fallback_when_local_infile_is_refused(request: pytest.FixtureRequest) -> None:
    url = server_url(request, "mysql", f"dw_tables_{uuid.uuid4().hex[:10]}")
    table = _typed_table(50)
    with open_tables(url, create=True) as db:
        db._local_infile = False  # type: ignore[attr-defined]
        db.write_table("t", table.schema, table.to_batches())
        assert db.read_table("t").equals(table)


def test_postgresql_streams_two_tables_at_once_and_creates_a_named_schema(
    request: pytest.FixtureRequest,
) -> None:
    url = server_url(request, "postgresql", f"dw_tables_{uuid.uuid4().hex[:10]}") + "?schema=analytics"
    table = _typed_table(300)
    with open_tables(url, create=True) as db:
        db.write_table("a", table.schema, table.to_batches())
        db.write_table("b", table.schema, table.to_batches())
        pairs = zip(db.read_batches("a", batch_size=100), db.read_batches("b", batch_size=100), strict=True)
        assert sum(x.num_rows + y.num_rows for x, y in pairs) == 600
        assert db.execute("SELECT count(*) FROM analytics.a") == [(300,)]


def test_postgresql_reads_a_batch_at_a_time(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first batch comes after about ``batch_size`` rows have left the server, not the whole table: reading
    is streamed, so a copy's memory is bounded by the batch size whatever the table's size."""
    import psycopg

    url = server_url(request, "postgresql", f"dw_tables_{uuid.uuid4().hex[:10]}")
    table = _typed_table(3000)
    pulled = 0
    read = psycopg.Copy.read

    def counting_read(self: psycopg.Copy) -> object:
        nonlocal pulled
        pulled += 1
        return read(self)

    with open_tables(url, create=True) as db:
        db.write_table("t", table.schema, table.to_batches())
        monkeypatch.setattr(psycopg.Copy, "read", counting_read)
        batches = db.read_batches("t", batch_size=100)
        first = next(batches)
        assert first.num_rows == 100
        assert pulled <= 2 * 100  # COPY TO sends one message a row
        assert sum(b.num_rows for b in batches) == 2900


def test_a_single_column_of_nulls_reads_back(store: TableStore) -> None:
    """A one-column row holding NULL is an empty line in CSV exports; it is a row, not a blank to skip."""
    table = _typed_table(21)  # the last row's 'empty' is NULL too
    store.write_table("t", table.schema, table.to_batches())
    assert store.read_table("t", ["empty"]).equals(table.select(["empty"]))
