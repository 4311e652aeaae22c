"""``dataward scan`` as a library: exposure × contents × policy -> a ranked Report.

For each target: probe (who can read it), sample and classify when it is readable (with the URL's
credentials, or anonymously when it is open), then exposure rules with what classification found,
content findings per sensitive object (risk.py), policy findings (policy/rules.py) and baseline
suppressions. A target that cannot be reached or read is a finding, never a crash.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa

from dataward.classify.base import ObjectResult
from dataward.errors import DatawardError
from dataward.exposure.base import Contents, evaluate
from dataward.exposure.content import SAMPLE_FAILED_RULE, remediation
from dataward.findings import Finding, Severity
from dataward.manifest import MANIFEST_FILE, MANIFEST_TABLE, Manifest, manifest_from_table, read_manifest_file
from dataward.policy.model import Policy, StoreConfig
from dataward.policy.rules import PolicyContext, evaluate_policy
from dataward.report.model import Report, ScannedColumn, ScannedObject, ScannedTarget
from dataward.scan.baseline import Baseline
from dataward.scan.risk import content_findings, rank_key
from dataward.stores.base import Budget, ExposureFacts, SampledObject, Store, store_for
from dataward.targets import Target, endpoint_key, is_bare_endpoint

MANIFEST_OBJECT = MANIFEST_TABLE  # the sampled object a copy's manifest table becomes

Progress = Callable[[ScannedTarget], None]
StoreFor = Callable[[Target], Store]  # the store that speaks a target's protocol
Classifier = Callable[[SampledObject], ObjectResult]  # categories of one sampled table, key pattern or topic


@dataclass(frozen=True)
class TargetScan:
    """One target's raw results before they are folded into a Report (kept in memory only)."""

    summary: ScannedTarget
    facts: ExposureFacts
    objects: tuple[ObjectResult, ...]
    findings: tuple[Finding, ...]


