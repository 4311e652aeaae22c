"""dataward serve runs incident steps as background jobs (issue 14): the response playbook against a real
production database (SQLite file) and the customer notices through a real SMTP server (aiosmtpd), started
through the API; their progress in the incident document; one job per incident and step (409); the audit;
a viewer refused; exactly-once notices across a second run and across a restart of `dataward serve` in the
middle of a job; no customer value and no SMTP password in any answer or in the server's log.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from incident_helpers import cloud_tables, exposed_copy, users_up_to, write_store

from dataward.errors import DatawardError
from dataward.incident import ops
from dataward.incident.audit import write_public_key
from dataward.incident.db import connect
from dataward.incident.store import IncidentDB
from dataward.localservers.ports import free_port
from dataward.policy import load_policy
from dataward.serve import accounts
from dataward.serve.app import create_app
from dataward.serve.jobs import Job, JobRunner
from dataward.serve.jobstore import StateJobStore
from dataward.serve.views import StepSettings
from dataward.state import open_state_db
from dataward.testing.waiting import wait_until
from dataward.watch.state import StateDB

PASSWORD = "canary-Passw0rd-7f3e9a1c"
SMTP_PASSWORD = "smtp-Canary-9c41e"
USERS = 200
COPY = {"users": ["id", "email", "country"], "api_tokens": ["id", "user_id", "access_token"],
        "integrations": ["id", "user_id", "provider", "access_token"]}
INCIDENTS = ("leak", "leak-mail", "leak-restart", "leak-crash", "leak-jobs", "leak-settle")


class Inbox:
    """aiosmtpd handler: every accepted message; with ``hold_at``, the message of that number waits for
    ``release`` before it is accepted (``held`` is set meanwhile)."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()
        self.hold_at: int | None = None
        self.held = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            number = len(self.messages) + 1
        if number == self.hold_at:
            self.held.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait)
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def hold(self, at: int) -> None:
        self.hold_at, self.release = at, threading.Event()
        self.held.clear()

    def recipients(self) -> Counter[str]:
        with self.lock:
            return Counter(str(m["To"]) for m in self.messages)


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    return AuthResult(success=auth_data.login == b"mailer" and auth_data.password == SMTP_PASSWORD.encode())


