"""Blast radius equals a brute-force recomputation over the generated cloud, per customer and per field.

Several windows, several production store kinds (DuckDB, SQLite, Parquet folder) and several ways of
knowing what the exposed store held (the readable copy itself, a classification file, a copy manifest).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from incident_helpers import (
    EXPECTED_NOTES,
    brute_force,
    cloud_tables,
    computed_flags,
    every_other_user,
    exposed_copy,
    notes_case,
    write_store,
)

from dataward.cli import cli
from dataward.incident import ops
from dataward.incident.obligations import EEA
from dataward.incident.store import open_incident_db
from dataward.schemamap import SchemaMap

COPY_COLUMNS = {
    "users": ["id", "email", "username", "country", "created_at"],
    "devices": ["id", "user_id", "nickname", "wifi_ssid", "model", "firmware_version"],
    "api_tokens": ["id", "user_id", "platform", "access_token", "refresh_token"],
    "integrations": ["id", "user_id", "provider", "access_token"],
    "body_metrics": ["id", "user_id", "height_cm", "weight_kg", "gender"],
    "connection_events": ["id", "device_id", "kind", "rssi"],
}
WINDOWS = [
    ("2019-12-04", "2019-12-26"),
    ("2019-12-06T00:00:00Z", "2019-12-27T00:00:00Z"),
    ("2018-03-01", "2018-06-15"),
]


@pytest.fixture(scope="module")
def prod() -> dict:
    return cloud_tables()


@pytest.fixture(scope="module")
def stores(prod: dict, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("br")
    return {
        "duckdb": write_store(f"duckdb:///{root}/prod.duckdb", prod),
        "sqlite": write_store(f"sqlite:///{root}/prod.db", prod),
        "parquet": write_store(f"file:///{root}/prod_parquet", prod),
        "copy_full": write_store(f"duckdb:///{root}/copy_full.duckdb", exposed_copy(prod, COPY_COLUMNS)),
        "copy_half": write_store(
            f"sqlite:///{root}/copy_half.db", exposed_copy(prod, COPY_COLUMNS, every_other_user)
        ),
    }


def _expected(prod: dict, copy: dict, window_end: str) -> dict[int, set[str]]:
    exposed = {t: {c: SchemaMap.reference().categories_of(t, c) for c in cols} for t, cols in COPY_COLUMNS.items()}
    ids = {t: set(copy[t]["id"].to_pylist()) for t in copy}
    end = (
        datetime.fromisoformat(window_end.replace("Z", "")[:19])
        if "T" in window_end
        else datetime.fromisoformat(window_end)
    )
    return brute_force(prod, exposed, ids, end)


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("source_kind", ["duckdb", "sqlite", "parquet"])
@pytest.mark.parametrize("copy_kind", ["copy_full", "copy_half"])
def test_blast_radius_matches_brute_force(prod, stores, tmp_path, window, source_kind, copy_kind):
    copy_tables = exposed_copy(prod, COPY_COLUMNS, every_other_user if copy_kind == "copy_half" else None)
    with open_incident_db(str(tmp_path / "inc.db")) as db:
        ops.open_incident(db, "leak", stores[copy_kind], window[0], window[1])
        result = ops.run_blast_radius(db, "leak", stores[source_kind])
    expected = _expected(prod, copy_tables, window[1])
    got = computed_flags(result.affected, result.fields)
    assert set(got) == set(expected)
    assert got == expected
    by_field = result.to_json()["by_field"]
    for field in result.fields:
        assert by_field[field] == sum(1 for f in expected.values() if field in f)


def test_late_accounts_and_missing_rows_are_not_affected(prod, stores, tmp_path):
    with open_incident_db(str(tmp_path / "inc.db")) as db:
        ops.open_incident(db, "leak", stores["copy_half"], "2019-12-04", "2019-12-26")
        result = ops.run_blast_radius(db, "leak", stores["duckdb"])
    users = {r["id"]: r["created_at"] for r in prod["users"].to_pylist()}
    affected = set(result.affected["user_id"].to_pylist())
    assert all(users[u] <= datetime(2019, 12, 26) for u in affected)
    assert any(v > datetime(2019, 12, 26) for v in users.values())  # the case exists in the data
    assert all(u % 2 == 0 for u in affected)  # the half copy held even customers only
    assert len(affected) > 100


def test_a_recomputation_that_fails_half_way_keeps_the_last_blast_radius_whole(prod, stores, tmp_path, monkeypatch):
    """The report and the affected customers are kept together: a recomputation stopping between them (a
    failure, a server stopped) never leaves one radius's numbers beside another's customers."""
    from dataward.incident.blast_radius import BlastRadius

    with open_incident_db(str(tmp_path / "inc.db")) as db:
        ops.open_incident(db, "leak", stores["copy_half"], "2019-12-04", "2019-12-26")
        ops.run_blast_radius(db, "leak", stores["duckdb"])
        before = (db.json_artifact("leak", ops.REPORT), db.artifact("leak", ops.AFFECTED))

        def broken(self: BlastRadius) -> bytes:
            raise MemoryError("the affected customers could not be written")

        monkeypatch.setattr(BlastRadius, "affected_parquet", broken)
        with pytest.raises(MemoryError):
            ops.run_blast_radius(db, "leak", stores["duckdb"], categories=frozenset({"email"}))
        assert (db.json_artifact("leak", ops.REPORT), db.artifact("leak", ops.AFFECTED)) == before


def test_classification_file_assumes_every_row(prod, stores, tmp_path):
    classification = {
        "schema": "dataward.classification/v1",
        "objects": [
            {
                "object": "devices",
                "columns": [{"name": "wifi_ssid", "categories": [{"id": "wifi_ssid", "confidence": 0.9}]}],
            },
            {
                "object": "users",
                "columns": [
                    {"name": "email", "categories": [{"id": "email"}]},
                    {"name": "country", "categories": []},
                ],
            },
        ],
    }
    path = tmp_path / "cls.json"
    path.write_text(json.dumps(classification))
    with open_incident_db(str(tmp_path / "inc.db")) as db:
        ops.open_incident(db, "leak", "analytics-copy", "2019-12-04", "2019-12-26")
        result = ops.run_blast_radius(db, "leak", stores["parquet"], classification=str(path))
    exposed = {"devices": {"wifi_ssid": ("wifi_ssid",)}, "users": {"email": ("email",), "country": ()}}
    expected = brute_force(prod, exposed, {}, datetime(2019, 12, 26))
    assert computed_flags(result.affected, result.fields) == expected
    assert any("assumed" in n for n in result.notes)


def test_copy_manifest_drops_and_pseudonymised_columns(prod, stores, tmp_path):
    manifest = {
        "schema": "dataward.copy-manifest/v1",
        "source": "duckdb:///prod",
        "tables": {
            "users": {
                "rows": 2000,
                "columns": {"id": "pseudonymize", "email": "pseudonymize", "country": "keep"},
            },
            "devices": {
                "rows": 10,
                "columns": {
                    "id": "keep",
                    "user_id": "pseudonymize",
                    "nickname": "drop",
                    "wifi_ssid": "keep",
                    "model": "keep",
                },
            },
        },
    }
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    with open_incident_db(str(tmp_path / "inc.db")) as db:
        ops.open_incident(db, "leak", "analytics-copy", "2019-12-04", "2019-12-26")
        result = ops.run_blast_radius(db, "leak", stores["duckdb"], manifest=str(path))
    assert set(result.fields) == {"wifi_ssid", "device_model"}
    exposed = {"devices": {"wifi_ssid": ("wifi_ssid",), "model": ("device_model",)}}
    assert computed_flags(result.affected, result.fields) == brute_force(
        prod, exposed, {}, datetime(2019, 12, 26)
    )


def test_health_obligations_cover_exactly_the_cohort(prod, stores, tmp_path):
    with open_incident_db(str(tmp_path / "inc.db")) as db:
        ops.open_incident(db, "leak", stores["copy_full"], "2019-12-04", "2019-12-26")
        result = ops.run_blast_radius(db, "leak", stores["duckdb"])
    rows = result.affected.to_pylist()
    cohort_all = {
        r["user_id"] for r in prod["body_metrics"].to_pylist() if r["measured_at"] <= datetime(2019, 12, 26)
    }
    affected_cohort = {r["user_id"] for r in rows if r["health_metric"]}
    assert affected_cohort == cohort_all & {r["user_id"] for r in rows}
    assert affected_cohort, "the generated cloud has at least one beta tester"
    by_id = {o.id: o for o in result.obligations}
    assert "ftc_hbnr" in by_id
    ftc_users = {r["user_id"] for r in rows if r["obl_ftc_hbnr"]}
    assert ftc_users == {r["user_id"] for r in rows if r["health_metric"] and r["country"] == "US"}
    assert by_id["ftc_hbnr"].customers == len(ftc_users)
    assert all(r["health_metric"] or r["gender"] for r in rows if r["obl_ftc_hbnr"])
    # the general obligations follow location, not health
    assert by_id["gdpr_art33"].customers == sum(1 for r in rows if r["country"] in EEA)
    assert by_id["gdpr_art33"].deadline == "2019-12-29T00:00:00Z"


def test_cli_blast_radius_outputs(prod, stores, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    r = runner.invoke(
        cli,
        [
            "incident",
            "open",
            "--name",
            "leak",
            "--store",
            stores["copy_full"],
            "--from",
            "2019-12-04",
            "--to",
            "2019-12-26",
        ],
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        cli,
        [
            "incident",
            "blast-radius",
            "leak",
            "--source",
            stores["parquet"],
            "--format",
            "json",
            "-o",
            "affected.parquet",
        ],
    )
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["schema"] == "dataward.blast_radius/v1"
    assert set(data) >= {"incident", "window", "affected_customers", "by_field", "by_region", "obligations"}
    assert data["window"] == ["2019-12-04T00:00:00Z", "2019-12-26T00:00:00Z"]
    assert {o["id"] for o in data["obligations"]} >= {"gdpr_art33", "ca_1798_82", "ftc_hbnr"}
    table = pq.read_table("affected.parquet")
    assert table.num_rows == data["affected_customers"]
    emails = {r["email"] for r in prod["users"].to_pylist()}
    for path in [Path("affected.parquet")]:
        blob = path.read_bytes()
        assert not any(e.encode() in blob for e in list(emails)[:300])
    assert all(table.schema.field(f).type == "bool" for f in data["by_field"])
    r = runner.invoke(
        cli,
        [
            "incident",
            "blast-radius",
            "leak",
            "--source",
            stores["parquet"],
            "--format",
            "html",
            "--report",
            "br.html",
        ],
    )
    assert r.exit_code == 0, r.output
    html = Path("br.html").read_text()
    assert "Blast radius: leak" in html and "ftc_hbnr" in html
    r = runner.invoke(cli, ["incident", "blast-radius", "leak", "--source", stores["parquet"]])
    assert r.exit_code == 0 and "customers affected" in r.output


def test_cli_errors_are_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    r = runner.invoke(cli, ["incident", "blast-radius", "nope", "--source", "sqlite:///x.db"])
    assert r.exit_code == 2 and r.output.startswith("error: no incident named 'nope'")
    r = runner.invoke(
        cli, ["incident", "open", "--name", "a", "--store", "s", "--from", "yesterday", "--to", "2019-01-01"]
    )
    assert r.exit_code == 2 and "is not a time" in r.output
    r = runner.invoke(
        cli, ["incident", "open", "--name", "a", "--store", "s", "--from", "2019-02-01", "--to", "2019-01-01"]
    )
    assert r.exit_code == 2 and "ends" in r.output
    r = runner.invoke(
        cli, ["incident", "open", "--name", "a", "--store", "s", "--from", "2019-01-01", "--to", "2019-02-01"]
    )
    assert r.exit_code == 0
    r = runner.invoke(
        cli, ["incident", "open", "--name", "a", "--store", "s", "--from", "2019-01-01", "--to", "2019-02-01"]
    )
    assert r.exit_code == 2 and "already exists" in r.output


def test_window_from_history(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    history = {
        "schema": "dataward.history/v1",
        "windows": [
            {
                "store": "analytics-copy",
                "finding": "abc",
                "severity": "critical",
                "opened": "2019-11-01T00:00:00Z",
                "closed": "2019-11-02T00:00:00Z",
            },
            {
                "store": "analytics-copy",
                "finding": "def",
                "severity": "critical",
                "opened": "2019-12-04T08:10:00Z",
                "closed": "2019-12-26T17:45:00Z",
            },
            {
                "store": "other",
                "finding": "x",
                "severity": "high",
                "opened": "2019-12-20T00:00:00Z",
                "closed": None,
            },
        ],
    }
    Path("history.json").write_text(json.dumps(history))
    runner = CliRunner()
    r = runner.invoke(
        cli,
        [
            "incident",
            "open",
            "--name",
            "h",
            "--store",
            "analytics-copy",
            "--from-history",
            "--history",
            "history.json",
        ],
    )
    assert r.exit_code == 0, r.output
    with open_incident_db("dataward-incidents.db") as db:
        inc = db.get("h")
    assert inc.window == ("2019-12-04T08:10:00Z", "2019-12-26T17:45:00Z")
    assert inc.window_source.startswith("history:") and inc.finding == "def"
    r = runner.invoke(
        cli,
        [
            "incident",
            "open",
            "--name",
            "o",
            "--store",
            "other",
            "--from-history",
            "--history",
            "history.json",
        ],
    )
    assert r.exit_code == 2 and "still open" in r.output
    r = runner.invoke(
        cli,
        [
            "incident",
            "open",
            "--name",
            "o",
            "--store",
            "missing",
            "--from-history",
            "--history",
            "history.json",
        ],
    )
    assert r.exit_code == 2 and "no exposure window" in r.output


def test_window_from_watcher_store_windows(tmp_path):
    """The watcher's document also has per-store unions of overlapping finding windows: those are used."""
    doc = {
        "schema": "dataward.history/v1",
        "windows": [
            {
                "store": "copy",
                "finding": "a",
                "severity": "critical",
                "opened": "2019-12-04T00:00:00Z",
                "closed": "2019-12-20T00:00:00Z",
            },
            {
                "store": "copy",
                "finding": "b",
                "severity": "high",
                "opened": "2019-12-06T00:00:00Z",
                "closed": "2019-12-27T00:00:00Z",
            },
        ],
        "store_windows": [
            {
                "store": "copy",
                "opened": "2019-12-04T00:00:00Z",
                "closed": "2019-12-27T00:00:00Z",
                "findings": ["a", "b"],
            }
        ],
    }
    path = tmp_path / "history.json"
    path.write_text(json.dumps(doc))
    with open_incident_db(str(tmp_path / "inc.db")) as db:
        inc = ops.open_incident(db, "w", "copy", history=str(path))
    assert inc.window == ("2019-12-04T00:00:00Z", "2019-12-27T00:00:00Z") and inc.finding == "a,b"


