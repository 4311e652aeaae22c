"""The incident commands as library functions: open an incident, compute and store its blast radius.

The CLI (``dataward incident ...``) parses options and calls these; tests and other tools call them too.
"""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dataward.errors import DatawardError
from dataward.incident import blast_radius, exposure
from dataward.incident.progress import Progress, counted, report
from dataward.incident.store import Incident, IncidentDB, iso, now_iso, parse_time
from dataward.schemamap import SchemaMap
from dataward.targets import parse_target

AFFECTED = "affected.parquet"
REPORT = "blast_radius.json"
KEEPING = "keeping the blast radius with the incident"  # run_blast_radius's last phase


@dataclass(frozen=True)
class HistoryWindow:
    store: str
    opened: str
    closed: str | None
    finding: str | None = None


def open_incident(
    db: IncidentDB,
    name: str,
    store: str,
    window_from: str | None = None,
    window_to: str | None = None,
    *,
    history: str | None = None,
    aware_at: str | None = None,
) -> Incident:
    """Record an incident; the window comes from the arguments or, with ``history``, from recorded history."""
    finding = None
    if history is not None:
        window = window_from_history(history, store)
        if window.closed is None and window_to is None:
            raise DatawardError(
                f"the exposure window of '{store}' in the history is still open",
                tip="fix the exposure first (the watcher records when it closes), or pass --to",
            )
        start, end = window.opened, window_to or window.closed
        source, finding = (
            f"history:{Path(history).name if '://' not in history else parse_target(history).display}",
            window.finding,
        )
    else:
        if not window_from or not window_to:
            raise DatawardError(
                "an incident needs --from and --to, or --from-history",
                tip="e.g. --from 2019-12-04 --to 2019-12-26",
            )
        start, end, source = window_from, window_to, "manual"
    begin, finish = parse_time(start), parse_time(str(end))
    if finish < begin:
        raise DatawardError(f"the window ends ({iso(finish)}) before it starts ({iso(begin)})")
    if "://" in store and parse_target(store).password is not None:
        store = parse_target(store).display  # never persist a credential; pass --exposed URL later
    incident = Incident(
        name=name,
        store=store,
        window_from=iso(begin),
        window_to=iso(finish),
        window_source=source,
        aware_at=iso(parse_time(aware_at)) if aware_at else iso(finish),
        opened_at=now_iso(),
        finding=finding,
        secret=secrets.token_hex(32),
    )
    db.add(incident)
    return incident


def window_from_history(history: str, store: str) -> HistoryWindow:
    """The latest exposure window of ``store`` in a ``dataward.history/v1`` JSON file or the watcher's database."""
    windows = _history_windows(history)
    mine = [w for w in windows if w.store == store]
    if not mine:
        known = sorted({w.store for w in windows})
        raise DatawardError(
            f"the history has no exposure window for store '{store}'",
            tip=f"stores with windows: {', '.join(known) or 'none'}",
        )
    return max(mine, key=lambda w: parse_time(w.opened))


def _history_windows(history: str) -> list[HistoryWindow]:
    path = Path(history)
    if "://" not in history and path.suffix == ".json":
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise DatawardError(f"cannot read the history file {path}: {exc}") from None
    else:
        data = _history_from_watch(history)
    if data.get("schema") not in (None, "dataward.history/v1") or "windows" not in data:
        raise DatawardError(
            f"{history} is not a dataward.history/v1 document", tip="use `dataward history --format json`"
        )
    if data.get("store_windows"):  # the watcher's per-store union of overlapping finding windows
        return [
            HistoryWindow(
                str(w["store"]), str(w["opened"]), w.get("closed"), ",".join(w.get("findings", [])) or None
            )
            for w in data["store_windows"]
        ]
    return [
        HistoryWindow(str(w["store"]), str(w["opened"]), w.get("closed"), w.get("finding"))
        for w in data["windows"]
    ]


