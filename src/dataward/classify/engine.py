"""The classification engine: one compiled multi-pattern matcher, then a decision per column.

Every detector's patterns go into one Hyperscan database, compiled once per process. A column's bounded
sample is scanned in one pass over its concatenated Arrow values buffer (values joined by newlines); match
end offsets are mapped back to values with ``numpy.searchsorted``, so no Python regex runs per value.
Validators (Luhn, IBAN checksum, JWT header ...) run only on candidates. The decision for a column combines
name hints, the share of values each category explains, value statistics and the neighbouring columns.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import hyperscan as hs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataward.categories import tier_of
from dataward.classify._hscache import compiled
from dataward.classify.base import (
    CLASSIFICATION_SCHEMA,
    DETECTORS,
    CategoryMatch,
    ColumnFacts,
    ColumnResult,
    Detector,
    ObjectResult,
    TableFacts,
)
from dataward.redact import hash_prefix, redact
from dataward.stores.base import Budget, SampledColumn, SampledObject
from dataward.targets import Target

# Categories whose evidence must not keep even a first character (a plain password's first letter helps).
_HASHED_EVIDENCE = frozenset({"password", "secret_key"})
_NUMERIC_EVIDENCE = frozenset({"health_metric", "geo"})
_NEIGHBOUR_TEXTS = 64  # first values of each string column that neighbours may look at


@dataclass(frozen=True)
class ClassifyOptions:
    """Bounds of one classification: values per column, JSON flattening depth and width."""

    rows: int = 2000  # values per column considered (a bounded sample of what the store returned)
    json_depth: int = 4
    json_fields: int = 100  # nested fields reported per JSON column at most
    min_confidence: float = 0.5
    seed: int = 0


@dataclass(frozen=True)
class _Pattern:
    detector: int  # index into Matcher.detectors
    hinted: bool  # counts only when the column name hints at the category
    embedded: bool
    source: str  # the pattern as written (re-run with Python's re on an embedded candidate to validate it)


@dataclass(frozen=True)
class Matches:
    """Pattern hits of one scan: parallel arrays, one entry per (pattern, value) pair, deduplicated."""

    pattern: np.ndarray  # int32 pattern ids (Matcher.patterns)
    row: np.ndarray  # int64 value index in the scanned array


class Matcher:
    """All detectors' patterns in Hyperscan block-mode databases: one for content patterns, one for the
    patterns that count only under a hinting column name (scanned only for such columns), and one for the
    patterns that count only inside free text (``Detector.text_only``: scanned only over values of
    ``PROSE_WORDS`` words or more, since elsewhere their hits could never count).

    No start-of-match tracking (SOM) and no bounded repeats of hundreds: both make Hyperscan slow. Embedded
    patterns end on a delimiter so that each occurrence reports once.
    """

    def __init__(self, detectors: Sequence[Detector]) -> None:
        self.detectors = tuple(detectors)
        self.patterns: list[_Pattern] = []
        groups: dict[tuple[bool, bool], list[int]] = {}
        for index, det in enumerate(self.detectors):
            for hinted, group in ((False, det.patterns), (True, det.hinted_patterns)):
                for pattern in group:
                    groups.setdefault((hinted, det.text_only), []).append(len(self.patterns))
                    self.patterns.append(_Pattern(index, hinted, det.embedded, pattern))
        self._dbs = {key: self._compile(ids) for key, ids in groups.items()}
        self.hinting = frozenset(self.patterns[i].detector for (hinted, _), ids in groups.items() if hinted
                                 for i in ids)
        self._lock = threading.Lock()  # one scratch space per database: scans take turns

    def _compile(self, ids: list[int]) -> hs.Database:
        expressions = []
        for i in ids:
            spec = self.patterns[i]
            expressions.append((spec.source if spec.embedded else f"^(?:{spec.source})$").encode())
        return compiled(expressions, ids, [hs.HS_FLAG_MULTILINE] * len(ids))

    def scan(self, values: pa.Array, hinted: bool = False) -> Matches:
        """Every (pattern, value) hit in a string array, in one Hyperscan pass over its joined buffer;
        with ``hinted`` the name-dependent patterns too (a second pass)."""
        wanted = [(key, db) for key, db in self._dbs.items() if hinted or not key[0]]
        found = self._scan(values, [db for (_, text_only), db in wanted if not text_only])
        text_dbs = [db for (_, text_only), db in wanted if text_only]
        prose = np.flatnonzero(prose_rows(values)) if text_dbs and len(values) else np.zeros(0, np.int64)
        if len(prose) == 0:
            return found
        in_text = self._scan(values.take(pa.array(prose)), text_dbs)
        pattern = np.concatenate([found.pattern, in_text.pattern])
        row = np.concatenate([found.row, prose[in_text.row]])
        order = np.lexsort((pattern, row))  # by value, then pattern, as one scan gives them
        return Matches(pattern[order], row[order])

    def _scan(self, values: pa.Array, dbs: list[hs.Database]) -> Matches:
        data, offsets = _joined_buffer(values)
        pats: list[int] = []
        ends: list[int] = []
        add_pat, add_end = pats.append, ends.append

        def on_match(pid: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
            add_pat(pid)
            add_end(end)

        if data and dbs:
            with self._lock:
                for db in dbs:
                    db.scan(data, match_event_handler=on_match)
        return _map_to_rows(np.asarray(pats, np.int32), np.asarray(ends, np.int64), offsets)


PROSE_WORDS = 3  # a value of this many words or more is free text (a note, a message, a JSON blob)


def prose_rows(strings: pa.Array) -> np.ndarray:
    """Which values are free text: words = spaces + 1 (values are trimmed), a literal count with one Arrow
    kernel, several times cheaper than a regex over \\S+. Nulls are not prose."""
    spaces = pc.count_substring(strings, pattern=" ").fill_null(0).to_numpy(zero_copy_only=False)
    return np.asarray(spaces) >= PROSE_WORDS - 1


def _joined_buffer(values: pa.Array) -> tuple[bytes, np.ndarray]:
    """The values joined by newlines as one buffer, and each value's start offset in it (n + 1 entries)."""
    if len(values) == 0:
        return b"", np.zeros(1, np.int64)
    joined = pc.binary_join_element_wise(values, pa.scalar("\n", values.type), pa.scalar("", values.type))
    width = np.int64 if pa.types.is_large_string(joined.type) else np.int32
    raw = np.frombuffer(joined.buffers()[1], dtype=width)
    offsets = raw[joined.offset : joined.offset + len(joined) + 1].astype(np.int64)
    buffer = joined.buffers()[2]
    data = buffer[int(offsets[0]) : int(offsets[-1])].to_pybytes() if buffer is not None else b""
    return data, offsets - offsets[0]


