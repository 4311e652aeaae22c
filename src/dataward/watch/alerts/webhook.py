"""Webhook sink: ``http(s)://`` URLs get the alert as a JSON POST (DESIGN.md 'Alerts').

A 2xx answer is delivered; anything else (or no answer within the timeout) is a failed attempt that the
outbox retries with back-off. The URL may carry a token in its query; it is never stored (sinks are stored
by their redacted label).
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from dataward.watch.alerts.base import DeliveryError, register_sink


@register_sink
class WebhookSink:
    schemes: ClassVar[tuple[str, ...]] = ("http", "https")
    timeout_s: ClassVar[float] = 5.0

    def __init__(self, url: str) -> None:
        self.url = url

    def send(self, payload: dict[str, Any]) -> None:
        try:
            response = httpx.post(self.url, json=payload, timeout=self.timeout_s,
                                  headers={"User-Agent": "dataward-watch"})
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook not reached: {type(exc).__name__}") from None
        if not 200 <= response.status_code < 300:
            raise DeliveryError(f"webhook answered HTTP {response.status_code}")
