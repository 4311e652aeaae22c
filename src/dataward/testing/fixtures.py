"""pytest plugin: session-scoped real servers (listed in tests/conftest.py as ``pytest_plugins``).

Naming scheme (docs/testing.md):
- ``<kind>_factory``: a session-scoped ``ServerFactory``. ``factory(**config)`` returns a started server,
  shared by every test asking for the same config; ``factory.new(**config)`` returns a private one for
  tests that reconfigure the server at runtime. All are stopped when the session ends.
- ``<kind>_<posture>``: ready-made shared servers, e.g. ``pg_trust``, ``pg_scram``, ``redis_open``,
  ``redis_protected``. Shared servers must not be reconfigured by a test (use ``factory.new``).
A missing binary turns into ``pytest.skip`` with the reason printed (``-ra`` shows it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

import pytest

from dataward.testing.cliproc import PreloadedCli
from dataward.testing.netns import NetNamespace, create_netns, netns_unavailable
from dataward.testing.receivers import SmtpReceiver, WebhookReceiver
from dataward.testing.servers import (
    BinaryMissing,
    LocalServer,
    MariaDBServer,
    MemcachedServer,
    MosquittoServer,
    PostgresServer,
    RedisServer,
    S3Server,
)

S = TypeVar("S", bound=LocalServer)


class ServerFactory(Generic[S]):
    """Starts servers of one kind on demand and stops all of them at the end of the session."""

    def __init__(self, cls: type[S]) -> None:
        self.cls = cls
        self._shared: dict[str, S] = {}
        self._all: list[S] = []

    def __call__(self, **config: Any) -> S:
        """A started server with this config, shared with other tests asking for the same config."""
        key = json.dumps(config, sort_keys=True, default=str)
        server = self._shared.get(key)
        if server is None or not server.running:
            server = self.new(**config)
            self._shared[key] = server
        return server

    def new(self, **config: Any) -> S:
        """A started server of its own (for tests that flip its configuration at runtime)."""
        server = self.cls(**config)
        try:
            server.start()
        except BinaryMissing as exc:
            pytest.skip(f"{self.cls.__name__} cannot start: {exc}")
        self._all.append(server)
        return server

    def close(self) -> None:
        for server in self._all:
            server.stop()
        self._all.clear()
        self._shared.clear()


def _factory(cls: type[S]) -> Iterator[ServerFactory[S]]:
    factory = ServerFactory(cls)
    try:
        yield factory
    finally:
        factory.close()


# ---- factories ---------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def postgres_factory() -> Iterator[ServerFactory[PostgresServer]]:
    """``postgres_factory(auth="trust", users={"app": "pw"})`` -> started PostgresServer."""
    yield from _factory(PostgresServer)


@pytest.fixture(scope="session")
def redis_factory() -> Iterator[ServerFactory[RedisServer]]:
    """``redis_factory(requirepass="pw")`` -> started RedisServer."""
    yield from _factory(RedisServer)


@pytest.fixture(scope="session")
def mariadb_factory() -> Iterator[ServerFactory[MariaDBServer]]:
    """``mariadb_factory(root_password=None, anonymous_users=True)`` -> started MariaDBServer."""
    yield from _factory(MariaDBServer)


@pytest.fixture(scope="session")
def mosquitto_factory() -> Iterator[ServerFactory[MosquittoServer]]:
    """``mosquitto_factory(allow_anonymous=False, passwords={"u": "p"})`` -> started MosquittoServer."""
    yield from _factory(MosquittoServer)


@pytest.fixture(scope="session")
def memcached_factory() -> Iterator[ServerFactory[MemcachedServer]]:
    """``memcached_factory()`` -> started MemcachedServer."""
    yield from _factory(MemcachedServer)


@pytest.fixture(scope="session")
def s3_factory() -> Iterator[ServerFactory[S3Server]]:
    """``s3_factory()`` -> started moto S3Server."""
    yield from _factory(S3Server)


# ---- ready-made shared servers ------------------------------------------------------------------------
@pytest.fixture(scope="session")
def pg_trust(postgres_factory: ServerFactory[PostgresServer]) -> PostgresServer:
    """PostgreSQL where every TCP login is trusted (no password needed), user ``app``, db ``app``."""
    return postgres_factory(auth="trust")


@pytest.fixture(scope="session")
def pg_scram(postgres_factory: ServerFactory[PostgresServer]) -> PostgresServer:
    """PostgreSQL with scram-sha-256 for everyone; ``app``/``app-pw``, db ``app``."""
    return postgres_factory(auth="scram")


@pytest.fixture(scope="session")
def pg_md5(postgres_factory: ServerFactory[PostgresServer]) -> PostgresServer:
    """PostgreSQL with md5 rules and md5-hashed passwords; ``app``/``app-pw``."""
    return postgres_factory(auth="md5")


@pytest.fixture(scope="session")
def pg_ssl(postgres_factory: ServerFactory[PostgresServer]) -> PostgresServer:
    """PostgreSQL with ssl=on (self-signed cert in ``pg_ssl.cert_file``), scram, plain TCP still allowed."""
    return postgres_factory(auth="scram", ssl=True)


@pytest.fixture(scope="session")
def redis_open(redis_factory: ServerFactory[RedisServer]) -> RedisServer:
    """Redis without a password and protected-mode off: anyone who reaches it reads everything."""
    return redis_factory(requirepass=None, protected_mode=False)


@pytest.fixture(scope="session")
def redis_protected(redis_factory: ServerFactory[RedisServer]) -> RedisServer:
    """Redis with ``requirepass`` = ``redis-pw`` (unauthenticated commands are refused)."""
    return redis_factory(requirepass="redis-pw")


@pytest.fixture(scope="session")
def mariadb_open(mariadb_factory: ServerFactory[MariaDBServer]) -> MariaDBServer:
    """MariaDB with root@'%' without a password and anonymous accounts (SELECT on db ``app``)."""
    return mariadb_factory(root_password=None, anonymous_users=True)


@pytest.fixture(scope="session")
def mariadb_secure(mariadb_factory: ServerFactory[MariaDBServer]) -> MariaDBServer:
    """MariaDB with root password ``root-pw``, no anonymous accounts, TLS required; ``app``/``app-pw``."""
    return mariadb_factory(root_password="root-pw", anonymous_users=False, require_secure_transport=True)


@pytest.fixture(scope="session")
def mosquitto_anon(mosquitto_factory: ServerFactory[MosquittoServer]) -> MosquittoServer:
    """Mosquitto that lets anonymous clients connect, publish and subscribe to everything."""
    return mosquitto_factory(allow_anonymous=True)


@pytest.fixture(scope="session")
def mosquitto_auth(mosquitto_factory: ServerFactory[MosquittoServer]) -> MosquittoServer:
    """Mosquitto without anonymous access; password file with ``device``/``device-pw``."""
    return mosquitto_factory(allow_anonymous=False, passwords={"device": "device-pw"})


@pytest.fixture(scope="session")
def memcached_server(memcached_factory: ServerFactory[MemcachedServer]) -> MemcachedServer:
    """memcached without any authentication (its default)."""
    return memcached_factory()


@pytest.fixture(scope="session")
def s3_server(s3_factory: ServerFactory[S3Server]) -> S3Server:
    """moto S3 endpoint; create buckets with ``s3_server.create_bucket(name, public=...)``."""
    return s3_factory()


@pytest.fixture(scope="session")
def moto_server(s3_factory: ServerFactory[S3Server]) -> S3Server:
    """A moto server of its own (every service moto emulates: EC2, RDS, ElastiCache, OpenSearch, S3, STS ...)
    for cloud-inventory tests; point boto3 at it with ``dataward.testing.aws.pointed_at(moto_server.endpoint_url)``."""
    return s3_factory.new()


# ---- network namespaces -------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def netns_factory() -> Iterator[Callable[[], NetNamespace]]:
    """``netns_factory()`` -> a new NetNamespace (veth pair, 10.203.x.y/30); skips with the reason if forbidden."""
    made: list[NetNamespace] = []

    def make() -> NetNamespace:
        reason = netns_unavailable()
        if reason:
            pytest.skip(f"network namespaces unavailable: {reason}")
        ns = create_netns()
        made.append(ns)
        return ns

    try:
        yield make
    finally:
        for ns in made:
            ns.close()


@pytest.fixture(scope="session")
def netns(netns_factory: Callable[[], NetNamespace]) -> NetNamespace:
    """One shared namespace; start servers in it with ``factory.new(netns=netns.name, connect_host=netns.ns_address)``."""
    return netns_factory()


# ---- the CLI as real processes ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def dataward_cli() -> Iterator[PreloadedCli]:
    """``dataward_cli.run(args, env=, cwd=)`` -> CompletedProcess of a real ``python -m dataward`` process,
    forked from a helper that imported the CLI once (milliseconds instead of a second per run);
    ``dataward_cli.bin_dir()`` -> a folder whose ``dataward`` does the same for a shell (put it first on PATH)."""
    with PreloadedCli() as cli:
        yield cli


# ---- receivers for alerts and mail ---------------------------------------------------------------------
@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A local webhook (``.url``) collecting JSON POSTs in ``.received``; ``.fail_next = N`` answers 500 N times."""
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def smtp_receiver() -> Iterator[SmtpReceiver]:
    """A local aiosmtpd server (``.port``, ``.url`` as an smtp:// alert URL) collecting ``.messages``."""
    with SmtpReceiver() as receiver:
        yield receiver
