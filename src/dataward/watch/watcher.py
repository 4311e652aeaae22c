"""The watcher: re-probe every store on its schedule, turn changes into history and alerts.

Per store and round: a fast exposure probe (``scan_target`` without sampling, ranked by what the last full
scan found inside); a full scan (sampling + classification) when none was done yet, when
``classify_interval`` has passed, or when the fast probe's findings changed, so the alert of a flip already
says what the store holds. Findings only a full scan can produce (content and policy findings) are kept
between full scans, so they do not flap. Probes run on a bounded thread pool with jitter, a per-probe
timeout (the store module's own, plus a hard guard here) and doubling back-off for unreachable stores;
the coordinator thread alone writes the state database, and alert delivery runs in its own thread.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from dataward.exposure.base import Contents
from dataward.findings import Finding, Severity
from dataward.policy.model import Policy
from dataward.scan import contents_of, scan_target
from dataward.stores.base import Budget
from dataward.targets import Target
from dataward.watch.alerts import Sink, sink_for
from dataward.watch.config import WatchConfig
from dataward.watch.delivery import Deliverer
from dataward.watch.engine import Observation, counted, step
from dataward.watch.metrics import WatchMetrics
from dataward.watch.model import Event, StoreState, iso, parse_iso
from dataward.watch.state import StateDB, open_state

Log = Callable[[str], None]


@dataclass(frozen=True)
class ProbeResult:
    at: str
    reachable: bool
    error: str | None
    findings: tuple[Finding, ...]
    contents: Contents | None
    fast_ids: tuple[str, ...]
    extra: tuple[dict[str, Any], ...]
    full: bool
    fast_s: float
    full_s: float


@dataclass(frozen=True)
class RoundSummary:
    """What ``--once`` reports: stores probed, how many are exposed or unreachable, alerts left pending."""

    stores: int
    exposed: tuple[str, ...]
    unreachable: tuple[str, ...]
    pending_alerts: int
    worst: Severity | None


def store_name(target: Target) -> str:
    return target.name or target.display


def finding_from_json(data: dict[str, Any]) -> Finding:
    fields = {k: v for k, v in data.items() if k != "schema"}
    fields["severity"] = Severity.parse(str(fields["severity"]))
    return Finding(**fields)


class Watcher:
    """Watches ``targets``; ``run()`` until stopped, or ``run_once()`` for cron."""

    def __init__(self, targets: Sequence[Target], policy: Policy | None, config: WatchConfig,
                 log: Log | None = None) -> None:
        self.targets = list({store_name(t): t for t in targets}.values())
        self.policy = policy
        self.config = config
        self.log = log or _stderr
        self.budget = Budget(timeout_s=config.timeout)
        self.db: StateDB = open_state(config.state)
        self.states: dict[str, StoreState] = self.db.load_states()
        self.sinks: dict[str, Sink] = {a.label: sink_for(a.url) for a in config.alerts}
        self.sink_events = {a.label: set(a.events) for a in config.alerts}
        self.metrics = WatchMetrics()
        self.deliverer = Deliverer(config, self.sinks, self.metrics, self.log)
        self._rng = random.Random()

    # ---- one probe (worker thread; no database access) ---------------------------------------------
    def probe(self, target: Target, state: StoreState) -> ProbeResult:
        at = datetime.now(UTC)
        t0 = time.monotonic()
        known = state.contents
        fast = scan_target(target, self.policy, budget=self.budget, sample_contents=False, contents=known)
        fast_s = time.monotonic() - t0
        if not fast.facts.reachable:
            return ProbeResult(iso(at), False, fast.facts.error, fast.findings, known, state.fast_ids,
                               state.extra, False, fast_s, 0.0)
        fast_ids = tuple(sorted(counted(fast.findings, self.config.threshold)))
        if not self._full_due(state, fast_ids, at):
            kept = [finding_from_json(e) for e in state.extra]
            seen = {f.id for f in fast.findings}
            findings = (*fast.findings, *(f for f in kept if f.id not in seen))
            return ProbeResult(iso(at), True, None, findings, known, fast_ids, state.extra, False, fast_s, 0.0)
        t1 = time.monotonic()
        full = scan_target(target, self.policy, budget=self.budget, sample_contents=True)
        full_s = time.monotonic() - t1
        if not full.facts.reachable:  # gone between the two: keep the fast view
            return ProbeResult(iso(at), True, None, fast.findings, known, fast_ids, state.extra, False, fast_s, full_s)
        contents = contents_of(full.objects) if full.objects else (known or Contents())
        full_counted = counted(full.findings, self.config.threshold)
        fast_all = {f.id for f in fast.findings}
        extra = tuple(f.to_json() for fid, f in sorted(full_counted.items()) if fid not in fast_all)
        extra_ids = {e["id"] for e in extra}
        new_fast = tuple(sorted(fid for fid in full_counted if fid not in extra_ids))
        return ProbeResult(iso(at), True, None, full.findings, contents, new_fast, extra, True, fast_s, full_s)

    def _full_due(self, state: StoreState, fast_ids: tuple[str, ...], at: datetime) -> bool:
        if state.contents is None or state.last_full is None or fast_ids != state.fast_ids:
            return True
        return (at - parse_iso(state.last_full)).total_seconds() >= self.config.classify_interval

    # ---- applying results (coordinator thread) ------------------------------------------------------
    def apply(self, target: Target, result: ProbeResult) -> StoreState:
        name = store_name(target)
        prev = self.states.get(name) or StoreState(store=name)
        categories = tuple(sorted(result.contents.categories)) if result.contents else ()
        obs = Observation(name, target.display, target.scheme, result.at, result.reachable, result.findings,
                          result.error, categories)
        tr = step(prev, obs, self.config.threshold, self.config.unreachable_after)
        state = tr.state
        if result.reachable:
            state = replace(state, contents=result.contents, fast_ids=result.fast_ids, extra=result.extra,
                            last_full=result.at if result.full else prev.last_full)
        self.db.save(state, tr.events, tr.alerts, self.sink_events, iso(datetime.now(UTC)))
        self.states[name] = state
        self._observe(target, result, state)
        for e in tr.events:
            if e.detail != "alert":
                self.log(_event_line(e))
        if tr.alerts:
            self.deliverer.wake.set()
        return state

    def _observe(self, target: Target, result: ProbeResult, state: StoreState) -> None:
        name = store_name(target)
        self.metrics.observe(name, target.scheme, "fast", result.fast_s, result.reachable, time.time(),
                             result.findings, state.exposed)
        if result.full:
            self.metrics.duration.labels(target.scheme, "full").observe(result.full_s)

    def _timed_out(self, target: Target, seconds: float) -> ProbeResult:
        state = self.states.get(store_name(target)) or StoreState(store=store_name(target))
        return ProbeResult(iso(datetime.now(UTC)), False, f"probe did not finish within {seconds:.0f} s", (),
                           state.contents, state.fast_ids, state.extra, False, seconds, 0.0)

    def _safe_probe(self, target: Target) -> ProbeResult:
        state = self.states.get(store_name(target)) or StoreState(store=store_name(target))
        try:
            return self.probe(target, state)
        except Exception as exc:  # a broken store module must not stop the watch of the others
            return ProbeResult(iso(datetime.now(UTC)), False, f"probe failed: {type(exc).__name__}", (),
                               state.contents, state.fast_ids, state.extra, False, 0.0, 0.0)

    # ---- schedules ----------------------------------------------------------------------------------
    @property
    def hard_timeout(self) -> float:
        """A probe that runs this long is counted as a failure (its late answer is dropped)."""
        return max(30.0, self.config.timeout * 10)

    def _delay(self, state: StoreState) -> float:
        base = self.config.interval
        if state.reachable is False and state.failures > 0:
            base = min(base * 2 ** (state.failures - 1), max(self.config.max_backoff, base))
        return base * (1 + self._rng.uniform(-self.config.jitter, self.config.jitter))

    def run_once(self, deliver_for: float = 30.0) -> RoundSummary:
        """Probe every store once, record and alert, then try to deliver alerts for up to ``deliver_for`` s."""
        with ThreadPoolExecutor(max_workers=max(1, self.config.concurrency), thread_name_prefix="dw-probe") as pool:
            futures = {t.display: (t, pool.submit(self._safe_probe, t)) for t in self.targets}
            for target, future in futures.values():
                try:
                    result = future.result(timeout=self.hard_timeout)
                except FutureTimeout:
                    result = self._timed_out(target, self.hard_timeout)
                self.apply(target, result)
        deadline = time.monotonic() + deliver_for
        pending = self.deliverer.deliver_due(self.db)
        while pending and time.monotonic() < deadline:
            time.sleep(min(1.0, self.config.retry_base))
            pending = self.deliverer.deliver_due(self.db)
        return self.summary(pending)

    def summary(self, pending: int) -> RoundSummary:
        names = [store_name(t) for t in self.targets]
        states = [self.states.get(n) or StoreState(store=n) for n in names]
        worst = max((Severity(w.severity) for s in states for w in s.open.values()), default=None)
        return RoundSummary(
            stores=len(names),
            exposed=tuple(s.store for s in states if s.exposed),
            unreachable=tuple(s.store for s in states if s.reachable is False),
            pending_alerts=pending,
            worst=worst,
        )

    def run(self, stop: threading.Event | None = None) -> None:
        """Watch until ``stop`` is set (SIGTERM/SIGINT in the CLI)."""
        stop = stop or threading.Event()
        if self.config.metrics_port:
            self.metrics.serve(self.config.metrics_port, self.config.metrics_host)
        self.deliverer.start()
        due = {store_name(t): time.monotonic() + self._rng.uniform(0, self.config.jitter * self.config.interval)
               for t in self.targets}
        inflight: dict[str, tuple[Target, Future[ProbeResult], float]] = {}
        abandoned: dict[str, Future[ProbeResult]] = {}
        pool = ThreadPoolExecutor(max_workers=max(1, self.config.concurrency), thread_name_prefix="dw-probe")
        try:
            while not stop.is_set():
                self._submit_due(pool, due, inflight, abandoned)
                self._collect(due, inflight, abandoned)
                next_due = min(due.values(), default=time.monotonic() + 1)
                pause = max(0.02, min(0.25, next_due - time.monotonic()))
                futures = [f for _, f, _ in inflight.values()]
                if futures:
                    wait(futures, timeout=pause, return_when="FIRST_COMPLETED")
                else:
                    stop.wait(pause)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            self.deliverer.stop()
            self.metrics.close()

    def _submit_due(self, pool: ThreadPoolExecutor, due: dict[str, float],
                    inflight: dict[str, tuple[Target, Future[ProbeResult], float]],
                    abandoned: dict[str, Future[ProbeResult]]) -> None:
        now = time.monotonic()
        for t in self.targets:
            name = store_name(t)
            if name in inflight or due[name] > now:
                continue
            if name in abandoned:
                if not abandoned[name].done():
                    continue  # the timed-out probe still hangs: do not pile up threads
                del abandoned[name]
            inflight[name] = (t, pool.submit(self._safe_probe, t), now)

    def _collect(self, due: dict[str, float], inflight: dict[str, tuple[Target, Future[ProbeResult], float]],
                 abandoned: dict[str, Future[ProbeResult]]) -> None:
        now = time.monotonic()
        for name, (t, future, started) in list(inflight.items()):
            if future.done():
                result = future.result()
            elif now - started > self.hard_timeout:
                result = self._timed_out(t, now - started)
                abandoned[name] = future
            else:
                continue
            del inflight[name]
            state = self.apply(t, result)
            due[name] = time.monotonic() + self._delay(state)

    def close(self) -> None:
        self.deliverer.stop()
        self.metrics.close()
        self.db.close()


def _event_line(e: Event) -> str:
    what = {
        "opened": "finding opened", "closed": "finding closed", "unreachable": "unreachable",
        "reachable": "reachable again",
    }.get(e.event, e.event)
    tail = f" [{e.finding}] {e.detail}" if e.finding else (f" {e.detail}" if e.detail else "")
    return f"{e.at} {e.store}: {what}{tail}"


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