def _history_from_watch(history: str) -> dict[str, Any]:
    """The watcher's own history database, read through its library API."""
    from dataward.watch.history import history_json

    return history_json(history)


def load_exposure(
    incident: Incident,
    exposed: str | None = None,
    classification: str | None = None,
    manifest: str | None = None,
    schema: SchemaMap | None = None,
    *,
    read_incident_store: bool = True,
) -> exposure.Exposure:
    """What the exposed store held, from the best evidence given (see dataward.incident.exposure).

    ``read_incident_store=False``: without ``exposed``, the incident's store is not read even when it is a URL
    (the control plane reads only the stores it is configured with, and passes one as ``exposed``)."""
    cats = exposure.load_file(classification, schema) if classification else None
    if manifest:
        found = exposure.load_file(manifest, schema)
        return found.with_categories(cats) if cats else found
    own = read_incident_store and "://" in incident.store and ":***@" not in incident.store
    url = exposed or (incident.store if own else None)
    if url:
        return exposure.from_store(url, cats, schema)
    if cats:
        return cats
    raise DatawardError(
        f"cannot tell what the exposed store '{incident.store}' held",
        tip="pass --exposed URL (the store, if still readable), --classification FILE or --manifest FILE",
    )


def run_blast_radius(
    db: IncidentDB,
    name: str,
    source: str,
    *,
    exposed: str | None = None,
    classification: str | None = None,
    manifest: str | None = None,
    schema: SchemaMap | None = None,
    compute: Callable[..., blast_radius.BlastRadius] | None = None,
    categories: frozenset[str] | None = None,
    read_incident_store: bool = True,
    progress: Progress | None = None,
) -> blast_radius.BlastRadius:
    """Compute the blast radius and keep it (JSON and affected Parquet) with the incident.

    ``progress`` hears the rows read of each production table batch by batch, the aggregation, then
    ``KEEPING`` (:mod:`dataward.incident.progress`; the engine's ``compute`` gets it as its ``progress``).

    ``read_incident_store``: as :func:`load_exposure`'s.

    ``categories`` (ids, e.g. from ``dataward.categories.parse_categories``) limits it to those categories.

    ``schema`` names the production tables and columns (default: the reference device cloud's map);
    ``compute`` is the engine (default: ``blast_radius.compute``; the Spark engine's has the same signature).
    """
    incident = db.get(name)
    found = load_exposure(incident, exposed, classification, manifest, schema,
                          read_incident_store=read_incident_store)
    if categories is not None:
        found = found.only(categories)
    extra = {"progress": progress} if progress is not None else {}  # an engine without the hook still works
    result = (compute or blast_radius.compute)(incident, found, source, schema, **extra)
    report(progress, KEEPING)
    document = json.dumps(result.to_json(), sort_keys=True).encode()  # as put_json; both kept together, or neither
    db.put_artifacts(name, {REPORT: document, AFFECTED: result.affected_parquet()})
    target = parse_target(source)
    db.set_source(name, source if target.password is None else None)
    return result


def affected_table(db: IncidentDB, name: str) -> pa.Table:
    """The stored affected customers of an incident (blast-radius must have run)."""
    raw = db.artifact(name, AFFECTED)
    if raw is None:
        raise DatawardError(
            f"incident '{name}' has no blast radius yet",
            tip=f"run `dataward incident blast-radius {name} --source URL` first",
        )
    return pq.read_table(io.BytesIO(raw))


def source_for(db: IncidentDB, name: str, source: str | None) -> str:
    """The production source: given, or the one blast-radius used (kept only when it had no password)."""
    if source:
        return source
    stored = db.get(name).source
    if not stored:
        raise DatawardError(
            f"incident '{name}' has no recorded production source",
            tip="pass --source URL (the production database)",
        )
    return stored


