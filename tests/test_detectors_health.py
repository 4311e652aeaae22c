"""Health detectors: body metrics by name + range, or by neighbours when names say nothing; gender."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest
from _classify_helpers import categories

from dataward.classify.engine import classify_object
from dataward.stores.base import SampledColumn, SampledObject

R = random.Random(3)


def col(name: str, lo: float, hi: float, n: int = 140) -> SampledColumn:
    return SampledColumn(name, pa.array([round(R.uniform(lo, hi), 1) for _ in range(n)]))


def obj(*cols: SampledColumn) -> dict[str, set[str]]:
    result = classify_object(SampledObject("eval://", "eval", "t", tuple(cols)))
    return {c.name: set(c.category_ids) for c in result.columns}


@pytest.mark.parametrize(
    "name, lo, hi, flagged",
    [("height_cm", 150, 200, True), ("weight_kg", 45, 130, True), ("bone_mass_kg", 2, 4, True),
     ("protein_pct", 14, 21, True), ("body_fat_pct", 8, 40, True), ("bmi", 18, 35, True),
     ("weight_kg", 300, 5000, False), ("height_cm", 0, 20, False), ("temperature", 18, 26, False)],
)
def test_named_metrics(name: str, lo: float, hi: float, flagged: bool) -> None:
    values = [round(R.uniform(lo, hi), 1) for _ in range(60)]
    assert ("health_metric" in categories(values, name)) is flagged


def test_neighbours_reveal_unnamed_body_metrics() -> None:
    found = obj(col("c1", 150, 200), col("c2", 45, 120), col("c3", 8, 40), col("c4", 2, 4))
    assert all("health_metric" in found[c] for c in ("c1", "c2", "c3", "c4"))


def test_lone_numbers_are_not_health() -> None:
    assert obj(col("c1", 150, 200)) == {"c1": set()}
    assert obj(col("c1", 18, 26), col("c2", 30, 60), col("c3", 990, 1030)) == {"c1": set(), "c2": set(), "c3": set()}


def test_single_letter_gender_needs_a_name_or_body_metrics() -> None:
    letters = SampledColumn("c9", pa.array([R.choice("MF") for _ in range(140)]))
    assert obj(letters) == {"c9": set()}
    assert "gender" in obj(letters, col("c1", 150, 200), col("c2", 45, 120), col("c3", 8, 40))["c9"]
    assert "gender" in categories(["M", "F"], "sex")


@pytest.mark.parametrize("values, flagged", [(["male", "female", "non-binary"], True),
                                             (["unknown", "other"], False), (["S", "M", "L", "XL"], False)])
def test_gender_words(values: list[str], flagged: bool) -> None:
    assert ("gender" in categories(values)) is flagged
