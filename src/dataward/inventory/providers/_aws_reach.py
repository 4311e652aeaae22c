"""Who can reach an AWS store, decided from the account's own settings (pure functions of API answers).

Security groups and route tables (EC2 API shapes), IAM-style resource policies (OpenSearch access policies,
S3 bucket policies) and S3 ACLs / Block Public Access. Nothing here calls AWS: ``aws.py`` reads the settings,
these functions judge them, and tests feed them hand-made API answers.

Refs: Amazon VPC User Guide, "Route tables" (a subnet is public when its route table, else the VPC's main
table, sends 0.0.0.0/0 or ::/0 to an internet gateway); IAM User Guide, "Policy evaluation logic" and
"AWS global condition context keys"; Amazon S3 User Guide, "Blocking public access" and "The meaning of public".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

WORLD_V4 = "0.0.0.0/0"
WORLD_V6 = "::/0"
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
# Condition keys that narrow a "Principal: *" statement to callers the owner chose (not the public).
LIMITING_CONDITION_KEYS = frozenset({
    "aws:sourcevpc", "aws:sourcevpce", "aws:sourceaccount", "aws:sourcearn", "aws:sourceowner",
    "aws:principalaccount", "aws:principalorgid", "aws:principalarn", "aws:principalorgpaths", "aws:userid",
    "aws:username", "aws:sourceip", "aws:vpcsourceip",
})


@dataclass(frozen=True)
class Network:
    """One region's security groups, subnets and route tables, indexed for reachability questions."""

    groups: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    subnet_vpc: Mapping[str, str] = field(default_factory=dict)
    public_subnets: frozenset[str] = frozenset()
    known_subnets: frozenset[str] = frozenset()

    @classmethod
    def from_api(
        cls, groups: Iterable[Mapping[str, Any]], subnets: Iterable[Mapping[str, Any]],
        route_tables: Iterable[Mapping[str, Any]],
    ) -> Network:
        subnet_vpc = {s["SubnetId"]: s.get("VpcId", "") for s in subnets}
        return cls(
            groups={g["GroupId"]: g for g in groups},
            subnet_vpc=subnet_vpc,
            public_subnets=frozenset(public_subnets(subnet_vpc, route_tables)),
            known_subnets=frozenset(subnet_vpc),
        )

    def open_ingress(self, group_ids: Iterable[str], port: int | None) -> tuple[str, ...]:
        """Rules of these groups that let the whole internet connect to ``port`` (one sentence each)."""
        if port is None:
            return ()
        out: list[str] = []
        for gid in group_ids:
            for perm in self.groups.get(gid, {}).get("IpPermissions", []):
                if covers_port(perm, port):
                    out.extend(f"{gid} allows {src} on port {port}" for src in world_sources(perm))
        return tuple(out)

    def any_public_subnet(self, subnet_ids: Iterable[str]) -> bool | None:
        """True if one of the subnets routes to an internet gateway; None when none of them is known."""
        ids = [s for s in subnet_ids if s in self.known_subnets]
        if not ids:
            return None
        return any(s in self.public_subnets for s in ids)


def public_subnets(subnet_vpc: Mapping[str, str], route_tables: Iterable[Mapping[str, Any]]) -> set[str]:
    """Subnets whose route table (explicit association, else the VPC's main table) reaches an internet gateway."""
    explicit: dict[str, bool] = {}
    main: dict[str, bool] = {}
    for table in route_tables:
        to_igw = any(_route_to_igw(r) for r in table.get("Routes", []))
        for assoc in table.get("Associations", []):
            if assoc.get("SubnetId"):
                explicit[assoc["SubnetId"]] = to_igw
            elif assoc.get("Main"):
                main[table.get("VpcId", "")] = to_igw
    return {s for s, vpc in subnet_vpc.items() if explicit.get(s, main.get(vpc, False))}


def _route_to_igw(route: Mapping[str, Any]) -> bool:
    dest = route.get("DestinationCidrBlock") or route.get("DestinationIpv6CidrBlock")
    return dest in (WORLD_V4, WORLD_V6) and str(route.get("GatewayId", "")).startswith("igw-")


def covers_port(perm: Mapping[str, Any], port: int) -> bool:
    """Does an ingress permission cover TCP ``port`` (protocol -1 means every protocol and port)?"""
    proto = str(perm.get("IpProtocol", ""))
    if proto == "-1":
        return True
    if proto not in ("tcp", "6"):
        return False
    lo, hi = perm.get("FromPort", -1), perm.get("ToPort", -1)
    return bool(lo == -1 or (lo is not None and hi is not None and lo <= port <= hi))


