"""The cloud as it is vs. the policy as written: unlisted stores, entries that no longer exist, residency.

One store is one store however it was found: inventory, discovery and the policy all name it by its endpoint
(``host:port``, or ``s3://bucket``), never by how each source spells its URL (credentials, database paths and
query parameters do not count). ``draft_policy`` writes ``[[store]]`` entries for a person to review.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace

import tomli_w

from dataward.findings import Finding, Severity
from dataward.inventory.base import ROLE_TAGS, CloudStore, tag
from dataward.inventory.rules import target_of
from dataward.policy.model import Policy, StoreConfig
from dataward.targets import Target, endpoint_key, parse_target

# Words in a role/environment tag -> the policy role they mean.
ROLE_WORDS = {
    "production": ("prod", "production", "prd", "live"),
    "analytics": ("analytics", "bi", "warehouse", "reporting", "data"),
    "backup": ("backup", "dr", "archive"),
    "dev": ("dev", "development", "test", "testing", "staging", "stage", "qa", "sandbox", "tmp", "temp"),
    "export": ("export", "exports", "share", "partner"),
}


def store_keys(store: CloudStore) -> list[str]:
    """The endpoints a policy may name the store by: its own, and an EC2 instance's private address too."""
    target = target_of(store)
    keys = [endpoint_key(parse_target(target))] if "://" in target and not target.startswith("arn:") else []
    private = store.details.get("private_ip")
    if private and store.port:
        keys.append(f"{str(private).lower()}:{store.port}")
    return [k for k in keys if k]


def reconcile(stores: Sequence[CloudStore], policy: Policy,
              regions: Iterable[str] | None = None) -> tuple[list[CloudStore], list[Finding]]:
    """Stores with the policy's name attached where listed, plus the policy findings about the account."""
    by_key = {endpoint_key(t): policy.store_named(t.name) for t in policy.targets()}
    out: list[CloudStore] = []
    findings: list[Finding] = []
    seen: set[str] = set()
    for store in stores:
        entry = next((by_key[k] for k in store_keys(store) if by_key.get(k)), None)
        if entry is None:
            findings.append(_unlisted(store, policy))
        else:
            seen.add(entry.name)
            store = replace(store, listed_as=entry.name)
        findings.extend(_residency(store, entry, policy))
        out.append(store)
    findings.extend(_gone(policy, seen, regions))
    return out, findings


def _unlisted(store: CloudStore, policy: Policy) -> Finding:
    exposed = store.reachable_from_internet or store.tagged_sensitive
    return Finding(
        rule="policy.unlisted-store", severity=Severity.MEDIUM if exposed else Severity.LOW,
        target=target_of(store), store=store.kind, store_name=store.name, object=store.id,
        title=f"{store.kind} {store.name} ({store.account}, {store.region}) is not listed in the policy",
        evidence=f"no [[store]] has the endpoint {store.endpoint or store.id}",
        remediation="Add the store to dataward.toml with its role, owner and expiry (inventory --write-policy "
                    "drafts the entry), or delete it.",
        policy=policy.ref("store"),
    )


def region_allowed(region: str, allowed: Iterable[str]) -> bool:
    """``eu`` allows ``eu-west-1``; ``eu-west-1`` allows only itself (case-insensitive)."""
    r = region.lower()
    return any(r == a.lower() or r.startswith(a.lower() + "-") for a in allowed)


def _residency(store: CloudStore, entry: StoreConfig | None, policy: Policy) -> list[Finding]:
    allowed = policy.allowed_regions(entry.role if entry else None)
    if not allowed or region_allowed(store.region, allowed):
        return []
    return [Finding(
        rule="policy.region-not-allowed", severity=Severity.HIGH if store.tagged_sensitive else Severity.MEDIUM,
        target=target_of(store), store=store.kind, store_name=entry.name if entry else store.name, object=store.id,
        title=f"{store.kind} {store.name} is in {store.region}, outside the allowed {', '.join(allowed)}",
        evidence=f"AWS region {store.region} (account {store.account})",
        remediation="Move the data to an allowed region, or record why this region is allowed in [residency].",
        policy=policy.ref("residency.allowed_regions", "residency", "allowed_regions"),
    )]


