"""The schema map: a copy of the reference cloud whose every table and column is renamed (and whose connection
kinds are stored as other values), read through its own ``[schema]`` map, gives the same answers as the
original; a role the map lacks is one sentence and exit 2, never an empty answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
import tomli_w
from click.testing import CliRunner
from incident_helpers import cloud_tables, write_store

from dataward.analytics.metrics import compute
from dataward.cli import cli
from dataward.devicecloud.schema import TABLES, all_column_categories
from dataward.errors import DatawardError
from dataward.schemamap import SchemaMap, SchemaMapError, load_schema_map, parse_schema_map
from dataward.targets import parse_target

USERS = 1500
SEED = 3
# Names a real company might use, with spaces, capitals and punctuation that only identifier quoting survives.
TABLE_NAMES = {
    "users": "Customer Accounts",
    "devices": "hw.units",
    "connection_events": "unit_telemetry",
    "api_tokens": "oauth grants",
    "integrations": "LinkedApps",
    "body_metrics": "scale-readings",
}
KIND_VALUES = {"connect": "ok", "disconnect": "bye", "failure": "err"}


def column_name(table: str, column: str) -> str:
    special = {
        ("users", "email"): 'E-Mail "primary"',
        ("users", "id"): "Kunden ID",
        ("devices", "user_id"): "owner.ref",
    }
    return special.get((table, column), f"{TABLE_NAMES[table][:3].lower()}_{column}")


def renamed(tables: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """Every table and column renamed (Arrow), and connection kinds stored as other values."""
    out = {}
    for name, table in tables.items():
        if name == "connection_events":
            kinds = table["kind"]
            for canonical, stored in KIND_VALUES.items():
                kinds = pc.replace_substring_regex(kinds, f"^{canonical}$", stored)
            table = table.set_column(table.schema.get_field_index("kind"), "kind", kinds)
        out[TABLE_NAMES[name]] = table.rename_columns([column_name(name, c) for c in table.column_names])
    return out


def renamed_map_section() -> dict[str, Any]:
    """The reference map with every table and column renamed as :func:`renamed` does."""
    section: dict[str, Any] = {}
    for role_name, role in SchemaMap.reference().roles().items():
        t = role.table
        spec: dict[str, Any] = {"table": TABLE_NAMES[t]}
        spec |= {c: column_name(t, role.column(c)) for c in role.columns if role.column(c)}
        spec["categories"] = {column_name(t, c): list(v) for c, v in role.categories.items()}
        if role_name == "connection_event":
            spec["kinds"] = KIND_VALUES
        section[role_name] = spec
    return section


@pytest.fixture(scope="module")
def clouds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("schema_map")
    prod = cloud_tables(USERS, SEED)
    config = root / "dataward.toml"
    config.write_text(tomli_w.dumps({"schema": renamed_map_section()}))
    return {
        "root": root,
        "prod": prod,
        "original": write_store(f"duckdb:///{root}/original.duckdb", prod),
        "renamed": write_store(f"duckdb:///{root}/renamed.duckdb", renamed(prod)),
        "config": str(config),
    }


def test_reference_map_declares_the_reference_schemas_categories() -> None:
    """The shipped map's categories are the ones blast radius used to read from the generator's schema."""
    schema = SchemaMap.reference()
    for table, columns in all_column_categories().items():
        for column, cats in columns.items():
            want = tuple(cats[:2]) if "alexa_token" in cats else tuple(cats[:1])
            assert schema.categories_of(table, column) == want, (table, column)
    assert {r.table for r in schema.roles().values()} == set(TABLES)


def test_a_file_holding_only_schema_loads(clouds: dict[str, Any]) -> None:
    schema = load_schema_map(clouds["config"])
    assert schema.require("customer", "email") == ("Customer Accounts", 'E-Mail "primary"')
    assert schema.connection_event is not None and schema.connection_event.kind_value("failure") == "err"


@pytest.mark.parametrize(
    "section, message",
    [
        ({"custmer": {"table": "u"}}, "unknown key 'custmer'. Did you mean 'customer'?"),
        ({"customer": {"table": "u", "emial": "e"}}, "unknown key 'emial'. Did you mean 'email'?"),
        ({"customer": {"id": "u"}}, "[schema.customer] is missing the key 'table'"),
        (
            {"connection_event": {"table": "e", "kinds": {"conect": "ok"}}},
            "'conect' is not a connection kind",
        ),
    ],
)
def test_a_misspelt_map_is_one_sentence(section: dict[str, Any], message: str) -> None:
    with pytest.raises(SchemaMapError) as exc:
        parse_schema_map(section)
    assert message in exc.value.message and "\n" not in exc.value.message


def test_missing_role_and_column_name_themselves() -> None:
    with pytest.raises(SchemaMapError) as exc:
        SchemaMap().table("connection_event", by="analytics")
    assert exc.value.message == "the schema map has no 'connection_event' role, which analytics needs"
    assert "[schema.connection_event]" in (exc.value.tip or "")
    with pytest.raises(SchemaMapError) as exc:
        parse_schema_map({"customer": {"table": "people"}}).require("customer", "email", by="notify")
    assert (
        exc.value.message == "the schema map has no 'email' column in its 'customer' role, which notify needs"
    )


# analytics ----------------------------------------------------------------------------------------------


def test_analytics_on_the_renamed_copy_equals_the_original(clouds: dict[str, Any]) -> None:
    original = compute(parse_target(clouds["original"])).to_json()
    got = compute(parse_target(clouds["renamed"]), load_schema_map(clouds["config"])).to_json()
    assert original["connectivity_by_model"] and original["users_by_month"]
    assert {k: v for k, v in got.items() if k != "source"} == {
        k: v for k, v in original.items() if k != "source"
    }


def test_analytics_cli_reads_the_map_from_config(clouds: dict[str, Any]) -> None:
    runner = CliRunner()
    want = runner.invoke(cli, ["analytics", "--from", clouds["original"], "--format", "json"])
    got = runner.invoke(
        cli, ["analytics", "--from", clouds["renamed"], "--config", clouds["config"], "--format", "json"]
    )
    assert want.exit_code == 0 and got.exit_code == 0, got.output
    assert json.loads(got.stdout) | {"source": ""} == json.loads(want.stdout) | {"source": ""}


def test_analytics_on_another_schema_without_a_map_is_an_error(clouds: dict[str, Any]) -> None:
    """It used to print empty tables and exit 0."""
    result = CliRunner().invoke(cli, ["analytics", "--from", clouds["renamed"], "--format", "json"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and result.stdout == ""
    assert "--config" in result.stderr


def test_analytics_with_a_map_lacking_a_role_is_exit_2(clouds: dict[str, Any], tmp_path: Path) -> None:
    section = renamed_map_section()
    del section["connection_event"]
    config = tmp_path / "partial.toml"
    config.write_text(tomli_w.dumps({"schema": section}))
    result = CliRunner().invoke(cli, ["analytics", "--from", clouds["renamed"], "--config", str(config)])
    assert result.exit_code == 2 and result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert (
        first
        == f"error: the schema map in {config.name} has no 'connection_event' role, which analytics needs."
    )
    assert "[schema.connection_event]" in result.stderr


def test_a_config_without_schema_section_lacks_every_role(clouds: dict[str, Any], tmp_path: Path) -> None:
    config = tmp_path / "policy-only.toml"
    config.write_text('[[store]]\nname = "x"\nurl = "sqlite:///x.db"\n')
    with pytest.raises(DatawardError, match="has no 'connection_event' role"):
        compute(parse_target(clouds["renamed"]), load_schema_map(config))
