"""Copy plans: the safe default of every category, shapes without a category, and the TOML round trip."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pyarrow as pa
import pytest

from dataward.categories import CATEGORIES
from dataward.copy.plan import Classified, build_plan, default_action, dump_plan, load_plan, parse_plan
from dataward.errors import ConfigError

S, F, I64, TS = pa.string(), pa.float64(), pa.int64(), pa.timestamp("us")

# category -> (action, expected parameters); one row per category id of DESIGN.md
DEFAULTS: dict[str, tuple[str, dict[str, object]]] = {
    "password_hash": ("drop", {}),
    "password": ("drop", {}),
    "api_token": ("drop", {}),
    "oauth_refresh_token": ("drop", {}),
    "alexa_token": ("drop", {}),
    "secret_key": ("drop", {}),
    "health_metric": ("drop", {}),
    "gender": ("drop", {}),
    "email": ("pseudonymize", {"domain": "email"}),
    "person_name": ("drop", {}),
    "username": ("drop", {}),
    "phone": ("drop", {}),
    "postal_address": ("drop", {}),
    "date_of_birth": ("generalize", {"to": "year", "qi": True}),
    "photo_url": ("drop", {}),
    "gov_id": ("drop", {}),
    "payment_card": ("drop", {}),
    "wifi_ssid": ("drop", {}),
    "device_nickname": ("drop", {}),
    "mac_address": ("drop", {}),
    "ip_address": ("generalize", {"to": "ip/24", "qi": True}),
    "geo": ("keep", {"qi": True}),
    "device_model": ("keep", {}),
    "firmware_version": ("generalize", {"to": "major.minor"}),
}


def test_every_category_has_a_default_row() -> None:
    assert set(DEFAULTS) == set(CATEGORIES)


@pytest.mark.parametrize("category", sorted(DEFAULTS))
def test_default_action_per_category(category: str) -> None:
    action, params = DEFAULTS[category]
    plan = default_action("t", "c7", S, Classified(category, 0.91))
    assert plan.action == action
    for key, value in params.items():
        assert getattr(plan, key) == value
    assert plan.category == category and plan.confidence == 0.91
    assert category in plan.why  # the reviewer sees why


def test_numeric_geo_is_bucketed() -> None:
    plan = default_action("t", "lat", F, Classified("geo", 0.9))
    assert (plan.action, plan.bucket, plan.qi) == ("generalize", 1.0, True)


@pytest.mark.parametrize(
    "table, column, dtype, action, extra",
    [
        ("users", "id", I64, "pseudonymize", {"domain": "users"}),
        ("devices", "user_id", I64, "pseudonymize", {"domain": "users"}),
        ("connection_events", "device_id", I64, "pseudonymize", {"domain": "devices"}),
        ("orders", "category_id", I64, "pseudonymize", {"domain": "categories"}),
        ("devices", "activated_at", TS, "generalize", {"to": "day"}),
        ("users", "region", S, "keep", {"qi": True}),
        ("connection_events", "kind", S, "keep", {"qi": False}),
        ("connection_events", "rssi", I64, "keep", {}),
        ("users", "password_hash", S, "drop", {}),  # the classifier missed it: the name still says credential
        ("integrations", "refresh_token", S, "drop", {}),
        ("users", "full_name", S, "drop", {}),
        ("t", "c7", S, "keep", {}),
    ],
)
def test_defaults_without_a_category(table: str, column: str, dtype: pa.DataType, action: str, extra: dict) -> None:
    tables = ("users", "devices", "connection_events", "orders", "categories")
    plan = default_action(table, column, dtype, Classified(), tables)
    assert plan.action == action
    for key, value in extra.items():
        assert getattr(plan, key) == value


def _schemas() -> dict[str, pa.Schema]:
    return {
        "users": pa.schema([("id", I64), ("email", S), ("created_at", TS), ("password_hash", S)]),
        "devices": pa.schema([("id", I64), ("user_id", I64), ("model", S)]),
    }


def test_plan_maps_every_column_and_round_trips(tmp_path: Path) -> None:
    found = {"users": {"email": Classified("email", 0.99), "password_hash": Classified("password_hash", 1.0)}}
    plan = build_plan(_schemas(), found, "sqlite:///prod.db")
    assert {t: list(p.columns) for t, p in plan.tables.items()} == {t: s.names for t, s in _schemas().items()}
    path = tmp_path / "plan.toml"
    path.write_text(dump_plan(plan))
    again = load_plan(path)
    assert again.digest == plan.digest
    assert again.tables["users"].columns["password_hash"].action == "drop"


def test_digest_ignores_comments_but_not_actions() -> None:
    plan = build_plan(_schemas(), {}, "x")
    data = tomllib.loads(dump_plan(plan))
    data["tables"]["devices"]["columns"]["model"]["why"] = "edited by a reviewer"
    assert parse_plan(data).digest == plan.digest
    data["tables"]["devices"]["columns"]["model"]["action"] = "drop"
    assert parse_plan(data).digest != plan.digest


@pytest.mark.parametrize(
    "column, message",
    [
        ({"action": "pseudonymise", "domain": "users"}, "Did you mean 'pseudonymize'?"),
        ({"action": "keep", "colour": "red"}, "unknown key 'colour'"),
        ({"action": "generalize"}, "generalize needs exactly one of"),
        ({"action": "pseudonymize"}, "pseudonymize needs a domain"),
    ],
)
def test_bad_plans_are_one_sentence_errors(column: dict, message: str) -> None:
    data = {"schema": "dataward.copy-plan/v1", "tables": {"users": {"columns": {"id": column}}}}
    with pytest.raises(ConfigError, match="users.id") as err:
        parse_plan(data, "plan.toml")
    assert message in err.value.message


def test_plan_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("tables = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_plan(bad)
    with pytest.raises(ConfigError, match="cannot be read"):
        load_plan(tmp_path / "missing.toml")


def test_row_ids_nothing_references_are_dropped_referenced_ones_pseudonymized() -> None:
    schemas = {
        "users": pa.schema([("id", I64), ("created_at", TS)]),
        "devices": pa.schema([("id", I64), ("user_id", I64)]),
        "connection_events": pa.schema([("id", I64), ("device_id", I64)]),
    }
    plan = build_plan(schemas, {}, "x")
    assert plan.tables["users"].columns["id"].action == "pseudonymize"
    assert plan.tables["devices"].columns["id"].action == "pseudonymize"
    assert plan.tables["connection_events"].columns["id"].action == "drop"
    assert plan.tables["connection_events"].columns["device_id"].domain == "devices"


def test_free_text_with_embedded_identity_is_dropped_by_default(tmp_path: Path) -> None:
    """Issue 13 item 7: a notes column with a name and a phone inside free text is not copied raw; the
    reviewer may still keep it by editing the plan."""
    from dataward.copy.plan import make_plan
    from dataward.tables import open_tables
    from dataward.targets import parse_target

    notes = ["Call Emma Johnson on +1 415 555 0001", "left the parcel at the door", "ticket closed", None]
    blobs = ['{"note": "ring Emma Johnson before delivery"}', '{"note": "fragile"}', '{"note": "ok"}', None]
    table = pa.table({"id": pa.array([1, 2, 3, 4], I64), "notes": notes, "payload": blobs,
                      "status": ["open", "closed", "open", "closed"]})
    target = parse_target(f"sqlite:///{tmp_path}/prod.db")
    with open_tables(target, create=True) as store:
        store.write_table("tickets", table.schema, table.to_batches())
    plan = make_plan(target, rows=100)
    cols = plan.tables["tickets"].columns
    assert cols["notes"].action == "drop" and "free text" in cols["notes"].why
    assert "person_name" in cols["notes"].why and "phone" in cols["notes"].why
    assert cols["payload"].action == "drop" and "free text" in cols["payload"].why
    assert cols["status"].action == "keep"
    kept = default_action("tickets", "notes", S, Classified(free_text=("phone",)))
    assert kept.action == "drop" and kept.category is None
    edited = parse_plan({"tables": {"tickets": {"columns": {"notes": {"action": "keep", "why": "reviewed"}}}}})
    assert edited.tables["tickets"].columns["notes"].action == "keep"  # the user can override
