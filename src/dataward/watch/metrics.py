"""Prometheus metrics of one watcher (its own registry: no module-level state, several watchers per process).

``dataward_findings{store,severity}``, ``dataward_store_exposed{store}``, ``dataward_store_reachable{store}``,
``dataward_last_successful_probe_timestamp_seconds{store}``, ``dataward_probe_duration_seconds{kind,mode}``
(histogram), ``dataward_alerts_total{sink,outcome}`` (outcome: sent | retry | failed).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest, start_http_server
from prometheus_client import Counter as PromCounter

from dataward.errors import DatawardError
from dataward.findings import Finding, Severity

_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class WatchMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.findings = Gauge("dataward_findings", "Current findings by store and severity",
                              ["store", "severity"], registry=r)
        self.exposed = Gauge("dataward_store_exposed", "1 while the store has an open exposure window",
                             ["store"], registry=r)
        self.reachable = Gauge("dataward_store_reachable", "1 if the last probe reached the store",
                               ["store"], registry=r)
        self.last_ok = Gauge("dataward_last_successful_probe_timestamp_seconds",
                             "Unix time of the last probe that reached the store", ["store"], registry=r)
        self.duration = Histogram("dataward_probe_duration_seconds", "Probe (fast) and full scan durations",
                                  ["kind", "mode"], buckets=_BUCKETS, registry=r)
        self.alerts = PromCounter("dataward_alerts", "Alert delivery attempts by sink and outcome",
                                  ["sink", "outcome"], registry=r)
        self._server: Any = None

    def observe(self, store: str, kind: str, mode: str, seconds: float, reachable: bool, at: float,
                findings: tuple[Finding, ...], exposed: bool) -> None:
        self.duration.labels(kind, mode).observe(seconds)
        self.reachable.labels(store).set(1 if reachable else 0)
        if reachable:
            self.last_ok.labels(store).set(at)
            counts = Counter(f.severity for f in findings if not f.suppressed)
            for sev in Severity:
                self.findings.labels(store, sev.label).set(counts.get(sev, 0))
        self.exposed.labels(store).set(1 if exposed else 0)

    def alert(self, sink: str, outcome: str) -> None:
        self.alerts.labels(sink, outcome).inc()

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        """Serve /metrics on host:port (a daemon thread of prometheus_client)."""
        try:
            self._server = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            raise DatawardError(f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}",
                                tip="pick another --metrics-port") from None

    def close(self) -> None:
        if isinstance(self._server, tuple):
            server, thread = self._server
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
        self._server = None

    def text(self) -> str:
        return generate_latest(self.registry).decode()
