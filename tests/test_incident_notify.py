"""incident notify against a local aiosmtpd: one notice per affected customer, exactly once across crashes.

Each notice lists exactly that customer's exposed fields (body metrics only for the beta cohort), carries a
verification code the lookup site confirms, contains no link and no raw exposed value.
"""

from __future__ import annotations

import email
import email.policy
import random
import shutil
import threading
from collections import Counter
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from incident_helpers import cloud_tables, exposed_copy, users_up_to, write_store

from dataward.cli import cli
from dataward.errors import DatawardError
from dataward.incident import ops
from dataward.incident.audit import AuditLog, verify_log
from dataward.incident.codes import verification_code
from dataward.incident.lookup import check_site, label
from dataward.incident.notify import send_notices
from dataward.incident.respond import load_playbook, run_playbook
from dataward.incident.store import open_incident_db
from dataward.localservers.ports import free_port

COPY = {
    "users": ["id", "email", "username"],
    "devices": ["id", "user_id", "nickname", "wifi_ssid"],
    "integrations": ["id", "user_id", "provider", "access_token"],
    "body_metrics": ["id", "user_id", "weight_kg", "height_cm"],
}


class Crash(Exception):
    pass


class Inbox:
    """aiosmtpd handler: every accepted message, by Message-ID and recipient."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(msg)
        return "250 OK"

    def ids(self) -> set[str]:
        with self.lock:
            return {str(m["Message-ID"]) for m in self.messages}

    def by_recipient(self) -> Counter:
        with self.lock:
            return Counter(str(m["To"]) for m in self.messages)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("notify")
    prod = cloud_tables()
    source = write_store(f"duckdb:///{root}/prod.duckdb", prod)
    copy_tables = exposed_copy(prod, COPY, users_up_to(700))
    copy_tables["body_metrics"] = prod["body_metrics"].select(COPY["body_metrics"])  # the whole beta cohort
    copy = write_store(f"duckdb:///{root}/copy.duckdb", copy_tables)
    return {"root": root, "source": source, "copy": copy, "prod": prod}


@pytest.fixture
def incident(cloud, tmp_path):
    db_path = str(tmp_path / "inc.db")
    with open_incident_db(db_path) as db:
        ops.open_incident(db, "leak", cloud["copy"], "2019-12-04", "2019-12-26")
        result = ops.run_blast_radius(db, "leak", cloud["source"])
    users = {r["id"]: r for r in cloud["prod"]["users"].to_pylist()}
    return {
        "db": db_path,
        "affected": {r["user_id"]: r for r in result.affected.to_pylist()},
        "fields": result.fields,
        "users": users,
    }


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, f"smtp://127.0.0.1:{controller.port}"
    controller.stop()


def _text(msg) -> str:
    return msg.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def _html(msg) -> str:
    return msg.get_body(preferencelist=("html",)).get_content()


def test_each_customer_gets_exactly_their_fields(cloud, incident, smtp, tmp_path):
    """Over several SMTP connections at once (the one-connection path is what the tests below use)."""
    inbox, url = smtp
    with open_incident_db(incident["db"]) as db:
        report = send_notices(
            db,
            "leak",
            url,
            sender="security@cams.example",
            company="Cams",
            audit=AuditLog(tmp_path / "audit.jsonl"),
            connections=4,
        )
        secret = db.get("leak").secret
    affected, users = incident["affected"], incident["users"]
    assert report.sent == len(affected) and report.uncertain == 0
    assert inbox.by_recipient() == Counter({users[u]["email"]: 1 for u in affected})
    by_email = {users[u]["email"]: u for u in affected}
    devices = cloud["prod"]["devices"].to_pylist()
    raw = {
        u: [d["wifi_ssid"] for d in devices if d["user_id"] == u]
        + [d["nickname"] for d in devices if d["user_id"] == u]
        for u in affected
    }
    cohort = {u for u, r in affected.items() if r["health_metric"]}
    assert cohort, "the beta cohort is among the affected"
    for msg in inbox.messages:
        uid = by_email[str(msg["To"])]
        text, html = _text(msg), _html(msg)
        mine = {f for f in incident["fields"] if affected[uid][f]}
        for field in incident["fields"]:
            assert (f"  - {label(field)}\n" in text) == (field in mine), (uid, field)
        assert ("Body measurements" in text) == (uid in cohort)
        assert ("Body measurements" in html) == (uid in cohort)
        assert "http://" not in text + html and "https://" not in text + html and "href" not in html
        assert verification_code(secret, uid) in text
        assert "WHAT HAPPENED" in text and "What Information Was Involved" in html
        for value in raw[uid]:
            if value and len(value) > 3:
                assert value not in text and value not in html
    assert verify_log(tmp_path / "audit.jsonl", AuditLog(tmp_path / "audit.jsonl").public_key).ok
    # the code in a notice is confirmed by the lookup site, and only for its own address
    with open_incident_db(incident["db"]) as db:
        ops.build_lookup(db, "leak", str(tmp_path / "site"), prefix_hex=2)
    uid = next(iter(affected))
    assert (
        check_site(tmp_path / "site", users[uid]["email"], verification_code(secret, uid))["code_valid"]
        is True
    )


@pytest.mark.parametrize(("seed", "connections"), [(1, 1), (2, 1), (3, 3)])
def test_crashes_never_double_send_or_miss(incident, smtp, seed, connections):
    """One connection: a crash at any point of a message; several: at any point of a batch."""
    inbox, url = smtp
    rng = random.Random(seed)
    crashes = 0
    chance = 0.02 if connections == 1 else 0.15  # fewer crash points with batches

    def fault(point: str) -> None:
        nonlocal crashes
        if rng.random() < chance:
            crashes += 1
            raise Crash(point)

    for _attempt in range(1000):
        try:
            with open_incident_db(incident["db"]) as db:
                report = send_notices(db, "leak", url, reconcile=lambda mid: mid in inbox.ids(), fault=fault,
                                      connections=connections)  # fmt: skip
            break
        except Crash:
            continue
    else:
        pytest.fail("notify never completed")
    assert crashes >= (10 if connections == 1 else 3)
    users, affected = incident["users"], incident["affected"]
    counts = inbox.by_recipient()
    assert set(counts) == {users[u]["email"] for u in affected}, "nobody missed"
    assert set(counts.values()) == {1}, "nobody got two mails"
    assert report.uncertain == 0


@pytest.mark.parametrize("connections", [1, 3])
def test_two_runs_at_once_send_each_notice_once(incident, smtp, connections):
    """Two runs of one incident at the same time (`incident notify` in a shell while the control plane's job
    runs, or two control planes on one state database): the write-ahead claims each notice, so a run that read
    the ledger before the other sent never sends it again."""
    inbox, url = smtp
    others: list[object] = []

    def fault(point: str) -> None:
        if point == "notify:before_write_ahead" and not others:  # this run has read the ledger; another runs now
            with open_incident_db(incident["db"]) as other:
                others.append(send_notices(other, "leak", url))

    with open_incident_db(incident["db"]) as db:
        report = send_notices(db, "leak", url, fault=fault, connections=connections)
    users, affected = incident["users"], incident["affected"]
    counts = inbox.by_recipient()
    assert set(counts) == {users[u]["email"] for u in affected}, "nobody missed"
    assert set(counts.values()) == {1}, "nobody got two mails"
    assert report.sent == 0 and others  # the other run sent every one


def test_without_reconciliation_uncertain_sends_wait(incident, smtp, tmp_path):
    inbox, url = smtp
    state = {"n": 0}

    def crash_after_third_send(point: str) -> None:
        if point == "notify:after_send":
            state["n"] += 1
            if state["n"] == 3:
                raise Crash(point)

    with open_incident_db(incident["db"]) as db, pytest.raises(Crash):
        send_notices(db, "leak", url, fault=crash_after_third_send)
    assert len(inbox.messages) == 3
    runner = CliRunner()
    r = runner.invoke(
        cli,
        [
            "incident",
            "notify",
            "leak",
            "--smtp",
            url,
            "--db",
            incident["db"],
            "--audit-log",
            str(tmp_path / "a.jsonl"),
            "--format",
            "json",
        ],
    )
    assert r.exit_code == 1, r.output  # a customer who may not have been told is not a success
    assert '"uncertain": 1' in r.output
    assert "--reconcile-log" in r.output  # and the run says how to resolve it
    log = tmp_path / "mta.log"
    log.write_text("".join(f"status=sent message-id={m['Message-ID']}\n" for m in inbox.messages))
    r = runner.invoke(
        cli,
        [
            "incident",
            "notify",
            "leak",
            "--smtp",
            url,
            "--db",
            incident["db"],
            "--audit-log",
            str(tmp_path / "a.jsonl"),
            "--reconcile-log",
            str(log),
            "--rate",
            "500/s",
            "--connections",
            "3",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "reconciled 1" in r.output
    assert set(inbox.by_recipient().values()) == {1}
    assert len(inbox.messages) == len(incident["affected"])


def test_templates_with_links_are_refused(incident, smtp, tmp_path, monkeypatch):
    _, url = smtp
    from dataward.incident.notify import default_template_dir

    folder = tmp_path / "tpl"
    folder.mkdir()
    for f in default_template_dir().iterdir():
        (folder / f.name).write_text(f.read_text())
    (folder / "body.html.j2").write_text('<p><a href="https://cams.example/login">Sign in</a></p>')
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    r = CliRunner().invoke(
        cli, ["incident", "notify", "leak", "--smtp", url, "--template", str(folder), "--db", incident["db"]]
    )
    assert r.exit_code == 2 and "contains a link" in r.output
    assert list(cwd.iterdir()) == []  # a refused job leaves no audit log or signing key behind


def test_bad_rate_is_a_usage_error(incident, smtp):
    _, url = smtp
    r = CliRunner().invoke(
        cli, ["incident", "notify", "leak", "--smtp", url, "--rate", "fast", "--db", incident["db"]]
    )
    assert r.exit_code == 2 and "--rate" in r.output
    r = CliRunner().invoke(
        cli, ["incident", "notify", "leak", "--smtp", url, "--connections", "0", "--db", incident["db"]]
    )
    assert r.exit_code == 2 and "--connections" in r.output


def test_pacer_warms_up():
    from dataward.incident.notify import Pacer

    pacer = Pacer(100.0, warmup_s=10.0)
    assert pacer.current_rate() == pytest.approx(10.0, rel=0.05)
    assert Pacer(None).current_rate() is None
    assert Pacer(50.0).current_rate() == 50.0


def test_a_failed_connect_is_not_sent_and_is_retried(incident, smtp):
    """A failure before the server accepted DATA is certainly not sent: the next run sends it, exit 0 (the
    failing run with several connections, the next with one)."""
    inbox, url = smtp
    closed = f"smtp://127.0.0.1:{free_port()}"
    with open_incident_db(incident["db"]) as db:
        with pytest.raises(DatawardError, match="cannot connect"):
            send_notices(db, "leak", closed, connections=3)
        assert not [s for s, _ in db.send_states("leak").values() if s in ("sending", "uncertain")]
        report = send_notices(db, "leak", url)
    assert report.uncertain == 0 and report.sent == len(incident["affected"])
    assert set(inbox.by_recipient().values()) == {1}


def test_a_notice_states_only_what_was_done_to_that_account(cloud, incident, smtp, tmp_path):
    """Only customers whose integrations were unlinked read that their integrations were disconnected."""
    inbox, url = smtp
    prod = tmp_path / "prod.duckdb"
    shutil.copy(Path(cloud["source"].removeprefix("duckdb://")), prod)
    playbook = tmp_path / "playbook.toml"
    playbook.write_text(f'[response]\ndatabase = "duckdb://{prod}"\n\n[[step]]\naction = "unlink_integrations"\n')
    with open_incident_db(incident["db"]) as db:
        run_playbook(db, "leak", load_playbook(playbook))
        send_notices(db, "leak", url, source=f"duckdb://{prod}")
    linked = {r["user_id"] for r in cloud["prod"]["integrations"].to_pylist()
              if r["user_id"] in incident["affected"] and r["unlinked_at"] is None}
    by_email = {incident["users"][u]["email"]: u for u in incident["affected"]}
    told = {by_email[str(m["To"])] for m in inbox.messages if "disconnected" in _text(m)}
    assert linked and told == linked
    assert len(inbox.messages) == len(incident["affected"]) > len(told)
