"""The whole demo end to end (``make demo``): each step of the seed case's other half, checked against the ground
truth of the generated production cloud, and the closing table naming every step."""

from __future__ import annotations

import http.client
import io
import json
import re
import urllib.parse
import urllib.request
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import pytest
from rich.console import Console

from dataward import demo
from dataward.demo.mailcatcher import read_message
from dataward.demo.serve import ControlPlane, serve_the_state
from dataward.incident.lookup import label
from dataward.incident.ops import window_from_history
from dataward.incident.store import parse_time
from dataward.localservers.postgres import postgres_available
from dataward.tables import open_tables

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not postgres_available(), reason="the watch step needs a PostgreSQL server binary"),
]


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[demo.DemoContext, str]:
    out = tmp_path_factory.mktemp("demo")
    buffer = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATAWARD_DEMO_ANALYTICS_URL", "")
        mp.setenv("DATAWARD_DEMO_PRODUCTION_URL", "")
        ctx = demo.run(out=out, users=1000, console=Console(file=buffer, width=200))
    return ctx, buffer.getvalue()


def test_the_first_half_still_runs(finished: tuple[demo.DemoContext, str]) -> None:
    ctx, text = finished
    assert "clean: nothing at or above high" in text
    assert (ctx.out / "report.html").exists() and (ctx.out / "analytics.html").exists()


def test_watch_alerts_on_the_switch_and_records_the_window(finished: tuple[demo.DemoContext, str]) -> None:
    ctx, text = finished
    assert ctx.state["alert_s"] > 0
    assert f"{ctx.state['alert_s']:.1f} s from the switch to the alert" in text
    window = window_from_history(ctx.state["watch_history"], "analytics-copy")
    assert window.closed is not None and window.opened <= window.closed


def test_the_demo_leaves_no_server_running(finished: tuple[demo.DemoContext, str]) -> None:
    ctx, _ = finished
    assert set(ctx.servers) == {"analytics", "safe", "mail"}  # started in the background, one of each
    assert not any(started.result().running for started in ctx.servers.values())


def test_the_closing_table_names_each_step(finished: tuple[demo.DemoContext, str]) -> None:
    ctx, text = finished
    assert "the seed case, replayed" in text
    assert [row[0] for row in ctx.story] == ["watch", "incident", "respond", "notify + lookup", "audit"]
    assert "22 days" in text


def test_incident_counts_the_customers_in_the_exposed_copy(finished: tuple[demo.DemoContext, str]) -> None:
    ctx, text = finished
    radius = ctx.state["blast_radius"]
    users = ctx.ground_truth["row_counts"]["users"]
    assert radius.affected_customers == users  # the copy held every customer's email
    assert f"{users:,} customers in the exposed copy" in text and "2,400,000" in text
    with open_tables(ctx.production_url) as prod:
        metrics = prod.read_table("body_metrics", ["user_id"]).to_pylist()
        people = prod.read_table("users", ["id", "country"]).to_pylist()
    cohort = {r["user_id"] for r in metrics}
    assert len(cohort) == ctx.ground_truth["body_metrics_cohort"] > 0  # the demo's smart-scale beta
    assert radius.by_field()["health_metric"] == len(cohort)
    assert sum(radius.by_region().values()) == users
    obligations = {o.id: o for o in radius.obligations}
    us = {p["id"] for p in people if p["country"] == "US"}
    assert obligations["ftc_hbnr"].customers == len(cohort & us) > 0  # the FTC rule's cohort is not empty
    assert f"obligation ftc_hbnr: {len(cohort & us):,} customer" in text
    gdpr = obligations["gdpr_art33"]
    incident_end = parse_time(window_from_history(ctx.state["watch_history"], "analytics-copy").closed or "")
    assert gdpr.deadline is not None
    assert (parse_time(gdpr.deadline) - incident_end).total_seconds() == 72 * 3600


