"""The wire-level pieces of the Redis, MQTT, memcached, Elasticsearch and MongoDB probes: parsers as
properties (hypothesis), and hostile or broken peers (silent, garbage, early close) turned into facts,
never exceptions."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataward.stores._docs import flatten, key_pattern, parse_value, topic_pattern
from dataward.stores.base import Budget, store_for
from dataward.stores.memcached import _metadump_keys
from dataward.stores.mqtt import MqttConnection, _packet
from dataward.stores.redis import RespConnection, RespError, _encode
from dataward.targets import parse_target
from dataward.testing.peers import banner, tcp_peer
from dataward.testing.peers import silent as silent_peer

KIND_URLS = ["redis://127.0.0.1:{port}", "memcached://127.0.0.1:{port}", "mqtt://127.0.0.1:{port}?tls_port=1",
             "mongodb://127.0.0.1:{port}", "http://127.0.0.1:{port}/?kind=elasticsearch"]


# ---- parsers -------------------------------------------------------------------------------------------

@given(st.binary(max_size=70_000))
@settings(max_examples=40, deadline=None)
def test_mqtt_remaining_length_roundtrip(body: bytes) -> None:
    a, b = socket.socketpair()
    with a, b:
        conn = MqttConnection(b)
        a.sendall(_packet(0x30, body))
        import time

        assert conn.read_packet(time.monotonic() + 2) == (0x30, body)


_TEXT = st.text(alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=20)
resp_values = st.recursive(
    st.none() | st.integers(-(2**62), 2**62) | _TEXT,
    lambda inner: st.lists(inner, max_size=4), max_leaves=12)


def _resp(value: Any) -> bytes:
    if value is None:
        return b"$-1\r\n"
    if isinstance(value, int):
        return b":%d\r\n" % value
    if isinstance(value, str):
        data = value.encode()
        return b"$%d\r\n%s\r\n" % (len(data), data)
    return b"*%d\r\n" % len(value) + b"".join(_resp(v) for v in value)


@given(resp_values)
@settings(max_examples=60, deadline=None)
def test_resp_reader_parses_what_redis_sends(value: Any) -> None:
    a, b = socket.socketpair()
    with a, b:
        a.sendall(_resp(value))
        conn = RespConnection(b)
        assert conn._read() == value


def test_resp_errors_and_encoding() -> None:
    a, b = socket.socketpair()
    with a, b:
        a.sendall(b"-NOAUTH Authentication required.\r\n+OK\r\n")
        conn = RespConnection(b)
        first, second = conn._read(), conn._read()
    assert isinstance(first, RespError) and first.startswith("NOAUTH") and second == "OK"
    assert _encode(("GET", "k é")) == b"*2\r\n$3\r\nGET\r\n$4\r\nk \xc3\xa9\r\n"


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda inner: st.dictionaries(st.text(min_size=1, max_size=4), inner, max_size=4)
                    | st.lists(inner, max_size=3), max_leaves=15).filter(lambda v: isinstance(v, dict)))
def test_flatten_yields_only_scalars(doc: dict[str, Any]) -> None:
    flat = flatten(doc)
    assert all(v is None or isinstance(v, str | int | float | bool) for v in flat.values())


@pytest.mark.parametrize("key, pattern", [
    ("session:9f2c1a7b5d3e", "session:*"),
    ("user:42", "user:*"),
    ("user:42:email", "user:*:email"),
    ("cache:ann@example.com", "cache:*"),
    ("device:aa:bb:cc:dd:ee:ff", "device:*"),
    ("device:AA-BB-CC-DD-EE-01:state", "device:*:state"),
    ("config", "config"),
    ("queue:events", "queue:events"),
    ("token:eyJhbGciOiJIUzI1NiJ9abcdefgh", "token:*"),
])
def test_key_patterns(key: str, pattern: str) -> None:
    assert key_pattern(key) == pattern


@given(st.lists(st.sampled_from(["user", "session", "42", "9f2c1a7b", "x", ""]), min_size=1, max_size=5))
def test_key_pattern_is_idempotent(parts: list[str]) -> None:
    key = ":".join(parts)
    assert key_pattern(key_pattern(key)) == key_pattern(key)


def test_topic_patterns_and_values() -> None:
    assert topic_pattern("devices/aa:bb:cc:dd:ee:01/state") == "devices/+/state"
    assert topic_pattern("users/1042/profile") == "users/+/profile"
    assert parse_value(b'{"a": {"b": 1}}') == {"a.b": 1}
    assert parse_value("[1, 2]") == {"$value": "[1, 2]"}
    assert parse_value(b"\xff{") == {"$value": "\ufffd{"}
    assert _metadump_keys(["key=user%3A1 exp=-1 la=1 cas=1 fetch=no cls=1 size=70", "junk"]) == ["user:1"]


# ---- hostile peers ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def silent() -> Iterator[int]:
    """Accepts, reads, never answers."""
    with tcp_peer(silent_peer) as port:
        yield port


@pytest.fixture(scope="module")
def garbage() -> Iterator[int]:
    """Answers every connection with a line of another protocol, then closes."""
    with tcp_peer(banner(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")) as port:
        yield port


@pytest.mark.parametrize("url", KIND_URLS)
def test_silent_peer_is_a_timeout_fact(url: str, silent: int) -> None:
    target = parse_target(url.format(port=silent))
    facts = store_for(target).probe(target, Budget(timeout_s=0.3, listen_s=0.2, default_credentials=()))
    assert facts.reachable is False and facts.error is not None and "timeout" in facts.error


@pytest.mark.parametrize("url", KIND_URLS)
def test_other_protocol_is_a_fact(url: str, garbage: int) -> None:
    target = parse_target(url.format(port=garbage))
    facts = store_for(target).probe(target, Budget(timeout_s=0.5, listen_s=0.2, default_credentials=()))
    assert facts.error is not None and not facts.anonymous_access and not facts.readable
    assert facts.exposed is False


@pytest.mark.parametrize("url", KIND_URLS)
def test_sample_of_a_broken_peer_is_one_clear_error(url: str, garbage: int) -> None:
    from dataward.errors import DatawardError

    target = parse_target(url.format(port=garbage))
    with pytest.raises(DatawardError) as info:
        list(store_for(target).sample(target, Budget(timeout_s=0.5, listen_s=0.2)))
    assert "cannot read" in info.value.message and "\n" not in info.value.message
