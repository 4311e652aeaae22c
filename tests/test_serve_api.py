"""dataward serve, the API (issue 14): findings with filters, exports and suppression (baseline), incidents and
their blast radius (equal to the CLI's), the overview, the audit log, every route's authentication and roles,
schemathesis against the OpenAPI document; then a real `dataward serve --config` watching a real Redis: the
`exposed` event over Server-Sent Events, no planted value in any answer or the server's log, SIGTERM, and a
restart that repeats no alert.

One application (FastAPI's TestClient) over one seeded state database serves the in-process tests of this module;
one server process serves the live ones.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from dataward.cli import cli
from dataward.findings import Finding, Severity
from dataward.incident.audit import AuditLog, write_public_key
from dataward.localservers.ports import free_port
from dataward.manifest import MANIFEST_FILE, Manifest, TableCopy
from dataward.policy import load_policy
from dataward.serve import accounts
from dataward.serve.app import create_app
from dataward.state import open_state_db, schema
from dataward.testing.fixtures import ServerFactory
from dataward.testing.receivers import WebhookReceiver
from dataward.testing.servers import RedisServer
from dataward.testing.waiting import wait_until
from dataward.watch.state import StateDB

PASSWORD = "canary-Passw0rd-7f3e9a1c"
CANARY_EMAIL = "canary.serve.5d2e8@example.org"
CANARY_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnk1ZDJlOCJ9.Q2FuYXJ5U2VydmU1ZDJlOFNpZ25hdHVyZQ"
CANARIES = (CANARY_EMAIL, CANARY_TOKEN, "5d2e8", "cache-pw-5d2e8")
OPEN = {"/healthz"}
STREAMS = {"/api/v1/events"}
ADMIN_ONLY = {"/api/v1/users", "/api/v1/audit"}
ADMIN_MUTATING = {"/api/v1/sinks/{index}/test"}
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}


# ---- the seeded state database and one application ----------------------------------------------------------
def _finding(rule: str, severity: Severity, target: str, kind: str, title: str, obj: str | None = None,
             categories: tuple[str, ...] = ()) -> Finding:
    return Finding(rule=rule, severity=severity, target=target, store=kind, object=obj, title=title,
                   categories=list(categories), evidence="3 of 3 sampled values look like email (redacted: a***@e***)")


NOAUTH = _finding("redis.no-auth", Severity.CRITICAL, "redis://10.0.0.5:6379/0", "redis", "Redis answers without auth")
CONTENT = _finding("content.email", Severity.HIGH, "redis://10.0.0.5:6379/0", "redis", "Emails readable",
                   "user:*", ("email",))
PG_OLD = _finding("postgres.trust", Severity.HIGH, "postgresql://db:5432/orders", "postgres", "Trust auth")
MQ = _finding("mqtt.anonymous", Severity.HIGH, "mqtt://broker:1883", "mqtt", "Anonymous MQTT")


def seed(location: str) -> None:
    engine = open_state_db(location)
    store = {"failures": 0, "unreachable_alerted": 0, "last_probe": "2026-12-07T08:00:00Z", "last_ok": None,
             "last_full": None, "last_secure": None, "contents": None, "fast_ids": "[]", "extra": "[]"}
    with engine.begin() as conn:
        conn.execute(schema.stores.insert(), [
            {**store, "store": "analytics-copy", "kind": "redis", "target": NOAUTH.target, "reachable": 1,
             "extra": json.dumps([CONTENT.to_json()])},
            {**store, "store": "orders", "kind": "postgres", "target": PG_OLD.target, "reachable": 1,
             "last_secure": "2026-12-07T08:00:00Z"},
            {**store, "store": "telemetry", "kind": "mqtt", "target": MQ.target, "reachable": 1},
            {**store, "store": "cache", "kind": "memcached", "target": "memcached://c:11211", "reachable": 0,
             "failures": 3},
        ])
        window = {"last_secure": None, "closed": None}
        conn.execute(schema.windows.insert(), [
            {**window, "store": "analytics-copy", "finding": NOAUTH.id, "rule": NOAUTH.rule, "severity": 4,
             "title": NOAUTH.title, "target": NOAUTH.target, "categories": '["email"]',
             "opened": "2026-12-07T07:33:00Z", "last_seen": "2026-12-07T08:00:00Z"},
            {**window, "store": "analytics-copy", "finding": CONTENT.id, "rule": CONTENT.rule, "severity": 3,
             "title": CONTENT.title, "target": CONTENT.target, "categories": '["email"]',
             "opened": "2026-12-07T07:34:00Z", "last_seen": "2026-12-07T08:00:00Z"},
            {**window, "store": "orders", "finding": PG_OLD.id, "rule": PG_OLD.rule, "severity": 3,
             "title": PG_OLD.title, "target": PG_OLD.target, "categories": "[]",
             "opened": "2026-12-01T00:00:00Z", "last_seen": "2026-12-03T00:00:00Z", "closed": "2026-12-03T00:00:00Z"},
            {**window, "store": "telemetry", "finding": MQ.id, "rule": MQ.rule, "severity": 3, "title": MQ.title,
             "target": MQ.target, "categories": '["location"]', "opened": "2026-12-06T00:00:00Z",
             "last_seen": "2026-12-07T08:00:00Z"},
        ])
    engine.dispose()


@dataclass
class Api:
    client: TestClient
    location: str
    baseline: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def get(self, path: str, role: str = "viewer", **params: Any) -> Any:
        answer = self.client.get(path, headers=self.headers(role), params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    root = tmp_path_factory.mktemp("serve-api")
    location = str(root / "state.db")
    seed(location)
    state = StateDB(location)
    tokens = {}
    for role in accounts.ROLES:
        accounts.add_user(state.engine, f"{role}-user", role, PASSWORD)
        tokens[role] = accounts.create_token(state.engine, f"{role}-user")
    with TestClient(create_app(state, baseline=str(root / "baseline.json"))) as client:
        yield Api(client, location, root / "baseline.json", tokens)
    state.close()


def routes(client: TestClient) -> list[tuple[str, str]]:
    return sorted((method, route.path) for route in client.app.routes  # type: ignore[attr-defined]
                  if isinstance(route, APIRoute) for method in route.methods)


# ---- authentication and roles ----------------------------------------------------------------------------------
def test_every_route_without_credentials_is_401_but_healthz(api: Api) -> None:
    walked = routes(api.client)
    assert {p for _, p in walked} >= {"/api/v1/findings", "/api/v1/findings/{finding_id}/suppress",
                                      "/api/v1/incidents", "/api/v1/incidents/{name}/blast-radius",
                                      "/api/v1/incidents/{name}/respond", "/api/v1/incidents/{name}/notify",
                                      "/api/v1/events", "/api/v1/overview", "/api/v1/audit"}
    for method, path in walked:
        for headers in ({}, {"Authorization": "Bearer dw_not-a-token"}, {"Authorization": "Basic YTpi"}):
            answer = api.client.request(method, path, headers=headers, json={})
            assert answer.status_code == (200 if path in OPEN else 401), (method, path, headers)
    assert api.client.get("/api/v1/nowhere").status_code == 404


def test_no_body_is_read_before_the_caller_is_known_and_none_past_the_limit(api: Api) -> None:
    """FastAPI reads and parses a JSON body before the route's authentication: without credentials a malformed
    body is a 401 (not a 422 describing the route), and no caller makes the server buffer an unbounded body."""
    blast = "/api/v1/incidents/x/blast-radius"
    for body in (b"{not json", b"[" * 100_000):
        answer = api.client.post(blast, content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == 401, answer.text
    big = 17 * 1024 * 1024  # past MAX_BODY (16 MiB)
    for headers in ({}, api.headers("responder"), {"Cookie": "dw_session=forged"}):
        declared = api.client.post(blast, content=b" " * big, headers={**headers, "Content-Type": "application/json"})
        assert declared.status_code in ((401,) if not headers else (413,)), declared.text
        streamed = api.client.post(blast, content=iter([b" " * (1024 * 1024)] * 17),  # chunked: no length
                                   headers={**headers, "Content-Type": "application/json"})
        assert streamed.status_code in ((401,) if not headers else (413,)), streamed.text
        assert streamed.headers["X-Frame-Options"] == "DENY"
    fine = api.client.post(blast, json={"classification": {"objects": []}}, headers=api.headers("responder"))
    assert fine.status_code in (400, 404), fine.text  # a body under the limit reaches the route


def test_viewer_and_responder_are_refused_what_their_role_does_not_allow(api: Api) -> None:
    mutating = [(m, p) for m, p in routes(api.client) if m in MUTATING]
    assert len(mutating) >= 4
    for method, path in mutating:
        answer = api.client.request(method, path.replace("{finding_id}", NOAUTH.id), headers=api.headers("viewer"),
                                    json={"reason": "x", "name": "x", "store": "x", "from": "2026-01-01",
                                          "to": "2026-01-02"})
        assert answer.status_code == 403, (method, path, answer.text)
    for path in ADMIN_ONLY:
        for role in ("viewer", "responder"):
            assert api.client.get(path, headers=api.headers(role)).status_code == 403
        assert api.client.get(path, headers=api.headers("admin")).status_code == 200
    assert {p for _, p in mutating} >= ADMIN_MUTATING
    for method, path in mutating:  # a responder runs incident steps and suppresses, but manages no sink
        if path in ADMIN_MUTATING:
            assert api.client.request(method, path, headers=api.headers("responder")).status_code == 403, path
    for method, path in routes(api.client):  # every read a viewer may do answers
        if method == "GET" and path not in STREAMS | ADMIN_ONLY and "{" not in path:
            assert api.client.get(path, headers=api.headers("viewer")).status_code == 200, path


# ---- findings ----------------------------------------------------------------------------------------------------
def test_findings_from_the_watchers_state_with_filters(api: Api) -> None:
    doc = api.get("/api/v1/findings")
    assert doc["schema"] == "dataward.report/v1"
    assert [(f["id"], f["state"]) for f in doc["findings"]] == [(NOAUTH.id, "open"), (CONTENT.id, "open"),
                                                                 (MQ.id, "open")]  # worst first
    content = doc["findings"][1]
    assert content["evidence"] == CONTENT.evidence and content["object"] == "user:*"  # the last full scan's
    assert content["store_name"] == "analytics-copy" and content["window"]["opened"] == "2026-12-07T07:34:00Z"
    assert doc["summary"]["total"] == 3 and doc["summary"]["by_severity"]["critical"] == 1
    assert [f["id"] for f in api.get("/api/v1/findings", severity="critical")["findings"]] == [NOAUTH.id]
    assert [f["id"] for f in api.get("/api/v1/findings", severity="critical,high", store="telemetry")
            ["findings"]] == [MQ.id]
    assert [f["id"] for f in api.get("/api/v1/findings", rule="content.email")["findings"]] == [CONTENT.id]
    assert [f["id"] for f in api.get("/api/v1/findings", category="location")["findings"]] == [MQ.id]
    page = api.get("/api/v1/findings", limit=1, offset=1)
    assert [f["id"] for f in page["findings"]] == [CONTENT.id] and page["total"] == 3
    assert page["summary"]["total"] == 3 and page["summary"]["by_severity"]["high"] == 2
    fixed = api.get("/api/v1/findings", state="fixed")["findings"]
    assert [(f["id"], f["window"]["closed"]) for f in fixed] == [(PG_OLD.id, "2026-12-03T00:00:00Z")]
    assert len(api.get("/api/v1/findings", state="all")["findings"]) == 4
    bad = api.client.get("/api/v1/findings", params={"severity": "urgent"}, headers=api.headers("viewer"))
    assert bad.status_code == 400 and "urgent" in bad.json()["detail"]


def _window(store: str, n: int, severity: int, closed: str | None = None) -> dict[str, Any]:
    return {"store": store, "finding": f"{store}-{n}", "rule": "redis.no_auth", "severity": severity,
            "title": "t", "target": "redis://10.0.0.9:6379", "categories": "[]", "opened": "2026-12-01T00:00:00Z",
            "last_seen": "2026-12-07T00:00:00Z", "closed": closed}


@pytest.fixture
def many(tmp_path: Path) -> Iterator[Api]:
    """150 open findings over three stores and three severities (ties on both), and 30 fixed ones."""
    location = str(tmp_path / "state.db")
    engine = open_state_db(location)
    rows = [_window(store, n, (n * 7 + len(store)) % 3 + 2) for n in range(50) for store in ("a", "bb", "c")]
    rows += [_window("d", n, n % 5, closed="2026-12-05T00:00:00Z") for n in range(30)]
    with engine.begin() as conn:
        conn.execute(schema.windows.insert(), rows)
    engine.dispose()
    state = StateDB(location)
    accounts.add_user(state.engine, "viewer-user", "viewer", PASSWORD)
    with TestClient(create_app(state, baseline=str(tmp_path / "baseline.json"))) as client:
        yield Api(client, location, tmp_path / "baseline.json", {"viewer": accounts.create_token(state.engine,
                                                                                                   "viewer-user")})
    state.close()


def _walk(api: Api, state: str, limit: int, mid_walk: Any = None) -> tuple[list[int], list[int]]:
    """Every page by cursor: the window ids in order, and the number of rows of each page."""
    seen: list[int] = []
    sizes: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"state": state, "limit": limit, **({"cursor": cursor} if cursor else {})}
        doc = api.get("/api/v1/findings", **params)
        seen += [f["window"]["id"] for f in doc["findings"]]
        sizes.append(len(doc["findings"]))
        cursor = doc["next"]
        if len(sizes) == 2 and mid_walk is not None:
            mid_walk()
        if cursor is None:
            return seen, sizes


def _order(api: Api, state: str) -> list[int]:
    return [f["window"]["id"] for f in api.get("/api/v1/findings", state=state)["findings"]]


def test_keyset_paging_yields_every_finding_once_while_one_arrives(many: Api) -> None:
    before = _order(many, "open")
    assert len(before) == 150
    engine = open_state_db(many.location)

    def arrive() -> None:  # a critical finding sorts before the cursor, a low one after it
        with engine.begin() as conn:
            conn.execute(schema.windows.insert(), [_window("a", 900, 4), _window("a", 901, 1)])

    seen, sizes = _walk(many, "open", 13, arrive)
    engine.dispose()
    after = _order(many, "open")
    late_low = after[-1]
    assert len(seen) == len(set(seen)) == 151  # no row twice; the late critical one is before the cursor
    assert seen == [i for i in after if i in set(before) | {late_low}]  # the order never changed
    assert sizes[:-1] == [13] * (len(sizes) - 1) and 0 < sizes[-1] <= 13
    assert _walk(many, "all", 16)[0] == _order(many, "all")  # read in Python (every window), same contract
    offset_page = many.get("/api/v1/findings", limit=13, offset=13)["findings"]
    cursor_page = many.get("/api/v1/findings", limit=13, cursor=many.get("/api/v1/findings", limit=13)["next"])
    assert [f["window"]["id"] for f in cursor_page["findings"]] == [f["window"]["id"] for f in offset_page]
    assert cursor_page["total"] == 152 and cursor_page["filters"]["cursor"]


@pytest.mark.parametrize("params, words", [
    ({"cursor": "not-a-cursor"}, "not one this server gave"),
    ({"cursor": "WzEsMiwzXQ"}, "not one this server gave"),  # [1,2,3]: the wrong types inside
    ({"cursor": "WzQsImEiLDFd", "offset": 5}, "cursor or offset, not both"),
])
def test_a_bad_cursor_is_a_sentence(many: Api, params: dict[str, Any], words: str) -> None:
    answer = many.client.get("/api/v1/findings", params={"limit": 5, **params}, headers=many.headers("viewer"))
    assert answer.status_code == 400 and words in answer.json()["detail"]


def test_findings_export_json_sarif_ocsf_of_the_current_filter(api: Api) -> None:
    from _sarif_check import sarif_problems

    for fmt in ("json", "sarif", "ocsf"):
        answer = api.client.get("/api/v1/findings", params={"store": "analytics-copy", "format": fmt},
                                headers=api.headers("viewer"))
        assert answer.status_code == 200 and "attachment" in answer.headers["content-disposition"]
        text = answer.text
        if fmt == "json":
            assert {f["id"] for f in json.loads(text)["findings"]} == {NOAUTH.id, CONTENT.id}
        elif fmt == "sarif":
            log = json.loads(text)
            assert sarif_problems(log) == []
            assert len(log["runs"][0]["results"]) == 2
        else:
            lines = [json.loads(line) for line in text.splitlines() if line.strip()]
            assert len(lines) == 2 and all("class_uid" in line for line in lines)


def test_suppress_hides_writes_the_baseline_audits_and_is_reversible(api: Api) -> None:
    expires = (date.today() + timedelta(days=30)).isoformat()
    path = f"/api/v1/findings/{MQ.id}/suppress"
    assert MQ.id in {f["id"] for f in api.get("/api/v1/findings", limit=20)["findings"]}  # a cached page
    answer = api.client.post(path, headers=api.headers("responder"),
                             json={"reason": "test broker, no customer data", "expires": expires})
    assert answer.status_code == 200, answer.text
    baseline = json.loads(api.baseline.read_text())
    assert baseline["schema"] == "dataward.baseline/v1"
    assert baseline["suppressions"] == [{"id": MQ.id, "reason": "test broker, no customer data",
                                         "expires": expires, "rule": MQ.rule, "target": MQ.target,
                                         "object": None, "added": date.today().isoformat()}]
    assert MQ.id not in {f["id"] for f in api.get("/api/v1/findings")["findings"]}
    assert MQ.id not in {f["id"] for f in api.get("/api/v1/findings", limit=20)["findings"]}  # not from the cache
    shown = api.get("/api/v1/findings", state="suppressed")["findings"]
    assert [(f["id"], f["suppressed"], f["suppression"]["reason"]) for f in shown] == [
        (MQ.id, True, "test broker, no customer data")]
    entry = api.get("/api/v1/audit", role="admin")["entries"][0]
    assert (entry["user"], entry["action"], entry["subject"]) == ("responder-user", "finding.suppress", MQ.id)
    assert entry["detail"]["reason"] == "test broker, no customer data"
    assert api.client.delete(path, headers=api.headers("responder")).status_code == 200
    assert json.loads(api.baseline.read_text())["suppressions"] == []
    assert MQ.id in {f["id"] for f in api.get("/api/v1/findings")["findings"]}
    assert MQ.id in {f["id"] for f in api.get("/api/v1/findings", limit=20)["findings"]}
    assert api.client.post(path, headers=api.headers("admin"), json={"reason": "again"}).status_code == 200
    assert api.client.post(f"/api/v1/findings/{MQ.id}/unsuppress", headers=api.headers("admin")).status_code == 200
    actions = [(e["user"], e["action"]) for e in api.get("/api/v1/audit", role="admin")["entries"][:4]]
    assert actions == [("admin-user", "finding.unsuppress"), ("admin-user", "finding.suppress"),
                       ("responder-user", "finding.unsuppress"), ("responder-user", "finding.suppress")]


@pytest.mark.parametrize(("body", "status", "words"), [
    ({"reason": "", "expires": "2099-01-01"}, 422, "reason"),
    ({"reason": "ok", "expires": "2001-01-01"}, 400, "in the past"),
    ({"reason": "ok", "expires": "3001-01-01"}, 400, "within 10 years"),
    ({"reason": "ok", "expires": "soon"}, 422, "expires"),
    ({"reason": "   "}, 400, "needs a reason"),
])
def test_suppress_refuses_bad_input(api: Api, body: dict[str, str], status: int, words: str) -> None:
    answer = api.client.post(f"/api/v1/findings/{NOAUTH.id}/suppress", headers=api.headers("responder"), json=body)
    assert answer.status_code == status and words in answer.text
    unknown = api.client.post("/api/v1/findings/0000000000000000/suppress", headers=api.headers("responder"),
                              json={"reason": "ok"})
    assert unknown.status_code == 404 and "no finding" in unknown.json()["detail"]
    assert api.client.delete("/api/v1/findings/0000000000000000/suppress",
                             headers=api.headers("responder")).status_code == 404


# ---- overview ------------------------------------------------------------------------------------------------------
def test_overview_stores_by_state_open_windows_worst_findings(api: Api) -> None:
    doc = api.get("/api/v1/overview")
    assert doc["schema"] == "dataward.overview/v1"
    assert doc["stores_by_state"] == {"exposed": ["analytics-copy", "telemetry"], "unreachable": ["cache"],
                                      "protected": ["orders"], "unknown": []}
    assert doc["counts"]["exposed"] == 2 and doc["last_probe"] == "2026-12-07T08:00:00Z"
    first = doc["open_windows"][0]
    assert (first["store"], first["finding"]) == ("telemetry", MQ.id) and doc["open_windows_total"] == 3
    assert first["open_seconds"] > 3600 and first["open_for"]
    assert [(w["store"], w["opened"], w["findings"], w["severity"]) for w in doc["store_windows"]] == [
        ("telemetry", "2026-12-06T00:00:00Z", 1, "high"), ("analytics-copy", "2026-12-07T07:33:00Z", 2, "critical")]
    noauth_window = next(w["id"] for w in doc["open_windows"] if w["finding"] == NOAUTH.id)
    assert doc["store_windows"][1]["window_id"] == noauth_window
    assert [f["id"] for f in doc["worst_findings"]][:1] == [NOAUTH.id]
    store = api.get("/api/v1/stores/analytics-copy")
    assert store["schema"] == "dataward.store/v1" and store["store"]["state"] == "exposed"
    assert {f["id"] for f in store["findings"]} == {NOAUTH.id, CONTENT.id}
    assert api.client.get("/api/v1/stores/nope", headers=api.headers("viewer")).status_code == 404


# ---- incidents -----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    from incident_helpers import cloud_tables, exposed_copy, write_store

    root = tmp_path_factory.mktemp("serve-prod")
    prod = cloud_tables(users=120)
    copy = exposed_copy(prod, {"users": ["id", "email", "country", "created_at"],
                               "devices": ["id", "user_id", "wifi_ssid"]})
    emails = [str(e) for e in prod["users"]["email"].to_pylist()[:50]]
    return {"prod": write_store(f"sqlite:///{root}/prod.db", prod),
            "copy": write_store(f"sqlite:///{root}/copy.db", copy), "emails": "\n".join(emails)}


def test_incidents_open_list_and_blast_radius_equal_to_the_cli(api: Api, production: dict[str, str],
                                                               tmp_path: Path) -> None:
    body = {"name": "dec-leak", "store": production["copy"], "from": "2019-12-04", "to": "2019-12-26"}
    assert api.client.post("/api/v1/incidents", headers=api.headers("viewer"), json=body).status_code == 403
    answer = api.client.post("/api/v1/incidents", headers=api.headers("responder"), json=body)
    assert answer.status_code == 201, answer.text
    assert answer.json()["window"] == ["2019-12-04T00:00:00Z", "2019-12-26T00:00:00Z"]
    again = api.client.post("/api/v1/incidents", headers=api.headers("responder"), json=body)
    assert again.status_code == 409 and "already exists" in again.json()["detail"]
    missing = api.client.get("/api/v1/incidents/dec-leak/blast-radius", headers=api.headers("viewer"))
    assert missing.status_code == 404 and "no blast radius yet" in missing.json()["detail"]

    result = CliRunner().invoke(cli, ["incident", "blast-radius", "dec-leak", "--source", production["prod"],
                                      "--format", "json", "--db", api.location])
    assert result.exit_code == 0, result.output
    radius = api.get("/api/v1/incidents/dec-leak/blast-radius")
    assert radius == json.loads(result.stdout)
    compute = "/api/v1/incidents/dec-leak/blast-radius"  # the same, computed from `serve --source`
    plane = api.client.app.state.plane  # type: ignore[attr-defined]
    assert api.client.post(compute, headers=api.headers("viewer")).status_code == 403
    no_source = api.client.post(compute, headers=api.headers("responder"))
    assert no_source.status_code == 400 and "--source" in no_source.json()["detail"]
    plane.source = production["prod"]
    (tmp_path / "dataward.toml").write_text(f'[[store]]\nname = "the-copy"\nurl = "{production["copy"]}"\n')
    api.client.app.state.policy = load_policy(str(tmp_path / "dataward.toml"))  # type: ignore[attr-defined]
    try:  # the incident's store URL is one of serve's --config: read
        computed = api.client.post(compute, headers=api.headers("responder"))
    finally:
        plane.source = None
        api.client.app.state.policy = None  # type: ignore[attr-defined]
    assert computed.status_code == 200, computed.text
    assert computed.json() == json.loads(result.stdout) == api.get(compute)
    assert api.client.post("/api/v1/incidents/nope/blast-radius", headers=api.headers("responder")).status_code == 404
    assert not any(email in json.dumps(radius) for email in production["emails"].split("\n"))  # canaries
    lookup = "/api/v1/incidents/dec-leak/lookup"  # the lookup site, as `incident lookup build` builds it
    assert api.client.post(lookup, headers=api.headers("viewer")).status_code == 403
    built = api.client.post(lookup, headers=api.headers("responder"))
    assert built.status_code == 200, built.text
    site = Path(built.json()["site"])
    assert site == Path(api.location).parent / "lookup" / "dec-leak" and (site / "index.html").is_file()
    assert built.json()["files"] == len(list((site / "range").iterdir())) and built.json()["affected"] > 0
    assert api.get("/api/v1/incidents/dec-leak")["lookup"]["built_at"] == built.json()["built_at"]
    assert not any(email in built.text for email in production["emails"].split("\n"))

    window_id = next(w["id"] for w in api.get("/api/v1/overview")["open_windows"] if w["store"] == "telemetry")
    answer = api.client.post("/api/v1/incidents", headers=api.headers("responder"),
                             json={"name": "mqtt-open", "window": window_id})
    assert answer.status_code == 201, answer.text
    assert answer.json()["store"] == "telemetry" and answer.json()["window"][0] == "2026-12-06T00:00:00Z"
    listed = {i["name"]: i for i in api.get("/api/v1/incidents")["incidents"]}
    assert listed["dec-leak"]["blast_radius"] is True and listed["dec-leak"]["affected_customers"] > 0
    assert listed["mqtt-open"]["blast_radius"] is False
    one = api.get("/api/v1/incidents/dec-leak")
    assert one["schema"] == "dataward.incident/v1" and one["affected_customers"] == listed["dec-leak"][
        "affected_customers"]
    assert {o["id"] for o in one["obligations"]} >= {"gdpr_art33"} and all(o["deadline"] for o in one["obligations"]
                                                                          if o["id"] == "gdpr_art33")
    assert one["respond"] == {} and one["notify"] == {}
    from dataward.incident.store import IncidentDB

    with IncidentDB(api.location) as incidents:  # what `incident respond` and `incident notify` record
        incidents.set_ledger("dec-leak", "revoke_tokens", ["t1", "t2", "t3"], "done")
        incidents.set_ledger("dec-leak", "revoke_tokens", ["t4"], "failed", "timeout")
        incidents.set_sends("dec-leak", [(1, "sent", "m1"), (2, "sent", "m2"), (3, "pending", "m3")])
    one = api.get("/api/v1/incidents/dec-leak")
    assert one["respond"] == {"revoke_tokens": {"done": 3, "failed": 1}}
    assert one["notify"] == {"sent": 2, "pending": 1}
    assert api.client.get("/api/v1/incidents/nope", headers=api.headers("viewer")).status_code == 404
    assert api.client.post("/api/v1/incidents", headers=api.headers("responder"),
                           json={"name": "x", "window": 999999}).status_code == 404
    assert api.client.get("/api/v1/incidents/nope/blast-radius", headers=api.headers("viewer")).status_code == 404
    audit = [(e["user"], e["action"], e["subject"]) for e in api.get("/api/v1/audit", role="admin")["entries"]]
    assert ("responder-user", "incident.open", "dec-leak") in audit
    assert ("responder-user", "incident.open", "mqtt-open") in audit
    assert ("responder-user", "incident.lookup", "dec-leak") in audit
    entry = next(e for e in api.get("/api/v1/audit", role="admin")["entries"] if e["action"] == "incident.blast_radius")
    assert entry["user"] == "responder-user" and entry["subject"] == "dec-leak" and entry["detail"]["affected"] > 0
    no_radius = api.client.post("/api/v1/incidents/mqtt-open/lookup", headers=api.headers("responder"))
    assert no_radius.status_code == 400 and "no blast radius yet" in no_radius.json()["detail"]


def test_blast_radius_takes_the_clis_exposed_and_classification(api: Api, production: dict[str, str],
                                                                tmp_path: Path) -> None:
    """An incident on a store known by name only: the control plane, like the CLI, needs to be told what the
    exposed store held (`--exposed URL`, `--classification FILE`): the same answers as the CLI's."""
    body = {"name": "named-leak", "store": "analytics-copy", "from": "2019-12-04", "to": "2019-12-26"}
    assert api.client.post("/api/v1/incidents", headers=api.headers("responder"), json=body).status_code == 201
    compute = "/api/v1/incidents/named-leak/blast-radius"
    classified = CliRunner().invoke(cli, ["classify", production["copy"], "--format", "json"])
    assert classified.exit_code in (0, 1), classified.output
    (tmp_path / "classification.json").write_text(classified.stdout)

    def cli_radius(*options: str) -> Any:
        result = CliRunner().invoke(cli, ["incident", "blast-radius", "named-leak", "--source", production["prod"],
                                          "--format", "json", "--db", api.location, *options])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def post(json_body: Any = None) -> httpx.Response:
        return api.client.post(compute, headers=api.headers("responder"), json=json_body)

    (tmp_path / "dataward.toml").write_text(f'[[store]]\nname = "the-copy"\nurl = "{production["copy"]}"\n')
    app, plane = api.client.app, api.client.app.state.plane  # type: ignore[attr-defined]
    plane.source = production["prod"]
    app.state.policy = load_policy(str(tmp_path / "dataward.toml"))  # the exposed store is one of serve's
    try:
        unknown = post()
        assert unknown.status_code == 400 and "cannot tell what the exposed store" in unknown.json()["detail"]
        by_url = post({"exposed": production["copy"]})
        assert by_url.status_code == 200, by_url.text
        assert by_url.json() == cli_radius("--exposed", production["copy"])
        by_classification = post({"classification": json.loads(classified.stdout)})
        assert by_classification.status_code == 200, by_classification.text
        assert by_classification.json() == cli_radius("--classification", str(tmp_path / "classification.json"))
        assert by_classification.json()["affected_customers"] > 0
        started = api.client.post(f"{compute}?background=true", headers=api.headers("responder"),
                                  json={"exposed": production["copy"]})  # the same, as a background job
        assert started.status_code == 202, started.text

        def ended() -> bool:
            job = api.get("/api/v1/incidents/named-leak")["jobs"].get("blast_radius")
            return bool(job and job["id"] == started.json()["id"] and job["state"] != "running")

        wait_until(ended, timeout=120, what="the blast radius job to end")
        job = api.get("/api/v1/incidents/named-leak")["jobs"]["blast_radius"]
        assert (job["state"], job["result"]) == ("done", {"affected_customers": by_url.json()["affected_customers"]})
        not_a_report = post({"classification": {"schema": "something/v1"}})
        assert not_a_report.status_code == 400 and "no objects or findings" in not_a_report.json()["detail"]
        closed = post({"exposed": "redis://:hunter2-canary@127.0.0.1:1/0"})
        assert closed.status_code == 400 and "hunter2-canary" not in closed.text
        assert post({"exposed": production["copy"], "extra": 1}).status_code == 422
    finally:
        plane.source = None
        app.state.policy = None
    entries = [e for e in api.get("/api/v1/audit", role="admin")["entries"]
               if (e["action"], e["subject"]) == ("incident.blast_radius", "named-leak")]
    assert [e["detail"]["classification"] for e in entries] == [False, True, False]  # newest first
    assert entries[0]["detail"]["exposed"] == entries[2]["detail"]["exposed"] == production["copy"]
    assert "hunter2-canary" not in json.dumps(api.get("/api/v1/audit", role="admin"))


