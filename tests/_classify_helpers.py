"""Helpers for the detector tables: classify a handful of values as one column."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from dataward.classify.engine import classify_values
from dataward.stores.base import SampledColumn


def categories(values: Sequence[object], name: str = "c1", neighbours: Sequence[SampledColumn] = ()) -> set[str]:
    """The categories of a column repeating the given values (several rows, so rates are meaningful)."""
    rows = list(values) * max(1, 40 // max(len(values), 1))
    return set(classify_values(pa.array(rows), name, neighbours).category_ids)


def unique_rows(make: object, n: int = 60) -> list[object]:
    """n distinct values from a callable taking the row index."""
    return [make(i) for i in range(n)]  # type: ignore[operator]
