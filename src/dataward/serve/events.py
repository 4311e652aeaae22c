"""The in-process event bus of ``dataward serve``: the watcher's transitions, fanned out to Server-Sent Events.

The watcher thread calls :meth:`EventBus.publish` once its transition is committed to the state database (the
alert outbox's ``exposed``, ``fixed``, ``unreachable`` and ``new_finding``); each ``GET /api/v1/events`` client
holds a :class:`Subscription` (an asyncio queue on the server's loop). Payloads are built by :func:`event_payload`
from the alert's fields by allow-list: store, kind, redacted target, time, finding ids, rules, severities, titles,
categories and the window; never evidence, never a value. A short ring buffer lets a client that reconnects with
``Last-Event-ID`` catch up::

    bus = EventBus()
    bus.publish("exposed", payload)       # any thread
    sub = bus.subscribe()                 # in the server's event loop
    message = await sub.get(timeout=15)   # None on timeout (send a keep-alive); raises Closed at shutdown
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Final

EVENTS: Final = ("exposed", "fixed", "unreachable", "new_finding")
EVENT_SCHEMA: Final = "dataward.event/v1"
_FINDING_KEYS: Final = ("id", "rule", "severity", "title")


@dataclass(frozen=True)
class Message:
    """One event as sent: ``id:``, ``event:`` and the JSON ``data:`` line of an SSE frame."""

    id: int
    event: str
    data: dict[str, Any]

    def frame(self) -> str:
        return f"id: {self.id}\nevent: {self.event}\ndata: {json.dumps(self.data, sort_keys=True)}\n\n"


def event_payload(event: str, alert: dict[str, Any]) -> dict[str, Any]:
    """The SSE payload of an alert (``dataward.alert/v1``), by allow-list: no evidence, no value, no credential."""
    finding = alert.get("finding")
    window = alert.get("window") or {}
    return {
        "schema": EVENT_SCHEMA,
        "event": event,
        "store": alert.get("store"),
        "kind": alert.get("kind"),
        "target": alert.get("target"),  # the redacted display URL (no password)
        "at": alert.get("at"),
        "finding": {k: finding.get(k) for k in _FINDING_KEYS} if isinstance(finding, dict) else None,
        "findings": [{k: f.get(k) for k in _FINDING_KEYS} for f in alert.get("findings") or []
                     if isinstance(f, dict)],
        "categories": [str(c) for c in alert.get("categories") or []],
        "window": {k: window.get(k) for k in ("opened", "closed", "last_secure")},
    }


class Closed(Exception):
    """The bus was closed (the server is stopping): the stream ends."""


class Subscription:
    """One listener's queue, bound to the event loop it was made in."""

    def __init__(self, bus: EventBus, loop: asyncio.AbstractEventLoop, backlog: list[Message]) -> None:
        self.bus = bus
        self.loop = loop
        self.queue: asyncio.Queue[Message | None] = asyncio.Queue(maxsize=1000)
        for m in backlog:
            self.queue.put_nowait(m)

    def _put(self, message: Message | None) -> None:  # in the loop's thread
        if self.queue.full() and message is not None:
            return  # a stalled client loses events rather than the server's memory
        self.queue.put_nowait(message)

    async def get(self, timeout: float) -> Message | None:
        """The next message, or None after ``timeout`` seconds without one; :class:`Closed` at shutdown."""
        try:
            message = await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None
        if message is None:
            raise Closed
        return message

    def close(self) -> None:
        self.bus.unsubscribe(self)


class EventBus:
    """Thread-safe fan-out of watcher events to every subscriber; ``close()`` ends every stream."""

    def __init__(self, keep: int = 100) -> None:
        self._lock = threading.RLock()  # close() may run in a signal handler
        self._subs: set[Subscription] = set()
        self._recent: deque[Message] = deque(maxlen=keep)
        self._ids = itertools.count(1)
        self.closed = False

    def publish(self, event: str, payload: dict[str, Any], keep: bool = True) -> Message:
        """Send an event (from any thread); ``payload`` must already be redacted (see :func:`event_payload`).
        ``keep=False``: not kept for clients that reconnect (a job's progress ticks must not push the
        watcher's transitions out of the short buffer)."""
        with self._lock:
            message = Message(next(self._ids), event, payload)
            if keep:
                self._recent.append(message)
            subs = list(self._subs)
        for sub in subs:
            _call(sub, message)
        return message

    def subscribe(self, last_id: int | None = None) -> Subscription:
        """A new listener in the running event loop; with ``last_id``, the kept events after it come first."""
        loop = asyncio.get_running_loop()
        with self._lock:
            backlog = [m for m in self._recent if last_id is not None and m.id > last_id]
            sub = Subscription(self, loop, backlog)
            if self.closed:
                sub.queue.put_nowait(None)
            else:
                self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subs.discard(sub)

    def recent(self) -> list[Message]:
        with self._lock:
            return list(self._recent)

    @property
    def listeners(self) -> int:
        with self._lock:
            return len(self._subs)

    def close(self) -> None:
        """End every stream (server shutdown); later subscribers end at once."""
        with self._lock:
            self.closed = True
            subs = list(self._subs)
            self._subs.clear()
        for sub in subs:
            _call(sub, None)


def _call(sub: Subscription, message: Message | None) -> None:
    try:
        sub.loop.call_soon_threadsafe(sub._put, message)
    except RuntimeError:  # the loop is closed: that client is gone
        sub.bus.unsubscribe(sub)
