"""Every registered detector has a row in docs/classify.md and a test table for its family."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataward.classify.base import DETECTORS as REGISTRY

ROOT = Path(__file__).resolve().parent.parent
DETECTORS = sorted(REGISTRY.items())


@pytest.mark.parametrize("name, cls", DETECTORS, ids=[n for n, _ in DETECTORS])
def test_detector_documented_and_tested(name: str, cls: type) -> None:
    docs = (ROOT / "docs" / "classify.md").read_text()
    assert f"`{name}` | `{cls.category}`" in docs, f"docs/classify.md lacks a row for {name}"  # type: ignore[attr-defined]
    family = cls.__module__.rsplit(".", 1)[-1]
    assert (ROOT / "tests" / f"test_detectors_{family}.py").exists(), f"no tests/test_detectors_{family}.py"
