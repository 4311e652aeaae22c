"""Output formats, one module each, registered by name (table, json, sarif, html, ocsf).

``FORMATS`` is the family's ``dataward.registry.Registry``; a format module registers its renderer with
``@register_format(name, suffixes=...)``, and the CLI's ``--format`` choices and ``-o`` suffix guesses come
from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dataward.registry import Registry

Renderer = Callable[[Any], str]  # a Report -> the text of the whole output


@dataclass(frozen=True)
class ReportFormat:
    """One output format: its name, its renderer and the ``-o`` file suffixes that choose it."""

    name: str
    render: Renderer
    suffixes: tuple[str, ...] = ()


FORMATS: Registry[ReportFormat] = Registry(
    "report format", package="dataward.report", key=lambda f: f.name, tip="formats: {known}"
)


def register_format(name: str, *, suffixes: tuple[str, ...] = ()) -> Callable[[Renderer], Renderer]:
    """Function decorator: register a renderer as the format ``name``."""

    def wrap(fn: Renderer) -> Renderer:
        FORMATS.register(ReportFormat(name, fn, suffixes))
        return fn

    return wrap


def format_for_suffix(suffix: str) -> str | None:
    """The format an output file's suffix (``.sarif``) asks for, or None."""
    return next((f.name for f in FORMATS if suffix.lower() in f.suffixes), None)
