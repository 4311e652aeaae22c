"""Identity detectors: should-flag tables with hard negatives side by side, by content and by name."""

from __future__ import annotations

import pytest
from _classify_helpers import categories, unique_rows
from hypothesis import given
from hypothesis import strategies as st

from dataward.classify.identity import Email, _person_name, _valid_phone

FIRSTS = ["Emma", "Liam", "Olivia", "Noah", "Sophia", "James", "Maria", "Lucas"]
LASTS = ["Smith", "Garcia", "Mueller", "Rossi", "Brown", "Dubois", "Jansen", "Taylor"]


@pytest.mark.parametrize(
    "value, ok",
    [("emma.smith@example.com", True), ("a+tag@mail.example.co.uk", True), ("x@localhost", False),
     (".a@example.com", False), ("a..b@example.com", False), ("a" * 65 + "@example.com", False)],
)
def test_email_validator(value: str, ok: bool) -> None:
    assert Email().validate(value) is ok


@pytest.mark.parametrize(
    "value, single, ok",
    [("Emma Smith", False, True), ("Smith, Emma", False, True), ("Emma J. Smith", False, True),
     ("Emma's Nursery", False, False), ("Living Room", False, False), ("Emma", False, False), ("Emma", True, True),
     ("Front Door", False, False), ("emma smith", False, False)],
)
def test_person_name(value: str, single: bool, ok: bool) -> None:
    assert _person_name(value, single) is ok


@pytest.mark.parametrize(
    "value, ok",
    [("+14155552671", True), ("+44 7911 123456", True), ("(415) 555-2671", True), ("+1234", False),
     ("2021-03-15", False), ("12345", False)],
)
def test_phone_validator(value: str, ok: bool) -> None:
    assert _valid_phone(value) is ok


@pytest.mark.parametrize(
    "name, make, expected",
    [
        ("c1", lambda i: f"user{i}@example.com", "email"),
        ("c1", lambda i: f"ping {FIRSTS[i % 8].lower()}{i}@mail.example.org please", "email"),
        ("c1", lambda i: f"{FIRSTS[i % 8]} {LASTS[(i // 8) % 8]}", "person_name"),
        ("full_name", lambda i: f"{FIRSTS[i % 8]} {LASTS[i % 7]}", "person_name"),
        ("username", lambda i: f"{FIRSTS[i % 8].lower()}{i}", "username"),
        ("c1", lambda i: f"{FIRSTS[i % 8].lower()}_{LASTS[i % 8].lower()}{i}", "username"),
        ("c1", lambda i: f"+1415555{i:04d}", "phone"),
        ("phone", lambda i: f"415555{i:04d}", "phone"),
        ("c1", lambda i: f"{100 + i} Maple Street", "postal_address"),
        ("c1", lambda i: f"{1940 + i % 60}-0{1 + i % 9}-1{i % 9}", "date_of_birth"),
        ("dob", lambda i: f"199{i % 10}-05-0{1 + i % 9}", "date_of_birth"),
        ("c1", lambda i: f"https://cdn.example.com/avatars/{i}.jpg", "photo_url"),
        ("profile_photo_url", lambda i: f"https://cdn.example.com/u/{i}", "photo_url"),
    ],
)
def test_flags(name: str, make: object, expected: str) -> None:
    assert expected in categories(unique_rows(make), name)


@pytest.mark.parametrize(
    "name, make",
    [
        ("c1", lambda i: f"2024-0{1 + i % 9}-1{i % 9}"),  # event dates cluster in recent years
        ("c1", lambda i: ["connected", "pending", "failed"][i % 3]),
        ("c1", lambda i: f"https://docs.example.com/page{i}.html"),
        ("c1", lambda i: str(1_700_000_000 + i)),
        ("email_verified", lambda i: ["true", "false"][i % 2]),
        ("name", lambda i: ["Wyze Cam v3", "Wyze Plug", "Smart Scale"][i % 3]),
        ("username_changed_at", lambda i: f"2024-01-{1 + i % 28:02d}T00:00:00Z"),
        ("c1", lambda i: f"SKU-{10000 + i}-BLK"),
    ],
)
def test_hard_negatives(name: str, make: object) -> None:
    found = categories(unique_rows(make), name) & {"email", "person_name", "username", "phone", "postal_address",
                                                   "date_of_birth", "photo_url"}
    assert not found


@given(st.emails())
def test_generated_emails_validate(address: str) -> None:
    """Every RFC-valid address hypothesis makes passes the validator (the validator is not too strict)."""
    local, _, domain = address.rpartition("@")
    if domain.rsplit(".", 1)[-1].isalpha() and not local.startswith(".") and ".." not in local and not local.endswith("."):
        assert Email().validate(address)
