"""Device nicknames and names in the languages of a global customer base (issue 17).

Given names come from Faker's locales; room words and possessive templates are written here by hand, apart
from the detectors' lists (classify/data/rooms.txt, first_names.txt from Mimesis): a list used to detect is
never the list used to evaluate, and some words below are in no detector list at all. Raises ImportError
without ``faker``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pyarrow as pa

from dataward.stores.base import SampledColumn, SampledObject

if TYPE_CHECKING:
    from .dataset import Labelled

ROWS = 200

# locale -> (rooms as people name them, templates with an owner, templates without one)
NICKNAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "de_DE": (("Arbeitszimmer", "Kinderzimmer", "Wohnzimmer", "Schlafzimmer", "Küche", "Flur", "Garage", "Garten",
               "Keller", "Einfahrt", "Haustür", "Terrasse", "Dachboden", "Hauseingang", "Babyzimmer", "Gästezimmer"),
              ("{room} von {name}", "{name}s {room}", "{name}s Zimmer"), ("{room}", "{room} {n}", "Kamera {room}")),
    "fr_FR": (("Salon", "Chambre", "Cuisine", "Entrée", "Garage", "Jardin", "Bureau", "Couloir", "Terrasse",
               "Chambre d'amis", "Cave", "Grenier", "Véranda", "Salle à manger"),
              ("{room} de {name}", "Chambre de {name}"), ("{room}", "{room} {n}", "Caméra {room}")),
    "es_ES": (("Salón", "Dormitorio", "Cocina", "Entrada", "Garaje", "Jardín", "Despacho", "Pasillo", "Terraza",
               "Habitación", "Trastero", "Comedor", "Patio", "Cuarto"),
              ("{room} de {name}", "Cuarto de {name}"), ("{room}", "{room} {n}", "Cámara {room}")),
    "pt_BR": (("Sala", "Quarto", "Cozinha", "Garagem", "Varanda", "Quintal", "Escritório", "Corredor", "Entrada",
               "Lavanderia", "Jardim", "Portão"),
              ("{room} da {female}", "{room} do {male}", "Quarto da {female}"), ("{room}", "{room} {n}", "Câmera {room}")),
    "it_IT": (("Soggiorno", "Cameretta", "Cucina", "Ingresso", "Garage", "Giardino", "Studio", "Corridoio",
               "Taverna", "Salotto", "Balcone"),
              ("{room} di {name}", "Camera di {name}"), ("{room}", "{room} {n}", "Telecamera {room}")),
    "nl_NL": (("Woonkamer", "Slaapkamer", "Keuken", "Voordeur", "Tuin", "Garage", "Zolder", "Kinderkamer",
               "Achtertuin", "Oprit", "Hal"),
              ("{room} van {name}", "Kamer van {name}"), ("{room}", "{room} {n}", "Camera {room}")),
    "ja_JP": (("子供部屋", "リビング", "寝室", "玄関", "キッチン", "ガレージ", "庭", "書斎", "ベビールーム", "和室", "勝手口"),
              ("{name}の部屋", "{name}の{room}"), ("{room}", "{room}{n}", "{room}カメラ")),
    "en_US": (("Nursery", "Living Room", "Kitchen", "Garage", "Backyard", "Front Door", "Den", "Office", "Porch",
               "Basement", "Playroom", "Mudroom"),
              ("{name}'s {room}", "{name}'s Room"), ("{room}", "{room} {n}", "{room} Cam")),
}


def _nickname(r: random.Random, fake: object, rooms: tuple[str, ...], template: str) -> str:
    g = fake
    return template.format(room=r.choice(rooms), n=r.randint(1, 3), name=g.first_name(),  # type: ignore[attr-defined]
                           female=g.first_name_female(), male=g.first_name_male())  # type: ignore[attr-defined]


def objects(seed: int) -> Iterator[Labelled]:
    """Per locale: nicknames with owners (device_nickname and person_name), nicknames of rooms alone
    (device_nickname), each under a nickname column and renamed."""
    from faker import Faker

    from .dataset import Labelled

    for locale, (rooms, owned, plain) in NICKNAMES.items():
        fake = Faker(locale)
        fake.seed_instance(seed)
        r = random.Random(f"{locale}-{seed}")
        owned_values = [_nickname(r, fake, rooms, r.choice(owned if r.random() < 0.6 else plain)) for _ in range(ROWS)]
        plain_values = [_nickname(r, fake, rooms, r.choice(plain)) for _ in range(ROWS)]
        for kind, values, labels in (("owned", owned_values, {"device_nickname", "person_name"}),
                                     ("rooms", plain_values, {"device_nickname"})):
            for col_name in ("nickname", "c0"):
                obj = SampledObject("eval://locales", "eval", f"nick_{locale}_{kind}_{seed}_{col_name}",
                                    (SampledColumn(col_name, pa.array(values)),), ROWS)
                yield Labelled("locales", obj, {col_name: frozenset(labels)}, f"locale:{locale}")
