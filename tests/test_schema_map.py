"""The schema map: a copy of the reference cloud whose every table and column is renamed (and whose connection
kinds are stored as other values), read through its own ``[schema]`` map, gives the same answers as the
original; a role the map lacks is one sentence and exit 2, never an empty answer."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
import tomli_w
from click.testing import CliRunner
from incident_helpers import cloud_tables, every_other_user, exposed_copy, write_store

from dataward.analytics.metrics import compute
from dataward.cli import cli
from dataward.devicecloud.schema import TABLES, all_column_categories
from dataward.errors import DatawardError
from dataward.schemamap import SchemaMap, SchemaMapError, load_schema_map, parse_schema_map
from dataward.targets import parse_target
from dataward.testing.receivers import SmtpReceiver

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
        if name == "connection_events" and "kind" in table.column_names:
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


def test_reference_map_names_only_tables_and_columns_of_the_reference_cloud() -> None:
    for name, role in SchemaMap.reference().roles().items():
        columns = TABLES_COLUMNS[role.table]
        named = [role.column(c) for c in role.columns if role.column(c)] + list(role.categories)
        assert set(named) <= set(columns), name


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
    with pytest.raises(ValueError):  # a misspelt part in dataward's own code is a bug, not a user's error
        SchemaMap.reference().require("customer", "emial")


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


# incident: blast radius, respond, notify ---------------------------------------------------------------

COPY = {
    "users": ["id", "email", "username", "country", "created_at"],
    "devices": ["id", "user_id", "nickname", "wifi_ssid", "model"],
    "api_tokens": ["id", "user_id", "access_token", "refresh_token"],
    "integrations": ["id", "user_id", "provider", "access_token", "refresh_token"],
    "body_metrics": ["id", "user_id", "weight_kg", "gender"],
    "connection_events": ["id", "device_id", "kind"],
}
PLAYBOOK = """
[response]
database = "{db}"
batch = 100

[[step]]
action = "revoke_tokens"

[[step]]
action = "unlink_integrations"

[[step]]
action = "force_logout"

[[step]]
action = "password_reset"
"""
DEVICES_STEP = """
[[step]]
action = "device_command"
broker = "mqtt://127.0.0.1:9"
topic = "devices/{device_id}/cmd"
"""


@pytest.fixture(scope="module")
def exposed(clouds: dict[str, Any]) -> dict[str, str]:
    """The leaked copy (some columns, even customers only), with and without the renaming."""
    root, prod = clouds["root"], clouds["prod"]
    copy = exposed_copy(prod, COPY, every_other_user)
    return {
        "original": write_store(f"duckdb:///{root}/copy.duckdb", copy),
        "renamed": write_store(f"sqlite:///{root}/copy_renamed.db", renamed(copy)),
        "original_db": write_store(f"sqlite:///{root}/original.db", prod),
        "renamed_db": write_store(f"sqlite:///{root}/renamed.db", renamed(prod)),
    }


def _invoke(*args: str) -> Any:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result


def _incident(tmp: Path, copy: str, source: str, *config: str) -> dict[str, Any]:
    """Open an incident on ``copy`` and compute its blast radius over ``source`` with the CLI; its JSON."""
    db = str(tmp / "inc.db")
    _invoke(
        "incident",
        "open",
        "--name",
        "leak",
        "--store",
        copy,
        "--from",
        "2019-12-04",
        "--to",
        "2019-12-26",
        "--db",
        db,
    )
    out = _invoke(
        "incident", "blast-radius", "leak", "--source", source, "--format", "json", "--db", db, *config
    )
    return json.loads(out.stdout) | {"db": db}


def _renamed_back(exposure: dict[str, Any]) -> dict[str, Any]:
    """A renamed exposure's tables and columns under their original names."""
    tables = {v: k for k, v in TABLE_NAMES.items()}
    out = []
    for t in exposure["tables"]:
        name = tables[t["table"]]
        columns = {c: column_name(name, c) for c in TABLES_COLUMNS[name]}
        back = {v: k for k, v in columns.items()}
        out.append(t | {"table": name, "columns": {back[c]: v for c, v in t["columns"].items()}})
        out[-1]["matched_by"] = back.get(t["matched_by"], t["matched_by"])
    return exposure | {"tables": sorted(out, key=lambda t: t["table"])}


