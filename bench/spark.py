"""Benchmark of issue 16: the safe copy on Spark on 1 and on 2 cores, next to the local engine.

Measured in the same run, each copy in a child process of its own (a JVM's core count is fixed at its start),
timed from the call of the copy to its manifest (the JVM's start is reported apart):
- ``--engine local`` (Arrow/DuckDB, one process) on the reference cloud as Parquet;
- ``--engine spark`` on one core: the child and the JVM it starts are pinned to one CPU
  (``sched_setaffinity`` before the JVM starts, so the JIT, the garbage collector and Parquet I/O share that
  core with the task) and run ``local[1]``; then on two cores, pinned to both, ``local[2]``;
- for each Spark copy the JVM's CPU seconds (all threads, and split into task, JIT, GC and other threads),
  the task slots, the pinned cores and the JVM's peak RSS;
- with ``--big-users N``: a larger reference cloud copied at ``local[2]`` with ``spark.driver.memory=1g``
  (in local mode the driver is the executor too), to show that a copy several times larger than the JVM's
  heap streams through instead of running out of memory. Its data is deleted afterwards (``--keep-data``
  keeps it).

The recommended settings (``RECOMMENDED``, docs/spark.md) are on unless ``--no-recommended``; ``--java-options``
and ``--conf k=v`` add to them, to try others.

Run under the shared lock:
    flock /tmp/dataward-bench.lock .venv/bin/python bench/spark.py --users 2400000
    flock /tmp/dataward-bench.lock .venv/bin/python bench/spark.py --big-only --big-users 4800000
Goal: two cores at least 1.7x the rows/s of one, at 2.4M users (the default 240k is a quick run, where the
JVM's warm-up, 10-14 s of JIT compiling whatever the size, weighs as much as the copy).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
KEY = "bench-key-0123456789abcdef0123456789"
# Settings kept because they helped in the measurements of docs/spark.md ("Benchmark figures"): the parallel
# collector (fewer GC threads' CPU than G1, and the same collector whatever the core count, where the JVM would
# pick Serial on one CPU and G1 on two) and input splits of at most 32 MB, so that each table has several
# tasks per core and no core waits for a last large split
RECOMMENDED_JAVA = "-XX:+UseParallelGC"
RECOMMENDED: dict[str, str] = {"spark.sql.files.maxPartitionBytes": "32m"}


def child(args: argparse.Namespace) -> None:
    """One copy, timed, on the given cores; prints one JSON line."""
    if args.cores:
        os.sched_setaffinity(0, {int(c) for c in args.cores.split(",")})  # before the JVM starts: it inherits
    from dataward.copy.plan import load_plan
    from dataward.copy.run import load_key
    from dataward.targets import parse_target

    src, dst = parse_target(f"file://{args.src}"), parse_target(f"file://{args.dst}")
    plan, key = load_plan(args.plan), load_key(None)
    out = local_copy(src, dst, plan, key) if args.engine == "local" else spark_copy(args, src, dst, plan, key)
    out |= {"engine": args.engine, "master": args.master if args.engine == "spark" else "",
            "cores": sorted(os.sched_getaffinity(0)), "rows": _source_rows(args.src)}  # fmt: skip
    print(json.dumps(out))


def local_copy(src: Any, dst: Any, plan: Any, key: Any) -> dict[str, Any]:
    from dataward.copy.run import CopyOptions, run_copy

    began, cpu = time.perf_counter(), time.process_time()
    result = run_copy(src, dst, plan, key, CopyOptions())
    seconds = time.perf_counter() - began
    return {"seconds": seconds, "cpu": time.process_time() - cpu, "jvm_start": 0.0,
            "written": sum(t.rows for t in result.manifest.tables.values()),
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}  # fmt: skip


def spark_copy(args: argparse.Namespace, src: Any, dst: Any, plan: Any, key: Any) -> dict[str, Any]:
    from _procstat import cpu_by_group, peak_rss_mb, process_cpu, thread_cpu

    from dataward.copy.run import CopyOptions
    from dataward.spark.copy import run_copy_spark
    from dataward.spark.session import spark_session

    started = time.perf_counter()
    spark = spark_session(args.master, json.loads(args.spark_conf))
    jvm: Any = spark._jvm
    pid = int(jvm.java.lang.ProcessHandle.current().pid())
    jvm_start = time.perf_counter() - started
    threads, cpu = thread_cpu(pid), process_cpu(pid)
    began = time.perf_counter()
    result = run_copy_spark(spark, src, dst, plan, key, CopyOptions())
    seconds = time.perf_counter() - began
    runtime = jvm.java.lang.Runtime.getRuntime()
    return {"seconds": seconds, "jvm_start": jvm_start, "cpu": process_cpu(pid) - cpu,
            "cpu_by_group": cpu_by_group(threads, thread_cpu(pid)), "rss_mb": peak_rss_mb(pid),
            "slots": spark.sparkContext.defaultParallelism, "jvm_cpus": int(runtime.availableProcessors()),
            "heap_max_mb": int(runtime.maxMemory()) / 2**20,
            "written": sum(t.rows for t in result.manifest.tables.values())}  # fmt: skip


def _source_rows(folder: str) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(p).metadata.num_rows for p in Path(folder).glob("*.parquet"))


def spark_conf(args: argparse.Namespace, memory: str) -> dict[str, str]:
    """The Spark conf of a bench copy: the recommended settings (unless turned off) and the user's."""
    conf = {"spark.ui.enabled": "false", "spark.driver.memory": memory}
    java = [] if args.no_recommended else [RECOMMENDED_JAVA]
    conf |= {} if args.no_recommended else RECOMMENDED
    conf |= dict(pair.split("=", 1) for pair in args.conf)
    java.append(args.java_options)
    if " ".join(java).strip():
        conf["spark.driver.extraJavaOptions"] = " ".join(java).strip()
    return conf


