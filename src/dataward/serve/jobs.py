"""Background jobs of ``dataward serve``: incident steps that take minutes (the response playbook, the notices)
run in a thread of the server process while the pages and the API show their progress.

At most one job runs per incident and step: starting another while one runs is :class:`Running` (the API's
409). The runner keeps the jobs it runs in memory and, given a :class:`JobStore` (serve's is the state
database's ``cp_jobs``, :mod:`dataward.serve.jobstore`), records each job's start and end there: who started
it, when, its options, how it ended (its counts, never a customer value, its sentence), so the latest job of
each step survives a restart; a job the store still shows ``running`` when a runner starts died with its
process and is marked ``interrupted``. What a job did is durable in the library's own ledgers (the respond
ledger, the notify ledger): a restart loses no progress.

A job's work receives its :class:`Hooks`: called as a function, it is the *checkpoint* to pass as the
library's fault hook (``fault=``); ``hooks.progress`` is the library's progress hook (``progress=``, see
:mod:`dataward.incident.progress`: the blast radius's and the lookup build's phases and counts), kept in the
job's ``progress`` for the pages. The library calls the checkpoint at named points, and at the safe ones (before a respond batch, before a notice's write-ahead: nothing
of that unit has happened yet) it ends the job with :class:`Cancelled` once the server is stopping. A restarted
server's next run resumes from the ledgers; a job killed anywhere else is a crash the ledgers already survive
(a notice whose fate is unknown is never sent twice). Each start, end, and at most one progress tick a second
goes to ``on_change`` (serve publishes it as a ``job`` Server-Sent Event)::

    runner = JobRunner(on_change=publish, store=StateJobStore(engine))   # marks dead `running` rows interrupted
    job = runner.start("dec-leak", "notify", "rita", work, describe)   # Running if one runs
    runner.latest("dec-leak")      # {"notify": Job}: this process's, else the store's
    runner.stop(timeout=30)        # at shutdown: running jobs end at their next safe point
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from dataward.errors import DatawardError
from dataward.watch.model import iso

JOB_SCHEMA: Final = "dataward.job/v1"
EVENT_SCHEMA: Final = "dataward.event/v1"
RUNNING, DONE, FAILED, CANCELLED = "running", "done", "failed", "cancelled"
INTERRUPTED: Final = "interrupted"  # found running at start-up: its process died (a crash, SIGKILL)
SAFE_POINTS: Final = (":before_batch", ":before_write_ahead")  # the library's points where nothing is in flight
TICK_S: Final = 1.0  # at most one progress notice a second per job

Checkpoint = Callable[[str], None]


class Running(DatawardError):
    """A job of the same incident and step is still running (409)."""


class Cancelled(Exception):
    """The server is stopping: the job ends at a safe point and the next run continues from its ledger."""


@dataclass
class Job:
    """One run of an incident step: who started it, when, its options, and how it ended."""

    id: int
    incident: str
    step: str
    user: str
    started_at: str
    options: dict[str, Any] = field(default_factory=dict)
    state: str = RUNNING
    finished_at: str | None = None
    result: dict[str, Any] | None = None
    summary: str | None = None
    error: str | None = None
    tip: str | None = None
    progress: dict[str, Any] | None = None  # while it runs: the library's last phase, done, total

    def sentence(self) -> str:
        """What the page shows: one line for the job's state."""
        by = f"started by {self.user}, job {self.id}"
        if self.state == RUNNING:
            return f"running since {self.started_at} ({by}){progress_text(self.progress)}"
        if self.state == DONE:
            return f"done at {self.finished_at} ({by}): {self.summary or 'nothing to do'}"
        if self.state == CANCELLED:
            return f"stopped at {self.finished_at} when the server stopped ({by}); run it again to continue"
        if self.state == INTERRUPTED:
            return (f"interrupted: the server ended while it ran, found at {self.finished_at} ({by}); "
                    "run it again to continue (it resumes from its ledger)")
        return f"failed at {self.finished_at} ({by}): {self.error}"

    def event(self) -> dict[str, Any]:
        """The ``job`` Server-Sent Event's payload: which job changed, never its result."""
        return {"schema": EVENT_SCHEMA, "event": "job", "incident": self.incident, "step": self.step, "job": self.id,
                "state": self.state, "at": _now()}

    def to_json(self) -> dict[str, Any]:
        return {"schema": JOB_SCHEMA, "id": self.id, "incident": self.incident, "step": self.step,
                "user": self.user, "state": self.state, "started_at": self.started_at,
                "finished_at": self.finished_at, "options": self.options, "result": self.result,
                "summary": self.summary, "error": self.error, "tip": self.tip,
                "progress": self.progress if self.state == RUNNING else None, "sentence": self.sentence()}


def progress_text(progress: dict[str, Any] | None) -> str:
    """``: reading users, 40,000 of 120,000`` (or without ``of``: no total known); nothing before any."""
    if not progress:
        return ""
    done, total = progress.get("done") or 0, progress.get("total")
    count = f", {done:,} of {total:,}" if total else (f", {done:,}" if done else "")
    return f": {progress['phase']}{count}"