def test_blast_radius_reads_no_store_but_the_configured_ones(api: Api, production: dict[str, str],
                                                            tmp_path: Path) -> None:
    """A responder's `exposed` (or an incident's store URL) is a store of serve's --config, by name or URL: never
    a file or database of the server's machine nor another host (no local file read, no request forgery), and a
    malformed classification is a sentence, not a server error."""
    canary = "canary-row-4e1b7c@example.com"
    (tmp_path / "secret.csv").write_text(f"id,email\n1,{canary}\n2,{canary},x\n")
    (tmp_path / "dataward.toml").write_text(f'''
[[store]]
name = "analytics-copy"
url = "{production['copy']}"
''')
    app, plane = api.client.app, api.client.app.state.plane  # type: ignore[attr-defined]
    plane.source = production["prod"]
    responder = api.headers("responder")
    for name, store in (("probe-files", "analytics-copy"), ("probe-url", f"file://{tmp_path}/*.csv")):
        body = {"name": name, "store": store, "from": "2019-12-04", "to": "2019-12-26"}
        assert api.client.post("/api/v1/incidents", headers=responder, json=body).status_code == 201

    def post(name: str, body: Any = None, background: bool = False) -> httpx.Response:
        return api.client.post(f"/api/v1/incidents/{name}/blast-radius", headers=responder, json=body,
                               params={"background": "true"} if background else None)

    try:
        for url in (f"file://{tmp_path}/*.csv", f"file://{tmp_path}/secret.csv", f"sqlite:///{api.location}",
                    "file:///etc/passwd", "postgresql://127.0.0.1:1/app", production["copy"]):
            for background in (False, True):
                refused = post("probe-files", {"exposed": url}, background)
                assert refused.status_code == 400, (url, refused.text)
                assert "--config" in refused.json()["detail"] and canary not in refused.text
        for background in (False, True):  # an incident opened on a URL: not read either (400 before any job)
            by_default = post("probe-url", None, background)
            assert by_default.status_code == 400 and canary not in by_default.text, by_default.text
            assert "not a store of serve's --config" in by_default.json()["detail"]
        for bad in ({"objects": [1]}, {"objects": [{}]}, {"findings": "x"}, {"findings": [1]},
                    {"objects": [{"object": "users", "columns": "ab"}]}):
            malformed = post("probe-files", {"classification": bad})
            assert malformed.status_code == 400 and "classification" in malformed.json()["detail"], malformed.text
        app.state.policy = load_policy(str(tmp_path / "dataward.toml"))
        by_name = post("probe-files", {"exposed": "analytics-copy"})
        assert by_name.status_code == 200, by_name.text
        assert post("probe-files").json() == by_name.json()  # the incident's store names a configured store
        assert post("probe-files", {"exposed": production["copy"]}).json() == by_name.json()
        assert by_name.json()["affected_customers"] > 0
        assert post("probe-files", {"exposed": f"file://{tmp_path}/secret.csv"}).status_code == 400
    finally:
        plane.source = None
        app.state.policy = None
    assert canary not in json.dumps(api.get("/api/v1/audit", role="admin"))


