"""Output formats, one module each, registered by name (table, json, sarif, html, ocsf)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

Renderer = Callable[[Any], str]  # a Report -> the text of the whole output
_FORMATS: dict[str, Renderer] = {}


def register_format(name: str) -> Callable[[Renderer], Renderer]:
    def wrap(fn: Renderer) -> Renderer:
        _FORMATS[name] = fn
        return fn

    return wrap


def registered_formats() -> dict[str, Renderer]:
    import dataward.report as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        if not mod.name.startswith("_") and mod.name != "base":
            importlib.import_module(f"dataward.report.{mod.name}")
    return dict(_FORMATS)
