"""The reference device cloud: deterministic rows, realistic value shapes, a ground truth that matches the data,
the same rows in every output kind, and all-or-nothing writes with one-line errors."""

from __future__ import annotations

import importlib
import json
import re
import uuid
from collections import Counter
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from click.testing import CliRunner

from dataward.categories import CATEGORIES
from dataward.cli import cli
from dataward.devicecloud import (
    CAMERA_OUIS,
    MODELS,
    TABLE_NAMES,
    DeviceCloud,
    arrow_schema,
    generate,
    ground_truth,
    load_ground_truth,
)
from dataward.devicecloud import values as V
from dataward.devicecloud.schema import TABLES
from dataward.tables import open_tables

USERS, SEED = 2000, 11
gen = importlib.import_module(
    "dataward.devicecloud.generate"
)  # the module; the package exports a function of that name


@pytest.fixture(scope="module")
def cloud() -> DeviceCloud:
    return DeviceCloud(USERS, SEED)


@pytest.fixture(scope="module")
def tables(cloud: DeviceCloud) -> dict[str, pa.Table]:
    return {t: cloud.table(t) for t in TABLE_NAMES}


@pytest.fixture(scope="module")
def parquet_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cloud") / "parquet"
    generate(USERS, SEED, f"file://{out}")
    return out


def _values(table: pa.Table, column: str) -> list[str]:
    return [v for v in table.column(column).to_pylist() if v is not None]


# ---- determinism ---------------------------------------------------------------------------------------
def test_same_users_and_seed_give_the_same_rows(tables: dict[str, pa.Table]) -> None:
    again = DeviceCloud(USERS, SEED)
    for name in TABLE_NAMES:
        assert again.table(name).equals(tables[name]), name


def test_another_seed_gives_other_rows(tables: dict[str, pa.Table]) -> None:
    other = DeviceCloud(USERS, SEED + 1).table("users")
    assert other.column("email") != tables["users"].column("email")


def test_chunked_and_threaded_generation_is_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gen, "CHUNK_USERS", 300)
    small = DeviceCloud(1000, 5)
    assert small.chunks == 4
    for name in TABLE_NAMES:
        one = pa.Table.from_batches(list(small.batches(name, workers=1)))
        two = pa.Table.from_batches(list(small.batches(name, workers=2)))
        assert one.equals(two), name
        ids = one.column("id").to_numpy()
        assert (ids == range(1, one.num_rows + 1)).all(), f"{name} ids are not 1..n"
        assert one.num_rows == small.row_counts()[name]


def test_schema_matches_design_and_categories_are_known(tables: dict[str, pa.Table]) -> None:
    for name, table in tables.items():
        assert table.schema == arrow_schema(name)
        for column in TABLES[name]:
            assert set(column.categories) <= CATEGORIES, (name, column.name)


# ---- sizes and distributions ---------------------------------------------------------------------------
def test_devices_per_user_are_skewed_one_to_five_plus(tables: dict[str, pa.Table]) -> None:
    per_user = Counter(Counter(tables["devices"].column("user_id").to_pylist()).values())
    assert per_user[1] > per_user[2] > per_user[3] > per_user[4]
    assert sum(v for k, v in per_user.items() if k >= 5) > 0
    assert set(tables["devices"].column("user_id").to_pylist()) == set(range(1, USERS + 1))
    assert 2.2 < tables["devices"].num_rows / USERS < 2.8


def test_about_four_events_per_device(tables: dict[str, pa.Table]) -> None:
    assert 3.7 < tables["connection_events"].num_rows / tables["devices"].num_rows < 4.3


def test_sign_ups_grow_month_by_month(tables: dict[str, pa.Table]) -> None:
    months = Counter(ts.strftime("%Y-%m") for ts in tables["users"].column("created_at").to_pylist())
    ordered = [months[m] for m in sorted(months)]
    assert sum(ordered[-6:]) > 3 * sum(ordered[:6])
    assert sum(b >= a for a, b in zip(ordered, ordered[1:], strict=False)) >= len(ordered) - 2
    created = tables["users"].column("created_at").to_pylist()
    assert created == sorted(created), "ids follow sign-up order"


@pytest.mark.parametrize("users, cohort", [(999, 0), (1000, 1), (2000, 1), (100_000, 6), (2_400_000, 140)])
def test_body_metrics_cohort_size(users: int, cohort: int) -> None:
    assert DeviceCloud(users, 0).beta_cohort == cohort