TABLES_COLUMNS = {t: [c.name for c in cols] for t, cols in TABLES.items()}


def test_blast_radius_on_the_renamed_copy_equals_the_original(
    clouds: dict[str, Any], exposed: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    want = _incident(tmp_path / "a", exposed["original"], clouds["original"])
    got = _incident(tmp_path / "b", exposed["renamed"], clouds["renamed"], "--config", clouds["config"])
    assert want["affected_customers"] > 100 and set(want["by_field"]) >= {
        "email",
        "alexa_token",
        "health_metric",
    }
    for key in ("affected_customers", "by_field", "by_region", "by_country", "obligations", "window"):
        assert got[key] == want[key], key
    assert _renamed_back(got["exposure"]) == want["exposure"] | {
        "tables": sorted(want["exposure"]["tables"], key=lambda t: t["table"])
    }


def test_respond_on_the_renamed_copy_changes_the_same_rows(
    clouds: dict[str, Any], exposed: dict[str, str], tmp_path: Path
) -> None:
    results = {}
    for kind, config in (("original", ()), ("renamed", ("--config", clouds["config"]))):
        folder = tmp_path / kind
        folder.mkdir()
        db_file = folder / "prod.db"
        shutil.copy(parse_target(exposed[f"{kind}_db"]).path, db_file)
        prod_url = f"sqlite:///{db_file}"
        incident = _incident(folder, exposed[kind], prod_url, *config)
        (folder / "playbook.toml").write_text(PLAYBOOK.format(db=prod_url))
        respond = [
            "incident",
            "respond",
            "leak",
            "--playbook",
            str(folder / "playbook.toml"),
            "--db",
            incident["db"],
        ]
        respond += ["--audit-log", str(folder / "audit.jsonl"), "--format", "json", *config]
        (folder / "devices.toml").write_text(PLAYBOOK.format(db=prod_url) + DEVICES_STEP)
        devices = [*respond[:3], "--playbook", str(folder / "devices.toml"), *respond[5:]]
        dry = json.loads(_invoke(*devices, "--dry-run").stdout)  # device commands previewed, not sent
        done = json.loads(_invoke(*respond).stdout)
        results[kind] = {
            "dry": [(s["action"], s["counts"], s["samples"]) for s in dry["steps"]],
            "done": [(s["action"], s["counts"]) for s in done["steps"]],
            "rows": _changed_rows(str(db_file), kind),
        }
    want, got = results["original"], results["renamed"]
    assert dict(want["done"])["revoke_tokens"]["tokens"] > 0 and dict(want["done"])["unlink_integrations"]
    assert want["dry"][-1][0] == "device_command" and want["dry"][-1][1]["devices"] > 0
    assert got == want


def _changed_rows(path: str, kind: str) -> dict[str, Any]:
    """Revoked tokens, unlinked integrations and the account flags, by id, under either naming."""
    con = sqlite3.connect(path)

    def ids(table: str, column: str) -> list[int]:
        t, c, i = (TABLE_NAMES[table], column_name(table, column), column_name(table, "id"))
        if kind == "original":
            t, c, i = table, column, "id"
        sql = f'SELECT "{i}" FROM "{t}" WHERE "{c}" IS NOT NULL ORDER BY 1'
        return [r[0] for r in con.execute(sql)]

    found = {
        "revoked": ids("api_tokens", "revoked_at"),
        "unlinked": ids("integrations", "unlinked_at"),
        "flags": con.execute(
            "SELECT user_id, force_logout_at IS NOT NULL, password_reset_required, relink_providers"
            " FROM dataward_account_flags ORDER BY user_id"
        ).fetchall(),
    }
    con.close()
    return found


def test_notify_on_the_renamed_copy_sends_the_same_notices(
    clouds: dict[str, Any], exposed: dict[str, str], tmp_path: Path
) -> None:
    sent = {}
    for kind, config in (("original", ()), ("renamed", ("--config", clouds["config"]))):
        folder = tmp_path / kind
        folder.mkdir()
        source = clouds[kind]
        incident = _incident(folder, exposed[kind], source, *config)
        with SmtpReceiver() as smtp:
            _invoke(
                "incident", "notify", "leak", "--smtp", f"smtp://127.0.0.1:{smtp.port}", "--db", incident["db"],
                "--audit-log", str(folder / "audit.jsonl"), *config,
            )  # fmt: skip
            sent[kind] = {str(m["To"]): _listed_fields(m) for m in smtp.messages}
    assert len(sent["original"]) > 100
    assert any("Body measurements" in fields for fields in sent["original"].values())
    assert sent["renamed"] == sent["original"]


def _listed_fields(msg: Any) -> list[str]:
    """The exposed-field lines of a notice's text part (and whether it has the health paragraph)."""
    text = (
        next(p for p in msg.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
    )
    lines = [line for line in text.splitlines() if line.startswith("  - ")]
    return lines + (["Body measurements"] if "Body measurements" in text else [])


@pytest.mark.parametrize(
    "command, missing, by",
    [
        (("incident", "blast-radius", "leak", "--source", "{renamed}"), "customer", "blast radius"),
        (("incident", "notify", "leak", "--smtp", "smtp://127.0.0.1:9"), "customer", "notify"),
        (("analytics", "--from", "{renamed}"), "customer", "analytics"),
    ],
)
def test_a_missing_role_is_one_sentence_and_exit_2(
    clouds: dict[str, Any],
    exposed: dict[str, str],
    tmp_path: Path,
    command: tuple[str, ...],
    missing: str,
    by: str,
) -> None:
    section = renamed_map_section()
    del section[missing]
    config = tmp_path / "partial.toml"
    config.write_text(tomli_w.dumps({"schema": section}))
    db = _incident(tmp_path, exposed["renamed"], clouds["renamed"], "--config", clouds["config"])["db"]
    args = [a.format(renamed=clouds["renamed"]) for a in command]
    if args[0] == "incident":
        args += ["--db", db]
    result = CliRunner().invoke(cli, [*args, "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines()[0] == (
        f"error: the schema map in {config.name} has no '{missing}' role, which {by} needs."
    )
    assert f"[schema.{missing}]" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize("role, step", [("token", "revoke_tokens"), ("integration", "unlink_integrations")])
def test_respond_with_a_map_lacking_a_role_changes_nothing(
    clouds: dict[str, Any], exposed: dict[str, str], tmp_path: Path, role: str, step: str
) -> None:
    """Every step is checked before the first one runs: a role the second step lacks stops the first too."""
    db_file = tmp_path / "prod.db"
    shutil.copy(parse_target(exposed["renamed_db"]).path, db_file)
    prod_url = f"sqlite:///{db_file}"
    incident = _incident(tmp_path, exposed["renamed"], prod_url, "--config", clouds["config"])
    section = renamed_map_section()
    del section[role]
    config = tmp_path / "partial.toml"
    config.write_text(tomli_w.dumps({"schema": section}))
    (tmp_path / "playbook.toml").write_text(PLAYBOOK.format(db=prod_url))
    con = sqlite3.connect(db_file)
    before = con.execute('SELECT count(*) FROM "oauth grants" WHERE "oau_revoked_at" IS NOT NULL').fetchone()
    con.close()
    result = CliRunner().invoke(
        cli,
        ["incident", "respond", "leak", "--playbook", str(tmp_path / "playbook.toml"), "--db", incident["db"],
         "--audit-log", str(tmp_path / "audit.jsonl"), "--config", str(config)],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines()[0] == (
        f"error: the schema map in partial.toml has no '{role}' role, which the respond step '{step}' needs."
    )
    con = sqlite3.connect(db_file)
    revoked = con.execute('SELECT count(*) FROM "oauth grants" WHERE "oau_revoked_at" IS NOT NULL').fetchone()
    has_flags = con.execute(
        "SELECT count(*) FROM sqlite_master WHERE name = 'dataward_account_flags'"
    ).fetchone()
    con.close()
    assert revoked == before and has_flags == (0,), "nothing ran"