def test_respond_revokes_what_the_dry_run_announced(finished: tuple[demo.DemoContext, str]) -> None:
    ctx, text = finished
    preview = [r.outcome.counts for r in ctx.state["respond_preview"]]
    done = [r.outcome.counts for r in ctx.state["respond_done"]]
    assert preview == done and done[0]["tokens"] > 0
    with open_tables(ctx.production_url) as prod:
        tokens = prod.read_table("api_tokens", ["revoked_at"]).to_pylist()
        links = prod.read_table("integrations", ["provider", "unlinked_at"]).to_pylist()
    assert all(t["revoked_at"] is not None for t in tokens)  # every customer was in the exposed copy
    assert all(r["unlinked_at"] is not None for r in links if r["provider"] in done[1])
    assert "dry run (nothing written)" in text and "about 6 hours" in text


def test_the_readme_shows_what_the_demo_prints(finished: tuple[demo.DemoContext, str]) -> None:
    """Each line of the README's demo excerpt is a line the demo prints, up to its numbers (this run's cloud is
    smaller; an obligation this cloud does not trigger is left out) and the closing table's borders."""
    _, text = finished
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    excerpt = readme.split("`make demo` replays the seed case", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    printed = [line.rstrip() for line in text.splitlines()]
    for line in excerpt.splitlines():
        if not line or line[0] in "┏┃┡│└" or line.startswith("demo finished"):  # table rows; main() prints the last
            continue
        obligation = re.match(r"   obligation (\w+):", line)
        if obligation and f"obligation {obligation.group(1)}:" not in text:
            continue
        pattern = re.escape(re.sub(r"\d[\d,.]*", "NUM", line)).replace("NUM", r"\d[\d,.]*")
        pattern = re.sub("customers?", "customers?", pattern)
        assert any(re.fullmatch(pattern, p) for p in printed), line
    for row in ("watch", "incident", "respond", "notify + lookup", "audit"):
        assert f"│ {row} " in excerpt


def test_one_notice_per_affected_customer_and_the_lookup_answers(finished: tuple[demo.DemoContext, str]) -> None:
    ctx, text = finished
    radius = ctx.state["blast_radius"]
    assert ctx.state["notices"] == ctx.state["notify_report"].sent == radius.affected_customers
    with open_tables(ctx.production_url) as prod:
        users = prod.read_table("users", ["id", "email"]).to_pylist()
    email_of = {u["id"]: u["email"] for u in users}
    affected = radius.affected.to_pylist()
    # exactly once: one notice to each affected customer's address, none to anyone else
    assert Counter(ctx.state["notice_recipients"]) == Counter(email_of[r["user_id"]] for r in affected)
    # only their fields: the fields listed in a sample of notices (the body-metrics cohort's among them) are
    # exactly those exposed for that customer
    by_email = {email_of[r["user_id"]]: r for r in affected}
    files = sorted(ctx.state["notices_folder"].glob("*.eml"), key=lambda p: int(p.stem))  # recipients' order
    cohort = [i for i, to in enumerate(ctx.state["notice_recipients"]) if by_email[to]["health_metric"]]
    assert cohort
    for i in [*range(40), *cohort]:
        msg = read_message(files[i])
        row = by_email[str(msg["To"])]
        plain = msg.get_body(preferencelist=("plain",))
        assert plain is not None
        body = plain.get_content().replace("\r\n", "\n")
        for field in radius.fields:
            assert (f"  - {label(field)}\n" in body) == bool(row[field]), (i, field)
        assert ("Body measurements" in body) == bool(row["health_metric"])
    assert ctx.state["lookup_answers"] == (True, False)
    emails = [e for e in email_of.values() if e]
    site_text = "".join(p.read_bytes().decode("utf-8", "replace") for p in ctx.state["lookup_site"].rglob("*")
                        if p.is_file())  # fmt: skip
    assert not any(e in site_text or e in text for e in emails[:200])


def test_the_audit_log_verifies_against_the_pinned_key(finished: tuple[demo.DemoContext, str]) -> None:
    ctx, text = finished
    result = ctx.state["audit_verification"]
    assert result.ok and result.unsigned_tail == 0
    assert result.entries >= ctx.state["notices"]  # one entry per notice at least
    assert "intact" in text


def _login(url: str, name: str, password: str) -> str:
    """Log in through the login form (its CSRF cookie and field) and return the session cookie ('name=value')."""
    host, port = url.removeprefix("http://").strip("/").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", "/login")
        answer = conn.getresponse()
        page = answer.read().decode()
        login_cookie = answer.getheader("set-cookie", "").split(";")[0]
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf is not None and login_cookie
        form = urllib.parse.urlencode({"csrf": csrf.group(1), "next": "/", "name": name, "password": password})
        conn.request("POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded",
                                              "Cookie": login_cookie})  # fmt: skip
        answer = conn.getresponse()
        answer.read()
        assert answer.status == 303, answer.status
        cookies = [c.split(";")[0] for c in answer.headers.get_all("set-cookie") or [] if "dw_login" not in c]
        assert cookies
        return cookies[0]
    finally:
        conn.close()


