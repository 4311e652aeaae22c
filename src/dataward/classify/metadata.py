"""Metadata detectors: device_model and firmware_version.

Both are named by their column: a bare version string ('4.36.11.5859') is a hard negative for every other
category and on its own says nothing, so firmware needs a name; model codes of known camera makers are
recognised by content as well.
"""

from __future__ import annotations

import functools
import re

import numpy as np

from dataward.classify._lists import devicecloud_constant
from dataward.classify.base import ColumnFacts, Detector, register_detector


@functools.lru_cache(maxsize=1)
def known_models() -> frozenset[str]:
    """Model codes of the reference device cloud, when its generator is importable."""
    return frozenset(str(m).upper() for m in devicecloud_constant("MODELS"))


@register_detector
class DeviceModel(Detector):
    category = "device_model"
    names = ("model", "device_model", "model_name", "hardware", "hw_model", "product_model", "model_code")
    not_names = ("id", "version", "at", "count", "ml", "path", "file")
    patterns = (r"WYZE[A-Z0-9_]{2,20}|(?:WYZE|Wyze) ?Cam(?: ?(?:v[0-9]|Pan(?: v[0-9])?|OG|Floodlight))?",)
    min_rate = 0.6
    hinted_rate = 0.5
    priority = 20

    def content_mask(self, column: ColumnFacts, hinted: bool) -> np.ndarray | None:
        models = known_models()
        if not column.texts:
            return None
        if hinted:
            return np.fromiter((0 < len(t) <= 48 for t in column.texts), bool, len(column.texts))
        if not models:
            return None
        return np.fromiter((t.upper() in models for t in column.texts), bool, len(column.texts))


_VERSION = r"v?[0-9]+(?:\.[0-9]+){1,4}(?:[-+._][0-9A-Za-z.]+)?"


@register_detector
class FirmwareVersion(Detector):
    category = "firmware_version"
    names = ("firmware", "fw", "firmware_version", "fw_version", "fw_ver", "firmware_ver", "os_version")
    not_names = ("at", "url", "count", "id")
    hinted_patterns = (_VERSION,)
    hinted_rate = 0.5
    priority = 20

    def accept(self, column: ColumnFacts, rate: float, hinted: bool) -> bool:
        return hinted and not any(re.search(r"\s", t) for t in column.texts[:50])
