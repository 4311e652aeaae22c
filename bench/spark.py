"""Benchmark of issue 16: the safe copy on Spark at local[1] and local[2], next to the local engine.

Measured in the same run, each copy in a child process of its own (a JVM's core count is fixed at its start),
timed from the call of the copy to its manifest (the JVM's start is reported apart):
- ``--engine local`` (Arrow/DuckDB, one process) on the reference cloud as Parquet;
- ``--engine spark`` at ``local[1]`` and ``local[2]``, the same source, plan and key: rows/s and the scaling;
- with ``--big-users N``: a larger reference cloud copied at ``local[2]`` with ``spark.driver.memory=1g``
  (in local mode the driver is the executor too), to show a copy several times larger than the JVM's heap
  streams through instead of running out of memory.

Run under the shared lock:
    flock /tmp/dataward-bench.lock .venv/bin/python bench/spark.py --users 240000 --big-users 2400000
Goal: local[2] at least 1.7x the rows/s of local[1].
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
KEY = "bench-key-0123456789abcdef0123456789"


def child(args: argparse.Namespace) -> None:
    """One copy, timed; prints one JSON line."""
    from dataward.copy.plan import load_plan
    from dataward.copy.run import CopyOptions, load_key, run_copy
    from dataward.targets import parse_target

    src, dst = parse_target(f"file://{args.src}"), parse_target(f"file://{args.dst}")
    plan, key = load_plan(args.plan), load_key(None)
    started = time.perf_counter()
    if args.engine == "local":
        jvm = 0.0
        began = time.perf_counter()
        result = run_copy(src, dst, plan, key, CopyOptions())
    else:
        from dataward.spark.copy import run_copy_spark
        from dataward.spark.session import spark_session

        conf = {"spark.ui.enabled": "false", "spark.driver.memory": args.driver_memory,
                "spark.sql.shuffle.partitions": str(args.shuffle_partitions)}  # fmt: skip
        spark = spark_session(args.master, conf)
        jvm = time.perf_counter() - started
        began = time.perf_counter()
        result = run_copy_spark(spark, src, dst, plan, key, CopyOptions())
    seconds = time.perf_counter() - began
    rows = sum(t.rows for t in result.manifest.tables.values())
    source_rows = _source_rows(args.src)
    print(json.dumps({"engine": args.engine, "master": args.master, "seconds": seconds, "jvm_start": jvm,
                      "rows": source_rows, "written": rows}))  # fmt: skip


def _source_rows(folder: str) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(p).metadata.num_rows for p in Path(folder).glob("*.parquet"))


def run_child(src: Path, plan: Path, engine: str, master: str = "", memory: str = "2g", shuffle: int = 8) -> dict[str, Any]:
    dst = Path(tempfile.mkdtemp(prefix="dw-spark-bench-")) / "copy"
    cmd = [sys.executable, __file__, "--child", "--engine", engine, "--master", master or "local[1]",
           "--src", str(src), "--dst", str(dst), "--plan", str(plan), "--driver-memory", memory,
           "--shuffle-partitions", str(shuffle)]  # fmt: skip
    env = {**os.environ, "DATAWARD_PSEUDONYM_KEY": KEY}
    try:
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            return {"engine": engine, "master": master, "error": out.stderr.strip().splitlines()[-3:]}
        result = json.loads(out.stdout.strip().splitlines()[-1])
        result["bytes"] = sum(p.stat().st_size for p in dst.rglob("*.parquet"))
        return result
    finally:
        shutil.rmtree(dst.parent, ignore_errors=True)


def plan_for(src: Path) -> Path:
    from dataward.copy.plan import dump_plan, make_plan
    from dataward.targets import parse_target

    path = src / "bench-plan.toml"
    if not path.exists():
        path.write_text(dump_plan(make_plan(parse_target(f"file://{src}"))))
    return path


def rate(r: dict[str, Any]) -> str:
    if "error" in r:
        return f"failed: {r['error']}"
    return f"{r['rows'] / r['seconds']:,.0f} rows/s ({r['rows']:,} rows in {r['seconds']:.1f} s, JVM start {r['jvm_start']:.1f} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=240_000)
    parser.add_argument("--big-users", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--engine", default="local", help=argparse.SUPPRESS)
    parser.add_argument("--master", default="local[1]", help=argparse.SUPPRESS)
    parser.add_argument("--src", help=argparse.SUPPRESS)
    parser.add_argument("--dst", help=argparse.SUPPRESS)
    parser.add_argument("--plan", help=argparse.SUPPRESS)
    parser.add_argument("--driver-memory", default="2g", help=argparse.SUPPRESS)
    parser.add_argument("--shuffle-partitions", type=int, default=8, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    sys.path.insert(0, str(BENCH_DIR))
    from _data import reference_parquet

    src = Path(reference_parquet(args.users, args.seed))
    plan = plan_for(src)
    local = run_child(src, plan, "local")
    one = run_child(src, plan, "spark", "local[1]")
    two = run_child(src, plan, "spark", "local[2]")
    print(f"reference cloud: {args.users:,} users, {_source_rows(str(src)):,} rows, "
          f"{sum(p.stat().st_size for p in src.glob('*.parquet')) / 1e6:,.0f} MB of Parquet")  # fmt: skip
    print(f"local engine      : {rate(local)}")
    print(f"spark local[1]    : {rate(one)}")
    print(f"spark local[2]    : {rate(two)}")
    if "error" not in one and "error" not in two:
        print(f"scaling 1 -> 2 cores: {one['seconds'] / two['seconds']:.2f}x (goal 1.7x); "
              f"local[2] vs local engine: {local['seconds'] / two['seconds']:.2f}x")  # fmt: skip
    if args.big_users:
        big = Path(reference_parquet(args.big_users, args.seed))
        size = sum(p.stat().st_size for p in big.glob("*.parquet"))
        r = run_child(big, plan_for(big), "spark", "local[2]", memory="1g", shuffle=64)
        print(f"big copy, spark.driver.memory=1g, local[2]: {args.big_users:,} users, {size / 1e9:.2f} GB of "
              f"Parquet -> {rate(r)}" + (f", {r['bytes'] / 1e9:.2f} GB written" if "bytes" in r else ""))  # fmt: skip


if __name__ == "__main__":
    main()
