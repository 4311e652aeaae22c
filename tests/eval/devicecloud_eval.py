"""The reference device cloud's own tables as labelled objects (labels from its schema's categories).

Raises ImportError while ``dataward.devicecloud`` is not available, so the set builds without it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .dataset import Labelled


def objects(seed: int) -> Iterator[Labelled]:
    import dataward.devicecloud  # noqa: F401  (ImportError: not there yet)

    raise ImportError("dataward.devicecloud has no generator yet")
    yield  # pragma: no cover
