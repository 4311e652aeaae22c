"""Finance and government-id detectors: payment_card (Luhn + issuer ranges), IBAN (ISO 13616 mod-97),
US Social Security numbers (SSA area/group/serial rules)."""

from __future__ import annotations

import re

from dataward.classify.base import Detector, register_detector


def luhn_ok(digits: str) -> bool:
    """The Luhn mod-10 check (ISO/IEC 7812-1 annex B)."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


_ISSUER = re.compile(r"^(?:4|5[1-5]|2[2-7]|3[47]|6011|65|64[4-9]|35|30[0-5]|36|38|62)")


def valid_card(value: str) -> bool:
    """13-19 digits (spaces or dashes allowed), a known issuer prefix and a valid Luhn check digit."""
    digits = re.sub(r"[ \-]", "", value)
    return 13 <= len(digits) <= 19 and bool(_ISSUER.match(digits)) and luhn_ok(digits)


@register_detector
class PaymentCard(Detector):
    category = "payment_card"
    names = ("card", "card_number", "cc", "ccnum", "credit_card", "pan", "card_no", "cardnumber")
    not_names = ("type", "brand", "last4", "last", "expiry", "exp", "holder", "token", "id", "count")
    patterns = (r"\b[0-9]{4}(?:[ \-]?[0-9]{4}){2}[ \-]?[0-9]{1,7}\b", r"\b3[47][0-9]{2}[ \-]?[0-9]{6}[ \-]?[0-9]{5}\b")
    embedded = True
    min_rate = 0.05
    hinted_rate = 0.05
    strong = True
    priority = 83
    # ref: ISO/IEC 7812 issuer identification numbers

    def validate(self, value: str) -> bool:
        return valid_card(value)


# ISO 13616 IBAN lengths per country (SWIFT IBAN registry)
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
    "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "ES": 24, "FI": 18,
    "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SE": 24,
    "SI": 19, "SK": 24, "SM": 27, "TN": 24, "TR": 26, "UA": 29, "VG": 24, "XK": 20,
}


def valid_iban(value: str) -> bool:
    """Country length and the mod-97 check of ISO 7064 (remainder 1 after moving the first four chars)."""
    iban = value.replace(" ", "").upper()
    if len(iban) < 15 or IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban.isalnum():
        return False
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


@register_detector
class Iban(Detector):
    category = "payment_card"  # DESIGN.md has no separate bank-account id; account numbers are payment data
    names = ("iban", "bank_account", "account_number", "bban")
    patterns = (r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b",)
    embedded = True
    min_rate = 0.05
    hinted_rate = 0.05
    strong = True
    priority = 82

    def validate(self, value: str) -> bool:
        return valid_iban(value)


def valid_ssn(value: str) -> bool:
    """SSA rules: area not 000, 666 or 900-999; group not 00; serial not 0000."""
    digits = value.replace("-", "").replace(" ", "")
    if len(digits) != 9 or not digits.isdigit():
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


@register_detector
class UsSsn(Detector):
    category = "gov_id"
    names = ("ssn", "social_security", "social_security_number", "sin", "national_id", "tax_id", "tin", "nin")
    not_names = ("last4", "last", "hash", "at")
    patterns = (r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b",)
    hinted_patterns = (r"[0-9]{9}",)
    embedded = True
    min_rate = 0.05
    hinted_rate = 0.2
    priority = 78

    def validate(self, value: str) -> bool:
        return valid_ssn(value)
