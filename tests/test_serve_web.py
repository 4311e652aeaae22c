"""dataward serve, the web half: sessions (login, logout, CSRF, fixation, throttling, idle expiry), the pages'
access rules, and a real browser (Playwright driving Debian's /usr/bin/chromium, no download) on a real server.

One browser and one server per module; the HTTP-level checks use a TestClient with a clock the test moves.
Screenshots of each page go to $DATAWARD_TEST_ARTIFACTS (else the pytest tmp dir).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import func, select

from dataward.cli import cli
from dataward.demo.serve import start_control_plane
from dataward.localservers.ports import free_port
from dataward.manifest import MANIFEST_FILE, Manifest, TableCopy
from dataward.policy import load_policy
from dataward.serve import accounts, views, web
from dataward.serve.app import create_app
from dataward.state import open_state_db, schema
from dataward.testing.fixtures import ServerFactory
from dataward.testing.receivers import WebhookReceiver
from dataward.testing.servers.redis import RedisServer
from dataward.testing.waiting import wait_until
from dataward.watch.state import StateDB

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "canary-Passw0rd-7f3e9a1c"
CANARY = "canary.person@example.invalid"  # a raw value that must never reach a page
SECRET = "s3cret-canary-pw"  # a store password in a target URL: never on a page
OPEN_PAGES = {"/login"}


@pytest.fixture(scope="module", autouse=True)
def _quick_argon2() -> Iterator[None]:
    """Argon2id at its cheapest for this module's many logins (the production cost is test_serve.py's): a
    hash carries its parameters, so the server verifies these just as fast."""
    before = accounts._HASHER
    accounts._HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    accounts._HASHER = before


class Clock:
    """A clock the test moves: sessions and the login throttle read it, nobody sleeps."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def seed(db: str) -> None:
    engine = open_state_db(db)
    with engine.begin() as conn:
        conn.execute(schema.stores.insert(), [
            {"store": "analytics-copy", "kind": "redis", "target": f"redis://:{SECRET}@10.0.0.5:6379",
             "reachable": 1, "failures": 0, "unreachable_alerted": 0, "last_probe": "2026-12-07T08:00:00Z",
             "last_secure": None, "contents": '{"categories": ["email", "health"], "by_object": {"user:*": '
             '["email"], "metrics:*": ["health"]}, "records": {"user:*": 2400, "metrics:*": 18000}}'},
            {"store": "orders", "kind": "postgres", "target": "postgresql://db/orders", "reachable": 1,
             "failures": 0, "unreachable_alerted": 0, "last_probe": "2026-12-07T08:00:00Z",
             "last_secure": "2026-12-01T00:00:00Z", "contents": None},
            {"store": "cache", "kind": "memcached", "target": "memcached://c:11211", "reachable": 0,
             "failures": 3, "unreachable_alerted": 1, "last_probe": "2026-12-07T08:00:00Z", "last_secure": None,
             "contents": None},
        ])
        conn.execute(schema.windows.insert().values(
            store="analytics-copy", finding="f1", rule="redis.no_auth", severity=4,
            title="Redis answers without auth", target="redis://10.0.0.5:6379", categories='["email"]',
            opened="2026-12-07T07:33:00Z"))
        conn.execute(schema.windows.insert().values(
            store="analytics-copy", finding="f0", rule="redis.no_auth", severity=4,
            title="Redis answers without auth", target="redis://10.0.0.5:6379", categories='["email"]',
            opened="2026-11-20T10:00:00Z", closed="2026-11-22T16:00:00Z"))
        conn.execute(schema.events.insert().values(at="2026-12-07T07:50:00Z", store="cache", event="unreachable"))
        conn.execute(schema.events.insert().values(at="2026-12-07T07:33:00Z", store="analytics-copy",
                                                   event="exposed", finding="f1", severity=4))
    for name, role in (("val", "viewer"), ("rita", "responder"), ("ana", "admin")):
        accounts.add_user(engine, name, role, PASSWORD)
    engine.dispose()


def write_policy(folder: Path, alert_url: str) -> Path:
    """A policy with two safe copies (Parquet folders with manifests, one expired) and one alert sink."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, expires in (("analytics-safe", "2999-01-31"), ("old-export", "2026-01-31")):
        copy = folder / name
        copy.mkdir()
        manifest = Manifest(source="postgresql://prod.internal:5432/app", plan_hash="abc123", key_id="k-7f3e9a",
                            created_at="2026-11-01T00:00:00Z", owner="data@example.com", expires=expires, k=5,
                            tables={"customers": TableCopy(rows=2_400_000, suppressed=312)})
        (copy / MANIFEST_FILE).write_text(json.dumps(manifest.to_json()))
    policy = folder / "dataward.toml"
    policy.write_text(f"""
[[store]]
name = "analytics-safe"
url = "file://{folder}/analytics-safe"
role = "analytics"
owner = "data@example.com"

[[store]]
name = "old-export"
url = "file://{folder}/old-export"
role = "analytics"

[[store]]
name = "analytics-copy"
url = "redis://:{SECRET}@127.0.0.1:1"

[[alert]]
url = "{alert_url}"
name = "security-webhook"
""")
    return policy


def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = os.environ.get("DATAWARD_TEST_ARTIFACTS")
    folder = Path(where) / "serve-web" if where else tmp_path_factory.mktemp("serve-web-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# ---- HTTP level: a TestClient and a clock ---------------------------------------------------------------
@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One seeded state database per module (Argon2 hashing is slow on purpose); each test gets a copy."""
    db = tmp_path_factory.mktemp("seeded") / "state.db"
    seed(str(db))
    return db


@pytest.fixture
def client(tmp_path: Path, clock: Clock, seeded: Path) -> Iterator[TestClient]:
    db = str(tmp_path / "state.db")
    for part in seeded.parent.glob("state.db*"):
        shutil.copy2(part, tmp_path / part.name)
    state = StateDB(db)
    app = create_app(state, clock=clock)
    app.state.policy = load_policy(write_policy(tmp_path, "http://127.0.0.1:9/hook/unused"))
    with TestClient(app, follow_redirects=False) as c:
        yield c
    state.close()


def app_of(client: TestClient) -> FastAPI:
    return cast(FastAPI, client.app)


def hidden(html: str, name: str = "csrf") -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no {name} field"
    return match.group(1)


def login(client: TestClient, name: str, password: str = PASSWORD, next: str = "/") -> tuple[int, str]:
    """Log in through the form; the status of the POST and the page's CSRF token afterwards."""
    page = client.get("/login")
    answer = client.post("/login", data={"csrf": hidden(page.text), "name": name, "password": password,
                                         "next": next})
    if answer.status_code != 303:
        return answer.status_code, ""
    return 303, hidden(client.get("/").text)


