"""Apprise sink: every other URL scheme (``slack://``, ``msteams://``, ``discord://``, ``ntfy://`` ...) goes
through Apprise, which knows the services' own URL formats (https://github.com/caronc/apprise/wiki)."""

from __future__ import annotations

from typing import Any, ClassVar

from dataward.errors import ConfigError
from dataward.watch.alerts.base import DeliveryError, register_sink, subject, text_body


@register_sink
class AppriseSink:
    schemes: ClassVar[tuple[str, ...]] = ("apprise",)

    def __init__(self, url: str) -> None:
        import apprise

        self.url = url.removeprefix("apprise://") if url.startswith("apprise://") and "://" in url[11:] else url
        self._apprise = apprise.Apprise()
        if not self._apprise.add(self.url):
            raise ConfigError(
                f"'{self.url.split(':', 1)[0]}://' is not an alert URL dataward or Apprise knows",
                tip="use http(s):// (webhook), smtp:// or mailto: (mail), stdout, or an Apprise URL",
            )

    def send(self, payload: dict[str, Any]) -> None:
        if not self._apprise.notify(title=subject(payload), body=text_body(payload)):
            raise DeliveryError("apprise could not deliver the notification")
