"""Cloud inventory (DESIGN.md 'Cloud inventory'): the stores a cloud account really holds, and who can reach them.

``inventory("aws", InventoryOptions(...))`` reads the accounts' settings through the provider (a member of
``PROVIDERS``), applies the cloud rules, optionally probes what is reachable (``probe=True``: the scan
library classifies it like any other target) and reconciles with a policy. The result renders as
``dataward.inventory/v1`` JSON, TOML, a table, or any report format (SARIF, OCSF) through ``as_report``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dataward.findings import Finding, Severity, utc_now
from dataward.inventory.base import PROVIDERS, SCHEMA, CloudStore, Collection, InventoryOptions
from dataward.inventory.rules import evaluate_store, rule_docs, target_of
from dataward.policy.model import Policy
from dataward.report.model import Report, ScannedTarget

__all__ = ["PROVIDERS", "CloudStore", "Inventory", "InventoryOptions", "inventory"]


@dataclass(frozen=True)
class Inventory:
    """Stores found, findings about them (cloud rules, probe, policy reconciliation), and failed calls."""

    provider: str
    stores: tuple[CloudStore, ...]
    findings: tuple[Finding, ...]
    errors: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    probed: dict[str, ScannedTarget] = field(default_factory=dict)  # store id -> what the probe saw
    generated_at: str = field(default_factory=utc_now)

    def at_or_above(self, severity: Severity) -> list[Finding]:
        return [f for f in self.findings if f.severity >= severity and not f.suppressed]

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "generated_at": self.generated_at,
            "provider": self.provider,
            "accounts": list(self.accounts),
            "regions": list(self.regions),
            "stores": [self._store_json(s) for s in self.stores],
            "findings": [f.to_json() for f in self.findings],
            "errors": list(self.errors),
            "summary": self.as_report().summary(),
        }

    def _store_json(self, store: CloudStore) -> dict[str, Any]:
        data = store.to_json()
        data["target"] = target_of(store)
        seen = self.probed.get(store.id)
        if seen is not None:
            data["probe"] = {"reachable": seen.reachable, "exposed": seen.exposed, "error": seen.error,
                             "categories": seen.categories}
        return data

    def as_report(self) -> Report:
        """The findings as a scan report, so every report format (table, sarif, ocsf, html) renders them."""
        targets = [
            self.probed.get(s.id) or ScannedTarget(
                target=target_of(s), store=s.kind, name=s.name, owner=s.owner, region=s.region,
                reachable=False, exposed=s.anonymous, version=s.version,
                scope="public" if s.reachable_from_internet else "private",
            )
            for s in self.stores
        ]
        return Report(targets=targets, findings=list(self.findings), generated_at=self.generated_at,
                      rule_docs=rule_docs(f.rule for f in self.findings))


def _sensitive(categories: list[str]) -> frozenset[str]:
    from dataward.inventory.probe import sensitive

    return sensitive(categories)


Prober = Callable[[list[CloudStore]], tuple[dict[str, ScannedTarget], list[Finding]]]


def inventory(
    provider: str,
    options: InventoryOptions | None = None,
    *,
    policy: Policy | None = None,
    probe: bool = False,
    prober: Prober | None = None,
) -> Inventory:
    """Read the accounts, apply the cloud rules, probe what answers (``probe``), reconcile with ``policy``."""
    options = options or InventoryOptions()
    collected: Collection = PROVIDERS.get(provider)().collect(options)
    stores = list(collected.stores)
    probed: dict[str, ScannedTarget] = {}
    probe_findings: list[Finding] = []
    if probe:
        from dataward.inventory.probe import probe_stores

        probed, probe_findings = (prober or probe_stores)(stores)
    findings: list[Finding] = []
    for store in stores:
        seen = probed.get(store.id)
        findings.extend(evaluate_store(store, _sensitive(seen.categories) if seen else frozenset()))
    if probe:
        from dataward.inventory.probe import fold

        findings = fold(findings, probe_findings, stores)
    if policy is not None:
        from dataward.inventory.reconcile import reconcile

        stores, policy_findings = reconcile(stores, policy, options.regions)
        findings.extend(policy_findings)
    findings.sort(key=lambda f: (-int(f.severity), -(f.records or 0)))  # worst first, then volume
    return Inventory(
        provider=provider, stores=tuple(stores), findings=tuple(findings), errors=collected.errors,
        accounts=collected.accounts, regions=collected.regions, probed=probed,
    )
