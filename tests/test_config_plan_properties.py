"""Property tests (issue 13): whatever a dataward.toml or a copy plan holds, loading it gives a valid object
or one sentence (dataward's own error), never a traceback. Bounded to seconds: modest max_examples."""

from __future__ import annotations

import string
from datetime import date, datetime
from pathlib import Path
from typing import Any

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataward.copy.plan import Plan, load_plan, parse_plan
from dataward.errors import DatawardError
from dataward.policy import parse_policy
from dataward.policy.load import load_policy
from dataward.policy.model import Policy

# Keys dataward reads somewhere (and near misses), so generated documents reach deep into the validators.
POLICY_KEYS = [
    "store", "role", "residency", "scan", "alert", "watch", "schema", "name", "url", "owner", "expires", "region",
    "description", "tags", "forbid", "require", "allowed_regions", "rows", "timeout", "fail_on", "contents",
    "baseline", "events", "analytics", "prod", "customer", "device", "table", "id", "email", "created_at",
    "categories", "env", "file", "interval", "onwer", "x",
]  # fmt: skip
PLAN_KEYS = [
    "schema", "source", "created_at", "tables", "columns", "action", "why", "category", "confidence", "domain",
    "to", "bucket", "qi", "users", "email", "id", "keep", "drop", "pseudonymize", "generalize", "suppress", "day",
    "year", "ip/24", "major.minor", "dataward.copy-plan/v1", "acton",
]  # fmt: skip
ONE_SECOND = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _scalars(words: list[str]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(words),
        st.text(string.printable, max_size=12),
        st.integers(-(2**63), 2**63 - 1),
        st.floats(allow_nan=True, allow_infinity=True),
        st.booleans(),
        st.dates(min_value=date(1, 1, 1)),
        st.datetimes(min_value=datetime(1, 1, 1)),
    )


def _documents(words: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    keys = st.one_of(st.sampled_from(words), st.text(string.ascii_letters + "_-.", min_size=1, max_size=8))
    values = st.recursive(
        _scalars(words),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
        max_leaves=12,
    )
    return st.dictionaries(keys, values, max_size=5)


def _one_sentence(exc: DatawardError) -> None:
    assert "\n" not in exc.message, exc.message
    assert exc.render().startswith("error: ")


@ONE_SECOND
@given(_documents(POLICY_KEYS))
def test_any_toml_document_as_dataward_toml(doc: dict[str, Any]) -> None:
    try:
        assert isinstance(parse_policy(tomli_w.dumps(doc), warn=lambda _m: None), Policy)
    except DatawardError as exc:
        _one_sentence(exc)


@ONE_SECOND
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_as_dataward_toml(tmp_path_factory: Any, raw: bytes) -> None:
    path = Path(tmp_path_factory.mktemp("cfg")) / "dataward.toml"
    path.write_bytes(raw)
    try:
        load_policy(path, warn=lambda _m: None)
    except DatawardError as exc:
        _one_sentence(exc)


@ONE_SECOND
@given(_documents(PLAN_KEYS))
def test_any_toml_document_as_a_copy_plan(doc: dict[str, Any]) -> None:
    try:
        assert isinstance(parse_plan(doc), Plan)
    except DatawardError as exc:
        _one_sentence(exc)


@ONE_SECOND
@given(
    st.dictionaries(
        st.sampled_from(["t", "users", "x y"]),
        st.fixed_dictionaries({"columns": st.dictionaries(st.sampled_from(["c", "email", "id"]),
                                                          st.dictionaries(st.sampled_from(PLAN_KEYS), _scalars(PLAN_KEYS), max_size=4),
                                                          max_size=3)}),
        max_size=2,
    )
)
def test_any_columns_of_a_copy_plan(tables: dict[str, Any]) -> None:
    """Plans shaped like real ones (tables of columns of settings) with arbitrary settings."""
    try:
        assert isinstance(parse_plan({"tables": tables}), Plan)
    except DatawardError as exc:
        _one_sentence(exc)


@ONE_SECOND
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_as_a_copy_plan(tmp_path_factory: Any, raw: bytes) -> None:
    path = Path(tmp_path_factory.mktemp("plan")) / "plan.toml"
    path.write_bytes(raw)
    try:
        load_plan(path)
    except DatawardError as exc:
        _one_sentence(exc)
