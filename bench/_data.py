"""Cached reference data for every bench: the device cloud as a Parquet folder, generated once per (users, seed).

    from _data import reference_parquet          # benches run with bench/ on sys.path
    folder = reference_parquet(2_400_000, 0)     # /tmp/dataward-bench/devicecloud-2400000-0/

The folder holds one Parquet file per table and ground_truth.json (written last, so its presence means the
folder is complete). Concurrent benches wait on a lock file instead of generating the same data twice.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

CACHE = Path(os.environ.get("DATAWARD_BENCH_CACHE", "/tmp/dataward-bench"))


def reference_parquet(users: int, seed: int = 0) -> Path:
    """The Parquet folder of the reference cloud (users, seed), generating it on first use."""
    folder = CACHE / f"devicecloud-{users}-{seed}"
    if (folder / "ground_truth.json").exists():
        return folder
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f".devicecloud-{users}-{seed}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "ground_truth.json").exists():
            from dataward.devicecloud import generate

            shutil.rmtree(folder, ignore_errors=True)  # a folder left by an interrupted run
            generate(users, seed, f"file://{folder}")
    return folder


def ground_truth_path(users: int, seed: int = 0) -> Path:
    return reference_parquet(users, seed) / "ground_truth.json"


if __name__ == "__main__":
    import sys

    print(reference_parquet(int(sys.argv[1]) if len(sys.argv) > 1 else 2_400_000))
