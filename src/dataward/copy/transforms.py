"""One function per plan action, each vectorised over an Arrow array.

Pseudonyms are a true keyed HMAC-SHA-256 (RFC 2104) of ``domain \x1f value``. Options measured here (1M
int64 ids in 65,536-row batches, best of 4, 2 shared cores): ``hashlib`` from precomputed pad midstates
(two SHA-256 compressions a value, OpenSSL with SHA-NI) 1.05M values/s on one core; the same HMAC as one
DuckDB SQL expression (``sha256(opad || unhex(sha256(ipad || m)))`` over BLOBs: four compressions, no SHA-NI)
0.75M values/s; both engines splitting each batch 0.9M values/s; OpenSSL's one-shot ``hmac_digest`` 0.69M.
In the full PostgreSQL copy the midstate loop was as fast or faster, so it is the one used. Only the distinct
values of a batch are hashed (foreign keys repeat), and the digests become int64 or hex text through NumPy.
``tests/test_copy_transforms.py`` checks pseudonyms against ``hmac.new(key, m, sha256)``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataward.errors import ConfigError

KEY_ID_CONSTANT = b"dataward.pseudonym-key-id/v1"
TIME_UNITS = ("hour", "day", "month", "year")
# The start an ISO-8601 text value must have for each unit (years 1000-2999, months and days in range).
_YEAR, _MONTH, _DAY, _HOUR = r"[12]\d{3}", r"-(0[1-9]|1[0-2])", r"-(0[1-9]|[12]\d|3[01])", r"[T ]([01]\d|2[0-3])"
ISO_PREFIX = {
    "year": rf"^{_YEAR}(\D|$)",
    "month": rf"^{_YEAR}{_MONTH}(\D|$)",
    "day": rf"^{_YEAR}{_MONTH}{_DAY}(\D|$)",
    "hour": rf"^{_YEAR}{_MONTH}{_DAY}{_HOUR}",
}
IP_PREFIXES = {"ip/24": 24, "ip/16": 16, "ip/8": 8}
VERSION_PARTS = {"major": 1, "major.minor": 2, "major.minor.patch": 3}
_BLOCK = 64  # SHA-256 block size in bytes (RFC 2104 'B')


@dataclass(frozen=True)
class PseudonymKey:
    """A pseudonymisation key; ``repr`` never shows it, only its id is ever written down."""

    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) < 16:
            raise ConfigError(
                "the pseudonym key is shorter than 16 bytes",
                tip="generate one with: python -c 'import secrets; print(secrets.token_hex(32))'",
            )

    @property
    def key_id(self) -> str:
        """HMAC of a constant: tells two keys apart in a manifest without revealing either."""
        return hmac.new(self.secret, KEY_ID_CONSTANT, hashlib.sha256).hexdigest()[:16]

    def pads(self) -> tuple[bytes, bytes]:
        """(K ^ ipad, K ^ opad) as RFC 2104 defines them for a 64-byte block."""
        k = self.secret if len(self.secret) <= _BLOCK else hashlib.sha256(self.secret).digest()
        k = k.ljust(_BLOCK, b"\0")
        return bytes(b ^ 0x36 for b in k), bytes(b ^ 0x5C for b in k)


def reference_hmac(key: PseudonymKey, domain: str, value: str) -> str:
    """The same pseudonym as ``pseudonymize`` for one value, in plain Python (tests, docs)."""
    return hmac.new(key.secret, _message(domain, value), hashlib.sha256).hexdigest()


def _message(domain: str, value: str) -> bytes:
    return domain.encode() + b"\x1f" + value.encode()


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


class Pseudonymizer:
    """Keyed HMAC-SHA-256 pseudonyms over Arrow arrays (RFC 2104, from precomputed pad midstates)."""

    def __init__(self, key: PseudonymKey) -> None:
        ipad, opad = key.pads()
        self._inner, self._outer = hashlib.sha256(ipad), hashlib.sha256(opad)

    def close(self) -> None:
        return None

    def __enter__(self) -> Pseudonymizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __call__(self, values: pa.Array, domain: str) -> pa.Array:
        """Integers -> non-negative int64, anything else -> 32 hex characters; nulls stay null.

        The domain (``users``, ``email``) separates namespaces so user 42 and device 42 get unrelated
        pseudonyms, while every column of one domain (``users.id``, ``devices.user_id``) maps equal inputs to
        equal outputs. Integer pseudonyms keep 63 bits of the HMAC: among 10M ids a collision has probability
        about 5e-6. Only the distinct values of the batch are hashed.
        """
        values = _as_array(values)
        uniques = pc.unique(values).drop_null()
        digests = self._digests(pc.cast(pc.cast(uniques, pa.string()), pa.binary()), domain)
        mapped = _int63(digests) if pa.types.is_integer(values.type) else _hex32(digests)
        return pc.take(mapped, pc.index_in(values, value_set=uniques))

    def _digests(self, messages: pa.Array, domain: str) -> np.ndarray:
        """One 32-byte HMAC per message: two SHA-256 compressions a value (the pad blocks are precomputed).

        The loop is the only per-value Python in a copy; each step is one C call into OpenSSL (SHA-NI).
        """
        inner = self._inner.copy()
        inner.update((domain + "\x1f").encode())
        new_inner, new_outer = inner.copy, self._outer.copy
        parts = []
        for value in messages.to_pylist():
            h = new_inner()
            h.update(value)
            o = new_outer()
            o.update(h.digest())
            parts.append(o.digest())
        return np.frombuffer(b"".join(parts), dtype=np.uint8).reshape(-1, 32)


def _int63(digests: np.ndarray) -> pa.Array:
    """The first 63 bits of each 32-byte digest as a non-negative int64."""
    head = np.ascontiguousarray(digests[:, :8]).view(">u8").ravel()
    return pa.array((head >> np.uint64(1)).astype(np.int64))


def _hex32(digests: np.ndarray) -> pa.Array:
    """The first 16 bytes of each digest as 32 lowercase hex characters, built without a per-value loop."""
    head = digests[:, :16]
    chars = np.empty((len(head), 32), dtype=np.uint8)
    chars[:, 0::2] = _HEX[head >> 4]
    chars[:, 1::2] = _HEX[head & 15]
    offsets = np.arange(0, 32 * (len(head) + 1), 32, dtype=np.int32)
    return pa.StringArray.from_buffers(len(head), pa.py_buffer(offsets), pa.py_buffer(chars.tobytes()))


def pseudonymize(values: pa.Array, key: PseudonymKey, domain: str) -> pa.Array:
    """One-off pseudonyms (a copy run reuses one ``Pseudonymizer`` for every batch)."""
    with Pseudonymizer(key) as p:
        return p(values, domain)


def generalize_time(values: pa.Array, unit: str) -> pa.Array:
    """Timestamps/dates floored to hour, day, month or year; ISO text is cut to the same precision."""
    values = _as_array(values)
    if unit not in TIME_UNITS:
        raise ConfigError(f"time generalisation '{unit}' is not one of {', '.join(TIME_UNITS)}")
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        # ISO text is cut to the unit; anything else becomes null (fail closed): cutting 'chloe.liu7' to a
        # "day" would copy the start of a raw value
        length = {"hour": 13, "day": 10, "month": 7, "year": 4}[unit]
        shaped = pc.match_substring_regex(values, pattern=ISO_PREFIX[unit])
        return pc.if_else(shaped, pc.utf8_slice_codeunits(values, 0, length), pa.scalar(None, values.type))
    if pa.types.is_timestamp(values.type) or pa.types.is_date(values.type):
        return pc.floor_temporal(values, unit=unit)
    raise ConfigError(f"cannot generalise a {values.type} column to a {unit}")


def generalize_number(values: pa.Array, bucket: float) -> pa.Array:
    """Numbers floored to the lower edge of their bucket (bucket 5: 73.4 -> 70); the type is kept."""
    values = _as_array(values)
    if bucket <= 0:
        raise ConfigError("a number bucket must be positive")
    if not (pa.types.is_integer(values.type) or pa.types.is_floating(values.type) or pa.types.is_decimal(values.type)):
        raise ConfigError(f"cannot put a {values.type} column into number buckets")
    as_float = pc.cast(values, pa.float64())
    floored = pc.multiply(pc.floor(pc.divide(as_float, bucket)), bucket)
    return pc.cast(floored, values.type, safe=False)


def generalize_ip(values: pa.Array, to: str) -> pa.Array:
    """IPv4 addresses to their /24, /16 or /8 network; anything else (IPv6, junk) becomes null (fail closed)."""
    values = pc.cast(_as_array(values), pa.string())
    prefix = IP_PREFIXES.get(to)
    if prefix is None:
        raise ConfigError(f"IP generalisation '{to}' is not one of {', '.join(IP_PREFIXES)}")
    octet = r"(25[0-5]|2[0-4]\d|1?\d?\d)"
    pattern = rf"^{octet}\.{octet}\.{octet}\.{octet}$"
    keep = {24: r"\1.\2.\3.0/24", 16: r"\1.\2.0.0/16", 8: r"\1.0.0.0/8"}[prefix]
    replaced = pc.replace_substring_regex(values, pattern=pattern, replacement=keep)
    ok = pc.match_substring_regex(values, pattern=pattern)
    return pc.if_else(ok, replaced, pa.scalar(None, pa.string()))


def generalize_version(values: pa.Array, to: str) -> pa.Array:
    """Version strings cut to major / major.minor / major.minor.patch; unparsable values become null."""
    values = pc.cast(_as_array(values), pa.string())
    parts = VERSION_PARTS.get(to)
    if parts is None:
        raise ConfigError(f"version generalisation '{to}' is not one of {', '.join(VERSION_PARTS)}")
    head = r"\.".join([r"\d+"] * parts)
    pattern = rf"^v?({head})(\..*)?$"
    replaced = pc.replace_substring_regex(values, pattern=pattern, replacement=r"\1")
    ok = pc.match_substring_regex(values, pattern=pattern)
    return pc.if_else(ok, replaced, pa.scalar(None, pa.string()))


def generalisation_fits(type_: pa.DataType, to: str | None, bucket: float | None) -> bool:
    """Whether a column of this Arrow type can be generalised this way (checked before anything is copied)."""
    text = pa.types.is_string(type_) or pa.types.is_large_string(type_)
    if bucket is not None:
        return pa.types.is_integer(type_) or pa.types.is_floating(type_) or pa.types.is_decimal(type_)
    if to in TIME_UNITS:
        return text or pa.types.is_timestamp(type_) or pa.types.is_date(type_)
    return text  # ip/N and versions are text shapes


def generalize(values: pa.Array, to: str | None, bucket: float | None) -> pa.Array:
    """Dispatch on the plan's ``to`` / ``bucket`` parameters."""
    if bucket is not None:
        return generalize_number(values, bucket)
    if to in TIME_UNITS:
        return generalize_time(values, to)
    if to in IP_PREFIXES:
        return generalize_ip(values, to)
    if to in VERSION_PARTS:
        return generalize_version(values, to)
    raise ConfigError(f"generalisation '{to}' is not known")


def suppress(values: pa.Array) -> pa.Array:
    """Every value replaced by null; the column stays so downstream schemas do not change."""
    return pa.nulls(len(values), type=values.type)


def keep(values: pa.Array) -> pa.Array:
    return values


def _as_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


Transform = Callable[[pa.Array], pa.Array]
