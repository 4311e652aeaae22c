"""Policy rules: what a store's role allows, checked against what the scan saw.

Each rule is a small function of a ``PolicyContext`` registered under a stable id with ``@policy_rule``;
every finding it returns carries ``policy`` — the policy line that produced it (``role.analytics.forbid
(dataward.toml:14)``) — so a reader can see which sentence of the policy was broken.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from dataward.categories import CATEGORY_TIERS, SENSITIVE_TIERS, Tier, expand, worst_tier
from dataward.classify.base import ObjectResult
from dataward.findings import Finding, Severity
from dataward.manifest import Manifest
from dataward.policy.model import Policy, RolePolicy, StoreConfig
from dataward.registry import Registry
from dataward.stores.base import (  # a local kind has no transport: no tls/network rules
    ExposureFacts,
    is_local,
)


@dataclass(frozen=True)
class PolicyContext:
    """Everything a policy rule may look at for one store."""

    policy: Policy
    store: StoreConfig | None  # None: the target is not listed in the policy
    facts: ExposureFacts
    objects: tuple[ObjectResult, ...] = ()
    manifest: Manifest | None = None
    today: date = field(default_factory=date.today)

    @property
    def role(self) -> RolePolicy | None:
        return self.policy.role_policy(self.store.role) if self.store else None

    def requires(self, control: str) -> bool:
        rp = self.role
        return rp is not None and control in {c.replace("-", "_") for c in rp.require}

    def ref(self, dotted: str, *path: str | int) -> str:
        return self.policy.ref(dotted, *path)

    def store_ref(self, key: str) -> str:
        assert self.store is not None
        i = self.policy.store_index(self.store.name)
        return self.ref(f"store.{self.store.name}.{key}", "store", i, key)

    def role_ref(self, key: str) -> str:
        assert self.store is not None and self.store.role is not None
        return self.ref(f"role.{self.store.role}.{key}", "role", self.store.role, key)

    def hit(self, severity: Severity, title: str, policy: str, **fields: Any) -> PolicyHit:
        """What a rule saw (``object``, ``categories``, ``records``, ``evidence``, ``remediation`` in fields);
        ``evaluate_policy`` makes it a Finding under the rule's id."""
        return PolicyHit(severity, title, policy, fields)


@dataclass(frozen=True)
class PolicyHit:
    severity: Severity
    title: str
    policy: str  # the policy line that was broken
    fields: dict[str, Any]


PolicyFn = Callable[[PolicyContext], Iterable[PolicyHit]]


@dataclass(frozen=True)
class PolicyRule:
    """A registered policy rule; its id is written once, in ``@policy_rule``."""

    id: str
    summary: str
    remediation: str
    fn: PolicyFn

    def finding(self, ctx: PolicyContext, hit: PolicyHit) -> Finding:
        fields = dict(hit.fields)
        return Finding(
            rule=self.id,
            severity=hit.severity,
            target=ctx.facts.target,
            store=ctx.facts.store,
            store_name=ctx.store.name if ctx.store else ctx.facts.name,
            title=hit.title,
            policy=hit.policy,
            remediation=fields.pop("remediation", None) or self.remediation,
            **fields,
        )


POLICY_RULES: Registry[PolicyRule] = Registry("policy rule", key=lambda r: r.id)  # all defined below


def policy_rule(rule_id: str, *, summary: str, remediation: str) -> Callable[[PolicyFn], PolicyFn]:
    def wrap(fn: PolicyFn) -> PolicyFn:
        POLICY_RULES.register(PolicyRule(rule_id, summary, remediation, fn))
        return fn

    return wrap


def evaluate_policy(ctx: PolicyContext) -> list[Finding]:
    """Every policy finding for one store."""
    out: list[Finding] = []
    for rule in POLICY_RULES:
        out.extend(rule.finding(ctx, hit) for hit in rule.fn(ctx))
    return out


def _sensitive(ctx: PolicyContext) -> bool:
    cats = {c for o in ctx.objects for c in o.categories}
    return worst_tier(frozenset(cats)) in SENSITIVE_TIERS


@policy_rule(
    "policy.forbidden-data",
    summary="A store holds categories of data its role forbids.",
    remediation="Remove the columns (or make the copy with `dataward copy`, which drops or pseudonymizes them).",
)
def forbidden_data(ctx: PolicyContext) -> Iterator[PolicyHit]:
    rp = ctx.role
    if rp is None or not rp.forbid:
        return
    banned = expand(rp.forbid)
    for obj in ctx.objects:
        hit = sorted(obj.categories & banned)
        if not hit:
            continue
        tier = worst_tier(frozenset(hit))
        severity = Severity.HIGH if tier in (Tier.CREDENTIAL, Tier.HEALTH) else Severity.MEDIUM
        cols = [c.name for c in obj.columns if set(c.category_ids) & banned]
        yield ctx.hit(
            severity,
            f"{ctx.store.role if ctx.store else ''} store holds forbidden {', '.join(hit)} in '{obj.object}'",
            ctx.role_ref("forbid"),
            object=obj.object,
            categories=hit,
            records=obj.records,
            evidence=f"columns {', '.join(cols[:8])}{', ...' if len(cols) > 8 else ''} hold {', '.join(hit)}",
        )


