"""Value generators for the labelled evaluation set: realistic shapes of every category and of the hard
negatives that must not be flagged. Seeded; small; no value here is a real person's data."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import string
import uuid
from collections.abc import Callable

FIRST = ["Emma", "Liam", "Olivia", "Noah", "Ava", "Elijah", "Sophia", "Lucas", "Mia", "Mateo", "Isabella", "Ethan",
         "Charlotte", "James", "Amelia", "Benjamin", "Harper", "Henry", "Evelyn", "Jack", "Chloe", "Daniel", "Lena",
         "Jonas", "Marie", "Pierre", "Lucia", "Hugo", "Sofia", "Leon", "Hannah", "Maximilian", "Camille", "Diego"]
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
        "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee",
        "Mueller", "Schmidt", "Schneider", "Fischer", "Dubois", "Laurent", "Rossi", "Russo", "Fernandez", "Jansen"]
DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.co.uk", "icloud.com", "proton.me", "web.de",
           "gmx.net", "orange.fr", "mail.example.org", "comcast.net", "aol.com", "libero.it", "uni-koeln.de"]
ROOMS = ["Nursery", "Kitchen", "Garage", "Living Room", "Front Door", "Backyard", "Driveway", "Bedroom",
         "Basement", "Office", "Porch", "Baby Room", "Hallway", "Patio", "Garden", "Dining Room", "Playroom"]
WORDS = ["apple", "river", "stone", "cloud", "maple", "orbit", "pixel", "tiger", "lemon", "harbor", "cobalt",
         "meadow", "falcon", "ember", "quartz", "willow", "canyon", "velvet", "summit", "breeze"]
LABELS = ["connected", "disconnected", "pending", "failed", "active", "inactive", "queued", "Retry later",
          "Out of stock", "In transit", "Delivered", "Cancelled", "Shipped", "On hold", "unknown"]
MODELS = ["WYZEC3", "WYZECP2", "WYZEDB3", "WYZE_CAKP2JFUS", "WYZEC2", "HL_CAM3P", "WVOD1", "WYZEP1"]
ALNUM = string.ascii_letters + string.digits
B64URL = ALNUM + "-_"

Gen = Callable[[random.Random], object]


def _s(r: random.Random, alphabet: str, n: int) -> str:
    return "".join(r.choices(alphabet, k=n))


def email(r: random.Random) -> str:
    first, last = r.choice(FIRST).lower(), r.choice(LAST).lower()
    local = r.choice([f"{first}.{last}", f"{first[0]}{last}", f"{first}{r.randint(1, 99)}", f"{last}+wyze",
                      f"{first}_{last}{r.randint(70, 99)}"])
    return f"{local}@{r.choice(DOMAINS)}"


def full_name(r: random.Random) -> str:
    if r.random() < 0.15:
        return f"{r.choice(FIRST)} {r.choice(string.ascii_uppercase)}. {r.choice(LAST)}"
    return f"{r.choice(FIRST)} {r.choice(LAST)}"


def username(r: random.Random) -> str:
    first, last = r.choice(FIRST).lower(), r.choice(LAST).lower()
    return r.choice([f"{first}{r.randint(1, 9999)}", f"{first}.{last}", f"{first[0]}{last}{r.randint(1, 99)}",
                     f"{r.choice(WORDS)}_{r.choice(WORDS)}{r.randint(1, 99)}", f"{last}_{first[:3]}"])


def phone(r: random.Random) -> str:
    kind = r.random()
    if kind < 0.5:
        return f"+1{r.choice(['415', '212', '312', '206', '512', '617'])}{r.randint(2, 9)}{r.randint(0, 999999):06d}"
    if kind < 0.7:
        return f"+44 7{r.randint(100, 999)} {r.randint(100000, 999999)}"
    if kind < 0.85:
        return f"+49 151 {r.randint(1000000, 9999999)}"
    return f"({r.choice(['415', '212', '206'])}) {r.randint(200, 999)}-{r.randint(1000, 9999)}"


def password_hash(r: random.Random) -> str:
    if r.random() < 0.6:
        return f"$2b$12${_s(r, ALNUM + './', 53)}"
    salt = base64.b64encode(r.randbytes(16)).decode().rstrip("=")
    digest = base64.b64encode(r.randbytes(32)).decode().rstrip("=")
    return f"$argon2id$v=19$m=65536,t=3,p=4${salt}${digest}"


def photo_url(r: random.Random) -> str:
    return r.choice([f"https://cdn.wyze.example/avatars/{uuid.UUID(int=r.getrandbits(128))}.jpg",
                     f"https://img.example.com/u/{r.randint(1, 10**8)}/profile.png",
                     f"https://s3.amazonaws.com/photos-bucket/{_s(r, ALNUM, 12)}.jpeg?v={r.randint(1, 9)}"])


def _b64url_json(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def jwt(r: random.Random) -> str:
    header = _b64url_json({"alg": r.choice(["HS256", "RS256", "ES256"]), "typ": "JWT"})
    payload = _b64url_json({"sub": str(r.randint(1, 10**7)), "iat": r.randint(1_600_000_000, 1_800_000_000), "scope": "device"})
    return f"{header}.{payload}.{_s(r, B64URL, 43)}"


def opaque_token(r: random.Random) -> str:
    return _s(r, ALNUM, r.choice([32, 40, 48, 64]))


def api_token(r: random.Random) -> str:
    return jwt(r) if r.random() < 0.5 else opaque_token(r)


def refresh_token(r: random.Random) -> str:
    return f"1//0{_s(r, B64URL, 100)}" if r.random() < 0.5 else _s(r, ALNUM, 64)


def alexa_token(r: random.Random) -> str:
    return f"{r.choice(['Atza', 'Atzr'])}|IwEB{_s(r, B64URL, r.randint(120, 300))}"


def aws_key(r: random.Random) -> str:
    return "AKIA" + _s(r, string.ascii_uppercase + string.digits, 16)


def private_key(r: random.Random) -> str:
    body = base64.b64encode(r.randbytes(96)).decode()
    return f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"


def ssid(r: random.Random) -> str:
    kind = r.random()
    if kind < 0.25:
        return f"NETGEAR{r.randint(10, 99)}" + r.choice(["", "-5G"])
    if kind < 0.4:
        return f"TP-Link_{r.randint(0, 65535):04X}"
    if kind < 0.5:
        return r.choice(["xfinitywifi", f"ATT{_s(r, ALNUM, 5)}", f"Linksys{r.randint(10000, 99999)}"])
    if kind < 0.6:
        return f"HOME-{r.randint(0, 65535):04X}"
    return r.choice([f"The {r.choice(LAST)}s 5G", f"{r.choice(LAST)} WiFi", f"{r.choice(FIRST)}-Guest",
                     f"{r.choice(LAST)} Family Net", f"Casa {r.choice(LAST)}"])


def nickname(r: random.Random) -> str:
    room = r.choice(ROOMS)
    return r.choice([f"{r.choice(FIRST)}'s {room}", room, f"{room} Cam", f"{room} {r.randint(1, 3)}",
                     f"{r.choice(FIRST)}'s Room", f"{room} Camera"])


def mac(r: random.Random) -> str:
    sep = r.choice([":", ":", "-"])
    oui = r.choice(["2C:AA:8E", "7C:78:B2", "D0:3F:27", "A4:DA:22"]).replace(":", sep)
    return oui + sep + sep.join(f"{r.randint(0, 255):02X}" for _ in range(3))


def ipv4(r: random.Random) -> str:
    kind = r.random()
    if kind < 0.4:
        return f"192.168.{r.randint(0, 255)}.{r.randint(2, 254)}"
    if kind < 0.6:
        return f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(2, 254)}"
    return f"{r.randint(23, 223)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"


def ipv6(r: random.Random) -> str:
    return "2001:db8:" + ":".join(f"{r.randint(0, 65535):x}" for _ in range(6))


def geo_pair(r: random.Random) -> str:
    return f"{r.uniform(-60, 70):.5f},{r.uniform(-170, 170):.5f}"


def card(r: random.Random) -> str:
    prefix = r.choice(["4", "51", "55", "37", "6011"])
    length = 15 if prefix == "37" else 16
    body = prefix + "".join(r.choices(string.digits, k=length - len(prefix) - 1))
    total = 0
    for i, ch in enumerate(reversed(body + "0")):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    digits = body + str((10 - total % 10) % 10)
    return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4)) if r.random() < 0.3 else digits


def iban(r: random.Random) -> str:
    country, length = r.choice([("DE", 22), ("FR", 27), ("GB", 22), ("NL", 18), ("ES", 24)])
    bban = "".join(r.choices(string.digits, k=length - 4))
    if country in ("GB", "NL"):
        bban = "".join(r.choices(string.ascii_uppercase, k=4)) + bban[4:]
    number = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    return f"{country}{98 - number % 97:02d}{bban}"


def ssn(r: random.Random) -> str:
    return f"{r.choice([r.randint(1, 665), r.randint(667, 899)]):03d}-{r.randint(1, 99):02d}-{r.randint(1, 9999):04d}"


def dob(r: random.Random) -> str:
    return f"{r.randint(1940, 2006)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"


def address(r: random.Random) -> str:
    street = r.choice(["Maple", "Oak", "Cedar", "Pine", "Elm", "Washington", "Lake", "Hill", "Sunset", "Park"])
    return f"{r.randint(1, 9999)} {street} {r.choice(['St', 'Street', 'Ave', 'Road', 'Blvd', 'Lane', 'Dr'])}"


def gender(r: random.Random) -> str:
    return r.choice(["male", "female", "female", "male", "non-binary", "prefer_not_to_say"])


def firmware(r: random.Random) -> str:
    return f"4.{r.choice([36, 25, 10, 9])}.{r.randint(0, 12)}.{r.randint(100, 9999)}"


def model(r: random.Random) -> str:
    return r.choice(MODELS)


# ---------------------------------------------------------------- hard negatives


def commit_id(r: random.Random) -> str:
    return hashlib.sha1(r.randbytes(8)).hexdigest()[: r.choice([7, 12, 40])]


def a_uuid(r: random.Random) -> str:
    return str(uuid.UUID(int=r.getrandbits(128), version=4))


def base64_image(r: random.Random) -> str:
    head = r.choice([b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a"])
    return base64.b64encode(head + r.randbytes(r.randint(300, 900))).decode()


def version(r: random.Random) -> str:
    return r.choice([f"{r.randint(0, 3)}.{r.randint(0, 20)}.{r.randint(0, 30)}", f"v{r.randint(1, 5)}.{r.randint(0, 9)}",
                     f"{r.randint(1, 12)}.{r.randint(0, 9)}.{r.randint(0, 9)}.{r.randint(0, 99)}"])


def sku(r: random.Random) -> str:
    return r.choice([f"SKU-{r.randint(10000, 99999)}-{r.choice(['BLK', 'WHT', 'RED'])}",
                     f"{_s(r, string.ascii_uppercase, 3)}{r.randint(100, 999)}-{r.choice(['S', 'M', 'L', 'XL'])}",
                     f"WZ{r.randint(1000, 9999)}{_s(r, string.ascii_uppercase, 2)}"])


def room_temperature(r: random.Random) -> float:
    return round(r.uniform(17.5, 26.5), 1)


def label(r: random.Random) -> str:
    return r.choice(LABELS)


def sha256_hex(r: random.Random) -> str:
    return hashlib.sha256(r.randbytes(8)).hexdigest()


def timestamp(r: random.Random) -> str:
    return f"20{r.randint(19, 26)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:00Z"


def sentence(r: random.Random) -> str:
    return " ".join(r.choices(WORDS + ["the", "a", "of", "and", "to", "device", "camera", "update"], k=r.randint(3, 12)))


def error_code(r: random.Random) -> str:
    return f"E{r.randint(1000, 1010)}"


def country(r: random.Random) -> str:
    return r.choice(["US", "US", "US", "DE", "FR", "GB", "NL", "ES", "IT", "CA"])


def price(r: random.Random) -> float:
    return round(r.uniform(9.99, 299.99), 2)


def doc_url(r: random.Random) -> str:
    return f"https://docs.example.com/{r.choice(WORDS)}/{r.choice(WORDS)}.html"


def big_id(r: random.Random) -> int:
    return r.randint(10**6, 10**9)


def epoch(r: random.Random) -> int:
    return r.randint(1_500_000_000, 1_800_000_000)


def rssi(r: random.Random) -> int:
    return r.randint(-90, -30)


def product_name(r: random.Random) -> str:
    return r.choice(["Wyze Cam v3", "Wyze Plug", "Video Doorbell", "Smart Scale", "Floodlight Pro", "Sense Hub"])


def hostname(r: random.Random) -> str:
    return f"{r.choice(['api', 'db', 'cache', 'worker'])}-{r.randint(1, 40)}.prod.internal"


def platform(r: random.Random) -> str:
    return r.choice(["ios", "android", "web"])


def bool_text(r: random.Random) -> str:
    return r.choice(["true", "false"])


HARD_NEGATIVES: dict[str, Gen] = {
    "commit_id": commit_id, "uuid": a_uuid, "image_b64": base64_image, "version": version, "sku": sku,
    "room_temp_c": room_temperature, "status_label": label, "sha256": sha256_hex, "created_at": timestamp,
    "message": sentence, "error_code": error_code, "country": country, "price": price, "docs_url": doc_url,
    "order_id": big_id, "epoch_s": epoch, "rssi": rssi, "product": product_name, "host": hostname,
    "platform": platform, "enabled": bool_text,
}


# Columns whose names sound sensitive but whose values are not (a name alone must not decide).
def _hours(r: random.Random) -> int:
    return r.randint(1, 720)


def _weight_g(r: random.Random) -> int:
    return r.randint(250, 5000)


NAMED_NEGATIVES: dict[str, Gen] = {
    "password_changed_at": timestamp, "email_verified": bool_text, "token_type": lambda r: "Bearer",
    "ip_count": lambda r: r.randint(0, 40), "ssid_hidden": bool_text, "nickname_set": bool_text,
    "refresh_interval_s": _hours, "secret_question": lambda r: r.choice(["What is your pet's name?", "First car?"]),
    "api_key_id": a_uuid, "session_id": a_uuid, "package_weight_g": _weight_g,
    "hr_department": lambda r: r.choice(["Sales", "Support", "Engineering"]), "name": product_name,
    "username_changed_at": timestamp, "phone_verified": bool_text, "mac_vendor": lambda r: "Wyze Labs",
}


def upper_email(r: random.Random) -> str:
    first, last = r.choice(FIRST), r.choice(LAST)
    return f"{first}.{last}@{r.choice(DOMAINS).upper()}"


def last_first(r: random.Random) -> str:
    return f"{r.choice(LAST)}, {r.choice(FIRST)}"


def bearer_header(r: random.Random) -> str:
    return f"Bearer {jwt(r)}"


def world_phone(r: random.Random) -> str:
    return r.choice([f"+33 6 {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)}",
                     f"+39 3{r.randint(10, 99)} {r.randint(100, 999)} {r.randint(1000, 9999)}",
                     f"+31 6 {r.randint(10000000, 99999999)}", f"+1-206-{r.randint(200, 999)}-{r.randint(1000, 9999)}"])


# Positives in less common shapes, under neutral names.
SHAPED_POSITIVES: dict[str, tuple[Gen, str]] = {
    "contact": (upper_email, "email"), "owner": (last_first, "person_name"), "auth_header": (bearer_header, "api_token"),
    "msisdn": (world_phone, "phone"), "bssid": (mac, "mac_address"), "peer": (ipv6, "ip_address"),
}


def plain_password(r: random.Random) -> str:
    return r.choice([f"{r.choice(WORDS)}{r.randint(1, 9999)}!", _s(r, ALNUM + "!@#$%", r.randint(8, 16)),
                     f"{r.choice(FIRST)}{r.randint(1970, 2010)}"])
