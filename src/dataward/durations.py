"""The one reader of durations dataward accepts everywhere: ``500ms``, ``15s``, ``2m``/``2min``, ``1h``, ``1d``
or a number of seconds (``--interval 1h`` and ``--warmup 1h`` mean the same thing)."""

from __future__ import annotations

import re

from dataward.errors import ConfigError

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|m|h|d)?\s*$", re.IGNORECASE)


def parse_duration(
    value: str | float | int | None, where: str = "duration", *, default: float | None = None,
    allow_zero: bool = False,
) -> float:
    """Seconds from a duration; ``where`` names the option or key in the error.

    ``None`` gives ``default`` (an error when there is none). Zero is refused unless ``allow_zero``
    (an interval of 0 would spin; a warm-up of 0 is fine). Raises :class:`~dataward.errors.ConfigError`.
    """
    if value is None:
        if default is None:
            raise ConfigError(f"{where} is missing", tip="write e.g. 15s, 2m, 1h or 500ms")
        return default
    if isinstance(value, bool):
        raise ConfigError(f"{where} '{value}' is not a duration", tip="write e.g. 15s, 2m, 1h or 500ms")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise ConfigError(f"{where} '{value}' is not a duration", tip="write e.g. 15s, 2m, 1h or 500ms")
        seconds = float(m.group(1)) * _UNITS[(m.group(2) or "s").lower()]
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise ConfigError(f"{where} must be longer than zero")
    return seconds