def test_a_synchronous_step_waits_its_turn_like_a_job(api: Api, production: dict[str, str], tmp_path: Path) -> None:
    """The synchronous blast radius and lookup build take the same slot as their background jobs: while one of
    the step runs for the incident, another is a 409, not a second computation writing the same artifacts."""
    responder = api.headers("responder")
    body = {"name": "race-leak", "store": "the-copy", "from": "2019-12-04", "to": "2019-12-26"}
    assert api.client.post("/api/v1/incidents", headers=responder, json=body).status_code == 201
    (tmp_path / "dataward.toml").write_text(f'[[store]]\nname = "the-copy"\nurl = "{production["copy"]}"\n')
    app, plane = api.client.app, api.client.app.state.plane  # type: ignore[attr-defined]
    plane.source = production["prod"]
    app.state.policy = load_policy(str(tmp_path / "dataward.toml"))
    try:
        for step, path in (("blast_radius", "blast-radius"), ("lookup", "lookup")):
            release = threading.Event()
            held = plane.jobs.start("race-leak", step, "someone", lambda checkpoint, r=release: {"held": r.wait(60)})
            for query in ("", "?background=true"):
                busy = api.client.post(f"/api/v1/incidents/race-leak/{path}{query}", headers=responder)
                assert busy.status_code == 409 and "already running" in busy.json()["detail"], (path, busy.text)
            release.set()
            wait_until(lambda s=step, j=held: plane.jobs.latest("race-leak")[s].state != "running", 60,
                       f"the held {step} job to end")
            now = api.client.post(f"/api/v1/incidents/race-leak/{path}", headers=responder)
            assert now.status_code == 200, now.text
            assert plane.jobs.latest("race-leak")[step].user == "responder-user"  # it ran in the step's slot
    finally:
        plane.source = None
        app.state.policy = None


