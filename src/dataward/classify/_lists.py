"""Word lists shipped in classify/data/ (person names) and small built-in ones (rooms, OUIs), loaded once."""

from __future__ import annotations

import functools
import importlib
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

# Common OUIs (first three octets) of camera, router and IoT makers, a fallback when the device-cloud
# generator's list is not importable. Format: upper-case hex without separators.
COMMON_OUIS = frozenset(
    [
        "2CAA8E",
        "7C78B2",
        "D03F27",
        "A4DA22",
        "ECFABC",
        "18B430",
        "64166D",
        "00408C",
        "ACCC8E",
        "B8A44F",
        "9C8ECD",
        "0012E2",
        "4C11AE",
        "C0562F",
        "44650D",
        "F0D5BF",
        "5CCF7F",
        "600194",
        "84D6D0",
        "B0A732",
        "D8F15B",
        "1C90FF",
        "24A160",
        "3C71BF",
        "EC64C9",
        "70B3D5",
        "001788",
        "B827EB",
        "DCA632",
        "E45F01",
        "28CDC1",
        "D83ADD",
        "50C7BF",
        "98DAC4",
        "F4F26D",
        "001D0F",
        "0C8063",
        "A0F3C1",
        "E894F6",
        "14CC20",
        "AC84C6",
        "C46E1F",
        "00095B",
        "00146C",
        "0018E7",
        "20E52A",
        "9C3DCF",
        "2C3033",
        "C83A35",
        "E8DE27",
        "F81A67",
    ]
)


def devicecloud_constant(name: str) -> tuple[object, ...]:
    """A list constant of the reference device-cloud generator (OUIs, model codes), () when absent."""
    for module in ("dataward.devicecloud.schema", "dataward.devicecloud"):
        try:
            value = getattr(importlib.import_module(module), name, None)
        except ImportError:
            continue
        if value is not None:
            return tuple(value)
    return ()
