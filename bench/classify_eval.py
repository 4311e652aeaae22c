"""Column-level precision and recall of dataward's classifier on the labelled set (tests/eval/).

    flock /tmp/dataward-bench.lock .venv/bin/python bench/classify_eval.py [--seeds 11,22,33] [--mistakes]

Goals (issue 5): >= 0.95 precision and recall overall, no category below 0.90.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from eval import dataset, scoring


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default=",".join(map(str, dataset.SEEDS)), help="comma-separated seeds")
    parser.add_argument("--mistakes", action="store_true", help="list every misclassified column")
    args = parser.parse_args()
    seeds = tuple(int(s) for s in args.seeds.split(","))
    start = time.perf_counter()
    items = dataset.build(seeds)
    scores = scoring.evaluate(items)
    elapsed = time.perf_counter() - start
    groups = sorted({i.group for i in items})
    print(f"labelled set: {scores.columns} columns in {len(items)} objects, groups {', '.join(groups)}, seeds {seeds}")
    print(scoring.table(scores))
    for prefix in sorted({name.split(":", 1)[0] + ":" for name in scores.slices}):
        print(scoring.slice_table(scores, prefix))
    worst = min((min(scores.precision(c), scores.recall(c)) for c in scores.categories), default=1.0)
    ok = scores.precision() >= 0.95 and scores.recall() >= 0.95 and worst >= 0.90
    print(f"goal (>= 0.95 overall, >= 0.90 per category): {'met' if ok else 'NOT met'}; "
          f"worst category {worst:.3f}; {elapsed:.1f} s")
    if args.mistakes:
        print("\n".join(scores.mistakes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
