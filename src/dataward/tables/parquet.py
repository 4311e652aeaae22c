"""Files as tables: ``file:///dir`` is a folder of Parquet files, one per table (read and write);
``file:///path/*.parquet|csv|json|jsonl`` (a glob or one file) reads each file as a table, read-only.

``execute`` runs DuckDB SQL over the files, each visible as a view named after its table.
"""

from __future__ import annotations

import glob
import itertools
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from dataward.errors import TargetError
from dataward.tables.base import (
    DEFAULT_BATCH_SIZE,
    TableStoreBase,
    file_path,
    quote_ident,
    register_tables,
    sample_rows,
)
from dataward.targets import Target

FILE_SUFFIXES = (".parquet", ".csv", ".json", ".jsonl", ".ndjson")
ROW_GROUP_SIZE = 131_072  # row groups small enough that a sample reads a few, not the whole file


@register_tables
class FileTables(TableStoreBase):
    kind: ClassVar[str] = "file"
    schemes: ClassVar[tuple[str, ...]] = ("file",)

    def __init__(self, target: Target, *, create: bool = False) -> None:
        self.target = target
        path = file_path(target)
        self.folder: Path | None = None
        self.files: dict[str, Path] = {}
        self._loaded: dict[str, pa.Table] = {}  # CSV/JSON files read once per store
        if glob.has_magic(str(path)) or path.suffix.lower() in FILE_SUFFIXES:
            self.files = _files_for(path)
        elif path.is_dir() or create:
            if not path.is_dir():
                try:
                    path.mkdir(parents=True)
                except OSError as exc:
                    raise TargetError(f"cannot create the folder {path}: {exc.strerror}") from exc
            self.folder = path
        else:
            raise TargetError(
                f"{path} does not exist",
                tip="file:///dir is a folder of Parquet files; file:///dir/*.csv reads files as tables",
            )

    # -- where the tables are --------------------------------------------------------------------------
    def _tables(self) -> dict[str, Path]:
        if self.folder is None:
            return self.files
        return {p.stem: p for p in sorted(self.folder.glob("*.parquet")) if not p.name.startswith(".")}

    def _path(self, table: str) -> Path:
        self.require_table(table)
        return self._tables()[table]

    def _writable(self) -> Path:
        if self.folder is None:
            raise TargetError(
                f"{self.target.display} names files, which dataward only reads",
                tip="write to a folder: file:///dir",
            )
        return self.folder

    def list_tables(self) -> list[str]:
        return sorted(self._tables())

    # -- reading ----------------------------------------------------------------------------------------
    def _table(self, table: str) -> pa.Table:
        """A CSV or JSON file read whole (they have no row index to seek in); cached for this store."""
        if table not in self._loaded:
            self._loaded[table] = _read_text_file(self._path(table))
        return self._loaded[table]

    def _is_parquet(self, table: str) -> bool:
        return self._path(table).suffix.lower() == ".parquet"

    def schema(self, table: str) -> pa.Schema:
        path = self._path(table)
        if self._is_parquet(table):
            return _guard(path, lambda: pq.read_schema(path))
        return self._table(table).schema

    def estimate_rows(self, table: str) -> int:
        return self.count_rows(table)

    def count_rows(self, table: str) -> int:
        path = self._path(table)
        if self._is_parquet(table):
            return int(_guard(path, lambda: pq.ParquetFile(path).metadata.num_rows))
        return self._table(table).num_rows

    def read_batches(
        self, table: str, columns: list[str] | None = None, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> Iterator[pa.RecordBatch]:
        cols = self.require_columns(table, columns)
        path = self._path(table)
        if not self._is_parquet(table):
            yield from self._table(table).select(cols).to_batches(max_chunksize=batch_size)
            return
        try:
            # pre_buffer (pyarrow's default) caches the byte ranges of every row group being iterated, so
            # memory grows to the size of the columns read in the file; without it one row group is held
            yield from pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=batch_size, columns=cols)
        except (OSError, pa.ArrowException) as exc:
            raise TargetError(f"cannot read {path}: {exc}") from exc

    def sample(self, table: str, n: int, seed: int = 0) -> pa.Table:
        """Random row groups (seeded) until they hold a few times ``n`` rows, then ``n`` rows of those."""
        if not self._is_parquet(table):
            return sample_rows(self._table(table), n, seed)
        path = self._path(table)
        pf = _guard(path, lambda: pq.ParquetFile(path))
        groups = np.random.default_rng(seed).permutation(pf.metadata.num_row_groups).tolist()
        chosen: list[int] = []
        rows = 0
        for g in groups:
            chosen.append(g)
            rows += pf.metadata.row_group(g).num_rows
            if rows >= 4 * n:
                break
        if not chosen:
            return pf.schema_arrow.empty_table()
        return sample_rows(_guard(path, lambda: pf.read_row_groups(sorted(chosen))), n, seed)

    # -- writing ----------------------------------------------------------------------------------------
    def write_table(self, table: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> int:
        """Write ``<table>.parquet`` through a hidden temp file renamed at the end, so no half file remains."""
        folder = self._writable()
        final = folder / f"{table}.parquet"
        if final.exists():
            raise TargetError(f"table '{table}' already exists in {folder}")
        tmp = folder / f".{table}.parquet.tmp-{os.getpid()}"
        written = 0
        stream = iter(batches)
        first = next(stream, None)
        try:
            with pq.ParquetWriter(
                tmp, schema, compression="snappy", use_dictionary=_dictionary_columns(first, schema)
            ) as writer:
                for batch in itertools.chain([first] if first is not None else [], stream):
                    writer.write_batch(batch, row_group_size=ROW_GROUP_SIZE)
                    written += batch.num_rows
            os.replace(tmp, final)
        except OSError as exc:
            raise TargetError(f"cannot write {final}: {exc.strerror or exc}") from exc
        finally:
            tmp.unlink(missing_ok=True)
        return written

    def drop_table(self, table: str) -> None:
        (self._writable() / f"{table}.parquet").unlink(missing_ok=True)

    def rename_table(self, old: str, new: str) -> None:
        folder = self._writable()
        self.require_table(old)
        if (folder / f"{new}.parquet").exists():
            raise TargetError(f"table '{new}' already exists in {folder}")
        os.replace(folder / f"{old}.parquet", folder / f"{new}.parquet")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """DuckDB SQL over the files; every table is a view of its name (``SELECT count(*) FROM users``)."""
        import duckdb

        conn = duckdb.connect()
        try:
            for name, path in self._tables().items():
                reader = {".parquet": "read_parquet", ".csv": "read_csv_auto"}.get(
                    path.suffix.lower(), "read_json_auto"
                )
                # DDL cannot take parameters; the path is quoted as an SQL string literal
                literal = "'" + str(path).replace("'", "''") + "'"
                conn.execute(f"CREATE VIEW {quote_ident(name)} AS SELECT * FROM {reader}({literal})")  # noqa: S608 - names quoted by quote_ident
            return conn.execute(sql, list(params)).fetchall()
        except duckdb.Error as exc:
            raise TargetError(f"the query over {self.target.display} failed: {exc}") from exc
        finally:
            conn.close()

    def close(self) -> None:
        self._loaded.clear()


def _dictionary_columns(first: pa.RecordBatch | None, schema: pa.Schema) -> list[str]:
    """String columns worth dictionary-encoding, judged on the first batch (under 10 % distinct values).

    Trying a dictionary on high-cardinality columns (tokens, emails, ids) costs about as much as the rest of
    the write and is then abandoned by the writer anyway.
    """
    if first is None or first.num_rows == 0:
        return []
    names = []
    for f in schema:
        if pa.types.is_string(f.type) or pa.types.is_large_string(f.type):
            distinct = pc.count_distinct(first.column(f.name)).as_py()
            if distinct < 0.1 * first.num_rows:
                names.append(f.name)
    return names


def _files_for(pattern: Path) -> dict[str, Path]:
    matches = sorted(Path(p) for p in glob.glob(str(pattern)) if Path(p).suffix.lower() in FILE_SUFFIXES)
    if not matches:
        raise TargetError(f"no .parquet, .csv, .json or .jsonl file matches {pattern}")
    stems = [p.stem for p in matches]
    return {(p.stem if stems.count(p.stem) == 1 else p.name): p for p in matches}


def _read_text_file(path: Path) -> pa.Table:
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pacsv.read_csv(path)
        if suffix in (".jsonl", ".ndjson"):
            return pajson.read_json(path)
        with path.open(encoding="utf-8") as fh:
            head = fh.read(1).lstrip()
            fh.seek(0)
            if head == "[":
                return pa.Table.from_pylist(json.load(fh))
        return pajson.read_json(path)  # a .json file with one object per line
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise TargetError(f"cannot read {path} as a table: {_reason(exc)} (its rows are not quoted)") from exc


def _reason(exc: Exception) -> str:
    """Why a file is not a table, without its content: pyarrow's and json's messages go on to quote the row or
    the value they stumbled on ("CSV parse error: Expected 2 columns, got 3: <the row>"), so only their head."""
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    head = (str(exc).splitlines() or [""])[0].split(":")[0].strip()
    return head if head and len(head) <= 80 and not any(q in head for q in "'\"`") else "not valid JSON or CSV"


def _guard(path: Path, read: Any) -> Any:
    try:
        return read()
    except (OSError, pa.ArrowException) as exc:
        raise TargetError(f"cannot read {path} as Parquet: {str(exc).splitlines()[0]}") from exc
