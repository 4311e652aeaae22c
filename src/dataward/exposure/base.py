"""Exposure rules: pure functions of ExposureFacts (and, when known, the categories inside) -> findings.

A rule family is one module of this package; each rule registers itself with ``@exposure_rule`` in ``RULES``
and yields ``Hit``s (severity, title, evidence); ``evaluate`` stamps each with the rule's id and fix. Rules never
talk to a store, so they are tested with hand-made facts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from dataward.findings import Finding, Severity
from dataward.registry import Registry
from dataward.stores.base import ExposureFacts, is_local, kind_remediation


@dataclass(frozen=True)
class Contents:
    """What classification knows about a store's contents when rules run (empty before sampling)."""

    categories: frozenset[str] = frozenset()
    by_object: dict[str, frozenset[str]] = field(default_factory=dict)
    records: dict[str, int | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Hit:
    """What a rule saw; the registry turns it into a Finding with the rule's id, the store and its fix."""

    severity: Severity
    title: str
    evidence: str
    obj: str | None = None


RuleFn = Callable[[ExposureFacts, Contents], Iterable[Hit]]


@dataclass(frozen=True)
class ExposureRule:
    """A registered rule. Its id is written once, in ``@exposure_rule``.

    A rule of one kind (``redis.protected-mode-off``, or ``elasticsearch.*`` for both search kinds) names its
    findings with its own id. A rule for several kinds (``*.no-auth``; ``files.world-readable`` for the local
    kinds) names them ``<store>.<rule>`` (``postgresql.no-auth``, ``sqlite.world-readable``), and its fix is
    the store class's own ``remediation[<rule>]`` where the kind has one.
    """

    id: str  # e.g. "redis.protected-mode-off", "*.no-auth"
    stores: tuple[str, ...]  # store kinds it applies to; () = every kind
    summary: str  # one line for docs and SARIF rule metadata
    remediation: str
    fn: RuleFn
    local: bool | None = None  # True: local kinds only (files); False: networked kinds only; None: every kind

    @property
    def name(self) -> str:
        """The id without its family: ``no-auth``."""
        return self.id.split(".", 1)[1]

    @property
    def per_kind(self) -> bool:
        return self.id.split(".", 1)[0] not in self.stores

    def applies_to(self, store: str) -> bool:
        if self.stores and store not in self.stores:
            return False
        return self.local is None or is_local(store) == self.local

    def finding(self, facts: ExposureFacts, contents: Contents, hit: Hit) -> Finding:
        fix = (kind_remediation(facts.store, self.name) if self.per_kind else None) or self.remediation
        return Finding(
            rule=f"{facts.store}.{self.name}" if self.per_kind else self.id,
            severity=hit.severity,
            target=facts.target,
            store=facts.store,
            store_name=facts.name,
            object=hit.obj,
            categories=sorted(contents.categories),
            records=facts.records,
            title=hit.title,
            evidence=hit.evidence,
            remediation=fix,
        )


RULES: Registry[ExposureRule] = Registry("exposure rule", package="dataward.exposure", key=lambda r: r.id)


def exposure_rule(
    rule_id: str, *, stores: tuple[str, ...] = (), local: bool | None = None, summary: str, remediation: str
) -> Callable[[RuleFn], RuleFn]:
    """Register a rule function under a stable id (see ``ExposureRule``)."""

    def wrap(fn: RuleFn) -> RuleFn:
        RULES.register(ExposureRule(rule_id, stores, summary, remediation, fn, local))
        return fn

    return wrap


def evaluate(facts: ExposureFacts, contents: Contents | None = None) -> list[Finding]:
    """Every finding the registered rules draw from one store's facts."""
    contents = contents or Contents()
    out: list[Finding] = []
    for rule in RULES:
        if rule.applies_to(facts.store):
            out.extend(rule.finding(facts, contents, hit) for hit in rule.fn(facts, contents))
    return out
