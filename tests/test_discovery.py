"""Discovery: connect-scan a loopback range, name each service from its answer (never its port number),
refuse ranges over the limit, and identify protocols from real greeting bytes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dataward.errors import DatawardError
from dataward.scan.discovery import MAX_HOSTS, default_ports, discover, discover_services, expand_hosts
from dataward.stores.mysql import MySQLStore, parse_greeting
from dataward.stores.postgresql import PostgresStore
from dataward.testing.peers import banner, closed_port, tcp_peer


@pytest.fixture(scope="module")
def chatty_port() -> Iterator[int]:
    """A service that is none of our kinds: it greets every connection with an SSH banner."""
    with tcp_peer(banner(b"SSH-2.0-OpenSSH_9.2\r\n")) as port:
        yield port


@pytest.fixture(scope="module")
def other_servers() -> Iterator[dict[int, str]]:
    """One MariaDB, Mosquitto and memcached server (dataward.testing), port -> expected kind."""
    from dataward.testing.servers import BinaryMissing
    from dataward.testing.servers.mariadb import MariaDBServer
    from dataward.testing.servers.memcached import MemcachedServer
    from dataward.testing.servers.mosquitto import MosquittoServer

    started, kinds = [], {}
    for server, kind in ((MariaDBServer(root_password="pw"), "mysql"), (MosquittoServer(), "mqtt"),
                         (MemcachedServer(), "memcached")):
        try:
            started.append(server.start())
        except BinaryMissing as exc:
            print(f"skipping {kind} in discovery: {exc}")
            continue
        kinds[server.port] = kind
    yield kinds
    for server in started:
        server.stop()


def test_discovers_real_servers_by_protocol(pg_scram: Any, pg_trust: Any, redis_open: Any, chatty_port: int,
                                            other_servers: dict[int, str]) -> None:
    expected = {pg_scram.port: "postgresql", pg_trust.port: "postgresql", redis_open.port: "redis",
                **other_servers}
    closed = closed_port()
    ports = [*expected, chatty_port, closed]
    services = discover_services("127.0.0.1", ports, timeout=1.0)
    kinds = {s.port: s.kind for s in services}
    assert kinds == {**expected, chatty_port: None}  # the closed port is not listed at all
    targets = discover("127.0.0.1/32", ports, timeout=1.0)
    assert sorted(t.url for t in targets) == sorted(f"{k}://127.0.0.1:{p}" for p, k in expected.items())
    # every one of these ports is non-default, so the port number cannot have named the kind
    assert not set(expected) & set(default_ports())


def test_progress_callback_counts_every_host_and_port() -> None:
    """Discovery reports (checked, in all) to its caller's callback; it draws nothing itself."""
    seen: list[tuple[int, int]] = []
    ports = [closed_port(), closed_port(), closed_port()]
    assert discover_services("127.0.0.1/31", ports, timeout=0.5, progress=lambda d, t: seen.append((d, t))) == []
    assert seen[0] == (0, 6) and seen[-1] == (6, 6)
    assert [d for d, _ in seen] == list(range(7))  # one report per pair, counted under a lock


def test_identify_does_not_trust_the_port(chatty_port: int, pg_scram: Any) -> None:
    """A PostgreSQL server on some port is still PostgreSQL; an SSH banner is nobody's."""
    (svc,) = discover_services("127.0.0.1", [pg_scram.port], timeout=1.0)
    assert svc.kind == "postgresql"
    (svc,) = discover_services("127.0.0.1", [chatty_port], timeout=1.0)
    assert svc.kind is None and svc.url is None


@pytest.mark.parametrize(
    "spec, n, error",
    [
        ("127.0.0.1", 1, None),
        ("127.0.0.1/32", 1, None),
        ("127.0.0.0/30", 2, None),
        ("10.203.7.0/24", 254, None),
        ("10.203.0.0/23", None, "refusing to scan 512 addresses"),
        ("10.0.0.0/8", None, "refusing to scan 16,777,216 addresses"),
        ("::1/128", 1, None),
        ("localhost", 1, None),
        ("", None, "empty"),
        ("not a host!", None, "is not a host"),
        ("10.0.0.1/99", None, "is not a host"),
    ],
)
def test_expand_hosts(spec: str, n: int | None, error: str | None) -> None:
    if error:
        with pytest.raises(DatawardError, match=error):
            expand_hosts(spec)
    else:
        assert len(expand_hosts(spec)) == n


def test_big_range_allowed_when_owned() -> None:
    assert len(expand_hosts("10.203.0.0/23", i_own_this_network=True)) == 510
    assert MAX_HOSTS == 256


def test_default_ports_cover_every_networked_kind() -> None:
    ports = default_ports()
    for port in (5432, 3306, 6379, 1883, 11211, 9200):
        assert port in ports


