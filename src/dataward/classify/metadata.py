"""Metadata detectors: device_model and firmware_version.

Both own their data (classify/data/device_models.tsv, classify/data/firmware.tsv): model-code shapes of
consumer smart-home makers (cameras, doorbells, plugs, locks, scales, thermostats) and the firmware shapes
makers print. Codes distinctive enough ('WYZEC3', 'VMC4040P', 'MJSXJ02CM', 'EB-STATE5-01') are recognised by
content; short codes ('C200') and bare version strings ('4.36.11.5859') count only under a model- or
firmware-like column name: on their own they are hard negatives.
"""

from __future__ import annotations

import re

import numpy as np

from dataward.classify._lists import data_rows
from dataward.classify.base import ColumnFacts, Detector, register_detector


def model_patterns(where: str) -> tuple[str, ...]:
    """Model-code patterns of every maker in device_models.tsv that count ``where`` ('content' or 'named')."""
    return tuple(row[3] for row in data_rows("device_models") if row[2] == where)


def firmware_patterns(where: str) -> tuple[str, ...]:
    """Firmware shapes of firmware.tsv that count ``where`` ('content' or 'named')."""
    return tuple(row[1] for row in data_rows("firmware") if row[0] == where)


@register_detector
class DeviceModel(Detector):
    category = "device_model"
    names = ("model", "device_model", "model_name", "hardware", "hw_model", "product_model", "model_code")
    not_names = ("id", "version", "at", "count", "ml", "path", "file")
    patterns = model_patterns("content")
    hinted_patterns = model_patterns("named")
    min_rate = 0.6
    hinted_rate = 0.5
    priority = 20

    def content_mask(self, column: ColumnFacts, hinted: bool) -> np.ndarray | None:
        """Under a model-like name any short label is a model (makers not in the data file too)."""
        if not hinted or not column.texts:
            return None
        return np.fromiter((0 < len(t) <= 48 for t in column.texts), bool, len(column.texts))


@register_detector
class FirmwareVersion(Detector):
    category = "firmware_version"
    names = ("firmware", "fw", "firmware_version", "fw_version", "fw_ver", "firmware_ver", "os_version")
    not_names = ("at", "url", "count", "id")
    patterns = firmware_patterns("content")
    hinted_patterns = firmware_patterns("named")
    min_rate = 0.6
    hinted_rate = 0.5
    priority = 20

    def accept(self, column: ColumnFacts, rate: float, hinted: bool) -> bool:
        """Named: versions, not sentences (release notes under 'firmware_notes'); unnamed: firmware-only shapes."""
        return not hinted or sum(1 for t in column.texts[:50] if len(re.findall(r"\s", t)) > 3) < 5
