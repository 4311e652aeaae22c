"""Copies made by `dataward copy` carry a manifest; the scan reports expired and ownerless copies from it."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from dataward.manifest import Manifest, manifest_batch, write_manifest_file
from dataward.scan import scan
from dataward.tables import open_tables
from dataward.targets import parse_target


def _manifest(**kw: object) -> Manifest:
    base: dict[str, object] = {"source": "postgresql://prod:5432/app", "plan_hash": "abc123",
                               "created_at": "2019-12-01T10:00:00Z", "owner": "data-team@example.com",
                               "expires": "2020-01-31"}
    base.update(kw)
    return Manifest(**base)  # type: ignore[arg-type]


def _sqlite_copy(path: Path, manifest: Manifest) -> str:
    url = f"sqlite:///{path}"
    with open_tables(parse_target(url), create=True) as tables:
        batch = pa.RecordBatch.from_pydict({"model": ["WYZEC3", "WYZECP2"], "connects": [10, 12]})
        tables.write_table("connectivity", batch.schema, [batch])
        mb = manifest_batch(manifest)
        tables.write_table("_dataward_manifest", mb.schema, [mb])
    return url


@pytest.mark.parametrize(
    "manifest, rules",
    [
        (_manifest(), {"policy.copy-expired"}),
        (_manifest(expires="2999-01-01"), set()),
        (_manifest(expires="2999-01-01", owner=None), {"policy.copy-owner-missing"}),
        (_manifest(expires="2999-01-01", unsafe_destination="no auth on destination"),
         {"policy.copy-unsafe-destination"}),
    ],
)
def test_sql_copy_manifest(tmp_path: Path, manifest: Manifest, rules: set[str]) -> None:
    url = _sqlite_copy(tmp_path / "copy.db", manifest)
    report = scan([parse_target(url)])
    got = {f.rule for f in report.findings if f.rule.startswith("policy.copy")}
    assert got == rules
    assert not any(o.object == "_dataward_manifest" for t in report.targets for o in t.objects)


def test_parquet_copy_manifest_file(tmp_path: Path) -> None:
    folder = tmp_path / "copy"
    url = f"file://{folder}"
    with open_tables(parse_target(url), create=True) as tables:
        batch = pa.RecordBatch.from_pydict({"model": ["WYZEC3"], "connects": [3]})
        tables.write_table("connectivity", batch.schema, [batch])
    write_manifest_file(folder, _manifest())
    report = scan([parse_target(url)])
    assert any(f.rule == "policy.copy-expired" for f in report.findings)


def _sqlite_with_manifest_table(path: Path, columns: dict[str, list[object]]) -> str:
    url = f"sqlite:///{path}"
    with open_tables(parse_target(url), create=True) as tables:
        batch = pa.RecordBatch.from_pydict(columns)
        tables.write_table("_dataward_manifest", batch.schema, [batch])
    return url


@pytest.mark.parametrize(
    "columns, rules",
    [
        # the writer's plain columns, without the JSON document: still the one Manifest model
        ({"source": ["prod"], "plan_hash": ["abc"], "created_at": ["2019-12-01T10:00:00Z"],
          "owner": ["data-team@example.com"], "expires": ["2020-01-31T12:00:00Z"]}, {"policy.copy-expired"}),
        # not a manifest dataward wrote (no source, plan_hash, created_at): no copy findings, no crash
        ({"expires_at": ["2020-01-31"]}, set()),
        ({"document": ["{not json"]}, set()),
    ],
)
def test_manifest_table_read_through_the_one_model(tmp_path: Path, columns: dict[str, list[object]],
                                                   rules: set[str]) -> None:
    report = scan([parse_target(_sqlite_with_manifest_table(tmp_path / "copy.db", columns))])
    assert {f.rule for f in report.findings if f.rule.startswith("policy.copy")} == rules
