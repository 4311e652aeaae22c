"""Device/location detectors: SSIDs (vendor defaults and family names), nicknames, MACs, IPs, geo."""

from __future__ import annotations

import pytest
from _classify_helpers import categories, unique_rows
from hypothesis import given
from hypothesis import strategies as st

from dataward.classify._possessive import owner
from dataward.classify.device import IpAddress, MacAddress, _nickname, known_ouis

LASTS = ["Smith", "Garcia", "Mueller", "Rossi", "Brown", "Dubois", "Jansen", "Taylor"]
FIRSTS = ["Emma", "Liam", "Olivia", "Noah", "Sophia", "James", "Maria", "Lucas"]


@pytest.mark.parametrize(
    "value, ok",
    [("Emma's Nursery", True), ("Garage Cam 2", True), ("Front Door", True), ("Living Room", True),
     ("Liam's Room", True), ("Shipped", False), ("emma@example.com", False), ("x" * 50, False),
     ("Arbeitszimmer von Jonas", True), ("Sala da Beatriz", True), ("子供部屋", True), ("Salon de Marie", True),
     ("ゆいの部屋", True), ("Jonas' Zimmer", True), ("Quarto do Pedro", True), ("Kamer van Sanne", True),
     ("Delivered", False), ("Out of stock", False), ("In transit", False)],
)
def test_nickname_shapes(value: str, ok: bool) -> None:
    assert _nickname(value) is ok


@pytest.mark.parametrize(
    "value, name",
    [("Emma's Nursery", "Emma"), ("Arbeitszimmer von Jonas", "Jonas"), ("Sala da Beatriz", "Beatriz"),
     ("Salon de Marie", "Marie"), ("ゆいの部屋", "ゆい"), ("Jonas' Zimmer", "Jonas'"), ("Marias Zimmer", "Maria"),
     ("Camera di Giulia", "Giulia"), ("パパの部屋", None), ("子供部屋", None), ("Sala de Estar", None),
     ("Garage Cam 2", None)],
)
def test_nickname_owner(value: str, name: str | None) -> None:
    """A given name inside a nickname, in each language's possessive form (issue 17)."""
    found = owner(value)
    assert (found.rstrip("'") if found else None) == (name.rstrip("'") if name else None)


@pytest.mark.parametrize(
    "value, ok",
    [("2c:aa:8e:12:34:56", True), ("2C-AA-8E-12-34-56", True), ("00:00:00:00:00:00", False)],
)
def test_mac_validator(value: str, ok: bool) -> None:
    assert MacAddress().validate(value) is ok


@given(st.ip_addresses())
def test_every_ip_validates(ip: object) -> None:
    assert IpAddress().validate(str(ip))


def test_camera_ouis_known() -> None:
    assert "2CAA8E" in known_ouis()


@pytest.mark.parametrize(
    "name, make, expected",
    [
        ("c1", lambda i: f"NETGEAR{10 + i % 90}", "wifi_ssid"),
        ("c1", lambda i: f"TP-Link_{i:04X}", "wifi_ssid"),
        ("c1", lambda i: [f"The {LASTS[i % 8]}s 5G", "xfinitywifi", f"{LASTS[i % 8]} WiFi", f"HOME-{i:04X}"][i % 4],
         "wifi_ssid"),
        ("wifi_ssid", lambda i: f"Pretty Fly for a WiFi {i}", "wifi_ssid"),
        ("c1", lambda i: f"{FIRSTS[i % 8]}'s {['Nursery', 'Room', 'Kitchen'][i % 3]}", "device_nickname"),
        ("nickname", lambda i: f"Cam {i}", "device_nickname"),
        ("c1", lambda i: f"2c:aa:8e:{i % 256:02x}:{i // 256:02x}:01", "mac_address"),
        ("mac", lambda i: f"2caa8e{i:06x}", "mac_address"),
        ("c1", lambda i: f"192.168.{i % 256}.{1 + i % 250}", "ip_address"),
        ("c1", lambda i: f"2001:db8::{i:x}", "ip_address"),
        ("c1", lambda i: f"{37 + i / 1000:.5f},{-122 - i / 1000:.5f}", "geo"),
        ("latitude", lambda i: 37.0 + i / 997, "geo"),
    ],
)
def test_flags(name: str, make: object, expected: str) -> None:
    assert expected in categories(unique_rows(make), name)


DEVICE = {"wifi_ssid", "device_nickname", "mac_address", "ip_address", "geo"}


@pytest.mark.parametrize(
    "name, make",
    [
        ("c1", lambda i: f"4.36.{i % 12}.{1 + i % 9}"),  # dotted versions parse as IPv4
        ("c1", lambda i: ["Kitchen", "Garage", "Living Room"][i % 3]),  # a room enum, not user text
        ("ssid_hidden", lambda i: ["true", "false"][i % 2]),
        ("c1", lambda i: "%012x" % (i * 7919)),  # bare hex ids are MACs only with a name
        ("c1", lambda i: round(18 + i / 20, 1)),  # room temperatures
        ("location", lambda i: ["Living Room", "Garage"][i % 2]),
    ],
)
def test_hard_negatives(name: str, make: object) -> None:
    assert not categories(unique_rows(make), name) & (DEVICE - {"device_nickname"} if name == "location" else DEVICE)
