"""Data the detectors own, shipped in classify/data/ (names, model codes, firmware shapes, OUIs), loaded once;
and small built-in word lists (rooms)."""

from __future__ import annotations

import functools
from importlib import resources


@functools.cache
def word_list(name: str) -> frozenset[str]:
    """A lowercase word list from classify/data/<name>.txt (comments start with '#')."""
    text = resources.files("dataward.classify").joinpath("data", f"{name}.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def first_names() -> frozenset[str]:
    return word_list("first_names")


def last_names() -> frozenset[str]:
    return word_list("last_names")


# Rooms and places in a home where a camera, plug or sensor sits: the words of a device nickname.
ROOM_WORDS = frozenset(
    [
        "nursery",
        "kitchen",
        "garage",
        "bedroom",
        "bathroom",
        "living",
        "room",
        "den",
        "office",
        "porch",
        "patio",
        "backyard",
        "yard",
        "door",
        "doorbell",
        "driveway",
        "garden",
        "basement",
        "attic",
        "hallway",
        "hall",
        "stairs",
        "stairway",
        "entry",
        "entryway",
        "foyer",
        "playroom",
        "kids",
        "baby",
        "babys",
        "crib",
        "dining",
        "laundry",
        "closet",
        "pantry",
        "shed",
        "barn",
        "balcony",
        "upstairs",
        "downstairs",
        "gate",
        "mudroom",
        "nook",
        "loft",
        "guest",
        "cam",
        "camera",
        "monitor",
        "pet",
        "dog",
        "cat",
        "aquarium",
        "window",
        "cabin",
        "lounge",
        "sunroom",
        "toddler",
        "twins",
    ]
)

def ouis() -> frozenset[str]:
    """OUIs of camera, router and smart-home makers (classify/data/ouis.txt), upper-case hex."""
    return frozenset(o.upper() for o in word_list("ouis"))


@functools.cache
def data_rows(name: str) -> tuple[tuple[str, ...], ...]:
    """The tab-separated rows of classify/data/<name>.tsv (comments start with '#')."""
    text = resources.files("dataward.classify").joinpath("data", f"{name}.tsv").read_text(encoding="utf-8")
    return tuple(tuple(line.split("\t")) for line in text.splitlines() if line.strip() and not line.startswith("#"))
