"""Benchmark `dataward scan` (issue 6): the reference device cloud in PostgreSQL plus its naive copy in
DuckDB, at two scales side by side. Goal: < 30 s and < 1 GB per full scan, flat beyond the sample budget.

    flock /tmp/dataward-bench.lock .venv/bin/python bench/scan.py            # 240k and 2.4M users
    .venv/bin/python bench/scan.py --users 20000 --users 200000             # quick, small scales

Data comes from bench/_data.py (cached Parquet of the reference cloud); PostgreSQL is a throw-away
dataward.testing.servers.PostgresServer on a free loopback port. Each scan runs as its own process (the
CLI, exactly as users run it), so wall time and peak RSS are the scan's alone (GNU time's %M).
Loading the data is not timed.
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

import duckdb
import pyarrow.parquet as pq

from dataward.localservers.postgres import PostgresServer
from dataward.tables import open_tables, quote_ident
from dataward.targets import parse_target

POLICY = """
[[store]]
name = "production"
url = {{env = "BENCH_PROD_URL"}}
role = "production"
owner = "platform@example.com"

[[store]]
name = "analytics-copy"
url = "duckdb:///{copy}"
role = "analytics"
owner = "data-team@example.com"
expires = 2020-01-31

[role.analytics]
forbid = ["credential", "health"]
require = ["auth", "owner", "expiry"]
"""


def parquet_tables(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(folder.glob("*.parquet"))}


def load_postgres(pg: PostgresServer, folder: Path) -> None:
    """COPY every table into PostgreSQL through dataward.tables, then ANALYZE so estimates are real."""
    url = pg.url(user="app", db="app")
    with open_tables(parse_target(url), create=True) as store:
        for name, path in parquet_tables(folder).items():
            pf = pq.ParquetFile(path)
            store.write_table(name, pf.schema_arrow, pf.iter_batches(batch_size=262_144))
    with pg.admin_connect("app") as conn:
        conn.execute("ANALYZE")


def naive_copy(folder: Path, dest: Path) -> None:
    """The engineer's 'analytics copy': every column of every table, into a world-readable DuckDB file."""
    con = duckdb.connect(str(dest))
    for name, path in parquet_tables(folder).items():
        con.execute(f"CREATE TABLE {quote_ident(name)} AS SELECT * FROM read_parquet(?)", [str(path)])
    con.close()
    dest.chmod(0o644)


def timed_scan(policy: Path, out: Path, env: dict[str, str]) -> dict[str, Any]:
    """Run the CLI under GNU time: a forked child's own ru_maxrss would count the parent's pages (this
    process holds the loading buffers), so the peak comes from /usr/bin/time's %M of the exec'd scan."""
    scan = [sys.executable, "-m", "dataward", "scan", "--config", str(policy), "--format", "json", "-o", str(out)]
    stats = out.with_suffix(".time")
    timer = shutil.which("time") or "/usr/bin/time"
    cmd = [timer, "-f", "%e %M", "-o", str(stats), *scan] if Path(timer).exists() else scan
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"scan failed ({proc.returncode}): {proc.stderr[-2000:]}")
    peak_mb = float("nan")
    if stats.exists():
        last = stats.read_text().strip().splitlines()[-1].split()
        peak_mb = int(last[1]) / 1024
    report = json.loads(out.read_text())
    return {
        "wall_s": wall,
        "peak_mb": peak_mb,
        "rows_sampled": sum(t.get("sampled_rows", 0) for t in report["targets"]),
        "records": sum(t.get("records") or 0 for t in report["targets"]),
        "critical": report["summary"]["by_severity"]["critical"],
        "high": report["summary"]["by_severity"]["high"],
    }


def reference(users: int, seed: int) -> Path:
    """bench/_data.py's cached Parquet folder; if that helper is missing, the generator's own Parquet output."""
    try:
        from _data import reference_parquet  # type: ignore[import-not-found]
    except ImportError:
        folder = Path("/tmp/dataward-bench") / f"scan-{users}-{seed}"
        if not folder.exists():
            folder.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run([sys.executable, "-m", "dataward", "generate", "--users", str(users), "--seed", str(seed),
                            "--out", f"file://{folder}"], check=True)
        return folder
    return Path(reference_parquet(users, seed))


def run_scale(users: int, seed: int, work: Path) -> dict[str, Any]:
    folder = reference(users, seed)
    copy = work / f"analytics-{users}.duckdb"
    naive_copy(folder, copy)
    policy = work / f"dataward-{users}.toml"
    policy.write_text(POLICY.format(copy=copy))
    with PostgresServer(auth="scram", users={"app": "app-pw"}, databases=["app"]) as pg:
        t0 = time.perf_counter()
        load_postgres(pg, folder)
        print(f"  loaded {users:,} users into PostgreSQL in {time.perf_counter() - t0:.0f} s (not timed)", flush=True)
        env = dict(os.environ, BENCH_PROD_URL=pg.url(user="app", db="app"))
        scan_res = timed_scan(policy, work / f"report-{users}.json", env)
    return {"users": users, **scan_res}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, action="append", help="scale(s); default 240000 and 2400000")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    scales = args.users or [240_000, 2_400_000]
    work = Path(tempfile.mkdtemp(prefix="dataward-bench-scan-", dir="/tmp"))
    work.chmod(0o755)
    rows = []
    try:
        for users in scales:
            print(f"scale {users:,} users ...", flush=True)
            rows.append(run_scale(users, args.seed, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\nusers       records(est)  rows sampled  wall s  peak MB  critical  high   goal: <30 s, <1024 MB")
    for r in rows:
        print(f"{r['users']:>10,}  {r['records']:>12,}  {r['rows_sampled']:>12,}  {r['wall_s']:>6.1f}  "
              f"{r['peak_mb']:>7.0f}  {r['critical']:>8}  {r['high']:>4}")
    if len(rows) >= 2:
        print(f"time ratio {rows[-1]['users']:,} / {rows[0]['users']:,} users: {rows[-1]['wall_s'] / rows[0]['wall_s']:.2f}x "
              f"for {rows[-1]['records'] / max(rows[0]['records'], 1):.1f}x the records")


if __name__ == "__main__":
    main()
