"""The engine: one Hyperscan pass mapped back to values, decisions, JSON flattening, object results."""

from __future__ import annotations

import json
import threading

import pyarrow as pa
import pytest

from dataward.categories import CATEGORIES
from dataward.classify.base import CLASSIFICATION_SCHEMA, DETECTORS
from dataward.classify.engine import (
    ClassifyOptions,
    classification_json,
    classify_object,
    classify_values,
    default_matcher,
    name_tokens,
)
from dataward.stores.base import SampledColumn, SampledObject


def test_every_detector_declares_a_known_category() -> None:
    assert {cls.category for cls in DETECTORS} == set(CATEGORIES)
    for cls in DETECTORS:
        assert cls.__doc__ or cls.__module__, cls


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()])
def test_scan_maps_matches_to_values(kind: pa.DataType) -> None:
    values = pa.array(["x", "ann@example.com", None, "NETGEAR47", "nothing", "bob@example.org"], kind)
    values = values.slice(1).drop_null()  # offsets that do not start at zero
    matches = default_matcher().scan(values)
    dets = default_matcher().detectors
    hits = {(int(r), dets[default_matcher().patterns[int(p)].detector].category) for p, r in
            zip(matches.pattern, matches.row, strict=True)}
    assert (0, "email") in hits and (3, "email") in hits and (1, "wifi_ssid") in hits
    assert not any(r == 2 for r, _ in hits if _ in ("email", "wifi_ssid"))


def test_scan_of_empty_array() -> None:
    assert len(default_matcher().scan(pa.array([], pa.string())).row) == 0


@pytest.mark.parametrize("name, tokens", [("wifiSSID", ("wifi", "ssid")), ("body_fat_pct", ("body", "fat", "pct")),
                                          ("payload.user.email", ("email",)), ("attr_3", ("attr", "3"))])
def test_name_tokens(name: str, tokens: tuple[str, ...]) -> None:
    assert name_tokens(name) == tokens


def test_nulls_and_numbers_do_not_break_decisions() -> None:
    assert classify_values(pa.array([None, None], pa.string()), "c1").categories == ()
    assert classify_values(pa.array([1.5, 2.5, None]), "c1").categories == ()
    assert classify_values(pa.array([True, False]), "password").category_ids == ()  # a flag, not a secret


def test_bounded_sample() -> None:
    values = pa.array([f"u{i}@example.com" for i in range(50_000)])
    result = classify_values(values, "c1", options=ClassifyOptions(rows=500))
    assert result.category_ids == ("email",)


def test_json_fields_become_columns() -> None:
    docs = [json.dumps({"user": {"email": f"u{i}@example.com"}, "wifi": [{"ssid": f"NETGEAR{i % 90 + 10}"}],
                        "n": i}) for i in range(50)]
    obj = SampledObject("sqlite:///x", "sqlite", "events", (SampledColumn("payload", pa.array(docs)),))
    cols = {c.name: set(c.category_ids) for c in classify_object(obj).columns}
    assert cols["payload"] == {"email", "wifi_ssid"}
    assert cols["payload.user.email"] == {"email"}
    assert cols["payload.wifi[].ssid"] == {"wifi_ssid"}
    assert cols["payload.n"] == set()


def test_classification_json_shape() -> None:
    obj = SampledObject("sqlite:///x", "sqlite", "users", (SampledColumn("c7", pa.array(["Atza|" + "A1b2" * 20] * 5)),))
    doc = classification_json([classify_object(obj)])
    assert doc["schema"] == CLASSIFICATION_SCHEMA
    col = doc["objects"][0]["columns"][0]  # type: ignore[index]
    assert col["name"] == "c7" and col["categories"][0]["id"] == "alexa_token"
    assert set(col["categories"][0]) == {"id", "confidence", "match_rate"}
    assert col["evidence"] == "Atza|…[redacted]"


def test_scans_from_threads_agree() -> None:
    values = pa.array([f"u{i}@example.com" for i in range(2000)])
    out: list[tuple[str, ...]] = []

    def work() -> None:
        out.append(classify_values(values, "c1").category_ids)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == [("email",)] * 4


def test_struct_columns_are_flattened_like_json() -> None:
    values = pa.array([{"contact": {"email": f"u{i}@example.com"}, "n": i} for i in range(30)])
    obj = SampledObject("duckdb:///x", "duckdb", "t", (SampledColumn("info", values, str(values.type)),))
    cols = {c.name: set(c.category_ids) for c in classify_object(obj).columns}
    assert cols["info"] == {"email"} and cols["info.contact.email"] == {"email"}


