"""Device and location detectors: wifi_ssid, device_nickname, mac_address, ip_address, geo."""

from __future__ import annotations

import ipaddress
import re

import numpy as np

from dataward.classify._lists import has_cjk_room, is_room_word, ouis
from dataward.classify._possessive import owner
from dataward.classify.base import ColumnFacts, Detector, register_detector

# Default SSIDs routers ship with (vendor prefix plus a few hex digits or digits).
_VENDOR_SSIDS = (
    r"NETGEAR[0-9]{2,3}(?:-5G|-2G|_EXT|-5G-1)?",
    r"(?i:TP-LINK)_[0-9A-Fa-f]{4,6}(?:_5G)?",
    r"xfinitywifi|XFINITY|CoxWiFi|optimumwifi|Starlink|eero|Google ?Wifi|GoogleWifi",
    r"ATT[0-9A-Za-z]{3,7}(?:_5G|-5G)?|ATT-WIFI-[0-9A-Za-z]{4}",
    r"Linksys[0-9]{5}(?:_5GHz)?",
    r"DIRECT-[0-9A-Za-z]{2}-[ -~]{1,22}",
    r"ASUS(?:_[0-9A-F]{2})?(?:_5G)?|ASUS_RT-[0-9A-Z]+",
    r"HOME-[0-9A-F]{4}(?:-5G|-2\.4)?",
    r"(?i:fios)-[0-9A-Z]{5}",
    r"MySpectrumWiFi[0-9a-f]{2}-[25]G|SpectrumSetup-[0-9A-F]{2}",
    r"CenturyLink[0-9]{4}(?:-5G)?",
    r"(?i:dlink|d-link)[-_][0-9A-F]{4}(?:-5GHz)?",
    r"Verizon_[0-9A-Z]{6}|BTHub[0-9]-[0-9A-Z]{4}|BT-[0-9A-Z]{6}|SKY[0-9A-Z]{5}|VM[0-9]{7}",
    r"Vodafone-[0-9A-Za-z]{4,}|Telekom-[0-9A-Za-z]{4,}|Livebox-[0-9A-F]{4}|Freebox-[0-9A-F]{6}",
    r"FRITZ!Box [0-9]{4}(?: [A-Z]{2})?|ORBI[0-9]{2}|Tenda_[0-9A-F]{6}|HUAWEI-[0-9A-Za-z]{4,}",
    r"Xiaomi_[0-9A-F]{4}|WIFI-[0-9A-F]{4}|UPC[0-9]{7}|Ziggo[0-9]*|MOVISTAR_[0-9A-F]{4}|Orange-[0-9A-F]{4}",
)
# Networks people name themselves: 'The Smiths 5G', 'Johnson WiFi', 'Casa Garcia', 'Emma-Guest'.
_NET_WORDS = r"5G|5GHz|2\.4G|2\.4GHz|2G|(?i:wi-?fi)|WLAN|LAN|Net|Network|Home|House|Guest|Mesh|Router|Hotspot|Ext"
_OWN_SSIDS = (
    rf"(?:The )?[A-Z][A-Za-z']{{1,20}}(?:[ _\-][A-Z][A-Za-z']{{1,20}}){{0,2}}[ _\-](?:{_NET_WORDS})(?:[ _\-]?[0-9])?",
    rf"(?:Casa|Maison|Haus|Familie|Family)[ _\-][A-Z][A-Za-z]{{1,20}}(?:[ _\-](?:{_NET_WORDS}))?",
)


@register_detector
class WifiSsid(Detector):
    category = "wifi_ssid"
    names = ("ssid", "wifi", "wifi_ssid", "wlan", "network_name", "wifi_name", "essid", "bssid_name", "ap_name")
    not_names = (
        "password", "pass", "psk", "key", "security", "channel", "rssi", "signal", "band", "at", "count", "hidden",
        "enabled", "set", "is", "has",
    )
    patterns = _VENDOR_SSIDS + _OWN_SSIDS
    min_rate = 0.3
    hinted_rate = 0.5
    priority = 70
    # ref: IEEE 802.11 SSIDs are 0-32 octets

    def validate(self, value: str) -> bool:
        return len(value.encode()) <= 32

    def content_mask(self, column: ColumnFacts, hinted: bool) -> np.ndarray | None:
        """With an ssid-like name, any short printable text is a network name."""
        if not hinted or not column.texts:
            return None
        return np.fromiter((free_text(t) and len(t.encode()) <= 32 for t in column.texts), bool, len(column.texts))

    def accept(self, column: ColumnFacts, rate: float, hinted: bool) -> bool:
        return column.distinct >= 3


_NOT_TEXT = frozenset({"true", "false", "yes", "no", "null", "none", "t", "f", "y", "n"})


def free_text(value: str) -> bool:
    """Words a person typed, not a flag or a number."""
    stripped = value.strip()
    return bool(stripped) and stripped.lower() not in _NOT_TEXT and not stripped.replace(".", "").isdigit()


_WORD = re.compile(r"[^\W\d_]+")