def _map_to_rows(pats: np.ndarray, ends: np.ndarray, offsets: np.ndarray) -> Matches:
    """Match end offsets (in the joined buffer) to value indices; one hit per (pattern, value)."""
    if len(pats) == 0:
        return Matches(np.zeros(0, np.int32), np.zeros(0, np.int64))
    rows = np.searchsorted(offsets[1:], ends, side="left").astype(np.int64)
    key = np.unique(rows * (int(pats.max()) + 1) + pats)
    width = int(pats.max()) + 1
    return Matches((key % width).astype(np.int32), key // width)


@functools.lru_cache(maxsize=1)
def default_matcher() -> Matcher:
    """The matcher over every registered detector, compiled once per process."""
    return Matcher([cls() for _, cls in sorted(DETECTORS.items())])


# ---------------------------------------------------------------- names


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])")


def name_tokens(name: str) -> tuple[str, ...]:
    """A column name as lowercase words: 'wifiSSID' -> ('wifi', 'ssid'), 'body_fat_pct' -> (..)."""
    leaf = name.rsplit(".", 1)[-1].replace("[]", "")
    words = _SPLIT.split(_CAMEL.sub("_", leaf))
    return tuple(w.lower() for w in words if w)


def hinted(detector: Detector, tokens: tuple[str, ...]) -> bool:
    """Whether the name names the category: a hint's words appear in order, or joined as one word."""
    if any(t in detector.not_names for t in tokens):
        return False
    joined = "".join(tokens)
    for hint in detector.names:
        words = tuple(hint.split("_"))
        if hint.replace("_", "") == joined or _contains(tokens, words):
            return True
    return False


def _contains(tokens: tuple[str, ...], words: tuple[str, ...]) -> bool:
    n = len(words)
    return any(tokens[i : i + n] == words for i in range(len(tokens) - n + 1))


# ---------------------------------------------------------------- column facts


