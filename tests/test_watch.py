"""The watcher against real servers: protection flipped off and on at runtime, restart, a store killed.

One watcher (1 s interval) watches a protected Redis, PostgreSQL, MariaDB and Mosquitto. Each is opened at
runtime (CONFIG SET requirepass "", pg_hba trust + reload, root loses its password, allow_anonymous + SIGHUP):
exactly one 'exposed' alert per store reaches the webhook and the SMTP server; the watcher restarts in the
middle without repeating it; closing each gives one 'fixed'; killing Redis gives one 'unreachable'; the
history has every window with both timestamps; nothing the stores hold (canaries) appears anywhere.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from dataward.cli import cli
from dataward.findings import Severity
from dataward.targets import parse_target
from dataward.testing.fixtures import ServerFactory
from dataward.testing.receivers import SmtpReceiver, WebhookReceiver
from dataward.testing.servers import MariaDBServer, MosquittoServer, PostgresServer, RedisServer
from dataward.testing.waiting import wait_until
from dataward.watch import AlertTarget, WatchConfig, Watcher
from dataward.watch.state import open_state

CANARY_EMAIL = "canary.watch.7f3a9@example.org"
CANARY_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnk3ZjNhOSJ9.Q2FuYXJ5U2lnbmF0dXJlN2YzYTk"
CANARIES = (CANARY_EMAIL, CANARY_TOKEN, "7f3a9")


@dataclass
class Flip:
    store: str
    url: str
    off: Callable[[], None]
    on: Callable[[], None]


class Running:
    """A Watcher in a background thread, restartable on the same state."""

    def __init__(self, flips: list[Flip], config: WatchConfig) -> None:
        self.targets = [parse_target(f.url, name=f.store) for f in flips]
        self.names = [f.store for f in flips]
        self.config = config
        self.lines: list[str] = []
        self.watcher: Watcher | None = None
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.watcher = Watcher(self.targets, None, self.config, log=self.lines.append)
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.watcher.run, args=(self.stop_event,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        assert self.thread is not None and self.watcher is not None
        self.thread.join(timeout=60)
        assert not self.thread.is_alive(), "the watcher did not stop"
        self.watcher.close()

    def probes(self, store: str) -> int:
        """How many probes of the store the state shows (its events of last_probe changes)."""
        assert self.watcher is not None
        state = self.watcher.states.get(store)
        return 0 if state is None or state.last_probe is None else 1

    def wait_rounds(self, n: int) -> None:
        """Return once every store has been probed and recorded at least n more times.

        Each applied probe replaces the store's state object (after saving its row), so a round is seen as
        every store's object being a new one."""
        watcher = self.watcher
        assert watcher is not None
        for round_no in range(n):
            before = {name: watcher.states.get(name) for name in self.names}
            wait_until(lambda: all(watcher.states.get(k) is not v for k, v in before.items()), 60,  # noqa: B023
                       f"probe round {round_no + 1} of {n}")


def _plant_canaries(rd: RedisServer, pg: PostgresServer, my: MariaDBServer) -> None:
    with rd.admin_client() as client:
        for i in range(30):
            client.set(f"user:{i}", f"user{i}.{CANARY_EMAIL}" if i else CANARY_EMAIL)
            client.set(f"session:{i}", CANARY_TOKEN)
    rows = [{"email": f"p{i}.{CANARY_EMAIL}", "api_token": CANARY_TOKEN} for i in range(30)]
    pg.create_table("app", "customers", rows)
    my.create_table("app", "customers", rows)


