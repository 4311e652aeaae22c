"""Bench of dataward serve: the pages and the API over 200 stores and 100,000 findings, the exposed event's
latency and the memory of a serve process watching 200 real stores.

    PYTHONPATH=src python bench/serve.py [--stores 200] [--findings 100000] [--runs 30]
                                         [--live-stores 200] [--interval 15] [--rounds 4]
    PYTHONPATH=src python bench/serve.py --runs 10 --live-stores 20 --interval 5     # on a busy machine

Part 1 builds a SQLite state database (the watcher's tables, filled the way the watcher fills them: one store
row per store, one window per finding, a few events), logs in through the login form, then requests each page
and API answer ``--runs`` times in process (Starlette's TestClient: the app's own time plus a negligible
in-process transport) and prints p50 / p95 server time and the answer's size. Goals (issue 14): overview and
findings p95 under 150 ms, each page under 200 KB.

Part 2 (``--live-stores N``, 0 to skip) starts N real stores exactly as bench/watch.py does (its mix: Redis,
memcached, Mosquitto, PostgreSQL, MariaDB with authentication on), runs `dataward serve --config` over them
(interval ``--interval``), listens to /api/v1/events, and once every store has been probed switches the
protection of 10% of them off. Prints the exposed event's latency after the watcher's transition (when the
store's open window first shows in the state database, polled every 100 ms), after the start of the probe that
found it (the event's ``at``: this includes the full scan an exposure triggers) and after the switch (which
also includes the wait for the next probe), and the serve process's RSS (peak and last) after ``--rounds`` rounds while the
overview, findings and stores are requested through the API. Goals: the event within 2 s of the transition, RSS under 400 MB at 200
stores every 15 s. The machine's load average is printed with the figures: on a shared VM they are upper bounds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from dataward.serve import accounts
from dataward.serve.app import create_app
from dataward.serve.pages_data import VersionedCache
from dataward.state import open_state_db, schema
from dataward.watch.state import StateDB

PASSWORD = "bench-Passw0rd-serve"
KINDS = ("redis", "postgresql", "mongodb", "elasticsearch", "mysql", "memcached", "mqtt", "s3")
CATEGORIES = ("email", "phone", "health", "credential", "location", "person_name", "device_id")
RULES = ("no-auth", "public-bind", "no-tls", "default-credentials", "content.email", "content.health")


def build(path: Path, n_stores: int, n_findings: int, seed: int = 7, *, all_open: bool = False) -> str:
    """The state database (a third of the stores protected, unless ``all_open``); an API token of the bench
    user."""
    rng = random.Random(seed)
    engine = open_state_db(str(path))
    per_store = max(1, n_findings // n_stores)
    with engine.begin() as conn:
        stores = []
        for i in range(n_stores):
            kind = KINDS[i % len(KINDS)]
            reachable = 0 if i % 23 == 0 else 1
            contents = {"categories": sorted(rng.sample(CATEGORIES, 3)),
                        "by_object": {f"table_{j}": sorted(rng.sample(CATEGORIES, 2)) for j in range(5)},
                        "records": {f"table_{j}": rng.randint(100, 10**6) for j in range(5)}}
            stores.append({"store": f"store-{i:03d}", "target": f"{kind}://10.0.{i // 250}.{i % 250}:1234",
                           "kind": kind, "reachable": reachable, "failures": 0 if reachable else 3,
                           "unreachable_alerted": 0 if reachable else 1, "last_probe": "2026-12-07T09:00:00Z",
                           "last_secure": "2026-11-01T00:00:00Z", "contents": json.dumps(contents),
                           "extra": None, "fast_ids": None, "last_ok": None, "last_full": None})
        conn.execute(schema.stores.insert(), stores)
        windows = []
        for i in range(n_findings):
            store = i // per_store % n_stores
            if store % 3 == 0 and not all_open:  # a third of the stores are protected: their windows are closed
                closed: str | None = "2026-11-20T00:00:00Z"
            else:
                closed = None
            rule = f"{KINDS[store % len(KINDS)]}.{RULES[i % len(RULES)]}"
            windows.append({"store": f"store-{store:03d}", "finding": f"{i:016x}", "rule": rule,
                            "severity": rng.choice((1, 2, 3, 3, 4)), "title": f"Finding {i} of rule {rule}",
                            "target": f"{KINDS[store % len(KINDS)]}://10.0.0.{store % 250}:1234",
                            "categories": json.dumps(rng.sample(CATEGORIES, 2)), "last_secure": None,
                            "opened": f"2026-{11 + i % 2:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
                            "last_seen": "2026-12-07T09:00:00Z", "closed": closed})
            if len(windows) == 10_000:
                conn.execute(schema.windows.insert(), windows)
                windows = []
        if windows:
            conn.execute(schema.windows.insert(), windows)
        conn.execute(schema.events.insert(), [
            {"at": f"2026-12-0{1 + i % 7}T00:00:{i % 60:02d}Z", "store": f"store-{i % n_stores:03d}",
             "event": rng.choice(("exposed", "fixed", "unreachable", "new_finding")), "finding": None,
             "severity": None, "detail": ""} for i in range(5_000)])
    accounts.add_user(engine, "bench", "responder", PASSWORD)
    token = accounts.create_token(engine, "bench")
    engine.dispose()
    return token


def login(client: TestClient) -> None:
    page = client.get("/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token
    answer = client.post("/login", data={"csrf": token.group(1), "name": "bench", "password": PASSWORD})
    assert answer.status_code == 303, answer.text


def measure(client: TestClient, path: str, runs: int, *, cold: bool,
            headers: dict[str, str] | None = None) -> tuple[float, float, int]:
    """p50 and p95 in ms and the size of a page; ``cold`` empties the page cache before each request (as
    after every state change: a window opened or closed, a suppression), else only the first one is cold."""
    times = []
    size = 0
    client.get(path, headers=headers)  # warm the templates and SQLite's page cache
    for _ in range(runs):
        if cold:
            client.app.state.page_cache = VersionedCache()  # type: ignore[attr-defined]
            client.app.state.api_cache = VersionedCache()  # type: ignore[attr-defined]
        start = time.perf_counter()
        answer = client.get(path, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
        size = len(answer.content)
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)]
    return statistics.median(times), p95, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=200)
    parser.add_argument("--findings", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30, help="requests per page and API answer (0: skip part 1)")
    parser.add_argument("--live-stores", type=int, default=200, help="real stores watched by a serve (0: skip)")
    parser.add_argument("--interval", type=float, default=15.0, help="the live serve's probe interval, seconds")
    parser.add_argument("--rounds", type=int, default=4, help="probe rounds before the RSS is read")
    parser.add_argument("--deep-only", action="store_true", help="only the deep-page figure (then stop)")
    args = parser.parse_args()
    if args.runs and not args.deep_only:
        pages_and_api(args)
    if args.runs:
        deep_pages(args)
    if args.live_stores and not args.deep_only:
        live(args)


def pages_and_api(args: Any) -> None:
    with tempfile.TemporaryDirectory(prefix="dataward-serve-bench-") as tmp:
        path = Path(tmp) / "state.db"
        start = time.perf_counter()
        token = build(path, args.stores, args.findings)
        print(f"state database: {args.stores} stores, {args.findings:,} findings "
              f"({path.stat().st_size / 1e6:.1f} MB) built in {time.perf_counter() - start:.1f} s")
        state = StateDB(str(path))
        with TestClient(create_app(state), follow_redirects=False) as client:
            login(client)
            pages = ["/", "/findings", "/findings?page=500", "/findings?severity=critical&store=store-001",
                     "/stores", "/stores/store-001", "/incidents"]
            print(f"{'page or API answer':52} {'cold p50':>9} {'cold p95':>9} {'warm p50':>9} {'warm p95':>9} {'KB':>7}")
            for page in pages:
                c50, c95, size = measure(client, page, args.runs, cold=True)
                w50, w95, _ = measure(client, page, args.runs, cold=False)
                print(f"{page:52} {c50:9.1f} {c95:9.1f} {w50:9.1f} {w95:9.1f} {size / 1024:7.1f}")
            bearer = {"Authorization": f"Bearer {token}"}
            for route in ("/api/v1/overview", "/api/v1/findings?limit=50", "/api/v1/findings?limit=50&offset=50000",
                         "/api/v1/findings?severity=critical&store=store-001", "/api/v1/stores",
                         "/api/v1/stores/store-001", "/api/v1/settings", "/api/v1/copies"):
                c50, c95, size = measure(client, route, args.runs, cold=True, headers=bearer)
                w50, w95, _ = measure(client, route, args.runs, cold=False, headers=bearer)
                print(f"{route:52} {c50:9.1f} {c95:9.1f} {w50:9.1f} {w95:9.1f} {size / 1024:7.1f}")
            print("ms of server time per request; cold: after a state change (page cache empty), warm: a reload "
                  "between two probes (the overview and findings pages are cached per state version, and so are the\n"
                  "API's overview and findings pages of up to 1,000)")
        state.close()
    print_load()


def deep_pages(args: Any, offset: int = 90_000, size: int = 50) -> None:
    """Page 1 against the page at ``offset``, reached by offset and by keyset cursor (the same rows), over a
    database whose every finding is open (so the page at 90,000 of 100,000 exists in the SQL-paged list)."""
    with tempfile.TemporaryDirectory(prefix="dataward-serve-bench-deep-") as tmp:
        path = Path(tmp) / "state.db"
        token = build(path, args.stores, args.findings, all_open=True)
        state = StateDB(str(path))
        with TestClient(create_app(state), follow_redirects=False) as client:
            login(client)
            bearer = {"Authorization": f"Bearer {token}"}
            deep = min(offset, args.findings - size)
            cursor = client.get(f"/api/v1/findings?limit=1&offset={deep - 1}", headers=bearer).json()["next"]
            by_offset = client.get(f"/api/v1/findings?limit={size}&offset={deep}", headers=bearer).json()
            by_cursor = client.get(f"/api/v1/findings?limit={size}&cursor={cursor}", headers=bearer).json()
            assert [f["window"] for f in by_offset["findings"]] == [f["window"] for f in by_cursor["findings"]]
            page = deep // 100 + 1  # the findings page shows 100 a page
            page_cursor = client.get(f"/api/v1/findings?limit=1&offset={(page - 1) * 100 - 1}",
                                     headers=bearer).json()["next"]
            print(f"deep pages: every one of {args.findings:,} findings open; cold (cache emptied before each "
                  f"request), {args.runs} runs")
            print(f"{'page or API answer':52} {'p50':>9} {'p95':>9} {'KB':>7}")
            for route, headers in ((f"/api/v1/findings?limit={size}", bearer),
                                   (f"/api/v1/findings?limit={size}&offset={deep}", bearer),
                                   (f"/api/v1/findings?limit={size}&cursor={cursor}", bearer),
                                   ("/findings", None), (f"/findings?page={page}", None),
                                   (f"/findings?page={page}&cursor={page_cursor}", None)):
                p50, p95, length = measure(client, route, args.runs, cold=True, headers=headers)
                label = route if len(route) <= 52 else route[:40] + "…(cursor)"
                print(f"{label:52} {p50:9.1f} {p95:9.1f} {length / 1024:7.1f}")
        state.close()
    print_load()


def print_load() -> None:
    load = os.getloadavg()
    print(f"load average during the run: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs "
          "(figures under load are upper bounds)", flush=True)


# ---- part 2: a live serve watching real stores ---------------------------------------------------------------
POLL_S = 0.1


class Listener:
    """/api/v1/events in a thread: (event, data, arrival time) of every event."""

    def __init__(self, url: str, token: str) -> None:
        self.events: list[tuple[str, dict[str, Any], float]] = []
        self.open = threading.Event()
        self._stop = False
        threading.Thread(target=self._read, args=(url, token), daemon=True).start()

    def _read(self, url: str, token: str) -> None:
        event = ""
        with httpx.stream("GET", url, headers={"Authorization": f"Bearer {token}"}, timeout=None) as answer:
            self.open.set()
            for line in answer.iter_lines():
                if self._stop:
                    return
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    self.events.append((event, json.loads(line[6:]), time.time()))

    def stop(self) -> None:
        self._stop = True


def rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process in MB."""
    fields = {line.split(":")[0]: line.split()[1] for line in Path(f"/proc/{pid}/status").read_text().splitlines()
              if line.startswith(("VmRSS:", "VmHWM:"))}
    return int(fields["VmRSS"]) / 1024, int(fields["VmHWM"]) / 1024


