"""Property tests for the scan's parsers: policy text, --ports lists, baselines."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataward.cli.scan import parse_ports
from dataward.errors import DatawardError
from dataward.policy import parse_policy
from dataward.policy.load import line_map
from dataward.scan.baseline import load_baseline

KEYS = ["name", "url", "role", "owner", "expires", "region", "onwer", "forbid", "require", "allowed_regions"]
VALUES = ['"analytics"', '"sqlite:///x.db"', "2020-01-31", '["credential"]', "3", '{env = "HOME"}', '"x"', "true"]
HEADERS = ["[[store]]", "[role.analytics]", "[role.prod]", "[residency]", "[scan]", "[watch]", "[bogus]"]


@st.composite
def policy_texts(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        lines.append(draw(st.sampled_from(HEADERS)))
        for _ in range(draw(st.integers(0, 4))):
            lines.append(f"{draw(st.sampled_from(KEYS))} = {draw(st.sampled_from(VALUES))}")
    return "\n".join(lines) + "\n"


@settings(max_examples=200, deadline=None)
@given(policy_texts())
def test_any_policy_text_loads_or_fails_with_one_line(text: str) -> None:
    try:
        parse_policy(text, warn=lambda _m: None)
    except DatawardError as exc:
        assert "\n" not in exc.message
        assert exc.render().startswith("error: ")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["[[store]]", "[role.analytics]", 'name = "a"', 'url = "x"', "# c", ""]),
                max_size=20))
def test_line_map_points_at_real_lines(lines: list[str]) -> None:
    text = "\n".join(lines)
    for path, number in line_map(text).items():
        line = text.splitlines()[number - 1]
        assert str(path[-1]) in line or isinstance(path[-1], int)


@given(st.lists(st.integers(1, 65535), min_size=1, max_size=20))
def test_ports_round_trip(ports: list[int]) -> None:
    assert parse_ports(",".join(map(str, ports))) == ports


@given(st.integers(1, 65000), st.integers(0, 50))
def test_port_ranges_expand(lo: int, width: int) -> None:
    hi = min(65535, lo + width)
    assert parse_ports(f"{lo}-{hi}") == list(range(lo, hi + 1))


@pytest.mark.parametrize("bad", ["0", "65536", "a", "5-3", "1-2-3", "-1"])
def test_bad_ports(bad: str) -> None:
    with pytest.raises(DatawardError):
        parse_ports(bad)


@pytest.mark.parametrize(
    "content",
    ["not json", "[]", '{"suppressions": [{"id": "x"}]}', '{"suppressions": [{"id": "x", "reason": "r", "expires": "soon"}]}'],
)
def test_bad_baselines_are_config_errors(tmp_path: Path, content: str) -> None:
    path = tmp_path / "b.json"
    path.write_text(content)
    with pytest.raises(DatawardError):
        load_baseline(path)


def test_good_baseline(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"suppressions": [{"id": "ab", "reason": "r", "expires": "2030-01-01"}]}))
    (s,) = load_baseline(path).suppressions
    assert s.expires == date(2030, 1, 1)
