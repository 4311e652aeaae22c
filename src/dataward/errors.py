"""The one exception a user can cause, and how it reads on a terminal."""

from __future__ import annotations


class DatawardError(Exception):
    """A failure the user can act on: one sentence, optionally a tip.

    Driver and library exceptions are translated into this at the boundary (the store module, the config
    loader), so the CLI prints ``error: <message>`` and exits 2 without a traceback.
    """

    def __init__(self, message: str, tip: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.tip = tip

    def render(self) -> str:
        message = self.message.rstrip(".")
        text = f"error: {message}" + ("" if message.endswith(("?", "!")) else ".")
        if self.tip:
            text += f"\n  Tip: {self.tip}"
        return text


class ConfigError(DatawardError):
    """A dataward.toml, plan or playbook that cannot be used as written."""


class TargetError(DatawardError):
    """A target URL that is malformed, names an unknown kind, or cannot be reached."""
