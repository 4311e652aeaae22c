"""Health detectors (special category data): health_metric from numeric ranges, names and neighbours;
gender from its small value set.

A lone column of numbers between 35 and 200 could be anything (a weight, a temperature in Fahrenheit), so
without a name that says what it is, a column counts as a body metric only when its table also holds a
height-like column, a weight-like column and a body-composition column (fat, bone, protein, water, muscle).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dataward.classify.base import ColumnFacts, Detector, TableFacts, register_detector
from dataward.classify.engine import name_tokens


@dataclass(frozen=True)
class Profile:
    """A body measurement: plausible range and the column names that announce it."""

    low: float
    high: float
    names: tuple[str, ...]


PROFILES: dict[str, Profile] = {
    "height": Profile(140, 210, ("height", "height_cm", "stature", "body_height")),  # adults, cm
    "weight": Profile(35, 200, ("weight", "weight_kg", "body_weight", "body_mass", "mass_kg")),  # kg
    "body_fat": Profile(3, 60, ("body_fat", "bodyfat", "fat_pct", "body_fat_pct", "fat_percent", "bf_pct")),
    "bone_mass": Profile(1, 6, ("bone", "bone_mass", "bone_mass_kg", "bone_density")),
    "protein": Profile(5, 30, ("protein", "protein_pct", "protein_percent")),
    "muscle": Profile(15, 100, ("muscle", "muscle_mass", "muscle_pct", "skeletal_muscle")),
    "water": Profile(30, 80, ("body_water", "water_pct", "hydration", "tbw")),
    "bmi": Profile(12, 60, ("bmi", "body_mass_index")),
    "heart_rate": Profile(30, 220, ("heart_rate", "bpm", "pulse", "resting_hr", "hr")),
    "visceral_fat": Profile(1, 30, ("visceral", "visceral_fat")),
    "bmr": Profile(800, 4000, ("bmr", "metabolic_rate", "basal_metabolic_rate")),
    "blood_pressure": Profile(40, 250, ("systolic", "diastolic", "blood_pressure", "bp")),
    "glucose": Profile(40, 400, ("glucose", "blood_sugar", "blood_glucose")),
    "spo2": Profile(70, 100, ("spo2", "oxygen_saturation", "blood_oxygen")),
    "body_temperature": Profile(34, 42, ("body_temp", "body_temperature")),
}
_COMPOSITION = ("bone_mass", "protein", "body_fat", "water", "muscle", "visceral_fat", "bmi")


def _profile_named(tokens: tuple[str, ...]) -> str | None:
    """The profile whose name hint matches the most words ('bone_mass_kg' is bone mass, not 'mass_kg')."""
    joined = "".join(tokens)
    best: tuple[int, str] | None = None
    for key, profile in PROFILES.items():
        for hint in profile.names:
            words = tuple(hint.split("_"))
            if hint.replace("_", "") == joined or any(
                tokens[i : i + len(words)] == words for i in range(len(tokens) - len(words) + 1)
            ):
                score = len(words) + (10 if hint.replace("_", "") == joined else 0)
                if best is None or score > best[0]:
                    best = (score, key)
    return best[1] if best else None


def _fits(values: np.ndarray, profile: Profile) -> bool:
    """At least 95% of the values inside the range (a single tester's height may be constant)."""
    if len(values) < 3:
        return False
    inside = (values >= profile.low) & (values <= profile.high)
    return bool(inside.mean() >= 0.95)


def _id_like(values: np.ndarray) -> bool:
    """Distinct whole numbers: a key column, whatever its name."""
    return bool(np.all(values == np.round(values)) and len(np.unique(values)) == len(values))


def body_metric_columns(table: TableFacts) -> dict[str, str]:
    """Columns of a table that together look like body measurements: column name -> profile.

    Needs a height-like column, a different weight-like column and a third with a body-composition range.
    Id-like columns are left out.
    """
    numeric = {
        name: vals for name, vals in table.numbers.items()
        if "id" not in name_tokens(name) and len(vals) >= 3 and not _id_like(vals)
    }
    height = [c for c, v in numeric.items() if _fits(v, PROFILES["height"])]
    for h in height:
        weights = [c for c, v in numeric.items() if c != h and _fits(v, PROFILES["weight"])]
        for w in weights:
            found = {h: "height", w: "weight"}
            for c, v in numeric.items():
                if c in found:
                    continue
                kind = next((k for k in _COMPOSITION if _fits(v, PROFILES[k])), None)
                if kind:
                    found[c] = kind
            if len(found) >= 3:
                return found
    return {}


@register_detector
class HealthMetric(Detector):
    category = "health_metric"
    names = tuple(n for p in PROFILES.values() for n in p.names)
    not_names = ("id", "at", "date", "unit", "units", "source", "device", "goal", "target")
    min_rate = 0.9
    hinted_rate = 0.8
    priority = 60

    def content_mask(self, column: ColumnFacts, hinted: bool) -> np.ndarray | None:
        values = column.numbers
        if values is None or not len(values):
            return None
        kind = _profile_named(column.tokens) if hinted else body_metric_columns(column.table).get(column.name)
        if kind is None:
            return None
        profile = PROFILES[kind]
        return (values >= profile.low) & (values <= profile.high)


GENDER_WORDS = frozenset(
    {"male", "female", "man", "woman", "non-binary", "nonbinary", "non_binary", "genderqueer", "agender",
     "transgender", "trans", "intersex", "prefer not to say", "prefer_not_to_say", "undisclosed", "diverse",
     "m", "f", "w", "nb", "x", "u", "other", "unknown", "unspecified", "männlich", "weiblich", "homme", "femme"}
)
_FULL_WORDS = frozenset({"male", "female", "man", "woman", "non-binary", "nonbinary", "non_binary",
                         "männlich", "weiblich", "homme", "femme"})


@register_detector
class Gender(Detector):
    category = "gender"
    names = ("gender", "sex", "gender_identity", "geschlecht")
    not_names = ("offender", "at")
    min_rate = 0.9
    hinted_rate = 0.8
    priority = 58

    def content_mask(self, column: ColumnFacts, hinted: bool) -> np.ndarray | None:
        if not column.texts:
            return None
        return np.fromiter((t.strip().lower() in GENDER_WORDS for t in column.texts), bool, len(column.texts))

    def accept(self, column: ColumnFacts, rate: float, hinted: bool) -> bool:
        """A handful of distinct values; without a name, spelled-out words or body metrics next to it."""
        if column.distinct > 8:
            return False
        if hinted:
            return True
        full = sum(1 for t in column.texts if t.strip().lower() in _FULL_WORDS) / max(len(column.texts), 1)
        return full >= 0.5 or bool(body_metric_columns(column.table))
