"""Compiled Hyperscan databases are cached on disk, so a process does not pay the compile (about half a second
for every detector) again; a missing, corrupt or unwritable cache only costs that compile."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pytest

from dataward.classify import _hscache
from dataward.classify.base import DETECTORS
from dataward.classify.engine import Matcher

VALUES = pa.array(["ann@example.com", "NETGEAR47", "call me at +1 415 555 0100 tonight please", "nothing"])


def _hits(matcher: Matcher) -> list[tuple[int, int]]:
    found = matcher.scan(VALUES, hinted=True)
    return sorted(zip(found.pattern.tolist(), found.row.tolist(), strict=True))


def _matcher() -> Matcher:
    return Matcher([cls() for _, cls in sorted(DETECTORS.items())])


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("DATAWARD_CACHE_DIR", str(folder))
    return folder / "hyperscan"


def test_a_second_matcher_loads_the_compiled_databases(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _hits(_matcher())
    files = sorted(cache.glob("*.hsdb"))
    assert files and all(f.stat().st_mode & 0o077 == 0 for f in files)

    def no_compile(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("compiled again despite the cache")

    monkeypatch.setattr(_hscache.hs, "Database", no_compile)
    assert _hits(_matcher()) == first


def test_a_corrupt_cache_file_is_compiled_again_and_replaced(cache: Path) -> None:
    first = _hits(_matcher())
    for f in cache.glob("*.hsdb"):
        f.write_bytes(b"not a database")
    assert _hits(_matcher()) == first
    assert all(f.read_bytes() != b"not a database" for f in cache.glob("*.hsdb"))


def test_an_unwritable_cache_only_costs_the_compile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("DATAWARD_CACHE_DIR", str(blocker / "below-a-file"))
    assert _hits(_matcher())


def test_the_cache_can_be_switched_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAWARD_CACHE_DIR", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert _hscache.cache_dir() is None
    assert _hits(_matcher())
    assert not os.listdir(tmp_path)


def test_the_default_folder_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATAWARD_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert _hscache.cache_dir() == tmp_path / "dataward" / "hyperscan"
