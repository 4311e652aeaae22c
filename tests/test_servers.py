"""The real test servers come up with exactly the security they were asked for, and reconfigure at runtime."""

from __future__ import annotations

import psycopg
import pytest
import redis

from dataward.testing.fixtures import ServerFactory
from dataward.testing.ports import STANDARD_PORTS, free_port
from dataward.testing.servers import PostgresServer, RedisServer


def _pg_login(url: str) -> str:
    with psycopg.connect(url, connect_timeout=3) as conn:
        row = conn.execute("SELECT current_user").fetchone()
    assert row is not None
    return str(row[0])


def test_free_port_is_never_a_standard_one() -> None:
    ports = {free_port() for _ in range(20)}
    assert not ports & STANDARD_PORTS


# ---- PostgreSQL ------------------------------------------------------------------------------------
def test_pg_scram_refuses_no_password(pg_scram: PostgresServer) -> None:
    assert pg_scram.port not in STANDARD_PORTS
    with pytest.raises(psycopg.OperationalError):
        _pg_login(pg_scram.url(user="app", password=""))
    with pytest.raises(psycopg.OperationalError):
        _pg_login(pg_scram.url(user="app", password="wrong"))
    assert _pg_login(pg_scram.url(user="app")) == "app"


def test_pg_trust_lets_anyone_in(pg_trust: PostgresServer) -> None:
    assert _pg_login(pg_trust.url(user="app", password="")) == "app"
    assert _pg_login(pg_trust.url(user="postgres", password="", db="postgres")) == "postgres"


def test_pg_md5_stores_md5_hashes(pg_md5: PostgresServer) -> None:
    assert _pg_login(pg_md5.url(user="app")) == "app"
    with psycopg.connect(pg_md5.admin_url) as conn:
        row = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = 'app'").fetchone()
    assert row is not None and str(row[0]).startswith("md5")


def test_pg_ssl_offers_tls(pg_ssl: PostgresServer) -> None:
    url = pg_ssl.url(user="app") + f"?sslmode=verify-ca&sslrootcert={pg_ssl.cert_file}"
    with psycopg.connect(url) as conn:
        assert conn.pgconn.ssl_in_use


def test_pg_hba_flip_at_runtime(postgres_factory: ServerFactory[PostgresServer]) -> None:
    pg = postgres_factory.new(auth="scram")
    with pytest.raises(psycopg.OperationalError):
        _pg_login(pg.url(user="app", password=""))
    pg.set_auth("trust")
    assert _pg_login(pg.url(user="app", password="")) == "app"
    pg.set_hba(["host all app 127.0.0.1/32 reject"])
    with pytest.raises(psycopg.OperationalError):
        _pg_login(pg.url(user="app"))
    assert _pg_login(pg.admin_url) == "dw_admin"  # admin rules survive any set_hba


def test_pg_stop_removes_everything() -> None:
    pg = PostgresServer(auth="trust").start()
    folder, port = pg.tmpdir, pg.port
    pg.stop()
    assert not folder.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(f"postgresql://app@127.0.0.1:{port}/app", connect_timeout=2)


# ---- Redis -----------------------------------------------------------------------------------------
def test_redis_protected_refuses_unauthenticated_get(redis_protected: RedisServer) -> None:
    with pytest.raises(redis.AuthenticationError), redis.from_url(redis_protected.url()) as client:
        client.get("anything")
    with redis.from_url(redis_protected.url(password="redis-pw")) as client:
        assert client.get("anything") is None


def test_redis_open_answers_anyone(redis_open: RedisServer) -> None:
    with redis.from_url(redis_open.url()) as client:
        client.set("k", "v")
        assert client.get("k") == b"v"
    with redis_open.admin_client() as admin:
        assert admin.config_get("protected-mode")["protected-mode"] == "no"
        assert admin.config_get("save")["save"] == ""


def test_redis_requirepass_flip_at_runtime(redis_factory: ServerFactory[RedisServer]) -> None:
    r = redis_factory.new(requirepass="pw")
    r.config_set("requirepass", "")
    with redis.from_url(r.url()) as client:
        assert client.get("x") is None
    r.config_set("requirepass", "again")
    with pytest.raises(redis.AuthenticationError), redis.from_url(r.url()) as client:
        client.get("x")


def test_redis_acl_users(redis_factory: ServerFactory[RedisServer]) -> None:
    r = redis_factory(requirepass="pw", acl_users={"reader": ("rpw", "~cache:* +@read")})
    with redis.from_url(r.url(user="reader")) as client:
        assert client.get("cache:1") is None
        with pytest.raises(redis.exceptions.NoPermissionError):
            client.set("cache:1", "x")
