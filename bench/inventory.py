"""Benchmark `dataward inventory aws` (issue 15): ~1,000 stores across 16 regions in a local moto server.

    flock /tmp/dataward-bench.lock .venv/bin/python bench/inventory.py                  # 16 regions x 63 stores
    .venv/bin/python bench/inventory.py --regions 4 --per-region 20 --no-baseline      # quick
    .venv/bin/python bench/inventory.py --prowler                                      # + Prowler side by side

moto runs in server mode on a free loopback port (dataward.testing's server) and boto3 talks to it through
AWS_ENDPOINT_URL, as in the tests. Each region gets RDS instances, S3 buckets, ElastiCache clusters, OpenSearch
domains and EC2 instances in turn, every other one exposed (dataward.testing.aws.populate). Populating is not
timed. Timed: the inventory library call with its defaults (8 regions at a time, 4 calls in flight per region),
and, as the baseline in the same run, the same inventory read one call at a time (1 region, 1 call in flight).
Goal: under 60 s for 1,000 stores in 16 regions. ``--prowler`` installs Prowler from PyPI into its own venv
(skipped, with the reason printed, when that fails or takes longer than --prowler-install-timeout) and runs its
matching checks against the same moto server; both times and the exposures each found are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dataward.inventory import InventoryOptions, inventory
from dataward.testing import aws
from dataward.testing.servers import S3Server

REGIONS = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-west-3",
           "eu-central-1", "eu-north-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "ap-northeast-2",
           "ap-south-1", "ca-central-1", "sa-east-1"]
PROWLER_CHECKS = [
    "rds_instance_no_public_access", "opensearch_service_domains_not_publicly_accessible",
    "s3_bucket_public_access", "elasticache_cluster_uses_public_subnet",
    "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_postgres_5432",
    "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_redis_6379",
]


def populate(regions: list[str], per_region: int) -> int:
    """Regions in parallel, each with its own boto3 session (sessions are not thread-safe)."""
    with ThreadPoolExecutor(4) as pool:
        return sum(pool.map(lambda r: aws.populate([r], per_region), regions))


def timed_inventory(regions: list[str], region_workers: int, calls: int) -> tuple[float, int, int]:
    t0 = time.perf_counter()
    inv = inventory("aws", InventoryOptions(regions=tuple(regions), region_workers=region_workers,
                                            calls_per_region=calls))
    took = time.perf_counter() - t0
    if inv.errors:
        print(f"  errors: {inv.errors[:3]}")
    public = Counter(s.kind for s in inv.stores if s.reachable_from_internet)
    if region_workers > 1:
        print("  dataward, reachable from the internet by kind: "
              + ", ".join(f"{kind} {n}" for kind, n in sorted(public.items())))
    return took, len(inv.stores), sum(public.values())


def prowler(regions: list[str], install_timeout: float) -> None:
    venv = Path(os.environ.get("DATAWARD_BENCH_CACHE", "/tmp/dataward-bench")) / "prowler-venv"
    binary = venv / "bin" / "prowler"
    if not binary.exists():
        t0 = time.perf_counter()
        try:
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
            subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "prowler"], check=True,
                           timeout=install_timeout, capture_output=True)
        except (subprocess.SubprocessError, OSError) as exc:
            print(f"prowler: skipped, it did not install from PyPI into {venv}: {str(exc).splitlines()[0][:200]}")
            shutil.rmtree(venv, ignore_errors=True)
            return
        print(f"prowler: installed in {time.perf_counter() - t0:.0f} s")
    out = Path(venv.parent / "prowler-out")
    shutil.rmtree(out, ignore_errors=True)
    cmd = [str(binary), "aws", "--checks", *PROWLER_CHECKS, "-f", *regions, "--output-formats", "json-ocsf",
           "-o", str(out), "--no-banner", "--ignore-exit-code-3"]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    except subprocess.TimeoutExpired:
        print("prowler: gave up after 1800 s")
        return
    took = time.perf_counter() - t0
    by_check: Counter[str] = Counter()
    for file in out.glob("*.ocsf.json"):
        by_check.update(r.get("metadata", {}).get("event_code", "?") for r in json.loads(file.read_text() or "[]")
                        if r.get("status_code") == "FAIL")
    failed = sum(by_check.values())
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] if proc.returncode not in (0, 3) else []
    print(f"prowler: {took:.1f} s, exit {proc.returncode}, {failed} FAIL results"
          + (f"; last line: {tail[0][:200]}" if tail else ""))
    for check in PROWLER_CHECKS:
        print(f"  prowler FAIL {by_check.get(check, 0):4d}  {check}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--regions", type=int, default=16, help="how many regions (of 16)")
    ap.add_argument("--per-region", type=int, default=63, help="stores per region (16 x 63 = 1,008)")
    ap.add_argument("--no-baseline", action="store_true", help="skip the one-call-at-a-time baseline")
    ap.add_argument("--prowler", action="store_true", help="also run Prowler's matching checks (installs it)")
    ap.add_argument("--prowler-install-timeout", type=float, default=300)
    args = ap.parse_args()
    regions = REGIONS[: args.regions]
    with S3Server() as server, aws.pointed_at(server.endpoint_url):
        t0 = time.perf_counter()
        made = populate(regions, args.per_region)
        print(f"populated {made} stores in {len(regions)} regions in {time.perf_counter() - t0:.0f} s (not timed)")
        timed_inventory(regions[:1], 1, 1)  # warm-up: boto3 loads its service models once
        took, found, public = timed_inventory(regions, 8, 4)
        print(f"dataward inventory aws: {found} stores ({public} reachable from the internet) in {took:.1f} s "
              f"-> {found / took:.0f} stores/s; goal < 60 s: {'met' if took < 60 else 'MISSED'}")
        if not args.no_baseline:
            base, base_found, _ = timed_inventory(regions, 1, 1)
            print(f"baseline (one region, one call at a time): {base_found} stores in {base:.1f} s; "
                  f"concurrent is {base / took:.1f}x faster")
        if args.prowler:
            prowler(regions, args.prowler_install_timeout)


if __name__ == "__main__":
    main()
