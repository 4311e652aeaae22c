"""DuckDB database files: permission/web-root facts (stores/_localfile.py) and table sampling.

``duckdb:///abs/path/analytics.duckdb``. The probe reads the file's permission bits and counts rows
through dataward.tables; it never writes. ``details`` keys: see stores/_localfile.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import ClassVar

import duckdb

from dataward.stores._localfile import expand_paths, file_facts, file_path, table_records
from dataward.stores._tables import sample_tables
from dataward.stores.base import Budget, ExposureFacts, SampledObject, register_store
from dataward.targets import Target


@register_store
class DuckDBStore:
    scheme: ClassVar[str] = "duckdb"
    schemes: ClassVar[tuple[str, ...]] = ()
    default_ports: ClassVar[tuple[int, ...]] = ()
    local: ClassVar[bool] = True
    listens: ClassVar[bool] = False
    display_name: ClassVar[str] = "DuckDB file"
    remediation: ClassVar[Mapping[str, str]] = {}

    def probe(self, target: Target, budget: Budget) -> ExposureFacts:
        paths = expand_paths(file_path(target))[:1]
        return file_facts(target, self.scheme, paths, lambda: table_records(target), version=duckdb.__version__)

    def sample(self, target: Target, budget: Budget) -> Iterator[SampledObject]:
        return sample_tables(target, budget, self.scheme)
