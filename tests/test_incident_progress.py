"""The incident library's progress hook (dataward.incident.progress): the blast radius and the lookup build
report each phase and their rows or files batch by batch, never per row and never a value; the same hook draws
the CLI's progress bar and a control-plane job's progress (tests/test_serve_jobs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from incident_helpers import cloud_tables, exposed_copy, users_up_to, write_store

from dataward.incident import blast_radius, lookup, ops
from dataward.incident.store import IncidentDB

USERS = 300
COPY = {"users": ["id", "email", "country"], "api_tokens": ["id", "user_id", "access_token"]}

Calls = list[tuple[str, int, "int | None"]]


@pytest.fixture(scope="module")
def incident(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, set[str]]:
    root = tmp_path_factory.mktemp("progress")
    prod_tables = cloud_tables(users=USERS)
    prod = write_store(f"sqlite:///{root}/prod.db", prod_tables)
    copy = write_store(f"sqlite:///{root}/copy.db", exposed_copy(prod_tables, COPY, users_up_to(USERS // 2)))
    location = str(root / "state.db")
    with IncidentDB(location) as db:
        ops.open_incident(db, "leak", copy, "2019-12-04", "2019-12-26")
    return location, prod, {r["email"] for r in prod_tables["users"].to_pylist() if r["email"]}


def _hook(calls: Calls):  # type: ignore[no-untyped-def]
    return lambda phase, done, total: calls.append((phase, done, total))


def test_the_blast_radius_reports_rows_read_per_batch_then_its_last_phases(
        incident: tuple[str, str, set[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    location, prod, emails = incident
    monkeypatch.setattr(blast_radius, "BATCH", 64)
    calls: Calls = []
    with IncidentDB(location) as db:
        result = ops.run_blast_radius(db, "leak", prod, progress=_hook(calls))
    assert result.affected_customers > 0
    assert calls[-2:] == [(blast_radius.AGGREGATING, 0, None), (ops.KEEPING, 0, None)]
    exposed = [done for phase, done, _ in calls if phase == "reading users"]
    assert exposed and exposed == sorted(exposed) and len(exposed) < exposed[-1]  # per batch of 64, not per row
    customers = [done for phase, done, _ in calls if phase == "reading the customers (users)"]
    assert customers == [min(USERS, 64 * i) for i in range(1, -(-USERS // 64) + 1)]  # every customer, by 64
    tokens = [done for phase, done, _ in calls if phase == "reading api_tokens"]
    assert tokens and tokens == sorted(tokens) and len(tokens) < tokens[-1]
    assert not any(e in str(calls) for e in emails)


def test_the_lookup_build_reports_customers_read_sealing_and_files_written(
        incident: tuple[str, str, set[str]], tmp_path: Path) -> None:
    location, prod, emails = incident
    calls: Calls = []
    with IncidentDB(location) as db:
        ops.run_blast_radius(db, "leak", prod)
        summary = ops.build_lookup(db, "leak", str(tmp_path / "site"), progress=_hook(calls))
    phases = list(dict.fromkeys(phase for phase, _, _ in calls))
    assert phases == ["reading users", lookup.SEALING, lookup.WRITING], calls
    assert (lookup.SEALING, 0, summary["affected"]) in calls
    written = [(done, total) for phase, done, total in calls if phase == lookup.WRITING]
    assert written[-1] == (summary["files"], summary["files"]) and len(written) <= summary["files"]
    assert not any(e in str(calls) for e in emails)


def test_an_engine_without_the_hook_still_computes(incident: tuple[str, str, set[str]]) -> None:
    """``compute`` engines written before the hook (no ``progress`` argument) keep working without one."""
    location, prod, _ = incident

    def old_engine(incident, exposure, source, schema=None):  # type: ignore[no-untyped-def]
        return blast_radius.compute(incident, exposure, source, schema)

    with IncidentDB(location) as db:
        assert ops.run_blast_radius(db, "leak", prod, compute=old_engine).affected_customers > 0
