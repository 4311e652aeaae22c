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


# Issue 17: customers beyond English. Hand-written values in each locale's own conventions.
@pytest.mark.parametrize(
    "value, ok",
    [("まゆみ 長沢", True), ("長沢 まゆみ", True), ("岡田 英樹", True), ("Lízi Macedo", True), ("Marvin Desgagné", True),
     ("Jonas Weißmüller", True), ("Univ.Prof. Bayram Kühnert", True), ("Bárbara-Ema Azevedo", True),
     ("Ibán García Valverde", True), ("Zacharie Le Mercier", True), ("Иван Петров", True),
     ("横浜市", False), ("東京都 港区", False), ("子供部屋", False), ("Salon de Marie", False), ("Bad Salzungen", False)],
)
def test_person_name_across_locales(value: str, ok: bool) -> None:
    assert _person_name(value, False) is ok


@pytest.mark.parametrize(
    "name, values",
    [("c1", ["まゆみ 長沢", "岡田 英樹", "鈴木 裕美子", "石井 陽一", "山下 知実", "佐藤 翔太"]),
     ("c1", ["Lízi Macedo", "Guilherme Freitas", "Stephany Duarte", "João Pereira", "Ana Sousa", "Luís Carvalho"]),
     ("c1", ["Marvin Desgagné", "Élisabeth Dumas", "Rosalie Bérubé", "Luc Guillot", "Léa Martin", "Hugo Lefèvre"]),
     ("nachname", ["Weißmüller", "Kühnert", "Jähn", "Bohnbach", "Hänel", "Wechselberger"]),
     ("first_name", ["直樹", "千代", "くみ子", "淳", "裕太", "直子"])],
)
def test_person_name_columns_across_locales(name: str, values: list[str]) -> None:
    assert "person_name" in categories(values, name)


def test_name_lists_are_not_fakers() -> None:
    """The evaluation set is Faker's; the detector's lists come from elsewhere (Mimesis): most of their names
    are in none of Faker's person providers."""
    import importlib
    import pkgutil

    import faker.providers.person as providers

    from dataward.classify._lists import first_names, last_names

    given, family = set(), set()
    for mod in pkgutil.iter_modules(providers.__path__):
        provider = importlib.import_module(f"faker.providers.person.{mod.name}").Provider
        for attr, bucket in (("first_names", given), ("first_names_male", given), ("first_names_female", given),
                             ("last_names", family)):
            names = provider.__dict__.get(attr, ())
            if isinstance(names, dict | tuple | list):
                bucket.update(str(n).lower() for n in names)
    assert len(first_names() & given) < 0.5 * len(first_names())
    assert len(last_names() & family) < 0.5 * len(last_names())


@pytest.mark.parametrize(
    "name, values, category",
    [("c1", ["+49 151 23456789", "+49(0)7483378876", "(02328) 60129", "+49 (0) 5102 734646", "06958 96935"], "phone"),
     ("c1", ["080-9825-9791", "070-7483-3788", "03-3286-0129", "090-4047-9666", "06-1027-3464"], "phone"),
     ("c1", ["+55 93 9825-9791", "+55 14 7483-3788", "86 6232-8601", "+55 67 9040-4796", "(021) 3464-6869"], "phone"),
     ("c1", ["(351) 919825979", "(351) 290 748 337", "+351961027346", "+351 212 345 678", "(351) 911 290 404"], "phone"),
     ("c1", ["+33 6 12 34 56 78", "01 42 68 53 00", "+33 1 42 68 53 00", "06 98 76 54 32", "+33 7 81 23 45 67"], "phone"),
     ("c1", ["+34 612 345 678", "912 345 678", "+34 915 123 456", "634 567 890", "+34 699 111 222"], "phone"),
     ("c1", ["Hauptstraße 5", "Lukasring 7", "Dehmelgasse 98", "Am Mühlweg 12", "Schillerstr. 3"], "postal_address"),
     ("c1", ["愛媛県町田市油井24丁目20番16号", "東京都千代田区丸の内1-2-3", "〒100-0005 東京都千代田区丸の内",
             "神奈川県横浜市港南区四区町15丁目21番5号", "長野県小笠原村轟18丁目16番20号"], "postal_address"),
     ("c1", ["Rua Gomes, 2", "Conjunto de Freitas, 279", "Avenida Paulista, 1578", "Travessa do Carmo, 12",
             "Praça da Sé, 1"], "postal_address"),
     ("c1", ["64, boulevard Gabrielle Faure", "12 rue de la Paix", "3, avenue Victor Hugo", "8 bis, rue Lepic",
             "27, place Bellecour"], "postal_address"),
     ("c1", ["Calle Mayor, 5", "Paseo de Omar Viña 7", "Avenida de la Constitución, 12", "Retorno Yucatán 919",
             "Plaza de España, 1"], "postal_address"),
     ("date_of_birth", ["1984-03-15", "1962-11-02", "2001-07-30", "1975-01-09", "1990-12-24"], "date_of_birth"),
     ("geburtsdatum", ["1984-03-15", "1962-11-02", "2001-07-30", "1975-01-09", "1990-12-24"], "date_of_birth"),
     ("c1", ["1984-03-15", "1962-11-02", "2001-07-30", "1975-01-09", "1990-12-24", "1948-05-05"], "date_of_birth")],
)
def test_address_phone_date_across_locales(name: str, values: list[str], category: str) -> None:
    assert category in categories(values, name)
