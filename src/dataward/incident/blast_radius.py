"""Who was affected and by what: per customer, the exact fields the exposed store held for them.

A customer is affected when (1) some row of theirs was in an exposed table (matched by the exposed store's
row ids, or every production row when only the tables are known), (2) that row existed before the window
ended (its role's ``created_at``, or a connection event's ``time``), (3) a categorised column of that row
holds a value (not NULL, not empty), and (4) their account was created before the window ended. The fields
of a customer are the categories of those columns.

Tables and columns are roles of the schema map (dataward.schemamap): a row belongs to a customer through its
role's ``customer`` column (the customer role's ``id``; a connection event through its ``device``'s owner).

Vectorised: production tables stream in Arrow batches; per batch only ids, timestamps and one boolean per
category are kept (pyarrow compute), then DuckDB joins and aggregates. No raw value is kept or written.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dataward.errors import DatawardError
from dataward.incident.exposure import ALEXA, ExposedTable, Exposure
from dataward.incident.obligations import Facts, Obligation, evaluate_obligations
from dataward.incident.progress import Progress, counted, report
from dataward.incident.store import Incident, parse_time
from dataward.schemamap import Role, SchemaMap
from dataward.tables.base import TableStore, open_tables, quote_ident

SCHEMA = "dataward.blast_radius/v1"
BY = "blast radius"
BATCH = 262144
TS = pa.timestamp("us")
AGGREGATING = "joining the exposed rows to the customers"  # the last phase: one DuckDB query


@dataclass(frozen=True)
class BlastRadius:
    incident: str
    window: tuple[str, str]
    affected: pa.Table  # user_id, country, region, one bool per field, one bool per obligation (obl_<id>)
    fields: tuple[str, ...]
    obligations: tuple[Obligation, ...]
    exposure: Exposure
    notes: tuple[str, ...] = field(default=())

    @property
    def affected_customers(self) -> int:
        return self.affected.num_rows

    def by_field(self) -> dict[str, int]:
        return {f: int(pc.sum(self.affected[f]).as_py() or 0) for f in self.fields}

    def by_region(self) -> dict[str, int]:
        """ISO 3166-2 region where known (US-CA), else the country."""
        region = pc.coalesce(self.affected["region"], self.affected["country"], pa.scalar("unknown"))
        return _counts(region)

    def by_country(self) -> dict[str, int]:
        return _counts(pc.coalesce(self.affected["country"], pa.scalar("unknown")))

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "incident": self.incident,
            "window": list(self.window),
            "affected_customers": self.affected_customers,
            "by_field": self.by_field(),
            "by_region": self.by_region(),
            "by_country": self.by_country(),
            "obligations": [o.to_json() for o in self.obligations],
            "exposure": self.exposure.to_json(),
            "notes": list(self.notes),
        }

    def affected_parquet(self) -> bytes:
        """Affected customers by id with boolean flags: ids, coarse location and booleans only."""
        sink = io.BytesIO()
        pq.write_table(self.affected, sink, compression="zstd")
        return sink.getvalue()


def _counts(values: pa.Array | pa.ChunkedArray) -> dict[str, int]:
    vc = pc.value_counts(values)
    pairs = sorted(
        zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist(), strict=True),
        key=lambda p: (-p[1], str(p[0])),
    )
    return {str(k): int(v) for k, v in pairs}


def compute(
    incident: Incident,
    exposure: Exposure,
    source: str,
    schema: SchemaMap | None = None,
    *,
    progress: Progress | None = None,
) -> BlastRadius:
    """The blast radius of an incident, from what the exposed store held and the production source, whose
    tables and columns ``schema`` names (default: the reference device cloud's map). ``progress`` hears the
    rows read of each production table, batch by batch, then the aggregation (:mod:`dataward.incident.progress`)."""
    schema = schema or SchemaMap.reference()
    schema.require("customer", "id", by=BY)
    window_end = parse_time(incident.window_to)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    notes = list(exposure.notes)
    with open_tables(source) as prod:
        fields = sorted({c for t in exposure.tables for cats in t.categorised.values() for c in cats})
        parts = []
        for index, table in enumerate(exposure.tables):
            sql = _table_part(con, prod, schema, table, fields, notes, f"r_{index}", progress)
            if sql:
                parts.append(sql)
        _load_users(con, prod, schema, progress)
    end = window_end.astimezone(UTC).replace(tzinfo=None).isoformat()
    report(progress, AGGREGATING)
    affected = _aggregate(con, parts, fields, end) if parts else empty_affected(fields)
    return with_obligations(incident, exposure, affected, fields, notes)


def with_obligations(
    incident: Incident, exposure: Exposure, affected: pa.Table, fields: list[str], notes: list[str]
) -> BlastRadius:
    """The blast radius from the affected customers (user_id, country, region, one bool per field), any engine."""
    facts = Facts(
        country=np.asarray(affected["country"].to_pylist(), dtype=object),
        region=np.asarray(affected["region"].to_pylist(), dtype=object),
        fields={f: affected[f].to_numpy(zero_copy_only=False).astype(bool) for f in fields},
        aware_at=parse_time(incident.aware_at),
    )
    obligations, masks = evaluate_obligations(facts)
    for rule_id, mask in masks.items():
        affected = affected.append_column(f"obl_{rule_id}", pa.array(mask, pa.bool_()))
    return BlastRadius(
        incident.name, incident.window, affected, tuple(fields), tuple(obligations), exposure, tuple(notes)
    )


@dataclass(frozen=True)
class ResolvedTable:
    """How the rows of one exposed table tie to customers in production (what every engine computes from)."""

    role_name: str
    role: Role
    exposed: dict[str, tuple[str, ...]]  # exposed columns that production has -> their categories
    link: str  # the column tying a row to a customer (an event: to a device)
    created: str | None  # when a row came to be, where production has that column
    row_id: str | None  # the role's id column, where production has it

    def key_match(self, key_column: str) -> str:
        """What the exposed store's keys match: the production row ids, or the customer link."""
        return "row_id" if key_column == self.role.column("id") else "user_link"


def resolve_table(
    schema: SchemaMap, table: ExposedTable, columns: Callable[[], Sequence[str] | None], notes: list[str]
) -> ResolvedTable | None:
    """The role, link, creation and id columns of an exposed table in production, or None when its rows
    cannot be tied to customers (each reason one note). ``columns()`` gives production's columns of the
    table, None when production has no such table (asked only for a table that plays a role)."""
    if not table.categorised:
        return None
    found = schema.role_of_table(table.name)
    if found is None:
        notes.append(f"{table.name}: plays no role in the schema map, so its rows cannot be tied to customers")
        return None
    role_name, role = found
    names = columns()
    if names is None:
        notes.append(f"{table.name}: not in the production source, so its rows cannot be tied to customers")
        return None
    exposed_cols = {c: cats for c, cats in table.categorised.items() if c in names}
    missing = sorted(set(table.categorised) - set(exposed_cols))
    if missing:
        notes.append(f"{table.name}: columns {', '.join(missing)} are not in production; counted as not exposed")
    link = link_column(schema, role_name)
    if link not in names:
        notes.append(f"{table.name}: production has no column {link}, rows cannot be tied to customers")
        return None
    if not exposed_cols:
        return None
    created = creation_column(role)
    row_id = role.column("id")
    return ResolvedTable(role_name, role, exposed_cols, link, created if created in names else None,
                         row_id if row_id in names else None)


def _table_part(
    con: duckdb.DuckDBPyConnection,
    prod: TableStore,
    schema: SchemaMap,
    table: ExposedTable,
    fields: list[str],
    notes: list[str],
    rel: str,
    progress: Progress | None = None,
) -> str | None:
    """Register one exposed table's per-row flags in DuckDB; return the SELECT giving (user_id, flags...)."""
    resolved = resolve_table(
        schema, table, lambda: prod.schema(table.name).names if prod.has_table(table.name) else None, notes
    )
    if resolved is None:
        return None
    exposed_cols, created = resolved.exposed, resolved.created
    reader = _flag_batches(prod, table.name, resolved.row_id, resolved.link, created, exposed_cols, fields, progress)
    con.register(rel + "_src", reader)
    con.execute(f"CREATE TEMP TABLE {quote_ident(rel)} AS SELECT * FROM {quote_ident(rel + '_src')}")  # noqa: S608
    con.unregister(rel + "_src")
    where = []
    if table.keys is not None:
        key_col = table.keys.column_names[0]
        keys_rel = rel + "_keys"
        con.register(keys_rel, table.keys.select([key_col]).rename_columns(["k"]))
        where.append(f"{resolved.key_match(key_col)} IN (SELECT k FROM {quote_ident(keys_rel)})")  # noqa: S608
    if created:
        where.append("(created IS NULL OR created <= CAST($window_end AS TIMESTAMP))")
    user_expr = "user_link"
    join = ""
    if resolved.role_name == "connection_event":
        join = f" JOIN {quote_ident(_devices(con, prod, schema))} d ON d.id = r.user_link"
        user_expr = "d.user_id"
    flag_cols = ", ".join(
        f"r.{quote_ident(f)}" if f in fields_of(exposed_cols) else f"FALSE AS {quote_ident(f)}"
        for f in fields
    )
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    return f"SELECT {user_expr} AS user_id, {flag_cols} FROM {quote_ident(rel)} r{join}{clause}"  # noqa: S608


def fields_of(cols: dict[str, tuple[str, ...]]) -> set[str]:
    return {c for cats in cols.values() for c in cats}


def link_column(schema: SchemaMap, role: str) -> str:
    """The column tying a row of ``role`` to a customer (an event: to a device, whose owner is known)."""
    part = {"customer": "id", "connection_event": "device"}.get(role, "customer")
    return schema.require(role, part, by=BY)[1]


def creation_column(role: Role) -> str | None:
    """When a row of this role came to be: ``created_at``, or a connection event's ``time``."""
    return role.column("created_at") or role.column("time")


def _flag_batches(
    prod: TableStore,
    table: str,
    row_id: str | None,
    link: str,
    created: str | None,
    cols: dict[str, tuple[str, ...]],
    fields: list[str],
    progress: Progress | None = None,
) -> pa.Table:
    """(row_id, user_link, created, one bool per field), batch by batch; the values themselves are dropped."""
    wanted = list(
        dict.fromkeys([*([row_id] if row_id else []), link, *([created] if created else []), *cols])
    )
    own = sorted(fields_of(cols))
    schema = pa.schema(
        [
            ("row_id", pa.int64()),
            ("user_link", pa.int64()),
            ("created", TS),
            *[(f, pa.bool_()) for f in own],
        ]
    )

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in counted(prod.read_batches(table, wanted, batch_size=BATCH), progress, f"reading {table}"):
            n = batch.num_rows
            ids = batch.column(row_id) if row_id else pa.nulls(n, pa.int64())
            arrays: list[pa.Array] = [
                pc.cast(ids, pa.int64()),
                pc.cast(batch.column(link), pa.int64()),
                _as_utc(batch.column(created)) if created else pa.nulls(n, TS),
            ]
            masks = _column_masks(batch, cols)
            for f in own:
                mask = pa.array(np.zeros(n, dtype=bool))
                for col_mask in masks.get(f, []):
                    mask = pc.or_(mask, col_mask)
                arrays.append(mask)
            yield pa.RecordBatch.from_arrays(arrays, schema=schema)

    # materialised here: DuckDB may read a registered reader from another thread, and drivers (SQLite) forbid it
    return pa.Table.from_batches(list(batches()), schema=schema)


def _column_masks(batch: pa.RecordBatch, cols: dict[str, tuple[str, ...]]) -> dict[str, list[pa.Array]]:
    """category -> presence masks of the columns holding it in this batch.

    A column that may hold Alexa tokens among other tokens is split per row by the token format: ``Atza|``
    or ``Atzr|`` values count as ``alexa_token``, the rest as the column's other category.
    """
    out: dict[str, list[pa.Array]] = {}
    for col, cats in cols.items():
        present = _present(batch.column(col))
        if ALEXA in cats and len(cats) > 1:
            is_alexa = pc.fill_null(
                pc.match_substring_regex(pc.cast(batch.column(col), pa.string()), r"^Atz[ar]\|"), False
            )
            other = next(c for c in cats if c != ALEXA)
            out.setdefault(ALEXA, []).append(pc.and_(present, is_alexa))
            out.setdefault(other, []).append(pc.and_(present, pc.invert(is_alexa)))
            continue
        for cat in cats:
            out.setdefault(cat, []).append(present)
    return out


def _as_utc(col: pa.Array) -> pa.Array:
    """Naive UTC microsecond timestamps (the generator's convention); zoned ones and ISO text converted."""
    if pa.types.is_timestamp(col.type):
        return pc.cast(col.cast(pa.timestamp("us", col.type.tz)) if col.type.tz else col, TS)
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        text = pc.replace_substring_regex(pc.cast(col, pa.string()), r"(Z|[+-]00:?00)$", "")
        return pc.cast(pc.replace_substring(text, " ", "T"), TS)
    return pc.cast(col, TS)


def _present(col: pa.Array) -> pa.Array:
    """True where the column holds a value: not NULL and, for text and bytes, not empty."""
    valid = pc.is_valid(col)
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type) or pa.types.is_binary(col.type):
        nonempty = pc.fill_null(pc.greater(pc.binary_length(col), 0), False)
        return pc.and_(valid, nonempty)
    return valid