def _facts(name: str, values: pa.Array, dtype: str, table: TableFacts) -> tuple[ColumnFacts, pa.Array | None]:
    """The facts detectors see, and the string array the matcher scans (None for floats/booleans)."""
    values = values.drop_null() if values.null_count else values
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    strings: pa.Array | None = None
    numbers: np.ndarray | None = None
    kind = values.type
    if pa.types.is_integer(kind) or pa.types.is_decimal(kind):
        strings = values.cast(pa.string())
        numbers = np.asarray(values.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False), dtype=np.float64)
    elif pa.types.is_floating(kind):
        numbers = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
    elif pa.types.is_boolean(kind):
        pass
    else:
        strings = _trimmed(_as_strings(values))
    texts: tuple[str, ...] = tuple(strings.to_pylist()) if strings is not None else ()
    if numbers is None and texts:
        numbers = _parse_numbers(texts)
    distinct = len(set(texts)) if texts else (len(np.unique(numbers)) if numbers is not None else 0)
    facts = ColumnFacts(name, name_tokens(name), dtype, texts, numbers, distinct, table)
    return facts, strings


def _trimmed(strings: pa.Array) -> pa.Array:
    """Surrounding whitespace removed and empty strings dropped (they say nothing), in Arrow kernels."""
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    trimmed = pc.utf8_trim_whitespace(strings)
    return trimmed.filter(pc.greater(pc.utf8_length(trimmed), 0))


def _as_strings(values: pa.Array) -> pa.Array:
    """Any other Arrow type as strings (binary decoded leniently, dates as ISO text)."""
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        return values
    if pa.types.is_binary(values.type) or pa.types.is_large_binary(values.type):
        return pa.array([v.decode("utf-8", "replace") for v in values.to_pylist()], pa.string())
    if pa.types.is_nested(values.type):  # struct / list / map: their JSON text, flattened like any blob
        return pa.array([json.dumps(v, default=str) for v in values.to_pylist()], pa.string())
    try:
        return values.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([str(v) for v in values.to_pylist()], pa.string())


_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


def _parse_numbers(texts: tuple[str, ...]) -> np.ndarray | None:
    """Texts that are all plain decimal numbers (CSV, JSON strings), as float64; else None."""
    if not all(_NUMBER.match(t) for t in texts):
        return None
    return np.asarray([float(t) for t in texts], dtype=np.float64)


# ---------------------------------------------------------------- decisions


def classify_values(
    values: pa.Array,
    name: str = "",
    neighbours: Sequence[SampledColumn] = (),
    *,
    dtype: str = "",
    options: ClassifyOptions | None = None,
) -> ColumnResult:
    """Categories of one column from its values, its name and its neighbours (other columns of the object)."""
    opts = options or ClassifyOptions()
    table = table_facts([SampledColumn(name, values, dtype or str(values.type)), *neighbours], opts)
    return _classify_column(name, values, dtype or str(values.type), table, opts, depth=0)[0]


def table_facts(columns: Iterable[SampledColumn], options: ClassifyOptions | None = None) -> TableFacts:
    """The numeric columns of an object, for detectors that judge a column by its neighbours."""
    opts = options or ClassifyOptions()
    names: list[str] = []
    numbers: dict[str, np.ndarray] = {}
    texts: dict[str, tuple[str, ...]] = {}
    for col in columns:
        names.append(col.name)
        arr = _bounded(col.values, opts).drop_null()
        if pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type):
            numbers[col.name] = np.asarray(arr.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False))
        elif pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
            strings = tuple(arr.to_pylist())
            texts[col.name] = strings[:_NEIGHBOUR_TEXTS]
            parsed = _parse_numbers(strings) if strings else None
            if parsed is not None:
                numbers[col.name] = parsed
    return TableFacts(tuple(names), numbers, texts)


def _bounded(values: pa.Array, opts: ClassifyOptions) -> pa.Array:
    """At most ``opts.rows`` values, a seeded random subset when there are more."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if len(values) <= opts.rows:
        return values
    rng = np.random.default_rng(opts.seed)
    picks = np.sort(rng.choice(len(values), size=opts.rows, replace=False))
    return values.take(pa.array(picks))


def _classify_column(
    name: str, values: pa.Array, dtype: str, table: TableFacts, opts: ClassifyOptions, depth: int
) -> list[ColumnResult]:
    """The column's own result first, then one result per nested JSON field ('column.path')."""
    facts, strings = _facts(name, _bounded(values, opts), dtype, table)
    matcher = default_matcher()
    hinting = any(hinted(matcher.detectors[i], facts.tokens) for i in matcher.hinting)
    matches = matcher.scan(strings, hinting) if strings is not None and len(strings) else None
    free_text = _free_text(matcher, facts, strings, matches)
    nested = _json_fields(facts, opts) if depth < opts.json_depth else None
    if nested is not None:
        return _classify_json(name, nested, opts, depth, free_text)
    decided = _decide(matcher, facts, matches)
    return [ColumnResult(name, tuple(m for m, _ in decided if m.confidence >= opts.min_confidence),
                         _evidence(decided, facts), free_text)]


