"""The real test servers come up with exactly the security they were asked for, and reconfigure at runtime."""

from __future__ import annotations

import time

import httpx
import paho.mqtt.client as mqtt
import psycopg
import pymysql
import pytest
import redis
from pymemcache.client.base import Client as MemcacheClient
from pymemcache.exceptions import MemcacheClientError

from dataward.localservers.ports import STANDARD_PORTS, free_port, port_open
from dataward.testing.fixtures import ServerFactory
from dataward.testing.netns import NetNamespace
from dataward.testing.servers import (
    MariaDBServer,
    MemcachedServer,
    MosquittoServer,
    PostgresServer,
    RedisServer,
    S3Server,
    ServerStartError,
)


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


def test_failed_start_reports_the_server_log() -> None:
    with pytest.raises(ServerStartError, match="no_such_setting"):
        PostgresServer(settings={"no_such_setting": "1"}, start_timeout=20).start()


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


# ---- MariaDB ---------------------------------------------------------------------------------------
def _my_login(server: MariaDBServer, user: str, password: str, **kw: object) -> str:
    conn = pymysql.connect(host=server.host, port=server.port, user=user, password=password, connect_timeout=3, **kw)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT current_user()")
            row = cur.fetchone()
        assert row is not None
        return str(row[0])
    finally:
        conn.close()


def test_mariadb_secure_refuses_empty_root_and_plain_tcp(mariadb_secure: MariaDBServer) -> None:
    tls = {"ssl": {"ca": str(mariadb_secure.cert_file)}, "ssl_verify_identity": False}
    with pytest.raises(pymysql.err.OperationalError):
        _my_login(mariadb_secure, "root", "", **tls)
    with pytest.raises(pymysql.err.OperationalError):
        _my_login(mariadb_secure, "someone", "", **tls)  # no anonymous account
    with pytest.raises(pymysql.err.OperationalError):
        _my_login(mariadb_secure, "root", "root-pw", ssl_disabled=True)  # require_secure_transport
    assert _my_login(mariadb_secure, "root", "root-pw", **tls) == "root@%"


def test_mariadb_open_lets_root_and_anyone_in(mariadb_open: MariaDBServer) -> None:
    assert _my_login(mariadb_open, "root", "") == "root@%"
    assert _my_login(mariadb_open, "someone", "") == "@%"  # anonymous account matches any name
    assert _my_login(mariadb_open, "app", "app-pw") == "app@%"


def test_mariadb_runtime_changes(mariadb_factory: ServerFactory[MariaDBServer]) -> None:
    my = mariadb_factory.new(root_password="pw")
    with pytest.raises(pymysql.err.OperationalError):
        _my_login(my, "guest", "")
    my.execute_admin("CREATE USER 'guest'@'%'")  # a passwordless user appears
    assert _my_login(my, "guest", "") == "guest@%"
    my.set_root_password(None)
    assert _my_login(my, "root", "") == "root@%"
    my.create_table("app", "people", [{"email": "a@example.com"}])
    assert my.execute_admin("SELECT count(*) FROM app.people") == [(1,)]


# ---- Mosquitto -------------------------------------------------------------------------------------
def _mqtt_connect(server: MosquittoServer, user: str | None = None, password: str | None = None) -> str:
    """The broker's CONNACK reason as text ('Success', 'Not authorized', ...)."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    if user:
        client.username_pw_set(user, password)
    reasons: list[str] = []
    client.on_connect = lambda _c, _u, _f, reason, _p: reasons.append(str(reason))
    client.connect(server.host, server.port, 5)
    deadline = time.monotonic() + 5
    while not reasons and time.monotonic() < deadline:
        client.loop(timeout=0.05)
    client.disconnect()
    return reasons[0] if reasons else "no answer"


def test_mosquitto_without_anonymous_refuses_anon(mosquitto_auth: MosquittoServer) -> None:
    assert _mqtt_connect(mosquitto_auth) == "Not authorized"
    assert _mqtt_connect(mosquitto_auth, "device", "wrong") == "Not authorized"
    assert _mqtt_connect(mosquitto_auth, "device", "device-pw") == "Success"


def test_mosquitto_anon_accepts_anyone(mosquitto_anon: MosquittoServer) -> None:
    assert _mqtt_connect(mosquitto_anon) == "Success"


def test_mosquitto_reconfigure_at_runtime(mosquitto_factory: ServerFactory[MosquittoServer]) -> None:
    m = mosquitto_factory.new(allow_anonymous=False, passwords={"u": "p"})
    assert _mqtt_connect(m) == "Not authorized"
    m.reconfigure(allow_anonymous=True)
    assert _mqtt_connect(m) == "Success"
    m.reconfigure(allow_anonymous=False, passwords={"v": "q"})
    assert _mqtt_connect(m) == "Not authorized"
    assert _mqtt_connect(m, "v", "q") == "Success"
    assert _mqtt_connect(m, "u", "p") == "Not authorized"


# ---- memcached and S3 ------------------------------------------------------------------------------
def test_memcached_open_and_with_auth(memcached_server: MemcachedServer,
                                      memcached_factory: ServerFactory[MemcachedServer]) -> None:
    client = MemcacheClient((memcached_server.host, memcached_server.port))
    client.set("k", "v")
    assert client.get("k") == b"v"
    locked = memcached_factory(auth_users={"u": "p"})
    with pytest.raises(MemcacheClientError):
        MemcacheClient((locked.host, locked.port)).get("k")


def test_s3_public_bucket_readable_anonymously(s3_server: S3Server) -> None:
    s3_server.create_bucket("open-exports", public=True, objects={"users.csv": "email\na@example.com\n"})
    s3_server.create_bucket("closed-exports", public=False, objects={"users.csv": "email\n"})
    assert httpx.get(f"{s3_server.endpoint_url}/open-exports/users.csv").status_code == 200
    assert httpx.get(f"{s3_server.endpoint_url}/closed-exports/users.csv").status_code == 403
    grants = s3_server.client().get_bucket_acl(Bucket="open-exports")["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("AllUsers") for g in grants)


# ---- network namespaces ----------------------------------------------------------------------------
@pytest.mark.netns
def test_netns_wildcard_bind_reachable_loopback_bind_not(
    netns: NetNamespace, redis_factory: ServerFactory[RedisServer], postgres_factory: ServerFactory[PostgresServer]
) -> None:
    exposed = redis_factory.new(bind="0.0.0.0", protected_mode=False, netns=netns.name, connect_host=netns.ns_address)
    hidden = redis_factory.new(bind="127.0.0.1", netns=netns.name, connect_host=netns.ns_address)
    assert exposed.host == netns.ns_address
    with redis.from_url(exposed.url(), socket_timeout=3) as client:
        assert client.ping()
    assert not port_open(netns.ns_address, hidden.port, timeout=1)
    assert hidden.admin_client().ping()  # it is up: reachable through its unix socket only
    pg = postgres_factory.new(auth="trust", listen="0.0.0.0", netns=netns.name, connect_host=netns.ns_address)
    assert _pg_login(pg.url(user="app", password="")) == "app"
