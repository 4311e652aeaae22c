"""Writing a copy so that a failure leaves the destination exactly as it was.

SQL destinations (PostgreSQL, DuckDB, SQLite) receive every table under a staging name
(``_dw_stage_<run>_<table>``); only when every table and the manifest are written do the stages replace the
tables of the same names. A Parquet directory is written as a sibling temporary directory and swapped in by
renames. On any error the stages (or the temporary directory, or a database file the run created) are removed.
"""

from __future__ import annotations

import contextlib
import os
import queue
import secrets
import shutil
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa

from dataward.errors import DatawardError, TargetError
from dataward.manifest import (
    MANIFEST_FILE,
    MANIFEST_TABLE,
    Manifest,
    manifest_batch,
    parquet_dir,
    write_manifest_file,
)
from dataward.tables import open_tables
from dataward.tables.base import TableStore, file_path, quote_ident
from dataward.targets import Target, parse_target

DEST_SCHEMES = ("postgresql", "postgres", "duckdb", "sqlite", "file")
_FILE_DBS = ("duckdb", "sqlite")


class StagedWriter:
    """Stage every table, then ``commit`` swaps them in or ``abort`` removes every trace of the run."""

    def __init__(self, dest: Target) -> None:
        if dest.scheme not in DEST_SCHEMES:
            raise TargetError(
                f"a safe copy cannot be written to {dest.scheme}:// destinations",
                tip="write to postgresql://, duckdb:///path, sqlite:///path or file:///dir (Parquet)",
            )
        self.dest = dest
        self.run_id = secrets.token_hex(4)
        self._staged: dict[str, str] = {}
        self._dir = parquet_dir(dest)
        if dest.scheme == "file" and self._dir is None:
            raise TargetError(
                f"{dest.display} is a file pattern; a copy is written to a directory",
                tip="write it as file:///path/to/dir (one Parquet file per table)",
            )
        self._created_file: Path | None = None
        self._stage_dir: Path | None = None
        self._store = self._open()

    def _open(self) -> TableStore:
        if self._dir is not None:
            self._check_dir(self._dir)
            self._stage_dir = self._dir.parent / f".{self._dir.name}.dw-stage-{self.run_id}"
            self._stage_dir.mkdir(mode=0o700)
            return open_tables(parse_target(self._stage_dir.as_uri()), create=True)
        if self.dest.scheme in _FILE_DBS:
            path = file_path(self.dest)
            if not path.parent.is_dir():
                raise TargetError(f"the folder of {path} does not exist")
            if not path.exists():
                self._created_file = path
        store = open_tables(self.dest, create=True)
        if self._created_file is not None and self._created_file.exists():
            os.chmod(self._created_file, 0o600)
        return store

    @staticmethod
    def _check_dir(directory: Path) -> None:
        if not directory.parent.is_dir():
            raise TargetError(f"the folder of {directory} does not exist")
        if directory.exists() and not directory.is_dir():
            raise TargetError(f"{directory} exists and is not a directory")
        if directory.is_dir() and any(directory.iterdir()) and not (directory / MANIFEST_FILE).exists():
            raise DatawardError(
                f"{directory} holds files that are not a dataward copy; refusing to replace them",
                tip="copy into an empty or new directory",
            )

    @property
    def existing_tables(self) -> list[str]:
        if self._dir is not None:
            return sorted(p.stem for p in self._dir.glob("*.parquet")) if self._dir.is_dir() else []
        return [t for t in self._store.list_tables() if not t.startswith("_dw_stage_")]

    def stage_name(self, table: str) -> str:
        return table if self._dir is not None else f"_dw_stage_{self.run_id}_{table}"

    def write(self, table: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> int:
        name = self.stage_name(table)
        self._staged[table] = name
        return self._store.write_table(name, schema, batches)

    def write_manifest(self, manifest: Manifest) -> None:
        if self._stage_dir is not None:
            write_manifest_file(self._stage_dir, manifest)
            return
        batch = manifest_batch(manifest)
        self.write(MANIFEST_TABLE, batch.schema, [batch])

    def commit(self) -> None:
        """Swap the staged tables in; the tables of a previous copy with the same names are replaced."""
        if self._stage_dir is not None and self._dir is not None:
            self._store.close()
            self._swap_dirs(self._stage_dir, self._dir)
            return
        existing = set(self._store.list_tables())
        statements = []
        for table, stage in self._staged.items():
            if table in existing:
                statements.append(f"DROP TABLE {quote_ident(table)}")
            statements.append(f"ALTER TABLE {quote_ident(stage)} RENAME TO {quote_ident(table)}")
        self._in_transaction(statements)
        self._staged.clear()
        self._store.close()

    def _in_transaction(self, statements: list[str]) -> None:
        """Run the swap as one transaction (PostgreSQL, DuckDB and SQLite all have transactional DDL), so
        readers see either the old copy or the new one, never a mix."""
        self._store.execute("BEGIN")
        try:
            for statement in statements:
                self._store.execute(statement)
        except BaseException:
            self._store.execute("ROLLBACK")
            raise
        self._store.execute("COMMIT")

    def _swap_dirs(self, stage: Path, final: Path) -> None:
        old = final.parent / f".{final.name}.dw-old-{self.run_id}"
        if final.exists():
            final.rename(old)
        stage.rename(final)
        self._stage_dir = None
        shutil.rmtree(old, ignore_errors=True)

    def abort(self) -> None:
        """Remove every staged table, the staging directory, or the database file this run created."""
        try:
            if self._stage_dir is not None:
                self._store.close()
                shutil.rmtree(self._stage_dir, ignore_errors=True)
                return
            for stage in self._staged.values():
                with contextlib.suppress(DatawardError):
                    self._store.drop_table(stage)
            self._store.close()
        finally:
            if self._created_file is not None:
                for suffix in ("", ".wal", "-journal", "-wal", "-shm"):
                    Path(str(self._created_file) + suffix).unlink(missing_ok=True)


class _Aborted(Exception):
    """Raised inside the destination writer when the producing side failed, so the write unwinds."""


_END = object()


class ThreadedWriter:
    """A StagedWriter confined to one worker thread, fed batches through a bounded queue.

    Every destination call runs on the same thread (SQLite connections refuse other threads), while the
    caller's thread reads the source and runs the transforms, so reading and writing overlap and at most
    ``depth`` batches are in flight: memory stays bounded by the batch size.
    """

    def __init__(self, dest: Target, depth: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dataward-copy-writer")
        self._depth = depth
        try:
            self._writer: StagedWriter = self._pool.submit(StagedWriter, dest).result()
        except BaseException:
            self._pool.shutdown()
            raise

    @property
    def existing_tables(self) -> list[str]:
        return self._pool.submit(lambda: self._writer.existing_tables).result()

    def write(self, table: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> int:
        q: queue.Queue[object] = queue.Queue(maxsize=self._depth)

        def items() -> Iterator[pa.RecordBatch]:
            while True:
                item = q.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise _Aborted("the copy stopped while writing") from item
                yield item

        future = self._pool.submit(self._writer.write, table, schema, items())
        try:
            for batch in batches:
                self._put(q, batch, future)
            self._put(q, _END, future)
        except BaseException as exc:
            if not future.done():
                self._put(q, exc, future)
            with contextlib.suppress(BaseException):
                future.result()
            raise
        return future.result()

    @staticmethod
    def _put(q: queue.Queue[object], item: object, future: Future[int]) -> None:
        while True:
            if future.done():
                future.result()  # the writer failed: raise its error here
                return
            try:
                q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def write_manifest(self, manifest: Manifest) -> None:
        self._pool.submit(self._writer.write_manifest, manifest).result()

    def commit(self) -> None:
        try:
            self._pool.submit(self._writer.commit).result()
        finally:
            self._pool.shutdown()

    def abort(self) -> None:
        try:
            self._pool.submit(self._writer.abort).result()
        finally:
            self._pool.shutdown()
