"""What the exposed store held: which tables and columns (with their categories) and, when known, which rows.

Three ways to learn it, from most to least exact:

* the exposed store itself, while it is still readable (``from_store``): its tables and columns, the ids of
  the rows it holds, and column categories from a classification file or the schema map's ``categories``;
* its scan or classification JSON (``from_classification``: ``dataward.classification/v1`` or
  ``dataward.report/v1``): tables, columns and categories, every production row assumed present;
* the copy manifest the safe-copy job wrote (``from_manifest``): tables and columns copied, every row assumed.

An assumption that widens the affected set is recorded in ``notes`` and shown in the blast-radius output.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from dataward.categories import CATEGORIES
from dataward.errors import DatawardError
from dataward.schemamap import SchemaMap
from dataward.targets import Target, parse_target


@dataclass(frozen=True)
class ExposedTable:
    name: str
    columns: Mapping[str, tuple[str, ...]]  # column -> category ids (empty for non-sensitive columns)
    keys: pa.Table | None = None  # one column (its role's id or customer): the rows it held; None = every row

    @property
    def categorised(self) -> dict[str, tuple[str, ...]]:
        return {c: cats for c, cats in self.columns.items() if cats}

    def to_json(self) -> dict[str, Any]:
        return {
            "table": self.name,
            "columns": {c: list(v) for c, v in self.columns.items()},
            "rows": None if self.keys is None else self.keys.num_rows,
            "matched_by": None if self.keys is None else self.keys.column_names[0],
        }


@dataclass(frozen=True)
class Exposure:
    tables: tuple[ExposedTable, ...]
    origin: str  # "store" | "classification" | "manifest"
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "tables": [t.to_json() for t in self.tables],
            "notes": list(self.notes),
        }

    def only(self, categories: frozenset[str]) -> Exposure:
        """The same exposure counting only these categories (``blast-radius --categories``)."""
        tables = tuple(
            ExposedTable(t.name, {c: tuple(x for x in v if x in categories) for c, v in t.columns.items()}, t.keys)
            for t in self.tables
        )
        note = f"only these categories were counted: {', '.join(sorted(categories))}"
        return Exposure(tables, self.origin, (*self.notes, note))

    def with_categories(self, other: Exposure) -> Exposure:
        """Keep this exposure's rows, take column categories from another (e.g. a classification file)."""
        cats = {(t.name, c): v for t in other.tables for c, v in t.columns.items()}
        tables = tuple(
            ExposedTable(t.name, {c: cats.get((t.name, c), v) for c, v in t.columns.items()}, t.keys)
            for t in self.tables
        )
        return Exposure(tables, self.origin, self.notes + other.notes)


def _valid(categories: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted({c for c in categories if c in CATEGORIES}))


def from_classification(data: Mapping[str, Any]) -> Exposure:
    """Tables/columns/categories from ``dataward classify --format json`` or a scan report; one sentence when
    its objects, columns or findings are not shaped as those documents' are."""
    try:
        return _from_classification(data)
    except (KeyError, TypeError, AttributeError):
        raise DatawardError(
            "the classification is malformed: its objects, columns or findings are not shaped as "
            "`dataward classify --format json` or a scan report writes them",
            tip="pass the output of `dataward classify URL --format json` for the exposed store, unchanged",
        ) from None


def _from_classification(data: Mapping[str, Any]) -> Exposure:
    objects = data.get("objects")
    if objects is None and "findings" in data:
        objects = (
            data.get("classification", {}).get("objects")
            if isinstance(data.get("classification"), dict)
            else None
        )
        if objects is None:
            objects = _objects_from_findings(data["findings"])
    if not isinstance(objects, list):
        raise DatawardError(
            "the classification file has no 'objects'",
            tip="pass the output of `dataward classify URL --format json` for the exposed store",
        )
    tables = []
    for obj in objects:
        name = str(obj["object"]).split(".")[-1]
        cols = {
            str(col["name"]): _valid(
                [c["id"] if isinstance(c, dict) else str(c) for c in col.get("categories", [])]
            )
            for col in obj.get("columns", [])
        }
        tables.append(ExposedTable(name, cols))
    note = "row-level contents unknown: every production row of the listed tables is assumed exposed"
    return Exposure(tuple(tables), "classification", (note,))


