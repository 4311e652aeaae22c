"""``dataward copy run``: a fail-closed, streamed, atomic safe copy from a plan.

Order matters, and each step may refuse before the next begins:
1. the plan and the source agree on every table and column (schema drift stops the copy, naming the columns);
2. a key is present when the plan pseudonymises (``DATAWARD_PSEUDONYM_KEY`` or ``--key-file``);
3. the destination passes the exposure audit (or the override is explicit and recorded in the manifest);
4. per table: a k-anonymity pass over the kept quasi-identifiers, then the rows, streamed in Arrow batches
   through the vectorised transforms into a staging table;
5. the manifest, then the swap of every staged table into place. Any failure removes the stages.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path
from typing import Literal

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataward.copy import transforms as tf
from dataward.copy.audit import DestinationAudit, audit_destination
from dataward.copy.dest import ThreadedWriter
from dataward.copy.plan import ColumnPlan, Plan, TablePlan
from dataward.errors import ConfigError, DatawardError
from dataward.findings import utc_now
from dataward.manifest import MANIFEST_TABLE, Manifest, TableCopy
from dataward.stores.base import is_local
from dataward.tables import open_tables
from dataward.tables.base import TableStore
from dataward.targets import Target

KEY_ENV = "DATAWARD_PSEUDONYM_KEY"
_KANON_MEMORY = "128MB"  # DuckDB's limit for counting quasi-identifier classes; beyond it, it spills to disk
Progress = Callable[[str, int, int], None]  # (table, rows done, rows expected)


@dataclass(frozen=True)
class CopyOptions:
    k: int = 5
    k_mode: Literal["suppress", "refuse"] = "suppress"
    owner: str | None = None
    expires: str | None = None  # ISO date
    allow_unsafe_destination: bool = False
    require_tls: bool = False
    batch_size: int = 65536


@dataclass(frozen=True)
class CopyResult:
    destination: str
    manifest: Manifest
    audit: DestinationAudit
    warnings: tuple[str, ...] = field(default_factory=tuple)


class PlanMismatch(ConfigError):
    """The plan and the source disagree: schema drift, or a plan written for another source."""


def load_key(key_file: str | None = None) -> tf.PseudonymKey | None:
    """The pseudonym key from ``--key-file`` or DATAWARD_PSEUDONYM_KEY; None when neither is given."""
    if key_file:
        return tf.PseudonymKey(_read_key_file(Path(key_file)))
    if os.environ.get(KEY_ENV):
        return tf.PseudonymKey(os.environ[KEY_ENV].strip().encode())
    return None


def _read_key_file(path: Path) -> bytes:
    """A key file's bytes: text (hex, base64, a passphrase) is used stripped, as the environment variable is;
    anything else (``head -c 32 /dev/urandom > key``, the natural way to make a key) is used raw."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"--key-file reads {path}, which cannot be read ({exc.strerror})") from None
    try:
        return raw.decode("utf-8").strip().encode()
    except UnicodeDecodeError:
        return raw


def check_plan(plan: Plan, schemas: dict[str, pa.Schema]) -> None:
    """Every source column is in the plan and every planned column is in the source, or nothing is copied."""
    problems: list[str] = []
    unplanned_tables = [t for t in schemas if t not in plan.tables]
    missing_tables = [t for t in plan.tables if t not in schemas]
    if unplanned_tables:
        problems.append(f"tables not in the plan: {', '.join(unplanned_tables)}")
    if missing_tables:
        problems.append(f"planned tables missing from the source: {', '.join(missing_tables)}")
    unmapped, vanished = [], []
    for table, schema in schemas.items():
        tp = plan.tables.get(table)
        if tp is None:
            continue
        unmapped += [f"{table}.{c}" for c in schema.names if c not in tp.columns]
        vanished += [f"{table}.{c}" for c in tp.columns if c not in schema.names]
    if unmapped:
        problems.append(f"columns not in the plan: {', '.join(unmapped)}")
    if vanished:
        problems.append(f"planned columns missing from the source: {', '.join(vanished)}")
    misfits = [
        f"{table}.{c} ({schema.field(c).type} to {cp.to or f'buckets of {cp.bucket}'})"
        for table, schema in schemas.items() if (tp := plan.tables.get(table)) is not None
        for c, cp in tp.columns.items()
        if cp.action == "generalize" and c in schema.names and not tf.generalisation_fits(schema.field(c).type, cp.to, cp.bucket)
    ]
    if misfits:
        problems.append(f"generalisations that do not fit the column's type: {', '.join(misfits)}")
    if problems:
        raise PlanMismatch(
            "the plan does not match the source (" + "; ".join(problems) + "); nothing was copied",
            tip="run `dataward copy plan` again (or add the columns to the plan with an action) and review it",
        )