# ---------------------------------------------------------------- issue 13 item 7: free text, single values

NOTES = [
    "Call Emma Johnson on +1 415 555 0001",
    "left the parcel at the door",
    "customer asked about a refund for the camera",
    "ticket closed",
    "see the thread from last week",
    None,
]


def test_free_text_with_embedded_names_phones_and_emails_is_found() -> None:
    result = classify_values(pa.array(NOTES, pa.string()), "notes")
    assert result.free_text == ("person_name", "phone")
    assert result.categories == ()  # no category explains the column: it is free text, not a phone column
    mails = classify_values(pa.array([*NOTES[1:5], "write to maria.garcia@example.com about the warranty"]), "notes")
    assert "email" in mails.free_text
    assert classify_values(pa.array(NOTES[1:5], pa.string()), "notes").free_text == ()  # prose without PII


@pytest.mark.parametrize("note", ["please ring Jürgen Müller tomorrow", "call Émilie Dubois after lunch",
                                  "Øyvind Larsen called about the camera"])
def test_names_with_accents_inside_free_text(note: str) -> None:
    assert classify_values(pa.array([note, "ok", "fine thanks"]), "notes").free_text == ("person_name",)


def test_free_text_inside_json_blobs_is_found() -> None:
    blobs = ['{"note": "ring Emma Johnson before delivery", "n": 1}', '{"note": "fragile", "n": 2}']
    result = classify_values(pa.array(blobs), "payload")
    assert "person_name" in result.free_text
    assert json.loads(json.dumps(classification_json([classify_object(SampledObject(
        "t", "sqlite", "tickets", (SampledColumn("payload", pa.array(blobs)),)))])))["objects"][0]["columns"][0][
        "free_text"] == ["person_name"]


def test_short_texts_are_not_free_text() -> None:
    """Two capitalised words alone are a name column's business (and a city is not prose)."""
    assert classify_values(pa.array(["San Jose", "New York", "Emma Johnson"]), "place").free_text == ()


@pytest.mark.parametrize(
    "value",
    [
        "alice.cnry@example.com",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwiaWF0IjoxNTE2MjM5MDIyfQ."
        "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        "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",
        "+1 415 555 0001",
    ],
)
def test_a_single_strong_value_counts_alone(value: str) -> None:
    """A one-row table or a single Redis key: one valid email, token or phone is enough."""
    result = classify_values(pa.array([value]), "value")
    assert result.categories, result


def test_a_single_weak_value_does_not() -> None:
    assert classify_values(pa.array(["hello world"]), "value").categories == ()
    assert classify_values(pa.array(["Emma Johnson"]), "value").categories == ()


def test_free_text_counts_for_the_object_and_the_scan_evidence() -> None:
    """A table whose only personal data sits in a notes column still holds identity data (policy, scan)."""
    from dataward.scan.risk import _evidence

    obj = classify_object(SampledObject("t", "sqlite", "tickets", (
        SampledColumn("status", pa.array(["open", "closed", "open"])),
        SampledColumn("notes", pa.array(["Call Emma Johnson on +1 415 555 0001", "ok", "no answer today"])),
    )))
    assert obj.categories == {"person_name", "phone"}
    assert "notes: free text with person_name/phone" in _evidence(obj)


def test_text_only_patterns_scan_only_free_text() -> None:
    """Patterns that count only inside free text (NameInText, PhoneInText) are scanned over values of three
    words or more only: a names column never pays for them (issue 17's speed goal), prose still finds them,
    and the hits keep their rows, sorted by value then pattern as one scan gives them."""
    from dataward.classify.engine import default_matcher

    matcher = default_matcher()
    text_only = {i for i, p in enumerate(matcher.patterns) if matcher.detectors[p.detector].text_only}
    assert text_only
    names = matcher.scan(pa.array(["Emma Johnson", "Jürgen Müller", None, "Émilie Dubois"]))
    assert not text_only & set(names.pattern.tolist())
    values = pa.array(["Emma Johnson", "please ring Emma Johnson before delivery", None,
                       "call +1 415 555 0001 after six"])
    hits = matcher.scan(values)
    in_text = {(int(p), int(r)) for p, r in zip(hits.pattern, hits.row, strict=True) if int(p) in text_only}
    assert {r for _, r in in_text} == {1, 3}
    assert {type(matcher.detectors[matcher.patterns[p].detector]).__name__ for p, _ in in_text} == {
        "NameInText", "PhoneInText"}
    order = list(zip(hits.row.tolist(), hits.pattern.tolist(), strict=True))
    assert order == sorted(order)