class Hooks:
    """What a job's work receives: the checkpoint (call it; the library's ``fault=``) and :meth:`progress`
    (the library's ``progress=``). Each at most one ``on_change`` a second."""

    def __init__(self, runner: JobRunner, job: Job) -> None:
        self.runner, self.job = runner, job
        self._ticked = time.monotonic()

    def __call__(self, point: str) -> None:
        if self.runner.stopping and point.endswith(SAFE_POINTS):
            raise Cancelled(point)
        self._tick()

    def progress(self, phase: str, done: int, total: int | None) -> None:
        self.job.progress = {"phase": phase, "done": int(done), "total": None if total is None else int(total)}
        self._tick()

    def _tick(self) -> None:
        if time.monotonic() - self._ticked >= TICK_S:
            self._ticked = time.monotonic()
            self.runner.changed(self.job)


Work = Callable[[Hooks], dict[str, Any]]


class JobStore(Protocol):
    """Where a runner records its jobs (serve: :class:`dataward.serve.jobstore.StateJobStore`)."""

    def add(self, job: Job) -> int:
        """Record a job that starts; its id."""
        ...

    def save(self, job: Job) -> None:
        """Record a job's end (its state, result, sentences)."""
        ...

    def latest(self, incident: str) -> dict[str, Job]:
        """The latest recorded job of each step of ``incident``."""
        ...

    def interrupt_running(self, at: str) -> int:
        """Mark every job still recorded as running ``interrupted`` at ``at``; how many."""
        ...


class JobRunner:
    """Threads running jobs, one per incident and step at a time, recorded in ``store`` when given."""

    def __init__(self, on_change: Callable[[Job], object] | None = None, store: JobStore | None = None) -> None:
        self.on_change = on_change
        self.store = store
        self._lock = threading.Lock()
        self._latest: dict[tuple[str, str], Job] = {}
        self._threads: dict[int, threading.Thread] = {}
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        if store is not None:
            store.interrupt_running(_now())  # this runner's process starts: none of those can still run

    def start(self, incident: str, step: str, user: str, work: Work,
              describe: Callable[[dict[str, Any]], str] | None = None,
              options: dict[str, Any] | None = None) -> Job:
        """Start ``work`` in a new thread; :class:`Running` if a job of that incident and step still runs."""
        with self._lock:
            if self._stopping.is_set():
                raise DatawardError("the server is stopping", tip="start the job again once it is back")
            current = self._latest.get((incident, step))
            if current is not None and current.state == RUNNING:
                raise Running(f"a {step} job of incident '{incident}' is already running (job {current.id}, "
                              f"started by {current.user} at {current.started_at})",
                              tip=f"wait for it to end: GET /api/v1/incidents/{incident} shows its progress")
            job = Job(0, incident, step, user, _now(), dict(options or {}))
            job.id = self.store.add(job) if self.store is not None else next(self._ids)
            thread = threading.Thread(target=self._run, args=(job, work, describe), name=f"dw-job-{job.id}",
                                      daemon=True)
            self._latest[(incident, step)] = job
            self._threads[job.id] = thread
        self.changed(job)
        thread.start()
        return job

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def _run(self, job: Job, work: Work, describe: Callable[[dict[str, Any]], str] | None) -> None:
        try:
            result = work(Hooks(self, job))
            self._end(job, DONE, result=result, summary=describe(result) if describe else None)
        except Cancelled:
            self._end(job, CANCELLED)
        except DatawardError as exc:
            self._end(job, FAILED, error=exc.message, tip=exc.tip)
        except Exception as exc:  # never its text: a driver's message may quote a value
            self._end(job, FAILED, error=f"the job stopped on an unexpected {type(exc).__name__}",
                      tip="the server's log has no more; run it again (it resumes from its ledger)")
        finally:  # only now, with its end recorded: stop() and wait() return when the record is saved
            with self._lock:
                self._threads.pop(job.id, None)

    def _end(self, job: Job, state: str, **fields: Any) -> None:
        with self._lock:
            for key, value in fields.items():
                setattr(job, key, value)
            job.state, job.finished_at = state, _now()
        if self.store is not None:
            self.store.save(job)
        self.changed(job)

    def changed(self, job: Job) -> None:
        if self.on_change is not None:
            self.on_change(job)

    def latest(self, incident: str) -> dict[str, Job]:
        """The latest job of each step of ``incident``: this runner's, else the store's (an earlier process's)."""
        recorded = self.store.latest(incident) if self.store is not None else {}
        return {**recorded, **self.latest_here(incident)}

    def latest_here(self, incident: str) -> dict[str, Job]:
        """The latest job of each step of ``incident`` this runner started (no database read)."""
        with self._lock:
            return {step: job for (name, step), job in self._latest.items() if name == incident}

    def running(self) -> list[Job]:
        with self._lock:
            return [job for job in self._latest.values() if job.state == RUNNING]

    def wait(self, job: Job, timeout: float | None = None) -> Job:
        """Wait for ``job`` to end (a synchronous answer that ran as a job); the job, ended unless ``timeout``
        passed first."""
        with self._lock:
            thread = self._threads.get(job.id)
        if thread is not None:
            thread.join(timeout)
        return job

    def request_stop(self) -> None:
        """Refuse new jobs; running ones end at their next safe point (safe from a signal handler)."""
        self._stopping.set()

    def stop(self, timeout: float = 30.0) -> None:
        """:meth:`request_stop`, then wait up to ``timeout`` seconds in all for the running jobs to end."""
        self._stopping.set()
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads.values())
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def _now() -> str:
    return iso(datetime.now(UTC))
