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
