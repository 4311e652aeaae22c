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
    slices: dict[str, Scores] = field(default_factory=dict)  # 'vendor:Ring' -> that slice's own scores

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
            mistake = f"{item.group} {item.obj.object}.{name}: expected {sorted(expected)} got {sorted(found)}"
            _count(scores, expected, found, mistake)
            if item.slice:
                _count(scores.slices.setdefault(item.slice, Scores()), expected, found, mistake)
    return scores


def _count(scores: Scores, expected: frozenset[str], found: frozenset[str], mistake: str) -> None:
    scores.columns += 1
    for cat in found & expected:
        scores.tp[cat] += 1
    for cat in found - expected:
        scores.fp[cat] += 1
    for cat in expected - found:
        scores.fn[cat] += 1
    if found != expected:
        scores.mistakes.append(mistake)


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


def slice_table(scores: Scores, prefix: str) -> str:
    """Precision/recall per slice whose name starts with ``prefix`` ('vendor:', 'locale:')."""
    lines = [f"{prefix[:-1]:22} {'precision':>9} {'recall':>7} {'tp':>5} {'fp':>4} {'fn':>4} {'columns':>7}"]
    for name in sorted(s for s in scores.slices if s.startswith(prefix)):
        sub = scores.slices[name]
        tp, fp, fn = sum(sub.tp.values()), sum(sub.fp.values()), sum(sub.fn.values())
        lines.append(f"{name[len(prefix):]:22} {sub.precision():9.3f} {sub.recall():7.3f} {tp:5d} {fp:4d} {fn:4d} {sub.columns:7d}")
    return "\n".join(lines)