def test_incident_shows_whether_its_audit_log_verifies(api: Api, tmp_path: Path) -> None:
    plane = api.client.app.state.plane  # type: ignore[attr-defined]
    log, key = tmp_path / "audit.jsonl", tmp_path / "keys" / "audit-ed25519"
    plane.audit_log, plane.audit_public_key = str(log), None
    plane.audit_key_fingerprint = "sha256:" + "0" * 64  # pinned: no local key is looked for
    body = {"name": "audit-trail", "store": "telemetry", "from": "2026-12-06", "to": "2026-12-07"}
    assert api.client.post("/api/v1/incidents", headers=api.headers("responder"), json=body).status_code == 201
    assert api.get("/api/v1/incidents/audit-trail")["audit_log"]["status"] == "absent"
    audit = AuditLog(log, key)
    audit.extend([{"action": "respond.start", "incident": "audit-trail"}, {"action": "respond.end", "incident": "x"}])
    audit.checkpoint()
    assert api.get("/api/v1/incidents/audit-trail")["audit_log"]["status"] == "failed"  # not the pinned key
    plane.audit_public_key, plane.audit_key_fingerprint = str(write_public_key(key)), None
    status = api.get("/api/v1/incidents/audit-trail")["audit_log"]
    assert (status["status"], status["ok"], status["entries"], status["checkpoints"]) == ("verified", True, 3, 1)
    assert status["incident_entries"] == 1 and status["trust"] == "pinned" and str(tmp_path) not in json.dumps(status)
    lines = log.read_text().splitlines()
    log.write_text("\n".join([lines[0].replace("respond.start", "respond.stop"), *lines[1:]]) + "\n")  # edited
    status = api.get("/api/v1/incidents/audit-trail")["audit_log"]
    assert status["status"] == "failed" and status["bad_entry"] == 1 and "edited" in status["reason"]
    plane.audit_log = plane.audit_public_key = None