def customer_contacts(
    source: str,
    user_ids: pa.Array,
    columns: tuple[str, ...] = ("email",),
    schema: SchemaMap | None = None,
    *,
    by: str = "this command",
    progress: Progress | None = None,
) -> pa.Table:
    """(id, columns...) of the given customers, read in batches from the production table playing the
    ``customer`` role; ``columns`` are that role's columns (``email``), and name the result's columns.

    The values stay in memory for the job that needs them (notices, lookup hashes) and are never stored.
    """
    import pyarrow.compute as pc

    from dataward.tables.base import open_tables

    schema = schema or SchemaMap.reference()
    table, id_col = schema.require("customer", "id", by=by)
    wanted_cols = [id_col, *(schema.require("customer", c, by=by)[1] for c in columns)]
    wanted = np.unique(
        pa.array(user_ids, pa.int64()).to_numpy(zero_copy_only=False)
    )  # sorted once, not per batch
    parts = []
    with open_tables(source) as prod:
        if not prod.has_table(table):
            raise DatawardError(
                f"{parse_target(source).display} has no customers table '{table}'",
                tip="pass the production source, or --config a [schema] map naming its tables",
            )
        for batch in counted(prod.read_batches(table, wanted_cols), progress, f"reading {table}"):
            keep = _members(pc.cast(batch.column(id_col), pa.int64()).to_numpy(zero_copy_only=False), wanted)
            if keep.any():
                parts.append(pa.Table.from_batches([batch]).filter(pa.array(keep)))
    if not parts:
        return pa.table({"id": pa.array([], pa.int64()), **{c: pa.array([], pa.string()) for c in columns}})
    found = pa.concat_tables(parts).select(wanted_cols).rename_columns(["id", *columns])
    return found.set_column(0, "id", pc.cast(found.column("id"), pa.int64()))


def _members(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Which ``ids`` are in the sorted ``wanted`` (pc.is_in would rebuild its hash set for every batch)."""
    if len(wanted) == 0:
        return np.zeros(len(ids), dtype=bool)
    pos = np.minimum(np.searchsorted(wanted, ids), len(wanted) - 1)
    return np.asarray(wanted[pos] == ids)


def affected_fields(affected: pa.Table) -> list[str]:
    """The field (category) columns of an affected table, in their stored order."""
    return [
        c
        for c in affected.column_names
        if c not in ("user_id", "country", "region") and not c.startswith("obl_")
    ]


def build_lookup(
    db: IncidentDB,
    name: str,
    out: str,
    source: str | None = None,
    *,
    prefix_hex: int | None = None,
    min_pad: int = 16,
    require_code: bool = False,
    force: bool = False,
    progress: Progress | None = None,
    schema: SchemaMap | None = None,
) -> dict[str, Any]:
    """Build the affected-lookup site of an incident from its blast radius and the production emails.

    ``progress`` hears the customers read batch by batch, the sealing of their records, and the range files
    written (:mod:`dataward.incident.progress`)."""
    import pyarrow.compute as pc

    from dataward.incident import lookup

    incident = db.get(name)
    affected = affected_table(db, name)
    contacts = customer_contacts(
        source_for(db, name, source), affected.column("user_id"), schema=schema, by="lookup build",
        progress=progress,
    )
    contacts = contacts.rename_columns(["id", "_email"])
    joined = affected.join(contacts, keys="user_id", right_keys="id", join_type="inner").sort_by("user_id")
    joined = joined.filter(pc.is_valid(joined.column("_email")))
    fields = affected_fields(affected)
    summary = lookup.build_site(
        out,
        joined.column("_email").to_pylist(),
        lookup.site_masks(joined, fields),
        joined.column("user_id").to_numpy(),
        incident.secret,
        fields,
        prefix_hex=prefix_hex,
        min_pad=min_pad,
        require_code=require_code,
        force=force,
        progress=progress,
    )
    summary["missing_email"] = affected.num_rows - joined.num_rows
    return summary
