"""SQLite database files: permission/web-root facts (stores/_localfile.py) and table sampling.

``sqlite:///abs/path/app.db``. The probe reads the file's permission bits and counts rows through
dataward.tables; it never writes. ``details`` keys: see stores/_localfile.py.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from typing import ClassVar

from dataward.stores._localfile import expand_paths, file_facts, file_path, table_records
from dataward.stores._tables import sample_tables
from dataward.stores.base import Budget, ExposureFacts, SampledObject, register_store
from dataward.targets import Target


@register_store
class SQLiteStore:
    scheme: ClassVar[str] = "sqlite"
    schemes: ClassVar[tuple[str, ...]] = ("sqlite3",)
    default_ports: ClassVar[tuple[int, ...]] = ()
    local: ClassVar[bool] = True
    listens: ClassVar[bool] = False
    display_name: ClassVar[str] = "SQLite file"
    remediation: ClassVar[Mapping[str, str]] = {}

    def probe(self, target: Target, budget: Budget) -> ExposureFacts:
        paths = expand_paths(file_path(target))[:1]
        return file_facts(target, self.scheme, paths, lambda: table_records(target), version=sqlite3.sqlite_version)

    def sample(self, target: Target, budget: Budget) -> Iterator[SampledObject]:
        return sample_tables(target, budget, self.scheme)