def test_copies_settings_and_a_test_alert(api: Api, tmp_path: Path, webhook_receiver: WebhookReceiver) -> None:
    secret = "sink-secret-5d2e8"
    for name, expires in (("safe-copy", "2999-01-31"), ("old-copy", "2026-01-31")):
        (tmp_path / name).mkdir()
        manifest = Manifest(source="postgresql://prod.internal:5432/app", plan_hash="abc", key_id="k-7f3e9a",
                            created_at="2026-11-01T00:00:00Z", expires=expires, k=5,
                            tables={"customers": TableCopy(rows=2_400, suppressed=31)})
        (tmp_path / name / MANIFEST_FILE).write_text(json.dumps(manifest.to_json()))
    (tmp_path / "dataward.toml").write_text(f"""
[[store]]
name = "safe-copy"
url = "file://{tmp_path}/safe-copy"
[[store]]
name = "old-copy"
url = "file://{tmp_path}/old-copy"
[[store]]
name = "cache"
url = "redis://:cache-pw-5d2e8@127.0.0.1:1"
[[alert]]
url = "{webhook_receiver.url}?token={secret}"
name = "security-webhook"
[[alert]]
url = "http://127.0.0.1:{free_port()}/hook"
""")
    app = api.client.app
    app.state.policy = load_policy(str(tmp_path / "dataward.toml"))  # type: ignore[attr-defined]
    try:
        copies = api.client.get("/api/v1/copies?refresh=true", headers=api.headers("viewer")).json()
        assert copies["schema"] == "dataward.copies/v1" and copies["stores_read"] == 3 and copies["expired"] == 1
        rows = {c["name"]: c for c in copies["copies"]}
        assert set(rows) == {"safe-copy", "old-copy"}  # a Redis holds no copy
        assert (rows["old-copy"]["expired"], rows["safe-copy"]["expired"]) == (True, False)
        assert rows["safe-copy"]["key_id"] == "k-7f3e9a" and rows["safe-copy"]["k"] == 5
        assert rows["safe-copy"]["source"].startswith("postgresql://") and rows["safe-copy"]["rows"] == 2_400

        viewer = api.get("/api/v1/settings")
        assert viewer["schema"] == "dataward.settings/v1" and "users" not in viewer and "audit" not in viewer
        assert [s["label"] for s in viewer["sinks"]][0] == "security-webhook" and "alert" not in viewer["policy"]
        assert {s["name"] for s in viewer["policy"]["store"]} >= {"safe-copy", "cache"}
        admin = api.get("/api/v1/settings", role="admin")
        assert {u["name"] for u in admin["users"]} >= {"viewer-user", "admin-user"}
        for text in (json.dumps(viewer), json.dumps(admin), json.dumps(copies)):
            assert secret not in text and "cache-pw-5d2e8" not in text and PASSWORD not in text

        for role in ("viewer", "responder"):
            assert api.client.post("/api/v1/sinks/0/test", headers=api.headers(role)).status_code == 403
        sent = api.client.post("/api/v1/sinks/0/test", headers=api.headers("admin"))
        assert sent.status_code == 200 and sent.json()["sink"] == "security-webhook"
        assert [(m["event"], m["sent_by"]) for m in webhook_receiver.received] == [("test", "admin-user")]
        failed = api.client.post("/api/v1/sinks/1/test", headers=api.headers("admin"))
        assert failed.status_code == 502 and "failed" in failed.json()["detail"]
        assert api.client.post("/api/v1/sinks/7/test", headers=api.headers("admin")).status_code == 404
        audit = [(e["user"], e["action"]) for e in api.get("/api/v1/audit", role="admin")["entries"]]
        assert audit[:2] == [("admin-user", "alert.test")] * 2
    finally:
        app.state.policy = None  # type: ignore[attr-defined]
        app.state.copies_cache = None  # type: ignore[attr-defined]


