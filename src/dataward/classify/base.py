"""Detectors and classification results (DESIGN.md 'classify' shape).

A detector family is one module of this package; each detector class registers itself with
``@register_detector`` (the ``DETECTORS`` registry). The engine (classify/engine.py) compiles every detector's
patterns into one multi-pattern matcher and runs validators only on candidates.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from dataward.registry import Registry

CLASSIFICATION_SCHEMA = "dataward.classification/v1"
_TRAILING = " \t,;:\"')]}>"


@functools.lru_cache(maxsize=64)
def _python_pattern(source: str) -> re.Pattern[str]:
    return re.compile(source)


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
    free_text: tuple[str, ...] = ()  # categories found inside free text (prose, JSON blobs) of the column

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
        return frozenset(c for col in self.columns for c in (*col.category_ids, *col.free_text))

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
                    **({"free_text": list(col.free_text)} if col.free_text else {}),
                }
                for col in self.columns
            ],
        }


@dataclass(frozen=True)
class TableFacts:
    """What a column's neighbours look like: numeric columns and the first texts of string columns of
    the same object (bounded samples, memory only)."""

    names: tuple[str, ...] = ()
    numbers: dict[str, np.ndarray] = field(default_factory=dict)
    texts: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class ColumnFacts:
    """One column's bounded sample as the engine hands it to detectors (memory only, never written)."""

    name: str
    tokens: tuple[str, ...]  # the name split into lowercase words ('heightCm' -> ('height', 'cm'))
    dtype: str
    texts: tuple[str, ...]  # non-null sampled values as text ('' for none); floats and booleans give ()
    numbers: np.ndarray | None  # float64 values when the column is numeric or its texts all parse as numbers
    distinct: int
    table: TableFacts = field(default_factory=TableFacts)


@dataclass
class Detector:
    """Data plus a validator: category, name hints, content patterns (Hyperscan/RE2 syntax).

    Patterns match a whole value unless ``embedded`` (then they may match inside free text and the
    validator sees the matched part). The class variables below tune the column-level decision.
    """

    category: ClassVar[str]
    names: ClassVar[tuple[str, ...]] = ()
    patterns: ClassVar[tuple[str, ...]] = ()
    extra: dict[str, object] = field(default_factory=dict)
    hinted_patterns: ClassVar[tuple[str, ...]] = ()  # counted only when the column name hints at the category
    embedded: ClassVar[bool] = False
    min_rate: ClassVar[float] = 0.6  # share of sampled values that must match when the name gives no hint
    hinted_rate: ClassVar[float] = 0.3  # ... when it does
    min_count: ClassVar[int] = 2
    strong: ClassVar[bool] = False  # one validated value counts alone (a one-row table, a single Redis key)
    text_only: ClassVar[bool] = False  # counts only inside free text (the free_text finding), never as a category
    priority: ClassVar[int] = 50  # a value several categories match counts for the highest priority only
    name_only: ClassVar[bool] = False  # the name alone decides (plain passwords have no content signature)
    not_names: ClassVar[tuple[str, ...]] = ()  # name words that cancel a hint ('password_changed_at')
    exclusive: ClassVar[bool] = True  # False: counts its own hits even where another category claims the value
    alongside: ClassVar[tuple[str, ...]] = ()  # non-exclusive only: reported only next to one of these categories

    def validate(self, value: str) -> bool:
        """Check a pattern candidate (Luhn, checksum, structure); default: every candidate is valid."""
        return True

    def candidates(self, source: str, text: str) -> Iterable[str]:
        """The parts of a value an embedded pattern matched, for ``validate`` (Python's re on one candidate
        value only; the Hyperscan pass already said it matches)."""
        return (m.group(0).rstrip(_TRAILING) for m in _python_pattern(source).finditer(text))

    def content_mask(self, column: ColumnFacts, hinted: bool) -> np.ndarray | None:
        """Which sampled values belong to the category by statistics, not patterns; None: patterns only.

        The mask is aligned with ``column.numbers`` when the detector works on numbers, else with
        ``column.texts``.
        """
        return None

    def accept(self, column: ColumnFacts, rate: float, hinted: bool) -> bool:
        """A column-level veto after counting (dotted version strings are not IPv4 addresses)."""
        return True


DETECTORS: Registry[type[Detector]] = Registry(
    "detector", package="dataward.classify", key=lambda cls: cls.__name__, skip=("engine",)
)
register_detector = DETECTORS.register