@policy_rule(
    "policy.auth-required",
    summary="The role requires authentication, but the store can be read without valid credentials.",
    remediation="Require a password or certificate for every client; see the store's exposure finding.",
)
def auth_required(ctx: PolicyContext) -> Iterator[PolicyHit]:
    if not ctx.requires("auth") or not ctx.facts.reachable:
        return
    f = ctx.facts
    if f.exposed or f.auth_required is False:
        how = f.default_credentials and f"default credentials work ({f.default_credentials})"
        yield ctx.hit(
            Severity.CRITICAL if _sensitive(ctx) else Severity.HIGH,
            f"{_role(ctx)} store must require authentication but can be read without valid credentials",
            ctx.role_ref("require"),
            evidence=how or "no credentials were needed to read it",
            categories=sorted({c for o in ctx.objects for c in o.categories}),
            records=f.records,
        )


@policy_rule(
    "policy.tls-required",
    summary="The role requires TLS, but the store accepts plain-text connections.",
    remediation="Serve the store over TLS only and refuse plain-text clients.",
)
def tls_required(ctx: PolicyContext) -> Iterator[PolicyHit]:
    f = ctx.facts
    if not ctx.requires("tls") or not f.reachable or is_local(f.store) or f.tls_required is True:
        return
    state = "does not offer TLS" if f.tls_offered is False else "does not require TLS"
    if f.tls_offered is None and f.tls_required is None:
        state = "could not be shown to require TLS"
    yield ctx.hit(
        Severity.MEDIUM if _sensitive(ctx) or f.tls_offered is False else Severity.LOW,
        f"{_role(ctx)} store must require TLS but {state}",
        ctx.role_ref("require"),
        evidence=f"tls offered: {_yn(f.tls_offered)}, required: {_yn(f.tls_required)}",
    )


@policy_rule(
    "policy.owner-missing",
    summary="The role requires an owner, and the store has none in the policy.",
    remediation="Add owner = \"team@example.com\" to the store's [[store]] table.",
)
def owner_missing(ctx: PolicyContext) -> Iterator[PolicyHit]:
    if ctx.store is None or not ctx.requires("owner") or ctx.store.owner:
        return
    yield ctx.hit(
        Severity.MEDIUM,
        f"{_role(ctx)} store '{ctx.store.name}' has no owner",
        ctx.role_ref("require"),
        evidence="no owner key in its [[store]] table",
    )


@policy_rule(
    "policy.expiry-missing",
    summary="The role requires an expiry date, and the store has none.",
    remediation="Add expires = YYYY-MM-DD to the store's [[store]] table, and delete the store when it passes.",
)
def expiry_missing(ctx: PolicyContext) -> Iterator[PolicyHit]:
    if ctx.store is None or not ctx.requires("expiry") or ctx.store.expires:
        return
    yield ctx.hit(
        Severity.MEDIUM,
        f"{_role(ctx)} store '{ctx.store.name}' has no expiry date",
        ctx.role_ref("require"),
        evidence="no expires key in its [[store]] table",
    )


@policy_rule(
    "policy.expired",
    summary="The store is past the expiry date the policy gives it, and still answers.",
    remediation="Delete the store (or its copied data), or agree a new expiry date and write it in the policy.",
)
def expired(ctx: PolicyContext) -> Iterator[PolicyHit]:
    if ctx.store is None or ctx.store.expires is None or ctx.store.expires > ctx.today:
        return  # 'expires = 2020-01-31' means gone from that day on (as copy manifests read it)
    if not ctx.facts.reachable:
        return
    days = (ctx.today - ctx.store.expires).days
    yield ctx.hit(
        Severity.HIGH if _sensitive(ctx) or ctx.store.role in ("analytics", "export", "dev") else Severity.MEDIUM,
        f"{_role(ctx)} store '{ctx.store.name}' expired on {ctx.store.expires.isoformat()} and still exists",
        ctx.store_ref("expires"),
        evidence=f"{days} day(s) past its expiry date",
        categories=sorted({c for o in ctx.objects for c in o.categories}),
        records=ctx.facts.records,
    )


@policy_rule(
    "policy.private-network",
    summary="The role requires a private network, but the store is reachable on a public or all-interfaces address.",
    remediation="Bind the store to a private interface and firewall it from the internet.",
)
def private_network(ctx: PolicyContext) -> Iterator[PolicyHit]:
    f = ctx.facts
    if not ctx.requires("private_network") or is_local(f.store) or not f.reachable:
        return
    wide = f.bind is not None and any(a in f.bind for a in ("0.0.0.0", "*", "::"))
    if f.scope != "public" and not wide:
        return
    where = "a public address" if f.scope == "public" else f"all interfaces ({f.bind})"
    yield ctx.hit(
        Severity.HIGH,
        f"{_role(ctx)} store must be on a private network but listens on {where}",
        ctx.role_ref("require"),
        evidence=f"address scope: {f.scope}; server bind: {f.bind or 'unknown'}",
    )