def run_copy(
    source: Target,
    dest: Target,
    plan: Plan,
    key: tf.PseudonymKey | None,
    options: CopyOptions | None = None,
    progress: Progress | None = None,
) -> CopyResult:
    """Copy ``source`` to ``dest`` through ``plan``; see the module docstring for the order of checks."""
    options = options or CopyOptions()
    check_options(source, dest, options)
    with open_tables(source) as src:
        schemas = {t: src.schema(t) for t in src.list_tables() if t != MANIFEST_TABLE}
        audit, override = preflight(dest, plan, schemas, key, options)
        writer = ThreadedWriter(dest)
        try:
            manifest = _copy_tables(src, writer, plan, key, options, progress, override, source)
            writer.write_manifest(manifest)
            writer.commit()
        except BaseException:
            writer.abort()
            raise
    return CopyResult(dest.display, manifest, audit)


def preflight(
    dest: Target, plan: Plan, schemas: dict[str, pa.Schema], key: tf.PseudonymKey | None, options: CopyOptions
) -> tuple[DestinationAudit, str | None]:
    """The refusals every engine makes before a row moves: plan drift, a missing key, an unsafe destination.

    Returns the audit and, when an unsafe destination is explicitly allowed, the reason the manifest records.
    """
    check_plan(plan, schemas)
    check_key(plan, key)
    audit = audit_destination(dest, require_tls=options.require_tls)
    return audit, _audit_verdict(audit, options)


def check_key(plan: Plan, key: tf.PseudonymKey | None) -> None:
    """A plan that pseudonymises needs a key."""
    if plan.pseudonymizes() and key is None:
        raise ConfigError(
            "the plan pseudonymises columns but no key was given",
            tip=f"export {KEY_ENV}=... (at least 16 bytes) or pass --key-file FILE; keep the key out of the copy",
        )


def check_options(
    source: Target, dest: Target, options: CopyOptions, table_formats: tuple[str, ...] = ("parquet",)
) -> None:
    """Options every engine refuses: k below 1, an expiry that is not a date, the source as destination, a
    destination ``?format=`` the engine does not write (``table_formats``)."""
    fmt = dest.params.get("format")
    if fmt is not None and fmt not in table_formats:
        raise ConfigError(
            f"this engine does not write format={fmt} destinations (it writes {', '.join(table_formats)})",
            tip="Delta tables are written by --engine spark" if fmt == "delta" else None,
        )
    if options.k < 1:
        raise ConfigError("k must be at least 1")
    if options.expires is not None:
        try:
            date.fromisoformat(options.expires[:10])
        except ValueError:
            raise ConfigError(f"--expires '{options.expires}' is not a date like 2026-12-31") from None
        if date.fromisoformat(options.expires[:10]) < date.today():
            raise ConfigError(f"--expires {options.expires[:10]} is in the past", tip="give the date the copy must be deleted by")
    if options.batch_size < 1:
        raise ConfigError("--batch-size must be at least 1 row")
    if _same_store(source, dest):
        raise DatawardError("the destination is the source itself", tip="copy into another database or folder")


def _same_store(a: Target, b: Target) -> bool:
    if is_local(a.scheme) and a.scheme == b.scheme:
        return Path(a.path).resolve() == Path(b.path).resolve()
    return (a.scheme, a.host, a.port, a.database) == (b.scheme, b.host, b.port, b.database)


def _audit_verdict(audit: DestinationAudit, options: CopyOptions) -> str | None:
    """None when the destination is safe; the recorded reason when an unsafe one is explicitly allowed."""
    if audit.safe:
        return None
    if not options.allow_unsafe_destination:
        raise DatawardError(
            f"refusing to copy into {audit.target}: {audit.summary()}",
            tip="protect the destination (auth, TLS, private bind) or pass --allow-unsafe-destination, "
            "which is recorded in the copy's manifest",
        )
    return f"--allow-unsafe-destination: {audit.summary()}"


