"""``dataward watch``: load the policy, build the watcher, run it (or one round with --once)."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

import click

from dataward.cli._common import COMMANDS
from dataward.durations import parse_duration
from dataward.errors import DatawardError
from dataward.findings import Severity
from dataward.policy import Policy, load_policy
from dataward.targets import Target, parse_target
from dataward.watch import Watcher, config_from_policy
from dataward.watch.config import AlertTarget


@click.command("watch")
@click.argument("urls", nargs=-1, metavar="[URL]...")
@click.option("--config", "config", type=click.Path(dir_okay=False), help="Policy file (dataward.toml): [[store]], [watch], [[alert]].")
@click.option("--interval", default=None, metavar="DURATION", help="Exposure probe interval, e.g. 15s, 1m. Default: 15s.")
@click.option("--classify-interval", default=None, metavar="DURATION",
              help="Full scan (sampling + classification) interval; also run when exposure changes. Default: 1h.")
@click.option("--state", default=None, metavar="PATH|URL",
              help="State and history database: a SQLite file or postgresql:// URL. Default: watch.db.")
@click.option("--metrics-port", type=click.IntRange(1, 65535), default=None, help="Serve Prometheus /metrics on this port.")
@click.option("--metrics-host", default=None, help="Address for /metrics. Default: 127.0.0.1.")
@click.option("--alert", "alerts", multiple=True, metavar="URL",
              help="Alert destination (repeatable): http(s):// webhook, smtp://...?to=, mailto:, stdout, or an Apprise URL.")
@click.option("--threshold", default=None, metavar="SEVERITY",
              help="Findings at or above this open an exposure window and alert. Default: high.")
@click.option("--concurrency", type=click.IntRange(1, 256), default=None, help="Stores probed at the same time. Default: 8.")
@click.option("--timeout", default=None, metavar="DURATION", help="Per-probe timeout. Default: 3s.")
@click.option("--once", is_flag=True, help="Probe every store once, record, alert, exit (for cron). Exit 1 while any store is exposed.")
@click.option("--duration", default=None, metavar="DURATION", help="Stop after this long (trials, benchmarks).")
def watch_command(
    urls: tuple[str, ...],
    config: str | None,
    interval: str | None,
    classify_interval: str | None,
    state: str | None,
    metrics_port: int | None,
    metrics_host: str | None,
    alerts: tuple[str, ...],
    threshold: str | None,
    concurrency: int | None,
    timeout: str | None,
    once: bool,
    duration: str | None,
) -> None:
    """Re-probe every store on a schedule, keep its exposure windows, alert on transitions.

    Alerts go out only when something changes: a store becomes exposed, is fixed, becomes unreachable,
    or gains a new finding at or above --threshold. History survives restarts (no duplicate alerts).

    \b
    Examples:
      dataward watch --config dataward.toml --interval 15s --metrics-port 9108
      dataward watch --config dataward.toml --once --alert https://hooks.example.com/dataward
      dataward watch redis://10.0.0.5:6379 --alert stdout --state /var/lib/dataward/watch.db
    """
    policy = load_policy(config) if config else None
    targets = _targets(urls, policy)
    cfg = config_from_policy(policy).with_overrides(
        interval=parse_duration(interval, "--interval") if interval else None,
        classify_interval=parse_duration(classify_interval, "--classify-interval") if classify_interval else None,
        state=state,
        metrics_port=metrics_port,
        metrics_host=metrics_host,
        threshold=Severity.parse(threshold) if threshold else None,
        concurrency=concurrency,
        timeout=parse_duration(timeout, "--timeout") if timeout else None,
    )
    if alerts:
        cfg = cfg.with_overrides(alerts=cfg.alerts + tuple(AlertTarget(a) for a in alerts))
    watcher = Watcher(targets, policy, cfg)
    try:
        if once:
            summary = watcher.run_once()
            click.echo(
                f"{summary.stores} stores probed: {len(summary.exposed)} exposed"
                f"{' (' + ', '.join(summary.exposed) + ')' if summary.exposed else ''},"
                f" {len(summary.unreachable)} unreachable, {summary.pending_alerts} alerts pending",
                err=True,
            )
            sys.exit(1 if summary.exposed else 0)
        stop = threading.Event()
        _stop_on_signals(stop)
        if duration:  # a daemon timer: SIGTERM ends the process at once, not when the duration ends
            timer = threading.Timer(parse_duration(duration, "--duration"), stop.set)
            timer.daemon = True
            timer.start()
        click.echo(f"watching {len(targets)} stores every {cfg.interval:g} s (state: {_safe(cfg.state)})", err=True)
        watcher.run(stop)
    finally:
        watcher.close()


def _targets(urls: tuple[str, ...], policy: Policy | None) -> list[Target]:
    targets = [parse_target(u) for u in urls] + (policy.targets() if policy else [])
    if not targets:
        raise DatawardError("nothing to watch", tip="pass --config dataward.toml with [[store]] entries, or URLs")
    return targets


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)


def _safe(location: str) -> str:
    from dataward.targets import redact_url

    return redact_url(location) if "://" in location else location


COMMANDS.register(watch_command)
