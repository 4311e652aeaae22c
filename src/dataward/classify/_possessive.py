"""Whose device a nickname names: the possessive forms of the languages dataward's users write in.

'Emma's Nursery', 'Jonas' Zimmer', 'Marias Zimmer', 'Arbeitszimmer von Jonas', 'Sala da Beatriz', 'Quarto do
Pedro', 'Salon de Marie', 'Cuarto de Lucía', 'Camera di Giulia', 'Kamer van Sanne', 'ゆいの部屋'. The owner counts
only when it is a known given name (classify/data/first_names.txt).
"""

from __future__ import annotations

import re

from dataward.classify._lists import first_names, is_room_word

_LETTERS = r"[^\W\d_]"
_PATTERNS = (
    re.compile(rf"\b({_LETTERS}+)['\u2019]s\b"),  # English: Emma's
    re.compile(rf"\b({_LETTERS}+s)['\u2019](?=\s|$)"),  # German after -s: Jonas'
    re.compile(rf"\b(?:(?:von|vom|de|da|do|das|dos|del|di|du|van|of)\s+|d['\u2019])({_LETTERS}+)"),  # Romance, German, Dutch
)
_JA_OWNER = re.compile(r"^([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\u30fc]{1,5})\u306e")  # ゆいの部屋
# Family words before 'の' that own a room without naming anyone ('パパの部屋', '犬の部屋').
_JA_NOT_NAMES = frozenset(["パパ", "ママ", "子供", "子ども", "犬", "猫", "赤ちゃん", "おばあちゃん", "おじいちゃん", "兄",
                           "姉", "弟", "妹", "娘", "息子", "母", "父", "祖母", "祖父", "家族", "ペット", "お客様", "客"])
_GENITIVE = re.compile(rf"\b({_LETTERS}+)s\s+({_LETTERS}+)")  # German genitive without apostrophe: Marias Zimmer


# Something that can start a possessive; most values have none and skip the patterns below.
_TRIGGER = re.compile(r"['\u2019\u306e]|\b(?:von|vom|de|da|do|das|dos|del|di|du|van|of)\s|s\s")


def owner(value: str) -> str | None:
    """The given name a nickname belongs to, or None."""
    if not _TRIGGER.search(value):
        return None
    names = first_names()
    for pattern in _PATTERNS:
        for match in pattern.finditer(value):
            name = match.group(1)
            if name.lower() in names and not name[0].islower():
                return name
            if name.endswith("s") and name[:-1].lower() in names and pattern is _PATTERNS[1]:
                return name
    ja = _JA_OWNER.match(value)
    if ja and ja.group(1) not in _JA_NOT_NAMES:  # an unspaced Japanese name before 'の' is someone's
        return ja.group(1)
    for match in _GENITIVE.finditer(value):
        name, thing = match.groups()
        if name[:1].isupper() and name.lower() in names and is_room_word(thing):
            return name
    return None
