"""Export files: ``file:///path/*.parquet|csv|json|jsonl``, one file, or a folder of Parquet files.

The probe reports permission and web-root facts for every file the URL names (stores/_localfile.py);
record counts come from Parquet footers, and from dataward.tables for CSV/JSON files small enough to parse
within a probe. Sampling reads each file as a table through dataward.tables. Store kind: ``file``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import ClassVar

import pyarrow.parquet as pq

from dataward.stores._localfile import MAX_COUNT_BYTES, expand_paths, file_facts, file_path, table_records
from dataward.stores._tables import sample_tables
from dataward.stores.base import Budget, ExposureFacts, SampledObject, register_store
from dataward.targets import Target


@register_store
class FilesStore:
    scheme: ClassVar[str] = "file"
    schemes: ClassVar[tuple[str, ...]] = ()
    default_ports: ClassVar[tuple[int, ...]] = ()
    local: ClassVar[bool] = True
    listens: ClassVar[bool] = False
    display_name: ClassVar[str] = "export file"
    remediation: ClassVar[Mapping[str, str]] = {}

    def probe(self, target: Target, budget: Budget) -> ExposureFacts:
        paths = expand_paths(file_path(target))
        return file_facts(target, self.scheme, paths, lambda: _records(target, paths))

    def sample(self, target: Target, budget: Budget) -> Iterator[SampledObject]:
        return sample_tables(target, budget, self.scheme)


def _records(target: Target, paths: list[Path]) -> int | None:
    """Rows from Parquet footers; CSV/JSON only when small enough to parse (else unknown)."""
    if all(p.suffix.lower() == ".parquet" for p in paths):
        return sum(pq.ParquetFile(p).metadata.num_rows for p in paths)
    if sum(os.stat(p).st_size for p in paths) <= MAX_COUNT_BYTES:
        return table_records(target)
    return None
