"""Benchmark the watcher (issue 8): N locally started stores of mixed kinds, a random 10% flipped to exposed at
random times; time from each flip to its alert at a local webhook, and the watcher's CPU and memory.

    flock /tmp/dataward-bench.lock .venv/bin/python bench/watch.py                 # 200 stores, 15 s interval
    .venv/bin/python bench/watch.py --stores 20 --interval 5 --flip-window 20      # quick

The watcher is the real CLI (`dataward watch --config ... --alert http://...`) in its own process, pinned to
one core with taskset (``--cores``). Mix (of 200): 120 Redis (requirepass), 40 memcached (auth file, never
flipped: memcached cannot change auth at runtime), 26 Mosquitto (no anonymous), 10 PostgreSQL (scram),
4 MariaDB (root password). Flips: CONFIG SET requirepass "", allow_anonymous + SIGHUP, pg_hba trust + reload,
root loses its password. Flips start after every store has been probed once, spread uniformly over
``--flip-window`` seconds. Prints p50/p95/max flip->alert latency, alerts per flipped store (must be 1),
false alerts, the watcher's CPU seconds and share of one core, and its peak RSS. Goals: p95 < 60 s at a
15 s interval on one core, watcher memory < 300 MB. Server start-up is not timed.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dataward.testing.receivers import WebhookReceiver
from dataward.testing.servers import (
    LocalServer,
    MariaDBServer,
    MemcachedServer,
    MosquittoServer,
    PostgresServer,
    RedisServer,
)

ROOT = Path(__file__).resolve().parent.parent
MIX = (("redis", 0.60), ("memcached", 0.20), ("mosquitto", 0.13), ("postgres", 0.05), ("mariadb", 0.02))


@dataclass
class Store:
    name: str
    kind: str
    server: LocalServer
    url: str
    flip: Callable[[], None] | None
    flipped_at: float | None = None


def _redis() -> tuple[LocalServer, str, Callable[[], None]]:
    s = RedisServer(requirepass="bench-pw").start()
    return s, s.url(), lambda: s.config_set("requirepass", "")


def _memcached() -> tuple[LocalServer, str, None]:
    s = MemcachedServer(auth_users={"bench": "bench-pw"}).start()
    return s, s.url(), None


def _mosquitto() -> tuple[LocalServer, str, Callable[[], None]]:
    s = MosquittoServer(allow_anonymous=False, passwords={"device": "device-pw"}).start()
    return s, s.url(), lambda: s.reconfigure(allow_anonymous=True)


def _postgres() -> tuple[LocalServer, str, Callable[[], None]]:
    s = PostgresServer(auth="scram").start()
    return s, s.url(user="app", password=""), lambda: s.set_auth("trust")


def _mariadb() -> tuple[LocalServer, str, Callable[[], None]]:
    s = MariaDBServer(root_password="root-pw").start()
    return s, s.url(user="app", password=""), lambda: s.set_root_password(None)


STARTERS: dict[str, Callable[[], tuple[LocalServer, str, Callable[[], None] | None]]] = {
    "redis": _redis, "memcached": _memcached, "mosquitto": _mosquitto, "postgres": _postgres, "mariadb": _mariadb,
}


def plan_kinds(n: int) -> list[str]:
    counts = {k: int(round(n * share)) for k, share in MIX}
    counts["redis"] += n - sum(counts.values())
    return [k for k, c in counts.items() for _ in range(c)]


def start_stores(n: int) -> list[Store]:
    kinds = plan_kinds(n)

    def one(i_kind: tuple[int, str]) -> Store:
        i, kind = i_kind
        server, url, flip = STARTERS[kind]()
        return Store(f"{kind}-{i:03d}", kind, server, url, flip)

    heavy = [(i, k) for i, k in enumerate(kinds) if k in ("postgres", "mariadb")]
    light = [(i, k) for i, k in enumerate(kinds) if k not in ("postgres", "mariadb")]
    with ThreadPoolExecutor(max_workers=4) as pool:
        stores = list(pool.map(one, light)) + list(pool.map(one, heavy))
    return sorted(stores, key=lambda s: s.name)


def write_config(stores: list[Store], folder: Path, interval: float, concurrency: int) -> Path:
    lines = [f'[[store]]\nname = "{s.name}"\nurl = "{s.url}"\n' for s in stores]
    lines.append(f'[watch]\ninterval = "{interval}s"\nclassify_interval = "1h"\nconcurrency = {concurrency}\n'
                 f'timeout = "3s"\nstate = "{folder / "watch.db"}"\nunreachable_after = 3\n')
    path = folder / "dataward.toml"
    path.write_text("\n".join(lines))
    return path


def probed_stores(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM stores WHERE last_probe IS NOT NULL").fetchone()[0])
    except sqlite3.Error:
        return 0


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def proc_peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stores", type=int, default=200)
    ap.add_argument("--interval", type=float, default=15.0)
    ap.add_argument("--flip-share", type=float, default=0.10)
    ap.add_argument("--flip-window", type=float, default=60.0, help="seconds over which flips are spread")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--cores", default="0", help="taskset CPU list for the watcher ('' = no pinning)")
    ap.add_argument("--seed", type=int, default=8)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    folder = Path(tempfile.mkdtemp(prefix="dw-bench-watch-"))
    t0 = time.monotonic()
    stores = start_stores(args.stores)
    print(f"started {len(stores)} stores in {time.monotonic() - t0:.0f} s: "
          + ", ".join(f"{k} {sum(1 for s in stores if s.kind == k)}" for k, _ in MIX), flush=True)
    flippable = [s for s in stores if s.flip is not None]
    chosen = rng.sample(flippable, max(1, round(args.flip_share * len(stores))))
    hook = WebhookReceiver().start()
    config = write_config(stores, folder, args.interval, args.concurrency)
    argv = [str(ROOT / ".venv/bin/dataward"), "watch", "--config", str(config), "--alert", hook.url]
    if args.cores and shutil.which("taskset"):
        argv = ["taskset", "-c", args.cores, *argv]
    log = open(folder / "watch.log", "wb")  # noqa: SIM115
    watcher = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        run(args, rng, stores, chosen, hook, watcher, folder)
    finally:
        from _procstat import stop_group

        stop_group(watcher)
        hook.stop()
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda s: s.server.stop(), stores))
        shutil.rmtree(folder, ignore_errors=True)


def run(args: Any, rng: random.Random, stores: list[Store], chosen: list[Store], hook: WebhookReceiver,
        watcher: subprocess.Popen[bytes], folder: Path) -> None:
    t_start = time.monotonic()
    while probed_stores(folder / "watch.db") < len(stores):
        if watcher.poll() is not None:
            raise SystemExit(f"the watcher exited: {(folder / 'watch.log').read_text()[-2000:]}")
        if time.monotonic() - t_start > 600:
            raise SystemExit("the first round did not finish in 10 minutes")
        time.sleep(0.5)
    print(f"first round (probe + full scan of every store) done in {time.monotonic() - t_start:.1f} s", flush=True)
    cpu_before = proc_cpu_seconds(watcher.pid)
    baseline_alerts = len(hook.received)
    t_flips = time.monotonic()
    offsets = sorted((rng.uniform(0, args.flip_window), s) for s in chosen)
    offsets.sort(key=lambda pair: pair[0])
    for offset, store in offsets:
        time.sleep(max(0.0, t_flips + offset - time.monotonic()))
        assert store.flip is not None
        store.flip()
        store.flipped_at = time.time()
    names = {s.name for s in chosen}
    deadline = time.monotonic() + max(120.0, 6 * args.interval)
    while time.monotonic() < deadline:
        got = {r["store"] for r in hook.received[baseline_alerts:] if r.get("event") == "exposed"}
        if names <= got:
            break
        time.sleep(0.2)
    time.sleep(2 * args.interval)  # let duplicates or false alerts show up
    wall = time.monotonic() - t_flips
    cpu = proc_cpu_seconds(watcher.pid) - cpu_before
    rss = proc_peak_rss_mb(watcher.pid)
    report(stores, chosen, hook, baseline_alerts, wall, cpu, rss, args)


def report(stores: list[Store], chosen: list[Store], hook: WebhookReceiver, baseline_alerts: int, wall: float,
           cpu: float, rss: float, args: Any) -> None:
    by_name = {s.name: s for s in chosen}
    arrivals: dict[str, list[float]] = {}
    false_alerts = 0
    for r in hook.received[baseline_alerts:]:
        if r.get("event") != "exposed":
            continue
        if r["store"] not in by_name:
            false_alerts += 1
            continue
        arrivals.setdefault(r["store"], []).append(1.0)
    received_at = hook_arrival_times(hook, baseline_alerts)
    latencies = []
    for name, store in by_name.items():
        t = received_at.get(name)
        if t is not None and store.flipped_at is not None:
            latencies.append(t - store.flipped_at)
    missing = sorted(n for n in by_name if n not in received_at)
    dupes = sum(max(0, len(v) - 1) for v in arrivals.values())
    print(f"\nwatch bench: {len(stores)} stores, interval {args.interval:g} s, concurrency {args.concurrency}, "
          f"watcher pinned to CPU {args.cores or 'any'}")
    print(f"  flipped {len(chosen)} stores over {args.flip_window:g} s; alerts received for "
          f"{len(latencies)}, missing {len(missing)} {missing[:5]}, duplicates {dupes}, false {false_alerts}, "
          f"startup alerts {baseline_alerts}")
    if latencies:
        print(f"  flip -> alert: p50 {statistics.median(latencies):.1f} s, p95 {pct(latencies, 0.95):.1f} s, "
              f"max {max(latencies):.1f} s   (goal: p95 < 60 s at 15 s)")
    print(f"  watcher CPU: {cpu:.1f} s over {wall:.0f} s = {100 * cpu / wall:.0f}% of one core; "
          f"peak RSS {rss:.0f} MB   (goal: < 300 MB)")


def hook_arrival_times(hook: WebhookReceiver, start: int) -> dict[str, float]:
    """First 'exposed' arrival per store (wall-clock time the receiver got it)."""
    out: dict[str, float] = {}
    for r, at in list(zip(hook.received, hook.arrived, strict=False))[start:]:
        if r.get("event") == "exposed" and r["store"] not in out:
            out[r["store"]] = at
    return out


if __name__ == "__main__":
    main()
