"""The labelled evaluation set (issue 5): objects with every column's expected categories.

Groups, each built at several seeds:
- ``reference``: tables shaped like DESIGN.md's reference device cloud (users, devices, api_tokens, ...);
  when ``dataward.devicecloud`` is importable, its generated tables are added with the schema's labels.
- ``renamed``: the same tables with meaningless column names (c0, c1, ...). Labels that only a name can
  justify are dropped: firmware_version (bare version strings are hard negatives) and password.
- ``mixed``: free-text and noise columns with 10-20% planted credentials, cards, emails, MACs, ...
- ``json``: JSON blob columns; the column carries the union, each nested field ``column.path`` its own label.
- ``faker``: Faker's providers in thirteen locales (values shaped by someone else), named and renamed.
- ``locales``: device nicknames in eight languages (Faker's given names, hand-written rooms and possessives).
- ``vendors``: device tables of makers the reference cloud does not make (vendors_eval.py, hand-written).
- ``negative``: hard negatives (commit ids, UUIDs, base64 images, version strings, SKUs, room temperatures,
  English labels, ...) under their natural and meaningless names; they must get no category.
"""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import pyarrow as pa

from dataward.stores.base import SampledColumn, SampledObject

from . import values as v
from . import vendors_eval

NAME_ONLY = frozenset({"firmware_version", "password"})
SEEDS = (11, 22, 33)


@dataclass(frozen=True)
class Labelled:
    group: str
    obj: SampledObject
    labels: dict[str, frozenset[str]] = field(default_factory=dict)  # column (or column.path) -> categories
    slice: str = ""  # 'vendor:Ring', 'locale:de_DE': the report's per-vendor and per-locale rows


Spec = tuple[str, Callable[[random.Random], object], tuple[str, ...]]  # name, generator, categories


def _column(r: random.Random, name: str, gen: Callable[[random.Random], object], n: int) -> SampledColumn:
    vals = [gen(r) for _ in range(n)]
    return SampledColumn(name, pa.array(vals))


def _obj(name: str, cols: list[SampledColumn], group: str) -> SampledObject:
    return SampledObject(f"eval://{group}", "eval", name, tuple(cols), len(cols[0].values) if cols else 0)


def _seq(r: random.Random) -> int:
    return r.randint(1, 10**6)


def _ts(r: random.Random) -> str:
    return v.timestamp(r)


def _provider_token(kind: str) -> Callable[[random.Random], object]:
    def gen(r: random.Random) -> object:
        provider = r.choice(["alexa", "google", "ifttt"])
        if provider == "alexa":
            return v.alexa_token(r).replace("Atzr", "Atza") if kind == "access" else "Atzr" + v.alexa_token(r)[4:]
        if provider == "google":
            return f"ya29.{v._s(r, v.B64URL, 120)}" if kind == "access" else f"1//0{v._s(r, v.B64URL, 100)}"
        return v.opaque_token(r)

    return gen


def _height(r: random.Random) -> float:
    return round(r.gauss(171, 9), 1)


def _weight(r: random.Random) -> float:
    return round(min(max(r.gauss(78, 15), 40), 180), 1)


def _bone(r: random.Random) -> float:
    return round(r.uniform(2.0, 4.2), 2)


def _protein(r: random.Random) -> float:
    return round(r.uniform(14, 21), 1)


def _fat(r: random.Random) -> float:
    return round(r.uniform(9, 38), 1)


def _mf(r: random.Random) -> str:
    return r.choice(["M", "F", "F", "M", "X"])


