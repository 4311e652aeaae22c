"""The demo's first step of the other half: the watcher notices the exposure the seed company missed for 22 days.

The analytics copy of the leak step (PostgreSQL on loopback) is protected again (scram); ``dataward.watch``
probes it every second as an outsider (no password); an engineer switches its protection off (every rule to
``trust``), the watcher alerts, the engineer switches it back on, and the watcher closes the exposure window. The seconds
from the switch to the alert are the number to remember; the history database is what the incident step reads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from dataward.demo.context import DemoContext
from dataward.demo.leak import naive_copy
from dataward.findings import Severity
from dataward.policy.model import Policy
from dataward.targets import Target, parse_target
from dataward.watch import WatchConfig, Watcher
from dataward.watch.model import StoreState
from dataward.watch.watcher import ProbeResult

STORE = "analytics-copy"
SEED_DAYS_TO_NOTICE = 22
WAIT_S = 60.0


class ObservedWatcher(Watcher):
    """A Watcher whose recorded probes can be waited on (a condition notified after each one is applied)."""

    def __init__(self, targets: Sequence[Target], policy: Policy | None, config: WatchConfig,
                 log: Callable[[str], None] | None = None) -> None:  # fmt: skip
        super().__init__(targets, policy, config, log)
        self.changed = threading.Condition()
        self.applied = 0

    def apply(self, target: Target, result: ProbeResult) -> StoreState:
        state = super().apply(target, result)
        with self.changed:
            self.applied += 1
            self.changed.notify_all()
        return state

    def wait_for(self, ready: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
        with self.changed:
            if not self.changed.wait_for(ready, timeout):
                raise TimeoutError(f"the demo's watcher did not see {what} within {timeout:.0f} s")

    def state(self, store: str) -> StoreState:
        return self.states.get(store) or StoreState(store=store)


def watch_the_switch(ctx: DemoContext) -> None:
    """Demo step: the watcher on a protected analytics copy while its protection is switched off, then on."""
    from dataward.localservers.postgres import postgres_available

    ctx.console.print("[bold]5. watch[/bold]: dataward watch runs on the analytics copy while an engineer switches "
                      "its protection off", soft_wrap=True)  # fmt: skip
    if not postgres_available():
        ctx.console.print("   skipped: no PostgreSQL server binary on this machine")
        return
    started = time.perf_counter()
    history = ctx.out / "watch.db"
    history.unlink(missing_ok=True)
    lines: list[str] = []
    pg = ctx.server("analytics")  # kept running to the end: the incident step reads what the copy held
    if "analytics_copy" not in ctx.state:  # the leak step did not run: the engineer's copy, made here
        naive_copy(ctx.production_url, pg.url(user="analyst", db="analytics"))
    pg.set_auth("scram")  # the copy as it should be: the watcher starts on a protected store
    outsider = pg.url(user="analyst", password="", db="analytics")
    config = WatchConfig(interval=1.0, classify_interval=3600, threshold=Severity.HIGH, state=str(history),
                         timeout=2.0, concurrency=2)  # fmt: skip
    watcher = ObservedWatcher([parse_target(outsider, name=STORE)], None, config, log=lines.append)
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,), daemon=True, name="demo-watch")
    thread.start()
    try:
        watcher.wait_for(lambda: watcher.state(STORE).last_probe is not None, "a first probe")
        protected = not watcher.state(STORE).exposed
        switched = time.perf_counter()
        pg.set_auth("trust")  # the engineer's switch: anyone on the network may now read the copy
        watcher.wait_for(lambda: watcher.state(STORE).exposed, "the exposure")
        alert_s = time.perf_counter() - switched
        pg.set_auth("scram")  # the alert's reader switches it back on
        watcher.wait_for(lambda: not watcher.state(STORE).exposed, "the fix")
    finally:
        stop.set()
        thread.join(timeout=30)
        watcher.close()
    ctx.state["exposed_url"] = pg.url(user="analyst", db="analytics")
    ctx.state["watch_history"] = str(history)
    ctx.state["state_db"] = str(history)  # the demo's state database: the watch history, then the incident
    ctx.state["watch_store"] = STORE
    ctx.state["alert_s"] = alert_s
    ctx.files["state database (watch history, incident)"] = history
    opened = [line for line in lines if "finding opened" in line]
    ctx.console.print(f"   protected at the first probe: {'yes' if protected else 'no'}; the switch to 'trust' "
                      f"raised {len(opened)} alerting finding(s) on '{STORE}'", highlight=False, soft_wrap=True)  # fmt: skip
    ctx.console.print(f"   [bold]{alert_s:.1f} s[/bold] from the switch to the alert "
                      f"(the seed company: {SEED_DAYS_TO_NOTICE} days); switched back on, the window closed",
                      highlight=False, soft_wrap=True)  # fmt: skip
    ctx.story.append(("watch", f"noticed after {SEED_DAYS_TO_NOTICE} days", f"alert {alert_s:.1f} s after the switch",
                      time.perf_counter() - started))  # fmt: skip