def _nickname(value: str) -> bool:
    """Short text naming a room or a person's belonging: 'Emma's Nursery', 'Garage Cam 2', 'Salon de Marie',
    'Arbeitszimmer von Jonas', '子供部屋'."""
    if not 0 < len(value) <= 40 or value.count(" ") > 5 or "@" in value or "://" in value:
        return False
    words = _WORD.findall(value)
    return any(is_room_word(w) for w in words) or has_cjk_room(value) or owner(value) is not None


@register_detector
class DeviceNickname(Detector):
    category = "device_nickname"
    names = (
        "nickname", "nick", "device_name", "camera_name", "friendly_name", "alias", "device_label", "cam_name",
        "display_name",
    )
    not_names = ("user", "ssid", "wifi", "at", "count", "set", "is", "has", "enabled", "changed")
    min_rate = 0.5
    hinted_rate = 0.3
    priority = 65

    def content_mask(self, column: ColumnFacts, hinted: bool) -> np.ndarray | None:
        if not column.texts:
            return None
        if hinted:
            ok = (free_text(t) and len(t) <= 64 and "@" not in t for t in column.texts)
        else:
            ok = (_nickname(t) for t in column.texts)
        return np.fromiter(ok, bool, len(column.texts))

    def accept(self, column: ColumnFacts, rate: float, hinted: bool) -> bool:
        """Nicknames vary; a column of a dozen room labels is a category list, not user text."""
        if hinted:
            return column.distinct >= 3
        possessive = sum(1 for t in column.texts if owner(t)) / max(len(column.texts), 1)
        return column.distinct >= 30 or possessive >= 0.1


def known_ouis() -> frozenset[str]:
    """OUIs of camera, router and smart-home makers (classify/data/ouis.txt)."""
    return ouis()


@register_detector
class MacAddress(Detector):
    category = "mac_address"
    names = ("mac", "mac_address", "macaddr", "hwaddr", "hw_address", "bssid", "ethernet_address")
    patterns = (
        r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}",  # IEEE 802 canonical colon form
        r"[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){5}",
        r"[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}",  # Cisco dotted
    )
    hinted_patterns = (r"[0-9A-Fa-f]{12}",)
    min_rate = 0.1
    hinted_rate = 0.3
    priority = 80

    def validate(self, value: str) -> bool:
        digits = re.sub(r"[^0-9A-Fa-f]", "", value)
        return len(digits) == 12 and len(set(digits)) > 1


_IPV4 = r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}"


@register_detector
class IpAddress(Detector):
    category = "ip_address"
    names = (
        "ip", "ip_address", "ipaddr", "ipv4", "ipv6", "remote_addr", "client_ip", "src_ip", "dst_ip", "last_ip",
        "host_ip", "inet", "source_ip", "public_ip", "private_ip", "ip_addr",
    )
    not_names = ("count", "version")
    patterns = (
        _IPV4,
        r"[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){7}",  # full IPv6
        r"[0-9A-Fa-f:]*::[0-9A-Fa-f:.]*(?:%[0-9A-Za-z]+)?",  # compressed IPv6 (and IPv4-mapped)
    )
    min_rate = 0.3
    hinted_rate = 0.3
    priority = 75

    def validate(self, value: str) -> bool:
        try:
            ipaddress.ip_address(value.split("%", 1)[0])
        except ValueError:
            return False
        return True

    def accept(self, column: ColumnFacts, rate: float, hinted: bool) -> bool:
        """Dotted version strings ('4.36.11.58') parse as IPv4: a column of versions has some parts above
        255, small leading numbers and no three-digit parts in most values."""
        if hinted:
            return True
        if any(t in ("version", "ver", "fw", "firmware", "release", "build") for t in column.tokens):
            return False
        quads = [t.split(".") for t in column.texts if re.fullmatch(_IPV4, t)]
        v6 = sum(1 for t in column.texts if ":" in t)
        if v6 >= len(quads):
            return True
        too_big = sum(1 for q in quads if any(int(p) > 255 for p in q))
        small_lead = sum(1 for q in quads if int(q[0]) < 10)
        wide = sum(1 for q in quads if any(len(p) == 3 for p in q))
        n = len(quads)
        return too_big < 0.02 * n and small_lead < 0.8 * n and wide >= 0.3 * n


@register_detector
class Geo(Detector):
    category = "geo"
    names = (
        "lat", "latitude", "lon", "lng", "long", "longitude", "geo", "geolocation", "coordinates", "coords", "gps",
        "location", "latlon", "latlng",
    )
    not_names = ("id", "name", "tz", "timezone", "at", "accuracy", "source", "type", "country", "region")
    patterns = (r"-?[0-9]{1,2}\.[0-9]{3,}, ?-?[0-9]{1,3}\.[0-9]{3,}",)
    min_rate = 0.5
    hinted_rate = 0.5
    priority = 50

    def validate(self, value: str) -> bool:
        lat, _, lon = value.partition(",")
        return abs(float(lat)) <= 90 and abs(float(lon)) <= 180

    def content_mask(self, column: ColumnFacts, hinted: bool) -> np.ndarray | None:
        """Numbers named lat/lon within range and with fractional degrees."""
        if not hinted or column.numbers is None or not len(column.numbers):
            return None
        x = column.numbers
        limit = 90.0 if "lat" in column.tokens or "latitude" in column.tokens else 180.0
        return (np.abs(x) <= limit) & (np.abs(x - np.round(x)) > 1e-9)
