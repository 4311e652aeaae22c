"""Benchmark of `dataward generate` at full scale (issue 3): 2.4M users, ~6M devices, ~24M connection events.

Prints rows/s into Parquet and into PostgreSQL, the ratio of the PostgreSQL write to a raw COPY of the same
Parquet data measured in the same run on the same server, and the peak memory of each phase (each phase runs
in a fresh process, so its peak RSS is its own).

    flock /tmp/dataward-bench.lock .venv/bin/python bench/generate.py                  # full scale
    flock /tmp/dataward-bench.lock .venv/bin/python bench/generate.py --users 200000   # quick look

Goals: Parquet >= 1M rows/s on 2 cores; PostgreSQL within 1.5x of raw COPY; peak memory < 4 GB.
The raw COPY baseline reads each Parquet file, has Arrow write it as CSV and streams that into
`COPY ... FROM STDIN (FORMAT csv)` inside the transaction that creates the table (the way dataward writes too);
a second baseline streams pre-written CSV files (pure server ingest, conversion not timed).
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing as mp
import resource
import shutil
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
WORK = Path("/tmp/dataward-bench/generate")
PG_SETTINGS = {  # the same server settings for dataward and the baselines
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "30min",
    "shared_buffers": "512MB",
    "maintenance_work_mem": "256MB",
}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _in_child(func: Any, *args: Any) -> dict[str, Any]:
    """Run ``func(*args)`` in a fresh interpreter (spawn) and return its result dict plus its peak RSS."""
    ctx = mp.get_context("spawn")
    queue: mp.Queue[dict[str, Any]] = ctx.Queue()
    proc = ctx.Process(target=_child_main, args=(queue, func, args))
    proc.start()
    result = queue.get()
    proc.join()
    if "error" in result:
        raise SystemExit(f"bench phase {func.__name__} failed: {result['error']}")
    return result


def _child_main(queue: Any, func: Any, args: tuple[Any, ...]) -> None:
    try:
        result = func(*args)
        result["peak_mb"] = _peak_mb()
    except BaseException as exc:  # reported to the parent, which stops the bench
        result = {"error": f"{type(exc).__name__}: {exc}"}
    queue.put(result)


def phase_generate(users: int, seed: int, url: str, truth: str) -> dict[str, Any]:
    from dataward.devicecloud import generate

    started = time.perf_counter()
    result = generate(users, seed, url, force=True, ground_truth_path=Path(truth))
    return {
        "rows": result.rows,
        "seconds": time.perf_counter() - started,
        "per_table": result.seconds_per_table,
    }


def phase_raw_copy(folder: str, url: str) -> dict[str, Any]:
    """Baseline 1: Parquet -> Arrow CSV -> COPY FROM STDIN, per table, in the creating transaction."""
    import psycopg
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq
    from psycopg import sql

    from dataward.tables._sqltypes import ddl_type

    rows = 0
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        for path in sorted(Path(folder).glob("*.parquet")):
            table = f"raw_{path.stem}"
            pf = pq.ParquetFile(path)
            schema = pf.schema_arrow
            columns = sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(ddl_type(f.type, "postgresql")))
                for f in schema
            )
            with conn.transaction(), conn.cursor() as cur:
                cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
                cur.execute(sql.SQL("CREATE TABLE {} ({})").format(sql.Identifier(table), columns))
                with cur.copy(
                    sql.SQL("COPY {} FROM STDIN WITH (FORMAT csv)").format(sql.Identifier(table))
                ) as copy:
                    for batch in pf.iter_batches(batch_size=131072):
                        buf = io.BytesIO()
                        pacsv.write_csv(batch, buf, pacsv.WriteOptions(include_header=False, batch_size=8192))
                        copy.write(buf.getvalue())
                        rows += batch.num_rows
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
    return {"rows": rows, "seconds": time.perf_counter() - started}


def write_csv_files(folder: Path, into: Path) -> int:
    """Not timed: the Parquet tables as CSV files, for the pure-ingest baseline."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    into.mkdir(parents=True, exist_ok=True)
    rows = 0
    for path in sorted(folder.glob("*.parquet")):
        pf = pq.ParquetFile(path)
        with pacsv.CSVWriter(
            into / f"{path.stem}.csv", pf.schema_arrow, write_options=pacsv.WriteOptions(include_header=False)
        ) as w:
            for batch in pf.iter_batches(batch_size=131072):
                w.write_batch(batch)
                rows += batch.num_rows
    return rows