def _copy_tables(
    src: TableStore,
    writer: ThreadedWriter,
    plan: Plan,
    key: tf.PseudonymKey | None,
    options: CopyOptions,
    progress: Progress | None,
    override: str | None,
    source: Target,
) -> Manifest:
    copies: dict[str, TableCopy] = {}
    pseudo = tf.Pseudonymizer(key) if key is not None else None
    try:
        for table, tp in plan.tables.items():
            copies[table] = _copy_table(src, writer, table, tp, pseudo, options, progress)
    finally:
        if pseudo is not None:
            pseudo.close()
    return Manifest(
        source=source.display,
        plan_hash=plan.digest,
        key_id=key.key_id if key is not None else None,
        created_at=utc_now(),
        owner=options.owner,
        expires=options.expires,
        k=options.k,
        k_mode=options.k_mode,
        unsafe_destination=override,
        tables=copies,
    )


def _copy_table(
    src: TableStore,
    writer: ThreadedWriter,
    table: str,
    tp: TablePlan,
    pseudo: tf.Pseudonymizer | None,
    options: CopyOptions,
    progress: Progress | None,
) -> TableCopy:
    columns = [c for c, p in tp.columns.items() if p.action != "drop"]
    summary = {c: describe_action(p) for c, p in tp.columns.items()}
    if not columns:
        return TableCopy(rows=0, columns=summary, skipped="every column is dropped")
    src_schema = src.schema(table)
    fns = {c: _transform_for(tp.columns[c], pseudo) for c in columns}
    out_schema = pa.schema([pa.field(c, fns[c](pa.array([], src_schema.field(c).type)).type) for c in columns])
    qis = [c for c in columns if tp.columns[c].qi]
    hasher = _ClassHasher()
    small = _small_classes(src, table, qis, fns, options, hasher) if qis and options.k > 1 else None
    expected = src.estimate_rows(table)
    state = {"rows": 0, "suppressed": 0}

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in src.read_batches(table, columns, batch_size=options.batch_size):
            arrays = {c: fns[c](batch.column(c)) for c in columns}
            if small is not None:
                state["suppressed"] += _suppress(arrays, qis, small, hasher)
            state["rows"] += batch.num_rows
            if progress is not None:
                progress(table, state["rows"], expected)
            yield pa.RecordBatch.from_arrays([arrays[c] for c in columns], schema=out_schema)
            # Arrow's allocator (mimalloc) otherwise holds on to the freed buffers of earlier batches, and
            # what it holds crept up with the table's size; returning them costs well under 1 % of a copy
            pa.default_memory_pool().release_unused()

    try:
        writer.write(table, out_schema, batches())
    finally:
        hasher.close()
    return TableCopy(rows=state["rows"], suppressed=state["suppressed"], columns=summary)


def describe_action(p: ColumnPlan) -> str:
    """How the manifest names a column's action (``generalize:day``, ``generalize:bucket 5``)."""
    if p.action == "generalize":
        return f"generalize:{p.to if p.to is not None else f'bucket {p.bucket:g}'}"
    return p.action


def _transform_for(p: ColumnPlan, pseudo: tf.Pseudonymizer | None) -> Callable[[pa.Array], pa.Array]:
    if p.action == "pseudonymize":
        assert pseudo is not None and p.domain is not None  # checked before the copy starts
        return partial(_pseudonymize, pseudo, p.domain)
    if p.action == "generalize":
        return partial(_generalize, p.to, p.bucket)
    if p.action == "suppress":
        return lambda a: tf.suppress(_one(a))
    return lambda a: _one(a)


def _pseudonymize(pseudo: tf.Pseudonymizer, domain: str, values: pa.Array) -> pa.Array:
    out = pseudo(_one(values), domain)
    return out if pa.types.is_integer(out.type) else out.cast(pa.string())


def _generalize(to: str | None, bucket: float | None, values: pa.Array) -> pa.Array:
    return tf.generalize(_one(values), to, bucket)