def world_sources(perm: Mapping[str, Any]) -> list[str]:
    v4 = [r["CidrIp"] for r in perm.get("IpRanges", []) if r.get("CidrIp") == WORLD_V4]
    v6 = [r["CidrIpv6"] for r in perm.get("Ipv6Ranges", []) if r.get("CidrIpv6") == WORLD_V6]
    return v4 + v6


def ingress_ports(group: Mapping[str, Any], ports: Iterable[int]) -> dict[int, bool]:
    """Which of ``ports`` a group admits from anywhere at all -> whether from the whole internet."""
    out: dict[int, bool] = {}
    for perm in group.get("IpPermissions", []):
        sources = perm.get("IpRanges", []) or perm.get("Ipv6Ranges", []) or perm.get("UserIdGroupPairs", [])
        if not sources and not perm.get("PrefixListIds"):
            continue
        for port in ports:
            if covers_port(perm, port):
                out[port] = out.get(port, False) or bool(world_sources(perm))
    return out


# ---- resource policies ---------------------------------------------------------------------------------
def load_policy(document: str | Mapping[str, Any] | None) -> dict[str, Any]:
    if not document:
        return {}
    if isinstance(document, Mapping):
        return dict(document)
    try:
        parsed = json.loads(document)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    stmts = policy.get("Statement", [])
    return [stmts] if isinstance(stmts, Mapping) else [s for s in stmts if isinstance(s, Mapping)]


def _everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        values = principal.get("AWS", [])
        values = [values] if isinstance(values, str) else values
        return "*" in values
    return False


def _limited(condition: Any) -> bool:
    """Does a Condition block narrow the statement to chosen callers (not an IP condition open to all)?"""
    if not isinstance(condition, Mapping):
        return False
    for operator in condition.values():
        if not isinstance(operator, Mapping):
            continue
        for key, value in operator.items():
            values = [value] if isinstance(value, str) else list(value or [])
            if key.lower() not in LIMITING_CONDITION_KEYS:
                continue
            if key.lower() in ("aws:sourceip", "aws:vpcsourceip") and any(v in (WORLD_V4, WORLD_V6) for v in values):
                continue
            return True
    return False


def public_statements(document: str | Mapping[str, Any] | None) -> list[str]:
    """Allow statements open to everyone (``Principal: *`` without a limiting condition), described."""
    out = []
    for i, stmt in enumerate(_statements(load_policy(document))):
        if stmt.get("Effect") != "Allow" or not _everyone(stmt.get("Principal")):
            continue
        if _limited(stmt.get("Condition")):
            continue
        actions = stmt.get("Action", "*")
        actions = ", ".join(actions) if isinstance(actions, list) else str(actions)
        out.append(f"statement {stmt.get('Sid') or i + 1} allows Principal \"*\" to {actions}")
    return out


def denies_insecure_transport(document: str | Mapping[str, Any] | None) -> bool:
    """A statement denying requests where aws:SecureTransport is false (TLS enforced by policy)."""
    for stmt in _statements(load_policy(document)):
        if stmt.get("Effect") != "Deny":
            continue
        cond = stmt.get("Condition", {})
        for operator in cond.values() if isinstance(cond, Mapping) else ():
            if isinstance(operator, Mapping) and str(operator.get("aws:SecureTransport", "")).lower() == "false":
                return True
    return False


# ---- S3 ------------------------------------------------------------------------------------------------
BLOCK_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def effective_block(bucket: Mapping[str, bool] | None, account: Mapping[str, bool] | None) -> dict[str, bool]:
    """S3 applies the most restrictive of the bucket's and the account's Block Public Access settings."""
    return {f: bool((bucket or {}).get(f)) or bool((account or {}).get(f)) for f in BLOCK_FLAGS}


def public_grants(acl: Mapping[str, Any] | None) -> list[str]:
    out = []
    for grant in (acl or {}).get("Grants", []):
        uri = grant.get("Grantee", {}).get("URI")
        if uri in (ALL_USERS, AUTHENTICATED_USERS):
            who = "AllUsers" if uri == ALL_USERS else "AuthenticatedUsers"
            out.append(f"ACL grants {grant.get('Permission', '?')} to {who}")
    return out


def bucket_public_reasons(policy: str | None, acl: Mapping[str, Any] | None, block: Mapping[str, bool]) -> list[str]:
    """Why a bucket is readable by anyone, after Block Public Access has had its say (empty = not public)."""
    reasons: list[str] = []
    if not block.get("RestrictPublicBuckets"):
        reasons += [f"bucket policy {s}" for s in public_statements(policy)]
    if not block.get("IgnorePublicAcls"):
        reasons += public_grants(acl)
    return reasons
