"""The watcher's settings: ``[watch]`` and ``[[alert]]`` in dataward.toml, overridden by command-line options.

```toml
[watch]
interval = "15s"            # exposure probes of every store
classify_interval = "1h"    # full scan (sampling + classification); also whenever exposure changes
threshold = "high"          # findings at or above this open an exposure window and alert
state = "watch.db"          # SQLite file, or postgresql://... (history lives here)
metrics_port = 9108
concurrency = 8
timeout = "3s"              # per probe (the store module's own timeout)
unreachable_after = 2       # consecutive failed probes before an 'unreachable' alert
```
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dataward.config_values import resolve_value
from dataward.durations import parse_duration
from dataward.errors import ConfigError
from dataward.findings import Severity
from dataward.policy.model import Policy
from dataward.suggest import did_you_mean

EVENTS = ("exposed", "fixed", "unreachable", "new_finding")


@dataclass(frozen=True)
class AlertTarget:
    """One alert destination: a URL (webhook, smtp/mailto, stdout, or an Apprise URL) and its event filter."""

    url: str
    events: tuple[str, ...] = EVENTS
    name: str | None = None

    @property
    def label(self) -> str:
        """A stable name safe to store and print: no password, and no path or query (webhook URLs often
        carry their secret there, e.g. Slack's /services/T../B../XXXX), only a short hash to tell them apart."""
        if self.name:
            return self.name
        if "://" not in self.url:
            return self.url.split("?")[0]
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        where = f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")
        if parts.path.strip("/") or parts.query or parts.username:
            where += "/#" + hashlib.sha256(self.url.encode()).hexdigest()[:8]
        return where


@dataclass(frozen=True)
class WatchConfig:
    interval: float = 15.0
    classify_interval: float = 3600.0
    threshold: Severity = Severity.HIGH
    state: str = "watch.db"
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    concurrency: int = 8
    timeout: float = 3.0
    jitter: float = 0.1  # +- fraction of the interval, so 200 stores are not probed in one burst
    unreachable_after: int = 2
    max_backoff: float = 300.0
    retry_base: float = 1.0  # first alert redelivery after this many seconds, doubling
    max_attempts: int = 8
    alerts: tuple[AlertTarget, ...] = field(default_factory=tuple)

    def with_overrides(self, **changes: Any) -> WatchConfig:
        """The config with the command line's options (None = not given) applied."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


_KEYS = {
    "interval", "classify_interval", "threshold", "state", "metrics_port", "metrics_host", "concurrency",
    "timeout", "jitter", "unreachable_after", "max_backoff", "retry_base", "max_attempts",
}


def config_from_policy(policy: Policy | None) -> WatchConfig:
    """Read ``[watch]`` and ``[[alert]]``; unknown keys are an error with a suggestion."""
    if policy is None:
        return WatchConfig()
    raw = dict(policy.watch)
    for key in raw:
        if key not in _KEYS:
            raise ConfigError(f"[watch] has no setting '{key}'.{did_you_mean(key, sorted(_KEYS))}")
    values: dict[str, Any] = {}
    for key in ("interval", "classify_interval", "timeout", "max_backoff", "retry_base"):
        if key in raw:
            values[key] = parse_duration(raw[key], f"[watch] {key}")
    if "threshold" in raw:
        values["threshold"] = Severity.parse(str(raw["threshold"]))
    for key in ("concurrency", "unreachable_after", "max_attempts", "metrics_port"):
        if key in raw:
            values[key] = _positive_int(raw[key], f"[watch] {key}")
    if "jitter" in raw:
        values["jitter"] = float(raw["jitter"])
    if "state" in raw:
        values["state"] = _state_location(resolve_value(raw["state"], "[watch] state"), policy)
    if "metrics_host" in raw:
        values["metrics_host"] = str(raw["metrics_host"])
    values["alerts"] = tuple(_alert(a.url, a.events, a.name, i, policy) for i, a in enumerate(policy.alert))
    return WatchConfig(**values)


def _alert(url: Any, events: list[str] | None, name: str | None, index: int, policy: Policy) -> AlertTarget:
    base = Path(policy.source).parent if policy.source else None
    resolved = resolve_value(url, f"alert {name or index + 1} url", base)
    for e in events or ():
        if e not in EVENTS:
            raise ConfigError(f"alert event '{e}' is not one of {', '.join(EVENTS)}.{did_you_mean(e, EVENTS)}")
    return AlertTarget(resolved, tuple(events) if events else EVENTS, name)


def alert_from_url(url: str) -> AlertTarget:
    """An ``--alert URL`` from the command line (every event)."""
    return AlertTarget(url)


def _state_location(value: str, policy: Policy) -> str:
    """A relative SQLite path in the policy is relative to the policy file."""
    if "://" in value or Path(value).is_absolute() or not policy.source:
        return value
    return str(Path(policy.source).parent / value)


def _positive_int(value: Any, where: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where} must be a whole number, not '{value}'") from None
    if number <= 0:
        raise ConfigError(f"{where} must be larger than zero")
    return number