def page_routes(client: TestClient) -> list[tuple[str, str]]:
    """Every page route (the app holds the pages' router as one included router)."""
    return sorted((method, route.path) for route in web.router.routes
                  if isinstance(route, APIRoute) for method in route.methods or ())


def concrete(path: str) -> str:
    return (path.replace("{name}", "analytics-copy").replace("{finding_id}", "f1").replace("{index}", "0"))


def test_every_page_without_a_session_goes_to_login(client: TestClient) -> None:
    routes = page_routes(client)
    assert {("GET", p) for p in web.PAGES} <= set(routes)
    for method, path in routes:
        answer = client.request(method, concrete(path))
        if path in OPEN_PAGES:
            assert answer.status_code in (200, 403), path  # the login form; its POST needs the form's token
        elif method == "GET":
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/login"), path
        else:
            assert answer.status_code in (303, 403), path
    assert client.get("/stores?state=exposed").headers["location"] == "/login?next=/stores%3Fstate%3Dexposed"
    assert client.get("/static/dataward.css").status_code == 200
    bearer = {"Authorization": "Bearer dw_not-a-token"}
    assert client.get("/api/v1/stores", headers=bearer).status_code == 401


def test_a_viewer_session_is_refused_every_step(client: TestClient) -> None:
    """Every page POST but logout is a step a viewer may not run: 403 even with the right CSRF token."""
    assert login(client, "val")[0] == 303
    token = hidden(client.get("/").text)
    steps = [p for m, p in page_routes(client) if m == "POST" and p not in ("/login", "/logout", "/password")]
    assert len(steps) >= 9 and {"/incidents/{name}/respond", "/incidents/{name}/notify"} <= set(steps)
    for path in steps:
        answer = client.post(concrete(path), data={"csrf": token, "reason": "x", "window": "1", "name": "x",
                                                   "role": "admin", "password": PASSWORD})
        assert answer.status_code == 403, path
    assert views.audit_document(app_of(client).state.plane)["entries"] == []  # nothing was done


