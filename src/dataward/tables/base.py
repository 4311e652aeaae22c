"""Arrow table IO by URL scheme: the one way dataward reads and writes whole tables.

Every kind (SQLite, DuckDB, Parquet files, PostgreSQL, MySQL/MariaDB) is one module of this package that
registers a class with ``@register_tables`` (``TABLES``, a ``dataward.registry.Registry``); ``open_tables(target)`` picks it by the URL's scheme. Callers
(generator, classifier sampling, safe copies, analytics, blast radius) see Arrow schemas and record batches
only, never a driver, so adding a kind is adding one file.

Driver exceptions are translated here, at the boundary, into a one-sentence ``TargetError``.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable
from urllib.parse import unquote

import pyarrow as pa

from dataward.errors import TargetError
from dataward.registry import Registry, scheme_registry
from dataward.suggest import did_you_mean
from dataward.targets import Target, parse_target

DEFAULT_BATCH_SIZE = 65536


@runtime_checkable
class TableStore(Protocol):
    """A database or folder of tables, read and written as Arrow.

    ``sample`` is bounded (it never reads the whole table unless the table is smaller than the sample);
    ``estimate_rows`` comes from the store's statistics where it keeps them; ``count_rows`` is exact.
    ``execute`` is an escape hatch for callers that need raw SQL on SQL kinds (see docs/tables.md).
    """

    kind: ClassVar[str]
    target: Target

    def list_tables(self) -> list[str]: ...

    def has_table(self, table: str) -> bool: ...

    def schema(self, table: str) -> pa.Schema: ...

    def estimate_rows(self, table: str) -> int: ...

    def count_rows(self, table: str) -> int: ...

    def read_batches(
        self, table: str, columns: list[str] | None = None, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> Iterator[pa.RecordBatch]: ...

    def read_table(self, table: str, columns: list[str] | None = None) -> pa.Table: ...

    def sample(self, table: str, n: int, seed: int = 0) -> pa.Table: ...

    def write_table(self, table: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> int: ...

    def drop_table(self, table: str) -> None: ...

    def rename_table(self, old: str, new: str) -> None: ...

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def close(self) -> None: ...

    def __enter__(self) -> TableStore: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class TableStoreBase:
    """Shared behaviour of every kind: context manager, table-name checks, whole-table reads."""

    kind: ClassVar[str] = ""
    schemes: ClassVar[tuple[str, ...]] = ()
    target: Target

    def list_tables(self) -> list[str]:
        raise NotImplementedError

    def schema(self, table: str) -> pa.Schema:
        raise NotImplementedError

    def read_batches(
        self, table: str, columns: list[str] | None = None, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> Iterator[pa.RecordBatch]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def has_table(self, table: str) -> bool:
        return table in self.list_tables()

    def read_table(self, table: str, columns: list[str] | None = None) -> pa.Table:
        """The whole table in memory (small tables, tests); use ``read_batches`` for big ones."""
        schema = self.schema(table)
        if columns is not None:
            schema = pa.schema([schema.field(c) for c in columns])
        return pa.Table.from_batches(list(self.read_batches(table, columns)), schema=schema)

    def require_table(self, table: str) -> None:
        """A TargetError naming the closest existing table when ``table`` is not there."""
        tables = self.list_tables()
        if table not in tables:
            raise TargetError(
                f"{self.target.display} has no table '{table}'.{did_you_mean(table, tables)}",
                tip=f"tables there: {', '.join(tables[:20]) or 'none'}",
            )

    def require_columns(self, table: str, columns: list[str] | None) -> list[str]:
        """The requested columns (all when None), each checked against the table's schema."""
        names = self.schema(table).names
        if columns is None:
            return names
        for col in columns:
            if col not in names:
                raise TargetError(
                    f"table '{table}' of {self.target.display} has no column '{col}'.{did_you_mean(col, names)}"
                )
        return list(columns)

    def __enter__(self: _T) -> _T:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


_T = TypeVar("_T", bound=TableStoreBase)
Opener = Callable[[Target, bool], TableStore]
TABLES: Registry[type[TableStoreBase]] = scheme_registry(
    "table kind", "dataward.tables", key=lambda cls: cls.kind,
    unknown="'{name}://' does not hold tables dataward can read.", tip="table kinds: {known}",
)
# Class decorator: register a table kind under its URL schemes (constructed as ``cls(target, create=...)``).
register_tables = TABLES.register


