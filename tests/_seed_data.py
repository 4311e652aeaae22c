"""A small copy of the seed case's production tables (DESIGN.md schema), as Arrow, with planted canaries.

Deliberately tiny and deterministic (a few hundred users) so end-to-end scan tests stay fast; the reference
generator (dataward.devicecloud) is what benchmarks and the demo use.
"""

from __future__ import annotations

import base64
import json
import random

import pyarrow as pa

from dataward.tables import open_tables
from dataward.targets import parse_target

CANARY = {
    "email": "zq81x.canary@leak-canary.example",
    "alexa": "Atza|IwEBIzq81xCANARYzq81xCANARYzq81xCANARYzq81xCANARYzq81xCANARY",
    "ssid": "CanaryNet-zq81x",
    "nickname": "Zebulon's Canary Room",
}
FIRST = ["Emma", "Liam", "Olivia", "Noah", "Ava", "James", "Sophia", "Lucas", "Mia", "Ethan"]
LAST = ["Smith", "Johnson", "Garcia", "Miller", "Davis", "Lopez", "Wilson", "Moore", "Clark", "Young"]
ROOMS = ["Nursery", "Garage", "Front Door", "Kitchen", "Backyard", "Living Room"]


def seed_tables(users: int = 300, seed: int = 7) -> dict[str, pa.Table]:
    rnd = random.Random(seed)
    ids = list(range(1, users + 1))
    first = [rnd.choice(FIRST) for _ in ids]
    last = [rnd.choice(LAST) for _ in ids]
    emails = [f"{f.lower()}.{s.lower()}{i}@{rnd.choice(['gmail.com', 'yahoo.com', 'outlook.com'])}"
              for i, f, s in zip(ids, first, last, strict=True)]
    emails[-1] = CANARY["email"]
    hexs = "0123456789abcdef"
    b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

    def tok(n: int) -> str:
        return "".join(rnd.choice(b64) for _ in range(n))

    users_t = pa.table({
        "id": ids,
        "email": emails,
        "full_name": [f"{f} {s}" for f, s in zip(first, last, strict=True)],
        "password_hash": ["$2b$12$" + tok(53) for _ in ids],
        "country": ["US"] * users,
    })
    alexa = ["Atza|IwEBI" + tok(80) for _ in ids]
    alexa[-1] = CANARY["alexa"]
    integrations = pa.table({"id": ids, "user_id": ids, "provider": ["alexa"] * users, "access_token": alexa,
                             "refresh_token": ["Atzr|IwEBI" + tok(80) for _ in ids]})
    api_tokens = pa.table({
        "id": ids, "user_id": ids, "platform": [rnd.choice(["ios", "android", "web"]) for _ in ids],
        "access_token": [_jwt(i, tok(43)) for i in ids],
    })
    ssids = [rnd.choice([f"NETGEAR{rnd.randint(10, 99)}", f"The {s}s 5G", f"TP-Link_{rnd.randint(1000, 9999)}"])
             for s in last]
    ssids[-1] = CANARY["ssid"]
    nick = [f"{f}'s {rnd.choice(ROOMS)}" for f in first]
    nick[-1] = CANARY["nickname"]
    devices = pa.table({
        "id": ids, "user_id": ids,
        "mac": [":".join(["2c", "aa", "8e"] + [rnd.choice(hexs) + rnd.choice(hexs) for _ in range(3)]) for _ in ids],
        "model": [rnd.choice(["WYZEC3", "WYZECP2", "WYZEDB3"]) for _ in ids],
        "nickname": nick, "wifi_ssid": ssids,
        "ip_address": [f"192.168.{rnd.randint(0, 255)}.{rnd.randint(1, 254)}" for _ in ids],
    })
    testers = ids[: max(3, users // 50)]
    body = pa.table({
        "id": testers, "user_id": testers,
        "height_cm": [round(rnd.uniform(150, 200), 1) for _ in testers],
        "weight_kg": [round(rnd.uniform(50, 110), 1) for _ in testers],
        "gender": [rnd.choice(["female", "male"]) for _ in testers],
        "body_fat_pct": [round(rnd.uniform(10, 35), 1) for _ in testers],
        "bone_mass_kg": [round(rnd.uniform(2, 4), 2) for _ in testers],
    })
    events = pa.table({"id": ids, "device_id": ids, "kind": [rnd.choice(["connect", "disconnect"]) for _ in ids],
                       "rssi": [rnd.randint(-90, -30) for _ in ids]})
    return {"users": users_t, "devices": devices, "api_tokens": api_tokens, "integrations": integrations,
            "body_metrics": body, "connection_events": events}


def _jwt(user_id: int, signature: str) -> str:
    """A structurally valid JWT (base64url JSON header and payload); the signature is random."""
    def b64(doc: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")

    return f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64({'sub': str(user_id), 'iat': 1700000000})}.{signature}"


def load(url: str, tables: dict[str, pa.Table]) -> None:
    """Write the tables into a store through dataward.tables (COPY for PostgreSQL)."""
    with open_tables(parse_target(url), create=True) as store:
        for name, table in tables.items():
            store.write_table(name, table.schema, table.to_batches())
