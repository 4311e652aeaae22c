"""The state database's record of the control plane's jobs (``cp_jobs``): a :class:`~dataward.serve.jobs.JobStore`
for :class:`~dataward.serve.jobs.JobRunner`, so the incident page and ``GET /api/v1/incidents/{name}`` show the
last job of each step after a restart (who ran it, when, how it ended).

A job's result is kept as its counts: lists of ids (``unconfirmed`` devices, ``samples``) are left out of the
record, leaving their count; the sentences are the library's, which never quote a value::

    store = StateJobStore(engine)
    runner = JobRunner(store=store)      # jobs left `running` by a dead process are now `interrupted`
    store.latest("dec-leak")             # {"notify": Job, ...}
"""

from __future__ import annotations

import json
from typing import Any, Final

from sqlalchemy import Engine, Row, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from dataward.serve.jobs import INTERRUPTED, RUNNING, Job
from dataward.state.schema import cp_jobs

ID_LISTS: Final = ("unconfirmed", "samples")  # lists of ids in a result: only their count is recorded


class StateJobStore:
    """Jobs in ``cp_jobs`` of the state database behind ``engine``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, job: Job) -> int:
        with self.engine.begin() as conn:
            inserted = conn.execute(insert(cp_jobs).values(
                incident=job.incident, step=job.step, user_name=job.user, state=job.state,
                started_at=job.started_at, options=json.dumps(job.options)))
            key = inserted.inserted_primary_key
        assert key is not None  # an INSERT of one row always has it
        return int(key[0])

    def save(self, job: Job) -> None:
        """The job's end; a database that fails now leaves the end in memory only (the job's work is done)."""
        values = {"state": job.state, "finished_at": job.finished_at, "summary": job.summary, "error": job.error,
                  "tip": job.tip, "result": None if job.result is None else json.dumps(record_of(job.result))}
        try:
            with self.engine.begin() as conn:
                conn.execute(update(cp_jobs).where(cp_jobs.c.id == job.id).values(**values))
        except SQLAlchemyError:
            return

    def latest(self, incident: str) -> dict[str, Job]:
        j = cp_jobs.c
        newest = select(func.max(j.id)).where(j.incident == incident).group_by(j.step).scalar_subquery()
        with self.engine.begin() as conn:
            rows = conn.execute(select(cp_jobs).where(j.id.in_(newest))).all()
        return {row.step: _job(row) for row in rows}

    def interrupt_running(self, at: str) -> int:
        with self.engine.begin() as conn:
            changed = conn.execute(update(cp_jobs).where(cp_jobs.c.state == RUNNING)
                                   .values(state=INTERRUPTED, finished_at=at))
        return int(changed.rowcount or 0)


def record_of(result: dict[str, Any]) -> dict[str, Any]:
    """What is recorded of a job's result: everything but lists of ids, which become their count."""
    return {key: _recorded(key, value) for key, value in result.items()}


def _recorded(key: str, value: Any) -> Any:
    if key in ID_LISTS and isinstance(value, list):
        return len(value)
    if isinstance(value, dict):
        return record_of(value)
    if isinstance(value, list):
        return [record_of(v) if isinstance(v, dict) else v for v in value]
    return value


def _job(row: Row[Any]) -> Job:
    return Job(int(row.id), row.incident, row.step, row.user_name, row.started_at, json.loads(row.options),
               state=row.state, finished_at=row.finished_at,
               result=None if row.result is None else json.loads(row.result), summary=row.summary,
               error=row.error, tip=row.tip)
