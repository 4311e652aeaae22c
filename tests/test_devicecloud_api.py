"""The reference device-cloud API: login, /v1/me with bearer tokens, RFC 7009 revocation, integrations."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient
from incident_helpers import cloud_tables, write_store

from dataward.devicecloud.api import create_app, set_password, verify_password
from dataward.incident._db import connect


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


def _login(client: TestClient, email: str, password: str) -> dict:
    r = client.post("/v1/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return r.json()


def test_login_me_and_revoke(cloud):
    url, emails = cloud
    client = TestClient(create_app(url))
    a = _login(client, emails[1], "pw-1")
    b = _login(client, emails[2], "pw-2")
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {a['access_token']}"}).json()["id"] == 1
    r = client.post("/oauth/revoke", data={"token": a["access_token"], "token_type_hint": "access_token"})
    assert r.status_code == 200
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {a['access_token']}"}).status_code == 401
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {b['access_token']}"}).status_code == 200
    # RFC 7009 §2.2: revoking again, or an unknown token, still answers 200
    assert client.post("/oauth/revoke", data={"token": a["access_token"]}).status_code == 200
    assert client.post("/oauth/revoke", data={"token": "never-issued"}).status_code == 200
    assert client.post("/oauth/revoke", data={}).status_code == 400
    # revoking by refresh token kills the pair
    client.post("/oauth/revoke", data={"token": b["refresh_token"], "token_type_hint": "refresh_token"})
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {b['access_token']}"}).status_code == 401


@pytest.mark.parametrize("password, ok", [("pw-3", True), ("PW-3", False), ("", False), ("pw-3 ", False)])
def test_login_checks_the_password(cloud, password, ok):
    url, emails = cloud
    client = TestClient(create_app(url))
    r = client.post("/v1/login", json={"email": emails[3], "password": password})
    assert (r.status_code == 200) is ok


def test_generated_hashes_never_verify(cloud):
    url, _ = cloud
    db = connect(url)
    hashes = [r[0] for r in db.query("SELECT password_hash FROM users WHERE id > 3 LIMIT 50")]
    assert hashes and not any(verify_password("password", h) for h in hashes)


def test_missing_or_bad_bearer_is_401(cloud):
    url, _ = cloud
    client = TestClient(create_app(url))
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
    client = TestClient(create_app(url))
    tok = _login(client, email, "pw-x")["access_token"]
    items = client.get("/v1/integrations", headers={"Authorization": f"Bearer {tok}"}).json()
    assert items and all(i["linked"] for i in items) and not any(i["relink_required"] for i in items)