def run_child(src: Path, plan: Path, engine: str, master: str, cores: str, conf: dict[str, str]) -> dict[str, Any]:
    dst = Path(tempfile.mkdtemp(prefix="dw-spark-bench-")) / "copy"
    cmd = [sys.executable, __file__, "--child", "--engine", engine, "--master", master, "--cores", cores,
           "--src", str(src), "--dst", str(dst), "--plan", str(plan), "--spark-conf", json.dumps(conf)]  # fmt: skip
    env = {**os.environ, "DATAWARD_PSEUDONYM_KEY": KEY, "PYTHONPATH": _pythonpath()}
    try:
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            return {"engine": engine, "master": master, "error": out.stderr.strip().splitlines()[-3:]}
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        result["bytes"] = sum(p.stat().st_size for p in dst.rglob("*.parquet"))
        return result
    finally:
        shutil.rmtree(dst.parent, ignore_errors=True)


def _pythonpath() -> str:
    return os.pathsep.join([str(BENCH_DIR), *filter(None, [os.environ.get("PYTHONPATH")])])


def plan_for(src: Path) -> Path:
    from dataward.copy.plan import dump_plan, make_plan
    from dataward.targets import parse_target

    path = src / "bench-plan.toml"
    if not path.exists():
        path.write_text(dump_plan(make_plan(parse_target(f"file://{src}"))))
    return path


def relaid(src: Path, rows_per_group: int) -> Path:
    """The reference cloud rewritten with row groups of ``rows_per_group`` rows (Spark splits files by them)."""
    import pyarrow.parquet as pq

    if rows_per_group <= 0:
        return src
    out = src.parent / f"{src.name}-rg{rows_per_group}"
    if not (out / "users.parquet").exists():
        out.mkdir(exist_ok=True)
        for path in sorted(src.glob("*.parquet")):
            pq.write_table(pq.read_table(path), out / path.name, row_group_size=rows_per_group)
    return out


def rate(r: dict[str, Any]) -> str:
    if "error" in r:
        return f"failed: {r['error']}"
    text = f"{r['rows'] / r['seconds']:,.0f} rows/s, {r['seconds']:.1f} s, CPU {r['cpu']:.1f} s"
    if r["engine"] == "spark":
        text += (f" {r['cpu_by_group']}, {r['slots']} slots on cores {r['cores']} (JVM sees {r['jvm_cpus']}),"
                 f" JVM start {r['jvm_start']:.1f} s, peak RSS {r['rss_mb']:,.0f} MB")  # fmt: skip
    return text