@dataclass
class World:
    root: Path
    location: str
    prod: str
    playbook: Path
    smtp: str
    inbox: Inbox
    emails: dict[str, set[str]]  # per incident: the affected customers' emails
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("serve-jobs")
    prod_tables = cloud_tables(users=USERS)
    prod = write_store(f"sqlite:///{root}/prod.db", prod_tables)
    copy = write_store(f"sqlite:///{root}/copy.db", exposed_copy(prod_tables, COPY, users_up_to(USERS // 2)))
    location = str(root / "state.db")
    engine = open_state_db(location)
    tokens = {}
    for role in accounts.ROLES:
        accounts.add_user(engine, f"{role}-user", role, PASSWORD)
        tokens[role] = accounts.create_token(engine, f"{role}-user")
    engine.dispose()
    email_of = {r["id"]: r["email"] for r in prod_tables["users"].to_pylist()}
    emails = {}
    with IncidentDB(location) as db:
        for name in INCIDENTS:
            ops.open_incident(db, name, copy, "2019-12-04", "2019-12-26")
            affected = ops.run_blast_radius(db, name, prod).affected["user_id"].to_pylist()
            emails[name] = {email_of[u] for u in affected if email_of[u]}
    playbook = root / "playbook.toml"
    playbook.write_text(f'[response]\ndatabase = "{prod}"\nbatch = 20\n\n'
                        '[[step]]\naction = "revoke_tokens"\nvia = "sql"\n\n'
                        '[[step]]\naction = "unlink_integrations"\n\n'
                        '[[step]]\naction = "force_logout"\n\n'
                        '[[step]]\naction = "password_reset"\n')
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), authenticator=_authenticator,
                            auth_require_tls=False)
    controller.start()
    yield World(root, location, prod, playbook, f"smtp://mailer:{SMTP_PASSWORD}@127.0.0.1:{controller.port}",
                inbox, emails, tokens)
    inbox.release.set()
    controller.stop()


@pytest.fixture(scope="module")
def api(world: World) -> Iterator[TestClient]:
    state = StateDB(world.location)
    settings = StepSettings(playbook=str(world.playbook), smtp=world.smtp, signing_key=str(world.root / "audit-key"),
                            sender="security@cams.example", company="Cams")
    app = create_app(state, audit_log=str(world.root / "audit.jsonl"), step_settings=settings,
                     audit_public_key=str(write_public_key(world.root / "audit-key")))
    (world.root / "dataward.toml").write_text(f'[[store]]\nname = "copy"\nurl = "sqlite:///{world.root}/copy.db"\n')
    app.state.policy = load_policy(str(world.root / "dataward.toml"))  # the incidents' store: serve reads it
    with TestClient(app) as client:
        yield client
    app.state.plane.jobs.stop()
    state.close()


def _job_done(api: TestClient, world: World, incident: str, step: str, job: int) -> dict[str, Any]:
    """The incident document once job ``job`` of ``step`` has ended."""
    def ended() -> bool:
        found = _doc(api, world, incident)["jobs"].get(step)
        return bool(found and found["id"] == job and found["state"] != "running")

    wait_until(ended, timeout=120, what=f"the {step} job to end")
    return _doc(api, world, incident)


def _doc(api: TestClient, world: World, incident: str) -> dict[str, Any]:
    answer = api.get(f"/api/v1/incidents/{incident}", headers=world.headers("viewer"))
    assert answer.status_code == 200, answer.text
    doc: dict[str, Any] = answer.json()
    return doc


def _live_tokens(prod: str, users: set[int]) -> int:
    db = connect(prod)
    try:
        rows = db.query("SELECT user_id FROM api_tokens WHERE revoked_at IS NULL")
    finally:
        db.close()
    return sum(1 for (u,) in rows if int(u) in users)


def _affected(location: str, name: str) -> set[int]:
    with IncidentDB(location) as db:
        return {int(u) for u in ops.affected_table(db, name).column("user_id").to_pylist()}


def test_the_new_routes_are_in_the_route_walks(api: TestClient) -> None:
    """The route walks of test_serve_api.py (401 without credentials, 403 for a viewer on every mutating route)
    and test_serve_web.py (login redirect, 403 for a viewer's form) take every route: these are among them."""
    from dataward.serve import web

    api_routes = {(m, r.path) for r in api.app.routes if isinstance(r, APIRoute) for m in r.methods}  # type: ignore[attr-defined]
    assert {("POST", "/api/v1/incidents/{name}/respond"), ("POST", "/api/v1/incidents/{name}/notify")} <= api_routes
    pages = {(m, r.path) for r in web.router.routes if isinstance(r, APIRoute) for m in r.methods}
    assert {("POST", "/incidents/{name}/respond"), ("POST", "/incidents/{name}/notify")} <= pages


def test_respond_through_the_api_runs_the_playbook_against_production(api: TestClient, world: World) -> None:
    affected = _affected(world.location, "leak")
    url = "/api/v1/incidents/leak/respond"
    assert api.post(url).status_code == 401
    assert api.post(url, headers=world.headers("viewer"), json={}).status_code == 403
    assert api.post("/api/v1/incidents/nope/respond", headers=world.headers("responder")).status_code == 404
    plane = api.app.state.plane  # type: ignore[attr-defined]
    configured = plane.steps
    plane.steps = StepSettings()
    try:
        refused = api.post(url, headers=world.headers("responder"))
    finally:
        plane.steps = configured
    assert refused.status_code == 400 and "--playbook" in refused.json()["detail"] and refused.json()["tip"]
    live = _live_tokens(world.prod, affected)
    assert live > 0

    dry = api.post(url, headers=world.headers("responder"), json={"dry_run": True})
    assert dry.status_code == 202, dry.text
    assert dry.json()["schema"] == "dataward.job/v1" and dry.json()["options"] == {"dry_run": True}
    doc = _job_done(api, world, "leak", "respond", dry.json()["id"])
    job = doc["jobs"]["respond"]
    assert job["state"] == "done", job
    counts = {s["action"]: s["counts"] for s in job["result"]["steps"]}
    assert counts["revoke_tokens"]["tokens"] == live and "would change" in job["sentence"]
    assert _live_tokens(world.prod, affected) == live and doc["respond"] == {}  # a dry run changes nothing

    run = api.post(url, headers=world.headers("responder"))
    assert run.status_code == 202 and run.json()["state"] == "running"
    doc = _job_done(api, world, "leak", "respond", run.json()["id"])
    job = doc["jobs"]["respond"]
    assert job["state"] == "done" and job["user"] == "responder-user", job
    assert _live_tokens(world.prod, affected) == 0
    batches = -(-len(affected) // 20)
    assert len(doc["respond"]) == 4 and all(states == {"done": batches} for states in doc["respond"].values())
    assert {s["action"] for s in job["result"]["steps"]} == {"revoke_tokens", "unlink_integrations",
                                                             "force_logout", "password_reset"}
    assert doc["audit_log"]["status"] == "verified" and doc["audit_log"]["incident_entries"] > 0

    again = api.post(url, headers=world.headers("responder"), json={"dry_run": False})
    doc = _job_done(api, world, "leak", "respond", again.json()["id"])
    assert all(s["done_now"] == 0 and s["already_done"] == batches for s in doc["jobs"]["respond"]["result"]["steps"])
    audit = api.get("/api/v1/audit", headers=world.headers("admin")).json()["entries"]
    started = [e for e in audit if e["action"] == "incident.respond"]
    assert [(e["user"], e["subject"], e["detail"]["dry_run"], e["detail"]["job"]) for e in started] == [
        ("responder-user", "leak", False, again.json()["id"]), ("responder-user", "leak", False, run.json()["id"]),
        ("responder-user", "leak", True, dry.json()["id"])]


def test_notify_through_the_api_sends_each_notice_once_and_one_job_at_a_time(api: TestClient, world: World) -> None:
    url = "/api/v1/incidents/leak-mail/notify"
    assert api.post(url, headers=world.headers("viewer")).status_code == 403
    before = world.inbox.recipients()
    world.inbox.hold(at=sum(before.values()) + 3)  # the third notice waits: the job is running meanwhile
    first = api.post(url, headers=world.headers("responder"))
    assert first.status_code == 202, first.text
    assert world.inbox.held.wait(60), "the third notice never reached the mail server"
    second = api.post(url, headers=world.headers("responder"))
    assert second.status_code == 409 and "already running" in second.json()["detail"], second.text
    assert _doc(api, world, "leak-mail")["jobs"]["notify"]["state"] == "running"
    world.inbox.release.set()
    doc = _job_done(api, world, "leak-mail", "notify", first.json()["id"])
    job = doc["jobs"]["notify"]
    assert job["state"] == "done", job
    sent = world.inbox.recipients() - before
    assert sent == Counter({e: 1 for e in world.emails["leak-mail"]})
    assert job["result"]["sent"] == len(sent) and job["result"]["uncertain"] == 0
    assert doc["notify"] == {"sent": len(sent)}

    again = api.post(url, headers=world.headers("responder"), json={})
    doc = _job_done(api, world, "leak-mail", "notify", again.json()["id"])
    assert doc["jobs"]["notify"]["result"]["sent"] == 0
    assert doc["jobs"]["notify"]["result"]["already_sent"] == len(sent)
    assert world.inbox.recipients() - before == sent  # nothing more went out
    audit = api.get("/api/v1/audit", headers=world.headers("admin")).json()["entries"]
    entry = next(e for e in audit if e["action"] == "incident.notify")
    assert entry["user"] == "responder-user" and entry["detail"]["smtp"].startswith("smtp://mailer:***@")


def test_no_customer_value_or_smtp_password_in_any_answer(api: TestClient, world: World) -> None:
    """Canary, after the jobs above: every read of the API, for every incident, and the incident page."""
    paths = sorted({r.path for r in api.app.routes if isinstance(r, APIRoute)  # type: ignore[attr-defined]
                    and "GET" in r.methods and r.path.startswith("/api/") and r.path != "/api/v1/events"})
    answers = [api.get(p.replace("{name}", n), headers=world.headers("admin")).text
               for p in paths for n in INCIDENTS if "{" not in p.replace("{name}", n)]
    assert len(answers) >= 10
    emails = set().union(*world.emails.values())
    engine = open_state_db(world.location)
    try:
        with engine.begin() as conn:  # the jobs' records, as a restart reads them back
            answers.append(str(conn.exec_driver_sql("SELECT * FROM cp_jobs").all()))
    finally:
        engine.dispose()
    for text in answers:
        assert SMTP_PASSWORD not in text and not any(e in text for e in emails)


def test_blast_radius_and_lookup_as_background_jobs(api: TestClient, world: World) -> None:
    """`?background=true`: 202 with the job; its end shows in the incident document; the result is the same
    as the synchronous answer's (which stays the default)."""
    plane = api.app.state.plane  # type: ignore[attr-defined]
    url = "/api/v1/incidents/leak-mail"
    before = api.get(f"{url}/blast-radius", headers=world.headers("viewer")).json()
    assert api.post(f"{url}/blast-radius?background=true", headers=world.headers("viewer")).status_code == 403
    refused = api.post(f"{url}/blast-radius?background=true", headers=world.headers("responder"))
    assert refused.status_code == 400 and "--source" in refused.json()["detail"]  # checked before any job
    plane.source = world.prod
    try:
        started = api.post(f"{url}/blast-radius?background=true", headers=world.headers("responder"))
        assert started.status_code == 202 and started.json()["step"] == "blast_radius", started.text
        job = _job_done(api, world, "leak-mail", "blast_radius", started.json()["id"])["jobs"]["blast_radius"]
    finally:
        plane.source = None
    assert job["state"] == "done" and job["result"] == {"affected_customers": before["affected_customers"]}
    assert api.get(f"{url}/blast-radius", headers=world.headers("viewer")).json() == before
    built = api.post(f"{url}/lookup?background=true", headers=world.headers("responder"))
    assert built.status_code == 202, built.text
    job = _job_done(api, world, "leak-mail", "lookup", built.json()["id"])["jobs"]["lookup"]
    assert job["state"] == "done" and job["result"]["affected"] == before["affected_customers"], job
    assert Path(job["result"]["site"], "index.html").is_file()
    assert not any(e in json.dumps(job) for e in world.emails["leak-mail"])
    audit = [e["action"] for e in api.get("/api/v1/audit", headers=world.headers("admin")).json()["entries"]]
    assert audit[:2] == ["incident.lookup", "incident.blast_radius"]
    kept = [m.data for m in plane.bus.recent() if m.event == "job"]  # for clients that reconnect: ends only
    assert kept and {d["state"] for d in kept} == {"done"} and kept[-1]["step"] == "lookup"
    assert set(kept[-1]) == {"schema", "event", "incident", "step", "job", "state", "at"}  # never a result


def test_blast_radius_and_lookup_jobs_show_the_library_s_progress(api: TestClient, world: World,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The library's progress hook feeds the job: its ``progress`` (phase, done, total) and its sentence while it
    runs, at each tick (every change here: TICK_S 0); nothing of it once the job ended, and never a value."""
    from dataward.incident import lookup
    from dataward.serve import jobs

    plane = api.app.state.plane  # type: ignore[attr-defined]
    seen: list[dict[str, Any]] = []
    publish = plane.jobs.on_change

    def record(job: Job) -> None:
        seen.append(job.to_json())
        publish(job)

    monkeypatch.setattr(jobs, "TICK_S", 0.0)
    monkeypatch.setattr(plane.jobs, "on_change", record)
    monkeypatch.setattr(plane, "source", world.prod)
    url = "/api/v1/incidents/leak-mail"
    for step, path in (("blast_radius", "blast-radius"), ("lookup", "lookup")):
        started = api.post(f"{url}/{path}?background=true", headers=world.headers("responder"))
        assert started.status_code == 202, started.text
        done = _job_done(api, world, "leak-mail", step, started.json()["id"])["jobs"][step]
        assert done["state"] == "done" and done["progress"] is None, done
    running = [j for j in seen if j["state"] == "running" and j["progress"]]
    radius = [j["progress"]["phase"] for j in running if j["step"] == "blast_radius"]
    assert "reading the customers (users)" in radius and radius[-1] == ops.KEEPING, radius
    built = [j["progress"] for j in running if j["step"] == "lookup"]
    assert [p["phase"] for p in built][-1] == lookup.WRITING and built[-1]["done"] == built[-1]["total"] > 0, built
    writing = next(j for j in running if j["step"] == "lookup" and j["progress"]["phase"] == lookup.WRITING)
    assert f"{lookup.WRITING}, " in writing["sentence"] and " of " in writing["sentence"]
    assert not any(e in json.dumps(seen) for e in world.emails["leak-mail"])


def test_notify_settles_uncertain_notices_from_the_mail_log_or_resends_them(api: TestClient, world: World) -> None:
    """`incident notify --reconcile-log` and `--resend-uncertain` as the notify request's `reconcile_log` (the
    log's text) and `resend_uncertain`: audited with the option named; the incident document and page count
    the uncertain notices; the log's text (which holds customers' addresses) is in no answer, record or audit."""
    url, name = "/api/v1/incidents/leak-settle", "leak-settle"
    start = world.inbox.recipients()  # other incidents notify the same customers
    first = api.post(f"{url}/notify", headers=world.headers("responder"))
    assert _job_done(api, world, name, "notify", first.json()["id"])["jobs"]["notify"]["state"] == "done"
    with IncidentDB(world.location) as db:  # a crash after two write-aheads: the mail server took only `kept`
        states = db.send_states(name)
        kept, lost = sorted(states)[:2]
        for user in (kept, lost):
            db.set_send(name, user, "sending", states[user][1])
    email_of = {str(m["Message-ID"]): str(m["To"]) for m in world.inbox.messages}
    lost_email = email_of[states[lost][1]]
    doc = _doc(api, world, name)
    assert doc["notify_uncertain"] == 2 and doc["notify"]["sending"] == 2
    page = TestClient(api.app, follow_redirects=False)  # type: ignore[arg-type]
    form = page.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]*)"', form).group(1)  # type: ignore[union-attr]
    assert page.post("/login", data={"csrf": csrf, "name": "responder-user", "password": PASSWORD,
                                     "next": "/"}).status_code == 303
    html = page.get(f"/incidents/{name}").text
    assert "<strong id=\"uncertain-count\">2</strong> notices are <code>uncertain</code>" in html
    assert 'id="resend-uncertain"' in html and 'name="confirm" value="1" required' in html
    csrf = re.search(r'name="csrf" value="([^"]*)"', html).group(1)  # type: ignore[union-attr]
    unconfirmed = page.post(f"/incidents/{name}/notify", data={"csrf": csrf, "resend_uncertain": "1"})
    assert unconfirmed.status_code == 400 and "Resend uncertain notices" in unconfirmed.text

    plain = api.post(f"{url}/notify", headers=world.headers("responder"), json={})
    result = _job_done(api, world, name, "notify", plain.json()["id"])["jobs"]["notify"]["result"]
    assert (result["uncertain"], result["sent"], result["resent"]) == (2, 0, 0)  # left alone without an option
    before = world.inbox.recipients()
    log = (f"postfix/cleanup[7]: 4F1: message-id={states[kept][1]}\n"
           f"postfix/smtp[9]: 4F1: to=<{email_of[states[kept][1]]}>, status=sent (250 2.0.0 Ok)\n")
    assert api.post(f"{url}/notify", headers=world.headers("viewer"), json={"reconcile_log": log}).status_code == 403
    nothing = api.post(f"{url}/notify", headers=world.headers("responder"), json={"reconcile_log": "no ids"})
    assert nothing.status_code == 400 and "no Message-ID" in nothing.json()["detail"]
    settled = api.post(f"{url}/notify", headers=world.headers("responder"), json={"reconcile_log": log})
    assert settled.status_code == 202 and settled.json()["options"]["reconcile_log"] is True, settled.text
    doc = _job_done(api, world, name, "notify", settled.json()["id"])
    result = doc["jobs"]["notify"]["result"]
    assert (result["reconciled"], result["resent"], result["uncertain"]) == (1, 1, 0), result
    assert world.inbox.recipients() - before == Counter({lost_email: 1}) and doc["notify_uncertain"] == 0

    with IncidentDB(world.location) as db:
        db.set_send(name, lost, "uncertain", states[lost][1])
    resend = api.post(f"{url}/notify", headers=world.headers("responder"), json={"resend_uncertain": True})
    result = _job_done(api, world, name, "notify", resend.json()["id"])["jobs"]["notify"]["result"]
    assert (result["resent"], result["uncertain"]) == (1, 0) and (world.inbox.recipients() - start)[lost_email] == 3
    assert "uncertain-count" in page.get(f"/incidents/{name}").text  # drawn, hidden: none left
    audit = api.get("/api/v1/audit", headers=world.headers("admin")).json()["entries"]
    options = [(e["detail"]["resend_uncertain"], e["detail"]["reconcile_log"]) for e in audit
               if e["action"] == "incident.notify" and e["subject"] == name]
    assert options[:3] == [(True, False), (False, True), (False, False)], options
    engine = open_state_db(world.location)
    try:
        with engine.begin() as conn:
            kept_rows = str(conn.exec_driver_sql("SELECT * FROM cp_jobs").all())
            kept_rows += str(conn.exec_driver_sql("SELECT * FROM cp_audit").all())
    finally:
        engine.dispose()
    everything = kept_rows + json.dumps(audit) + json.dumps(_doc(api, world, name)) + html
    assert "postfix" not in everything and not any(e in everything for e in world.emails[name])


def test_unset_mail_server_and_missing_blast_radius_are_refused_with_a_tip(api: TestClient, world: World) -> None:
    plane = api.app.state.plane  # type: ignore[attr-defined]
    configured = plane.steps
    plane.steps = replace(configured, smtp=None)
    try:
        refused = api.post("/api/v1/incidents/leak-mail/notify", headers=world.headers("responder"))
    finally:
        plane.steps = configured
    assert refused.status_code == 400 and "--smtp" in refused.json()["detail"] and refused.json()["tip"]
    with IncidentDB(world.location) as db:
        ops.open_incident(db, "no-radius", "copy", "2019-12-04", "2019-12-26")
    for step in ("respond", "notify"):
        answer = api.post(f"/api/v1/incidents/no-radius/{step}", headers=world.headers("responder"))
        assert answer.status_code == 400 and "no blast radius yet" in answer.json()["detail"], step
    assert api.post("/api/v1/incidents/leak/notify", headers=world.headers("responder"),
                    json={"limit": 0}).status_code == 422


def test_the_audit_log_being_written_by_a_job_is_not_shown_as_failed(api: TestClient, world: World,
                                                                     tmp_path: Path) -> None:
    """While a job of this server appends, the entries after the last checkpoint are `writing`, not `failed`;
    once no job runs they are a failure again until a checkpoint signs them."""
    from dataward.incident.audit import AuditLog

    plane = api.app.state.plane  # type: ignore[attr-defined]
    configured, plane.audit_log = plane.audit_log, str(tmp_path / "audit.jsonl")
    log = AuditLog(plane.audit_log, world.root / "audit-key")
    log.append("respond.start", incident="leak")
    log.checkpoint()
    go = threading.Event()
    plane.jobs.start("leak", "walk-test", "rita", lambda checkpoint: {"held": go.wait(30)})
    try:
        assert _doc(api, world, "leak")["audit_log"]["status"] == "verified"
        log.append("respond.revoke_tokens", incident="leak")  # a job's entry, its checkpoint still to come
        plane._walked.clear()
        status = _doc(api, world, "leak")["audit_log"]
        assert (status["status"], status["unsigned_tail"]) == ("writing", 1), status
    finally:
        go.set()
        wait_until(lambda: not plane.jobs.running(), timeout=30, what="the job to end")
        assert _doc(api, world, "leak")["audit_log"]["status"] == "failed"
        log.checkpoint()
        assert _doc(api, world, "leak")["audit_log"]["status"] == "verified"
        plane.audit_log = configured


def test_a_stopping_runner_ends_a_job_at_a_safe_point_only() -> None:
    points: list[str] = []
    entered, go = threading.Event(), threading.Event()

    def work(checkpoint: Any) -> dict[str, Any]:
        entered.set()
        go.wait(30)
        for point in ("notify:after_write_ahead", "notify:after_send", "notify:before_write_ahead", "never"):
            checkpoint(point)
            points.append(point)
        return {}

    runner = JobRunner()
    job = runner.start("x", "notify", "rita", work)
    assert entered.wait(30)
    runner.request_stop()
    go.set()
    runner.stop(timeout=30)
    assert job.state == "cancelled" and points == ["notify:after_write_ahead", "notify:after_send"]
    assert "when the server stopped" in job.sentence()
    with pytest.raises(DatawardError, match="stopping"):
        runner.start("x", "respond", "rita", work)


# ---- a real `dataward serve`, stopped in the middle of sending ------------------------------------------------
def _serve(world: World, port: int, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "dataward", "serve", "--db", world.location, "--listen", f"127.0.0.1:{port}",
         "--audit-log", str(world.root / "audit.jsonl"), "--signing-key", str(world.root / "audit-key"), *extra],
        stdout=log.open("ab"), stderr=subprocess.STDOUT, cwd=world.root,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "DATAWARD_SMTP": world.smtp})

    def answers() -> bool:
        assert proc.poll() is None, log.read_text()
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        except httpx.TransportError:
            return False

    wait_until(answers, timeout=60, what="dataward serve to answer")
    return proc


def _refuses(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
    except httpx.TransportError:
        return True
    return False


@pytest.mark.slow
def test_a_restart_in_the_middle_of_sending_sends_no_notice_twice(world: World) -> None:
    """SIGTERM while a notice is being accepted: that notice completes, the job stops before the next one's
    write-ahead, the server exits 0; after a restart the same POST sends exactly the rest."""
    port, log = free_port(), world.root / "serve.log"
    url = f"http://127.0.0.1:{port}/api/v1/incidents/leak-restart"
    before = world.inbox.recipients()
    world.inbox.hold(at=sum(before.values()) + 5)
    proc = _serve(world, port, log)
    try:
        started = httpx.post(f"{url}/notify", headers=world.headers("responder"))
        assert started.status_code == 202, started.text
        assert world.inbox.held.wait(60), log.read_text()
        assert httpx.post(f"{url}/notify", headers=world.headers("responder")).status_code == 409
        proc.send_signal(signal.SIGTERM)
        wait_until(lambda: _refuses(port), timeout=30, what="the server to stop listening")
        world.inbox.release.set()
        assert proc.wait(timeout=60) == 0, log.read_text()
    finally:
        world.inbox.release.set()
        if proc.poll() is None:
            proc.kill()
    assert sum((world.inbox.recipients() - before).values()) == 5
    result = _notify_after_a_restart(world, port, log, url)["result"]
    total = len(world.emails["leak-restart"])
    assert (result["already_sent"], result["sent"], result["uncertain"]) == (5, total - 5, 0), result
    assert world.inbox.recipients() - before == Counter({e: 1 for e in world.emails["leak-restart"]})
    text = log.read_text()
    assert "notify job of incident leak-restart: stopped at" in text and "notify job of incident leak-restart: done" in text
    assert SMTP_PASSWORD not in text and not any(e in text for e in world.emails["leak-restart"])


def _notify_after_a_restart(world: World, port: int, log: Path, url: str,
                            seen: dict[str, Any] | None = None) -> dict[str, Any]:
    """Start serve again, POST notify, and return the job once it ended (``seen``: the incident document found
    before the POST)."""
    proc = _serve(world, port, log)
    try:
        if seen is not None:
            seen.update(httpx.get(url, headers=world.headers("viewer")).json())
        job = httpx.post(f"{url}/notify", headers=world.headers("responder")).json()

        def ended() -> bool:
            doc = httpx.get(url, headers=world.headers("viewer")).json()
            return bool(doc["jobs"]["notify"]["id"] == job["id"] and doc["jobs"]["notify"]["state"] != "running")

        wait_until(ended, timeout=120, what="the notify job after the restart")
        found: dict[str, Any] = httpx.get(url, headers=world.headers("viewer")).json()["jobs"]["notify"]
        return found
    finally:
        proc.terminate()
        proc.wait(timeout=60)


@pytest.mark.slow
def test_a_crash_in_the_middle_of_sending_sends_no_notice_twice(world: World) -> None:
    """SIGKILL while a notice is being accepted: after a restart that notice is `uncertain` and not sent again
    (whether the mail server kept it or not), every other one goes out once, and the page's sentence says how
    to settle it."""
    port, log = free_port(), world.root / "serve-crash.log"
    url = f"http://127.0.0.1:{port}/api/v1/incidents/leak-crash"
    before = world.inbox.recipients()
    world.inbox.hold(at=sum(before.values()) + 5)
    proc = _serve(world, port, log)
    try:
        assert httpx.post(f"{url}/notify", headers=world.headers("responder")).status_code == 202
        assert world.inbox.held.wait(60), log.read_text()
    finally:
        proc.kill()
        proc.wait(timeout=60)
        world.inbox.release.set()
    seen: dict[str, Any] = {}
    job = _notify_after_a_restart(world, port, log, url, seen)
    dead = seen["jobs"]["notify"]  # the record of the job the crash ended
    assert dead["state"] == "interrupted" and dead["user"] == "responder-user", dead
    assert "interrupted" in dead["sentence"] and "run it again" in dead["sentence"]
    assert seen["notify_uncertain"] == 1  # the notice in flight: written ahead, its fate unknown
    total, got = len(world.emails["leak-crash"]), world.inbox.recipients() - before
    result = job["result"]
    assert (result["already_sent"], result["sent"], result["uncertain"]) == (4, total - 5, 1), result
    assert set(got.values()) == {1} and set(got) <= world.emails["leak-crash"] and len(got) >= total - 1
    assert "--reconcile-log" in job["sentence"]


# ---- job records survive a restart ----------------------------------------------------------------------------
def test_the_state_database_keeps_each_job_and_a_dead_process_s_job_is_interrupted(tmp_path: Path) -> None:
    engine = open_state_db(str(tmp_path / "state.db"))
    try:
        store = StateJobStore(engine)
        runner = JobRunner(store=store)
        result = {"steps": [{"action": "push", "counts": {"devices": 3}, "unconfirmed": ["dev-1", "dev-2"]}]}
        done = runner.start("x", "respond", "rita", lambda checkpoint: result, lambda r: "pushed 3", {"dry_run": True})
        failing = runner.start("x", "notify", "otto", lambda checkpoint: _fail())
        runner.stop(timeout=30)
        left = store.add(Job(0, "x", "lookup", "rita", "2026-12-07T10:00:00Z"))  # a process died while it ran
        latest = JobRunner(store=store).latest("x")  # a new process: nothing in its memory
        assert set(latest) == {"respond", "notify", "lookup"}
        kept = latest["respond"]
        assert (kept.id, kept.user, kept.state, kept.summary, kept.options) == (done.id, "rita", "done", "pushed 3",
                                                                               {"dry_run": True})
        assert kept.finished_at == done.finished_at and kept.started_at == done.started_at
        assert kept.result == {"steps": [{"action": "push", "counts": {"devices": 3}, "unconfirmed": 2}]}  # no id
        assert (latest["notify"].id, latest["notify"].state) == (failing.id, "failed")
        assert latest["notify"].error == "no mail server answered" and latest["notify"].tip == "check it"
        dead = latest["lookup"]
        assert (dead.id, dead.state) == (left, "interrupted") and dead.finished_at
        assert dead.sentence().startswith("interrupted") and "run it again" in dead.sentence()
        again = JobRunner(store=store).start("x", "respond", "rita", lambda checkpoint: {})
        assert again.id > left  # ids never repeat across processes
    finally:
        engine.dispose()


def test_stop_returns_only_once_each_job_s_end_is_saved(tmp_path: Path) -> None:
    """Shutdown waits for a job's record, not only for its work: stop() returned while the end was being saved,
    so a serve stopped then could leave a finished job to be marked interrupted at the next start."""
    engine = open_state_db(str(tmp_path / "state.db"))
    saving, release = threading.Event(), threading.Event()

    class SlowStore(StateJobStore):
        def save(self, job: Job) -> None:
            saving.set()
            assert release.wait(30)
            super().save(job)

    try:
        store = SlowStore(engine)
        runner = JobRunner(store=store)
        runner.start("x", "respond", "rita", lambda checkpoint: {})
        assert saving.wait(30)
        stopper = threading.Thread(target=runner.stop, args=(30,))
        stopper.start()
        stopper.join(0.2)
        still_waiting = stopper.is_alive()
        release.set()
        stopper.join(30)
        assert still_waiting, "stop() returned before the job's end was saved"
        assert JobRunner(store=StateJobStore(engine)).latest("x")["respond"].state == "done"
    finally:
        release.set()
        engine.dispose()


def _fail() -> dict[str, Any]:
    raise DatawardError("no mail server answered", tip="check it")


@pytest.mark.slow
def test_the_last_job_of_each_step_survives_a_restart_of_serve(world: World) -> None:
    """A real `dataward serve` runs each step as a job, is stopped and started again: the incident document
    still shows the last job of each step (who, when, how it ended), and no customer value."""
    port, log = free_port(), world.root / "serve-jobs.log"
    url = f"http://127.0.0.1:{port}/api/v1/incidents/leak-jobs"
    config = world.root / "dataward-jobs.toml"  # the incidents' store: serve reads only its --config's stores
    config.write_text(f'[[store]]\nname = "copy"\nurl = "sqlite:///{world.root}/copy.db"\n\n'
                      + files("dataward.data").joinpath("reference-schema.toml").read_text())
    extra = ("--source", world.prod, "--playbook", str(world.playbook), "--config", str(config))
    proc = _serve(world, port, log, *extra)
    try:
        started = {
            "respond": httpx.post(f"{url}/respond", headers=world.headers("responder"), json={"dry_run": True}),
            "notify": httpx.post(f"{url}/notify", headers=world.headers("responder"), json={"limit": 2}),
            "blast_radius": httpx.post(f"{url}/blast-radius?background=true", headers=world.headers("responder")),
        }
        assert all(a.status_code == 202 for a in started.values()), [a.text for a in started.values()]
        wait_until(lambda: _ended(url, world, started), timeout=120, what="the jobs to end")
        started["lookup"] = httpx.post(f"{url}/lookup?background=true", headers=world.headers("responder"))
        wait_until(lambda: _ended(url, world, started), timeout=120, what="the lookup job to end")
        before = httpx.get(url, headers=world.headers("viewer")).json()["jobs"]
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    assert {step: job["state"] for step, job in before.items()} == dict.fromkeys(started, "done"), before
    proc = _serve(world, port, log, *extra)
    try:
        after = httpx.get(url, headers=world.headers("viewer")).json()["jobs"]
        listed = httpx.get(url.rsplit("/", 1)[0], headers=world.headers("viewer")).json()["incidents"]
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    for step, job in before.items():
        kept = after[step]
        assert {k: kept[k] for k in ("id", "user", "state", "started_at", "finished_at", "summary", "sentence",
                                     "options")} == {k: job[k] for k in ("id", "user", "state", "started_at",
                                                                         "finished_at", "summary", "sentence",
                                                                         "options")}, step
    assert after["notify"]["result"]["sent"] == 2 and after["blast_radius"]["result"] == before["blast_radius"]["result"]
    assert next(i for i in listed if i["name"] == "leak-jobs")["jobs_running"] == []
    text = json.dumps(after) + log.read_text()
    assert SMTP_PASSWORD not in text and not any(e in text for e in world.emails["leak-jobs"])


def _ended(url: str, world: World, started: dict[str, httpx.Response]) -> bool:
    jobs = httpx.get(url, headers=world.headers("viewer")).json()["jobs"]
    return all(step in jobs and jobs[step]["id"] == a.json()["id"] and jobs[step]["state"] != "running"
               for step, a in started.items())
