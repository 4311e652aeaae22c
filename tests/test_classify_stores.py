"""`dataward classify` against real servers: a PostgreSQL table with obscure column names and a Redis with
key patterns holding JSON sessions (grouped as one object per pattern)."""

from __future__ import annotations

import json

import psycopg
from _classify_helpers import unique_rows

from dataward.classify.engine import classify_target
from dataward.stores.base import Budget
from dataward.targets import parse_target
from dataward.testing.servers import PostgresServer, RedisServer


def _categories(results: list, obj: str) -> dict[str, set[str]]:  # type: ignore[type-arg]
    found = next(r for r in results if r.object.endswith(obj))
    return {c.name: set(c.category_ids) for c in found.columns}


def test_postgresql_table(pg_trust: PostgresServer) -> None:
    rows = unique_rows(lambda i: (f"u{i}@example.com", f"Atza|IwEBI{'k' * 60}{i:04d}", f"NETGEAR{10 + i % 80}"))
    with psycopg.connect(pg_trust.url()) as conn:
        conn.execute("DROP TABLE IF EXISTS classify_obscure")
        conn.execute("CREATE TABLE classify_obscure (c1 text, c7 text, attr_3 text)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO classify_obscure VALUES (%s, %s, %s)", rows)
    results = classify_target(parse_target(pg_trust.url()), Budget(rows_per_object=200))
    found = _categories(results, "classify_obscure")
    assert found["c1"] == {"email"} and found["c7"] == {"alexa_token"} and found["attr_3"] == {"wifi_ssid"}


def test_redis_key_patterns(redis_open: RedisServer) -> None:
    client = redis_open.admin_client()
    for i in range(40):
        doc = {"email": f"s{i}@example.org", "token": f"ya29.{'a1B2' * 30}{i}"}
        client.set(f"session:{i:05d}", json.dumps(doc))
    results = classify_target(parse_target(redis_open.url()), Budget(rows_per_object=100))
    sessions = [r for r in results if "session" in r.object]
    assert len(sessions) == 1, [r.object for r in results]
    cats = sessions[0].categories
    assert {"email", "api_token"} <= cats


def test_a_single_redis_key_is_classified(redis_open: RedisServer) -> None:
    """Issue 13 item 7: one key holding one strong value (an email) is enough (its own database, db 9)."""
    client = redis_open.admin_client()
    client.connection_pool.connection_kwargs["db"] = 9  # every connection of this client selects db 9
    client.flushdb()
    client.set("contact", "ann.cnry@example.com")
    try:
        results = classify_target(parse_target(redis_open.url(db=9)), Budget(rows_per_object=100))
        assert "email" in {c for r in results for c in r.categories}, [r.to_json() for r in results]
    finally:
        client.flushdb()