def test_store_url_password_is_not_persisted(tmp_path):
    with open_incident_db(str(tmp_path / "inc.db")) as db:
        inc = ops.open_incident(db, "p", "postgresql://app:hunter2@10.0.0.5/copy", "2019-12-04", "2019-12-26")
    assert inc.store == "postgresql://app:***@10.0.0.5/copy"
    assert b"hunter2" not in (tmp_path / "inc.db").read_bytes()


def test_categories_limit_the_blast_radius(prod, stores, tmp_path, monkeypatch):
    """Issue 13 item 6: --categories counts only those categories (ids or tiers); an unknown id is an
    error with a suggestion, never 0 affected without a word."""
    classification = {
        "schema": "dataward.classification/v1",
        "objects": [
            {"object": "devices", "columns": [{"name": "wifi_ssid", "categories": [{"id": "wifi_ssid"}]}]},
            {"object": "users", "columns": [{"name": "email", "categories": [{"id": "email"}]}]},
        ],
    }
    path = tmp_path / "cls.json"
    path.write_text(json.dumps(classification))
    with open_incident_db(str(tmp_path / "inc.db")) as db:
        ops.open_incident(db, "leak", "analytics-copy", "2019-12-04", "2019-12-26")
        result = ops.run_blast_radius(
            db, "leak", stores["parquet"], classification=str(path), categories=frozenset({"email"})
        )
    expected = brute_force(prod, {"users": {"email": ("email",)}}, {}, datetime(2019, 12, 26))
    assert computed_flags(result.affected, result.fields) == expected
    assert set(result.fields) == {"email"}
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    args = ["incident", "blast-radius", "leak", "--db", "inc.db", "--source", stores["parquet"]]
    r = runner.invoke(cli, [*args, "--classification", str(path), "--categories", "identity", "--format", "json"])
    assert r.exit_code == 0, r.output
    assert set(json.loads(r.output)["by_field"]) == {"email"}  # wifi_ssid is device tier
    r = runner.invoke(cli, [*args, "--categories", " , "])
    assert r.exit_code == 2 and "--categories names no category" in r.output
    r = runner.invoke(cli, [*args, "--categories", "email,emial"])
    assert r.exit_code == 2
    assert r.output.strip().splitlines()[0] == (
        "error: --categories names 'emial', which is neither a category id nor a tier. Did you mean 'email'?"
    )


def test_tables_that_cannot_be_tied_to_customers_are_notes(prod, tmp_path):
    """What the engines share (dataward.incident.blast_radius.resolve_table): each way an exposed table or
    column cannot be tied to customers is one note, and the rest is still counted."""
    source, classification = notes_case(prod, tmp_path)
    with open_incident_db(str(tmp_path / "inc.db")) as db:
        ops.open_incident(db, "leak", "analytics-copy", "2019-12-04", "2019-12-26")
        result = ops.run_blast_radius(db, "leak", source, classification=str(classification))
    assert [n for n in result.notes if "assumed" not in n] == EXPECTED_NOTES
    assert result.fields == ("email", "health_metric", "wifi_ssid")
    assert result.by_field()["email"] > 100 and result.by_field()["health_metric"] == 0
