"""The reference device-cloud API: login, /v1/me with bearer tokens, RFC 7009 revocation, integrations."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient
from incident_helpers import cloud_tables, write_store

from dataward.devicecloud import api as api_module
from dataward.devicecloud.api import create_app, set_password, verify_password
from dataward.errors import DatawardError
from dataward.incident.db import connect


@pytest.fixture
def cloud(tmp_path):
    url = write_store(f"sqlite:///{tmp_path}/cloud.db", cloud_tables(300, 3))
    db = connect(url)
    emails = {}
    for uid in (1, 2, 3):
        set_password(db, uid, f"pw-{uid}")
        emails[uid] = db.query("SELECT email FROM users WHERE id = ?", (uid,))[0][0]
    db.close()
    return url, emails


CLIENTS = {"responder": "s3cret"}
BASIC = {"Authorization": "Basic " + base64.b64encode(b"responder:s3cret").decode()}


def _login(client: TestClient, email: str, password: str) -> dict:
    r = client.post("/v1/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return r.json()


def test_login_me_and_revoke(cloud):
    url, emails = cloud
    client = TestClient(create_app(url, CLIENTS))
    a = _login(client, emails[1], "pw-1")
    b = _login(client, emails[2], "pw-2")
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {a['access_token']}"}).json()["id"] == 1
    r = client.post(
        "/oauth/revoke", data={"token": a["access_token"], "token_type_hint": "access_token"}, headers=BASIC
    )
    assert r.status_code == 200
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {a['access_token']}"}).status_code == 401
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {b['access_token']}"}).status_code == 200
    # RFC 7009 §2.2: revoking again, or an unknown token, still answers 200
    assert client.post("/oauth/revoke", data={"token": a["access_token"]}, headers=BASIC).status_code == 200
    assert client.post("/oauth/revoke", data={"token": "never-issued"}, headers=BASIC).status_code == 200
    assert client.post("/oauth/revoke", data={}, headers=BASIC).status_code == 400
    # revoking by refresh token kills the pair
    client.post(
        "/oauth/revoke", data={"token": b["refresh_token"], "token_type_hint": "refresh_token"}, headers=BASIC
    )
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {b['access_token']}"}).status_code == 401


@pytest.mark.parametrize("password, ok", [("pw-3", True), ("PW-3", False), ("", False), ("pw-3 ", False)])
def test_login_checks_the_password(cloud, password, ok):
    url, emails = cloud
    client = TestClient(create_app(url, CLIENTS))
    r = client.post("/v1/login", json={"email": emails[3], "password": password})
    assert (r.status_code == 200) is ok


def test_generated_hashes_never_verify(cloud):
    url, _ = cloud
    db = connect(url)
    hashes = [r[0] for r in db.query("SELECT password_hash FROM users WHERE id > 3 LIMIT 50")]
    assert hashes and not any(verify_password("password", h) for h in hashes)


def test_missing_or_bad_bearer_is_401(cloud):
    url, _ = cloud
    client = TestClient(create_app(url, CLIENTS))
    assert client.get("/v1/me").status_code == 401
    assert client.get("/v1/me", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/v1/me", headers={"Authorization": "Basic eDp5"}).status_code == 401


def test_revocation_client_authentication(cloud):
    url, emails = cloud
    client = TestClient(create_app(url, clients={"responder": "s3cret"}))
    tok = _login(client, emails[1], "pw-1")["access_token"]
    assert client.post("/oauth/revoke", data={"token": tok}).status_code == 401
    bad = base64.b64encode(b"responder:wrong").decode()
    assert (
        client.post(
            "/oauth/revoke", data={"token": tok}, headers={"Authorization": f"Basic {bad}"}
        ).status_code
        == 401
    )
    good = base64.b64encode(b"responder:s3cret").decode()
    assert (
        client.post(
            "/oauth/revoke", data={"token": tok}, headers={"Authorization": f"Basic {good}"}
        ).status_code
        == 200
    )
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {tok}"}).status_code == 401


def test_integrations_link_state(cloud):
    url, emails = cloud
    db = connect(url)
    uid = db.query("SELECT user_id FROM integrations WHERE unlinked_at IS NULL ORDER BY id LIMIT 1")[0][0]
    from dataward.devicecloud.api import set_password as setpw

    setpw(db, uid, "pw-x")
    email = db.query("SELECT email FROM users WHERE id = ?", (uid,))[0][0]
    db.close()
    client = TestClient(create_app(url, CLIENTS))
    tok = _login(client, email, "pw-x")["access_token"]
    items = client.get("/v1/integrations", headers={"Authorization": f"Bearer {tok}"}).json()
    assert items and all(i["linked"] for i in items) and not any(i["relink_required"] for i in items)


def test_revocation_endpoint_is_never_open(cloud):
    """RFC 7009 §2.1: the client authenticates. An app without any client is refused, not served open."""
    url, _ = cloud
    for clients in (None, {}, {"responder": ""}, {"": "s3cret"}):
        with pytest.raises(DatawardError):
            create_app(url, clients)


@pytest.mark.parametrize("header", ["Basic " + base64.b64encode("responder:sécret".encode()).decode(),
                                    "Basic " + base64.b64encode(b"\xff\xfe:\x80").decode(), "Basic !!!", "Basic"])
def test_a_malformed_basic_header_is_401_not_500(cloud, header):
    url, _ = cloud
    client = TestClient(create_app(url, CLIENTS), raise_server_exceptions=False)
    assert client.post("/oauth/revoke", data={"token": "x"}, headers={"Authorization": header}).status_code == 401


def test_login_does_the_same_work_for_unknown_accounts(cloud, monkeypatch):
    """A wrong email, a format-only hash and a real hash each cost one PBKDF2 run, so timing tells nothing."""
    url, emails = cloud
    client = TestClient(create_app(url, CLIENTS))
    calls: list[int] = []
    real = api_module.hashlib.pbkdf2_hmac

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(api_module.hashlib, "pbkdf2_hmac", counting)
    for email in (emails[1], "nobody@example.invalid"):
        calls.clear()
        assert client.post("/v1/login", json={"email": email, "password": "wrong"}).status_code == 401
        assert len(calls) == 1, email
    db = connect(url)
    generated = db.query("SELECT email FROM users WHERE id = 10")[0][0]
    db.close()
    calls.clear()
    assert client.post("/v1/login", json={"email": generated, "password": "wrong"}).status_code == 401
    assert len(calls) == 1


def test_a_required_password_reset_invalidates_the_old_password(cloud):
    from dataward.incident.actions.flags import ensure_flags

    url, emails = cloud
    client = TestClient(create_app(url, CLIENTS))
    _login(client, emails[2], "pw-2")
    db = connect(url)
    ensure_flags(db)
    db.execute("INSERT INTO dataward_account_flags (user_id, password_reset_required) VALUES (2, 1)")
    db.close()
    r = client.post("/v1/login", json={"email": emails[2], "password": "pw-2"})
    assert r.status_code == 401 and "reset" in r.text