@pytest.mark.parametrize(
    "answer, pg, mysql",
    [
        (b"S", True, False),
        (b"N", True, False),
        (b"NO", False, False),
        (b"+PONG\r\n", False, False),
        # MariaDB 10.11 handshake v10 (truncated after the capability flags it needs)
        (b"\x5b\x00\x00\x00\x0a5.5.5-10.11.19-MariaDB\x00\x07\x00\x00\x00abcdefgh\x00\xfe\xff\x2d\x02\x00", False, True),
        # ERR packet a server sends to a host it does not allow (1130)
        (b"\x17\x00\x00\x00\xff\x6a\x04Host is not allowed", False, True),
        (b"SSH-2.0-OpenSSH_9.2\r\n", False, False),
        (b"", False, False),
    ],
)
def test_identify_from_answer_bytes(answer: bytes, pg: bool, mysql: bool) -> None:
    assert PostgresStore.identify(answer) is pg
    assert MySQLStore.identify(answer) is mysql


def test_greeting_parse() -> None:
    raw = b"\x5b\x00\x00\x00\x0a5.5.5-10.11.19-MariaDB\x00\x07\x00\x00\x00abcdefgh\x00\xfe\xff\x2d\x02\x00"
    greeting = parse_greeting(raw)
    assert greeting is not None and greeting.version == "10.11.19-MariaDB" and greeting.tls_offered is True
    refused = parse_greeting(b"\x17\x00\x00\x00\xff\x6a\x04Host is not allowed")
    assert refused is not None and refused.error == "Host is not allowed"


def test_every_networked_kind_can_be_discovered() -> None:
    """Walk the store registry: a kind with default ports must also say how to recognise its answer."""
    from dataward.stores.base import STORES

    for scheme, cls in STORES.items():
        if getattr(cls, "default_ports", ()):
            assert isinstance(getattr(cls, "discovery_hello", None), bytes), scheme
            assert callable(getattr(cls, "identify", None)), scheme
            assert cls.identify(b"") is False, scheme  # silence is nobody's protocol


def _split_search_answer(delay_s: float) -> Any:
    """A behaviour: read a request, send HTTP headers, wait, then the body (as a loaded server may)."""
    import socket
    import time

    body = b'{"name":"n1","cluster_name":"analytics","tagline":"You Know, for Search"}'

    def answer(conn: socket.socket) -> None:
        try:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(body))
            time.sleep(delay_s)
            conn.sendall(body)
        except OSError:
            pass
        finally:
            conn.close()

    return answer


def test_http_body_in_a_later_segment_still_identifies() -> None:
    """CI flake, stop 10: the first recv held only the headers, so Elasticsearch was not named."""
    with tcp_peer(_split_search_answer(0.7)) as port:
        found = {s.port: s.kind for s in discover_services("127.0.0.1", ports=[port], timeout=2.0)}
    assert found == {port: "elasticsearch"}


def test_mysql_greeting_seen_on_a_hello_connection() -> None:
    """A server that speaks first but greets after the greeting wait is still named from any answer."""
    import socket
    import time

    greeting = b"\x5b\x00\x00\x00\x0a5.5.5-10.11.19-MariaDB\x00\x07\x00\x00\x00abcdefgh\x00\xfe\xff\x2d\x02\x00"

    def late_greet(conn: socket.socket) -> None:
        try:
            time.sleep(0.5)
            conn.sendall(greeting)
            time.sleep(0.5)
        except OSError:
            pass
        finally:
            conn.close()

    with tcp_peer(late_greet) as port:
        found = {s.port: s.kind for s in discover_services("127.0.0.1", ports=[port], timeout=2.0)}
    assert found == {port: "mysql"}


def test_an_s3_compatible_endpoint_is_discovered_as_s3(s3_server: Any) -> None:
    """Issue 13 item 9: an HTTP endpoint that speaks the S3 API (moto here; MinIO, Ceph RGW, SeaweedFS alike)
    is recognised as s3, and its target probes the endpoint's buckets."""
    from urllib.parse import urlsplit

    from dataward.scan.discovery import discover
    from dataward.stores.base import Budget, store_for

    s3_server.create_bucket("discovered-cnry", public=True, objects={"x/users.csv": "email\nann.cnry@example.com\n"})
    where = urlsplit(s3_server.endpoint_url)
    found = discover(str(where.hostname), [int(where.port or 80)])
    assert [t.scheme for t in found] == ["s3"]
    assert found[0].params["endpoint_url"] == f"http://{where.hostname}:{where.port}"
    sampled = {o.object for o in store_for(found[0]).sample(found[0], Budget())}
    assert "discovered-cnry/x/users.csv" in sampled  # a bucket-less endpoint samples every bucket it lists


@pytest.mark.parametrize(
    "answer, s3",
    [
        (b'HTTP/1.1 200 OK\r\n\r\n<?xml version="1.0"?><ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">', True),
        (b"HTTP/1.1 403 Forbidden\r\nServer: MinIO\r\n\r\n<Error><Code>AccessDenied</Code></Error>", True),
        (b"HTTP/1.1 403 Forbidden\r\nx-amz-request-id: 1\r\n\r\n<Error><Code>AccessDenied</Code></Error>", True),
        (b'HTTP/1.0 200 OK\r\n\r\n{"cluster_name":"x","tagline":"You Know, for Search"}', False),
        (b"HTTP/1.1 200 OK\r\n\r\n<html>hello</html>", False),
        (b"", False),
    ],
)
def test_s3_identify_from_answer_bytes(answer: bytes, s3: bool) -> None:
    from dataward.stores.s3 import S3Store

    assert S3Store.identify(answer) is s3
