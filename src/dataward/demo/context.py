"""What the demo's steps share: the context object, the step type and where outputs and the policy lie."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

REPO = Path(__file__).resolve().parents[3]  # src/dataward/demo/context.py -> the checkout
DEFAULT_OUT = REPO / "demo" / "out"
POLICY = REPO / "demo" / "dataward.toml"
DEFAULT_USERS = 5000
DEMO_SEED = 2019  # the year of the seed case


@dataclass
class DemoContext:
    """What steps share: where outputs go, the console, and what earlier steps produced."""

    out: Path
    console: Console
    users: int = DEFAULT_USERS
    production_url: str = ""
    ground_truth: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)  # label -> path, printed at the end
    state: dict[str, Any] = field(default_factory=dict)  # anything a later step needs from an earlier one
    story: list[tuple[str, str, str, float]] = field(default_factory=list)  # step, seed company, dataward, seconds
    resources: ExitStack = field(default_factory=ExitStack)  # servers later steps still need; closed at the end


Step = Callable[[DemoContext], None]
