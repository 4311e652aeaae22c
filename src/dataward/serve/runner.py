"""The watch engine inside ``dataward serve``: the same :class:`~dataward.watch.Watcher` as ``dataward watch``, in
a background thread over the server's state database, publishing each committed transition to the event bus.

The watcher writes its state, history and alert outbox exactly as ``dataward watch`` does (one transaction per
probe, an alert key unique per sink), so a restart repeats no alert. Stopping sets the watcher's stop event: its
loop ends between probes (a probe still running is abandoned, never half-recorded) and the thread is joined::

    runner = WatchRunner(targets, policy, config, bus)
    runner.start()
    ...
    runner.stop()          # SIGTERM / SIGINT in `dataward serve`
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

from dataward.policy.model import Policy
from dataward.serve.events import EVENTS, EventBus, event_payload
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