# ---- schemathesis ----------------------------------------------------------------------------------------------------
def test_schemathesis_finds_no_server_error(api: Api) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    spec = api.client.get("/api/v1/openapi.json", headers=api.headers("viewer")).json()
    operations = [op.ok() for op in schemathesis.openapi.from_dict(spec).get_all_operations()]
    checked = []
    for op in operations:
        if op.path in STREAMS:
            continue
        strategy = st.one_of(op.as_strategy(), op.as_strategy(schemathesis.GenerationMode.NEGATIVE))

        @settings(max_examples=4, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def call(case: Any) -> None:
            kwargs = case.as_transport_kwargs(base_url="http://testserver")
            kwargs["headers"] = {**(kwargs.get("headers") or {}), **api.headers("admin")}
            kwargs.pop("cookies", None)
            if isinstance(kwargs.get("data"), str | bytes):
                kwargs["content"] = kwargs.pop("data")
            answer = api.client.request(**kwargs)
            assert answer.status_code < 500, (case.method, case.path, answer.text[:300])

        call()
        checked.append(op.path)
    assert len(checked) >= 10


# ---- a watcher in another process: its recorded transitions polled into the events ------------------------------
def test_history_poller_publishes_transitions_recorded_elsewhere(tmp_path: Path) -> None:
    from dataward.serve.events import EventBus
    from dataward.serve.runner import HistoryPoller
    from dataward.watch.engine import Observation, step
    from dataward.watch.model import StoreState

    db = StateDB(str(tmp_path / "state.db"))
    bus = EventBus()
    state = StoreState(store="cache")

    def probe(at: str, findings: tuple[Finding, ...]) -> None:  # what `dataward watch` records for one probe
        nonlocal state
        t = step(state, Observation("cache", NOAUTH.target, "redis", at, True, findings, None, ("email",)),
                 Severity.HIGH)
        state = t.state
        db.save(state, t.events, t.alerts, {}, at)

    probe("2026-12-07T08:00:00Z", ())
    poller = HistoryPoller(db, bus)
    assert poller.poll() == 0  # what was recorded before the start is not sent again
    probe("2026-12-07T08:00:15Z", (NOAUTH, CONTENT))
    probe("2026-12-07T08:00:30Z", (NOAUTH, CONTENT))
    probe("2026-12-07T08:00:45Z", ())
    assert poller.poll() == 2 and poller.poll() == 0
    (exposed, fixed) = bus.recent()
    assert (exposed.event, fixed.event) == ("exposed", "fixed")
    assert exposed.data["store"] == "cache" and exposed.data["kind"] == "redis"
    assert exposed.data["finding"] == {"id": NOAUTH.id, "rule": NOAUTH.rule, "severity": "critical",
                                       "title": NOAUTH.title}
    assert {f["id"] for f in exposed.data["findings"]} == {NOAUTH.id, CONTENT.id}
    assert exposed.data["window"]["opened"] == "2026-12-07T08:00:15Z" and exposed.data["categories"] == ["email"]
    assert exposed.data["window"]["last_secure"] == "2026-12-07T08:00:00Z"
    assert fixed.data["window"] == {"opened": "2026-12-07T08:00:15Z", "closed": "2026-12-07T08:00:45Z",
                                    "last_secure": None}
    assert "evidence" not in json.dumps([exposed.data, fixed.data])
    db.close()


# ---- a real server watching a real Redis -------------------------------------------------------------------------------
class Listener:
    """Reads ``GET /api/v1/events`` in a thread; ``events`` are (event, data) pairs as they arrive."""

    def __init__(self, url: str, token: str) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.arrived: list[float] = []  # time.monotonic() of each event
        self.raw: list[str] = []
        self.status: int | None = None
        self.ended = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(url, token), daemon=True)
        self._thread.start()

    def _read(self, url: str, token: str) -> None:
        try:
            with httpx.stream("GET", url, headers={"Authorization": f"Bearer {token}"},
                              timeout=httpx.Timeout(10, read=None)) as answer:
                self.status = answer.status_code
                event = ""
                for line in answer.iter_lines():
                    self.raw.append(line)
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: "):
                        self.events.append((event, json.loads(line[6:])))
                        self.arrived.append(time.monotonic())
        except httpx.HTTPError:
            pass
        finally:
            self.ended.set()


