"""dataward serve, foundation: accounts and tokens through the CLI, the API's authentication and roles,
security headers, the listen refusal, and a canary (no password or token in clear anywhere). The server over
real HTTP is tests/test_serve_api.py's live server."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from dataward.cli import cli
from dataward.serve import accounts
from dataward.serve.app import create_app
from dataward.state import open_state_db, schema
from dataward.watch.state import StateDB

PASSWORD = "canary-Passw0rd-7f3e9a1c"
OPEN_ROUTES = {"/healthz"}


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=stdin)
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


def add_user(db: str, name: str, role: str) -> str:
    """Add a user through the CLI and return a fresh token for them."""
    assert run("users", "add", name, "--role", role, "--db", db, stdin=PASSWORD + "\n")[0] == 0
    code, out, _ = run("users", "token", "create", name, "--db", db)
    assert code == 0
    return out.strip()


def seed_watch_state(db: str) -> None:
    engine = open_state_db(db)
    with engine.begin() as conn:
        conn.execute(schema.stores.insert(), [
            {"store": "analytics-copy", "kind": "redis", "target": "redis://10.0.0.5:6379", "reachable": 1,
             "failures": 0, "unreachable_alerted": 0, "last_probe": "2026-12-07T08:00:00Z", "last_secure": None},
            {"store": "orders", "kind": "postgres", "target": "postgresql://db/orders", "reachable": 1,
             "failures": 0, "unreachable_alerted": 0, "last_probe": "2026-12-07T08:00:00Z",
             "last_secure": "2026-12-01T00:00:00Z"},
            {"store": "cache", "kind": "memcached", "target": "memcached://c:11211", "reachable": 0,
             "failures": 3, "unreachable_alerted": 1, "last_probe": "2026-12-07T08:00:00Z", "last_secure": None},
        ])
        conn.execute(schema.windows.insert().values(
            store="analytics-copy", finding="f1", rule="redis.no_auth", severity=4, title="Redis answers without auth",
            target="redis://10.0.0.5:6379", categories='["email"]', opened="2026-12-07T07:33:00Z"))
        conn.execute(schema.events.insert().values(at="2026-12-07T07:50:00Z", store="cache", event="unreachable"))
    engine.dispose()


@pytest.fixture
def db(tmp_path: Path) -> str:
    location = str(tmp_path / "state.db")
    seed_watch_state(location)
    return location


@pytest.fixture
def client(db: str) -> TestClient:
    state = StateDB(db)
    with TestClient(create_app(state)) as c:
        yield c  # type: ignore[misc]
    state.close()


def api_routes(client: TestClient) -> list[tuple[str, str]]:
    app = client.app
    return sorted((method, route.path) for route in app.routes  # type: ignore[attr-defined]
                  if isinstance(route, APIRoute) for method in route.methods)


def read_routes(client: TestClient) -> list[tuple[str, str]]:
    """The GET routes without a path parameter, less the event stream (tests/test_serve_api.py reads that)."""
    return [(m, p) for m, p in api_routes(client) if m == "GET" and "{" not in p and p != "/api/v1/events"]


def test_users_add_token_list_disable_through_the_cli(db: str) -> None:
    token = add_user(db, "ana", "admin")
    assert token.startswith("dw_") and len(token) > 40
    code, out, _ = run("users", "list", "--db", db)
    assert code == 0 and out.split("\t")[:4] == ["ana", "admin", "enabled", "1 tokens"]
    code, _, err = run("users", "add", "ana", "--role", "viewer", "--db", db, stdin=PASSWORD + "\n")
    assert code == 2 and "already a user 'ana'" in err
    code, _, err = run("users", "add", "bob", "--role", "viewer", "--db", db, stdin="short\n")
    assert code == 2 and "shorter than 12" in err
    assert run("users", "disable", "ana", "--db", db)[0] == 0
    code, out, _ = run("users", "list", "--db", db)
    assert "disabled\t0 tokens" in out
    code, _, err = run("users", "token", "create", "ana", "--db", db)
    assert code == 2 and "disabled" in err
    code, _, err = run("users", "disable", "nobody", "--db", db)
    assert code == 2 and "no user 'nobody'" in err


def test_users_add_one_time_through_the_cli_until_changed(db: str) -> None:
    code, _, err = run("users", "add", "val", "--role", "viewer", "--one-time", "--db", db, stdin=PASSWORD + "\n")
    assert code == 0 and "one-time password" in err
    assert run("users", "list", "--db", db)[1].split("\t")[:3] == ["val", "viewer", "one-time password"]
    engine = open_state_db(db)
    with pytest.raises(accounts.WrongPassword):
        accounts.change_password(engine, "val", PASSWORD + "x", "val-own-Passw0rd-31")
    assert accounts.change_password(engine, "val", PASSWORD, "val-own-Passw0rd-31").must_change is False
    engine.dispose()
    assert run("users", "list", "--db", db)[1].split("\t")[:3] == ["val", "viewer", "enabled"]
    code, _, err = run("users", "password", "val", "--db", db, stdin="val-reset-Passw0rd-77\n")  # forgotten
    assert code == 0 and "one-time" in err
    assert run("users", "list", "--db", db)[1].split("\t")[:3] == ["val", "viewer", "one-time password"]
    assert run("users", "password", "val", "--permanent", "--db", db, stdin="val-reset-Passw0rd-78\n")[0] == 0
    assert run("users", "list", "--db", db)[1].split("\t")[:3] == ["val", "viewer", "enabled"]
    code, _, err = run("users", "password", "nobody", "--db", db, stdin=PASSWORD + "\n")
    assert code == 2 and "no user 'nobody'" in err
    code, _, err = run("users", "password", "val", "--db", db, stdin="short\n")
    assert code == 2 and "shorter than 12" in err


def test_passwords_are_argon2id_and_tokens_sha256(db: str) -> None:
    token = add_user(db, "ana", "viewer")
    engine = open_state_db(db)
    with engine.begin() as conn:
        (password_hash,) = conn.execute(select(schema.cp_users.c.password_hash)).one()
        (token_hash,) = conn.execute(select(schema.cp_tokens.c.token_hash)).one()
    assert password_hash.startswith("$argon2id$") and PASSWORD not in password_hash
    assert token_hash == accounts.token_digest(token) != token
    assert accounts.verify_password(engine, "ana", PASSWORD) is not None
    assert accounts.verify_password(engine, "ana", PASSWORD + "x") is None
    assert accounts.verify_password(engine, "nobody", PASSWORD) is None
    engine.dispose()


def test_every_route_needs_a_token_except_healthz(client: TestClient, db: str) -> None:
    routes = api_routes(client)
    assert ("GET", "/api/v1/openapi.json") in routes and ("GET", "/api/v1/stores") in routes
    for method, path in routes:
        answer = client.request(method, path)
        if path in OPEN_ROUTES:
            assert answer.status_code == 200, path
        else:
            assert answer.status_code == 401, path
            assert answer.headers["www-authenticate"] == "Bearer"
        bad = client.request(method, path, headers={"Authorization": "Bearer dw_not-a-token"})
        assert bad.status_code == (200 if path in OPEN_ROUTES else 401), path


def test_viewer_reads_and_is_refused_admin_routes(client: TestClient, db: str) -> None:
    viewer = {"Authorization": f"Bearer {add_user(db, 'val', 'viewer')}"}
    admin = {"Authorization": f"Bearer {add_user(db, 'ana', 'admin')}"}
    for method, path in read_routes(client):
        answer = client.request(method, path, headers=viewer)
        expected = 403 if path in ("/api/v1/users", "/api/v1/audit") else 200
        assert answer.status_code == expected, path
    assert client.get("/api/v1/users", headers=admin).json()["users"][0]["name"] == "ana"
    run("users", "disable", "val", "--db", db)
    assert client.get("/api/v1/stores", headers=viewer).status_code == 401


def test_stores_and_history_documents(client: TestClient, db: str) -> None:
    headers = {"Authorization": f"Bearer {add_user(db, 'val', 'viewer')}"}
    doc = client.get("/api/v1/stores", headers=headers).json()
    assert doc["schema"] == "dataward.stores/v1"
    assert {s["name"]: (s["kind"], s["state"], s["since"]) for s in doc["stores"]} == {
        "analytics-copy": ("redis", "exposed", "2026-12-07T07:33:00Z"),
        "orders": ("postgres", "protected", "2026-12-01T00:00:00Z"),
        "cache": ("memcached", "unreachable", "2026-12-07T07:50:00Z"),
    }
    assert all(s["last_probe"] == "2026-12-07T08:00:00Z" for s in doc["stores"])
    history = client.get("/api/v1/history", headers=headers).json()
    assert history["schema"] == "dataward.history/v1"
    assert [w["store"] for w in history["windows"]] == ["analytics-copy"]
    assert client.get("/api/v1/history?store=orders", headers=headers).json()["windows"] == []
    spec = client.get("/api/v1/openapi.json", headers=headers).json()
    assert "/api/v1/stores" in spec["paths"]


def test_security_headers_on_every_answer(client: TestClient) -> None:
    for answer in (client.get("/healthz"), client.get("/api/v1/stores"), client.get("/nowhere")):
        csp = answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp and "script-src 'self'" in csp
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"


def test_listen_elsewhere_without_tls_is_refused(db: str) -> None:
    code, _, err = run("serve", "--db", db, "--listen", "0.0.0.0:8080")
    assert code == 2 and err.startswith("error: refusing to listen on 0.0.0.0 without TLS")
    code, _, err = run("serve", "--db", db, "--listen", "nowhere")
    assert code == 2 and "not an address" in err


def test_canary_no_password_or_token_in_clear(db: str, client: TestClient, tmp_path: Path) -> None:
    token = add_user(db, "ana", "admin")
    headers = {"Authorization": f"Bearer {token}"}
    answers = [client.request(m, p, headers=headers).text for m, p in read_routes(client)]
    answers += [run("users", "list", "--db", db)[1]]
    for text in answers:
        assert PASSWORD not in text and token not in text and token[3:] not in text
    for path in tmp_path.glob("state.db*"):
        data = path.read_bytes()
        assert PASSWORD.encode() not in data and token.encode() not in data