def test_body_metrics_only_for_the_cohort(tables: dict[str, pa.Table]) -> None:
    body = tables["body_metrics"]
    assert len(set(body.column("user_id").to_pylist())) == 1
    assert set(_values(body, "gender")) <= {"female", "male", "non-binary"}
    assert all(120 < h < 220 for h in _values(body, "height_cm"))


def test_connectivity_differs_by_model_and_firmware(cloud: DeviceCloud) -> None:
    truth = ground_truth(cloud)["analytics"]
    by_model = truth["connectivity_by_model"]
    assert set(by_model) == set(MODELS)
    assert max(by_model.values()) - min(by_model.values()) > 0.1
    fw = truth["connectivity_by_firmware"]
    assert fw["4.36.11.5859"] > fw["4.36.9.139"], "newer firmware connects better"


# ---- value shapes ----------------------------------------------------------------------------------------
SHAPES = [
    ("users", "email", r"[a-z0-9._]+@[a-z0-9.-]+\.[a-z]{2,}"),
    ("users", "username", r"[A-Za-z_]+[0-9]+"),
    ("users", "full_name", r"[A-Z][A-Za-z]+ [A-Z][A-Za-z]+"),
    ("users", "phone", r"\+[1-9][0-9]{8,14}"),
    ("users", "country", r"[A-Z]{2}"),
    ("users", "region", r"[A-Z]{2}-[A-Z0-9]{1,3}"),
    (
        "users",
        "password_hash",
        r"\$2b\$1[02]\$[./A-Za-z0-9]{53}|\$argon2id\$v=19\$m=65536,t=3,p=4\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}",
    ),
    ("users", "profile_photo_url", r"https://[a-z0-9.-]+/avatars/[0-9a-f]{32}\.jpg"),
    ("devices", "mac", r"([0-9A-F]{2}:){5}[0-9A-F]{2}"),
    ("devices", "firmware_version", r"\d+\.\d+\.\d+\.\d+"),
    ("devices", "ip_address", r"(\d{1,3}\.){3}\d{1,3}"),
    ("devices", "timezone", r"[A-Z][A-Za-z]+/[A-Za-z_/]+"),
    ("connection_events", "kind", r"connect|disconnect|failure"),
    ("connection_events", "error_code", r"E1\d{3}"),
    ("api_tokens", "platform", r"ios|android|web"),
    ("api_tokens", "refresh_token", r"[A-Za-z0-9_-]{64}"),
    ("integrations", "provider", r"alexa|google_assistant|ifttt"),
]


@pytest.mark.parametrize("table, column, pattern", SHAPES, ids=[f"{t}.{c}" for t, c, _ in SHAPES])
def test_every_value_has_its_shape(
    tables: dict[str, pa.Table], table: str, column: str, pattern: str
) -> None:
    values = _values(tables[table], column)
    assert values
    bad = [v for v in values if not re.fullmatch(pattern, v)]
    assert not bad, (
        f"{len(bad)} values of {table}.{column} do not match (first of them has length {len(bad[0])})"
    )


def test_every_mac_has_a_camera_makers_oui(tables: dict[str, pa.Table]) -> None:
    prefixes = Counter(mac[:8] for mac in _values(tables["devices"], "mac"))
    assert set(prefixes) <= set(CAMERA_OUIS)
    assert len(prefixes) == len(CAMERA_OUIS)


@pytest.mark.parametrize(
    "provider, access, refresh",
    [
        ("alexa", r"Atza\|IwEBI[A-Za-z0-9_-]{180}", r"Atzr\|IwEBI[A-Za-z0-9_-]{180}"),
        ("google_assistant", r"ya29\.a0[A-Za-z0-9_-]{150}", r"1//0[A-Za-z0-9_-]{99}"),
        ("ifttt", r"[A-Za-z0-9]{43}", r"[A-Za-z0-9]{64}"),
    ],
)
def test_integration_tokens_have_their_providers_shape(
    tables: dict[str, pa.Table], provider: str, access: str, refresh: str
) -> None:
    rows = tables["integrations"].filter(pc.equal(tables["integrations"].column("provider"), provider))
    assert rows.num_rows > 0
    assert all(re.fullmatch(access, v) for v in _values(rows, "access_token"))
    assert all(re.fullmatch(refresh, v) for v in _values(rows, "refresh_token"))