@pytest.fixture
def flips(
    redis_factory: ServerFactory[RedisServer],
    postgres_factory: ServerFactory[PostgresServer],
    mariadb_factory: ServerFactory[MariaDBServer],
    mosquitto_factory: ServerFactory[MosquittoServer],
) -> Iterator[tuple[list[Flip], RedisServer]]:
    rd = redis_factory.new(requirepass="cache-pw")
    pg = postgres_factory.new(auth="scram")
    my = mariadb_factory.new(root_password="root-pw")
    mq = mosquitto_factory.new(allow_anonymous=False, passwords={"device": "device-pw"})
    _plant_canaries(rd, pg, my)
    yield [
        Flip("cache", rd.url(), lambda: rd.config_set("requirepass", ""), lambda: rd.config_set("requirepass", "cache-pw")),
        Flip("analytics-pg", pg.url(user="app"), lambda: pg.set_auth("trust"), lambda: pg.set_auth("scram")),
        Flip("analytics-my", my.url(user="app"), lambda: my.set_root_password(None),
             lambda: my.set_root_password("root-pw")),
        Flip("telemetry", mq.url(user="device"), lambda: mq.reconfigure(allow_anonymous=True),
             lambda: mq.reconfigure(allow_anonymous=False)),
    ], rd
    for server in (rd, pg, my, mq):
        server.stop()


def _count(receiver: WebhookReceiver, store: str, event: str) -> int:
    return receiver.events(store).count(event)


def _mail_count(smtp: SmtpReceiver, store: str, word: str) -> int:
    return sum(1 for s in smtp.subjects() if s.startswith(f"[dataward] {store} {word}"))


@pytest.mark.slow
def test_flip_restart_fix_kill(
    flips: tuple[list[Flip], RedisServer], webhook_receiver: WebhookReceiver, smtp_receiver: SmtpReceiver,
    tmp_path: Path,
) -> None:
    stores, rd = flips
    names = [f.store for f in stores]
    state = tmp_path / "watch.db"
    config = WatchConfig(interval=1.0, classify_interval=3600, state=str(state), timeout=2.0, concurrency=4,
                         unreachable_after=2, retry_base=0.2,
                         alerts=(AlertTarget(webhook_receiver.url), AlertTarget(smtp_receiver.url)))
    run = Running(stores, config)
    run.start()
    try:
        wait_until(lambda: all(run.probes(n) for n in names), 60, "the first probes")
        run.wait_rounds(1)
        assert webhook_receiver.received == [], "a protected store alerted"

        for f in stores:
            f.off()
        assert webhook_receiver.wait_for(lambda r: all(_count(r, n, "exposed") for n in names), 60), (
            f"exposed alerts missing: {webhook_receiver.events()} / {run.lines[-20:]}")
        assert smtp_receiver.wait_for(lambda s: all(_mail_count(s, n, "exposed") for n in names), 30)

        run.stop()  # restart in the middle of the exposure
        run.start()
        run.wait_rounds(2)
        for n in names:
            assert _count(webhook_receiver, n, "exposed") == 1, webhook_receiver.events(n)
            assert _mail_count(smtp_receiver, n, "exposed") == 1, smtp_receiver.subjects()

        for f in stores:
            f.on()
        assert webhook_receiver.wait_for(lambda r: all(_count(r, n, "fixed") for n in names), 60), (
            f"fixed alerts missing: {webhook_receiver.events()} / {run.lines[-20:]}")
        assert smtp_receiver.wait_for(lambda s: all(_mail_count(s, n, "fixed") for n in names), 30)

        rd.kill()
        assert webhook_receiver.wait_for(lambda r: _count(r, "cache", "unreachable") >= 1, 60)
        run.wait_rounds(2)
    finally:
        run.stop()

    for n in names:
        assert webhook_receiver.events(n).count("exposed") == 1
        assert webhook_receiver.events(n).count("fixed") == 1
    assert webhook_receiver.events("cache").count("unreachable") == 1
    assert all(webhook_receiver.events(n).count("unreachable") == 0 for n in names[1:])

    exposed = [r for r in webhook_receiver.received if r["event"] == "exposed"]
    assert all(r["finding"]["severity"] in ("high", "critical") for r in exposed)
    held = {r["store"]: set(r["categories"]) for r in exposed}
    assert "email" in held["cache"] and "email" in held["analytics-pg"], held

    doc = _history_json(state)
    for n in names:
        mine = [w for w in doc["store_windows"] if w["store"] == n]
        assert len(mine) == 1, (n, mine)
        assert mine[0]["opened"] and mine[0]["closed"] and mine[0]["opened"] <= mine[0]["closed"]

    _assert_no_canary(state, webhook_receiver, smtp_receiver, run.lines)


