"""incident respond against the reference API (uvicorn on a free port) and a real Mosquitto broker.

Revoked tokens get 401 and the others keep working; each affected device's topic gets its command once;
a dry run changes nothing; a response crashed at random points many times and re-run never repeats a
side effect and misses nobody.
"""

from __future__ import annotations

import json
import random
import shutil
import threading
from collections import Counter, defaultdict
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest
import uvicorn
from incident_helpers import cloud_tables, exposed_copy, write_store

from dataward.devicecloud.api import create_app, set_password
from dataward.incident import ops
from dataward.incident.audit import AuditLog, verify_log
from dataward.incident.db import connect
from dataward.incident.respond import load_playbook, run_playbook
from dataward.incident.store import open_incident_db
from dataward.localservers.ports import free_port
from dataward.testing.waiting import connect_and_wait, subscribe_and_wait, wait_until

USERS = 600
COPY = {
    "users": ["id", "email", "country"],
    "devices": ["id", "user_id", "nickname", "wifi_ssid"],
    "api_tokens": ["id", "user_id", "access_token"],
    "integrations": ["id", "user_id", "provider", "access_token"],
}


class Crash(Exception):
    pass


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("respond")
    prod = cloud_tables(USERS, 11)
    write_store(f"sqlite:///{root}/prod.db", prod)
    half = exposed_copy(
        prod,
        COPY,
        lambda name, t: __import__("pyarrow").compute.less_equal(
            t["id" if name == "users" else "user_id"], USERS // 2
        ),
    )
    copy = write_store(f"duckdb:///{root}/copy.duckdb", half)
    return {"root": root, "copy": copy, "prod": prod}


class Devices:
    """Simulated cameras: every command on devices/<id>/cmd is recorded and acknowledged (QoS 1)."""

    def __init__(self, broker, prefix: str) -> None:
        self.prefix = prefix
        self.received: dict[str, list[str]] = defaultdict(list)
        self.flushed: set[str] = set()
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"sim-{prefix}")
        self.client.on_message = self._on_message
        connect_and_wait(self.client, broker.host, broker.port)
        subscribe_and_wait(self.client, f"{prefix}/devices/+/cmd", qos=1)

    def flush(self) -> None:
        """Return once every command the broker had before this call has reached the devices: a marker
        published now is delivered after them (the broker keeps its queue to a subscriber in order)."""
        marker = f"flush-{random.randrange(10**9)}"
        self.client.publish(f"{self.prefix}/devices/flush/cmd", json.dumps({"command_id": marker}), qos=1)
        wait_until(lambda: marker in self.flushed, 10, "the flush marker")

    def _on_message(self, client, userdata, message) -> None:
        data = json.loads(message.payload)
        if message.topic.split("/")[-2] == "flush":
            self.flushed.add(data["command_id"])
            return
        with self.lock:
            self.received[message.topic].append(data["command_id"])
        device = message.topic.split("/")[-2]
        client.publish(
            f"{self.prefix}/devices/{device}/ack", json.dumps({"command_id": data["command_id"]}), qos=1
        )

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def world(template, tmp_path, mosquitto_anon):
    shutil.copy(template["root"] / "prod.db", tmp_path / "prod.db")
    prod_url = f"sqlite:///{tmp_path}/prod.db"
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(prod_url, {"responder": "s3cret"}), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, 20, "the device-cloud API to start")
    prefix = f"t{random.randrange(10**9)}"
    devices = Devices(mosquitto_anon, prefix)
    db_path = str(tmp_path / "inc.db")
    with open_incident_db(db_path) as db:
        ops.open_incident(db, "leak", template["copy"], "2019-12-04", "2019-12-26")
        result = ops.run_blast_radius(db, "leak", prod_url)
    affected = set(result.affected["user_id"].to_pylist())
    playbook = tmp_path / "playbook.toml"
    playbook.write_text(f"""
[response]
scope = "affected"
database = "{prod_url}"
batch = 40

[[step]]
action = "revoke_tokens"
via = "endpoint"
endpoint = "http://127.0.0.1:{port}/oauth/revoke"
client_id = "responder"
client_secret = "s3cret"

[[step]]
action = "unlink_integrations"
providers = ["alexa", "google_assistant", "ifttt"]

[[step]]
action = "force_logout"

[[step]]
action = "password_reset"

[[step]]
action = "device_command"
broker = "{mosquitto_anon.url()}"
topic = "{prefix}/devices/{{device_id}}/cmd"
ack_topic = "{prefix}/devices/+/ack"
command = "reboot"
ack_timeout = "10s"
reconcile_wait = "1s"
""")
    yield {
        "prod": prod_url,
        "api": f"http://127.0.0.1:{port}",
        "devices": devices,
        "db": db_path,
        "affected": affected,
        "playbook": playbook,
        "tmp": tmp_path,
    }
    devices.close()
    server.should_exit = True
    thread.join(10)