def _one(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


# --- k-anonymity -----------------------------------------------------------------------------------------


def _class_key(arrays: dict[str, pa.Array], qis: list[str]) -> pa.Array:
    """One string per row naming its equivalence class over the quasi-identifiers (nulls included)."""
    parts = [pc.fill_null(pc.cast(arrays[c], pa.string()), "\x00") for c in qis]
    if len(parts) == 1:
        return parts[0]
    return pc.binary_join_element_wise(*parts, "\x1f")


class _ClassHasher:
    """64-bit hashes of class keys (DuckDB's ``hash``) and their counts, kept by DuckDB under a memory limit.

    The counting pass inserts one hash per row into a DuckDB table that spills to a temporary folder beyond
    ``_KANON_MEMORY``; only the sorted hashes of classes below k come back to Python (8 bytes a small class).
    Two distinct classes share a hash with probability about c^2 / 2^65 for c classes (1e-6 at 6M classes);
    only a collision between a small class and another could hide it, so the check errs that rarely.
    """

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="dataward-kanon-")
        self._con = self._connect()
        self._con.execute("CREATE TABLE _dw_hashes (h UBIGINT)")

    def _connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(config={"memory_limit": _KANON_MEMORY, "temp_directory": self._tmp.name})

    def __call__(self, keys: pa.Array) -> np.ndarray:
        self._con.register("_dw_keys", pa.table({"k": keys}))
        try:
            out = self._con.sql("SELECT hash(k) AS h FROM _dw_keys").to_arrow_table()
        finally:
            self._con.unregister("_dw_keys")
        return np.asarray(out.column("h").to_numpy(), dtype=np.uint64)

    def count(self, keys: pa.Array) -> None:
        """Add one batch's class keys to the counting table (hashed inside DuckDB)."""
        self._con.register("_dw_keys", pa.table({"k": keys}))
        try:
            self._con.execute("INSERT INTO _dw_hashes SELECT hash(k) FROM _dw_keys")
        finally:
            self._con.unregister("_dw_keys")

    def below(self, k: int) -> np.ndarray:
        """Sorted hashes of the classes counted fewer than k times."""
        sql = "SELECT h FROM _dw_hashes GROUP BY h HAVING count(*) < $k ORDER BY h"
        out = self._con.sql(sql, params={"k": k}).to_arrow_table()
        # DuckDB keeps the counting pass's buffers (up to the memory limit) until its connection closes;
        # the copy pass only hashes one batch at a time, on a fresh connection
        self._con.close()
        self._con = self._connect()
        return np.asarray(out.column("h").to_numpy(), dtype=np.uint64)

    def close(self) -> None:
        self._con.close()
        self._tmp.cleanup()


def _small_classes(
    src: TableStore,
    table: str,
    qis: list[str],
    fns: dict[str, Callable[[pa.Array], pa.Array]],
    options: CopyOptions,
    hasher: _ClassHasher,
) -> np.ndarray:
    """Sorted hashes of the classes seen fewer than k times over the whole table (a pass over the QIs only)."""
    for batch in src.read_batches(table, qis, batch_size=options.batch_size):
        hasher.count(_class_key({c: fns[c](batch.column(c)) for c in qis}, qis))
    small = hasher.below(options.k)
    if len(small) and options.k_mode == "refuse":
        raise k_anonymity_refusal(table, qis, options.k, len(small))
    return small


def k_anonymity_refusal(table: str, qis: list[str], k: int, classes: int) -> DatawardError:
    """The error of ``--k-mode refuse`` when ``classes`` combinations of the quasi-identifiers occur < k times."""
    return DatawardError(
        f"table '{table}' is not {k}-anonymous on {', '.join(qis)}: "
        f"{classes} classes have fewer than {k} rows; nothing was copied",
        tip="generalise those columns further, drop them, or use --k-mode suppress",
    )


def _suppress(arrays: dict[str, pa.Array], qis: list[str], small: np.ndarray, hasher: _ClassHasher) -> int:
    """Null the quasi-identifiers of rows in classes below k; returns how many rows were touched."""
    if len(small) == 0:
        return 0
    hashes = hasher(_class_key(arrays, qis))
    pos = np.minimum(np.searchsorted(small, hashes), len(small) - 1)
    hit = small[pos] == hashes
    count = int(hit.sum())
    if count:
        mask = pa.array(hit)
        for c in qis:
            arrays[c] = pc.if_else(mask, pa.scalar(None, arrays[c].type), arrays[c])
    return count