def _history_json(state: Path) -> dict:
    result = CliRunner().invoke(cli, ["history", "--state", str(state), "--format", "json"])
    assert result.exit_code == 0, result.output
    table = CliRunner().invoke(cli, ["history", "--state", str(state), "--store", "cache"])
    assert table.exit_code == 0 and table.output.startswith("cache: ") and " to " in table.output, table.output
    return json.loads(result.output)


def _assert_no_canary(state: Path, hook: WebhookReceiver, smtp: SmtpReceiver, lines: list[str]) -> None:
    blobs = {
        "history db": b"".join(p.read_bytes() for p in state.parent.glob("watch.db*")),
        "webhook": json.dumps(hook.received).encode(),
        "mail": b"".join(smtp.raw),
        "log": "\n".join(lines).encode(),
    }
    for where, blob in blobs.items():
        for canary in CANARIES:
            assert canary.encode() not in blob, f"raw value {canary!r} leaked into the {where}"


# ---- smaller cases --------------------------------------------------------------------------------
def test_failed_webhook_is_retried_and_recorded(redis_open: RedisServer, webhook_receiver: WebhookReceiver,
                                                tmp_path: Path) -> None:
    webhook_receiver.fail_next = 2
    config = WatchConfig(state=str(tmp_path / "w.db"), retry_base=0.1, alerts=(AlertTarget(webhook_receiver.url),))
    watcher = Watcher([parse_target(redis_open.url(), name="open-cache")], None, config, log=lambda _l: None)
    try:
        summary = watcher.run_once(deliver_for=20)
    finally:
        watcher.close()
    assert summary.exposed == ("open-cache",) and summary.pending_alerts == 0
    assert webhook_receiver.events() == ["exposed"] and webhook_receiver.requests == 3
    db = open_state(config.state)
    (row,) = db.alerts()
    db.close()
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 3, "webhook answered HTTP 500")


def test_undeliverable_alert_is_kept_as_failed(redis_open: RedisServer, tmp_path: Path) -> None:
    config = WatchConfig(state=str(tmp_path / "w.db"), retry_base=0.05, max_attempts=2,
                         alerts=(AlertTarget("http://127.0.0.1:9/nowhere"),))
    lines: list[str] = []
    watcher = Watcher([parse_target(redis_open.url(), name="open-cache")], None, config, log=lines.append)
    try:
        watcher.run_once(deliver_for=5)
    finally:
        watcher.close()
    db = open_state(config.state)
    (row,) = db.alerts()
    db.close()
    assert row["status"] == "failed" and row["attempts"] == 2
    assert any("failed after 2 attempts" in line for line in lines)


def test_once_cli_exit_codes_history_and_postgres_state(
    redis_open: RedisServer, redis_protected: RedisServer, postgres_factory: ServerFactory[PostgresServer],
    tmp_path: Path,
) -> None:
    state_pg = postgres_factory.new(auth="scram")
    toml = tmp_path / "dataward.toml"
    toml.write_text(
        f'[[store]]\nname = "open-cache"\nurl = "{redis_open.url()}"\n'
        f'[[store]]\nname = "locked-cache"\nurl = "{redis_protected.url()}"\n'
        f'[watch]\nstate = "watch.db"\ntimeout = "2s"\n'
        f'[[alert]]\nurl = "stdout"\n'
    )
    runner = CliRunner()
    first = runner.invoke(cli, ["watch", "--config", str(toml), "--once"])
    assert first.exit_code == 1, first.output
    alerts = [json.loads(line) for line in first.stdout.splitlines() if line.startswith("{")]
    assert [(a["event"], a["store"]) for a in alerts] == [("exposed", "open-cache")]
    again = runner.invoke(cli, ["watch", "--config", str(toml), "--once"])
    assert again.exit_code == 1 and not [ln for ln in again.stdout.splitlines() if ln.startswith("{")]
    table = runner.invoke(cli, ["history", "--config", str(toml)])
    assert table.exit_code == 0 and "open-cache: " in table.output and "still open" in table.output
    assert "locked-cache" not in table.output

    from dataward.incident.ops import window_from_history  # the incident commands read the same history

    window = window_from_history(str(tmp_path / "watch.db"), "open-cache")
    assert window.opened == doc_opened(tmp_path / "watch.db") and window.closed is None

    pg_state = runner.invoke(cli, ["watch", "--config", str(toml), "--once", "--state", state_pg.admin_url])
    assert pg_state.exit_code == 1, pg_state.output
    doc = json.loads(runner.invoke(cli, ["history", "--state", state_pg.admin_url, "--format", "json"]).output)
    assert [w["store"] for w in doc["store_windows"]] == ["open-cache"]
    assert doc["windows"][0]["closed"] is None