def _choose_password(url: str, cookie: str, current: str, new: str) -> str:
    """The first login's step: the password page's form, with its CSRF token, from the one-time password to ours;
    the new session cookie ('name=value': a password change gives the browser a new session id)."""
    page = _get(f"{url}password", cookie)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None and "Choose a new password" in page
    form = urllib.parse.urlencode({"csrf": csrf.group(1), "current": current, "new": new, "confirm": new})
    host, port = url.removeprefix("http://").strip("/").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("POST", "/password", form, {"Content-Type": "application/x-www-form-urlencoded",
                                                 "Cookie": cookie})  # fmt: skip
        answer = conn.getresponse()
        answer.read()
        assert answer.status == 303, answer.status
        cookies = [c.split(";")[0] for c in answer.headers.get_all("set-cookie") or []]
        assert cookies and cookies[0] != cookie
        return cookies[0]
    finally:
        conn.close()


def _get(url: str, cookie: str) -> str:
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Cookie": cookie}), timeout=10) as answer:
        return str(answer.read().decode())


def test_serve_mode_serves_the_demo_state_until_ctrl_c(finished: tuple[demo.DemoContext, str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """``make demo SERVE=1``: dataward serve on the demo's state answers /healthz; the printed admin password logs
    in through the login page (and is stored only as a hash), once: the first page asks for a new password; then
    the pages show the watched store and the incident; Ctrl-C stops the server."""
    ctx, _ = finished
    db = Path(ctx.state["state_db"])
    seen: dict[str, object] = {}

    def browse_then_ctrl_c(server: ControlPlane) -> None:
        seen["server"] = server
        with urllib.request.urlopen(f"{server.url}healthz", timeout=5) as answer:
            seen["healthz"] = json.load(answer)
        password = re.search(r"one-time password (\S+)", buffer.getvalue())
        assert password is not None
        seen["stored_raw"] = password.group(1).encode() in db.read_bytes()
        session = _login(server.url, "admin", password.group(1))
        seen["first_page"] = _get(server.url, session)  # a one-time password: the password page first
        session = _choose_password(server.url, session, password.group(1), "demo-admin-own-Passw0rd")
        seen["overview"] = _get(server.url, session)
        seen["incident"] = _get(f"{server.url}incidents/{ctx.state['incident']}", session)
        raise KeyboardInterrupt

    monkeypatch.setattr(ControlPlane, "wait", browse_then_ctrl_c)
    buffer = io.StringIO()
    ctx.console = Console(file=buffer, width=200)
    with ExitStack() as ctx.resources:
        serve_the_state(ctx)
    text = buffer.getvalue()
    server = seen["server"]
    assert isinstance(server, ControlPlane) and not server.running  # stopped with the demo's resources
    assert f"dataward serve is running at {server.url}" in text and "stopped" in text
    assert f"the incident: {server.url}incidents/{ctx.state['incident']}" in text
    assert seen["healthz"] == {"status": "ok"} and seen["stored_raw"] is False
    assert "Choose a new password" in str(seen["first_page"])
    assert "analytics-copy" in str(seen["overview"])
    assert "it watches 'analytics-copy' live" in text  # SERVE=1 keeps watching the demo's copy
    config = (ctx.out / "serve.toml").read_text()
    assert 'name = "analytics-copy"' in config and "[schema.customer]" in config
    assert ctx.state["incident"] in str(seen["incident"])
    assert '<span class="audit-verified">verified</span>' in str(seen["incident"])  # the log, the pinned key
