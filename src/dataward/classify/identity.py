"""Identity detectors: email, person_name, username, phone, postal_address, date_of_birth, photo_url."""

from __future__ import annotations

import re

import numpy as np
import phonenumbers

from dataward.classify._lists import ROOM_WORDS, first_names, last_names
from dataward.classify.base import ColumnFacts, Detector, register_detector

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"


@register_detector
class Email(Detector):
    category = "email"
    names = ("email", "e_mail", "mail", "email_address", "contact_email")
    patterns = (rf"[A-Za-z0-9._%+\-]+@{_LABEL}(?:\.{_LABEL})*\.[A-Za-z]{{2,24}}\b",)
    embedded = True
    min_rate = 0.05
    hinted_rate = 0.05
    priority = 90
    # ref: RFC 5321 section 4.5.3.1 (local part <= 64 octets, path <= 256), RFC 1035 labels

    def validate(self, value: str) -> bool:
        local, _, domain = value.rpartition("@")
        if not local or len(local) > 64 or len(value) > 254:
            return False
        if local.startswith(".") or local.endswith(".") or ".." in local:
            return False
        labels = domain.split(".")
        return len(labels) > 1 and labels[-1].isalpha() and all(0 < len(x) <= 63 for x in labels)


_NAME_WORD = re.compile(r"^[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?$|^[A-Z]{2,}$")
_INITIAL = re.compile(r"^[A-Z]\.?$")


def _person_name(value: str, single: bool) -> bool:
    """Two to four capitalised words, first a known first name and last a known last name."""
    if value.count(",") == 1:  # 'Last, First'
        last, _, first = value.partition(",")
        value = f"{first.strip()} {last.strip()}"
    words = value.split()
    if not words or len(words) > 4 or any("'s" in w.lower() for w in words):
        return False
    if any(not (_NAME_WORD.match(w) or _INITIAL.match(w)) for w in words):
        return False
    first, last = words[0].lower(), words[-1].lower().strip(".")
    if any(w.lower() in ROOM_WORDS for w in words):  # 'Living Room', 'Garage Hall' are places
        return False
    if len(words) == 1:
        return single and (first in first_names() or first in last_names())
    return first in first_names() or (last in last_names() and len(words) == 2 and not _INITIAL.match(words[0]))


@register_detector
class PersonName(Detector):
    category = "person_name"
    names = (
        "name", "full_name", "fullname", "first_name", "last_name", "given_name", "family_name", "surname",
        "display_name", "contact_name", "owner_name", "customer_name", "fname", "lname", "real_name",
    )
    not_names = (
        "user", "file", "host", "model", "product", "device", "table", "column", "nick", "nickname", "ssid",
        "network", "bucket", "topic", "key", "app", "brand", "company", "room", "event", "kind", "type",
    )
    min_rate = 0.6
    hinted_rate = 0.4
    priority = 40

    def content_mask(self, column: ColumnFacts, hinted: bool) -> np.ndarray | None:
        if not column.texts:
            return None
        return np.fromiter((_person_name(t, hinted) for t in column.texts), bool, len(column.texts))


_POSSESSIVE = re.compile(r"\b([A-Z][a-z]+)'s\b")


@register_detector
class PossessiveName(Detector):
    """A person's first name inside free text ('Emma's Nursery'): the text also holds a name.

    Not exclusive: the value still counts as its main category (a device nickname) as well.
    """

    category = "person_name"
    exclusive = False
    alongside = ("device_nickname",)
    min_rate = 0.1
    hinted_rate = 0.1
    priority = 39

    def content_mask(self, column: ColumnFacts, hinted: bool) -> np.ndarray | None:
        if not column.texts:
            return None
        names = first_names()
        found = (m is not None and m.group(1).lower() in names for m in map(_POSSESSIVE.search, column.texts))
        return np.fromiter(found, bool, len(column.texts))


_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9._\-]{2,31}$")
_NOT_USERNAME = re.compile(r"^(?:[0-9a-f]{7,}|[0-9a-fA-F\-]{32,36}|v?\d+(?:\.\d+)+|[A-Z0-9_\-]+)$")


@register_detector
class Username(Detector):
    category = "username"
    names = ("username", "user_name", "login", "handle", "screen_name", "nick_name", "userid", "account_name")
    min_rate = 0.7
    hinted_rate = 0.5
    priority = 10

    def content_mask(self, column: ColumnFacts, hinted: bool) -> np.ndarray | None:
        if not column.texts:
            return None
        ok = (bool(_USERNAME.match(t)) and not _NOT_USERNAME.match(t) for t in column.texts)
        return np.fromiter(ok, bool, len(column.texts))

    def accept(self, column: ColumnFacts, rate: float, hinted: bool) -> bool:
        """Without a name, usernames look like handles: mostly distinct, many with digits, dots or '_'."""
        if hinted:
            return True
        texts = column.texts
        marked = sum(1 for t in texts if re.search(r"[0-9._]", t)) / max(len(texts), 1)
        return column.distinct >= 0.8 * len(texts) and marked >= 0.3


