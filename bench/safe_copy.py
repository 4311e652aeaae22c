"""Benchmark of issue 7: a safe copy of the reference cloud, PostgreSQL -> PostgreSQL and -> Parquet.

Printed next to each other, measured in the same run on the same server:
- raw ``COPY (SELECT * ...) TO STDOUT (FORMAT binary)`` piped into ``COPY ... FROM STDIN`` of another database
  (the baseline: what copying production for analytics costs with no protection at all);
- ``dataward copy run`` with the planner's default plan, into PostgreSQL and into a Parquet folder, each in a
  child process whose peak RSS is reported (memory must be bounded by the batch size, not the data size);
- pganonymize (PyPI, in its own venv under /tmp) masking the same sensitive columns in place, where it
  applies (it has no keyed pseudonyms or generalisation: md5 stands in for pseudonymize, clear for drop).

Run under the shared lock:
    flock /tmp/dataward-bench.lock .venv/bin/python bench/safe_copy.py --users 1000000 2400000
Goals: dataward within 2x of raw COPY, at least 5x faster than pganonymize, memory flat across scales.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
PGANON_VENV = Path("/tmp/bench-venv-pganonymize")
KEY = "bench-key-0123456789abcdef0123456789"


def reference_parquet(users: int, seed: int) -> Path:
    """The cached reference cloud as a Parquet folder (bench/_data.py; generated here if that is missing)."""
    try:
        from _data import reference_parquet
    except ImportError:
        pass
    else:
        return Path(reference_parquet(users, seed))
    from dataward.devicecloud import generate

    folder = Path(f"/tmp/dataward-bench/copy-reference-{users}-{seed}")
    if not (folder / "users.parquet").exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        generate(users, seed, f"file://{folder}", force=True)
    return folder


def load_into(url: str, folder: Path) -> dict[str, int]:
    """Load every Parquet table into PostgreSQL (setup, not measured)."""
    from dataward.tables import open_tables

    rows: dict[str, int] = {}
    with open_tables(f"file://{folder}") as src, open_tables(url, create=True) as dst:
        for table in src.list_tables():
            if table.startswith("_"):
                continue
            rows[table] = dst.write_table(table, src.schema(table), src.read_batches(table))
    return rows


def raw_copy(server: Any, tables: list[str], src_db: str, dst_db: str) -> float:
    """Seconds for binary COPY of every table from one database into another (tables pre-created)."""
    src = server.admin_connect(src_db)
    dst = server.admin_connect(dst_db)
    from psycopg import sql

    for table in tables:
        cols = src.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid WHERE c.relname = %s AND c.relkind = 'r' "
            "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            (table,),
        ).fetchall()
        ddl = sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in cols)
        dst.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
        dst.execute(sql.SQL("CREATE TABLE {} ({})").format(sql.Identifier(table), ddl))
    start = time.perf_counter()
    for table in tables:
        out_sql = sql.SQL("COPY (SELECT * FROM {}) TO STDOUT (FORMAT binary)").format(sql.Identifier(table))
        in_sql = sql.SQL("COPY {} FROM STDIN (FORMAT binary)").format(sql.Identifier(table))
        with src.cursor() as rc, dst.cursor() as wc, rc.copy(out_sql) as reader, wc.copy(in_sql) as writer:
            for chunk in reader:
                writer.write(chunk)
    elapsed = time.perf_counter() - start
    src.close()
    dst.close()
    return elapsed


def child_copy(source: str, dest: str, plan_file: str, batch_size: int) -> dict[str, Any]:
    """Run one dataward copy in a child process; its wall time and peak RSS come back.

    The peak is ``VmHWM`` of /proc/self/status, not ``getrusage``'s ``ru_maxrss``: Linux carries the maximum
    RSS across fork and exec, so the child's ``ru_maxrss`` was at least this (bench) process's own peak,
    which loading the data had raised with the data's size.
    """
    code = (
        "import json, sys, time\n"
        "from dataward.copy.plan import load_plan\n"
        "from dataward.copy.run import CopyOptions, load_key, run_copy\n"
        "from dataward.targets import parse_target\n"
        "src, dst, plan, bs = sys.argv[1:5]\n"
        "t = time.perf_counter()\n"
        "r = run_copy(parse_target(src), parse_target(dst), load_plan(plan), load_key(None),\n"
        "             CopyOptions(batch_size=int(bs), allow_unsafe_destination=True))\n"
        "hwm = next(line for line in open('/proc/self/status') if line.startswith('VmHWM:'))\n"
        "print(json.dumps({'seconds': time.perf_counter() - t,\n"
        "                  'rows': sum(c.rows for c in r.manifest.tables.values()),\n"
        "                  'peak_rss_mb': int(hwm.split()[1]) / 1024}))\n"
    )
    env = dict(os.environ, DATAWARD_PSEUDONYM_KEY=KEY)
    proc = subprocess.Popen(
        [sys.executable, "-c", code, source, dest, plan_file, str(batch_size)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
    )  # fmt: skip
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"dataward copy failed: {err.strip().splitlines()[-1] if err.strip() else proc.returncode}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def pganonymize(server: Any, db: str, plan: Any, workdir: Path) -> tuple[float, int] | None:
    """Seconds and rows for pganonymize on the tables where it applies, or None (reason printed)."""
    exe = PGANON_VENV / "bin" / "pganonymize"
    if not exe.exists():
        print(f"pganonymize: not installed; run: python3 -m venv {PGANON_VENV} && {PGANON_VENV}/bin/pip install pganonymize")
        return None
    tables, rows = [], 0
    counts = _counts(server, db)
    for table, tp in plan.tables.items():
        fields = []
        for col, p in tp.columns.items():
            if col == "id":
                continue
            if p.action == "drop" or p.action == "suppress":
                fields.append({col: {"provider": {"name": "clear"}}})
            elif p.action == "pseudonymize" and p.category is not None:
                fields.append({col: {"provider": {"name": "md5"}}})
        if fields:
            tables.append({table: {"primary_key": "id", "fields": fields}})
            rows += counts.get(table, 0)
    schema = workdir / "pganonymize.yml"
    schema.write_text(json.dumps({"tables": tables}))  # JSON is valid YAML
    server.execute_admin(f'CREATE DATABASE "{db}_anon" TEMPLATE "{db}"')
    args = [str(exe), "--schema", str(schema), "--dbname", f"{db}_anon", "--user", "dw_admin",
            "--password", server.admin_password, "--host", "127.0.0.1", "--port", str(server.port)]  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        print(f"pganonymize failed: {(proc.stderr or proc.stdout).strip().splitlines()[-1:]}")
        return None
    return elapsed, rows


def _counts(server: Any, db: str) -> dict[str, int]:
    with server.admin_connect(db) as conn:
        names = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}


def run_scale(users: int, seed: int, batch_size: int, with_pganonymize: bool) -> None:
    from dataward.copy.plan import dump_plan, make_plan
    from dataward.targets import parse_target
    from dataward.testing.servers import PostgresServer

    folder = reference_parquet(users, seed)
    settings = {"shared_buffers": "'512MB'", "max_wal_size": "'8GB'", "checkpoint_timeout": "'30min'"}
    with PostgresServer(auth="scram", users={"bench": "bench-pw"}, databases=["prod", "raw", "safe"],
                        settings=settings) as pg, tempfile.TemporaryDirectory(prefix="dw-copy-bench-") as tmp:  # fmt: skip
        prod = pg.url(user="bench", db="prod")
        t = time.perf_counter()
        counts = load_into(prod, folder)
        total = sum(counts.values())
        print(f"\n== {users:,} users: {total:,} rows in {len(counts)} tables (loaded in {time.perf_counter() - t:.0f} s)")
        t = time.perf_counter()
        plan = make_plan(parse_target(prod))
        plan_file = Path(tmp) / "plan.toml"
        plan_file.write_text(dump_plan(plan))
        print(f"plan (sampled classification): {time.perf_counter() - t:.1f} s")

        raw_s = raw_copy(pg, list(counts), "prod", "raw")
        print(f"raw COPY pg->pg (binary)      {total / raw_s:>12,.0f} rows/s  {raw_s:7.1f} s")
        res_pg = child_copy(prod, pg.url(user="bench", db="safe"), str(plan_file), batch_size)
        r_pg = res_pg["rows"] / res_pg["seconds"]
        print(f"dataward copy pg->pg          {r_pg:>12,.0f} rows/s  {res_pg['seconds']:7.1f} s  "
              f"{res_pg['seconds'] / raw_s:.2f}x raw COPY  peak {res_pg['peak_rss_mb']:.0f} MB")  # fmt: skip
        res_pq = child_copy(prod, f"file://{tmp}/safe-parquet", str(plan_file), batch_size)
        r_pq = res_pq["rows"] / res_pq["seconds"]
        print(f"dataward copy pg->parquet     {r_pq:>12,.0f} rows/s  {res_pq['seconds']:7.1f} s  "
              f"{res_pq['seconds'] / raw_s:.2f}x raw COPY  peak {res_pq['peak_rss_mb']:.0f} MB")  # fmt: skip
        if with_pganonymize:
            got = pganonymize(pg, "prod", plan, Path(tmp))
            if got is not None:
                secs, rows = got
                rate = rows / secs
                print(f"pganonymize (in place, {rows:,} rows of tables it applies to) {rate:>10,.0f} rows/s  "
                      f"{secs:7.1f} s  dataward pg->pg is {r_pg / rate:.1f}x faster per row")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, nargs="+", default=[1_000_000, 2_400_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=65536)
    parser.add_argument("--no-pganonymize", action="store_true", help="Skip the pganonymize comparison.")
    args = parser.parse_args()
    for users in args.users:
        run_scale(users, args.seed, args.batch_size, not args.no_pganonymize)


if __name__ == "__main__":
    main()
