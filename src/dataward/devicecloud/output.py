"""``generate(users, seed, out)``: write a reference device cloud to any table URL, all or nothing.

Tables are written under temporary names (``_dataward_new_<table>``) and renamed into place only when every
table is complete; on any failure (or Ctrl-C) the temporary tables are dropped and a database file or folder
this run created is removed, so nothing partial is left. An output that already holds tables is refused
unless ``force`` is given; with ``force`` only the reference tables are replaced.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from dataward.devicecloud.generate import DeviceCloud
from dataward.devicecloud.ground_truth import ground_truth, write_ground_truth
from dataward.devicecloud.schema import TABLE_NAMES, arrow_schema
from dataward.errors import DatawardError, TargetError
from dataward.tables import open_tables
from dataward.tables.base import TableStore, file_path
from dataward.targets import Target, parse_target

TEMP_PREFIX = "_dataward_new_"
FILE_KINDS = ("sqlite", "sqlite3", "duckdb")
Progress = Callable[[str, int, int], None]  # (table, rows written so far, rows in the table)


@dataclass(frozen=True)
class GenerateResult:
    target: str  # redacted URL
    row_counts: dict[str, int]
    ground_truth_path: Path
    seconds: float
    seconds_per_table: dict[str, float] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(self.row_counts.values())


def ground_truth_path_for(target: Target) -> Path:
    """Where ground_truth.json goes: inside a Parquet folder, next to a database file
    (``production.duckdb`` -> ``production.ground_truth.json``), else ``<database>.ground_truth.json`` here."""
    if target.scheme == "file":
        return file_path(target) / "ground_truth.json"
    if target.scheme in FILE_KINDS:
        path = file_path(target)
        return path.with_name(f"{path.stem}.ground_truth.json")
    return Path.cwd() / f"{target.database or 'devicecloud'}.ground_truth.json"


def generate(
    users: int,
    seed: int,
    out: str | Target,
    *,
    force: bool = False,
    progress: Progress | None = None,
    ground_truth_path: Path | None = None,
    workers: int = 2,
) -> GenerateResult:
    """Generate the reference device cloud into ``out`` and write its ground truth."""
    if users < 1:
        raise DatawardError("--users must be at least 1")
    target = parse_target(out) if isinstance(out, str) else out
    truth_path = ground_truth_path or ground_truth_path_for(target)
    created_path = _path_to_remove_on_failure(target)
    if target.scheme in FILE_KINDS and not file_path(target).parent.is_dir():
        raise TargetError(
            f"the folder of {file_path(target)} does not exist", tip="create it first or fix the path"
        )
    if not truth_path.parent.is_dir() and truth_path.parent != created_path:
        raise DatawardError(f"the folder of the ground truth {truth_path} does not exist")
    cloud = DeviceCloud(users, seed)
    started = time.perf_counter()
    timings: dict[str, float] = {}
    try:
        with open_tables(target, create=True) as store:
            _check_empty(store, target, force)
            counts = cloud.row_counts()
            for table in TABLE_NAMES:
                t0 = time.perf_counter()
                batches = _reporting(cloud.batches(table, workers=workers), table, counts[table], progress)
                store.write_table(TEMP_PREFIX + table, arrow_schema(table), batches)
                timings[table] = time.perf_counter() - t0
            _swap_in(store)
        write_ground_truth(ground_truth(cloud), truth_path)
    except BaseException:
        _clean_up(target, created_path)
        raise
    return GenerateResult(target.display, counts, truth_path, time.perf_counter() - started, timings)


def _reporting(
    batches: Iterator[pa.RecordBatch], table: str, total: int, progress: Progress | None
) -> Iterator[pa.RecordBatch]:
    done = 0
    if progress:
        progress(table, 0, total)
    for batch in batches:
        yield batch
        done += batch.num_rows
        if progress:
            progress(table, done, total)


def _check_empty(store: TableStore, target: Target, force: bool) -> None:
    tables = store.list_tables()
    for stale in [t for t in tables if t.startswith(TEMP_PREFIX)]:  # left by a run that was killed
        store.drop_table(stale)
    tables = [t for t in tables if not t.startswith(TEMP_PREFIX)]
    if tables and not force:
        shown = ", ".join(tables[:6]) + (" …" if len(tables) > 6 else "")
        raise TargetError(
            f"{target.display} already holds tables ({shown})",
            tip="pass --force to replace the device-cloud tables, or choose another --out",
        )


def _swap_in(store: TableStore) -> None:
    for table in TABLE_NAMES:
        store.drop_table(table)
        store.rename_table(TEMP_PREFIX + table, table)


def _path_to_remove_on_failure(target: Target) -> Path | None:
    """The database file or Parquet folder this run would create (None when it exists already or is a server)."""
    if target.scheme not in (*FILE_KINDS, "file"):
        return None
    path = file_path(target)
    return None if path.exists() else path


def _clean_up(target: Target, created: Path | None) -> None:
    if created is not None:
        if created.is_dir():
            shutil.rmtree(created, ignore_errors=True)
        else:
            created.unlink(missing_ok=True)
            Path(f"{created}.wal").unlink(missing_ok=True)  # DuckDB's write-ahead log
        return
    try:
        with open_tables(target) as store:
            for table in store.list_tables():
                if table.startswith(TEMP_PREFIX):
                    store.drop_table(table)
    except DatawardError:
        pass  # the store is unreachable: there is nothing we could have left in it


def describe(result: GenerateResult) -> dict[str, Any]:
    """A JSON-ready summary of a run (CLI --format json, bench output)."""
    return {
        "target": result.target,
        "row_counts": result.row_counts,
        "rows": result.rows,
        "ground_truth": str(result.ground_truth_path),
        "seconds": round(result.seconds, 3),
    }
