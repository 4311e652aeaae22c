"""The watch engine inside ``dataward serve``: the same :class:`~dataward.watch.Watcher` as ``dataward watch``, in
a background thread over the server's state database, publishing each committed transition to the event bus.

The watcher writes its state, history and alert outbox exactly as ``dataward watch`` does (one transaction per
probe, an alert key unique per sink), so a restart repeats no alert. Stopping sets the watcher's stop event: its
loop ends between probes (a probe still running is abandoned, never half-recorded) and the thread is joined::

    runner = WatchRunner(targets, policy, config, bus)
    runner.start()
    ...
    runner.stop()          # SIGTERM / SIGINT in `dataward serve`

Without stores of its own, :class:`HistoryPoller` publishes what a ``dataward watch`` elsewhere records.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from dataward.findings import Severity
from dataward.policy.model import Policy
from dataward.serve.events import EVENTS, EventBus, event_payload
from dataward.state.schema import events as events_t
from dataward.state.schema import stores as stores_t
from dataward.state.schema import windows as windows_t
from dataward.targets import Target
from dataward.watch import Watcher
from dataward.watch.config import WatchConfig
from dataward.watch.model import Alert, Event, StoreState
from dataward.watch.state import StateDB
from dataward.watch.watcher import Log


class PublishingStateDB(StateDB):
    """The watcher's database, sharing its engine; every committed probe's alerts go to the bus too."""

    def __init__(self, inner: StateDB, bus: EventBus) -> None:  # shares the engine: no second pool
        self.location = inner.location
        self.engine = inner.engine
        self.bus = bus

    def save(self, state: StoreState, events: Iterable[Event], alerts: Iterable[Alert], sinks: dict[str, set[str]],
             now: str) -> None:
        alerts = list(alerts)
        super().save(state, events, alerts, sinks, now)
        for a in alerts:  # after the commit: a listener never sees a transition the database does not have
            if a.event in EVENTS:
                self.bus.publish(a.event, event_payload(a.event, a.payload))


class WatchRunner:
    """A :class:`Watcher` running in a daemon thread until :meth:`stop`."""

    def __init__(self, targets: Sequence[Target], policy: Policy | None, config: WatchConfig, bus: EventBus,
                 log: Log | None = None) -> None:
        self.watcher = Watcher(targets, policy, config, log=log)
        self.watcher.db = PublishingStateDB(self.watcher.db, bus)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dw-watch", daemon=True)
        self.error: BaseException | None = None

    @property
    def stores(self) -> int:
        return len(self.watcher.targets)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            self.watcher.run(self._stop)
        except BaseException as exc:  # reported by stop(); the API keeps serving what is recorded
            self.error = exc
            self.watcher.log(f"the watch engine stopped: {type(exc).__name__}")

    def request_stop(self) -> None:
        """Ask the loop to end after the probe it is applying (safe from a signal handler)."""
        self._stop.set()

    def stop(self, timeout: float = 30.0) -> None:
        """End the watch between probes, wait for the thread, and close the watcher."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self.watcher.close()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()


class HistoryPoller:
    """For a ``dataward serve`` without stores of its own (``dataward watch`` runs elsewhere on the same state
    database): the watcher's recorded transitions (``events`` rows marked ``alert``), read every ``every``
    seconds and published to the bus. Only transitions recorded after the start are sent."""

    def __init__(self, db: StateDB, bus: EventBus, every: float = 0.5) -> None:
        self.db = db
        self.bus = bus
        self.every = every
        with db.engine.begin() as conn:
            self.last = int(conn.execute(select(func.coalesce(func.max(events_t.c.id), 0))).scalar_one())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dw-history-poll", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def request_stop(self) -> None:
        self._stop.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.poll()
            except SQLAlchemyError:  # the database is busy or gone for a moment: the next round retries
                continue

    def poll(self) -> int:
        """Publish the transitions recorded since the last call; how many."""
        e, w, s = events_t.c, windows_t.c, stores_t.c
        with self.db.engine.begin() as conn:
            rows = conn.execute(select(e.id, e.at, e.store, e.event, e.finding)
                                .where(e.id > self.last, e.detail == "alert", e.event.in_(EVENTS))
                                .order_by(e.id)).all()
            if not rows:
                return 0
            names = sorted({r.store for r in rows})
            kinds = {n: (k, t) for n, k, t in conn.execute(select(s.store, s.kind, s.target).where(s.store.in_(names)))}
            found = conn.execute(select(w.store, w.finding, w.rule, w.severity, w.title, w.categories, w.opened,
                                        w.closed, w.last_secure).where(w.store.in_(names)).order_by(w.id)).all()
        for r in rows:
            self.last = r.id
            kind, target = kinds.get(r.store, (None, None))
            if r.event == "fixed":  # the windows that probe closed
                mine = [f for f in found if f.store == r.store and f.closed == r.at]
            else:  # the windows open at the time of the transition
                mine = [f for f in found if f.store == r.store and f.opened <= r.at
                        and (f.closed is None or f.closed > r.at)]
            head = next((f for f in reversed(found) if f.store == r.store and f.finding == r.finding
                         and f.opened <= r.at), None) if r.finding else None
            alert = {
                "store": r.store, "kind": kind, "target": target, "at": r.at,
                "finding": None if head is None else _finding_brief(head),
                "findings": [_finding_brief(f) for f in mine],
                "categories": sorted({c for f in mine for c in json.loads(f.categories or "[]")}),
                "window": {"opened": min((f.opened for f in mine), default=None),
                           "closed": r.at if r.event == "fixed" else None,
                           "last_secure": None if head is None or r.event == "fixed" else head.last_secure},
            }
            self.bus.publish(r.event, event_payload(r.event, alert))
        return len(rows)


def _finding_brief(f: Any) -> dict[str, Any]:
    return {"id": f.finding, "rule": f.rule, "severity": Severity(int(f.severity or 0)).label, "title": f.title}