def _free_text(matcher: Matcher, facts: ColumnFacts, strings: pa.Array | None, matches: Matches | None) -> tuple[str, ...]:
    """Categories found inside the column's free text: validated embedded matches (an email, a phone, a
    person's name, a token) in values of three or more words. Word counts are one Arrow kernel; validators
    run only on the Hyperscan candidates of such values, at most one per category found."""
    if strings is None or matches is None or len(matches.row) == 0:
        return ()
    embedded = np.fromiter((matcher.patterns[p].embedded for p in matches.pattern.tolist()), bool, len(matches.pattern))
    if not embedded.any():
        return ()
    keep = embedded & prose_rows(strings)[matches.row]
    found: set[str] = set()
    for pid, row in zip(matches.pattern[keep].tolist(), matches.row[keep].tolist(), strict=True):
        spec = matcher.patterns[pid]
        det = matcher.detectors[spec.detector]
        if det.category in found or (spec.hinted and not hinted(det, facts.tokens)):
            continue
        if any(det.validate(t) for t in det.candidates(spec.source, facts.texts[row])):
            found.add(det.category)
    return tuple(sorted(found))


def _decide(
    matcher: Matcher, facts: ColumnFacts, matches: Matches | None
) -> list[tuple[CategoryMatch, str | None]]:
    """Per category: does the column hold it, with what confidence, and one value to redact as evidence."""
    n = max(len(facts.texts), len(facts.numbers) if facts.numbers is not None else 0)
    if n == 0:
        return _name_only(matcher, facts)
    dets = matcher.detectors
    hints = [hinted(d, facts.tokens) for d in dets]
    hit = np.zeros((n, len(dets)), dtype=bool)
    part: dict[tuple[int, int], str] = {}  # (row, detector) -> matched text, for evidence
    if matches is not None:
        _validated_hits(matcher, facts, matches, hints, hit, part)
    for i, det in enumerate(dets):
        mask = det.content_mask(facts, hints[i])
        if mask is not None and len(mask) == n:
            hit[:, i] |= mask
    winners = _settled_winners(dets, facts, hit, hints, n)
    out: list[tuple[CategoryMatch, str | None]] = []
    by_category: dict[str, tuple[CategoryMatch, str | None]] = {}
    for i in sorted(range(len(dets)), key=lambda k: not dets[k].exclusive):
        det = dets[i]
        rows = np.flatnonzero(winners == i) if det.exclusive else np.flatnonzero(hit[:, i])
        rate = len(rows) / n
        if not _passes(det, facts, rate, len(rows), hints[i]):
            continue
        conf = _confidence(det, rate, hints[i])
        sample = part.get((int(rows[0]), i)) if len(rows) else None
        if sample is None and len(rows) and facts.texts:
            sample = facts.texts[int(rows[0])]
        if not det.exclusive and det.alongside and not any(c in by_category for c in det.alongside):
            continue
        prev = by_category.get(det.category)
        total = rate + (prev[0].match_rate if prev else 0.0)
        best = max(conf, prev[0].confidence if prev else 0.0)
        by_category[det.category] = (CategoryMatch(det.category, best, min(total, 1.0)), sample or (prev[1] if prev else None))
    named = [m for m in _name_only(matcher, facts) if m[0].id not in by_category]
    named = [m for m in named if not _explained(m[0].id, by_category)]
    if named:  # a name that says 'password' outranks weak guesses from content alone (username, token)
        weak = {d.category for i, d in enumerate(dets) if d.min_rate >= 0.6 and not hints[i]}
        strong = {d.category for d in dets if d.min_rate < 0.6} | {d.category for i, d in enumerate(dets) if hints[i]}
        by_category = {c: m for c, m in by_category.items() if c not in weak or c in strong}
    out.extend(by_category.values())
    out.extend(named)
    return sorted(out, key=lambda m: (-m[0].confidence, m[0].id))


