"""``dataward scan`` as a library: the pipeline (``pipeline``), content risk (``risk``), accepted findings
(``baseline``) and finding stores nobody listed (``discovery``).

``from dataward.scan import scan`` is the real API; the CLI parses options, calls it and renders.
"""

from __future__ import annotations

from dataward.scan.pipeline import (
    MANIFEST_FILE,
    MANIFEST_OBJECT,
    Classifier,
    Progress,
    StoreFor,
    TargetScan,
    contents_of,
    registered_classifier,
    scan,
    scan_exposure_only,
    scan_target,
    scan_targets,
)

__all__ = [
    "MANIFEST_FILE",
    "MANIFEST_OBJECT",
    "Classifier",
    "Progress",
    "StoreFor",
    "TargetScan",
    "contents_of",
    "registered_classifier",
    "scan",
    "scan_exposure_only",
    "scan_target",
    "scan_targets",
]