def test_login_sets_a_strict_httponly_cookie_and_logout_ends_it(client: TestClient) -> None:
    assert login(client, "val", "wrong-password-123")[0] == 401
    page = client.get("/login")
    answer = client.post("/login", data={"csrf": hidden(page.text), "name": "val", "password": PASSWORD,
                                         "next": "/stores"})
    assert answer.status_code == 303 and answer.headers["location"] == "/stores"
    cookie = next(h for h in answer.headers.get_list("set-cookie") if h.startswith("dw_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    overview = client.get("/")
    assert overview.status_code == 200 and "analytics-copy" in overview.text
    assert client.get("/api/v1/stores").json()["schema"] == "dataward.stores/v1"  # the API takes the session
    token = hidden(overview.text)
    assert client.post("/logout", data={"csrf": token}).status_code == 303
    assert client.get("/").status_code == 303
    assert client.get("/api/v1/stores").status_code == 401


def test_next_is_a_local_path_only(client: TestClient) -> None:
    page = client.get("/login")
    answer = client.post("/login", data={"csrf": hidden(page.text), "name": "val", "password": PASSWORD,
                                         "next": "//evil.example/x"})
    assert answer.headers["location"] == "/"


def test_csrf_a_post_without_the_token_is_refused(client: TestClient) -> None:
    page = client.get("/login")
    answer = client.post("/login", data={"name": "val", "password": PASSWORD})
    assert answer.status_code == 403 and "dw_session" not in answer.headers.get("set-cookie", "")
    client.cookies.delete("dw_login", path="/login")
    answer = client.post("/login", data={"csrf": hidden(page.text), "name": "val", "password": PASSWORD})
    assert answer.status_code == 403  # the form's token without its cookie
    assert login(client, "val")[0] == 303
    assert client.post("/logout").status_code == 403
    assert client.post("/logout", data={"csrf": "x" * 43}).status_code == 403
    assert client.get("/").status_code == 200  # still logged in
    big = client.post("/logout", content=b"csrf=" + b"x" * 100_000,
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert big.status_code == 413


def test_a_new_session_id_on_every_login(client: TestClient) -> None:
    """Session fixation: a cookie held before login (planted, or an old session) is never the one used after."""
    assert login(client, "val")[0] == 303
    before = client.cookies.get("dw_session")
    assert before
    other = TestClient(client.app, follow_redirects=False)
    token = hidden(other.get("/login").text)
    other.cookies.set("dw_session", before)  # planted in another browser
    answer = other.post("/login", data={"csrf": token, "name": "rita", "password": PASSWORD})
    after = answer.cookies.get("dw_session")
    assert answer.status_code == 303 and after and after != before
    assert client.get("/").status_code == 303  # the planted id was ended, not taken over
    forged = TestClient(client.app, follow_redirects=False)
    forged.cookies.set("dw_session", before[:-4] + "AAAA")  # a bad signature opens nothing
    assert forged.get("/").status_code == 303


def test_login_throttling_after_five_failures(client: TestClient, clock: Clock) -> None:
    for _ in range(5):
        assert login(client, "val", "wrong-password-123")[0] == 401
    assert login(client, "val")[0] == 429  # the right password too, for a while
    assert login(client, "rita")[0] == 303  # another name from the same address is not blocked
    clock.advance(minutes=16)
    client.cookies.clear()
    assert login(client, "val")[0] == 303


def test_idle_sessions_expire(client: TestClient, clock: Clock) -> None:
    assert login(client, "val")[0] == 303
    clock.advance(minutes=29)
    assert client.get("/").status_code == 200  # a request restarts the idle clock
    clock.advance(minutes=29)
    assert client.get("/").status_code == 200
    clock.advance(minutes=31)
    assert client.get("/").status_code == 303
    assert client.get("/api/v1/stores").status_code == 401
    other = TestClient(client.app, follow_redirects=False)
    assert login(other, "rita")[0] == 303
    clock.advance(hours=13)
    assert login(client, "val")[0] == 303  # and the 13-hour-old session of rita is purged from the table
    with app_of(client).state.db.engine.begin() as conn:
        assert conn.execute(select(func.count()).select_from(schema.cp_sessions)).scalar_one() == 1


def test_a_disabled_user_loses_their_session(client: TestClient) -> None:
    assert login(client, "val")[0] == 303
    accounts.disable_user(app_of(client).state.db.engine, "val")
    assert client.get("/").status_code == 303


# ---- one's own password, and one-time passwords ------------------------------------------------------------
NEW_PASSWORD = "my-own-Passw0rd-2b9d41"


def one_time_login(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Log in with a one-time password: the login lands on the password page; its CSRF token."""
    answer = client.post("/login", data={"csrf": hidden(client.get("/login").text), "name": name,
                                         "password": password, "next": "/findings"})
    assert answer.status_code == 303 and answer.headers["location"] == "/password?next=%2Ffindings"
    page = client.get(answer.headers["location"])
    assert page.status_code == 200 and "Choose a new password" in page.text
    assert 'value="/findings"' in page.text and 'aria-label="Main"' not in page.text  # no way around it
    return hidden(page.text)


@pytest.mark.parametrize("fields, status, words", [
    ({"current": "wrong-password-123"}, 400, "current password is wrong"),
    ({"confirm": NEW_PASSWORD + "x"}, 400, "two new passwords differ"),
    ({"new": "short", "confirm": "short"}, 400, "shorter than 12"),
    ({"new": PASSWORD, "confirm": PASSWORD}, 400, "same as the current one"),
    ({"csrf": "x" * 43}, 403, "CSRF"),
])
def test_a_bad_password_change_is_refused_with_a_sentence(client: TestClient, fields: dict[str, str], status: int,
                                                          words: str) -> None:
    accounts.add_user(app_of(client).state.db.engine, "otto", "viewer", PASSWORD, one_time=True)
    token = one_time_login(client, "otto")
    form = {"csrf": token, "current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD, **fields}
    answer = client.post("/password", data=form)
    assert answer.status_code == status and words in answer.text
    assert accounts.get_user(app_of(client).state.db.engine, "otto").must_change  # nothing changed
    assert client.get("/").headers["location"] == "/password"


def test_a_one_time_password_must_be_changed_before_anything_else(client: TestClient) -> None:
    engine = app_of(client).state.db.engine
    accounts.add_user(engine, "otto", "responder", PASSWORD, one_time=True)
    api_token = accounts.create_token(engine, "otto")
    token = one_time_login(client, "otto")
    for path in [*(p for p in web.PAGES if p != "/password"), "/stores/analytics-copy", "/incidents/x"]:
        answer = client.get(path)
        assert (answer.status_code, answer.headers.get("location")) == (303, "/password"), path
    answer = client.post("/findings/f1/suppress", data={"csrf": token, "reason": "x"})
    assert (answer.status_code, answer.headers.get("location")) == (303, "/password")
    for path in ("/api/v1/stores", "/api/v1/findings", "/api/v1/overview"):  # the API through the session
        answer = client.get(path)
        assert answer.status_code == 403 and "one-time password" in answer.json()["detail"], path
    bearer = {"Authorization": f"Bearer {api_token}"}
    assert client.get("/api/v1/stores", headers=bearer).status_code == 200  # tokens are not affected
    other = TestClient(client.app, follow_redirects=False)  # a one-time session may still log out
    other_token = one_time_login(other, "otto")
    assert other.post("/logout", data={"csrf": other_token}).headers["location"] == "/login"
    assert other.get("/password").headers["location"] == "/login?next=/password"
    answer = client.post("/password", data={"csrf": token, "current": PASSWORD, "new": NEW_PASSWORD,
                                            "confirm": NEW_PASSWORD, "next": "/findings"})
    assert (answer.status_code, answer.headers["location"]) == (303, "/findings")
    assert client.get("/findings").status_code == 200 and client.get("/api/v1/stores").status_code == 200
    user = accounts.get_user(engine, "otto")
    assert not user.must_change
    with engine.begin() as conn:
        stored = conn.execute(select(schema.cp_users.c.password_hash, schema.cp_users.c.password_changed_at)
                              .where(schema.cp_users.c.name == "otto")).one()
    assert stored.password_hash.startswith("$argon2id$") and stored.password_changed_at
    assert accounts.verify_password(engine, "otto", PASSWORD) is None
    assert accounts.verify_password(engine, "otto", NEW_PASSWORD) is not None
    entry = views.audit_document(app_of(client).state.plane)["entries"][0]
    assert (entry["user"], entry["action"], entry["subject"], entry["detail"]) == \
        ("otto", "user.password", "otto", {"one_time": True})
    assert PASSWORD not in json.dumps(entry) and NEW_PASSWORD not in json.dumps(entry)


def test_any_user_changes_their_own_password_and_their_other_sessions_end(client: TestClient) -> None:
    assert login(client, "val")[0] == 303
    elsewhere = TestClient(client.app, follow_redirects=False)
    assert login(elsewhere, "val")[0] == 303
    page = client.get("/password")
    assert page.status_code == 200 and "Change your password" in page.text and 'href="/password"' in page.text
    answer = client.post("/password", data={"csrf": hidden(page.text), "current": PASSWORD, "new": NEW_PASSWORD,
                                            "confirm": NEW_PASSWORD})
    assert (answer.status_code, answer.headers["location"]) == (303, "/")
    assert client.get("/").status_code == 200  # this session goes on
    assert elsewhere.get("/").headers["location"] == "/login"  # the other one ended
    entry = views.audit_document(app_of(client).state.plane)["entries"][0]
    assert (entry["user"], entry["action"], entry["detail"]) == ("val", "user.password", {"one_time": False})
    client.cookies.clear()
    assert login(client, "val")[0] == 401 and login(client, "val", NEW_PASSWORD)[0] == 303


def test_a_password_change_gives_a_new_session_id_so_a_stolen_cookie_ends(client: TestClient) -> None:
    """A copy of the session's cookie (stolen before the change, or one an admin who knew the one-time password
    logged in with) stops working when the password changes: the browser that changed it gets a new session."""
    assert login(client, "val")[0] == 303
    stolen = TestClient(client.app, follow_redirects=False)
    stolen.cookies.update(dict(client.cookies))
    assert stolen.get("/").status_code == 200
    page = client.get("/password")
    answer = client.post("/password", data={"csrf": hidden(page.text), "current": PASSWORD, "new": NEW_PASSWORD,
                                            "confirm": NEW_PASSWORD})
    assert answer.status_code == 303 and "set-cookie" in answer.headers
    assert client.get("/").status_code == 200  # the browser that changed it goes on, with its new session
    assert stolen.get("/").headers["location"] == "/login"
    assert stolen.get("/api/v1/stores").status_code == 401


def test_an_open_event_stream_ends_with_its_session_or_token(tmp_path: Path, seeded: Path) -> None:
    """/api/v1/events checks its caller once per few seconds, not only when it opens: the stream of a session
    that ended (logout, a password change, a stolen copy of the cookie) or of a disabled user's token stops."""
    for part in seeded.parent.glob("state.db*"):
        shutil.copy2(part, tmp_path / part.name)
    with ThreadedServer(str(tmp_path / "state.db")) as running, httpx.Client(base_url=running.url) as browser:
        page = browser.get("/login")
        assert browser.post("/login", data={"csrf": hidden(page.text), "name": "val",
                                            "password": PASSWORD}).status_code == 303
        token = accounts.create_token(running.state.engine, "rita")
        ended = {"session": threading.Event(), "token": threading.Event()}
        opened = {"session": threading.Event(), "token": threading.Event()}

        def listen(kind: str, headers: dict[str, str]) -> None:
            with httpx.stream("GET", f"{running.url}/api/v1/events", headers=headers,
                              timeout=httpx.Timeout(10, read=60)) as answer:
                assert answer.status_code == 200
                for line in answer.iter_lines():
                    if line.startswith(": connected"):
                        opened[kind].set()
            ended[kind].set()

        cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())  # a copy of the session's cookie
        for kind, headers in (("session", {"Cookie": cookie}), ("token", {"Authorization": f"Bearer {token}"})):
            threading.Thread(target=listen, args=(kind, headers), daemon=True).start()
            wait_until(opened[kind].is_set, 30, f"the {kind}'s stream to open")
        home = browser.get("/").text
        assert browser.post("/logout", data={"csrf": hidden(home)}).status_code == 303
        wait_until(ended["session"].is_set, 30, "the ended session's stream to stop")
        accounts.disable_user(running.state.engine, "rita")
        wait_until(ended["token"].is_set, 30, "the disabled user's stream to stop")


def test_an_admin_sets_a_forgotten_password_one_time_and_the_users_sessions_end(client: TestClient) -> None:
    val = TestClient(client.app, follow_redirects=False)
    assert login(val, "val")[0] == 303
    assert login(client, "ana")[0] == 303
    token = hidden(client.get("/settings").text)
    short = client.post("/settings/users/val/password", data={"csrf": token, "password": "short"})
    assert short.status_code == 400 and "shorter than 12" in short.text
    answer = client.post("/settings/users/val/password", data={"csrf": token, "password": NEW_PASSWORD})
    assert answer.status_code == 200 and "one-time" in answer.text
    assert 'action="/settings/users/ana/password"' not in answer.text  # one's own: on the password page
    assert val.get("/").headers["location"] == "/login"  # val's session ended
    val.cookies.clear()
    one_time_login(val, "val", NEW_PASSWORD)  # the next login asks val for a password of their own
    entry = views.audit_document(app_of(client).state.plane)["entries"][0]
    assert (entry["user"], entry["action"], entry["subject"]) == ("ana", "user.password_set", "val")
    assert NEW_PASSWORD not in json.dumps(entry)
    assert client.get("/settings").status_code == 200  # the admin's own session goes on


def test_wrong_current_passwords_are_throttled_like_logins(client: TestClient, clock: Clock) -> None:
    assert login(client, "val")[0] == 303
    token = hidden(client.get("/password").text)
    form = {"csrf": token, "current": "wrong-password-123", "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    for _ in range(5):
        assert client.post("/password", data=form).status_code == 400
    assert client.post("/password", data={**form, "current": PASSWORD}).status_code == 429
    clock.advance(minutes=16)
    assert client.post("/password", data={**form, "current": PASSWORD}).status_code == 303


def test_findings_pages_follow_the_cursor_of_next(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(web, "PAGE_SIZE", 1)
    assert login(client, "val")[0] == 303
    first = client.get("/findings?state=all").text
    link = re.search(r'<a href="([^"]+)" rel="next">Next</a>', first)
    assert link and "cursor=" in link.group(1) and "data-finding=\"f1\"" in first
    second = client.get(link.group(1).replace("&amp;", "&")).text
    assert "data-finding=\"f0\"" in second and "data-finding=\"f1\"" not in second
    assert 'rel="next"' not in second and "page=1" in second  # the last page; back by page number
    bad = client.get("/findings?cursor=nonsense")
    assert bad.status_code == 400 and "not one this server gave" in bad.text
    for state in ("open", "all"):  # a page number past what SQL's integers hold: a sentence, not a server error
        far = client.get(f"/findings?state={state}&page={10**20}")
        assert far.status_code == 400 and "past" in far.text, far.text


def test_pages_never_show_a_raw_value(client: TestClient) -> None:
    """Canary: a raw value planted where only redacted evidence belongs never reaches a page."""
    engine = app_of(client).state.db.engine
    with engine.begin() as conn:
        conn.execute(schema.stores.update().where(schema.stores.c.store == "orders").values(extra=CANARY))
    assert login(client, "ana")[0] == 303
    for method, path in page_routes(client):
        if method == "GET":
            text = client.get(concrete(path)).text
            assert CANARY not in text and PASSWORD not in text, path


def test_stores_list_filters_and_store_page(client: TestClient) -> None:
    assert login(client, "val")[0] == 303
    listed = client.get("/stores?state=exposed").text
    assert "analytics-copy" in listed and "orders" not in listed.split("<tbody>")[1]
    assert "cache" in client.get("/stores?kind=memcached").text.split("<tbody>")[1]
    assert "No store matches" in client.get("/stores?q=nothing-like-it").text
    page = client.get("/stores/analytics-copy").text
    assert "redis://:***@10.0.0.5:6379" in page and SECRET not in page  # the target's password redacted
    assert "user:*" in page and "2,400" in page and "health" in page  # what is inside: categories, counts
    assert page.count('<rect class="open"') == 1 and page.count('<rect class="closed"') == 1  # the timeline
    assert "exposed" in page.split('id="events"')[1]  # probe history
    assert client.get("/stores/nowhere").status_code == 404


def test_copies_lists_manifests_and_flags_expired_ones(client: TestClient) -> None:
    assert login(client, "val")[0] == 303
    page = client.get("/copies").text
    rows = {name: page.split(f'data-copy="{name}"')[1].split("</tr>")[0] for name in ("analytics-safe", "old-export")}
    assert "k-7f3e9a" in rows["analytics-safe"] and "2999-01-31" in rows["analytics-safe"]
    assert "2,400,000" in rows["analytics-safe"] and "expired" not in rows["analytics-safe"]
    assert "expired" in rows["old-export"]
    assert "analytics-copy" not in page.split("<tbody>")[1]  # a store that holds no manifest is not a copy


def test_settings_by_role(client: TestClient, webhook_receiver: WebhookReceiver) -> None:
    app = app_of(client)
    app.state.policy = load_policy(write_policy(Path(app.state.db.location).parent / "p2", webhook_receiver.url))
    assert login(client, "val")[0] == 303
    page = client.get("/settings").text
    assert "analytics-safe" in page and SECRET not in page and "security-webhook" in page
    assert "Send test alert" not in page and 'id="users"' not in page  # a viewer sees no admin control
    token = hidden(page)
    assert client.post("/settings/alerts/0/test", data={"csrf": token}).status_code == 403
    assert client.post("/settings/users", data={"csrf": token, "name": "eve", "role": "admin",
                                                "password": PASSWORD}).status_code == 403
    client.cookies.clear()
    assert login(client, "ana")[0] == 303
    page = client.get("/settings").text
    token = hidden(page)
    assert "Send test alert" in page and 'data-user="val"' in page
    answer = client.post("/settings/alerts/0/test", data={"csrf": token})
    assert answer.status_code == 200 and "A test alert was sent to security-webhook" in answer.text
    assert webhook_receiver.received[-1]["event"] == "test"
    answer = client.post("/settings/users/val/tokens", data={"csrf": token})
    new_token = re.search(r'id="new-token">(dw_[^<]+)<', answer.text)
    assert new_token and accounts.user_for_token(app.state.db.engine, new_token.group(1)).name == "val"  # type: ignore[union-attr]
    assert new_token.group(1) not in client.get("/settings").text  # shown once
    answer = client.post("/settings/users", data={"csrf": token, "name": "nina", "role": "responder",
                                                  "password": "short"})
    assert answer.status_code == 400 and "shorter than 12" in answer.text
    answer = client.post("/settings/users", data={"csrf": token, "name": "nina", "role": "responder",
                                                  "password": PASSWORD})
    assert answer.status_code == 200 and 'data-user="nina"' in answer.text and "one-time" in answer.text
    assert accounts.get_user(app.state.db.engine, "nina").must_change  # an admin chose it: nina changes it
    assert client.post("/settings/users/nina/disable", data={"csrf": token}).status_code == 200
    assert accounts.get_user(app.state.db.engine, "nina").disabled
    audit = [(e["user"], e["action"], e["subject"]) for e in views.audit_document(app.state.plane)["entries"]]
    assert audit[:4] == [("ana", "user.disable", "nina"), ("ana", "user.add", "nina"),
                         ("ana", "token.create", "val"), ("ana", "alert.test", "security-webhook")]
    assert new_token.group(1) not in json.dumps(views.audit_document(app.state.plane))


def test_findings_filter_export_and_suppress(client: TestClient, tmp_path: Path) -> None:
    assert login(client, "val")[0] == 303
    page = client.get("/findings").text
    assert 'data-finding="f1"' in page and 'data-finding="f0"' not in page  # open ones by default
    assert "Suppress" not in page  # a viewer gets no response step
    assert 'data-finding="f0"' in client.get("/findings?state=fixed").text
    assert "No finding matches" in client.get("/findings?severity=low").text
    assert 'data-finding="f1"' in client.get("/findings?severity=critical&store=analytics-copy").text
    assert client.get("/findings?severity=nonsense").status_code == 400
    export = re.search(r'id="export-sarif" href="([^"]+)"', client.get("/findings?severity=critical").text)
    assert export and "severity=critical" in export.group(1)
    sarif = client.get(export.group(1).replace("&amp;", "&"))
    assert sarif.status_code == 200 and sarif.json()["version"] == "2.1.0"
    token = hidden(page)
    assert client.post("/findings/f1/suppress", data={"csrf": token, "reason": "x"}).status_code == 403
    client.cookies.clear()
    assert login(client, "rita")[0] == 303
    token = hidden(client.get("/findings").text)
    assert client.post("/findings/f1/suppress", data={"reason": "accepted"}).status_code == 403  # no CSRF token
    answer = client.post("/findings/f1/suppress", data={"csrf": token, "reason": "test copy, wiped on Friday",
                                                        "expires": "2027-06-30", "back": "severity=critical"})
    assert answer.status_code == 303 and answer.headers["location"] == "/findings?severity=critical"
    assert 'data-finding="f1"' not in client.get("/findings").text  # hidden from the open findings
    suppressed = client.get("/findings?state=suppressed").text
    assert 'data-finding="f1"' in suppressed and "test copy, wiped on Friday" in suppressed
    baseline = json.loads((tmp_path / "baseline.json").read_text())
    assert [(s["id"], s["reason"]) for s in baseline["suppressions"]] == [("f1", "test copy, wiped on Friday")]
    audit = views.audit_document(app_of(client).state.plane)["entries"]
    assert (audit[0]["user"], audit[0]["action"], audit[0]["subject"]) == ("rita", "finding.suppress", "f1")
    answer = client.post("/findings/f1/unsuppress", data={"csrf": token})
    assert answer.status_code == 303 and 'data-finding="f1"' in client.get("/findings").text


def test_incident_from_a_window_by_role(client: TestClient) -> None:
    assert login(client, "val")[0] == 303
    page = client.get("/incidents").text
    assert "Open incident" not in page and "Open an incident" not in client.get("/").text
    answer = client.post("/incidents", data={"csrf": hidden(page), "window": "1", "name": "x"})
    assert answer.status_code == 403  # a viewer: the step is refused, not only hidden
    client.cookies.clear()
    assert login(client, "rita")[0] == 303
    overview = client.get("/").text
    assert "Open an incident" in overview
    window = hidden(overview, "window")
    answer = client.post("/incidents", data={"csrf": hidden(overview), "window": window,
                                             "name": hidden(overview, "name")})
    assert answer.status_code == 303 and answer.headers["location"] == "/incidents/analytics-copy-2026-12-07"
    page = client.get(answer.headers["location"]).text
    assert "analytics-copy" in page and "2026-12-07T07:33:00Z" in page and "No blast radius yet" in page
    assert "Build lookup site" not in page  # it needs the blast radius
    assert "Compute blast radius" in page and "--source URL" in page  # serve was started without --source
    answer_radius = client.post("/incidents/analytics-copy-2026-12-07/blast-radius", data={"csrf": hidden(page)})
    assert answer_radius.status_code == 400 and "start `dataward serve` with --source" in answer_radius.text
    answer_lookup = client.post("/incidents/analytics-copy-2026-12-07/lookup", data={"csrf": hidden(page)})
    assert answer_lookup.status_code == 400 and "no blast radius yet" in answer_lookup.text
    with app_of(client).state.db.engine.begin() as conn:  # respond and notify progress, as their jobs record it
        conn.execute(schema.ledger.insert(), [
            {"incident": "analytics-copy-2026-12-07", "step": "revoke_tokens", "unit": str(i),
             "state": "done" if i < 3 else "pending", "detail": None, "updated_at": "2026-12-07T10:00:00Z"}
            for i in range(5)])
        conn.execute(schema.sends.insert(), [
            {"incident": "analytics-copy-2026-12-07", "user_id": i, "state": "sent", "message_id": f"m{i}",
             "updated_at": "2026-12-07T10:00:00Z"} for i in range(7)])
    page = client.get(answer.headers["location"]).text
    assert "revoke_tokens" in page and "done 3, pending 2" in page
    assert 'id="audit-log"><span class="audit-absent">absent</span>' in page  # no respond or notify run yet
    assert "sent</td><td class=\"num\">7</td>" in page
    listed = client.get("/incidents").text
    assert 'data-incident="analytics-copy-2026-12-07"' in listed
    assert "analytics-copy-2026-12-07-2" in listed  # the next suggestion for the same window is free


def test_incident_jobs_by_role_csrf_and_without_settings(client: TestClient, tmp_path: Path) -> None:
    """The response playbook and notices buttons: absent for a viewer (the POST refused anyway), a POST without
    the CSRF token refused, 400 with a sentence when serve has no --playbook or --smtp, 409 while one runs."""
    plane = app_of(client).state.plane
    views.open_incident(plane, "jobs-x", accounts.get_user(plane.engine, "rita"), store="analytics-copy",  # type: ignore[arg-type]
                        window_from="2026-12-01", window_to="2026-12-02")
    assert login(client, "val")[0] == 303
    page = client.get("/incidents/jobs-x").text
    assert "Run response playbook" not in page and "Send notices" not in page and 'id="run-respond"' not in page
    for step in ("respond", "notify"):
        assert client.post(f"/incidents/jobs-x/{step}", data={"csrf": hidden(page)}).status_code == 403
    client.cookies.clear()
    assert login(client, "rita")[0] == 303
    page = client.get("/incidents/jobs-x").text
    assert "Run response playbook" in page and "Send notices" in page and "--playbook FILE" in page
    assert client.post("/incidents/jobs-x/respond", data={}).status_code == 403  # no CSRF token
    assert client.post("/api/v1/incidents/jobs-x/respond", json={}).status_code == 403  # nor X-CSRF-Token
    answer = client.post("/incidents/jobs-x/respond", data={"csrf": hidden(page)})
    assert answer.status_code == 400 and "--playbook" in answer.text
    answer = client.post("/incidents/jobs-x/notify", data={"csrf": hidden(page)})
    assert answer.status_code == 400 and "Tick the box" in answer.text  # a click sends mail: confirmed first
    answer = client.post("/incidents/jobs-x/notify", data={"csrf": hidden(page), "confirm": "1"})
    assert answer.status_code == 400 and "--smtp" in answer.text
    api = client.post("/api/v1/incidents/jobs-x/notify", headers={"X-CSRF-Token": hidden(page)}, json={})
    assert api.status_code == 400 and api.json()["tip"]  # the page's script posts here
    assert [e["action"] for e in views.audit_document(plane)["entries"]] == ["incident.open"]  # nothing started
    book = tmp_path / "playbook.toml"
    book.write_text('[response]\nscope = "all"\n\n[[step]]\naction = "force_logout"\n')
    plane.steps = views.StepSettings(playbook=str(book))
    go = threading.Event()
    plane.jobs.start("jobs-x", "respond", "rita", lambda checkpoint: {"held": go.wait(30)})
    try:
        answer = client.post("/incidents/jobs-x/respond", data={"csrf": hidden(page), "dry_run": "1"})
        assert answer.status_code == 409 and "already running" in answer.text
        assert "running since" in client.get("/incidents/jobs-x").text
        assert "(running: respond)" in client.get("/incidents").text
    finally:
        go.set()
        plane.jobs.stop()


# ---- a real browser on a real server ------------------------------------------------------------------
class ThreadedServer:
    """uvicorn on a free loopback port in a thread of the test process."""

    def __init__(self, db: str, policy: Path | None = None) -> None:
        self.state = StateDB(db)
        self.port = free_port()
        self.app = create_app(self.state)
        self.app.state.policy = load_policy(policy) if policy else None
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port,
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        wait_until(lambda: self.server.started, timeout=30, what="the server to start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.state.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    folder = tmp_path_factory.mktemp("serve-web")
    db = str(folder / "state.db")
    seed(db)
    with ThreadedServer(db, write_policy(folder, "http://127.0.0.1:9/hook/unused")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return artifacts(tmp_path_factory)


def watch_console(page: Page) -> list[str]:
    """The page's console errors from here on (a CSP violation is one: "Refused to ... Content Security Policy")."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def browser_login(browser: Browser, server: ThreadedServer | LiveServe, name: str, path: str = "/") -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.console_errors = watch_console(page)  # type: ignore[attr-defined]
    page.goto(server.url + path)
    assert "/login" in page.url
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(server.url + path)
    return page


def test_browser_login_and_overview(browser: Browser, server: ThreadedServer, shots: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors = watch_console(page)
    page.goto(server.url + "/")
    page.wait_for_url(re.compile(r".*/login.*"))
    page.screenshot(path=str(shots / "login.png"))
    page.fill("input[name=name]", "val")
    page.fill("input[name=password]", "wrong-password-123")
    page.click("button[type=submit]")
    assert "Wrong name or password" in page.inner_text(".error")
    page.fill("input[name=password]", PASSWORD)
    errors.clear()  # the wrong password's 401 was expected
    page.click("button[type=submit]")
    page.wait_for_url(server.url + "/")
    assert page.is_visible("#exposed-banner") and "analytics-copy" in page.inner_text("#exposed-banner")
    assert page.inner_text("tr[data-store=cache] .state-cell") == "unreachable"
    assert "Open an incident" not in page.content()  # a viewer gets no response-step button
    assert page.is_visible("#windows tr[data-window-store=analytics-copy]")
    page.screenshot(path=str(shots / "overview.png"), full_page=True)
    assert not errors, errors  # no CSP violation (no inline script or style), no script error
    context.close()


def test_browser_pages_by_role(browser: Browser, server: ThreadedServer, shots: Path) -> None:
    """Each page in the browser (screenshots kept); an admin sees the admin controls, a viewer does not."""
    page = browser_login(browser, server, "ana", "/stores")
    page.screenshot(path=str(shots / "stores.png"), full_page=True)
    page.click("text=analytics-copy")
    page.wait_for_url(server.url + "/stores/analytics-copy")
    assert page.is_visible("svg.timeline rect.open")
    page.screenshot(path=str(shots / "store.png"), full_page=True)
    page.goto(server.url + "/copies")
    assert page.is_visible("tr[data-copy=old-export] .expired-flag")
    page.screenshot(path=str(shots / "copies.png"), full_page=True)
    page.goto(server.url + "/settings")
    assert page.is_visible("text=Send test alert") and page.is_visible("#users")
    page.screenshot(path=str(shots / "settings.png"), full_page=True)
    assert not page.console_errors, page.console_errors  # type: ignore[attr-defined]
    page.context.close()
    viewer = browser_login(browser, server, "val", "/settings")
    assert not viewer.is_visible("text=Send test alert") and not viewer.is_visible("#users")
    viewer.context.close()


def test_browser_suppress_and_incident_with_the_clis_blast_radius(browser: Browser, server: ThreadedServer,
                                                                   shots: Path) -> None:
    """A responder suppresses a finding (hidden, in the baseline), then opens an incident from the overview's
    window in one click; once `incident blast-radius` has run, the page shows the CLI's numbers."""
    from incident_helpers import cloud_tables, exposed_copy, write_store

    page = browser_login(browser, server, "rita", "/findings")
    page.screenshot(path=str(shots / "findings.png"), full_page=True)
    row = page.locator("tr[data-finding=f1]")
    row.locator("summary").click()
    row.locator("input[name=reason]").fill("a test copy, wiped on Friday")
    row.locator("button[type=submit]").click()
    page.wait_for_url(server.url + "/findings")
    assert page.locator("tr[data-finding=f1]").count() == 0
    baseline = json.loads((Path(server.state.location).parent / "baseline.json").read_text())
    assert [(s["id"], s["reason"]) for s in baseline["suppressions"]] == [("f1", "a test copy, wiped on Friday")]
    page.goto(server.url + "/findings?state=suppressed")
    assert "a test copy, wiped on Friday" in page.inner_text("tr[data-finding=f1]")
    page.click("tr[data-finding=f1] button:has-text('Unsuppress')")
    page.wait_for_url(server.url + "/findings?state=suppressed")
    assert page.locator("tr[data-finding=f1]").count() == 0

    page.goto(server.url + "/")
    page.click("#windows button:has-text('Open an incident')")
    page.wait_for_url(server.url + "/incidents/analytics-copy-2026-12-07")
    assert "No blast radius yet" in page.content()
    root = Path(server.state.location).parent
    prod = cloud_tables(users=120)
    source = write_store(f"sqlite:///{root}/prod.db", prod)
    copy = write_store(f"sqlite:///{root}/copy.db", exposed_copy(prod, {"users": ["id", "email", "country"]}))
    result = CliRunner().invoke(cli, ["incident", "blast-radius", "analytics-copy-2026-12-07", "--source", source,
                                      "--exposed", copy, "--format", "json", "--db", server.state.location])
    assert result.exit_code == 0, result.output
    expected = json.loads(result.stdout)
    page.reload()
    assert page.inner_text("#affected").replace(",", "") == str(expected["affected_customers"])
    shown = {r.get_attribute("data-field"): int(r.inner_text().split()[-1].replace(",", ""))
             for r in page.locator("#by-field tr[data-field]").all()}
    assert shown == expected["by_field"]
    regions = {r.get_attribute("data-region"): int(r.inner_text().split()[-1].replace(",", ""))
               for r in page.locator("#by-region tr[data-region]").all()}
    assert regions == expected["by_region"]
    assert [o.get_attribute("data-obligation") for o in page.locator("#obligations tr[data-obligation]").all()] \
        == [o["id"] for o in expected["obligations"]]
    assert "Not built yet" in page.inner_text("#lookup")
    page.click("#lookup button:has-text('Build lookup site')")  # as `incident lookup build`, into --lookup-dir
    page.wait_for_url(server.url + "/incidents/analytics-copy-2026-12-07")  # a background job: the page
    page.wait_for_selector("#lookup-files", timeout=30_000)  # reloads itself at its end: the site's shape shows
    assert "Built" in page.inner_text("#lookup-built") and page.is_visible("text=Rebuild lookup site")
    assert "range files for" in page.inner_text("#lookup-job")
    site = Path(server.state.location).parent / "lookup" / "analytics-copy-2026-12-07"
    assert page.inner_text("#lookup-files").replace(",", "") == str(len(list((site / "range").iterdir())))
    page.screenshot(path=str(shots / "incident.png"), full_page=True)
    page.goto(server.url + "/incidents")
    page.screenshot(path=str(shots / "incidents.png"), full_page=True)
    assert not page.console_errors, page.console_errors  # type: ignore[attr-defined]
    page.context.close()


def test_browser_runs_the_playbook_and_its_progress_appears_without_reload(browser: Browser, server: ThreadedServer,
                                                                           shots: Path) -> None:
    """A responder clicks "Run response playbook": the job runs in the server, and the page (not reloaded)
    shows the steps done and the job's end; a viewer has no such button."""
    from incident_helpers import cloud_tables, exposed_copy, write_store

    from dataward.incident import ops
    from dataward.incident.store import IncidentDB

    root = Path(server.state.location).parent
    tables = cloud_tables(users=120)
    prod = write_store(f"sqlite:///{root}/jobs-prod.db", tables)
    copy = write_store(f"sqlite:///{root}/jobs-copy.db",
                       exposed_copy(tables, {"users": ["id", "email"], "api_tokens": ["id", "user_id", "access_token"]}))
    with IncidentDB(server.state.location) as db:
        ops.open_incident(db, "browser-respond", copy, "2019-12-04", "2019-12-26")
        ops.run_blast_radius(db, "browser-respond", prod)
    playbook = root / "jobs-playbook.toml"
    playbook.write_text(f'[response]\ndatabase = "{prod}"\nbatch = 10\n\n[[step]]\naction = "revoke_tokens"\n\n'
                        '[[step]]\naction = "force_logout"\n')
    plane = server.app.state.plane
    plane.steps, plane.audit_log = views.StepSettings(playbook=str(playbook)), str(root / "audit.jsonl")
    viewer = browser_login(browser, server, "val", "/incidents/browser-respond")
    assert viewer.locator("#run-respond").count() == 0 and viewer.locator("#run-notify").count() == 0
    viewer.context.close()
    page = browser_login(browser, server, "rita", "/incidents/browser-respond")
    page.wait_for_selector("body[data-events-open]", timeout=10_000)
    assert "No respond step has run" in page.inner_text("#respond")
    page.evaluate("window.dwMarker = 1")  # gone if the page reloads
    page.click("#run-respond button:has-text('Run response playbook')")
    page.wait_for_selector("#respond-job[data-state=done]", timeout=60_000)
    assert page.evaluate("window.dwMarker") == 1
    progress = page.inner_text("#respond tbody")
    assert "revoke_tokens" in progress and "force_logout" in progress and "done" in progress
    assert "revoke_tokens changed" in page.inner_text("#respond-job") and page.is_hidden("#job-error")
    page.wait_for_selector("#audit-log .audit-verified", timeout=10_000)  # the job's entries, signed at its end
    content = page.content()  # canary: no customer's email on the page, whatever the job did
    assert not any(str(e) in content for e in tables["users"]["email"].to_pylist() if e)
    page.screenshot(path=str(shots / "incident-respond.png"), full_page=True)
    assert not page.console_errors, page.console_errors  # type: ignore[attr-defined]
    page.click("#run-notify button:has-text('Send notices')")  # not confirmed: the browser does not post it
    assert page.is_hidden("#job-error") and page.evaluate("document.querySelector('#run-notify input[name=confirm]')"
                                                         ".validity.valueMissing")
    page.check("#run-notify input[name=confirm]")
    page.click("#run-notify button:has-text('Send notices')")  # serve has no --smtp: the sentence shows
    page.wait_for_selector("#job-error:not([hidden])", timeout=10_000)
    assert "--smtp" in page.inner_text("#job-error") and page.evaluate("window.dwMarker") == 1
    page.context.close()
    plane.steps, plane.audit_log = views.StepSettings(), None


def test_browser_first_login_with_the_demos_one_time_password(browser: Browser, tmp_path: Path, shots: Path) -> None:
    """`make demo SERVE=1`'s account on a real `dataward serve` process: the printed one-time password logs in
    once, every page then leads to "choose a new password" and the API refuses the session until it is done."""
    db = tmp_path / "state.db"
    seed(str(db))
    server, one_time = start_control_plane(db)
    try:
        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        errors = watch_console(page)
        page.goto(server.url + "stores")
        page.fill("input[name=name]", "admin")
        page.fill("input[name=password]", one_time)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r".*/password\?next=%2Fstores$"))
        assert "Choose a new password" in page.inner_text("h1") and not page.is_visible("nav")
        page.screenshot(path=str(shots / "password.png"))
        answer = page.request.get(server.url + "api/v1/stores")
        assert answer.status == 403 and "one-time password" in answer.json()["detail"]
        page.goto(server.url + "settings")
        page.wait_for_url(server.url + "password")
        page.fill("input[name=current]", one_time)
        page.fill("input[name=new]", NEW_PASSWORD)
        page.fill("input[name=confirm]", NEW_PASSWORD)
        page.click("#password button[type=submit]")  # (the header's Log out is a submit button too)
        page.wait_for_url(server.url)  # the password page left without its next: the overview
        assert page.is_visible("nav") and page.is_visible("#exposed-banner")
        assert page.request.get(server.url + "api/v1/stores").status == 200
        page.goto(server.url + "settings")
        assert "user.password" in page.inner_text("#audit") and not errors, errors
        page.context.close()
    finally:
        server.stop()
    engine = open_state_db(str(db))
    assert accounts.verify_password(engine, "admin", one_time) is None  # it worked once
    assert not accounts.get_user(engine, "admin").must_change
    engine.dispose()


# ---- the live banner: `dataward serve --config` watching a real Redis, the page already open ----------------
@dataclass
class LiveServe:
    """`dataward serve` as a process, watching one Redis every second."""

    root: Path
    redis: RedisServer
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.port = free_port()
        log = (self.root / "serve.log").open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "dataward", "serve", "--config", "dataward.toml",
                                      "--listen", f"127.0.0.1:{self.port}"], stdout=log, stderr=subprocess.STDOUT,
                                     cwd=self.root, env={**os.environ, "PYTHONUNBUFFERED": "1"})

        def answers() -> bool:
            assert self.proc is not None and self.proc.poll() is None, (self.root / "serve.log").read_text()
            try:
                return httpx.get(f"{self.url}/healthz").status_code == 200
            except httpx.TransportError:
                return False

        wait_until(answers, timeout=60, what="dataward serve to answer")

    def state_of(self, store: str, token: str) -> str | None:
        doc = httpx.get(f"{self.url}/api/v1/stores", headers={"Authorization": f"Bearer {token}"}).json()
        return next((s["state"] for s in doc["stores"] if s["name"] == store), None)


@pytest.fixture(scope="module")
def live(redis_factory: ServerFactory[RedisServer], tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServe]:
    root = tmp_path_factory.mktemp("serve-web-live")
    rd = redis_factory.new(requirepass="cache-pw-web-41c")
    with rd.admin_client() as client:  # customer values the watcher's full scan will sample
        for i in range(30):
            client.set(f"user:{i}", f"{i}.{CANARY}")
    (root / "dataward.toml").write_text(f'[[store]]\nname = "cache"\nurl = "{rd.url()}"\n\n'
                                        '[watch]\ninterval = "1s"\nstate = "state.db"\n')
    engine = open_state_db(str(root / "state.db"))
    accounts.add_user(engine, "val", "viewer", PASSWORD)
    engine.dispose()
    server = LiveServe(root, rd)
    server.start()
    yield server
    if server.proc is not None:
        server.proc.terminate()
        server.proc.wait(timeout=30)
    rd.stop()


def test_browser_banner_appears_without_reload_when_protection_is_switched_off(
        browser: Browser, live: LiveServe, shots: Path) -> None:
    engine = open_state_db(str(live.root / "state.db"))
    token = accounts.create_token(engine, "val")
    engine.dispose()
    wait_until(lambda: live.state_of("cache", token) == "protected", timeout=30, what="the first probe")
    page = browser_login(browser, live, "val")
    assert page.is_hidden("#exposed-banner")
    page.wait_for_selector("body[data-events-open]", timeout=10_000)
    page.evaluate("window.dwMarker = 1")  # gone if the page reloads
    switched = time.monotonic()
    live.redis.config_set("requirepass", "")  # protection switched off
    page.wait_for_selector("#exposed-banner:not([hidden])", timeout=15_000)
    seen = time.monotonic() - switched
    assert page.evaluate("window.dwMarker") == 1  # no reload happened
    assert "cache" in page.inner_text("#exposed-banner")
    assert page.inner_text("tr[data-store=cache] .state-cell") == "exposed"
    assert (page.inner_text("#count-exposed"), page.inner_text("#count-protected")) == ("1", "0")
    assert page.is_visible("#windows tr[data-window-store=cache]") and page.is_hidden("#no-windows")
    page.screenshot(path=str(shots / "overview-live.png"), full_page=True)
    (shots / "banner-seconds.txt").write_text(f"{seen:.2f}\n")  # from the switch, probe interval 1 s included

    def scanned() -> bool:  # the full scan that follows the exposure has sampled the values
        found = httpx.get(f"{live.url}/api/v1/findings?store=cache",
                          headers={"Authorization": f"Bearer {token}"}).json()["findings"]
        return any(f.get("categories") for f in found)

    wait_until(scanned, timeout=30, what="the full scan of the exposed store")
    pages = [*web.PAGES, "/stores/cache", "/findings?state=all", "/stores?state=exposed"]
    for path in pages:  # canary: the sampled values never reach a page
        answer = page.request.get(live.url + path)
        assert answer.status == 200, path
        assert CANARY not in answer.text() and "cache-pw-web-41c" not in answer.text(), path
    assert "email" in page.request.get(live.url + "/stores/cache").text()  # what was sampled, as a category
    assert not page.console_errors, page.console_errors  # type: ignore[attr-defined]
    page.context.close()
