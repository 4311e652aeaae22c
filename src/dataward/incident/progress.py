"""The incident library's progress hook: the long steps (the blast radius, the lookup build) call it once per
phase or per batch, never per row, so the CLI's progress bar and the control plane's job show the same thing::

    def show(phase: str, done: int, total: int | None) -> None:
        print(f"{phase}: {done} of {total or '?'}")

    run_blast_radius(db, "dec-leak", source, progress=show)   # "reading api_tokens: 60000 of ?", ...
    build_lookup(db, "dec-leak", "site/", progress=show)      # "writing range files: 4096 of 65536", ...

``phase`` names what is being done (a production table's name, never a value), ``done`` how many units of it
(rows read, files written) and ``total`` how many there will be, ``None`` when that is not known in advance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import pyarrow as pa

Progress = Callable[[str, int, "int | None"], None]


def report(progress: Progress | None, phase: str, done: int = 0, total: int | None = None) -> None:
    """Call ``progress`` when there is one."""
    if progress is not None:
        progress(phase, done, total)


def counted(batches: Iterable[pa.RecordBatch], progress: Progress | None, phase: str) -> Iterator[pa.RecordBatch]:
    """``batches`` as they are, reporting the rows read so far after each one."""
    rows = 0
    for batch in batches:
        yield batch
        rows += batch.num_rows
        report(progress, phase, rows)
