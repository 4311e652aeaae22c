"""Bench of the dataward serve pages: 200 stores and 100,000 open findings in a state database.

    PYTHONPATH=src python bench/serve.py [--stores 200] [--findings 100000] [--runs 30]

Builds a SQLite state database (the watcher's tables, filled the way the watcher fills them: one store row per
store, one open window per finding, a few events), logs in through the login form, then requests each page
``--runs`` times in process (Starlette's TestClient: the app's own time plus a negligible in-process transport)
and prints p50 / p95 server time and the page size. Goal (issue 14): overview and findings p95 under 150 ms,
each page under 200 KB. The machine's load average is printed with the figures: on a shared VM they are upper
bounds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import tempfile
import time
from pathlib import Path

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


def build(path: Path, n_stores: int, n_findings: int, seed: int = 7) -> None:
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
            if store % 3 == 0:  # a third of the stores are protected: their windows are closed
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
    engine.dispose()


def login(client: TestClient) -> None:
    page = client.get("/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token
    answer = client.post("/login", data={"csrf": token.group(1), "name": "bench", "password": PASSWORD})
    assert answer.status_code == 303, answer.text


def measure(client: TestClient, path: str, runs: int, *, cold: bool) -> tuple[float, float, int]:
    """p50 and p95 in ms and the size of a page; ``cold`` empties the page cache before each request (as
    after every state change: a window opened or closed, a suppression), else only the first one is cold."""
    times = []
    size = 0
    client.get(path)  # warm the templates and SQLite's page cache
    for _ in range(runs):
        if cold:
            client.app.state.page_cache = VersionedCache()  # type: ignore[attr-defined]
        start = time.perf_counter()
        answer = client.get(path)
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
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dataward-serve-bench-") as tmp:
        path = Path(tmp) / "state.db"
        start = time.perf_counter()
        build(path, args.stores, args.findings)
        print(f"state database: {args.stores} stores, {args.findings:,} findings "
              f"({path.stat().st_size / 1e6:.1f} MB) built in {time.perf_counter() - start:.1f} s")
        state = StateDB(str(path))
        with TestClient(create_app(state), follow_redirects=False) as client:
            login(client)
            pages = ["/", "/findings", "/findings?page=500", "/findings?severity=critical&store=store-001",
                     "/stores", "/stores/store-001", "/incidents"]
            print(f"{'page':46} {'cold p50':>9} {'cold p95':>9} {'warm p50':>9} {'warm p95':>9} {'KB':>7}")
            for page in pages:
                c50, c95, size = measure(client, page, args.runs, cold=True)
                w50, w95, _ = measure(client, page, args.runs, cold=False)
                print(f"{page:46} {c50:9.1f} {c95:9.1f} {w50:9.1f} {w95:9.1f} {size / 1024:7.1f}")
            print("ms of server time per request; cold: after a state change (page cache empty), warm: a reload "
                  "between two probes (the overview and findings are cached per state version)")
        state.close()
    load = os.getloadavg()
    print(f"load average during the run: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs "
          "(figures under load are upper bounds)")


if __name__ == "__main__":
    main()
