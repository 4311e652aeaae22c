"""stdout sink: ``stdout`` (or ``-``) prints each alert as one JSON line, for cron mail and log shippers."""

from __future__ import annotations

import json
import sys
from typing import Any, ClassVar

from dataward.watch.alerts.base import register_sink


@register_sink
class StdoutSink:
    schemes: ClassVar[tuple[str, ...]] = ("stdout", "-")

    def __init__(self, url: str) -> None:
        self.url = url

    def send(self, payload: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(payload, sort_keys=True) + "\n")
        sys.stdout.flush()
