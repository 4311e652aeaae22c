"""``--probe``: connect to the stores whose endpoints resolve and answer from here, and scan them like any target.

The scan library does the work (probe, sample, classify); this module only decides which stores to try,
maps the results back to the cloud store, and folds them into the store's cloud finding, so "public, answers
without credentials and holds e-mail addresses" is one critical finding, not three.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from dataward.categories import CATEGORY_TIERS, SENSITIVE_TIERS
from dataward.findings import Finding, Severity
from dataward.inventory.base import CloudStore
from dataward.inventory.rules import target_of
from dataward.report.model import ScannedTarget
from dataward.stores.base import Budget
from dataward.targets import Target, parse_target

Address = Callable[[str, int], tuple[str, int] | None]  # (host, port) -> where to connect, None if unreachable
PROBE_TIMEOUT_S = 3.0


def reachable_address(host: str, port: int, timeout: float = PROBE_TIMEOUT_S) -> tuple[str, int] | None:
    """The endpoint itself when its name resolves and something accepts a TCP connection on the port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return host, port
    except OSError:
        return None


def probe_stores(
    stores: Sequence[CloudStore], *, address: Address = reachable_address, budget: Budget | None = None,
    concurrency: int = 8,
) -> tuple[dict[str, ScannedTarget], list[Finding]]:
    """Scan every store that answers; results keyed by the store's id, findings named after the cloud store."""
    candidates = [s for s in stores if s.scheme and (s.host or s.kind == "s3") and s.kind != "s3"]
    with ThreadPoolExecutor(max(1, concurrency), "dataward-inventory-probe") as pool:
        located = list(pool.map(lambda s: (s, _locate(s, address)), candidates))
    pairs = [(store, target) for store, target in located if target is not None]
    if not pairs:
        return {}, []
    from dataward.scan import scan

    report = scan([t for _, t in pairs], budget=budget or Budget(timeout_s=PROBE_TIMEOUT_S), concurrency=concurrency)
    by_target = {t.display: s for s, t in pairs}
    probed = {by_target[t.target].id: t for t in report.targets if t.target in by_target}
    findings = [_renamed(f, by_target[f.target]) for f in report.findings if f.target in by_target]
    return probed, findings


def _locate(store: CloudStore, address: Address) -> Target | None:
    if store.host is None or store.port is None:
        return None
    where = address(store.host, store.port)
    if where is None:
        return None
    host, port = where
    suffix = "?kind=elasticsearch" if store.scheme in ("http", "https") else ""
    return parse_target(f"{store.scheme}://{host}:{port}{suffix}", name=store.name)


def _renamed(finding: Finding, store: CloudStore) -> Finding:
    """The scan's finding about the address it connected to, told about the cloud store (a new stable id)."""
    data = finding.model_dump()
    data.update(id="", target=target_of(store), store_name=store.name)
    return Finding(**data)


def sensitive(categories: Sequence[str]) -> frozenset[str]:
    return frozenset(c for c in categories if CATEGORY_TIERS.get(c) in SENSITIVE_TIERS)


def fold(findings: list[Finding], probe_findings: list[Finding], stores: Sequence[CloudStore]) -> list[Finding]:
    """Fold each probed store's findings of medium and above into its ``*.public`` finding (worst severity,
    their categories, their rules named in the evidence); other probe findings are kept as they are."""
    public = {f.object or "": f for f in findings if f.rule.endswith(".public")}
    by_target = {target_of(s): s.id for s in stores}
    out = [f for f in findings if not f.rule.endswith(".public")]
    absorbed: dict[str, list[Finding]] = {}
    for f in probe_findings:
        store_id = by_target.get(f.target)
        if store_id is not None and store_id in public and f.severity >= Severity.MEDIUM:
            absorbed.setdefault(store_id, []).append(f)
        else:
            out.append(f)
    for store_id, f in public.items():
        out.append(_merged(f, absorbed.get(store_id, [])))
    return out


def _merged(cloud: Finding, probe: list[Finding]) -> Finding:
    if not probe:
        return cloud
    worst = max([cloud.severity, *(p.severity for p in probe)])
    cats = sorted({c for p in probe for c in p.categories} | set(cloud.categories))
    records = max((p.records or 0 for p in probe), default=0) or cloud.records
    rules = ", ".join(sorted({p.rule for p in probe}))
    title = cloud.title
    if worst >= Severity.HIGH and "answers" not in title:
        title += " and answers without valid credentials" if any("auth" in p.rule or "default" in p.rule
                                                                  for p in probe) else ""
    if cats:
        title += f" (holds {', '.join(cats[:4])})"
    return cloud.model_copy(update={
        "severity": worst, "categories": cats, "records": records, "title": title,
        "evidence": f"{cloud.evidence}; probe: {rules}",
        "remediation": cloud.remediation + " " + " ".join(dict.fromkeys(p.remediation for p in probe if p.remediation)),
    })
