"""A copy plan: every column of every source table mapped to one action, with the reason for it.

``make_plan`` inspects the source schema, classifies a bounded sample of it (``dataward.classify``) and picks
the safe default per category (``default_action``); ``dump_plan`` / ``load_plan`` round-trip it as TOML that a
person reviews and edits before ``dataward copy run``. A plan is data: the copy refuses to run when it and the
source disagree on a single column (``run.check_plan``).
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import tomli_w
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from dataward.categories import CATEGORY_TIERS, Tier
from dataward.copy.source import Classified, classify_source, source_schemas
from dataward.errors import ConfigError
from dataward.findings import utc_now
from dataward.suggest import did_you_mean
from dataward.targets import Target

PLAN_SCHEMA = "dataward.copy-plan/v1"
Action = Literal["keep", "drop", "pseudonymize", "generalize", "suppress"]
ACTIONS: tuple[str, ...] = ("keep", "drop", "pseudonymize", "generalize", "suppress")
_GEO_NAMES = re.compile(r"^(country|region|state|province|city|zip|zipcode|postcode|postal_code)$", re.I)
_ID_NAME = re.compile(r"^(id|.+_id)$", re.I)
# Defence in depth when the classifier found nothing: names that say credential or identity are dropped.
_RISKY_NAME = re.compile(
    r"(pass(word)?|passwd|pwd|secret|token|api_?key|private_?key|hash|salt|otp|session|cookie|"
    r"e_?mail|phone|mobile|full_?name|first_?name|last_?name|surname|username|address|street|ssn|"
    r"passport|birth|dob|ssid|nickname|mac(_?addr)?$|photo|avatar|card|iban|gender|weight|height|"
    r"bone|body_?fat|protein)",
    re.I,
)


class ColumnPlan(BaseModel):
    """What happens to one column. ``why`` is for the reviewer; only the action and its parameters run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Action
    why: str = ""
    category: str | None = None
    confidence: float | None = None
    domain: str | None = None  # pseudonymize: columns of one domain share pseudonyms (join keys)
    to: str | None = None  # generalize: day | month | year | hour | ip/24 | ip/16 | major.minor | major
    bucket: float | None = None  # generalize numbers into buckets of this width
    qi: bool = False  # a quasi-identifier: counted in the table's k-anonymity check

    @model_validator(mode="after")
    def _parameters_fit_action(self) -> ColumnPlan:
        if self.action == "pseudonymize" and not self.domain:
            raise ValueError("pseudonymize needs a domain (e.g. domain = \"users\")")
        if self.action == "generalize" and (self.to is None) == (self.bucket is None):
            raise ValueError("generalize needs exactly one of to = \"day\"|\"month\"|\"ip/24\"|\"major.minor\"|... or bucket = N")
        return self


