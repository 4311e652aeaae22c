"""What the planner needs from a source: table schemas (``dataward.tables``) and per-column categories.

Classification is ``dataward.classify.engine.classify_target`` on a bounded sample; a column's verdict is its
most confident category, and a JSON column takes the strongest category found in any of its nested fields
(``payload.email`` makes ``payload`` an email column), so nothing nested slips through as ``keep``. What the
classifier found inside free text (``free_text``: a name and a phone in a note) travels along for the planner.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa

from dataward.classify.base import ObjectResult
from dataward.manifest import MANIFEST_TABLE
from dataward.stores.base import SampledColumn, SampledObject
from dataward.tables import open_tables
from dataward.targets import Target


@dataclass(frozen=True)
class Classified:
    """The classifier's verdict on one column (its strongest category), or none."""

    category: str | None = None
    confidence: float | None = None
    free_text: tuple[str, ...] = ()  # categories found inside the column's free text (notes, JSON blobs)


def source_schemas(target: Target) -> dict[str, pa.Schema]:
    """Every table of the source with its Arrow schema, in the store's order (copy manifests excluded)."""
    with open_tables(target) as store:
        return {t: store.schema(t) for t in store.list_tables() if t != MANIFEST_TABLE}


def classify_source(target: Target, rows: int) -> dict[str, dict[str, Classified]]:
    """table -> column -> strongest category, classifying a bounded sample of ``rows`` per table.

    Samples come straight from ``dataward.tables`` (the same tables the copy will read), so the plan covers
    exactly the columns ``copy run`` checks against.
    """
    from dataward.classify.engine import ClassifyOptions, classify_object

    results = []
    opts = ClassifyOptions(rows=rows)
    with open_tables(target) as store:
        for table in store.list_tables():
            if table == MANIFEST_TABLE:
                continue
            sample = store.sample(table, rows)
            cols = tuple(
                SampledColumn(name, _one(sample.column(name)), str(sample.schema.field(name).type))
                for name in sample.column_names
            )
            obj = SampledObject(target.display, target.scheme, table, cols, store.estimate_rows(table))
            results.append(classify_object(obj, opts))
    return verdicts(results)


def _one(values: pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks()


def verdicts(results: Iterable[ObjectResult]) -> dict[str, dict[str, Classified]]:
    """The most confident category per top-level column, nested ``column.path`` fields included."""
    out: dict[str, dict[str, Classified]] = {}
    for obj in results:
        table = out.setdefault(obj.object, {})
        for col in obj.columns:
            name = col.name.split(".", 1)[0]
            current = table.get(name, Classified())
            in_text = tuple(sorted({*current.free_text, *col.free_text}))
            if col.categories:
                best = max(col.categories, key=lambda m: m.confidence)
                if current.category is None or (current.confidence or 0.0) < best.confidence:
                    current = Classified(best.id, best.confidence)
            if current.category is not None or in_text:
                table[name] = Classified(current.category, current.confidence, in_text)
    return out