def _validated_hits(
    matcher: Matcher,
    facts: ColumnFacts,
    matches: Matches,
    hints: list[bool],
    hit: np.ndarray,
    part: dict[tuple[int, int], str],
) -> None:
    """Mark (value, detector) cells whose candidate passes the detector's validator."""
    for pid, row in zip(matches.pattern.tolist(), matches.row.tolist(), strict=True):
        spec = matcher.patterns[pid]
        det_index = spec.detector
        if (spec.hinted and not hints[det_index]) or hit[row, det_index]:
            continue
        detector = matcher.detectors[det_index]
        if detector.text_only:
            continue
        if spec.embedded:  # validate each occurrence inside the text (Python's re, on this candidate only)
            found = detector.candidates(spec.source, facts.texts[row])
            text = next((t for t in found if detector.validate(t)), None)
        else:
            text = facts.texts[row] if detector.validate(facts.texts[row]) else None
        if text is not None:
            hit[row, det_index] = True
            part[(row, det_index)] = text


def _settled_winners(
    dets: Sequence[Detector], facts: ColumnFacts, hit: np.ndarray, hints: list[bool], n: int
) -> np.ndarray:
    """Winners after dropping categories the column rejects, so a rejected category (dotted versions
    that looked like IPv4) does not keep the values it claimed. The highest-priority rejected category goes
    first: until then it holds values that a lower one needs to pass ('doorbell_v3' as a nickname)."""
    hit = hit.copy()
    for _ in range(8):
        winners = _winners(dets, hit)
        rejected = [
            i for i, det in enumerate(dets)
            if det.exclusive and hit[:, i].any()
            and not _passes(det, facts, float(np.count_nonzero(winners == i)) / n,
                            int(np.count_nonzero(winners == i)), hints[i])
        ]
        claimed = [i for i in rejected if np.count_nonzero(winners == i)]
        if not claimed:
            return winners
        top = max(dets[i].priority for i in claimed)
        claimed = [i for i in claimed if dets[i].priority == top]
        hit[:, claimed] = False
    return _winners(dets, hit)


def _winners(dets: Sequence[Detector], hit: np.ndarray) -> np.ndarray:
    """For each value the detector of highest priority that claims it (-1: none), vectorised."""
    order = np.argsort([-d.priority if d.exclusive else 10**6 for d in dets], kind="stable")
    order = order[[dets[i].exclusive for i in order]]
    ranked = hit[:, order]
    claimed = ranked.any(axis=1)
    first = ranked.argmax(axis=1)
    return np.where(claimed, order[first], -1)


def _passes(det: Detector, facts: ColumnFacts, rate: float, count: int, hint: bool) -> bool:
    if count == 0:
        return False
    threshold = det.hinted_rate if hint else det.min_rate
    if rate < threshold or (not hint and not det.strong and count < det.min_count):
        return False
    return det.accept(facts, rate, hint)


def _confidence(det: Detector, rate: float, hint: bool) -> float:
    """Higher with the share of values explained and with a name that agrees; never 1."""
    conf = 0.55 + 0.35 * min(1.0, rate / 0.9) + (0.1 if hint else 0.0)
    return round(min(conf, 0.99), 3)


def _name_only(matcher: Matcher, facts: ColumnFacts) -> list[tuple[CategoryMatch, str | None]]:
    """Categories a name alone decides (a 'password' column of plausible strings)."""
    out: list[tuple[CategoryMatch, str | None]] = []
    for det in matcher.detectors:
        if det.name_only and hinted(det, facts.tokens) and det.accept(facts, 1.0, True):
            out.append((CategoryMatch(det.category, 0.75, 1.0 if facts.texts else 0.0),
                        facts.texts[0] if facts.texts else None))
    return out


def _explained(category: str, found: dict[str, tuple[CategoryMatch, str | None]]) -> bool:
    """A name-only category yields to content of its own tier that explains the column (a 'password'
    column of bcrypt hashes is password_hash)."""
    tier = tier_of(category)
    return any(tier_of(c) == tier and m.match_rate >= 0.5 for c, (m, _) in found.items())


def _evidence(decided: list[tuple[CategoryMatch, str | None]], facts: ColumnFacts) -> str:
    """A redacted example of the top category (never the value itself)."""
    if not decided:
        return ""
    match, sample = decided[0]
    if match.id in _NUMERIC_EVIDENCE and facts.numbers is not None:
        return f"{len(facts.numbers)} numbers in a {match.id.replace('_', ' ')} range"
    if sample is None:
        return ""
    if match.id in _HASHED_EVIDENCE:
        return hash_prefix(sample)
    return redact(sample, match.id)


