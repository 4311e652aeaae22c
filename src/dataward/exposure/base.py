"""Exposure rules: pure functions of ExposureFacts (and, when known, the categories inside) -> findings.

A rule family is one module of this package; each rule registers itself with ``@exposure_rule``.
Rules never talk to a store, so they are tested with hand-made facts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from dataward.findings import Finding
from dataward.registry import Registry
from dataward.stores.base import ExposureFacts


@dataclass(frozen=True)
class Contents:
    """What classification knows about a store's contents when rules run (empty before sampling)."""

    categories: frozenset[str] = frozenset()
    by_object: dict[str, frozenset[str]] = field(default_factory=dict)
    records: dict[str, int | None] = field(default_factory=dict)


RuleFn = Callable[[ExposureFacts, Contents], Iterable[Finding]]


@dataclass(frozen=True)
class ExposureRule:
    id: str  # e.g. "redis.no-auth"
    stores: tuple[str, ...]  # store kinds it applies to; () = every kind
    summary: str  # one line for docs and SARIF rule metadata
    remediation: str
    fn: RuleFn


RULES: Registry[ExposureRule] = Registry("exposure rule", package="dataward.exposure", key=lambda r: r.id)


def exposure_rule(
    rule_id: str, *, stores: tuple[str, ...] = (), summary: str, remediation: str
) -> Callable[[RuleFn], RuleFn]:
    """Register a rule function under a stable id."""

    def wrap(fn: RuleFn) -> RuleFn:
        RULES.register(ExposureRule(rule_id, stores, summary, remediation, fn))
        return fn

    return wrap


def evaluate(facts: ExposureFacts, contents: Contents | None = None) -> list[Finding]:
    """Every finding the registered rules draw from one store's facts."""
    contents = contents or Contents()
    out: list[Finding] = []
    for rule in RULES:
        if not rule.stores or facts.store in rule.stores:
            out.extend(rule.fn(facts, contents))
    return out