@pytest.mark.parametrize(
    "platform, pattern",
    [
        ("ios", r"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}"),
        ("android", r"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}"),
        ("web", r"wz_[A-Za-z0-9]{40}"),
    ],
)
def test_api_tokens_are_jwt_or_opaque_per_platform(
    tables: dict[str, pa.Table], platform: str, pattern: str
) -> None:
    rows = tables["api_tokens"].filter(pc.equal(tables["api_tokens"].column("platform"), platform))
    assert rows.num_rows > 0
    assert all(re.fullmatch(pattern, v) for v in _values(rows, "access_token"))


NICKNAME_STYLES = [
    ("person's room", rf"({'|'.join(V.FIRST_NAMES)})'s ({'|'.join(V.PERSON_ROOMS)})"),
    ("relative's room", rf"({'|'.join(V.RELATIVES)})'s ({'|'.join(V.RELATIVE_ROOMS)})"),
    ("room", rf"({'|'.join(V.ROOMS)})"),
    ("default", r"Wyze Cam [1-5]"),
]


@pytest.mark.parametrize("style, pattern", NICKNAME_STYLES, ids=[s for s, _ in NICKNAME_STYLES])
def test_every_nickname_style_appears(tables: dict[str, pa.Table], style: str, pattern: str) -> None:
    assert any(re.fullmatch(pattern, v) for v in _values(tables["devices"], "nickname")), style


def test_emmas_nursery_and_grandmas_kitchen_are_there() -> None:
    names = set(_values(DeviceCloud(20_000, 1).table("devices"), "nickname"))
    assert {"Emma's Nursery", "Grandma's Kitchen", "Back Yard"} <= names


SSID_STYLES = [
    (
        "router default",
        r"(NETGEAR|Linksys|TP-Link_|ATT|MySpectrumWiFi|CenturyLink|FiOS-|HOME-|ASUS_|xfinity-)\d{2,5}",
    ),
    ("family", r"The [A-Z][A-Za-z]+s( 5G)?"),
    ("family network", r"[A-Z][A-Za-z]+( Family WiFi|Net)"),
    ("first name", r"[A-Z][a-z]+'s (WiFi|Network)"),
    (
        "joke",
        r"FBI Surveillance Van|Pretty Fly for a WiFi|Bill Wi the Science Fi|Abraham Linksys|Wu-Tang LAN|"
        r"The LAN Before Time|Drop It Like Its Hotspot|Get Off My LAN",
    ),
    ("extender", r".+_EXT"),
]


@pytest.mark.parametrize("style, pattern", SSID_STYLES, ids=[s for s, _ in SSID_STYLES])
def test_every_ssid_style_appears(tables: dict[str, pa.Table], style: str, pattern: str) -> None:
    assert any(re.fullmatch(pattern, v) for v in _values(tables["devices"], "wifi_ssid")), style


def test_ssids_like_netgear47_and_the_smiths_5g() -> None:
    ssids = set(_values(DeviceCloud(20_000, 1).table("devices"), "wifi_ssid"))
    assert any(re.fullmatch(r"NETGEAR\d\d", s) for s in ssids)
    assert "The Smiths 5G" in ssids


def test_emails_are_unique_on_many_domains(tables: dict[str, pa.Table]) -> None:
    emails = _values(tables["users"], "email")
    assert len(set(emails)) == len(emails)
    domains = Counter(e.split("@")[1] for e in emails)
    assert len(domains) >= 40
    assert domains.most_common(1)[0][0] == "gmail.com"
    usernames = _values(tables["users"], "username")
    assert len(set(usernames)) == len(usernames)


def test_private_and_public_ipv4(tables: dict[str, pa.Table]) -> None:
    import ipaddress

    ips = [ipaddress.ip_address(v) for v in _values(tables["devices"], "ip_address")]
    private = sum(ip.is_private for ip in ips)
    assert 0.3 < private / len(ips) < 0.8
    assert all(ip.is_global for ip in ips if not ip.is_private)


def test_regions_cover_us_states_and_eu_countries(tables: dict[str, pa.Table]) -> None:
    regions = set(_values(tables["users"], "region"))
    assert {"US-CA", "US-TX", "US-WA"} <= regions
    countries = Counter(_values(tables["users"], "country"))
    assert countries.most_common(1)[0][0] == "US"
    assert {"DE", "FR"} & set(countries)
    users = tables["users"].to_pylist()
    assert all(u["region"].startswith(u["country"] + "-") for u in users)


