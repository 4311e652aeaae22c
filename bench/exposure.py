"""Benchmark the exposure audit (issue 4): probe N locally started servers of mixed kinds and
configurations, then run nmap's NSE scripts on the same servers, side by side.

    flock /tmp/dataward-bench.lock .venv/bin/python bench/exposure.py              # 50 servers
    .venv/bin/python bench/exposure.py --servers 13                               # quick: one of each

Prints, per configuration: whether it is insecure, whether dataward (any finding >= high) and nmap
(its script's own verdict) detect it, and per-probe times; then total wall time and p95 per probe for both,
and the time ratio. Both tools see the same URL/port without credentials, as an outside attacker would.
nmap runs one process per server with ``--script +NAME`` (forced, since test servers use non-standard
ports) and ``-Pn -n -sT``; pgsql-brute gets the users dataward tries (postgres, the URL's) and a password
list holding only the empty password. Server start-up is not timed.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dataward.exposure.base import evaluate
from dataward.findings import Severity
from dataward.localservers.postgres import PostgresServer
from dataward.stores.base import Budget, store_for
from dataward.targets import parse_target
from dataward.testing.servers.mariadb import MariaDBServer
from dataward.testing.servers.memcached import MemcachedServer
from dataward.testing.servers.mosquitto import MosquittoServer
from dataward.testing.servers.redis import RedisServer


@dataclass(frozen=True)
class Config:
    name: str
    insecure: bool
    start: Callable[[], Any]  # -> started server
    url: Callable[[Any], str]
    script: str
    detected: Callable[[str], bool]  # nmap script output -> insecure found


def _pg_default_password() -> PostgresServer:
    pg = PostgresServer(auth="scram").start()
    pg.execute_admin("ALTER ROLE postgres PASSWORD 'postgres'")
    return pg


def _pg_url(s: Any) -> str:
    return f"postgresql://{s.host}:{s.port}/postgres"


def _my_url(s: Any) -> str:
    return f"mysql://{s.host}:{s.port}/"


CONFIGS = [
    Config("postgres trust", True, lambda: PostgresServer(auth="trust").start(), _pg_url, "pgsql-brute",
           lambda out: "Trusted authentication" in out or "Valid credentials" in out),
    Config("postgres scram", False, lambda: PostgresServer(auth="scram").start(), _pg_url, "pgsql-brute",
           lambda out: "Trusted authentication" in out or "Valid credentials" in out),
    Config("postgres default password", True, _pg_default_password, _pg_url, "pgsql-brute",
           lambda out: "Trusted authentication" in out or "Valid credentials" in out),
    Config("mariadb empty root", True, lambda: MariaDBServer(root_password=None).start(), _my_url,
           "mysql-empty-password", lambda out: "has empty password" in out),
    Config("mariadb anonymous", True, lambda: MariaDBServer(root_password="pw", anonymous_users=True).start(),
           _my_url, "mysql-empty-password", lambda out: "has empty password" in out),
    Config("mariadb secure", False, lambda: MariaDBServer(root_password="pw").start(), _my_url,
           "mysql-empty-password", lambda out: "has empty password" in out),
    Config("redis open", True, lambda: RedisServer(requirepass=None, protected_mode=False).start(),
           lambda s: s.url(), "redis-info", lambda out: "Version" in out),
    Config("redis protected-mode, no password", True,
           lambda: RedisServer(requirepass=None, protected_mode=True).start(), lambda s: s.url(), "redis-info",
           lambda out: "Version" in out),
    Config("redis requirepass", False, lambda: RedisServer(requirepass="pw").start(), lambda s: s.url(),
           "redis-info", lambda out: "Version" in out),
    Config("mosquitto anonymous", True, lambda: MosquittoServer(allow_anonymous=True).start(), lambda s: s.url(),
           "mqtt-subscribe", lambda out: "Topics and their most recent payloads" in out or "$SYS" in out),
    Config("mosquitto passwords", False,
           lambda: MosquittoServer(allow_anonymous=False, passwords={"u": "p"}).start(), lambda s: s.url(),
           "mqtt-subscribe", lambda out: "Topics and their most recent payloads" in out or "$SYS" in out),
    Config("memcached open", True, lambda: MemcachedServer().start(), lambda s: s.url(), "memcached-info",
           lambda out: "Process ID" in out or "Uptime" in out),
    Config("memcached auth file", False, lambda: MemcachedServer(auth_users={"u": "p"}).start(), lambda s: s.url(),
           "memcached-info", lambda out: "Process ID" in out or "Uptime" in out),
]


@dataclass
class Result:
    config: Config
    url: str
    dw_detected: bool
    dw_s: float
    nmap_detected: bool
    nmap_s: float
    rules: list[str]


def probe_dataward(url: str, budget: Budget) -> tuple[bool, float, list[str]]:
    start = time.perf_counter()
    target = parse_target(url)
    findings = evaluate(store_for(target).probe(target, budget))
    elapsed = time.perf_counter() - start
    bad = [f.rule for f in findings if f.severity >= Severity.HIGH]
    return bool(bad), elapsed, bad


def probe_nmap(cfg: Config, host: str, port: int, workdir: Path) -> tuple[bool, float]:
    users, passwords = workdir / "users.txt", workdir / "passwords.txt"
    users.write_text("postgres\n")
    passwords.write_text("\n")  # the empty password only
    args = ["nmap", "-Pn", "-n", "-sT", "-p", str(port), "--script", f"+{cfg.script}"]
    if cfg.script == "pgsql-brute":
        args += ["--script-args", f"userdb={users},passdb={passwords}"]
    args.append(host)
    start = time.perf_counter()
    out = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False).stdout
    elapsed = time.perf_counter() - start
    # normal output: a script's lines start with '|'
    outputs = "\n".join(line for line in out.splitlines() if line.startswith("|"))
    return cfg.detected(outputs), elapsed


def start_servers(n: int) -> list[tuple[Config, Any]]:
    plan = [CONFIGS[i % len(CONFIGS)] for i in range(n)]
    with ThreadPoolExecutor(3) as pool:
        servers = list(pool.map(lambda c: c.start(), plan))
    return list(zip(plan, servers, strict=True))


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=3.0, help="dataward's per-connection timeout")
    parser.add_argument("--no-nmap", action="store_true")
    args = parser.parse_args()
    if not args.no_nmap and shutil.which("nmap") is None:
        print("nmap: skipped, it is not installed (apt-get install nmap for the side-by-side)", file=sys.stderr)
        args.no_nmap = True
    budget = Budget(timeout_s=args.timeout)
    print(f"starting {args.servers} servers ({len(CONFIGS)} configurations) ...", file=sys.stderr)
    pairs = start_servers(args.servers)
    results: list[Result] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            wall = time.perf_counter()
            for cfg, server in pairs:
                url = cfg.url(server)
                found, secs, rules = probe_dataward(url, budget)
                results.append(Result(cfg, url, found, secs, False, 0.0, rules))
            dw_wall = time.perf_counter() - wall
            wall = time.perf_counter()
            if not args.no_nmap:
                for res, (cfg, server) in zip(results, pairs, strict=True):
                    res.nmap_detected, res.nmap_s = probe_nmap(cfg, server.host, server.port, Path(tmp))
            nmap_wall = time.perf_counter() - wall
    finally:
        for _, server in pairs:
            server.stop()
    report(results, dw_wall, nmap_wall, not args.no_nmap)


def report(results: list[Result], dw_wall: float, nmap_wall: float, with_nmap: bool) -> None:
    print(f"\n{'configuration':36} {'n':>3} {'insecure':>8} {'dataward':>9} {'nmap':>6} {'dw p50 s':>9} {'nmap p50 s':>10}")
    for cfg in CONFIGS:
        rows = [r for r in results if r.config is cfg]
        if not rows:
            continue
        dw = sum(r.dw_detected for r in rows)
        nm = sum(r.nmap_detected for r in rows)
        print(f"{cfg.name:36} {len(rows):>3} {'yes' if cfg.insecure else 'no':>8} {dw:>4}/{len(rows):<4} "
              f"{(str(nm) + '/' + str(len(rows))) if with_nmap else '-':>6} "
              f"{statistics.median(r.dw_s for r in rows):>9.3f} "
              f"{statistics.median(r.nmap_s for r in rows) if with_nmap else 0:>10.3f}")
    insecure = [r for r in results if r.config.insecure]
    secure = [r for r in results if not r.config.insecure]
    print(f"\ninsecure servers: {len(insecure)}; dataward detects {sum(r.dw_detected for r in insecure)}, "
          f"nmap detects {sum(r.nmap_detected for r in insecure) if with_nmap else '-'}")
    print(f"secure servers: {len(secure)}; dataward false alarms {sum(r.dw_detected for r in secure)}, "
          f"nmap false alarms {sum(r.nmap_detected for r in secure) if with_nmap else '-'}")
    missed_by_nmap = sorted({r.config.name for r in insecure if r.dw_detected and not r.nmap_detected})
    missed_by_dw = sorted({r.config.name for r in insecure if r.nmap_detected and not r.dw_detected})
    print(f"found by dataward, missed by nmap: {', '.join(missed_by_nmap) or 'none'}")
    print(f"found by nmap, missed by dataward: {', '.join(missed_by_dw) or 'none'}")
    dw_times = [r.dw_s for r in results]
    print(f"\ndataward: total {dw_wall:.2f} s for {len(results)} probes, p95 per probe {p95(dw_times):.3f} s")
    if with_nmap:
        nm_times = [r.nmap_s for r in results]
        print(f"nmap NSE: total {nmap_wall:.2f} s for {len(results)} probes, p95 per probe {p95(nm_times):.3f} s")
        print(f"time ratio dataward / nmap: {dw_wall / nmap_wall:.2f}")


if __name__ == "__main__":
    main()