def scaling(args: argparse.Namespace, src: Path) -> list[dict[str, Any]]:
    """Local engine, one pinned core, two cores, ``--repeat`` times; prints each and the scaling."""
    plan, conf, both = plan_for(src), spark_conf(args, "2g"), ",".join(map(str, sorted(os.sched_getaffinity(0))))
    n = len(both.split(","))
    results: list[dict[str, Any]] = []
    for _ in range(args.repeat):
        local = [] if args.skip_local else [run_child(src, plan, "local", "", both, conf)]
        one = run_child(src, plan, "spark", "local[1]", args.one_core, conf)
        two = run_child(src, plan, "spark", f"local[{n}]", both, conf)
        for r in [*local, one, two]:
            print(f"{r['engine']:5} {r.get('master', ''):9}: {rate(r)}", flush=True)
        if "error" not in one and "error" not in two:
            print(f"scaling 1 -> {n} cores: {one['seconds'] / two['seconds']:.2f}x (goal 1.7x)", flush=True)
        results += [*local, one, two]
    return results


def big_copy(args: argparse.Namespace) -> dict[str, Any]:
    """The larger-than-memory copy at local[2] with a 1 GB driver; its data deleted afterwards."""
    from _data import reference_parquet

    big = Path(reference_parquet(args.big_users, args.seed))
    size = sum(p.stat().st_size for p in big.glob("*.parquet"))
    both = ",".join(map(str, sorted(os.sched_getaffinity(0))))
    try:
        r = run_child(big, plan_for(big), "spark", "local[2]", both, spark_conf(args, args.big_memory))
    finally:
        if not args.keep_data:
            shutil.rmtree(big, ignore_errors=True)
    r |= {"users": args.big_users, "parquet_bytes": size}
    print(f"big copy, spark.driver.memory={args.big_memory}, local[2]: {args.big_users:,} users, "
          f"{size / 1e9:.2f} GB of Parquet -> {rate(r)}" + (f", {r['bytes'] / 1e9:.2f} GB written" if "bytes" in r else ""))  # fmt: skip
    return r


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=240_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="measure the scaling this many times")
    parser.add_argument("--one-core", default="0", help="the CPU the one-core copy is pinned to")
    parser.add_argument("--row-group-rows", type=int, default=0, help="re-lay the source in row groups this size")
    parser.add_argument("--java-options", default="", help="more JVM options for the Spark copies")
    parser.add_argument("--conf", action="append", default=[], help="more Spark conf, k=v (repeatable)")
    parser.add_argument("--no-recommended", action="store_true", help="without the recommended settings")
    parser.add_argument("--skip-local", action="store_true", help="Spark copies only")
    parser.add_argument("--big-users", type=int, default=0, help="also copy this larger cloud with a 1 GB driver")
    parser.add_argument("--big-memory", default="1g")
    parser.add_argument("--big-only", action="store_true", help="only the larger-than-memory copy")
    parser.add_argument("--keep-data", action="store_true", help="keep the larger cloud's data afterwards")
    parser.add_argument("--json", help="write every result to this file")
    for hidden in ("--engine", "--master", "--cores", "--src", "--dst", "--plan", "--spark-conf"):
        parser.add_argument(hidden, default="", help=argparse.SUPPRESS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.child:
        child(args)
        return
    sys.path.insert(0, str(BENCH_DIR))
    from _data import reference_parquet

    results: list[dict[str, Any]] = []
    print(f"load average {os.getloadavg()}, recommended settings {'off' if args.no_recommended else 'on'}: "
          f"{spark_conf(args, '2g')}")  # fmt: skip
    if not args.big_only:
        src = relaid(Path(reference_parquet(args.users, args.seed)), args.row_group_rows)
        print(f"reference cloud: {args.users:,} users, {_source_rows(str(src)):,} rows, "
              f"{sum(p.stat().st_size for p in src.glob('*.parquet')) / 1e6:,.0f} MB of Parquet in {src}")  # fmt: skip
        results += scaling(args, src)
    if args.big_users:
        results.append(big_copy(args))
    print(f"load average {os.getloadavg()}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
