"""The scan's own rules about contents: their ids and texts, written once.

``dataward.scan.risk`` emits the content findings (``<store>.exposed-data``, ``<store>.sensitive-data``) and
``dataward.scan.pipeline`` the ``<store>.sample-failed`` note; reports list every rule (report/_rules.py) from
here without importing the scan, which sits above them (import-linter's layers contract in pyproject.toml).
"""

from __future__ import annotations

from typing import Final

EXPOSED_RULE: Final = "exposed-data"  # finding rule id: <store>.exposed-data
INVENTORY_RULE: Final = "sensitive-data"  # <store>.sensitive-data (info: where sensitive data lives)
SAMPLE_FAILED_RULE: Final = "sample-failed"  # <store>.sample-failed (info: contents partly unread)

CONTENT_RULES: Final[dict[str, tuple[str, str]]] = {  # generic id -> (summary, remediation)
    f"*.{EXPOSED_RULE}": (
        "An object (table, key pattern, topic, index) readable without valid credentials holds sensitive data.",
        "Close the store first (see its no-auth / default-credentials finding), then delete or replace the copy "
        "with a safe one (`dataward copy`), and check whether it was read (`dataward incident`).",
    ),
    f"*.{INVENTORY_RULE}": (
        "Where sensitive data lives: an object of a protected store holding sensitive categories.",
        "Nothing to fix by itself; keep the store protected and listed in the policy with an owner.",
    ),
    f"*.{SAMPLE_FAILED_RULE}": (
        "The store's contents could not be fully sampled, so content findings may be missing.",
        "Give dataward credentials that can read the store (config {env=..}), or raise --timeout.",
    ),
}


def remediation(rule: str) -> str:
    """The remediation of one of these rules, by its short id (``exposed-data``)."""
    return CONTENT_RULES[f"*.{rule}"][1]