def test_model_codes_are_the_listed_ones(tables: dict[str, pa.Table]) -> None:
    devices = tables["devices"].to_pylist()
    assert {d["model"] for d in devices} == set(MODELS)
    assert all(d["firmware_version"] in MODELS[d["model"]][1] for d in devices)


def test_time_order_of_a_device_life(tables: dict[str, pa.Table]) -> None:
    users = {u["id"]: u["created_at"] for u in tables["users"].select(["id", "created_at"]).to_pylist()}
    for d in tables["devices"].select(["user_id", "activated_at", "last_seen_at"]).to_pylist():
        assert users[d["user_id"]] <= d["activated_at"] <= d["last_seen_at"]


# ---- ground truth ----------------------------------------------------------------------------------------
def test_ground_truth_file_is_written_with_categories(parquet_out: Path) -> None:
    truth = load_ground_truth(parquet_out / "ground_truth.json")
    assert truth["row_counts"]["users"] == USERS
    for table, columns in TABLES.items():
        assert list(truth["columns"][table]) == [c.name for c in columns]
        for column in columns:
            assert truth["columns"][table][column.name] == column.category
            assert truth["column_categories"][table][column.name] == list(column.categories)
    assert truth["columns"]["integrations"]["access_token"] == "alexa_token"
    assert truth["columns"]["users"]["email"] == "email"
    assert truth["columns"]["body_metrics"]["weight_kg"] == "health_metric"
    assert truth["columns"]["connection_events"]["rssi"] is None


def test_ground_truth_analytics_match_the_written_data(parquet_out: Path) -> None:
    """Recompute every analytics answer with SQL over the Parquet files, by the documented definitions."""
    truth = load_ground_truth(parquet_out / "ground_truth.json")
    a = truth["analytics"]
    con = duckdb.connect()
    for name in TABLE_NAMES:
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{parquet_out / name}.parquet')")
    rows = con.execute(
        "SELECT d.model, count(*) FILTER (WHERE e.kind = 'connect'), count(*) FILTER (WHERE e.kind IN ('connect', 'failure')) "
        "FROM connection_events e JOIN devices d ON d.id = e.device_id GROUP BY 1"
    ).fetchall()
    assert {m: round(c / n, 4) for m, c, n in rows} == a["connectivity_by_model"]
    rows = con.execute(
        "SELECT d.firmware_version, count(*) FILTER (WHERE e.kind = 'connect'), count(*) FILTER (WHERE e.kind <> 'disconnect') "
        "FROM connection_events e JOIN devices d ON d.id = e.device_id GROUP BY 1"
    ).fetchall()
    assert {f: round(c / n, 4) for f, c, n in rows} == a["connectivity_by_firmware"]
    rows = con.execute(
        "SELECT error_code, count(*) FROM connection_events WHERE kind = 'failure' GROUP BY 1"
    ).fetchall()
    assert dict(rows) == a["failures_by_error_code"]
    rows = con.execute("SELECT strftime(created_at, '%Y-%m'), count(*) FROM users GROUP BY 1").fetchall()
    assert dict(rows) == a["users_by_month"]
    rows = con.execute(
        "SELECT CASE WHEN n >= 5 THEN '5+' ELSE n::VARCHAR END, count(*) FROM "
        "(SELECT user_id, count(*) AS n FROM devices GROUP BY 1) GROUP BY 1"
    ).fetchall()
    assert dict(rows) == a["devices_per_user"]
    assert con.execute("SELECT count(DISTINCT user_id) FROM body_metrics").fetchone() == (
        truth["body_metrics_cohort"],
    )
    counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLE_NAMES}  # type: ignore[index]
    assert counts == truth["row_counts"]


# ---- every output kind ---------------------------------------------------------------------------------------
def _server_url(request: pytest.FixtureRequest, fixture: str) -> str:
    try:
        server = request.getfixturevalue(fixture)
    except pytest.FixtureLookupError:
        pytest.skip(f"the {fixture} fixture of dataward.testing.fixtures is not available")
    return str(server.admin_url).rsplit("/", 1)[0] + f"/dw_generate_{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize("kind", ["sqlite", "duckdb", "file", "postgresql", "mysql"])