def phase_csv_copy(folder: str, csv_dir: str, url: str) -> dict[str, Any]:
    """Baseline 2: COPY FROM STDIN of pre-written CSV files (the server's ingest speed alone)."""
    import psycopg
    import pyarrow.parquet as pq
    from psycopg import sql

    from dataward.tables._sqltypes import ddl_type

    rows = 0
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        for path in sorted(Path(folder).glob("*.parquet")):
            table = f"csv_{path.stem}"
            schema = pq.read_schema(path)
            rows += pq.ParquetFile(path).metadata.num_rows
            columns = sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(ddl_type(f.type, "postgresql")))
                for f in schema
            )
            with conn.transaction(), conn.cursor() as cur:
                cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
                cur.execute(sql.SQL("CREATE TABLE {} ({})").format(sql.Identifier(table), columns))
                with (
                    cur.copy(
                        sql.SQL("COPY {} FROM STDIN WITH (FORMAT csv)").format(sql.Identifier(table))
                    ) as copy,
                    open(Path(csv_dir) / f"{path.stem}.csv", "rb") as fh,
                ):
                    while chunk := fh.read(8 << 20):
                        copy.write(chunk)
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
    return {"rows": rows, "seconds": time.perf_counter() - started}


def _database_url(admin_url: str, name: str) -> str:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return admin_url.rsplit("/", 1)[0] + "/" + name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2_400_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-postgres", action="store_true", help="only the Parquet output")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    args = parser.parse_args()

    WORK.mkdir(parents=True, exist_ok=True)
    parquet_dir = WORK / f"parquet-{args.users}"
    shutil.rmtree(parquet_dir, ignore_errors=True)
    figures: dict[str, Any] = {"users": args.users, "seed": args.seed}
    print(f"dataward generate bench: {args.users:,} users, seed {args.seed}", flush=True)

    pq_run = _in_child(
        phase_generate, args.users, args.seed, f"file://{parquet_dir}", str(WORK / "gt-parquet.json")
    )
    figures["parquet"] = pq_run
    _report("Parquet (dataward generate)", pq_run)

    if not args.no_postgres:
        from dataward.localservers.postgres import PostgresServer

        with PostgresServer(auth="trust", databases=["bench"], settings=PG_SETTINGS) as pg:
            pg_url = _database_url(pg.admin_url, "gen_dataward")
            pg_run = _in_child(phase_generate, args.users, args.seed, pg_url, str(WORK / "gt-pg.json"))
            figures["postgresql"] = pg_run
            _report("PostgreSQL (dataward generate)", pg_run)

            raw_url = _database_url(pg.admin_url, "gen_raw")
            raw = _in_child(phase_raw_copy, str(parquet_dir), raw_url)
            figures["raw_copy"] = raw
            _report("raw COPY of the Parquet data (Parquet->CSV->COPY)", raw)

            csv_dir = WORK / f"csv-{args.users}"
            write_csv_files(parquet_dir, csv_dir)
            csv_url = _database_url(pg.admin_url, "gen_csv")
            csv = _in_child(phase_csv_copy, str(parquet_dir), str(csv_dir), csv_url)
            shutil.rmtree(csv_dir, ignore_errors=True)
            figures["csv_copy"] = csv
            _report("raw COPY of pre-written CSV files (ingest only)", csv)

            ratio = pg_run["seconds"] / raw["seconds"]
            ratio_csv = pg_run["seconds"] / csv["seconds"]
            figures["ratio_vs_raw_copy"] = ratio
            figures["ratio_vs_csv_copy"] = ratio_csv
            print(
                f"PostgreSQL / raw COPY time ratio: {ratio:.2f}x (goal <= 1.5x); / CSV-file COPY: {ratio_csv:.2f}x"
            )

    peak = max(v["peak_mb"] for v in figures.values() if isinstance(v, dict) and "peak_mb" in v)
    goal = "ok" if pq_run["rows"] / pq_run["seconds"] >= 1e6 else "below goal"
    print(
        f"Parquet rows/s: {pq_run['rows'] / pq_run['seconds']:,.0f} (goal >= 1,000,000: {goal}); peak memory {peak:,.0f} MB (goal < 4096 MB)"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


def _report(label: str, run: dict[str, Any]) -> None:
    rate = run["rows"] / run["seconds"]
    print(
        f"{label:<52} {run['rows']:>12,} rows {run['seconds']:8.1f} s {rate:>12,.0f} rows/s  peak {run['peak_mb']:,.0f} MB",
        flush=True,
    )
    for table, seconds in run.get("per_table", {}).items():
        print(f"    {table:<20} {seconds:7.1f} s", flush=True)


if __name__ == "__main__":
    main()
