"""The manifest a safe copy leaves in its destination: where it came from, how, and until when it may live.

SQL destinations get a one-row table ``_dataward_manifest`` (plain columns for ``source``, ``plan_hash``,
``key_id``, ``created_at``, ``owner``, ``expires``, ``unsafe_destination`` plus the whole manifest as JSON in
``document``); a Parquet directory gets ``_dataward_manifest.json``. ``read_manifest`` reads either, so
``dataward scan`` can report expired copies and ``dataward analytics`` can say which answers are coarser.
The pseudonym key never appears here: only ``key_id``, an HMAC of a constant under the key.

This module is the one definition of the manifest for its writer (``dataward.copy``) and its readers (scan's
policy rules, analytics). It sits below them, next to ``dataward.tables`` which it reads through.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from dataward import __version__
from dataward.tables import open_tables
from dataward.tables.base import file_path
from dataward.targets import Target, parse_target

MANIFEST_TABLE = "_dataward_manifest"
MANIFEST_SCHEMA = "dataward.copy-manifest/v1"
MANIFEST_FILE = f"{MANIFEST_TABLE}.json"


class TableCopy(BaseModel):
    """Rows written for one table, and how many of them had quasi-identifiers suppressed for k-anonymity."""

    model_config = ConfigDict(extra="allow")

    rows: int
    suppressed: int = 0
    skipped: str | None = None  # why no table was written (every column dropped)
    columns: dict[str, str] = Field(default_factory=dict)  # column -> "keep" | "pseudonymize" | "generalize:day" ...


class Manifest(BaseModel):
    model_config = ConfigDict(extra="allow")

    schema_: str = Field(default=MANIFEST_SCHEMA, alias="schema")
    source: str  # redacted display URL
    plan_hash: str
    key_id: str | None = None
    created_at: str
    owner: str | None = None
    expires: str | None = None  # ISO date (YYYY-MM-DD) or timestamp
    k: int = 5
    k_mode: str = "suppress"
    unsafe_destination: str | None = None  # why the destination audit was overridden, when it was
    dataward_version: str = __version__
    tables: dict[str, TableCopy] = Field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True)

    def expires_on(self) -> date | None:
        """The day the copy expires (from ``expires``, a date or a timestamp), None without a readable one."""
        when = parse_expiry(self.expires)
        return when.date() if when is not None else None

    def expired(self, now: datetime | None = None) -> bool:
        """True once the expiry date has passed (a copy without an expiry never expires here; policy says)."""
        when = parse_expiry(self.expires)
        return when is not None and (now or datetime.now(UTC)) >= when

    def column_actions(self) -> dict[str, dict[str, str]]:
        return {t: dict(c.columns) for t, c in self.tables.items()}


def parse_expiry(text: str | None) -> datetime | None:
    """A date means the end of that day's start in UTC (expires = 2020-01-31 -> expired from 2020-01-31)."""
    if not text:
        return None
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            return datetime(d.year, d.month, d.day, tzinfo=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


MANIFEST_ARROW_SCHEMA = pa.schema(
    [
        ("schema", pa.string()),
        ("source", pa.string()),
        ("plan_hash", pa.string()),
        ("key_id", pa.string()),
        ("created_at", pa.string()),
        ("owner", pa.string()),
        ("expires", pa.string()),
        ("unsafe_destination", pa.string()),
        ("document", pa.string()),
    ]
)


def manifest_batch(manifest: Manifest) -> pa.RecordBatch:
    """The one-row table written to SQL destinations."""
    doc = manifest.to_json()
    row = {name: [doc.get(name)] for name in MANIFEST_ARROW_SCHEMA.names if name != "document"}
    row["document"] = [json.dumps(doc, sort_keys=True)]
    return pa.RecordBatch.from_pydict(row, schema=MANIFEST_ARROW_SCHEMA)


def manifest_from_table(table: pa.Table) -> Manifest | None:
    """The manifest in a ``_dataward_manifest`` table: its ``document`` JSON, else its plain columns.

    Raises pydantic's ValidationError (a ValueError) when the row is not a manifest this module wrote.
    """
    if table.num_rows == 0:
        return None
    if "document" in table.column_names:
        return Manifest.model_validate(json.loads(table.column("document")[0].as_py()))
    row = {name: table.column(name)[0].as_py() for name in table.column_names}
    return Manifest.model_validate({k: v for k, v in row.items() if v is not None})


def write_manifest_file(directory: Path, manifest: Manifest) -> None:
    path = directory / MANIFEST_FILE
    path.write_text(json.dumps(manifest.to_json(), indent=2, sort_keys=True) + "\n")


def read_manifest_file(directory: Path) -> Manifest | None:
    path = directory / MANIFEST_FILE
    if not path.is_file():
        return None
    return Manifest.model_validate(json.loads(path.read_text()))


def read_manifest(target: Target | str) -> Manifest | None:
    """The manifest of a dataward copy at this target (URL or Target), or None when it is not one."""
    tgt = parse_target(target) if isinstance(target, str) else target
    directory = parquet_dir(tgt)
    if directory is not None:
        return read_manifest_file(directory)
    with open_tables(tgt) as store:
        if MANIFEST_TABLE not in store.list_tables():
            return None
        batches = list(store.read_batches(MANIFEST_TABLE))
    if not batches:
        return None
    return manifest_from_table(pa.Table.from_batches(batches))


def parquet_dir(target: Target) -> Path | None:
    """The directory of a ``file:///dir`` copy (one Parquet file per table), else None."""
    if target.scheme != "file":
        return None
    path = file_path(target)
    if any(ch in str(path) for ch in "*?[") or path.suffix in (".parquet", ".csv", ".json", ".jsonl"):
        return None
    return path
