"""Documents to sampled columns: shared by the key-value, message and document stores.

Redis JSON strings, MQTT JSON payloads, Elasticsearch ``_source`` and MongoDB documents all arrive as nested
mappings; classification wants flat named columns. Nested objects become dotted names (``owner.email``), lists
and anything else non-scalar become their JSON text, so a column always holds strings or numbers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

from dataward.stores.base import SampledColumn

Scalar = str | int | float | bool | None

VALUE_COLUMN = "$value"  # a key or message whose value is not a JSON object (DESIGN.md 'classify')
_MAX_DEPTH = 8

# A key segment that names one record rather than a kind of record: digits, hex, UUIDs, long tokens,
# emails and MAC/IP addresses. ``session:9f2c...`` and ``session:1b7e...`` are one object, ``session:*``.
_ID_SEGMENT = re.compile(
    r"""^(?:\d+|[0-9a-f]{6,}|[0-9a-f-]{32,36}|[A-Za-z0-9_\-+/=.]{20,}|[^@\s]+@[^@\s]+
    |(?:[0-9a-f]{2}[:-]){5}[0-9a-f]{2}|\d{1,3}(?:\.\d{1,3}){3})$""",
    re.IGNORECASE | re.VERBOSE,
)


_MAC = re.compile(r"(?<![0-9A-Za-z])(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}(?![0-9A-Za-z])")


def key_pattern(key: str, separators: str = ":") -> str:
    """The pattern a key belongs to: id-like segments replaced by ``*`` (``user:42:email`` -> ``user:*:email``).

    MAC addresses are replaced first, since their colons would otherwise split them into six segments."""
    parts = re.split(f"([{re.escape(separators)}])", _MAC.sub("*", key))
    out = [("*" if i % 2 == 0 and _is_id(p) else p) for i, p in enumerate(parts)]
    return "".join(out)


def topic_pattern(topic: str) -> str:
    """An MQTT topic's pattern: id-like levels replaced by the single-level wildcard ``+``."""
    return "/".join("+" if _is_id(level) else level for level in topic.split("/"))


def _is_id(segment: str) -> bool:
    if not segment:
        return False
    return segment == "*" or bool(_ID_SEGMENT.match(segment)) or (any(c.isdigit() for c in segment) and len(segment) >= 8)


def flatten(doc: Mapping[str, Any], prefix: str = "", depth: int = 0) -> dict[str, Scalar]:
    """A nested document as ``{"a.b": scalar}``; lists and deep values become JSON text."""
    out: dict[str, Scalar] = {}
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and depth < _MAX_DEPTH:
            out.update(flatten(value, f"{name}.", depth + 1))
        else:
            out[name] = _scalar(value)
    return out


def _scalar(value: Any) -> Scalar:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    try:
        return json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


def parse_value(raw: bytes | str) -> dict[str, Scalar]:
    """A stored value as fields: a JSON object's flattened fields, otherwise ``{"$value": text}``."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            return flatten(doc)
    return {VALUE_COLUMN: text}


def columns_from_records(records: Iterable[Mapping[str, Scalar]]) -> tuple[SampledColumn, ...]:
    """Column-wise arrays of flat records; a field missing from a record is null there."""
    rows = list(records)
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    return tuple(_column(name, [row.get(name) for row in rows]) for name in names)


def _column(name: str, values: list[Scalar]) -> SampledColumn:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return SampledColumn(name, pa.array(values, pa.bool_()), "bool")
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return SampledColumn(name, pa.array(values, pa.int64()), "int")
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return SampledColumn(name, pa.array([None if v is None else float(v) for v in values]), "float")
    return SampledColumn(name, pa.array([None if v is None else str(v) for v in values], pa.string()), "string")


def approx_size(record: Mapping[str, Scalar]) -> int:
    """Bytes a flat record holds, for Budget.max_bytes."""
    return sum(len(k) + len(str(v)) for k, v in record.items())