def _gone(policy: Policy, seen: set[str], regions: Iterable[str] | None) -> list[Finding]:
    """Policy entries for AWS endpoints (or S3 buckets) in the inventoried regions that were not found."""
    wanted = list(regions) if regions is not None else None
    out = []
    for i, target in enumerate(policy.targets()):
        name = target.name or ""
        if name in seen or not _in_scope(target, wanted):
            continue
        out.append(Finding(
            rule="policy.store-not-found", severity=Severity.LOW, target=target.display, store=target.scheme,
            store_name=name, title=f"policy store '{name}' was not found in the cloud account",
            evidence=f"no store in the inventory has the endpoint {endpoint_key(target)}",
            remediation="Remove the [[store]] entry if the store was deleted, or fix its url.",
            policy=policy.ref(f"store.{name}", "store", i),
        ))
    return out


def _in_scope(target: Target, regions: list[str] | None) -> bool:
    """Is this an AWS-hosted endpoint the inventory should have seen (in one of the regions read)?"""
    if target.scheme == "s3":
        if target.params.get("endpoint_url"):
            return False
        region = target.params.get("region")
        return regions is None or region is None or region in regions
    host = (target.host or "").lower()
    if not host.endswith(".amazonaws.com"):
        return False
    return regions is None or any(f".{r}." in host for r in regions)


# ---- draft policy --------------------------------------------------------------------------------------
def guess_role(store: CloudStore) -> str | None:
    """A policy role from the store's role/environment tag (``env=prod`` -> production), else None."""
    value = (tag(store.tags, ROLE_TAGS) or "").lower()
    words = set(re.split(r"[^a-z0-9]+", value))
    return next((role for role, names in ROLE_WORDS.items() if words & set(names)), None)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "store"


def _entry(store: CloudStore, name: str) -> dict[str, object]:
    target = target_of(store)
    if store.kind == "s3":
        url: object = f"{target}?region={store.region}"
    else:  # credentials stay in the environment; the file holds the endpoint without them
        url = {"env": f"DATAWARD_{_slug(name).upper().replace('-', '_')}_URL", "default": target}
    entry: dict[str, object] = {"name": name, "url": url}
    role = guess_role(store)
    if role:
        entry["role"] = role
    if store.owner:
        entry["owner"] = store.owner
    entry["region"] = store.region
    entry["description"] = f"{store.kind} {store.id} (found by dataward inventory {store.provider})"
    entry["tags"] = [store.provider, store.kind, store.account]
    return entry


def draft_policy(stores: Iterable[CloudStore]) -> str:
    """``[[store]]`` entries for every store (a reviewer adds role, owner, expiry where the tags were silent)."""
    names: set[str] = set()
    blocks = ["# Drafted by `dataward inventory`: review every entry (role, owner, expires) before relying on it.\n"
              "# Credentials come from the environment variable named in each url; without it, dataward probes\n"
              "# the endpoint without credentials.\n"]
    for store in sorted(stores, key=lambda s: (s.account, s.region, s.kind, s.name)):
        name = _slug(store.listed_as or store.name)
        if name in names:
            name = f"{name}-{_slug(store.region)}-{store.account}"
        names.add(name)
        entry = _entry(store, name)
        notes = [] if "role" in entry else ["role = ?"]
        notes += [] if "owner" in entry else ["owner = ? (no owner tag)"]
        notes.append("expires = ? (for copies and dev stores)")
        header = f"# {store.kind} in {store.account}/{store.region}: " + ", ".join(notes) + "\n"
        blocks.append(header + tomli_w.dumps({"store": [entry]}))
    return "\n".join(blocks)