def doc_opened(state: Path) -> str:
    from dataward.watch.history import history_json

    return str(history_json(str(state))["windows"][0]["opened"])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word (a hung server)."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join(timeout=5)
    for conn in held:
        conn.close()
    server.close()


@pytest.mark.parametrize("kind", ["dns", "silent"])
def test_dns_failure_and_hung_server_are_unreachable_not_fatal(kind: str, silent_port: int, tmp_path: Path) -> None:
    url = "redis://no-such-host.invalid:6379/0" if kind == "dns" else f"redis://127.0.0.1:{silent_port}/0"
    hook: list[dict] = []
    config = WatchConfig(state=str(tmp_path / "w.db"), timeout=1.0, unreachable_after=2,
                         alerts=(AlertTarget("stdout"),))
    for _ in range(3):
        watcher = Watcher([parse_target(url, name="gone")], None, config, log=lambda _l: None)
        try:
            summary = watcher.run_once(deliver_for=5)
        finally:
            watcher.close()
        assert summary.unreachable == ("gone",)
    db = open_state(config.state)
    hook = db.alerts()
    db.close()
    assert [a["event"] for a in hook] == ["unreachable"]
    assert hook[0]["payload"]["error"]


@pytest.mark.parametrize("args, message", [
    (["watch"], "nothing to watch"),
    (["watch", "redis://127.0.0.1:1", "--interval", "soon"], "is not a duration"),
    (["watch", "redis://127.0.0.1:1", "--threshold", "severe"], "severity 'severe'"),
    (["history", "--state", "/nonexistent/watch.db"], "there is no watch history"),
])
def test_usage_errors_are_one_line_exit_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_metrics_endpoint(redis_open: RedisServer, tmp_path: Path) -> None:
    import httpx

    from dataward.localservers.ports import free_port

    port = free_port()
    config = WatchConfig(interval=0.5, state=str(tmp_path / "w.db"), metrics_port=port)
    watcher = Watcher([parse_target(redis_open.url(), name="open-cache")], None, config, log=lambda _l: None)
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_until(lambda: "open-cache" in watcher.states, 30, "the first probe")
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    finally:
        stop.set()
        thread.join(timeout=30)
        watcher.close()
    assert 'dataward_store_exposed{store="open-cache"} 1.0' in text
    assert 'dataward_findings{severity="high",store="open-cache"}' in text
    assert "dataward_probe_duration_seconds_bucket" in text
    assert "dataward_last_successful_probe_timestamp_seconds" in text
    assert Severity.HIGH.label in text


def test_sigterm_stops_watch_before_its_duration_ends(redis_open: RedisServer, tmp_path: Path) -> None:
    """`watch --duration 10m` must stop on SIGTERM between probes, not when the duration ends (issue 13 item 9)."""
    import signal
    import subprocess
    import sys

    state = tmp_path / "state.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dataward", "watch", f"redis://127.0.0.1:{redis_open.port}/0", "--interval", "1s",
         "--duration", "10m", "--state", str(state)],
        stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()  # "watching 1 stores every …": the loop is running
        assert "watching" in line, line
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