@dataclass
class Live:
    root: Path
    config: Path
    state: str
    redis: RedisServer
    token: str
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.port = free_port()
        out = self.root / f"serve-{len(self.logs)}.log"
        self.logs.append(out)
        with out.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "dataward", "serve", "--config", str(self.config), "--listen",
                 f"127.0.0.1:{self.port}"], stdout=log, stderr=subprocess.STDOUT, cwd=self.root,
                env={**os.environ, "PYTHONUNBUFFERED": "1"})

        def answers() -> bool:
            assert self.proc is not None and self.proc.poll() is None, out.read_text()
            try:
                return httpx.get(f"{self.base}/healthz").status_code == 200
            except httpx.TransportError:
                return False

        wait_until(answers, 30, "dataward serve to answer")

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=20)

    def get(self, path: str) -> Any:
        answer = httpx.get(f"{self.base}{path}", headers={"Authorization": f"Bearer {self.token}"}, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def state_of(self, store: str) -> dict[str, Any]:
        return next((s for s in self.get("/api/v1/stores")["stores"] if s["name"] == store), {})


@pytest.fixture(scope="module")
def live(redis_factory: ServerFactory[RedisServer], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("serve-live")
    rd = redis_factory.new(requirepass="cache-pw-5d2e8")
    with rd.admin_client() as client:
        for i in range(30):
            client.set(f"user:{i}", f"user{i}.{CANARY_EMAIL}" if i else CANARY_EMAIL)
            client.set(f"session:{i}", CANARY_TOKEN)
    config = root / "dataward.toml"
    config.write_text(f'[[store]]\nname = "cache"\nurl = "{rd.url()}"\n\n[watch]\ninterval = "1s"\n'
                      f'state = "state.db"\n\n[[alert]]\nurl = "stdout"\n')
    state = str(root / "state.db")
    engine = open_state_db(state)
    accounts.add_user(engine, "admin", "admin", PASSWORD)
    token = accounts.create_token(engine, "admin")
    engine.dispose()
    server = Live(root, config, state, rd, token)
    server.start()
    yield server
    if server.proc is not None and server.proc.poll() is None:
        server.proc.kill()
        server.proc.wait()
    rd.stop()


def test_live_exposed_event_within_seconds_and_no_planted_value_anywhere(live: Live) -> None:
    health = httpx.get(f"{live.base}/healthz")
    assert health.json() == {"status": "ok"} and "server" not in health.headers
    assert httpx.get(f"{live.base}/api/v1/stores").status_code == 401
    wait_until(lambda: live.state_of("cache").get("state") == "protected", 30, "the first probe of the store")
    listener = Listener(f"{live.base}/api/v1/events", live.token)
    wait_until(lambda: listener.raw, 10, "the event stream to open")
    assert listener.status == 200
    switched = time.monotonic()
    live.redis.config_set("requirepass", "")  # protection switched off
    wait_until(lambda: [e for e, _ in listener.events] == ["exposed"], 10, "the exposed event")
    print(f"exposed event {listener.arrived[0] - switched:.2f} s after the switch (1 s probe interval)")
    event, data = listener.events[0]
    assert data["schema"] == "dataward.event/v1" and data["store"] == "cache" and data["kind"] == "redis"
    assert data["finding"]["severity"] in ("critical", "high") and data["window"]["opened"]
    assert "evidence" not in json.dumps(data)
    wait_until(lambda: live.get("/api/v1/findings?store=cache")["findings"], 10, "the store's findings")
    assert live.get("/api/v1/overview")["watch"] == "running"

    answers = [json.dumps(live.get(path)) for path in (
        "/api/v1/stores", "/api/v1/history", "/api/v1/overview", "/api/v1/findings?state=all", "/api/v1/incidents",
        "/api/v1/audit", "/api/v1/users", "/api/v1/openapi.json")]
    for fmt in ("json", "sarif", "ocsf"):
        answers.append(httpx.get(f"{live.base}/api/v1/findings?format={fmt}",
                                 headers={"Authorization": f"Bearer {live.token}"}).text)
    answers += listener.raw
    assert live.proc is not None
    assert live.stop() == 0  # SIGTERM with an event stream open
    assert listener.ended.wait(10), "the event stream did not end with the server"
    answers.append(live.logs[-1].read_text())
    for text in answers:
        for canary in CANARIES:
            assert canary not in text
    assert '"event": "exposed"' in live.logs[-1].read_text()  # the stdout alert sink, once


def test_live_restart_repeats_no_alert(live: Live) -> None:
    live.redis.config_set("requirepass", "")  # exposed, and still exposed across the restart
    if not any('"event": "exposed"' in log.read_text() for log in live.logs):  # run alone: alert first
        wait_until(lambda: '"event": "exposed"' in live.logs[-1].read_text(), 30, "the exposed alert")
    if live.proc is not None and live.proc.poll() is None:
        assert live.stop() == 0
    live.start()
    started = live.state_of("cache")["last_probe"]
    wait_until(lambda: live.state_of("cache")["last_probe"] > started, 30, "a probe after the restart")
    assert live.state_of("cache")["state"] == "exposed"
    assert live.stop() == 0
    engine = open_state_db(live.state)
    with engine.begin() as conn:
        sent = conn.execute(select(schema.alerts.c.event, schema.alerts.c.status)
                            .where(schema.alerts.c.store == "cache")).all()
    engine.dispose()
    assert sent == [("exposed", "sent")]
    assert '"event"' not in live.logs[-1].read_text()


# ---- the same state on PostgreSQL (a team's state database) --------------------------------------------------
VOLATILE = {"generated_at", "age", "age_seconds", "open_for", "open_for_seconds", "now", "cached_at"}


def _stable(doc: Any) -> Any:
    """A document without the keys that depend on the moment it was made."""
    if isinstance(doc, dict):
        return {k: _stable(v) for k, v in doc.items() if k not in VOLATILE}
    if isinstance(doc, list):
        return [_stable(v) for v in doc]
    return doc


@contextlib.contextmanager
def _seeded_api(location: str, root: Path) -> Iterator[Api]:
    seed(location)
    state = StateDB(location)
    try:
        tokens = {}
        for role in ("viewer", "responder"):
            accounts.add_user(state.engine, f"{role}-user", role, PASSWORD)
            tokens[role] = accounts.create_token(state.engine, f"{role}-user")
        with TestClient(create_app(state, baseline=str(root / "baseline.json"))) as client:
            yield Api(client, location, root / "baseline.json", tokens)
    finally:
        state.close()


def test_a_postgresql_state_database_gives_the_same_answers(postgres_factory: Any, tmp_path: Path) -> None:
    """`serve --db postgresql://…`: migrations run at start, and every read route answers exactly as over a
    SQLite file with the same state (a walk by cursor too); a suppression writes the baseline and hides the finding there too."""
    pg = postgres_factory(auth="scram", users={"ward": "ward-pw"}, databases=("servestate",))
    (tmp_path / "lite").mkdir()
    (tmp_path / "pg").mkdir()
    with _seeded_api(str(tmp_path / "lite" / "state.db"), tmp_path / "lite") as lite, \
            _seeded_api(pg.url(user="ward", db="servestate"), tmp_path / "pg") as pg_api:
        for path, params in [("/api/v1/stores", {}), ("/api/v1/stores/analytics-copy", {}),
                             ("/api/v1/overview", {}), ("/api/v1/history", {}),
                             ("/api/v1/findings", {}), ("/api/v1/findings", {"state": "all"}),
                             ("/api/v1/findings", {"severity": "critical,high", "store": "telemetry"}),
                             ("/api/v1/findings", {"category": "location"}),
                             ("/api/v1/findings", {"limit": 1, "offset": 1}), ("/api/v1/incidents", {})]:
            assert _stable(pg_api.get(path, **params)) == _stable(lite.get(path, **params)), path
        for state in ("open", "all"):  # keyset paging: the same walk, page by page
            assert _walk(pg_api, state, 1) == _walk(lite, state, 1), state
        nul_cursor = base64.urlsafe_b64encode(b'[90,"a\\u0000b",1]').decode().rstrip("=")
        for params in ({"store": "a\x00b"}, {"rule": "\x00"}, {"severity": "high\x00"},
                       {"limit": 1, "cursor": nul_cursor}):  # PostgreSQL takes no NUL in text: a sentence, not a 500
            answer = pg_api.client.get("/api/v1/findings", headers=pg_api.headers("viewer"), params=params)
            assert answer.status_code == 400, (params, answer.text)
        for path in ("/api/v1/stores/a%00b", "/api/v1/history?store=%00"):
            assert pg_api.client.get(path, headers=pg_api.headers("viewer")).status_code == 400, path
        opened = pg_api.client.post("/api/v1/incidents", headers=pg_api.headers("responder"),
                                    json={"name": "nul", "store": "a\x00b", "from": "2019-12-04", "to": "2019-12-26"})
        assert opened.status_code == 400, opened.text
        login = pg_api.client.get("/login")
        csrf = login.text.split('name="csrf" value="')[1].split('"')[0]
        answer = pg_api.client.post("/login", data={"csrf": csrf, "name": "a\x00b", "password": "x" * 12},
                                    follow_redirects=False)
        assert answer.status_code == 400 and "<html" in answer.text.lower(), answer.text  # a page, not a 500
        answer = pg_api.client.post(f"/api/v1/findings/{MQ.id}/suppress", headers=pg_api.headers("responder"),
                                    json={"reason": "test broker, no customer data",
                                          "expires": (date.today() + timedelta(days=90)).isoformat()})
        assert answer.status_code == 200, answer.text
        assert MQ.id not in {f["id"] for f in pg_api.get("/api/v1/findings")["findings"]}
        assert MQ.id in pg_api.baseline.read_text()
