"""Transforms of a safe copy: keyed pseudonyms (checked against the stdlib HMAC) and generalisations."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataward.copy import transforms as tf
from dataward.errors import ConfigError

KEY = tf.PseudonymKey(b"test-key-0123456789abcdef")
OTHER = tf.PseudonymKey(b"another-key-0123456789abcdef")

ints = st.integers(min_value=-(2**62), max_value=2**62)
texts = st.text(min_size=1, max_size=40)


def _expected_int(key: tf.PseudonymKey, domain: str, value: int) -> int:
    digest = hmac.new(key.secret, f"{domain}\x1f{value}".encode(), hashlib.sha256).hexdigest()
    return int(digest[:16], 16) >> 1


def test_pseudonym_is_rfc2104_hmac_sha256() -> None:
    out = tf.pseudonymize(pa.array([42, 7, None], pa.int64()), KEY, "users").to_pylist()
    assert out[:2] == [_expected_int(KEY, "users", 42), _expected_int(KEY, "users", 7)]
    assert out[2] is None
    text = tf.pseudonymize(pa.array(["ann@example.com"]), KEY, "email").to_pylist()[0]
    assert text == hmac.new(KEY.secret, b"email\x1fann@example.com", hashlib.sha256).hexdigest()[:32]


def test_long_key_is_hashed_first_like_rfc2104() -> None:
    long_key = tf.PseudonymKey(b"k" * 100)
    out = tf.pseudonymize(pa.array(["x"]), long_key, "d").to_pylist()[0]
    assert out == hmac.new(long_key.secret, b"d\x1fx", hashlib.sha256).hexdigest()[:32]


@settings(max_examples=40, deadline=None)
@given(st.lists(ints, min_size=1, max_size=50))
def test_int_pseudonyms_equal_to_equal_distinct_to_distinct(values: list[int]) -> None:
    out = tf.pseudonymize(pa.array(values, pa.int64()), KEY, "users").to_pylist()
    mapping = dict(zip(values, out, strict=True))
    for v, p in zip(values, out, strict=True):
        assert mapping[v] == p  # equal -> equal
        assert p != v  # never the input
    assert len(set(out)) == len(set(values))  # distinct -> distinct


@settings(max_examples=40, deadline=None)
@given(st.lists(texts, min_size=1, max_size=30))
def test_text_pseudonyms_keyed_stable_and_not_the_input(values: list[str]) -> None:
    out = tf.pseudonymize(pa.array(values), KEY, "email").to_pylist()
    again = tf.pseudonymize(pa.array(list(reversed(values))), KEY, "email").to_pylist()
    assert out == list(reversed(again))  # stable across batches and order
    assert len(set(out)) == len(set(values))
    assert all(p != v for p, v in zip(out, values, strict=True))
    other = tf.pseudonymize(pa.array(values), OTHER, "email").to_pylist()
    assert all(a != b for a, b in zip(out, other, strict=True))  # another key -> other pseudonyms


def test_domains_separate_namespaces_but_a_domain_is_shared() -> None:
    ids = pa.array([1, 2, 3], pa.int64())
    users = tf.pseudonymize(ids, KEY, "users").to_pylist()
    assert tf.pseudonymize(ids, KEY, "users").to_pylist() == users
    assert set(tf.pseudonymize(ids, KEY, "devices").to_pylist()).isdisjoint(users)


def test_key_id_reveals_nothing_and_short_keys_are_refused() -> None:
    assert KEY.key_id != OTHER.key_id and len(KEY.key_id) == 16
    assert KEY.secret.hex() not in KEY.key_id and "test-key" not in repr(KEY)
    with pytest.raises(ConfigError):
        tf.PseudonymKey(b"short")


@pytest.mark.parametrize(
    "to, value, expected",
    [
        ("ip/24", "192.168.17.42", "192.168.17.0/24"),
        ("ip/16", "10.20.30.40", "10.20.0.0/16"),
        ("ip/24", "2001:db8::1", None),
        ("ip/24", "999.1.1.1", None),
        ("ip/24", None, None),
        ("major.minor", "4.36.11.5859", "4.36"),
        ("major", "4.36.11.5859", "4"),
        ("major.minor", "v2.1.3", "2.1"),
        ("major.minor", "beta", None),
    ],
)
def test_generalize_strings(to: str, value: str | None, expected: str | None) -> None:
    assert tf.generalize(pa.array([value], pa.string()), to, None).to_pylist() == [expected]


@pytest.mark.parametrize(
    "to, expected",
    [
        ("day", dt.datetime(2024, 3, 5)),
        ("month", dt.datetime(2024, 3, 1)),
        ("year", dt.datetime(2024, 1, 1)),
        ("hour", dt.datetime(2024, 3, 5, 13)),
    ],
)
def test_generalize_timestamps(to: str, expected: dt.datetime) -> None:
    ts = pa.array([dt.datetime(2024, 3, 5, 13, 4, 5)], pa.timestamp("us"))
    assert tf.generalize(ts, to, None).to_pylist() == [expected]


def test_generalize_iso_text_and_numbers() -> None:
    assert tf.generalize(pa.array(["2024-03-05T13:04:05"]), "month", None).to_pylist() == ["2024-03"]
    assert tf.generalize(pa.array([73.4, 70.0, None]), None, 5).to_pylist() == [70.0, 70.0, None]
    assert tf.generalize(pa.array([181, 179], pa.int32()), None, 10).to_pylist() == [180, 170]
    assert tf.generalize(pa.array([181], pa.int32()), None, 10).type == pa.int32()


@pytest.mark.parametrize("to", ["week", "ip/33", "minor"])
def test_unknown_generalisations_are_config_errors(to: str) -> None:
    with pytest.raises(ConfigError):
        tf.generalize(pa.array(["x"]), to, None)


def test_suppress_keeps_type_and_length() -> None:
    out = tf.suppress(pa.array([1.5, 2.5]))
    assert out.type == pa.float64() and out.null_count == 2


def test_large_batches_match_the_reference_hmac() -> None:
    ints = list(range(10_000, 30_000, 3))
    out = tf.pseudonymize(pa.array(ints, pa.int64()), KEY, "devices").to_pylist()
    assert out == [_expected_int(KEY, "devices", v) for v in ints]
    texts = [f"user{i}@example.org" for i in range(5000)]
    got = tf.pseudonymize(pa.array(texts), KEY, "email").to_pylist()
    assert got == [tf.reference_hmac(KEY, "email", t)[:32] for t in texts]


@pytest.mark.parametrize(
    "value, to, expected",
    [
        ("chloe.liu7", "day", None),          # not a date: never the start of the raw value (issue 13 item 7)
        ("Emma Johnson", "year", None),
        ("2019-12-04T10:11:12Z", "hour", "2019-12-04T10"),
        ("2019-12-04 10:11:12", "day", "2019-12-04"),
        ("1987-03-21", "year", "1987"),
        ("1987-03", "month", "1987-03"),
        (None, "day", None),
    ],
)
def test_time_generalisation_of_text_keeps_only_date_shaped_values(value, to, expected) -> None:
    assert tf.generalize_time(pa.array([value], pa.string()), to).to_pylist() == [expected]
