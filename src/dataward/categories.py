"""The stable sensitive-data category ids of DESIGN.md and the tier each belongs to."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Final

from dataward.errors import ConfigError
from dataward.suggest import did_you_mean


class Tier(StrEnum):
    CREDENTIAL = "credential"
    HEALTH = "health"
    IDENTITY = "identity"
    DEVICE = "device"
    METADATA = "metadata"


CATEGORY_TIERS: Final[dict[str, Tier]] = {
    "password_hash": Tier.CREDENTIAL,
    "password": Tier.CREDENTIAL,
    "api_token": Tier.CREDENTIAL,
    "oauth_refresh_token": Tier.CREDENTIAL,
    "alexa_token": Tier.CREDENTIAL,
    "secret_key": Tier.CREDENTIAL,
    "health_metric": Tier.HEALTH,
    "gender": Tier.HEALTH,
    "email": Tier.IDENTITY,
    "person_name": Tier.IDENTITY,
    "username": Tier.IDENTITY,
    "phone": Tier.IDENTITY,
    "postal_address": Tier.IDENTITY,
    "date_of_birth": Tier.IDENTITY,
    "photo_url": Tier.IDENTITY,
    "gov_id": Tier.IDENTITY,
    "payment_card": Tier.IDENTITY,
    "wifi_ssid": Tier.DEVICE,
    "device_nickname": Tier.DEVICE,
    "mac_address": Tier.DEVICE,
    "ip_address": Tier.DEVICE,
    "geo": Tier.DEVICE,
    "device_model": Tier.METADATA,
    "firmware_version": Tier.METADATA,
}

CATEGORIES: Final[frozenset[str]] = frozenset(CATEGORY_TIERS)
TIER_ORDER: Final[tuple[Tier, ...]] = (Tier.CREDENTIAL, Tier.HEALTH, Tier.IDENTITY, Tier.DEVICE, Tier.METADATA)
SENSITIVE_TIERS: Final[frozenset[Tier]] = frozenset({Tier.CREDENTIAL, Tier.HEALTH, Tier.IDENTITY})


def tier_of(category: str) -> Tier:
    """The tier of a category id; KeyError for an id DESIGN.md does not define."""
    return CATEGORY_TIERS[category]


def expand(names: list[str] | tuple[str, ...]) -> frozenset[str]:
    """Category ids named directly or through their tier (policy files may say either)."""
    out: set[str] = set()
    for name in names:
        if name in CATEGORY_TIERS:
            out.add(name)
        else:
            out.update(c for c, t in CATEGORY_TIERS.items() if t.value == name)
    return frozenset(out)


def worst_tier(categories: list[str] | tuple[str, ...] | frozenset[str]) -> Tier | None:
    """The most sensitive tier among the categories, or None for none."""
    tiers = {CATEGORY_TIERS[c] for c in categories if c in CATEGORY_TIERS}
    return next((t for t in TIER_ORDER if t in tiers), None)


def parse_categories(words: Iterable[str], option: str = "--categories") -> frozenset[str]:
    """Category ids and tiers given by a user (repeated or comma-separated) as category ids; an unknown word
    is one sentence with a suggestion, never a silent empty selection."""
    names = [*CATEGORIES, *(t.value for t in Tier)]
    given = [w.strip() for word in words for w in word.split(",") if w.strip()]
    if not given:
        raise ConfigError(f"{option} names no category", tip="write e.g. email,credential (ids or tiers)")
    for word in given:
        if word not in names:
            raise ConfigError(
                f"{option} names '{word}', which is neither a category id nor a tier.{did_you_mean(word, names)}",
                tip=f"tiers are {', '.join(t.value for t in Tier)}; category ids are listed in docs/policy.md",
            )
    return expand(given)