def scan(
    targets: Sequence[Target],
    policy: Policy | None = None,
    *,
    budget: Budget | None = None,
    baseline: Baseline | None = None,
    sample_contents: bool = True,
    concurrency: int = 4,
    progress: Progress | None = None,
    known_contents: dict[str, Contents] | None = None,
    today: date | None = None,
    stores: StoreFor = store_for,
    classifier: Classifier | None = None,
) -> Report:
    """Scan every target (bounded concurrency) and return the report, worst findings first.

    ``known_contents`` (by redacted target URL) lets a caller that skips sampling — the watcher's fast
    loop — still rank exposure by what an earlier full scan found inside. ``stores`` (the store registry's
    lookup by default) and ``classifier`` (the registered detectors by default) are what the scan talks to
    and classifies with; a test passes its own.
    """
    budget = budget or Budget()
    today = today or date.today()
    unique = _dedupe(targets)
    for t in unique:
        stores(t)  # an unknown scheme is a usage error before anything is probed

    def one(t: Target) -> TargetScan:
        cached = (known_contents or {}).get(t.display)
        result = scan_target(t, policy, budget=budget, sample_contents=sample_contents, contents=cached,
                             today=today, stores=stores, classifier=classifier)
        if progress is not None:
            progress(result.summary)
        return result

    workers = max(1, min(concurrency, len(unique)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dataward-scan") as pool:
        results = list(pool.map(one, unique))
    findings = [f for r in results for f in r.findings]
    if baseline is not None:
        findings = baseline.apply(findings, today)
    findings.sort(key=rank_key)
    return Report(
        targets=[r.summary for r in results],
        findings=_unique_findings(findings),
        policy=policy.source if policy else None,
        baseline=baseline.path if baseline else None,
    )


def scan_exposure_only(
    targets: Sequence[Target],
    policy: Policy | None = None,
    *,
    budget: Budget | None = None,
    baseline: Baseline | None = None,
    concurrency: int = 8,
    known_contents: dict[str, Contents] | None = None,
    stores: StoreFor = store_for,
) -> Report:
    """The watcher's fast path: probes and rules only, no sampling (contents from an earlier scan if given)."""
    return scan(
        targets,
        policy,
        budget=budget,
        baseline=baseline,
        sample_contents=False,
        concurrency=concurrency,
        known_contents=known_contents,
        stores=stores,
    )


scan_targets = scan  # the name the watcher (docs/watch.md) uses


def contents_of(report_objects: Iterable[ObjectResult]) -> Contents:
    """Classification results folded into what exposure rules look at."""
    objs = [o for o in report_objects if o.object != MANIFEST_OBJECT]
    return Contents(
        categories=frozenset(c for o in objs for c in o.categories),
        by_object={o.object: o.categories for o in objs},
        records={o.object: o.records for o in objs},
    )


def scan_target(
    target: Target,
    policy: Policy | None,
    *,
    budget: Budget,
    sample_contents: bool = True,
    contents: Contents | None = None,
    today: date | None = None,
    stores: StoreFor = store_for,
    classifier: Classifier | None = None,
) -> TargetScan:
    """Probe, sample, classify and judge one target; every failure becomes a fact or a finding."""
    today = today or date.today()
    cfg = policy.store_for_target(target) if policy else None
    name = cfg.name if cfg else target.name
    facts = _probe(stores, target, budget, name)
    notes: list[Finding] = []
    objects: tuple[ObjectResult, ...] = ()
    manifest: Manifest | None = None
    sampled: list[SampledObject] = []
    if sample_contents and _can_sample(facts):
        sampled, error = _sample(stores, target, budget)
        if error:
            notes.append(_sample_failed(facts, error))
        manifest = _manifest_from_sample(sampled) or _manifest_from_file(target)
        objects, error = _classify(sampled, classifier or registered_classifier)
        if error:
            notes.append(_sample_failed(facts, error))
    known = contents_of(objects) if objects else (contents or Contents())
    findings = [*evaluate(facts, known), *content_findings(facts, objects), *notes]
    ctx = PolicyContext(policy or Policy(), cfg, facts, objects, manifest, today)
    findings.extend(evaluate_policy(ctx))
    summary = _summary(target, cfg, facts, objects, sampled_rows=_rows_sampled(sampled))
    return TargetScan(summary, facts, objects, tuple(findings))


def _probe(stores: StoreFor, target: Target, budget: Budget, name: str | None) -> ExposureFacts:
    """The store's probe; anything it raises becomes 'unreachable' with one line of why."""
    try:
        facts = stores(target).probe(target, budget)
    except DatawardError as exc:
        facts = _unreachable(target, _clean(exc.message, target))
    except Exception as exc:  # a driver failure must not end the whole scan
        facts = _unreachable(target, _clean(f"{type(exc).__name__}: {exc}", target))
    return dataclasses.replace(facts, name=facts.name or name, target=target.display)


def _unreachable(target: Target, error: str) -> ExposureFacts:
    return ExposureFacts(target=target.display, store=target.scheme, reachable=False, error=error,
                         scope=target.scope, name=target.name)


def _clean(message: str, target: Target) -> str:
    """One line, with the URL's password (if any) never repeated."""
    line = message.strip().splitlines()[0] if message.strip() else "unknown error"
    if target.password:
        line = line.replace(target.password, "***")
    return line.replace(target.url, target.display)[:300]


def _can_sample(facts: ExposureFacts) -> bool:
    if not facts.reachable:
        return False
    return not (facts.readable is False and facts.authenticated is not True and not facts.exposed)


def _sample(stores: StoreFor, target: Target, budget: Budget) -> tuple[list[SampledObject], str | None]:
    """Up to ``budget.max_objects`` sampled objects; a failure midway keeps what was read."""
    out: list[SampledObject] = []
    try:
        for obj in stores(target).sample(target, budget):
            out.append(obj)
            if len(out) >= budget.max_objects:
                break
    except DatawardError as exc:
        return out, _clean(exc.message, target)
    except Exception as exc:
        return out, _clean(f"{type(exc).__name__}: {exc}", target)
    return out, None


def registered_classifier(obj: SampledObject) -> ObjectResult:
    """The registered detectors (classify.engine), loaded on first use so a probe-only scan never loads them."""
    from dataward.classify.engine import classify_object

    return classify_object(obj)


def _classify(sampled: list[SampledObject], classifier: Classifier) -> tuple[tuple[ObjectResult, ...], str | None]:
    out: list[ObjectResult] = []
    for obj in sampled:
        if obj.object in (MANIFEST_OBJECT, MANIFEST_FILE):
            continue
        try:
            out.append(classifier(obj))
        except Exception as exc:
            return tuple(out), f"classification of '{obj.object}' failed ({type(exc).__name__})"
    return tuple(out), None


def _sample_failed(facts: ExposureFacts, error: str) -> Finding:
    return Finding(
        rule=f"{facts.store}.{SAMPLE_FAILED_RULE}",
        severity=Severity.INFO,
        target=facts.target,
        store=facts.store,
        store_name=facts.name,
        title="contents could not be fully sampled, so findings may miss sensitive data",
        evidence=error,
        remediation=remediation(SAMPLE_FAILED_RULE),
    )


def _manifest_from_sample(sampled: list[SampledObject]) -> Manifest | None:
    """A dataward copy's manifest, read from the sampled ``_dataward_manifest`` table (its first row)."""
    obj = next((o for o in sampled if o.object == MANIFEST_OBJECT), None)
    if obj is None:
        return None
    table = pa.table({c.name: c.values for c in obj.columns})
    try:
        return manifest_from_table(table)
    except ValueError:  # not a manifest dataward wrote (pydantic's ValidationError, or broken JSON)
        return None


def _manifest_from_file(target: Target) -> Manifest | None:
    """``file:///dir`` copies keep their manifest in ``dir/_dataward_manifest.json``."""
    if target.scheme != "file":
        return None
    path = Path(target.path)
    try:
        return read_manifest_file(path if path.is_dir() else path.parent)
    except (OSError, ValueError):
        return None


def _rows_sampled(sampled: Iterable[SampledObject]) -> int:
    """Rows (values per object) actually read: what the sample budget cost."""
    return sum(max((len(c.values) for c in o.columns), default=0) for o in sampled)


def _summary(
    target: Target,
    cfg: StoreConfig | None,
    facts: ExposureFacts,
    objects: tuple[ObjectResult, ...],
    *,
    sampled_rows: int,
) -> ScannedTarget:
    return ScannedTarget(
        target=target.display,
        store=facts.store,
        name=facts.name,
        role=cfg.role if cfg else None,
        owner=cfg.owner if cfg else None,
        region=cfg.region if cfg else None,
        reachable=facts.reachable,
        exposed=facts.exposed,
        error=facts.error,
        version=facts.version,
        scope=facts.scope,
        records=facts.records,
        sampled_rows=sampled_rows,
        objects=[
            ScannedObject(
                object=o.object,
                records=o.records,
                categories=sorted(o.categories),
                columns=[ScannedColumn(name=c.name, categories=list(c.category_ids), evidence=c.evidence)
                         for c in o.columns],
            )
            for o in objects
        ],
    )


def _dedupe(targets: Sequence[Target]) -> list[Target]:
    """One scan per store. Per URL: when it comes both bare and from the policy, keep the policy's named one.
    Per endpoint (``endpoint_key``): a bare ``scheme://host:port`` — what discovery finds — is the same store as
    any other target at that endpoint, so it is dropped when one exists (docs/inventory.md, identity)."""
    by_url: dict[str, Target] = {}
    for t in targets:
        if t.url not in by_url or (t.name and not by_url[t.url].name):
            by_url[t.url] = t
    unique = list(by_url.values())
    fuller = {endpoint_key(t) for t in unique if t.name or not is_bare_endpoint(t)}
    kept: list[Target] = []
    seen_bare: set[str | None] = set()
    for t in unique:
        key = endpoint_key(t)
        if not t.name and is_bare_endpoint(t) and key is not None and (key in fuller or key in seen_bare):
            continue
        seen_bare.add(key if is_bare_endpoint(t) else None)
        kept.append(t)
    return kept


def _unique_findings(findings: list[Finding]) -> list[Finding]:
    """One finding per id (two rules can describe the same object twice): keep the worst."""
    best: dict[str, Finding] = {}
    for f in findings:
        if f.id not in best or f.severity > best[f.id].severity:
            best[f.id] = f
    return [f for f in findings if best[f.id] is f]