def _devices(con: duckdb.DuckDBPyConnection, prod: TableStore, schema: SchemaMap) -> str:
    """devices(id, user_id) in DuckDB, loaded once, to tie device-keyed rows (events) to customers."""
    if not con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = 'dev_map'").fetchall():
        table, device_id = schema.require("device", "id", by=BY)
        owner = schema.require("device", "customer", by=BY)[1]
        if not prod.has_table(table):
            raise DatawardError(
                f"rows keyed by a device need the devices table '{table}' in the production source",
                tip="pass --source the production database, or --config a [schema] map naming its tables",
            )
        reader = pa.Table.from_batches(
            [
                pa.RecordBatch.from_arrays(
                    [pc.cast(b.column(device_id), pa.int64()), pc.cast(b.column(owner), pa.int64())],
                    names=["id", "user_id"],
                )
                for b in prod.read_batches(table, [device_id, owner], batch_size=BATCH)
            ],
            schema=pa.schema([("id", pa.int64()), ("user_id", pa.int64())]),
        )
        con.register("dev_src", reader)
        con.execute("CREATE TEMP TABLE dev_map AS SELECT * FROM dev_src")
        con.unregister("dev_src")
    return "dev_map"


def _load_users(
    con: duckdb.DuckDBPyConnection, prod: TableStore, schema: SchemaMap, progress: Progress | None = None
) -> str:
    """users_map(id, created, country, region): the customers, with when they joined and where they live."""
    table, user_id = schema.require("customer", "id", by=BY)
    created_at = schema.require("customer", "created_at", by=BY)[1]
    if not prod.has_table(table):
        raise DatawardError(
            f"the production source has no customers table '{table}'",
            tip="pass --source the production database, or --config a [schema] map naming its tables",
        )
    names = prod.schema(table).names
    places = {p: c for p in ("country", "region") if (c := schema.column("customer", p)) and c in names}
    cols = list(dict.fromkeys([user_id, created_at, *places.values()]))
    schema_ = pa.schema(
        [("id", pa.int64()), ("created", TS), ("country", pa.string()), ("region", pa.string())]
    )

    def place(b: pa.RecordBatch, part: str) -> pa.Array:
        return (
            pc.cast(b.column(places[part]), pa.string())
            if part in places
            else pa.nulls(b.num_rows, pa.string())
        )

    def batches() -> Iterator[pa.RecordBatch]:
        rows = prod.read_batches(table, cols, batch_size=BATCH)
        for b in counted(rows, progress, f"reading the customers ({table})"):
            yield pa.RecordBatch.from_arrays(
                [
                    pc.cast(b.column(user_id), pa.int64()),
                    _as_utc(b.column(created_at)),
                    place(b, "country"),
                    place(b, "region"),
                ],
                schema=schema_,
            )

    con.register("users_src", pa.Table.from_batches(list(batches()), schema=schema_))
    con.execute("CREATE TEMP TABLE users_map AS SELECT * FROM users_src")
    con.unregister("users_src")
    return "users_map"


def _aggregate(
    con: duckdb.DuckDBPyConnection, parts: list[str], fields: list[str], window_end: str
) -> pa.Table:
    flags = ", ".join(f"bool_or({quote_ident(f)}) AS {quote_ident(f)}" for f in fields)
    any_flag = " OR ".join(f"e.{quote_ident(f)}" for f in fields) or "FALSE"
    union = " UNION ALL ".join(parts)
    sql = (
        f"WITH e AS (SELECT user_id, {flags} FROM ({union}) GROUP BY user_id) "  # noqa: S608
        f"SELECT u.id AS user_id, u.country, u.region, {', '.join('e.' + quote_ident(f) for f in fields)} "
        "FROM e JOIN users_map u ON u.id = e.user_id "
        f"WHERE ({any_flag}) AND u.created <= CAST($window_end AS TIMESTAMP) "
        "ORDER BY u.id"
    )
    return con.sql(sql, params={"window_end": window_end}).to_arrow_table()


def empty_affected(fields: list[str]) -> pa.Table:
    return pa.table(
        {
            "user_id": pa.array([], pa.int64()),
            "country": pa.array([], pa.string()),
            "region": pa.array([], pa.string()),
            **{f: pa.array([], pa.bool_()) for f in fields},
        }
    )
