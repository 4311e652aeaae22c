"""Metadata detectors: device_model and firmware_version (firmware needs a name: bare versions are negatives)."""

from __future__ import annotations

import pytest
from _classify_helpers import categories, unique_rows


@pytest.mark.parametrize(
    "name, make, expected",
    [("firmware_version", lambda i: f"4.36.{i % 12}.{5000 + i}", {"firmware_version"}),
     ("fw_ver", lambda i: f"1.{i % 9}.{i}", {"firmware_version"}),
     ("c1", lambda i: f"4.36.{i % 12}.{5000 + i}", set()),
     ("version", lambda i: f"2.{i % 9}.{i}", set()),
     ("model", lambda i: ["WYZEC3", "WYZECP2", "WYZEDB3"][i % 3], {"device_model"}),
     ("c1", lambda i: ["WYZEC3", "WYZECP2", "WYZEDB3"][i % 3], {"device_model"}),
     ("c1", lambda i: f"SKU-{10000 + i}-BLK", set())],
)
def test_metadata(name: str, make: object, expected: set[str]) -> None:
    assert categories(unique_rows(make), name) & {"device_model", "firmware_version"} == expected