REFERENCE: dict[str, list[Spec]] = {
    "users": [
        ("id", _seq, ()), ("email", v.email, ("email",)), ("username", v.username, ("username",)),
        ("full_name", v.full_name, ("person_name",)), ("phone", v.phone, ("phone",)),
        ("country", v.country, ()), ("created_at", _ts, ()), ("password_hash", v.password_hash, ("password_hash",)),
        ("mfa_enabled", v.bool_text, ()), ("profile_photo_url", v.photo_url, ("photo_url",)),
    ],
    "devices": [
        ("id", _seq, ()), ("user_id", _seq, ()), ("mac", v.mac, ("mac_address",)), ("model", v.model, ("device_model",)),
        ("firmware_version", v.firmware, ("firmware_version",)), ("nickname", v.nickname, ("device_nickname", "person_name")),
        ("wifi_ssid", v.ssid, ("wifi_ssid",)), ("ip_address", v.ipv4, ("ip_address",)),
        ("timezone", lambda r: r.choice(["America/New_York", "Europe/Berlin", "America/Los_Angeles"]), ()),
        ("activated_at", _ts, ()), ("last_seen_at", _ts, ()),
    ],
    "connection_events": [
        ("id", _seq, ()), ("device_id", _seq, ()), ("ts", _ts, ()),
        ("kind", lambda r: r.choice(["connect", "disconnect", "failure"]), ()), ("error_code", v.error_code, ()),
        ("rssi", v.rssi, ()),
    ],
    "api_tokens": [
        ("id", _seq, ()), ("user_id", _seq, ()), ("platform", v.platform, ()),
        ("access_token", v.api_token, ("api_token",)), ("refresh_token", v.refresh_token, ("oauth_refresh_token",)),
        ("issued_at", _ts, ()), ("expires_at", _ts, ()),
    ],
    "integrations": [
        ("id", _seq, ()), ("user_id", _seq, ()), ("provider", lambda r: r.choice(["alexa", "google_assistant", "ifttt"]), ()),
        ("access_token", _provider_token("access"), ("alexa_token", "api_token")),
        ("refresh_token", _provider_token("refresh"), ("alexa_token", "oauth_refresh_token")),
        ("linked_at", _ts, ()),
    ],
    "body_metrics": [
        ("id", _seq, ()), ("user_id", _seq, ()), ("measured_at", _ts, ()),
        ("height_cm", _height, ("health_metric",)), ("weight_kg", _weight, ("health_metric",)),
        ("gender", _mf, ("gender",)), ("bone_mass_kg", _bone, ("health_metric",)),
        ("protein_pct", _protein, ("health_metric",)), ("body_fat_pct", _fat, ("health_metric",)),
    ],
    "customers_eu": [
        ("iban", v.iban, ("payment_card",)), ("card_number", v.card, ("payment_card",)), ("ssn", v.ssn, ("gov_id",)),
        ("date_of_birth", v.dob, ("date_of_birth",)), ("street_address", v.address, ("postal_address",)),
        ("gender", v.gender, ("gender",)), ("ipv6", v.ipv6, ("ip_address",)), ("location", v.geo_pair, ("geo",)),
        ("aws_access_key_id", v.aws_key, ("secret_key",)), ("signing_key", v.private_key, ("secret_key",)),
    ],
    "legacy_accounts": [
        ("id", _seq, ()), ("login", v.username, ("username",)), ("password", v.plain_password, ("password",)),
        ("wifi_password", v.plain_password, ("password",)), ("password_hint", v.label, ()),
        ("last_login_ip", v.ipv4, ("ip_address",)),
    ],
}


def reference(seed: int, renamed: bool, rows: int = 400) -> Iterator[Labelled]:
    r = random.Random(seed * (2 if renamed else 1))
    for table, specs in REFERENCE.items():
        n = 140 if table == "body_metrics" else rows
        cols, labels = [], {}
        for i, (name, gen, cats) in enumerate(specs):
            col_name = f"c{i}" if renamed else name
            cols.append(_column(r, col_name, gen, n))
            keep = frozenset(cats) - NAME_ONLY if renamed else frozenset(cats)
            labels[col_name] = keep
        group = "renamed" if renamed else "reference"
        yield Labelled(group, _obj(f"{table}_{seed}" + ("_x" if renamed else ""), cols, group), labels)


