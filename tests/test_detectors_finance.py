"""Finance and government ids: Luhn + issuer for cards, ISO 13616 mod-97 for IBAN, SSA rules for SSNs."""

from __future__ import annotations

import pytest
from _classify_helpers import categories, unique_rows
from hypothesis import given
from hypothesis import strategies as st

from dataward.classify.finance import luhn_ok, valid_card, valid_iban, valid_ssn


def with_check_digit(body: str) -> str:
    for d in "0123456789":
        if luhn_ok(body + d):
            return body + d
    raise AssertionError


@pytest.mark.parametrize(
    "value, ok",
    [("4111111111111111", True), ("4111 1111 1111 1111", True), ("378282246310005", True),
     ("4111111111111112", False), ("1234567812345670", False), ("411111", False)],
)
def test_card_validator(value: str, ok: bool) -> None:
    assert valid_card(value) is ok


@given(st.text(alphabet="0123456789", min_size=12, max_size=18))
def test_luhn_check_digit_roundtrip(body: str) -> None:
    full = with_check_digit(body)
    assert luhn_ok(full)
    wrong = full[:-1] + str((int(full[-1]) + 1) % 10)
    assert not luhn_ok(wrong)


@pytest.mark.parametrize(
    "value, ok",
    [("DE89370400440532013000", True), ("GB82WEST12345698765432", True), ("GB82 WEST 1234 5698 7654 32", True),
     ("DE89370400440532013001", False), ("XX89370400440532013000", False), ("DE8937040044053201300", False)],
)
def test_iban_validator(value: str, ok: bool) -> None:
    assert valid_iban(value) is ok


@given(st.text(alphabet="0123456789", min_size=18, max_size=18), st.sampled_from(["DE", "GB"]))
def test_iban_checksum_property(bban: str, country: str) -> None:
    """Computing the check digits per ISO 7064 always yields a valid IBAN; changing one digit breaks it."""
    number = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    iban = f"{country}{98 - number % 97:02d}{bban}"
    if country == "GB":
        return  # GB BBANs start with a bank code of letters; length is checked in the table above
    assert valid_iban(iban)
    flipped = iban[:-1] + str((int(iban[-1]) + 1) % 10)
    assert not valid_iban(flipped)


@pytest.mark.parametrize("value, ok", [("123-45-6789", True), ("000-12-3456", False), ("666-12-3456", False),
                                       ("912-12-3456", False), ("123-00-4567", False), ("123-45-0000", False)])
def test_ssn_validator(value: str, ok: bool) -> None:
    assert valid_ssn(value) is ok


@pytest.mark.parametrize(
    "name, make, expected",
    [("c1", lambda i: with_check_digit(f"4{i:014d}"), "payment_card"),
     ("c1", lambda i: "DE89370400440532013000", "payment_card"),
     ("c1", lambda i: f"{100 + i:03d}-{10 + i % 80:02d}-{1000 + i:04d}", "gov_id"),
     ("ssn", lambda i: f"{100 + i:03d}{10 + i % 80:02d}{1000 + i:04d}", "gov_id")],
)
def test_flags(name: str, make: object, expected: str) -> None:
    assert expected in categories(unique_rows(make), name)


@pytest.mark.parametrize("name, make", [("c1", lambda i: str(10**15 + i * 7)), ("order_id", lambda i: 10**9 + i),
                                        ("c1", lambda i: f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}")])
def test_hard_negatives(name: str, make: object) -> None:
    assert not categories(unique_rows(make), name) & {"payment_card", "gov_id"}
