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
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from dataward.localservers.ports import free_port
from dataward.manifest import MANIFEST_FILE, Manifest, TableCopy
from dataward.policy import load_policy
from dataward.serve import accounts, web
from dataward.serve.app import create_app
from dataward.state import open_state_db, schema
from dataward.testing.receivers import WebhookReceiver
from dataward.testing.waiting import wait_until
from dataward.watch.state import StateDB

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "canary-Passw0rd-7f3e9a1c"
CANARY = "canary.person@example.invalid"  # a raw value that must never reach a page
SECRET = "s3cret-canary-pw"  # a store password in a target URL: never on a page
OPEN_PAGES = {"/login"}


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
    return path.replace("{name}", "analytics-copy").replace("{finding}", "f1").replace("{id}", "f1")


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


def test_a_disabled_user_loses_their_session(client: TestClient) -> None:
    assert login(client, "val")[0] == 303
    accounts.disable_user(client.app.state.db.engine, "val")  # type: ignore[attr-defined]
    assert client.get("/").status_code == 303


def test_pages_never_show_a_raw_value(client: TestClient) -> None:
    """Canary: a raw value planted where only redacted evidence belongs never reaches a page."""
    engine = client.app.state.db.engine  # type: ignore[attr-defined]
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
    app = client.app
    app.state.policy = load_policy(write_policy(Path(app.state.db.location).parent / "p2", webhook_receiver.url))  # type: ignore[attr-defined]
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
    assert new_token and accounts.user_for_token(app.state.db.engine, new_token.group(1)).name == "val"  # type: ignore[attr-defined,union-attr]
    assert new_token.group(1) not in client.get("/settings").text  # shown once
    answer = client.post("/settings/users", data={"csrf": token, "name": "nina", "role": "responder",
                                                  "password": "short"})
    assert answer.status_code == 400 and "shorter than 12" in answer.text
    answer = client.post("/settings/users", data={"csrf": token, "name": "nina", "role": "responder",
                                                  "password": PASSWORD})
    assert answer.status_code == 200 and 'data-user="nina"' in answer.text
    assert client.post("/settings/users/nina/disable", data={"csrf": token}).status_code == 200
    assert accounts.get_user(app.state.db.engine, "nina").disabled  # type: ignore[attr-defined]


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
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return artifacts(tmp_path_factory)


def browser_login(browser: object, server: ThreadedServer, name: str, path: str = "/") -> object:
    context = browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(server.url + path)
    assert "/login" in page.url
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(server.url + path)
    return page


def test_browser_login_and_overview(browser: object, server: ThreadedServer, shots: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "CSP" in m.text else None)
    page.goto(server.url + "/")
    page.wait_for_url(re.compile(r".*/login.*"))
    page.screenshot(path=str(shots / "login.png"))
    page.fill("input[name=name]", "val")
    page.fill("input[name=password]", "wrong-password-123")
    page.click("button[type=submit]")
    assert "Wrong name or password" in page.inner_text(".error")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(server.url + "/")
    assert page.is_visible("#exposed-banner") and "analytics-copy" in page.inner_text("#exposed-banner")
    assert page.inner_text("tr[data-store=cache] .state-cell") == "unreachable"
    assert "Open an incident" not in page.content()  # a viewer gets no response-step button
    page.screenshot(path=str(shots / "overview.png"), full_page=True)
    assert not errors, errors  # no CSP violation: no inline script or style
    context.close()


def test_browser_pages_by_role(browser: object, server: ThreadedServer, shots: Path) -> None:
    """Each page in the browser (screenshots kept); an admin sees the admin controls, a viewer does not."""
    page = browser_login(browser, server, "ana", "/stores")
    page.screenshot(path=str(shots / "stores.png"), full_page=True)  # type: ignore[attr-defined]
    page.click("text=analytics-copy")  # type: ignore[attr-defined]
    page.wait_for_url(server.url + "/stores/analytics-copy")  # type: ignore[attr-defined]
    assert page.is_visible("svg.timeline rect.open")  # type: ignore[attr-defined]
    page.screenshot(path=str(shots / "store.png"), full_page=True)  # type: ignore[attr-defined]
    page.goto(server.url + "/copies")  # type: ignore[attr-defined]
    assert page.is_visible("tr[data-copy=old-export] .expired-flag")  # type: ignore[attr-defined]
    page.screenshot(path=str(shots / "copies.png"), full_page=True)  # type: ignore[attr-defined]
    page.goto(server.url + "/settings")  # type: ignore[attr-defined]
    assert page.is_visible("text=Send test alert") and page.is_visible("#users")  # type: ignore[attr-defined]
    page.screenshot(path=str(shots / "settings.png"), full_page=True)  # type: ignore[attr-defined]
    page.context.close()  # type: ignore[attr-defined]
    viewer = browser_login(browser, server, "val", "/settings")
    assert not viewer.is_visible("text=Send test alert") and not viewer.is_visible("#users")  # type: ignore[attr-defined]
    viewer.context.close()  # type: ignore[attr-defined]
