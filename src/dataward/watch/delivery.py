"""The alert outbox sender: deliver pending alerts, retry failures with doubling back-off, record everything.

Runs in its own thread with its own database connection (the prober keeps writing meanwhile). A failed
attempt stays ``pending`` with ``next_attempt`` set; after ``max_attempts`` it becomes ``failed`` (kept,
counted in metrics and printed on stderr), so no alert disappears without a trace.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from dataward.watch.alerts.base import DeliveryError, Sink
from dataward.watch.config import WatchConfig
from dataward.watch.metrics import WatchMetrics
from dataward.watch.model import iso
from dataward.watch.state import StateDB, open_state


class Deliverer:
    def __init__(self, config: WatchConfig, sinks: dict[str, Sink], metrics: WatchMetrics,
                 log: Callable[[str], None] | None = None) -> None:
        self.config = config
        self.sinks = sinks
        self.metrics = metrics
        self.log = log or (lambda line: print(line, file=sys.stderr))
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def deliver_due(self, db: StateDB) -> int:
        """Try every alert whose time has come once; returns how many are still pending."""
        now = datetime.now(UTC)
        for row in db.due_alerts(iso(now)):
            sink = self.sinks.get(row.sink)
            try:
                if sink is None:
                    raise DeliveryError(f"sink '{row.sink}' is no longer configured")
                sink.send(row.payload)
            except Exception as exc:  # a sink must never take the watcher down
                reason = str(exc) if isinstance(exc, DeliveryError) else f"{type(exc).__name__}"
                attempts = row.attempts + 1
                if attempts >= self.config.max_attempts or sink is None:
                    db.mark_failed(row.id, reason, None)
                    self.metrics.alert(row.sink, "failed")
                    self.log(f"warning: alert {row.event} for {row.store} to {row.sink} failed after "
                             f"{attempts} attempts: {reason}")
                else:
                    delay = min(self.config.retry_base * 2 ** (attempts - 1), self.config.max_backoff)
                    db.mark_failed(row.id, reason, iso(now + timedelta(seconds=delay)))
                    self.metrics.alert(row.sink, "retry")
                continue
            db.mark_sent(row.id, iso(datetime.now(UTC)))
            self.metrics.alert(row.sink, "sent")
        return len(db.alerts("pending"))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="dataward-alerts", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        db = open_state(self.config.state)
        try:
            while not self._stop.is_set():
                try:
                    self.deliver_due(db)
                except Exception as exc:  # e.g. the database is briefly locked: try again soon
                    self.log(f"warning: alert delivery pass failed: {type(exc).__name__}: {exc}")
                self.wake.wait(timeout=min(1.0, self.config.retry_base))
                self.wake.clear()
        finally:
            db.close()

    def stop(self) -> None:
        self._stop.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