def test_every_output_kind_holds_the_same_rows(
    request: pytest.FixtureRequest, tmp_path: Path, tables: dict[str, pa.Table], kind: str
) -> None:
    url = {
        "sqlite": f"sqlite://{tmp_path}/cloud.db",
        "duckdb": f"duckdb://{tmp_path}/cloud.duckdb",
        "file": f"file://{tmp_path}/cloud",
    }.get(kind) or _server_url(request, {"postgresql": "pg_trust", "mysql": "mariadb_open"}[kind])
    truth_path = tmp_path / "truth.json"
    result = generate(USERS, SEED, url, ground_truth_path=truth_path)
    assert result.row_counts == {t: tables[t].num_rows for t in TABLE_NAMES}
    with open_tables(url) as db:
        assert sorted(db.list_tables()) == sorted(TABLE_NAMES)
        for name in TABLE_NAMES:
            got = db.read_table(name).sort_by("id")
            assert got.schema == arrow_schema(name), (kind, name)
            assert got.equals(tables[name]), (kind, name)
    assert json.loads(truth_path.read_text())["row_counts"] == result.row_counts


# ---- the command line: one-line errors, nothing partial -----------------------------------------------------------
def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["generate", *args])
    return result.exit_code, result.stdout, result.stderr


def test_cli_generates_and_prints_a_summary(tmp_path: Path) -> None:
    code, out, _ = _run("--users", "1000", "--seed", "3", "--out", f"duckdb://{tmp_path}/p.duckdb")
    assert code == 0
    assert "connection_events" in out and "ground truth" in out
    assert (tmp_path / "p.ground_truth.json").exists()


@pytest.mark.parametrize(
    "out, message",
    [
        ("not-a-url", "is not a URL"),
        ("nosuch://x/y", "does not hold tables"),
        ("sqlite:///nonexistent/dir/x.db", "does not exist"),
        ("postgresql://dw@127.0.0.1:1/db", "cannot connect to postgresql://dw@127.0.0.1:1/db"),
        ("mysql://dw:secret-pw@127.0.0.1:1/db", "cannot connect to mysql://dw:***@127.0.0.1:1/db"),
    ],
)
def test_bad_output_is_exit_2_with_one_sentence(out: str, message: str) -> None:
    code, stdout, stderr = _run("--users", "100", "--out", out)
    assert code == 2
    lines = stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and message in lines[0]
    assert all(line.startswith("  Tip: ") for line in lines[1:])
    assert "Traceback" not in stderr and "secret-pw" not in stderr + stdout


def test_existing_tables_are_refused_without_force(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path}/x.db"
    assert _run("--users", "100", "--out", url)[0] == 0
    before = (tmp_path / "x.db").read_bytes()
    code, _, stderr = _run("--users", "200", "--out", url)
    assert code == 2 and "already holds tables" in stderr and "--force" in stderr
    assert (tmp_path / "x.db").read_bytes() == before
    assert _run("--users", "200", "--out", url, "--force")[0] == 0
    with open_tables(url) as db:
        assert db.count_rows("users") == 200


class _Boom(RuntimeError):
    pass


def _fail_on_events(self: DeviceCloud, chunk: int) -> pa.RecordBatch:
    raise _Boom("disk full")


@pytest.mark.parametrize("kind", ["sqlite", "duckdb", "file"])
def test_a_failure_leaves_no_new_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    monkeypatch.setattr(DeviceCloud, "_events", _fail_on_events)
    url = {
        "sqlite": f"sqlite://{tmp_path}/n.db",
        "duckdb": f"duckdb://{tmp_path}/n.duckdb",
        "file": f"file://{tmp_path}/n",
    }[kind]
    with pytest.raises(_Boom):
        generate(500, 1, url)
    assert list(tmp_path.iterdir()) == []


def test_a_failure_with_force_keeps_the_previous_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"duckdb://{tmp_path}/keep.duckdb"
    generate(500, 1, url)
    with open_tables(url) as db:
        before = db.read_table("users")
    monkeypatch.setattr(DeviceCloud, "_events", _fail_on_events)
    with pytest.raises(_Boom):
        generate(800, 2, url, force=True)
    with open_tables(url) as db:
        assert sorted(db.list_tables()) == sorted(TABLE_NAMES)
        assert db.read_table("users").equals(before)
    assert load_ground_truth(tmp_path / "keep.ground_truth.json")["generator"]["users"] == 500


def test_a_failure_on_a_server_leaves_no_tables(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = _server_url(request, "pg_trust")
    monkeypatch.setattr(DeviceCloud, "_events", _fail_on_events)
    with pytest.raises(_Boom):
        generate(500, 1, url, ground_truth_path=tmp_path / "t.json")
    with open_tables(url) as db:
        assert db.list_tables() == []
    assert not (tmp_path / "t.json").exists()