def _login(api: str, prod_url: str, user_id: int) -> str:
    db = connect(prod_url)
    set_password(db, user_id, f"pw{user_id}")
    email = db.query("SELECT email FROM users WHERE id = ?", (user_id,))[0][0]
    db.close()
    r = httpx.post(f"{api}/v1/login", json={"email": email, "password": f"pw{user_id}"})
    assert r.status_code == 200
    return r.json()["access_token"]


def _me(api: str, token: str) -> int:
    return httpx.get(f"{api}/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


def _devices_of(prod_url: str, users: set[int]) -> set[int]:
    db = connect(prod_url)
    rows = db.query("SELECT id, user_id FROM devices")
    db.close()
    return {int(d) for d, u in rows if int(u) in users}


def test_respond_revokes_unlinks_and_commands_devices(world):
    api, prod = world["api"], world["prod"]
    affected = world["affected"]
    assert affected and max(affected) <= USERS // 2
    hit, spared = min(affected), USERS - 1
    hit_token, spared_token = _login(api, prod, hit), _login(api, prod, spared)
    assert _me(api, hit_token) == 200 and _me(api, spared_token) == 200
    db = connect(prod)
    before = {int(t): (int(u), r) for t, u, r in db.query("SELECT id, user_id, revoked_at FROM api_tokens")}
    db.close()
    audit = AuditLog(world["tmp"] / "audit.jsonl")
    with open_incident_db(world["db"]) as db:
        reports = run_playbook(db, "leak", load_playbook(world["playbook"]), audit=audit)
    assert _me(api, hit_token) == 401
    assert _me(api, spared_token) == 200
    db = connect(prod)
    after = {int(t): (int(u), r) for t, u, r in db.query("SELECT id, user_id, revoked_at FROM api_tokens")}
    assert all(r is not None for u, r in after.values() if u in affected)
    assert all(after[t] == v for t, v in before.items() if v[0] not in affected), "others' tokens untouched"
    assert all(before[t][1] == after[t][1] for t in before if before[t][1] is not None), (
        "no token revoked twice"
    )
    linked = db.query("SELECT user_id FROM integrations WHERE unlinked_at IS NULL")
    assert not {int(u) for (u,) in linked} & affected
    relink = db.query(
        "SELECT user_id, relink_providers FROM dataward_account_flags WHERE relink_providers <> ''"
    )
    assert relink and all(int(u) in affected for u, _ in relink)
    db.close()
    expected = _devices_of(prod, affected)
    received = world["devices"].received
    wait_until(lambda: len(received) >= len(expected), 10, "every device's command")
    topics = {int(t.split("/")[-2]) for t in received}
    assert topics == expected
    assert all(len(v) == 1 for v in received.values())
    final = {r.action: r.outcome.counts for r in reports}
    assert final["device_command"]["acked"] == len(expected) and final["device_command"]["unacked"] == 0
    assert verify_log(world["tmp"] / "audit.jsonl", AuditLog(world["tmp"] / "audit.jsonl").public_key).ok
    # a second run does nothing again
    with open_incident_db(world["db"]) as db:
        again = run_playbook(db, "leak", load_playbook(world["playbook"]), audit=audit)
    assert all(r.done_now == 0 for r in again)
    world["devices"].flush()
    assert all(len(v) == 1 for v in received.values())


def test_dry_run_changes_nothing(world):
    prod = world["prod"]
    db = connect(prod)
    before = db.query("SELECT COUNT(*) FROM api_tokens WHERE revoked_at IS NULL")[0][0]
    with open_incident_db(world["db"]) as inc:
        reports = run_playbook(inc, "leak", load_playbook(world["playbook"]), dry_run=True)
    counts = {r.action: r.outcome.counts for r in reports}
    affected = world["affected"]
    clause = ",".join(str(u) for u in affected)
    expected_tokens = db.query(
        f"SELECT COUNT(*) FROM api_tokens WHERE revoked_at IS NULL AND user_id IN ({clause})"
    )[0][0]
    assert counts["revoke_tokens"]["tokens"] == expected_tokens
    assert counts["device_command"]["devices"] == len(_devices_of(prod, affected))
    assert counts["force_logout"]["users"] == len(affected)
    assert db.query("SELECT COUNT(*) FROM api_tokens WHERE revoked_at IS NULL")[0][0] == before
    assert not db.table_exists("dataward_account_flags") or not db.query(
        "SELECT * FROM dataward_account_flags"
    )
    samples = [s for r in reports for s in r.outcome.samples]
    assert samples and all(s.startswith("h:") for s in samples)
    world["devices"].flush()
    assert not world["devices"].received
    db.close()


@pytest.mark.parametrize("seed", [20191226, 4])
def test_crashes_at_random_points_never_repeat_a_side_effect(world, seed):
    prod = world["prod"]
    rng = random.Random(seed)
    crashes = 0

    def fault(point: str) -> None:
        nonlocal crashes
        if rng.random() < (0.01 if point.endswith("mid_publish") else 0.15):
            crashes += 1
            raise Crash(point)

    revoked_first: dict[int, str] = {}
    for _attempt in range(300):
        try:
            with open_incident_db(world["db"]) as db:
                run_playbook(
                    db,
                    "leak",
                    load_playbook(world["playbook"]),
                    fault=fault,
                    audit=AuditLog(world["tmp"] / "a.jsonl"),
                )
            break
        except Crash:
            db2 = connect(prod)
            for tid, at in db2.query("SELECT id, revoked_at FROM api_tokens WHERE revoked_at IS NOT NULL"):
                assert revoked_first.setdefault(int(tid), str(at)) == str(at), "a token was revoked twice"
            db2.close()
    else:
        pytest.fail("the response never completed")
    assert crashes >= 5
    expected = _devices_of(prod, world["affected"])
    received = world["devices"].received
    wait_until(lambda: len(received) >= len(expected), 10, "every device's command")
    assert {int(t.split("/")[-2]) for t in received} == expected
    counts = Counter(len(v) for v in received.values())
    assert set(counts) == {1}, f"devices got a command more than once: {counts}"
    db = connect(prod)
    clause = ",".join(str(u) for u in world["affected"])
    assert (
        db.query(f"SELECT COUNT(*) FROM api_tokens WHERE revoked_at IS NULL AND user_id IN ({clause})")[0][0]
        == 0
    )
    db.close()
    assert verify_log(world["tmp"] / "a.jsonl", AuditLog(world["tmp"] / "a.jsonl").public_key).ok


@pytest.mark.parametrize("overlap", ["revoke_tokens", "device_command"])
def test_two_runs_at_once_apply_each_batch_once(world, overlap):
    """Two runs of one playbook at the same time on one incident database (`incident respond` in a shell while
    the control plane's job runs, or two control planes on one state database): each batch is claimed before
    its side effects, so a run that read the ledger before the other applied a batch never applies it again."""
    others: list[list] = []

    def fault(point: str) -> None:
        if point == f"{overlap}:before_batch" and not others:  # this run has read the ledger; another runs now
            with open_incident_db(world["db"]) as other:
                others.append(run_playbook(other, "leak", load_playbook(world["playbook"]), audit=audit))

    audit = AuditLog(world["tmp"] / "audit.jsonl")
    with open_incident_db(world["db"]) as db:
        reports = run_playbook(db, "leak", load_playbook(world["playbook"]), fault=fault, audit=audit)
    (other,) = others
    batches = Counter(
        (e["step"], e["batch"]) for e in map(json.loads, (world["tmp"] / "audit.jsonl").read_text().splitlines())
        if e.get("action", "").startswith("respond.") and "batch" in e
    )
    assert batches and set(batches.values()) == {1}, "each batch applied once"
    first, second = (next(r for r in run if r.action == overlap) for run in (reports, other))
    # batches: the run that came second read the ledger first but claims none; a whole step (device_command):
    # the first run claimed it before the second started, and the second leaves it to the first
    winner, loser = (second, first) if overlap == "revoke_tokens" else (first, second)
    assert winner.done_now == winner.batches and winner.other_run == 0, "one run did every batch"
    assert loser.done_now == 0 and loser.other_run == loser.batches, "the other reports them as another run's"
    assert "tokens" not in loser.outcome.counts and "devices" not in loser.outcome.counts, "no count doubled"
    _assert_each_affected_device_commanded_once(world)


def _assert_each_affected_device_commanded_once(world) -> None:
    expected = _devices_of(world["prod"], world["affected"])
    received = world["devices"].received
    wait_until(lambda: len(received) >= len(expected), 10, "every device's command")
    world["devices"].flush()
    assert {int(t.split("/")[-2]) for t in received} == expected
    assert all(len(v) == 1 for v in received.values()), "no device command sent twice"


def test_a_claim_of_a_killed_run_is_taken_over_and_a_live_ones_left(world):
    """A run killed outright (no error handler ran) leaves its batch `claimed`: the next run takes it over once
    that process is gone from this host; a claim of a process still running stays its own."""
    import os
    import socket
    import subprocess
    import sys

    book = load_playbook(world["playbook"])
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # its pid now names no process
    with open_incident_db(world["db"]) as db:
        steps = [r.key for r in run_playbook(db, "leak", book, dry_run=True)]
        assert db.claim_unit("leak", steps[0], "b000000", f"{socket.gethostname()}:{child.pid}:x", None)
        assert db.claim_unit("leak", steps[1], "b000000", f"{socket.gethostname()}:{os.getpid()}:live", None)
        reports = run_playbook(db, "leak", book)
    assert reports[0].done_now == reports[0].batches and reports[0].other_run == 0
    assert reports[1].done_now == reports[1].batches - 1 and reports[1].other_run == 1


def test_unknown_action_is_a_config_error(tmp_path: Path):
    book = tmp_path / "p.toml"
    book.write_text('[[step]]\naction = "revoke_token"\n')
    from dataward.errors import ConfigError

    with pytest.raises(ConfigError, match="Did you mean 'revoke_tokens'"):
        load_playbook(book)


class UnreliableDevices(Devices):
    """Devices that acknowledge slowly in one client; ``flaky`` ones ignore the first command, ``dead`` ones
    never answer."""

    def __init__(self, broker, prefix: str, flaky: set[int], dead: set[int]) -> None:
        self.flaky, self.dead = flaky, dead
        super().__init__(broker, prefix)

    def _on_message(self, client, userdata, message) -> None:
        device = int(message.topic.split("/")[-2])
        data = json.loads(message.payload)
        with self.lock:
            self.received[message.topic].append(data["command_id"])
            first = len(self.received[message.topic]) == 1
        if device in self.dead or (device in self.flaky and first):
            return
        client.publish(f"{self.prefix}/devices/{device}/ack", json.dumps({"command_id": data["command_id"]}), qos=1)


def test_device_commands_are_paced_resent_and_silent_devices_reported(template, tmp_path, mosquitto_factory):
    """Issue 13 item 6: with a broker whose queues hold only 20 messages per client, publishing every
    command at once drops some (Mosquitto: 'Outgoing messages are being dropped'); paced by a window, none
    is dropped, devices that ignored the first command get it again, and those that never answer are named."""
    broker = mosquitto_factory(allow_anonymous=True, settings={"max_queued_messages": 20})
    shutil.copy(template["root"] / "prod.db", tmp_path / "prod.db")
    prod_url = f"sqlite:///{tmp_path}/prod.db"
    with open_incident_db(str(tmp_path / "inc.db")) as db:
        ops.open_incident(db, "leak", template["copy"], "2019-12-04", "2019-12-26")
        affected = set(ops.run_blast_radius(db, "leak", prod_url).affected["user_id"].to_pylist())
    expected = sorted(_devices_of(prod_url, affected))
    assert len(expected) > 200
    flaky, dead = set(expected[10:13]), set(expected[50:52])
    prefix = f"u{random.randrange(10**9)}"
    devices = UnreliableDevices(broker, prefix, flaky, dead)
    playbook = tmp_path / "playbook.toml"
    playbook.write_text(f"""
[response]
scope = "affected"
database = "{prod_url}"
batch = 100000

[[step]]
action = "device_command"
broker = "{broker.url()}"
topic = "{prefix}/devices/{{device_id}}/cmd"
ack_topic = "{prefix}/devices/+/ack"
window = 20
window_wait = "10s"
ack_timeout = "1s"
resends = 2
""")
    log_before = broker.log_path.read_text()
    try:
        with open_incident_db(str(tmp_path / "inc.db")) as db:
            (report,) = run_playbook(db, "leak", load_playbook(playbook))
    finally:
        devices.close()
    assert "are being dropped" not in broker.log_path.read_text()[len(log_before):]
    counts = report.outcome.counts
    assert counts["acked"] == len(expected) - len(dead) and counts["unacked"] == len(dead)
    assert report.outcome.unconfirmed == [str(d) for d in sorted(dead)]
    assert report.to_json()["unconfirmed"] == [str(d) for d in sorted(dead)]
    received = {int(t.split("/")[-2]): v for t, v in devices.received.items()}
    assert set(received) == set(expected)
    assert all(len(received[d]) == 2 for d in flaky)  # re-sent once, with the same command id
    assert all(len(set(received[d])) == 1 for d in received)
    assert all(len(received[d]) == 3 for d in dead)  # first send and two re-sends
    assert all(len(v) == 1 for d, v in received.items() if d not in flaky | dead)
    # the CLI: a re-run re-sends only to the silent devices (still 'published' in the ledger), names them,
    # and exits 1, since a command that may not have reached a device is not a success (like notify)
    from click.testing import CliRunner

    from dataward.cli import cli

    result = CliRunner().invoke(cli, ["incident", "respond", "leak", "--playbook", str(playbook),
                                       "--db", str(tmp_path / "inc.db"), "--audit-log", str(tmp_path / "audit.jsonl"),
                                       "--signing-key", str(tmp_path / "audit.pem")])
    assert result.exit_code == 1, result.output
    assert f"{len(dead)} never acknowledged" in result.output


@pytest.mark.parametrize("setting", ['window = 0', 'window = "x"', 'resends = -1', 'window_wait = "soon"'])
def test_device_command_settings_are_checked_when_the_playbook_loads(tmp_path: Path, setting: str):
    from dataward.errors import ConfigError

    book = tmp_path / "p.toml"
    book.write_text(f'[[step]]\naction = "device_command"\nbroker = "mqtt://127.0.0.1:1"\ntopic = "d/{{device_id}}"\n{setting}\n')
    with pytest.raises(ConfigError):
        load_playbook(book)

def test_two_threads_at_once_apply_each_batch_once(world):
    """Two runs truly at once (two threads, each with its own connections, started together): the batches are
    shared out by their claims, and device_command, one MQTT session per step, is done whole by one of them (the
    other's client took the session over and the first's publish failed: 'The client is not currently connected')."""
    start = threading.Barrier(2)
    results: dict[int, object] = {}

    def run(i: int) -> None:
        start.wait()
        try:
            with open_incident_db(world["db"]) as db:
                results[i] = run_playbook(db, "leak", load_playbook(world["playbook"]),
                                          audit=AuditLog(world["tmp"] / "audit.jsonl"))
        except Exception as exc:  # reported below with the other run's result
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(isinstance(r, list) for r in results.values()), results
    batches = Counter(
        (e["step"], e["batch"]) for e in map(json.loads, (world["tmp"] / "audit.jsonl").read_text().splitlines())
        if e.get("action", "").startswith("respond.") and "batch" in e
    )
    assert batches and set(batches.values()) == {1}, "each batch applied once"
    _assert_each_affected_device_commanded_once(world)
