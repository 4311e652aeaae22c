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
     ("c1", lambda i: f"SKU-{10000 + i}-BLK", set()),
     ("c1", lambda i: ["VMC4040P", "T8210", "MJSXJ02CM", "EB-STATE5-01", "RLC-510A", "HS103"][i % 6], {"device_model"}),
     ("c1", lambda i: ["lpd_v2", "doorbell_v3", "stickup_cam_v4"][i % 3], {"device_model"}),
     ("model", lambda i: f"C{100 + i % 9 * 10}", {"device_model"}),
     ("c1", lambda i: f"C{100 + i % 9 * 10}", set()),
     ("c1", lambda i: f"E{1000 + i % 20}", set()),
     ("c1", lambda i: f"1.{i % 3}.{i % 20} Build 2305{10 + i % 18} Rel.{54000 + i}n", {"firmware_version"}),
     ("c1", lambda i: f"v3.0.0.{400 + i}_2107{3000 + i % 99:04d}", {"firmware_version"}),
     ("c1", lambda i: f"20230913-{114000 + i}/v1.14.{i % 5}-gcb8462{i % 10}", {"firmware_version"}),
     ("fw", lambda i: f"1.092.{i % 9}.0_{i % 40}_120d0e{i % 10}", {"firmware_version"}),
     ("firmware", lambda i: str(1500 + i), {"firmware_version"}),
     ("c1", lambda i: f"2.{i % 9}.{i}-beta{i % 4}", set())],
)
def test_metadata(name: str, make: object, expected: set[str]) -> None:
    assert categories(unique_rows(make), name) & {"device_model", "firmware_version"} == expected


def test_detector_data_is_not_the_generators() -> None:
    """Detectors own their data (issue 12): nothing in classify/ reads the reference-cloud generator."""
    from pathlib import Path

    import dataward.classify as pkg

    for path in Path(pkg.__path__[0]).rglob("*"):
        if path.is_file() and path.suffix in (".py", ".txt", ".tsv"):
            assert "devicecloud" not in path.read_text(encoding="utf-8"), path