def _valid_phone(value: str) -> bool:
    """Valid per libphonenumber: international with '+', else NANP, else a European trunk-prefixed '0...'."""
    if value.startswith("+"):
        regions: tuple[str | None, ...] = (None,)
    else:
        regions = ("GB", "DE", "FR", "IT", "NL", "ES") if value.lstrip("(").startswith("0") else ("US",)
    for region in regions:
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            continue
        # with a '+', the right length for the country code is enough (new area codes, ranges)
        if phonenumbers.is_valid_number(number) or (region is None and phonenumbers.is_possible_number(number)):
            return True
    return False


@register_detector
class Phone(Detector):
    category = "phone"
    names = ("phone", "phone_number", "mobile", "cell", "telephone", "tel", "msisdn", "contact_number")
    not_names = ("model", "brand", "os")
    patterns = (
        r"\+[1-9][0-9 \-().]{6,18}[0-9]",  # E.164 and international formats
        r"\(?[2-9][0-9]{2}\)?[ .\-][0-9]{3}[ .\-][0-9]{4}",  # NANP national
        r"0[0-9]{2,4}[ \-][0-9]{3,4}[ \-]?[0-9]{3,4}",  # European national with a trunk prefix
    )
    hinted_patterns = (r"[0-9]{10,15}",)  # bare digits only when the name says phone
    min_rate = 0.3
    hinted_rate = 0.3
    priority = 60
    # ref: ITU-T E.164; validity from libphonenumber metadata (phonenumbers)

    def validate(self, value: str) -> bool:
        return _valid_phone(value)


_STREET = (
    r"street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|terrace|ter|"
    r"parkway|pkwy|highway|hwy|circle|cir|square|sq|trail|trl|crescent|close"
)


@register_detector
class PostalAddress(Detector):
    category = "postal_address"
    names = (
        "address", "street", "address_line1", "address_line_1", "addr", "shipping_address", "billing_address",
        "postal_address", "home_address", "mailing_address", "street_address",
    )
    not_names = ("email", "ip", "mac", "wallet", "url", "web", "server", "bind", "remote", "local")
    patterns = (
        rf"(?i)\b[0-9]{{1,6}}[A-Za-z]? (?:[A-Za-z0-9.'\-]+ ){{1,5}}(?:{_STREET})\b",
        r"(?i)\b[A-Za-z]+(?:strasse|straße|weg|gasse|straat|laan|plein|gade|vej) [0-9]{1,5}\b",
        r"(?i)\b(?:rue|via|viale|calle|avenida|plaza|piazza|carrer|rua) [A-Za-z' \-]{2,40},? [0-9]{1,5}\b",
    )
    embedded = True
    min_rate = 0.3
    hinted_rate = 0.2
    priority = 55


_DATE = re.compile(r"^((?:19|20)[0-9]{2})-[01][0-9]-[0-3][0-9]|^[01]?[0-9]/[0-3]?[0-9]/((?:19|20)[0-9]{2})$")


def _years(texts: tuple[str, ...]) -> np.ndarray:
    """The year of each ISO or US-style date (0 where the text is not a date)."""
    out = np.zeros(len(texts), dtype=np.int32)
    for i, text in enumerate(texts):
        m = _DATE.match(text)
        if m:
            out[i] = int(m.group(1) or m.group(2))
    return out


@register_detector
class DateOfBirth(Detector):
    category = "date_of_birth"
    names = ("dob", "birth", "birthday", "birthdate", "date_of_birth", "born", "birth_date", "bday")
    min_rate = 0.9
    hinted_rate = 0.5
    priority = 45

    def content_mask(self, column: ColumnFacts, hinted: bool) -> np.ndarray | None:
        if not column.texts:
            return None
        years = _years(column.texts)
        return (years >= 1900) & (years <= 2025) if hinted else (years >= 1920) & (years <= 2010)

    def accept(self, column: ColumnFacts, rate: float, hinted: bool) -> bool:
        """Unnamed dates are birth dates only when they spread over decades (event dates cluster)."""
        if hinted:
            return True
        years = _years(column.texts)
        years = years[years > 0]
        return len(years) > 0 and float(np.std(years)) >= 8.0


@register_detector
class PhotoUrl(Detector):
    category = "photo_url"
    names = (
        "photo", "avatar", "picture", "profile_photo", "profile_photo_url", "image_url", "profile_image",
        "headshot", "pic", "photo_url", "avatar_url", "selfie",
    )
    patterns = (
        r"(?i)https?://[^\s\"'<>]+\.(?:jpe?g|png|gif|webp|heic|bmp)(?:\?[^\s\"'<>]*)?",
        r"(?i)https?://[^\s\"'<>]*(?:avatar|photo|profile[_\-]?(?:pic|image|img)|gravatar|picture|headshot)[^\s\"'<>]*",
    )
    hinted_patterns = (r"https?://[^\s\"'<>]+",)
    min_rate = 0.5
    hinted_rate = 0.3
    priority = 55