def _objects_from_findings(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A scan report without per-column results: each finding's object with its categories on one column."""
    by_object: dict[str, set[str]] = {}
    for f in findings:
        if f.get("object"):
            by_object.setdefault(str(f["object"]), set()).update(f.get("categories", []))
    return [{"object": o, "columns": [{"name": "*", "categories": sorted(c)}]} for o, c in by_object.items()]


def from_manifest(data: Mapping[str, Any], schema: SchemaMap | None = None) -> Exposure:
    """Tables and columns of a safe-copy manifest (``_dataward_manifest.json`` or the manifest table's JSON).

    A manifest lists what was copied; columns it marks dropped are not exposed, pseudonymised ones hold no
    raw value (their categories are cleared), generalised ones keep their category (from the manifest, else
    from the schema map's ``categories``).
    """
    schema = schema or SchemaMap.reference()
    tables_data = data.get("tables")
    if not isinstance(tables_data, (dict, list)):
        raise DatawardError("the copy manifest lists no tables", tip="pass the manifest of the exposed copy")
    items = (
        tables_data.items() if isinstance(tables_data, dict) else ((t.get("name"), t) for t in tables_data)
    )
    tables = []
    for name, spec in items:
        columns = spec.get("columns", {})
        if isinstance(columns, dict):  # dataward.copy-manifest/v1: column -> action
            columns = [{"name": c, "action": a} for c, a in columns.items()]
        cols: dict[str, tuple[str, ...]] = {}
        for col in columns:
            if isinstance(col, str):
                col = {"name": col}
            action = str(col.get("action", "keep")).split(":", 1)[0]
            if action in ("drop", "suppress"):
                continue
            given = col.get("categories", [col["category"]] if col.get("category") else None)
            cats = _valid(given) if given is not None else schema.categories_of(str(name), str(col["name"]))
            cols[str(col["name"])] = () if action == "pseudonymize" else cats
        if spec.get("skipped") or spec.get("rows") == 0:
            continue
        tables.append(ExposedTable(str(name), cols))
    note = "the copy manifest lists tables, not rows: every production row of them is assumed exposed"
    return Exposure(tuple(tables), "manifest", (note,))


def load_file(path: str | Path, schema: SchemaMap | None = None) -> Exposure:
    """A classification/scan JSON or a copy manifest, told apart by its content."""
    try:
        data = json.loads(Path(path).read_text())
    except UnicodeDecodeError:
        raise DatawardError(f"{path} is not UTF-8 text") from None
    except (OSError, ValueError) as exc:
        raise DatawardError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise DatawardError(f"{path} is not a classification, scan report or copy manifest (a JSON object)")
    if "objects" in data or "findings" in data:
        return from_classification(data)
    return from_manifest(data, schema)


def from_store(
    target: Target | str, categories: Exposure | None = None, schema: SchemaMap | None = None
) -> Exposure:
    """Read the exposed store's tables, columns and row keys; categories from ``categories`` or the map's.

    Only key columns are read (the table's role ``id``, else its ``customer``), so even a large copy is cheap
    to match. A table that plays no role in the schema map keeps no keys: every production row is assumed.
    """
    from dataward.tables.base import open_tables

    schema = schema or SchemaMap.reference()
    tgt = parse_target(target) if isinstance(target, str) else target
    notes: list[str] = []
    tables = []
    with open_tables(tgt) as db:
        for name in db.list_tables():
            if name.startswith("_dataward"):
                continue
            names = db.schema(name).names
            cols = {c: schema.categories_of(name, c) for c in names}
            key = _key_column(schema, name, names)
            keys = db.read_table(name, [key]) if key else None
            if keys is None:
                notes.append(
                    f"{name}: no key column of its schema-map role, every production row assumed exposed"
                )
            tables.append(ExposedTable(name, cols, keys))
    exposure = Exposure(tuple(tables), "store", tuple(notes))
    return exposure.with_categories(categories) if categories else exposure


def _key_column(schema: SchemaMap, table: str, names: list[str]) -> str | None:
    """How the rows of an exposed table are matched to production: its role's row id, else its customer."""
    found = schema.role_of_table(table)
    if found is None:
        return None
    role = found[1]
    return next((c for c in (role.column("id"), role.column("customer")) if c and c in names), None)


ALEXA = "alexa_token"