@policy_rule(
    "policy.region-not-allowed",
    summary="The store sits in a region the policy's residency rules do not allow.",
    remediation="Move the data to an allowed region, or record why this region is allowed in [residency].",
)
def region_not_allowed(ctx: PolicyContext) -> Iterator[PolicyHit]:
    if ctx.store is None:
        return
    allowed = ctx.policy.allowed_regions(ctx.store.role)
    if not allowed:
        return
    allowed_l = {r.lower() for r in allowed}
    if ctx.store.region is None:
        yield ctx.hit(
            Severity.LOW,
            f"store '{ctx.store.name}' has no region, so residency cannot be checked",
            ctx.ref("residency.allowed_regions", "residency", "allowed_regions"),
            evidence=f"allowed regions: {', '.join(allowed)}",
            remediation="Add region = \"...\" to the store's [[store]] table.",
        )
        return
    if ctx.store.region.lower() in allowed_l:
        return
    rp = ctx.role
    ref = (
        ctx.role_ref("allowed_regions")
        if rp is not None and rp.allowed_regions is not None
        else ctx.ref("residency.allowed_regions", "residency", "allowed_regions")
    )
    yield ctx.hit(
        Severity.HIGH if _sensitive(ctx) else Severity.MEDIUM,
        f"store '{ctx.store.name}' is in region '{ctx.store.region}', outside the allowed {', '.join(allowed)}",
        ref,
        evidence=f"region = '{ctx.store.region}' ({ctx.store_ref('region')})",
        categories=sorted({c for o in ctx.objects for c in o.categories}),
    )


@policy_rule(
    "policy.unlisted-store",
    summary="A store holding customer data that the policy does not list (nobody owns it).",
    remediation="Add the store to dataward.toml with its role, owner and expiry, or delete it.",
)
def unlisted_store(ctx: PolicyContext) -> Iterator[PolicyHit]:
    if ctx.store is not None or not ctx.facts.reachable or not ctx.policy.store:
        return
    cats = sorted({c for o in ctx.objects for c in o.categories if CATEGORY_TIERS[c] != Tier.METADATA})
    if not cats and not ctx.facts.exposed:
        return
    yield ctx.hit(
        Severity.MEDIUM if cats else Severity.LOW,
        "store is not listed in the policy" + (f" and holds {', '.join(cats[:5])}" if cats else ""),
        ctx.ref("store"),
        categories=cats,
        evidence="no [[store]] table has this name or URL",
    )


@policy_rule(
    "policy.copy-expired",
    summary="A dataward copy's manifest says it expired, and the copy still exists.",
    remediation="Drop the copy (every table and its _dataward_manifest), or make a fresh one with a new expiry.",
)
def copy_expired(ctx: PolicyContext) -> Iterator[PolicyHit]:
    m = ctx.manifest
    expires = m.expires_on() if m is not None else None
    if m is None or expires is None or expires > ctx.today:
        return
    yield ctx.hit(
        Severity.HIGH,
        f"copy made {m.created_at or 'at an unknown time'} expired on {expires.isoformat()}",
        "manifest.expires (_dataward_manifest)",
        object="_dataward_manifest",
        evidence=f"copied from {m.source or 'an unknown source'}; owner {m.owner or 'none'}",
    )


@policy_rule(
    "policy.copy-unsafe-destination",
    summary="A dataward copy was written to a destination its exposure audit refused, by explicit override.",
    remediation="Protect the destination (auth, TLS) or move the copy, then re-run `dataward copy run` without "
    "--allow-unsafe-destination.",
)
def copy_unsafe_destination(ctx: PolicyContext) -> Iterator[PolicyHit]:
    m = ctx.manifest
    reason = m.unsafe_destination if m is not None else None
    if not reason:
        return
    yield ctx.hit(
        Severity.MEDIUM,
        "copy was written with --allow-unsafe-destination",
        "manifest.unsafe_destination (_dataward_manifest)",
        object="_dataward_manifest",
        evidence=str(reason)[:200],
    )


@policy_rule(
    "policy.copy-owner-missing",
    summary="A dataward copy's manifest names no owner.",
    remediation="Re-run `dataward copy run` with --owner so someone answers for the copy.",
)
def copy_owner_missing(ctx: PolicyContext) -> Iterator[PolicyHit]:
    m = ctx.manifest
    if m is None or m.owner:
        return
    yield ctx.hit(
        Severity.LOW,
        "copy has no owner in its manifest",
        "manifest.owner (_dataward_manifest)",
        object="_dataward_manifest",
        evidence=f"copied from {m.source or 'an unknown source'}",
    )


def _role(ctx: PolicyContext) -> str:
    return (ctx.store.role if ctx.store and ctx.store.role else "the").capitalize()


def _yn(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")
