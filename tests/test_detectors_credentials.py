"""Credential detectors: format tables (bcrypt, argon2, JWT, Alexa, Google, AWS, private keys) and
hypothesis properties of the JWT validator."""

from __future__ import annotations

import base64
import json
import random
import string

import pytest
from _classify_helpers import categories, unique_rows
from hypothesis import given
from hypothesis import strategies as st

from dataward.classify.credentials import AlexaToken, entropy, opaque_token, valid_jwt

R = random.Random(5)
ALNUM = string.ascii_letters + string.digits


def rnd(n: int, alphabet: str = ALNUM) -> str:
    return "".join(R.choices(alphabet, k=n))


def b64url(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def jwt(alg: str = "HS256") -> str:
    return f"{b64url({'alg': alg, 'typ': 'JWT'})}.{b64url({'sub': rnd(8)})}.{rnd(43, ALNUM + '-_')}"


@pytest.mark.parametrize(
    "value, flagged",
    [("Atza|IwEBI" + "a" * 60, True), ("Atzr|IwEBI" + "b1" * 30, True), ("Atza|", False), ("ATZA", False),
     ("Atza|short", False)],
)
def test_alexa_table(value: str, flagged: bool) -> None:
    import re

    pattern = re.compile(AlexaToken.patterns[0])
    assert bool(pattern.fullmatch(value)) is flagged


@pytest.mark.parametrize(
    "value, ok",
    [(jwt(), True), (jwt("RS256"), True), (f"{b64url({'typ': 'JWT'})}.{b64url({})}.{rnd(20)}", False),
     ("eyJhbGciOi.not.json", False), ("a.b", False)],
)
def test_jwt_validator(value: str, ok: bool) -> None:
    assert valid_jwt(value) is ok


@given(st.dictionaries(st.text(max_size=8), st.text(max_size=8)), st.text(alphabet=ALNUM, min_size=1, max_size=40))
def test_jwt_needs_alg(header: dict[str, str], sig: str) -> None:
    token = f"{b64url(header)}.{b64url({'sub': 1})}.{sig}"
    assert valid_jwt(token) is ("alg" in header)


@given(st.text(alphabet="0123456789abcdef", min_size=20, max_size=80))
def test_hex_is_never_an_opaque_token(value: str) -> None:
    assert not opaque_token(value)


def test_entropy_bounds() -> None:
    assert entropy("aaaa") == 0
    assert entropy(rnd(64)) > 4.5


@pytest.mark.parametrize(
    "name, make, expected",
    [
        ("c1", lambda i: f"$2b$12${rnd(53, ALNUM + './')}", "password_hash"),
        ("c1", lambda i: f"$argon2id$v=19$m=65536,t=3,p=4${rnd(22)}${rnd(43)}", "password_hash"),
        ("c1", lambda i: f"pbkdf2_sha256$600000${rnd(12)}${rnd(44)}=", "password_hash"),
        ("password_hash", lambda i: rnd(64, "0123456789abcdef"), "password_hash"),
        ("password", lambda i: f"hunter{i}!", "password"),
        ("c1", lambda i: jwt(), "api_token"),
        ("authorization", lambda i: f"Bearer {jwt()}", "api_token"),
        ("c1", lambda i: f"ya29.{rnd(120, ALNUM + '-_')}", "api_token"),
        ("c1", lambda i: f"ghp_{rnd(36)}", "api_token"),
        ("c1", lambda i: rnd(40), "api_token"),
        ("c1", lambda i: f"1//0{rnd(100, ALNUM + '-_')}", "oauth_refresh_token"),
        ("refresh_token", lambda i: rnd(64), "oauth_refresh_token"),
        ("c1", lambda i: f"Atza|IwEB{rnd(200, ALNUM + '-_')}", "alexa_token"),
        ("c1", lambda i: "AKIA" + rnd(16, string.ascii_uppercase + string.digits), "secret_key"),
        ("c1", lambda i: f"-----BEGIN RSA PRIVATE KEY-----\n{rnd(64)}\n-----END RSA PRIVATE KEY-----", "secret_key"),
        ("aws_secret_access_key", lambda i: rnd(40, ALNUM + "/+"), "secret_key"),
    ],
)
def test_flags(name: str, make: object, expected: str) -> None:
    assert expected in categories(unique_rows(make), name)


CREDENTIALS = {"password_hash", "password", "api_token", "oauth_refresh_token", "alexa_token", "secret_key"}


@pytest.mark.parametrize(
    "name, make",
    [
        ("c1", lambda i: f"{R.getrandbits(160):040x}"),  # commit ids
        ("c1", lambda i: f"{R.getrandbits(128):032x}"),
        ("session_id", lambda i: f"{R.getrandbits(32):08x}-{1:04x}-4{2:03x}-a{3:03x}-{R.getrandbits(48):012x}"),
        ("c1", lambda i: base64.b64encode(b"\x89PNG\r\n\x1a\n" + R.randbytes(400)).decode()),
        ("password_changed_at", lambda i: f"2024-01-{1 + i % 28:02d}T10:00:00Z"),
        ("token_type", lambda i: "Bearer"),
        ("refresh_interval_s", lambda i: 3600 + i),
        ("c1", lambda i: f"{i % 4}.{i % 10}.{i % 7}"),
    ],
)
def test_hard_negatives(name: str, make: object) -> None:
    assert not categories(unique_rows(make), name) & CREDENTIALS
