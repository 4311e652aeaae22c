"""Detectors and classification results (DESIGN.md 'classify' shape).

A detector family is one module of this package; each detector class registers itself with
``@register_detector``. The engine (classify/engine.py) compiles every detector's patterns into one
multi-pattern matcher and runs validators only on candidates.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

CLASSIFICATION_SCHEMA = "dataward.classification/v1"


@dataclass(frozen=True)
class CategoryMatch:
    id: str
    confidence: float
    match_rate: float


@dataclass(frozen=True)
class ColumnResult:
    name: str
    categories: tuple[CategoryMatch, ...] = ()
    evidence: str = ""  # redacted, e.g. 'e***@***.com'

    @property
    def category_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.categories)


@dataclass(frozen=True)
class ObjectResult:
    target: str
    store: str
    object: str
    columns: tuple[ColumnResult, ...]
    records: int | None = None

    @property
    def categories(self) -> frozenset[str]:
        return frozenset(c for col in self.columns for c in col.category_ids)

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "store": self.store,
            "object": self.object,
            "records": self.records,
            "columns": [
                {
                    "name": col.name,
                    "categories": [
                        {"id": m.id, "confidence": round(m.confidence, 3), "match_rate": round(m.match_rate, 3)}
                        for m in col.categories
                    ],
                    "evidence": col.evidence,
                }
                for col in self.columns
            ],
        }


@dataclass
class Detector:
    """Data plus a validator: category, name hints, content patterns (Hyperscan/RE2 syntax)."""

    category: ClassVar[str]
    names: ClassVar[tuple[str, ...]] = ()
    patterns: ClassVar[tuple[str, ...]] = ()
    extra: dict[str, object] = field(default_factory=dict)

    def validate(self, value: str) -> bool:
        """Check a pattern candidate (Luhn, checksum, structure); default: every candidate is valid."""
        return True


DetectorT = TypeVar("DetectorT", bound=type[Detector])
_DETECTORS: dict[str, type[Detector]] = {}


def register_detector(cls: DetectorT) -> DetectorT:
    _DETECTORS[cls.__name__] = cls
    return cls


def registered_detectors() -> dict[str, type[Detector]]:
    import dataward.classify as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        if not mod.name.startswith("_") and mod.name not in ("base", "engine"):
            importlib.import_module(f"dataward.classify.{mod.name}")
    return dict(_DETECTORS)