def live(args: Any) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import watch as watch_bench  # bench/watch.py: its stores, their flips and its config

    from dataward.localservers.ports import free_port
    from dataward.state import open_state_db
    from dataward.watch.model import parse_iso

    rng = random.Random(9)
    folder = Path(tempfile.mkdtemp(prefix="dw-bench-serve-"))
    started = time.monotonic()
    stores = watch_bench.start_stores(args.live_stores)
    print(f"\nlive: started {len(stores)} stores in {time.monotonic() - started:.0f} s: "
          + ", ".join(f"{k} {sum(1 for s in stores if s.kind == k)}" for k, _ in watch_bench.MIX), flush=True)
    config = watch_bench.write_config(stores, folder, args.interval, 16)
    engine = open_state_db(str(folder / "watch.db"))
    accounts.add_user(engine, "bench", "viewer", PASSWORD)
    token = accounts.create_token(engine, "bench")
    engine.dispose()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(folder / "serve.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "dataward", "serve", "--config", str(config), "--listen",
                             f"127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _live_run(args, rng, stores, folder, proc, base, token, watch_bench, parse_iso)
    finally:
        from _procstat import stop_group

        stop_group(proc)
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda s: s.server.stop(), stores))


def _live_run(args: Any, rng: random.Random, stores: list[Any], folder: Path, proc: subprocess.Popen[bytes],
              base: str, token: str, watch_bench: Any, parse_iso: Any) -> None:
    bearer = {"Authorization": f"Bearer {token}"}
    begun = time.monotonic()
    while watch_bench.probed_stores(folder / "watch.db") < len(stores):
        if proc.poll() is not None:
            raise SystemExit(f"the server exited: {(folder / 'serve.log').read_text()[-2000:]}")
        if time.monotonic() - begun > 600:
            raise SystemExit("the first round did not finish in 10 minutes")
        time.sleep(0.5)
    print(f"live: first round (probe and full scan of every store) in {time.monotonic() - begun:.1f} s", flush=True)
    listener = Listener(f"{base}/api/v1/events", token)
    listener.open.wait(10)
    committed: dict[str, float] = {}  # when each store's open window was first seen in the state database
    polling = threading.Event()

    def poll() -> None:
        import sqlite3

        with sqlite3.connect(folder / "watch.db", timeout=5) as conn:
            while not polling.is_set():
                at = time.time()
                for (store,) in conn.execute("SELECT DISTINCT store FROM windows WHERE closed IS NULL"):
                    committed.setdefault(store, at)
                conn.commit()  # end the read transaction: the next poll sees new commits
                time.sleep(POLL_S)

    threading.Thread(target=poll, daemon=True).start()
    flippable = [s for s in stores if s.flip is not None]
    chosen = rng.sample(flippable, max(2, round(0.10 * len(stores))))
    flipped: dict[str, float] = {}
    window = max(args.interval, 5.0)
    offsets = sorted((rng.uniform(0, window), s.name, s) for s in chosen)
    t0 = time.monotonic()
    for offset, name, store in offsets:
        time.sleep(max(0.0, t0 + offset - time.monotonic()))
        store.flip()
        flipped[name] = time.time()
    deadline = time.monotonic() + max(60.0, 6 * args.interval)
    while time.monotonic() < deadline and not set(flipped) <= {d["store"] for e, d, _ in listener.events
                                                               if e == "exposed"}:
        time.sleep(0.2)
    first: dict[str, tuple[dict[str, Any], float]] = {}
    for event, data, at in listener.events:
        if event == "exposed" and data["store"] in flipped and data["store"] not in first:
            first[data["store"]] = (data, at)
    polling.set()
    after_probe = [at - parse_iso(d["at"]).timestamp() for d, at in first.values()]
    after_commit = [at - committed[name] for name, (_, at) in first.items() if name in committed]
    after_switch = [at - flipped[name] for name, (_, at) in first.items()]
    # the remaining rounds, with a dashboard reading the overview and findings meanwhile
    until = time.monotonic() + args.rounds * args.interval
    peak_pages = 0.0
    while time.monotonic() < until:
        for path in ("/api/v1/overview", "/api/v1/findings?limit=50", "/api/v1/stores"):
            start = time.perf_counter()
            assert httpx.get(base + path, headers=bearer, timeout=30).status_code == 200, path
            peak_pages = max(peak_pages, time.perf_counter() - start)
        time.sleep(1.0)
    now_mb, peak_mb = rss_mb(proc.pid)
    listener.stop()
    print(f"live serve: {len(stores)} stores every {args.interval:g} s; switched {len(flipped)} off, exposed "
          f"events for {len(first)}, other exposed events "
          f"{sum(1 for e, d, _ in listener.events if e == 'exposed' and d['store'] not in flipped)}")
    if after_commit:
        print(f"  exposed event after the watcher's transition (its window seen in the database, polled every "
              f"{1000 * POLL_S:.0f} ms): p50 {statistics.median(after_commit):.2f} s, max {max(after_commit):.2f} s "
              f"(goal < 2 s; up to {POLL_S:g} s either way is the poll's resolution)")
    if after_probe:
        print(f"  exposed event after the start of the probe that found it (its 'at', one-second resolution; "
              f"includes the full scan an exposure triggers): p50 {statistics.median(after_probe):.2f} s, "
              f"max {max(after_probe):.2f} s")
        print(f"  exposed event after the switch (includes the wait for the next probe): p50 "
              f"{statistics.median(after_switch):.1f} s, max {max(after_switch):.1f} s")
    print(f"  serve process RSS after {args.rounds} more rounds: {now_mb:.0f} MB now, peak {peak_mb:.0f} MB "
          f"(goal < 400 MB); slowest API answer meanwhile over HTTP {1000 * peak_pages:.0f} ms")
    print_load()


if __name__ == "__main__":
    main()
