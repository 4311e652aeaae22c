"""``make demo`` (``python -m dataward.demo``): the seed case on one machine, step by step.

``context`` holds what steps share, ``leak`` and ``safe`` are the seed case's two halves, ``runner`` lists the
steps in order and runs them.
"""

from __future__ import annotations

from dataward.demo.context import DEFAULT_OUT, DEFAULT_USERS, DEMO_SEED, DemoContext, Step
from dataward.demo.runner import (
    FINAL_STEPS,
    STEPS,
    generate_production,
    main,
    print_files,
    run,
    summarise_production,
)

__all__ = [
    "DEFAULT_OUT",
    "DEFAULT_USERS",
    "DEMO_SEED",
    "FINAL_STEPS",
    "STEPS",
    "DemoContext",
    "Step",
    "generate_production",
    "main",
    "print_files",
    "run",
    "summarise_production",
]