# ---------------------------------------------------------------- JSON


def _json_fields(facts: ColumnFacts, opts: ClassifyOptions) -> dict[str, list[object]] | None:
    """Leaf values per path when most sampled values are JSON objects or arrays; None otherwise."""
    texts = [t for t in facts.texts if t[:1] in ("{", "[")]
    if not texts or len(texts) < 0.6 * len(facts.texts):
        return None
    fields: dict[str, list[object]] = {}
    parsed = 0
    for text in texts:
        try:
            doc = json.loads(text)
        except ValueError:
            continue
        parsed += 1
        _flatten(doc, "", fields, opts.json_fields)
    if parsed < 0.6 * len(facts.texts):
        return None
    return fields


def _flatten(doc: object, path: str, out: dict[str, list[object]], width: int) -> None:
    if isinstance(doc, dict):
        for key, value in doc.items():
            _flatten(value, f"{path}.{key}" if path else str(key), out, width)
    elif isinstance(doc, list):
        for value in doc:
            _flatten(value, f"{path}[]", out, width)
    elif doc is not None and (path in out or len(out) < width):
        out.setdefault(path, []).append(doc)


def _classify_json(
    name: str, fields: dict[str, list[object]], opts: ClassifyOptions, depth: int, free_text: tuple[str, ...] = ()
) -> list[ColumnResult]:
    """Each nested field as its own column 'name.path'; the column itself gets their union."""
    nested: list[ColumnResult] = []
    arrays = {path: _leaf_array(vals) for path, vals in fields.items()}
    table = table_facts([SampledColumn(p, a) for p, a in arrays.items()], opts)
    for path, arr in arrays.items():
        nested.extend(_classify_column(f"{name}.{path}", arr, "json", table, opts, depth + 1))
    best: dict[str, CategoryMatch] = {}
    for col in nested:
        for m in col.categories:
            if m.id not in best or m.confidence > best[m.id].confidence:
                best[m.id] = m
    union = tuple(sorted(best.values(), key=lambda m: (-m.confidence, m.id)))
    evidence = next((c.evidence for c in nested if c.categories and union and c.categories[0].id == union[0].id), "")
    in_text = tuple(sorted({*free_text, *(c for col in nested for c in col.free_text)}))
    return [ColumnResult(name, union, evidence, in_text), *nested]


def _leaf_array(values: list[object]) -> pa.Array:
    """JSON leaves as one Arrow array: numbers stay numbers, anything mixed becomes text."""
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return pa.array([float(v) for v in values], pa.float64())  # type: ignore[arg-type]
    return pa.array([v if isinstance(v, str) else json.dumps(v) for v in values], pa.string())


# ---------------------------------------------------------------- objects and targets


def classify_object(obj: SampledObject, options: ClassifyOptions | None = None) -> ObjectResult:
    """Categories of every column (and nested JSON field) of one sampled table, key pattern or topic."""
    opts = options or ClassifyOptions()
    table = table_facts(obj.columns, opts)
    columns: list[ColumnResult] = []
    for col in obj.columns:
        columns.extend(_classify_column(col.name, col.values, col.dtype, table, opts, depth=0))
    return ObjectResult(obj.target, obj.store, obj.object, tuple(columns), obj.records)


def classify_target(
    target: Target,
    budget: Budget | None = None,
    options: ClassifyOptions | None = None,
    on_object: Callable[[ObjectResult], None] | None = None,
) -> list[ObjectResult]:
    """Sample every object of a store within the budget and classify each (the library behind the CLI).

    ``on_object`` is called after each object (the CLI advances its progress bar there).
    """
    from dataward.stores.base import store_for

    budget = budget or Budget()
    opts = options or ClassifyOptions(rows=budget.rows_per_object)
    results: list[ObjectResult] = []
    for obj in store_for(target).sample(target, budget):
        result = classify_object(obj, opts)
        results.append(result)
        if on_object is not None:
            on_object(result)
    return results


def classification_json(results: Iterable[ObjectResult]) -> dict[str, object]:
    """DESIGN.md's ``dataward.classification/v1`` document."""
    return {"schema": CLASSIFICATION_SCHEMA, "objects": [r.to_json() for r in results]}