MIXED: list[tuple[str, Callable[[random.Random], object], str]] = [
    ("email", lambda r: f"please contact {v.email(r)} about the camera", "email"),
    ("api_token", v.jwt, "api_token"),
    ("payment_card", v.card, "payment_card"),
    ("alexa_token", v.alexa_token, "alexa_token"),
    ("mac_address", v.mac, "mac_address"),
    ("payment_card", lambda r: f"refund to {v.iban(r)}", "payment_card"),
    ("gov_id", v.ssn, "gov_id"),
    ("secret_key", lambda r: f"key={v.aws_key(r)}", "secret_key"),
    ("password_hash", v.password_hash, "password_hash"),
    ("oauth_refresh_token", lambda r: f"1//0{v._s(r, v.B64URL, 90)}", "oauth_refresh_token"),
]


def mixed(seed: int, rows: int = 300) -> Iterator[Labelled]:
    r = random.Random(seed + 1000)
    noise = [v.sentence, v.label, v.sku, v.version]
    cols, labels = [], {}
    for i, (_, gen, category) in enumerate(MIXED):
        share = r.uniform(0.1, 0.2)
        background = noise[i % len(noise)]
        vals = [gen(r) if r.random() < share else background(r) for _ in range(rows)]
        name = f"notes_{i}" if i % 2 else f"field_{i}"
        cols.append(SampledColumn(name, pa.array([str(x) for x in vals])))
        labels[name] = frozenset({category})
    yield Labelled("mixed", _obj(f"mixed_{seed}", cols, "mixed"), labels)


def _doc_device(r: random.Random) -> dict[str, object]:
    return {"device": {"mac": v.mac(r), "nickname": v.nickname(r), "fw": v.firmware(r)},
            "wifi": {"ssid": v.ssid(r), "rssi": v.rssi(r)}, "settings": {"night_vision": r.random() < 0.5, "sens": 3}}


def _doc_user(r: random.Random) -> dict[str, object]:
    return {"user": {"email": v.email(r), "name": v.full_name(r), "phone": v.phone(r)},
            "tags": [v.label(r), v.label(r)], "ver": v.version(r)}


def _doc_tokens(r: random.Random) -> dict[str, object]:
    return {"alexa": {"access": v.alexa_token(r)}, "session": {"jwt": v.jwt(r)}, "ok": True, "commit": v.commit_id(r)}


def _doc_health(r: random.Random) -> dict[str, object]:
    return {"metrics": {"height_cm": _height(r), "weight_kg": _weight(r), "body_fat_pct": _fat(r)},
            "gender": v.gender(r), "source": "scale"}


JSON_DOCS: list[tuple[Callable[[random.Random], dict[str, object]], dict[str, tuple[str, ...]]]] = [
    (_doc_device, {"device.mac": ("mac_address",), "device.nickname": ("device_nickname", "person_name"),
                   "device.fw": ("firmware_version",), "wifi.ssid": ("wifi_ssid",), "wifi.rssi": (),
                   "settings.night_vision": (), "settings.sens": ()}),
    (_doc_user, {"user.email": ("email",), "user.name": ("person_name",), "user.phone": ("phone",),
                 "tags[]": (), "ver": ()}),
    (_doc_tokens, {"alexa.access": ("alexa_token",), "session.jwt": ("api_token",), "ok": (), "commit": ()}),
    (_doc_health, {"metrics.height_cm": ("health_metric",), "metrics.weight_kg": ("health_metric",),
                   "metrics.body_fat_pct": ("health_metric",), "gender": ("gender",), "source": ()}),
]


def json_blobs(seed: int, rows: int = 200) -> Iterator[Labelled]:
    r = random.Random(seed + 2000)
    for i, (make, paths) in enumerate(JSON_DOCS):
        name = ["payload", "attrs", "c9", "blob"][i]
        col = SampledColumn(name, pa.array([json.dumps(make(r)) for _ in range(rows)]), "json")
        labels = {f"{name}.{p}": frozenset(c) for p, c in paths.items()}
        labels[name] = frozenset().union(*labels.values())
        yield Labelled("json", _obj(f"json_{seed}_{i}", [col], "json"), labels)


