"""Alert sinks: one module per kind, registered by URL scheme; anything else goes to Apprise.

A sink gets the alert payload (already redacted, DESIGN.md 'Alerts') and either returns or raises
``DeliveryError`` with one line of why; the outbox (watch/delivery.py) retries with back-off and records
every failure, so an alert is never dropped silently.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Protocol

from dataward.registry import Registry


class DeliveryError(Exception):
    """One delivery attempt failed (the message is safe to store: no secrets, no raw values)."""


class Sink(Protocol):
    schemes: ClassVar[tuple[str, ...]]

    def __init__(self, url: str) -> None: ...

    def send(self, payload: dict[str, Any]) -> None: ...


SINKS: Registry[type[Any]] = Registry(
    "alert sink",
    package="dataward.watch.alerts",
    key=lambda cls: cls.schemes[0],
    aliases=lambda cls: cls.schemes,
    tip="sinks: {known}",
)
register_sink = SINKS.register  # class decorator: a sink for each scheme in ``cls.schemes``


def sink_for(url: str) -> Sink:
    """The sink for an alert URL: by scheme, 'stdout' / '-' for JSON lines, Apprise for the rest."""
    scheme = "stdout" if url in ("-", "stdout") else url.split(":", 1)[0].lower()
    cls: Callable[[str], Sink] = SINKS.find(scheme) or SINKS.get("apprise")
    return cls(url)


def subject(payload: dict[str, Any]) -> str:
    """'[dataward] analytics-copy exposed: Redis answers without a password'."""
    finding = payload.get("finding") or {}
    what = {"exposed": "exposed", "fixed": "fixed", "unreachable": "unreachable", "new_finding": "new finding"}
    head = f"[dataward] {payload.get('store')} {what.get(str(payload.get('event')), payload.get('event'))}"
    return head + (f": {finding.get('title')}" if finding.get("title") else "")


def text_body(payload: dict[str, Any]) -> str:
    """A plain-text rendering of the alert for mail and chat sinks (only redacted fields)."""
    finding = payload.get("finding") or {}
    window = payload.get("window") or {}
    lines = [
        subject(payload).removeprefix("[dataward] "),
        f"target: {payload.get('target')}",
        f"at: {payload.get('at')}",
    ]
    if finding:
        lines.append(f"finding: {finding.get('id')} {finding.get('rule')} ({finding.get('severity')})")
        if finding.get("evidence"):
            lines.append(f"evidence: {finding.get('evidence')}")
        if finding.get("remediation"):
            lines.append(f"remediation: {finding.get('remediation')}")
    if window.get("opened"):
        lines.append(f"window: {window.get('opened')} .. {window.get('closed') or 'still open'}")
    if payload.get("categories"):
        lines.append("holds: " + ", ".join(payload["categories"]))
    if payload.get("error"):
        lines.append(f"error: {payload['error']}")
    for f in payload.get("findings") or []:
        lines.append(f"- {f.get('severity')}: {f.get('title')} [{f.get('id')}]")
    return "\n".join(lines) + "\n"
