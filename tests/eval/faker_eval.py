"""Columns from Faker's providers in thirteen locales (German, Japanese kanji and kana, Portuguese, French,
Spanish, Italian, Dutch and English ones): values written by someone else, so the detectors are
not only judged on shapes their author chose. Raises ImportError without ``faker`` (a test dependency)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pyarrow as pa

from dataward.stores.base import SampledColumn, SampledObject

if TYPE_CHECKING:
    from .dataset import Labelled

LOCALES = ("en_US", "en_GB", "de_DE", "de_AT", "fr_FR", "fr_CA", "es_ES", "es_MX", "it_IT", "nl_NL", "pt_BR",
           "pt_PT", "ja_JP")
# Given names and surnames alone: a person's name under a name column; a bare column of single words without
# one is not labelled (a list of surnames is indistinguishable from a list of towns).
NAMED_ONLY = frozenset({"first_name", "last_name"})
# Providers whose values are not what they claim: Faker's es_MX IBANs are GB IBANs one character short.
NOT_VALID = frozenset({("es_MX", "iban")})
ROWS = 200


def _providers(f: object) -> dict[str, tuple[str | None, Callable[[], object]]]:
    g = f  # a faker.Faker; typed loosely so this module imports without faker
    return {
        "email": ("email", g.email),  # type: ignore[attr-defined]
        "name": ("person_name", g.name),  # type: ignore[attr-defined]
        "first_name": ("person_name", g.first_name),  # type: ignore[attr-defined]
        "last_name": ("person_name", g.last_name),  # type: ignore[attr-defined]
        "phone_number": ("phone", g.phone_number),  # type: ignore[attr-defined]
        "address": ("postal_address", lambda: g.address().replace("\n", ", ")),  # type: ignore[attr-defined]
        "street_address": ("postal_address", g.street_address),  # type: ignore[attr-defined]
        "iban": ("payment_card", g.iban),  # type: ignore[attr-defined]
        "credit_card_number": ("payment_card", g.credit_card_number),  # type: ignore[attr-defined]
        "user_name": ("username", g.user_name),  # type: ignore[attr-defined]
        "ipv4": ("ip_address", g.ipv4),  # type: ignore[attr-defined]
        "date_of_birth": ("date_of_birth", lambda: g.date_of_birth().isoformat()),  # type: ignore[attr-defined]
        "city": (None, g.city),  # type: ignore[attr-defined]
        "company": (None, g.company),  # type: ignore[attr-defined]
        "job": (None, g.job),  # type: ignore[attr-defined]
        "sentence": (None, g.sentence),  # type: ignore[attr-defined]
        "catch_phrase": (None, g.catch_phrase),  # type: ignore[attr-defined]
        "country": (None, g.country),  # type: ignore[attr-defined]
        "license_plate": (None, g.license_plate),  # type: ignore[attr-defined]
        "file_path": (None, g.file_path),  # type: ignore[attr-defined]
        "uri": (None, g.uri),  # type: ignore[attr-defined]
        "color_name": (None, g.color_name),  # type: ignore[attr-defined]
    }


def _us_only(f: object) -> dict[str, tuple[str | None, Callable[[], object]]]:
    g = f
    return {
        "ssn": ("gov_id", g.ssn),  # type: ignore[attr-defined]
        "ipv6": ("ip_address", g.ipv6),  # type: ignore[attr-defined]
        "mac_address": ("mac_address", g.mac_address),  # type: ignore[attr-defined]
        "image_url": ("photo_url", g.image_url),  # type: ignore[attr-defined]
        "latlng": ("geo", lambda: f"{g.latitude()},{g.longitude()}"),  # type: ignore[attr-defined]
        "sha1": (None, g.sha1), "md5": (None, g.md5), "uuid4": (None, g.uuid4),  # type: ignore[attr-defined]
        "ean13": (None, g.ean13), "isbn13": (None, g.isbn13), "user_agent": (None, g.user_agent),  # type: ignore[attr-defined]
        "hostname": (None, g.hostname), "file_name": (None, g.file_name), "word": (None, g.word),  # type: ignore[attr-defined]
    }


def objects(seed: int) -> Iterator[Labelled]:
    from faker import Faker

    from .dataset import Labelled

    for locale in LOCALES:
        fake = Faker(locale)
        fake.seed_instance(seed)
        providers = _providers(fake) | (_us_only(fake) if locale == "en_US" else {})
        for i, (name, (category, make)) in enumerate(providers.items()):
            if (locale, name) in NOT_VALID:
                continue
            values = pa.array([str(make()) for _ in range(ROWS)])
            for col_name in (name, f"f{i}"):
                obj = SampledObject("eval://faker", "eval", f"faker_{locale}_{col_name}", (SampledColumn(col_name, values),))
                label = frozenset({category}) if category and (col_name == name or name not in NAMED_ONLY) else frozenset()
                yield Labelled("faker", obj, {col_name: label}, f"locale:{locale}")