def negatives(seed: int, rows: int = 300) -> Iterator[Labelled]:
    r = random.Random(seed + 3000)
    for renamed in (False, True):
        cols = [
            _column(r, f"attr_{i}" if renamed else name, gen, rows)
            for i, (name, gen) in enumerate(v.HARD_NEGATIVES.items())
        ]
        # one object per column: neighbours must not rescue or condemn a negative
        for col in cols:
            yield Labelled("negative", _obj(f"neg_{seed}_{col.name}", [col], "negative"), {col.name: frozenset()})
    for name, gen in v.NAMED_NEGATIVES.items():
        col = _column(r, name, gen, rows)
        yield Labelled("negative", _obj(f"named_{seed}_{name}", [col], "negative"), {name: frozenset()})
    sensors = [("temperature_c", v.room_temperature), ("humidity_pct", lambda r: round(r.uniform(30, 60), 1)),
               ("pressure_hpa", lambda r: round(r.uniform(990, 1030), 1)), ("battery_pct", lambda r: r.randint(5, 100))]
    cols = [_column(r, n, g, rows) for n, g in sensors]
    yield Labelled("negative", _obj(f"sensors_{seed}", cols, "negative"), {c.name: frozenset() for c in cols})


def noisy(seed: int) -> Iterator[Labelled]:
    """The reference tables again with 40% nulls, some empty strings and whitespace-padded values."""
    r = random.Random(seed + 5000)
    for item in reference(seed + 1, renamed=False, rows=300):
        cols = []
        for col in item.obj.columns:
            vals = col.values.to_pylist()
            out: list[object] = []
            for x in vals:
                roll = r.random()
                if roll < 0.4:
                    out.append(None)
                elif roll < 0.45 and isinstance(x, str):
                    out.append("")
                elif roll < 0.6 and isinstance(x, str):
                    out.append(f"  {x} ")
                else:
                    out.append(x)
            cols.append(SampledColumn(col.name, pa.array(out, col.values.type)))
        obj = SampledObject("eval://noisy", "eval", f"noisy_{item.obj.object}", tuple(cols), item.obj.records)
        yield Labelled("noisy", obj, item.labels)


def shaped(seed: int, rows: int = 300) -> Iterator[Labelled]:
    """Positives in less common shapes (upper-case emails, 'Last, First', Bearer headers, world phones)."""
    r = random.Random(seed + 4000)
    for name, (gen, category) in v.SHAPED_POSITIVES.items():
        col = _column(r, name, gen, rows)
        yield Labelled("shaped", _obj(f"shaped_{seed}_{name}", [col], "shaped"), {name: frozenset({category})})


def devicecloud(seed: int) -> Iterator[Labelled]:
    """The real generator's tables (dataward.devicecloud) with its schema's labels, when it is present."""
    from . import devicecloud_eval

    yield from devicecloud_eval.objects(seed)


def build(seeds: tuple[int, ...] = SEEDS) -> list[Labelled]:
    out: list[Labelled] = []
    with contextlib.suppress(ImportError):
        from . import faker_eval, locales_eval

        out.extend(faker_eval.objects(seeds[0]))
        for seed in seeds:
            out.extend(locales_eval.objects(seed))
    for seed in seeds:
        out.extend(reference(seed, renamed=False))
        out.extend(reference(seed, renamed=True))
        out.extend(mixed(seed))
        out.extend(json_blobs(seed))
        out.extend(negatives(seed))
        out.extend(shaped(seed))
        out.extend(noisy(seed))
        out.extend(vendors_eval.objects(seed))
        with contextlib.suppress(ImportError):
            out.extend(devicecloud(seed))
    return [_english_reference(item) for item in out]


_REFERENCE_GROUPS = frozenset({"reference", "renamed", "devicecloud", "devicecloud-renamed", "noisy", "shaped"})


def _english_reference(item: Labelled) -> Labelled:
    """The English, reference-maker tables report as one locale row, the baseline other locales are held to."""
    if item.slice or item.group not in _REFERENCE_GROUPS:
        return item
    return replace(item, slice="locale:en (reference)")
