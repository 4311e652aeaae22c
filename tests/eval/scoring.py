"""Column-level precision and recall per category over the labelled set."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from dataward.classify.engine import ClassifyOptions, classify_object

from .dataset import Labelled


@dataclass
class Scores:
    tp: Counter[str] = field(default_factory=Counter)
    fp: Counter[str] = field(default_factory=Counter)
    fn: Counter[str] = field(default_factory=Counter)
    columns: int = 0
    mistakes: list[str] = field(default_factory=list)  # 'group object.column: expected {...} got {...}'

    def precision(self, category: str | None = None) -> float:
        tp = sum(self.tp.values()) if category is None else self.tp[category]
        fp = sum(self.fp.values()) if category is None else self.fp[category]
        return tp / (tp + fp) if tp + fp else 1.0

    def recall(self, category: str | None = None) -> float:
        tp = sum(self.tp.values()) if category is None else self.tp[category]
        fn = sum(self.fn.values()) if category is None else self.fn[category]
        return tp / (tp + fn) if tp + fn else 1.0

    @property
    def categories(self) -> list[str]:
        return sorted(set(self.tp) | set(self.fp) | set(self.fn))


def evaluate(items: list[Labelled], options: ClassifyOptions | None = None) -> Scores:
    """Classify every object and compare each column's categories with its labels."""
    scores = Scores()
    for item in items:
        result = classify_object(item.obj, options)
        got = {c.name: frozenset(c.category_ids) for c in result.columns}
        for name in set(got) | set(item.labels):
            expected = item.labels.get(name, frozenset())
            found = got.get(name, frozenset())
            scores.columns += 1
            for cat in found & expected:
                scores.tp[cat] += 1
            for cat in found - expected:
                scores.fp[cat] += 1
            for cat in expected - found:
                scores.fn[cat] += 1
            if found != expected:
                scores.mistakes.append(
                    f"{item.group} {item.obj.object}.{name}: expected {sorted(expected)} got {sorted(found)}"
                )
    return scores


def table(scores: Scores) -> str:
    """Per-category and overall precision/recall as aligned text."""
    lines = [f"{'category':22} {'precision':>9} {'recall':>7} {'tp':>5} {'fp':>4} {'fn':>4}"]
    for cat in scores.categories:
        lines.append(
            f"{cat:22} {scores.precision(cat):9.3f} {scores.recall(cat):7.3f} "
            f"{scores.tp[cat]:5d} {scores.fp[cat]:4d} {scores.fn[cat]:4d}"
        )
    lines.append(f"{'overall':22} {scores.precision():9.3f} {scores.recall():7.3f}  ({scores.columns} columns)")
    return "\n".join(lines)
