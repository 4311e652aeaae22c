"""ground_truth.json: what a generated device cloud holds, for tests and the analytics that must match it.

Computed from the generator's numeric cores (the same streams the rows come from), so it needs no pass over
written data; tests check it against the written tables. Definitions (docs/devicecloud.md):

- connection attempt: an event whose kind is ``connect`` or ``failure`` (a ``disconnect`` is not an attempt);
- connectivity rate: successful connects / connection attempts, per device model and per firmware version of
  the device (``devices.firmware_version``), rounded to 4 decimals;
- failures: events of kind ``failure``, counted per ``error_code`` and per firmware version;
- users per month: users by ``created_at`` as ``YYYY-MM`` (UTC);
- devices per user: users by how many devices they own, keys ``"1"``..``"4"`` and ``"5+"``;
- body-metrics cohort: distinct users with at least one ``body_metrics`` row.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from dataward.devicecloud import values as V
from dataward.devicecloud.generate import CHUNK_USERS, DeviceCloud
from dataward.devicecloud.schema import all_column_categories, column_categories
from dataward.errors import DatawardError
from dataward.files import atomic_write

SCHEMA_ID = "dataward.ground_truth/v1"
RATE_DECIMALS = 4


def ground_truth(cloud: DeviceCloud) -> dict[str, Any]:
    """The ground-truth document of a device cloud (JSON-ready)."""
    tally = _tally(cloud)
    models, firmwares = list(V.MODELS), cloud.firmwares
    return {
        "schema": SCHEMA_ID,
        "generator": {"users": cloud.users, "seed": cloud.seed, "chunk_users": CHUNK_USERS},
        "row_counts": cloud.row_counts(),
        "columns": column_categories(),
        "column_categories": all_column_categories(),
        "analytics": {
            "schema": "dataward.analytics/v1",
            "connectivity_by_model": _rates(models, tally["connects_model"], tally["attempts_model"]),
            "connectivity_by_firmware": _rates(firmwares, tally["connects_fw"], tally["attempts_fw"]),
            "failures_by_error_code": _counts(V.ERROR_CODES, tally["failures_code"]),
            "failures_by_firmware": _counts(firmwares, tally["failures_fw"]),
            "users_by_month": {
                str(m): int(c) for m, c in zip(cloud.months, cloud.month_counts, strict=True) if c
            },
            "devices_per_user": _histogram(tally["devices_per_user"]),
        },
        "analytics_counts": {
            "connects_by_model": _counts(models, tally["connects_model"]),
            "attempts_by_model": _counts(models, tally["attempts_model"]),
            "connects_by_firmware": _counts(firmwares, tally["connects_fw"]),
            "attempts_by_firmware": _counts(firmwares, tally["attempts_fw"]),
            "events_by_kind": {
                "connect": tally["kinds"][0],
                "disconnect": tally["kinds"][1],
                "failure": tally["kinds"][2],
            },
        },
        "body_metrics_cohort": cloud.beta_cohort,
    }


def _tally(cloud: DeviceCloud) -> dict[str, Any]:
    """The counts of every chunk, summed."""
    total: dict[str, Any] = {}
    for chunk in range(cloud.chunks):
        for key, counts in cloud.chunk_tally(chunk).items():
            total[key] = total[key] + counts if key in total else counts.astype(np.int64)
    total["kinds"] = [int(k) for k in total["kinds"]]
    return total


def _rates(names: list[str], connects: np.ndarray, attempts: np.ndarray) -> dict[str, float]:
    return {
        n: round(int(c) / int(a), RATE_DECIMALS)
        for n, c, a in zip(names, connects, attempts, strict=True)
        if a
    }


def _counts(names: list[str] | tuple[str, ...], counts: np.ndarray) -> dict[str, int]:
    return {n: int(c) for n, c in zip(names, counts, strict=True) if c}


def _histogram(per_count: np.ndarray) -> dict[str, int]:
    keys = {"1": int(per_count[1]), "2": int(per_count[2]), "3": int(per_count[3]), "4": int(per_count[4])}
    keys["5+"] = int(per_count[5:].sum())
    return keys


def write_ground_truth(doc: dict[str, Any], path: Path) -> None:
    """Write the document atomically (a temp file renamed), so a reader never sees half of it."""
    # aggregate counts only: as readable as the output it describes
    atomic_write(path, json.dumps(doc, indent=2, sort_keys=False) + "\n", mode=0o644, what="the ground truth")


def load_ground_truth(path: str | Path) -> dict[str, Any]:
    """Read a ground_truth.json written by ``dataward generate``."""
    try:
        doc: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatawardError(f"cannot read the ground truth {path}: {exc}") from exc
    if doc.get("schema") != SCHEMA_ID:
        raise DatawardError(f"{path} is not a dataward ground truth ({SCHEMA_ID})")
    return doc
