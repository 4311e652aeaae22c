"""Vectorised building blocks for the generator: seeded streams, categorical draws, Arrow string assembly.

Nothing here loops over rows in Python; strings are assembled by Arrow compute kernels or written straight
into Arrow buffers from NumPy byte matrices.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

B64URL = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
BCRYPT64 = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
BASE62 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
HEX = b"0123456789abcdef"
HEX_UPPER = b"0123456789ABCDEF"


def stream(seed: int, chunk: int, name: str) -> np.random.Generator:
    """The random stream of one column (or decision) of one chunk: independent of every other stream,
    so a table's rows do not depend on which other tables or columns were generated, or in what order."""
    return np.random.default_rng([seed, chunk, zlib.crc32(name.encode())])


def categorical(rng: np.random.Generator, n: int, weights: Sequence[float]) -> np.ndarray:
    """``n`` draws of indices 0..k-1 with the given (unnormalised) weights."""
    cum = np.cumsum(np.asarray(weights, dtype=np.float64))
    return np.searchsorted(cum / cum[-1], rng.random(n), side="right").clip(0, len(cum) - 1)


def pool(values: Sequence[str]) -> pa.Array:
    return pa.array(list(values), pa.string())


def take(values: pa.Array, idx: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """``values[idx]``; rows where ``mask`` is True become null."""
    indices = pa.array(idx.astype(np.int32, copy=False), mask=mask)
    return values.take(indices)


def concat(*parts: pa.Array | str) -> pa.Array:
    """Element-wise string concatenation (plain strings are repeated for every row)."""
    return pc.binary_join_element_wise(*parts, "")


def number_text(values: np.ndarray, width: int | None = None) -> pa.Array:
    """Integers as decimal text, zero-padded to ``width`` when given."""
    text = pc.cast(pa.array(values, pa.int64()), pa.string())
    return pc.utf8_lpad(text, width, "0") if width else text


def random_text(rng: np.random.Generator, n: int, length: int, alphabet: bytes) -> pa.Array:
    """``n`` random strings of ``length`` characters from ``alphabet``, written straight into Arrow buffers."""
    return fixed_width_strings(_random_chars(rng, n, length, alphabet))


def _random_chars(rng: np.random.Generator, n: int, length: int, alphabet: bytes) -> np.ndarray:
    """A (n, length) matrix of random characters: random bytes mapped through a 256-entry table with
    ``bytes.translate`` (exact for alphabets of 16 or 64 characters, a slight skew for base62, which is
    harmless for look-alike tokens)."""
    table = (alphabet * (256 // len(alphabet) + 1))[:256]
    return np.frombuffer(rng.bytes(n * length).translate(table), dtype=np.uint8).reshape(n, length)


def fixed_width_strings(matrix: np.ndarray) -> pa.Array:
    """A (rows, width) uint8 matrix of ASCII as an Arrow string array of that width."""
    n, width = matrix.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int64)
    return pa.LargeStringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(matrix).tobytes())
    ).cast(pa.string())


def hex_pairs(values: np.ndarray, upper: bool = True) -> np.ndarray:
    """uint8 values as a (n, 2) matrix of hex digit characters."""
    digits = np.frombuffer(HEX_UPPER if upper else HEX, dtype=np.uint8)
    v = values.astype(np.uint8)
    return np.stack([digits[v >> 4], digits[v & 15]], axis=1)


def timestamps(seconds: np.ndarray) -> pa.Array:
    """Epoch seconds (float or int) as Arrow ``timestamp[us]``, truncated to whole seconds."""
    micros = np.floor(seconds).astype(np.int64) * 1_000_000
    return pa.array(micros, pa.timestamp("us"))


def where(mask: np.ndarray, yes: pa.Array | str, no: pa.Array | str) -> pa.Array:
    return pc.if_else(pa.array(mask, pa.bool_()), yes, no)


def choose(group: np.ndarray, builders: Sequence[Callable[[np.ndarray], pa.Array]]) -> pa.Array:
    """Row i gets ``builders[group[i]]``'s value: each builder is called once with the row positions of its
    group and returns that many values, so only the values that are used are ever built."""
    parts, order = [], []
    for g, build in enumerate(builders):
        rows = np.flatnonzero(group == g)
        if rows.size:
            parts.append(build(rows))
            order.append(rows)
    if not parts:
        return pa.array([], pa.string())
    positions = np.concatenate(order)
    inverse = np.empty(positions.size, dtype=np.int64)
    inverse[positions] = np.arange(positions.size)
    combined = pa.concat_arrays([p.cast(parts[0].type) for p in parts])
    return combined.take(pa.array(inverse))


def template_text(rng: np.random.Generator, n: int, *segments: bytes | tuple[int, bytes]) -> pa.Array:
    """``n`` strings of one fixed layout: literal byte segments and ``(length, alphabet)`` random segments,
    assembled as one byte matrix (no per-segment string concatenation)."""
    columns = []
    for segment in segments:
        if isinstance(segment, bytes):
            columns.append(np.broadcast_to(np.frombuffer(segment, dtype=np.uint8), (n, len(segment))))
        else:
            columns.append(_random_chars(rng, n, *segment))
    return fixed_width_strings(np.concatenate(columns, axis=1))