def open_tables(target: Target | str, *, create: bool = False) -> TableStore:
    """Open the tables behind a URL; ``create`` allows creating a missing database file or folder.

    Use it as a context manager (``with open_tables(url) as db: ...``) so the connection is closed.
    """
    if isinstance(target, str):
        target = parse_target(target)
    cls = TABLES.get(target.scheme)
    store: TableStore = cls(target, create=create)  # type: ignore[call-arg, assignment]
    return store


def quote_ident(name: str, quote: str = '"') -> str:
    """Quote an SQL identifier (SQLite, DuckDB, PostgreSQL use '"'; MySQL uses '`'), doubling the quote.

    The one helper for names that cannot be driver parameters; a NUL byte is refused.
    """
    if "\x00" in name:
        raise TargetError("a table or column name contains a NUL byte")
    return quote + name.replace(quote, quote + quote) + quote


def quote_idents(names: Iterable[str], quote: str = '"') -> str:
    """A comma-separated list of quoted identifiers."""
    return ", ".join(quote_ident(n, quote) for n in names)


def prefetch(items: Iterable[Any], depth: int = 2) -> Iterator[Any]:
    """Iterate ``items`` in a background thread, ``depth`` ahead.

    Writers use it so that producing the next batch (NumPy/Arrow, which release the GIL) overlaps with the
    server ingesting the previous one. Exceptions of the producer are re-raised in the consumer.
    """
    q: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                q.put(("item", item))
            q.put(("end", None))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            q.put(("error", exc))

    worker = threading.Thread(target=produce, daemon=True, name="dataward-prefetch")
    worker.start()
    try:
        while True:
            tag, value = q.get()
            if tag == "end":
                return
            if tag == "error":
                raise value
            yield value
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                q.get(timeout=0.05)
        worker.join()


def rebatch(batches: Iterable[pa.RecordBatch], size: int) -> Iterator[pa.RecordBatch]:
    """Record batches of exactly ``size`` rows (the last one shorter), whatever the input sizes."""
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in batches:
        pending.append(batch)
        rows += batch.num_rows
        while rows >= size:
            table = pa.Table.from_batches(pending)
            head, tail = table.slice(0, size), table.slice(size)
            yield from head.combine_chunks().to_batches()
            pending, rows = tail.to_batches(), tail.num_rows
    if rows:
        yield from pa.Table.from_batches(pending).combine_chunks().to_batches()


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """A batch with exactly ``schema``'s columns and types (cast where the driver gave looser ones)."""
    if batch.schema.equals(schema):
        return batch
    arrays = [batch.column(f.name).cast(f.type) for f in schema]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def sample_rows(table: pa.Table, n: int, seed: int) -> pa.Table:
    """At most ``n`` rows of ``table`` chosen with a seeded generator, kept in their original order."""
    import numpy as np

    if table.num_rows <= n:
        return table
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(table.num_rows, size=n, replace=False))
    return table.take(pa.array(idx))


def file_path(target: Target) -> Path:
    """The local path of a file URL: ``sqlite:///abs/app.db``, ``duckdb:///abs/x.duckdb``, ``file:///dir``.

    ``scheme://relative/path`` (a host part other than localhost) is read as a path relative to the
    working folder, the way people write it by mistake.
    """
    path = unquote(target.path)
    if target.host and target.host != "localhost":
        path = target.host + path
    if not path:
        raise TargetError(
            f"'{target.display}' names no file", tip=f"write it as {target.scheme}:///path/to/file"
        )
    return Path(path)


def python_columns(batch: pa.RecordBatch) -> list[list[Any]]:
    """The batch as Python values per column, in the forms DB-API drivers bind well.

    Timestamps become naive UTC ``datetime``s, booleans stay ``bool``; a per-row loop, so only kinds
    without a bulk path (SQLite, the MySQL fallback) use it.
    """
    out: list[list[Any]] = []
    for col in batch.columns:
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        if pa.types.is_timestamp(col.type) and col.type.tz:
            col = col.cast(pa.timestamp(col.type.unit))  # Arrow keeps the UTC instant
        out.append(col.to_pylist())
    return out
