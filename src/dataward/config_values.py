"""Config values that may be secrets: a literal, ``{env = "NAME"}`` or ``{file = "path"}`` (sqlite-utils style).

``{env = "NAME", default = "..."}`` falls back to the default when NAME is not set (``inventory --write-policy``
drafts store URLs this way: the credentials in the environment, the endpoint without them in the file).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dataward.errors import ConfigError


def resolve_value(value: Any, where: str, base_dir: Path | None = None) -> str:
    """Turn a config value into a string, reading the environment or a file when asked to.

    ``where`` names the setting in error messages (``store 'analytics-copy' url``).
    """
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        if set(value) in ({"env"}, {"env", "default"}):
            name = str(value["env"])
            if name not in os.environ and "default" in value:  # e.g. the URL without credentials
                return str(value["default"])
            if name not in os.environ:
                raise ConfigError(
                    f"{where} reads the environment variable {name}, which is not set",
                    tip=f"export {name}=... before running dataward",
                )
            return os.environ[name]
        if set(value) == {"file"}:
            path = Path(str(value["file"])).expanduser()
            if base_dir is not None and not path.is_absolute():
                path = base_dir / path
            try:
                return path.read_text().strip()
            except OSError as exc:
                raise ConfigError(f"{where} reads {path}, which cannot be read ({exc.strerror})") from exc
            except UnicodeDecodeError:
                raise ConfigError(f"{where} reads {path}, which is not UTF-8 text") from None
    raise ConfigError(
        f"{where} must be a string, {{env = \"NAME\"}} (optionally with default = \"...\") or {{file = \"path\"}}"
    )


def is_inline_secret(value: Any) -> bool:
    """True when a URL value carries a password written into the config file itself."""
    if not isinstance(value, str) or "://" not in value:
        return False
    netloc = value.split("://", 1)[1].split("/", 1)[0]
    return "@" in netloc and ":" in netloc.rsplit("@", 1)[0]
