"""Data the detectors own, shipped in classify/data/ (names, model codes, firmware shapes, OUIs), loaded once;
and small built-in word lists (rooms)."""

from __future__ import annotations

import functools
import re
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


def room_words() -> frozenset[str]:
    """Rooms and places of a home in several languages (classify/data/rooms.txt), lowercase."""
    return word_list("rooms")


@functools.cache
def _cjk_rooms() -> tuple[str, ...]:
    return tuple(w for w in room_words() if not w.isascii() and _CJK_CHAR.match(w))


_CJK_CHAR = re.compile(r"^[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")


def is_room_word(word: str) -> bool:
    """A room or place word ('Kitchen', 'Salon', 'Quarto'), or a German/Dutch compound ending in a room head
    ('Arbeitszimmer', 'Vorgarten', 'Kinderkamer')."""
    w = word.lower()
    if w in room_words():
        return True
    return len(w) > 5 and w.endswith(_room_heads()) and any(w.endswith(h) and len(w) >= len(h) + 3 for h in _room_heads())


@functools.cache
def _room_heads() -> tuple[str, ...]:
    return tuple(word_list("room_heads"))


def has_cjk_room(text: str) -> bool:
    """A Japanese room word inside unspaced text ('子供部屋', 'ゆいの部屋')."""
    return not text.isascii() and any(room in text for room in _cjk_rooms())


def ouis() -> frozenset[str]:
    """OUIs of camera, router and smart-home makers (classify/data/ouis.txt), upper-case hex."""
    return frozenset(o.upper() for o in word_list("ouis"))


@functools.cache
def data_rows(name: str) -> tuple[tuple[str, ...], ...]:
    """The tab-separated rows of classify/data/<name>.tsv (comments start with '#')."""
    text = resources.files("dataward.classify").joinpath("data", f"{name}.tsv").read_text(encoding="utf-8")
    return tuple(tuple(line.split("\t")) for line in text.splitlines() if line.strip() and not line.startswith("#"))