class TablePlan(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: dict[str, ColumnPlan]


class Plan(BaseModel):
    """The whole plan; ``digest`` covers only what changes the output (actions and parameters)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_: str = PLAN_SCHEMA
    source: str = ""  # redacted display URL of the source it was planned from
    created_at: str = ""
    tables: dict[str, TablePlan]

    @property
    def digest(self) -> str:
        effective = {
            t: {c: p.model_dump(exclude={"why", "category", "confidence"}) for c, p in tp.columns.items()}
            for t, tp in self.tables.items()
        }
        return hashlib.sha256(json.dumps(effective, sort_keys=True).encode()).hexdigest()

    def pseudonymizes(self) -> bool:
        return any(c.action == "pseudonymize" for t in self.tables.values() for c in t.columns.values())


def default_action(
    table: str,
    column: str,
    dtype: pa.DataType,
    found: Classified,
    tables: Iterable[str] = (),
    referenced: frozenset[str] | None = None,
) -> ColumnPlan:
    """The safe default for one column: decided by its category first, then by its name and type.

    ``referenced`` are the tables some ``*_id`` column points at (None: treat every table as referenced).
    """
    if found.free_text:
        return _free_text(found)
    if found.category is not None:
        return _by_category(column, dtype, found)
    return _by_shape(table, column, dtype, tuple(tables), referenced)


_DROP_CATEGORIES = frozenset(
    {
        "person_name", "username", "phone", "postal_address", "photo_url", "gov_id", "payment_card",
        "wifi_ssid", "device_nickname", "mac_address",
    }
)  # fmt: skip


def _free_text(found: Classified) -> ColumnPlan:
    """Free text with identity, credential or other sensitive values inside it (a note naming a customer and
    a phone): no transform of a whole note keeps it useful and safe, so it is dropped unless a person who
    read it decides otherwise (action = "keep" or "suppress" in the plan)."""
    inside = ", ".join(found.free_text)
    why = f"free text with {inside} inside it: dropped (review the column; keep or suppress it by editing this plan)"
    return ColumnPlan(action="drop", why=why, category=found.category, confidence=found.confidence)


def _by_category(column: str, dtype: pa.DataType, found: Classified) -> ColumnPlan:
    cat = found.category or ""
    tier = CATEGORY_TIERS.get(cat)
    label = f"{cat} ({tier.value} tier)" if tier else cat

    def plan(action: Action, why: str, **params: Any) -> ColumnPlan:
        return ColumnPlan(action=action, why=f"{label}: {why}", category=cat, confidence=found.confidence, **params)

    if tier is Tier.CREDENTIAL:
        return plan("drop", "credentials never leave production")
    if tier is Tier.HEALTH:
        return plan("drop", "special-category data; to copy it, generalise it (bucket) and mark it qi for k-anonymity")
    if cat == "email":
        return plan("pseudonymize", "analytics may join on it; keyed HMAC-SHA-256 pseudonym", domain="email")
    if cat == "date_of_birth":
        return plan("generalize", "year only, k-anonymous", to="year", qi=True)
    if cat == "ip_address":
        return plan("generalize", "network /24 only, k-anonymous", to="ip/24", qi=True)
    if cat == "geo" and _numeric(dtype):
        return plan("generalize", "1-degree cells, k-anonymous", bucket=1.0, qi=True)
    if cat == "geo":
        return plan("keep", "coarse place name, k-anonymous", qi=True)
    if cat == "firmware_version":
        return plan("generalize", "release line (major.minor) only", to="major.minor")
    if cat == "device_model":
        return plan("keep", "needed for the product questions")
    if cat in _DROP_CATEGORIES:
        return plan("drop", "identifies a person or a home")
    return plan("drop", "no safe transform is known for this category")


def _by_shape(
    table: str, column: str, dtype: pa.DataType, tables: tuple[str, ...], referenced: frozenset[str] | None
) -> ColumnPlan:
    if _ID_NAME.match(column) and (pa.types.is_integer(dtype) or _stringy(dtype)):
        domain = _id_domain(table, column, tables)
        if column.lower() == "id" and referenced is not None and table not in referenced:
            why = "row id no other table references: not needed for joins (pseudonymize it to keep row identity)"
            return ColumnPlan(action="drop", why=why, confidence=1.0)
        why = f"join key ({domain}): keyed HMAC-SHA-256, the same pseudonym in every table"
        return ColumnPlan(action="pseudonymize", domain=domain, why=why, confidence=1.0)
    if pa.types.is_timestamp(dtype) or pa.types.is_date(dtype):
        return ColumnPlan(action="generalize", to="day", why="timestamp: day precision is enough for analytics")
    if _RISKY_NAME.search(column):
        why = "no category found in the sample, but the name suggests credential, identity or health data"
        return ColumnPlan(action="drop", why=why)
    if _GEO_NAMES.match(column):
        return ColumnPlan(action="keep", qi=True, why="place: kept for analytics, k-anonymous")
    return ColumnPlan(action="keep", why="no sensitive category found")


def _id_domain(table: str, column: str, tables: tuple[str, ...]) -> str:
    """``users.id`` and ``devices.user_id`` share the domain ``users`` so foreign keys still join."""
    if column.lower() == "id":
        return table
    stem = column[:-3]
    for candidate in (stem, stem + "s", stem + "es", stem[:-1] + "ies" if stem.endswith("y") else stem):
        if candidate in tables:
            return candidate
    return stem


def _numeric(dtype: pa.DataType) -> bool:
    return pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype)


def _stringy(dtype: pa.DataType) -> bool:
    return pa.types.is_string(dtype) or pa.types.is_large_string(dtype)


def build_plan(
    schemas: Mapping[str, pa.Schema], classified: Mapping[str, Mapping[str, Classified]], source: str
) -> Plan:
    """A plan for these tables from what classification found (columns not found: by name and type)."""
    names = tuple(schemas)
    referenced = frozenset(
        _id_domain(t, f.name, names) for t, schema in schemas.items() for f in schema
        if f.name.lower() != "id" and _ID_NAME.match(f.name)
    )  # fmt: skip
    tables = {}
    for table, schema in schemas.items():
        found = classified.get(table, {})
        cols = {
            f.name: default_action(table, f.name, f.type, found.get(f.name, Classified()), names, referenced)
            for f in schema
        }
        tables[table] = TablePlan(columns=cols)
    return Plan(source=source, created_at=utc_now(), tables=tables)


def make_plan(target: Target, rows: int = 2000) -> Plan:
    """Inspect and classify the source, then plan every column of every table (the manifest table excluded)."""
    schemas = source_schemas(target)
    return build_plan(schemas, classify_source(target, rows), target.display)


def dump_plan(plan: Plan) -> str:
    """TOML a person can review: one ``[tables.T.columns.C]`` block per column, in source order."""
    header = (
        "# dataward copy plan: every column of every table has an action.\n"
        "# actions: keep | drop | pseudonymize (domain) | generalize (to | bucket) | suppress; qi = k-anonymity.\n"
        "# Review it, then: dataward copy run --from SOURCE --to DEST --plan THIS_FILE\n"
    )
    data: dict[str, Any] = {"schema": plan.schema_, "source": plan.source, "created_at": plan.created_at}
    data["tables"] = {
        t: {"columns": {c: p.model_dump(exclude_none=True, exclude_defaults=False) for c, p in tp.columns.items()}}
        for t, tp in plan.tables.items()
    }
    for tp in data["tables"].values():
        for col in tp["columns"].values():
            if not col.get("qi"):
                col.pop("qi", None)
            if not col.get("why"):
                col.pop("why", None)
    return header + tomli_w.dumps(data)


def load_plan(path: str | Path) -> Plan:
    """Read and validate a plan file; every problem is one sentence naming the table and column."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text())
    except OSError as exc:
        raise ConfigError(f"the plan {p} cannot be read ({exc.strerror})") from exc
    except UnicodeDecodeError:
        raise ConfigError(f"the plan {p} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the plan {p} is not valid TOML ({exc})") from exc
    return parse_plan(data, str(p))


def parse_plan(data: Mapping[str, Any], where: str = "the plan") -> Plan:
    schema = data.get("schema", PLAN_SCHEMA)
    if schema != PLAN_SCHEMA:
        raise ConfigError(f"{where} has schema '{schema}', expected '{PLAN_SCHEMA}'")
    tables = data.get("tables")
    if not isinstance(tables, Mapping) or not tables:
        raise ConfigError(f"{where} has no [tables.<name>.columns.<column>] entries")
    parsed: dict[str, TablePlan] = {}
    for tname, tdata in tables.items():
        cols = tdata.get("columns") if isinstance(tdata, Mapping) else None
        if not isinstance(cols, Mapping):
            raise ConfigError(f"{where}: table '{tname}' has no columns")
        parsed[tname] = TablePlan(columns={c: _parse_column(where, tname, c, v) for c, v in cols.items()})
    return Plan(
        source=str(data.get("source", "")), created_at=str(data.get("created_at", "")), tables=parsed
    )


def _parse_column(where: str, table: str, column: str, value: Any) -> ColumnPlan:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: {table}.{column} must be a table with an action")
    try:
        return ColumnPlan.model_validate(dict(value))
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err["loc"])
        if field == "action" and err["type"] == "literal_error" and isinstance(value.get("action"), str):
            hint = did_you_mean(value["action"], ACTIONS)
            raise ConfigError(
                f"{where}: {table}.{column} has action '{value['action']}', not one of {', '.join(ACTIONS)}.{hint}"
            ) from None
        if err["type"] == "extra_forbidden":
            known = list(ColumnPlan.model_fields)
            raise ConfigError(
                f"{where}: {table}.{column} has an unknown key '{field}'.{did_you_mean(field, known)}"
            ) from None
        msg = err["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{where}: {table}.{column}{' ' + field if field else ''}: {msg}") from None
