"""Amazon Web Services: every data store in the requested accounts and regions, read with boto3.

boto3's own configuration applies (``--profile``, ``AWS_PROFILE``, ``AWS_ENDPOINT_URL``, credentials chain).
Only ``Describe*``, ``List*`` and ``Get*`` calls are made (plus ``sts:AssumeRole`` for ``--assume-role``); see
docs/inventory.md for the IAM policy. Each (account, region) is read in its own thread, with a bounded pool
of API calls per region; paginated APIs are read through boto3's paginators.

One collector per service (``SERVICES``); each turns API answers into ``CloudStore`` facts, asking
``_aws_reach`` whether security groups, route tables, policies and ACLs let the internet in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any, ClassVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from dataward.errors import DatawardError
from dataward.inventory.base import PROVIDERS, CloudStore, Collection, InventoryOptions
from dataward.inventory.providers._aws_reach import (
    Network,
    bucket_public_reasons,
    denies_insecure_transport,
    effective_block,
    ingress_ports,
    public_statements,
)

SESSION_NAME = "dataward-inventory"
RETRIES = Config(retries={"max_attempts": 5, "mode": "adaptive"}, max_pool_connections=32)

# Engine -> the dataward target scheme that can probe it (None: no store kind speaks it yet).
ENGINE_SCHEMES = {
    "postgres": "postgresql", "aurora-postgresql": "postgresql", "redshift": "postgresql",
    "mysql": "mysql", "mariadb": "mysql", "aurora-mysql": "mysql", "aurora": "mysql",
    "redis": "redis", "valkey": "redis", "memcached": "memcached", "docdb": "mongodb",
    "opensearch": "https", "elasticsearch": "https", "s3": "s3",
}
# Ports of store kinds dataward can probe: an EC2 instance admitting one of them is treated as a store.
STORE_PORTS = {5432: "postgresql", 3306: "mysql", 6379: "redis", 11211: "memcached", 9200: "elasticsearch",
               27017: "mongodb", 1883: "mqtt", 5439: "redshift"}
# Engine -> (the parameter that makes TLS mandatory, the values that mean "on"); read from parameter groups.
TLS_PARAMETERS = {
    "postgres": ("rds.force_ssl", {"1"}), "aurora-postgresql": ("rds.force_ssl", {"1"}),
    "mysql": ("require_secure_transport", {"1", "on"}), "mariadb": ("require_secure_transport", {"1", "on"}),
    "aurora-mysql": ("require_secure_transport", {"1", "on"}), "redshift": ("require_ssl", {"true"}),
    "docdb": ("tls", {"enabled"}),
}


@dataclass(frozen=True)
class Region:
    """What every collector of one (account, region) gets: clients, the network, and where it is."""

    account: str
    region: str
    network: Network
    client: Callable[[str], Any]
    parameters: dict[tuple[str, str], dict[str, str] | None] = field(default_factory=dict)  # group -> values


# ---- the provider ------------------------------------------------------------------------------------
@PROVIDERS.register
class Aws:
    name: ClassVar[str] = "aws"
    display_name: ClassVar[str] = "Amazon Web Services"

    def collect(self, options: InventoryOptions) -> Collection:
        accounts = list(_accounts(options))
        regions = list(options.regions or _enabled_regions(accounts[0][1]))
        jobs = [(account, session, region) for account, session in accounts for region in regions]
        with ThreadPoolExecutor(max(1, min(options.region_workers, len(jobs))), "dataward-aws") as pool:
            parts = list(pool.map(lambda j: _collect_region(j[0], j[1], j[2], options), jobs))
            parts += list(pool.map(lambda a: _collect_buckets(a[0], a[1], regions, options), accounts))
        stores = [s for part in parts for s in part.stores]
        return Collection(
            stores=tuple(sorted(stores, key=lambda s: (s.account, s.region, s.kind, s.name))),
            errors=tuple(e for part in parts for e in part.errors),
            accounts=tuple(a for a, _ in accounts), regions=tuple(regions),
        )


class _Session:
    """A boto3 session whose clients are made one at a time (boto3 sessions are not thread-safe)."""

    def __init__(self, session: boto3.Session, options: InventoryOptions) -> None:
        self.session = session
        self._lock = threading.Lock()
        if options.on_call is not None:
            session.events.register("before-call", _call_hook(options.on_call))

    def client(self, service: str, region: str | None = None, config: Config | None = None) -> Any:
        with self._lock:
            return self.session.client(service, region_name=region, config=config or RETRIES)  # type: ignore[call-overload]


def _call_hook(on_call: Callable[[str, str], None]) -> Callable[..., None]:
    def hook(model: Any = None, **_: Any) -> None:
        if model is not None:
            on_call(model.service_model.service_name, model.name)

    return hook


def _accounts(options: InventoryOptions) -> Iterator[tuple[str, _Session]]:
    """(account id, session) for the caller's own account, or for each role to assume."""
    try:
        base = _Session(boto3.Session(profile_name=options.profile), options)
        sts = base.client("sts", _default_region(base.session))
        if not options.assume_roles:
            yield sts.get_caller_identity()["Account"], base
            return
        for arn in options.assume_roles:
            creds = sts.assume_role(RoleArn=arn, RoleSessionName=SESSION_NAME)["Credentials"]
            session = boto3.Session(
                aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"], region_name=_default_region(base.session),
            )
            assumed = _Session(session, options)
            yield assumed.client("sts", _default_region(session)).get_caller_identity()["Account"], assumed
    except (BotoCoreError, ClientError) as exc:
        raise DatawardError(
            f"cannot read the AWS account: {_one_line(exc)}",
            tip="check --profile / AWS credentials (aws sts get-caller-identity) and --assume-role",
        ) from None


def _default_region(session: boto3.Session) -> str:
    return session.region_name or "us-east-1"


def _enabled_regions(session: _Session) -> list[str]:
    ec2 = session.client("ec2", _default_region(session.session))
    regions = ec2.describe_regions(AllRegions=False)["Regions"]
    return sorted(r["RegionName"] for r in regions)


def known_regions() -> frozenset[str]:
    """Every region name of every AWS partition that this botocore knows (read from its own data, offline)."""
    return service_regions("ec2")


@cache
def service_regions(service: str) -> frozenset[str]:
    """The regions where AWS offers ``service``, from botocore's own data (offline; empty if it does not say)."""
    session = boto3.session.Session()
    return frozenset(r for p in session.get_available_partitions() for r in session.get_available_regions(service, p))


def _offered(service: str, region: str) -> bool:
    """Whether to read ``service`` in ``region``: not where AWS does not offer it (MemoryDB is in about half the
    regions), so an account-wide read makes no call that can only fail."""
    regions = service_regions(service)
    return not regions or region in regions


def _one_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__


# ---- one region --------------------------------------------------------------------------------------
def _collect_region(account: str, session: _Session, region: str, options: InventoryOptions) -> Collection:
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = session.client(service, region)
        return clients[service]

    collectors = [c for c in SERVICES if _offered(c.service, region)]
    for service in ("ec2", *(c.service for c in collectors)):
        client(service)  # made up front, in this thread: the pool below only uses them
    try:
        ctx = Region(account, region, _network(client("ec2")), client)
    except (BotoCoreError, ClientError) as exc:
        return Collection(errors=(f"{account} {region} ec2: {_one_line(exc)}",))
    with ThreadPoolExecutor(max(1, options.calls_per_region), f"dataward-aws-{region}") as pool:
        parts = list(pool.map(lambda c: _run_collector(c(), ctx), collectors))
    return Collection(stores=tuple(s for p in parts for s in p.stores), errors=tuple(e for p in parts for e in p.errors))


def _run_collector(collector: Collector, ctx: Region) -> Collection:
    """One service's stores; a refused or failed call is an error line, never the end of the inventory."""
    try:
        return Collection(stores=tuple(collector.collect(ctx)))
    except (BotoCoreError, ClientError) as exc:
        return Collection(errors=(f"{ctx.account} {ctx.region} {collector.service}: {_one_line(exc)}",))


def _network(ec2: Any) -> Network:
    return Network.from_api(
        _pages(ec2, "describe_security_groups", "SecurityGroups"),
        _pages(ec2, "describe_subnets", "Subnets"),
        _pages(ec2, "describe_route_tables", "RouteTables"),
    )


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Every item of a (possibly paginated) list answer."""
    if client.can_paginate(operation):
        return [item for page in client.get_paginator(operation).paginate(**kwargs) for item in page.get(key, [])]
    return list(getattr(client, operation)(**kwargs).get(key, []))


def _tags(items: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in items or ()}


def _missing(exc: ClientError, *codes: str) -> bool:
    return exc.response.get("Error", {}).get("Code") in codes


# ---- reachability, shared by the VPC-hosted kinds ------------------------------------------------------
def decide(
    store: CloudStore, network: Network, groups: Iterable[str], subnets: Iterable[str],
    flag: bool | None, needs_flag: bool,
) -> CloudStore:
    """Reachable from the internet = (the public flag, where the kind has one) + a public subnet + a
    security group open to 0.0.0.0/0 or ::/0 on the store's port; ``why`` says which settings decided it."""
    group_ids = list(groups)
    open_rules = network.open_ingress(group_ids, store.port)
    public_subnet = network.any_public_subnet(subnets)
    why: list[str] = []
    if needs_flag:
        why.append(f"PubliclyAccessible is {'true' if flag else 'false'}")
    if public_subnet is not None:
        why.append("in a subnet routed to an internet gateway" if public_subnet else "in private subnets only")
    why.extend(open_rules)
    if not open_rules:
        why.append(f"no security group admits 0.0.0.0/0 or ::/0 on port {store.port}" if group_ids
                   else "security groups not reported")
    reachable = bool(open_rules) and public_subnet is not False and (bool(flag) or not needs_flag)
    if not needs_flag and public_subnet is None:
        reachable = False  # without a public IP flag, only a known public subnet makes it reachable
    anonymous = reachable and store.auth_required is False
    return replace(store, reachable_from_internet=reachable, anonymous=anonymous, why=tuple(why),
                   open_ingress=open_rules)


def _ingress_fix(store: CloudStore, groups: Iterable[str]) -> str:
    ids = ", ".join(groups) or "its security groups"
    return (f"Remove the 0.0.0.0/0 and ::/0 ingress rules for port {store.port} from {ids} "
            f"(aws ec2 revoke-security-group-ingress) and allow only the application's security group or VPC range.")


# ---- TLS from parameter groups ---------------------------------------------------------------------------
def tls_required(ctx: Region, service: str, group: str | None, engine: str, version: str | None) -> bool | None:
    """Is TLS mandatory by the store's parameter group (``rds.force_ssl``, ``require_secure_transport``,
    ``require_ssl``, DocumentDB ``tls``)? The engine's default when the group does not set it; None if unread."""
    if engine not in TLS_PARAMETERS or not group:
        return None
    name, on = TLS_PARAMETERS[engine]
    values = _parameters(ctx, service, group)
    if values is None:
        return None
    if name in values:
        return values[name].strip().lower() in on
    return _tls_default(engine, version)


def _tls_default(engine: str, version: str | None) -> bool:
    """Engine defaults: PostgreSQL 15+ on RDS forces SSL, DocumentDB enables TLS, the others do not require it."""
    if engine == "docdb":
        return True
    if engine in ("postgres", "aurora-postgresql"):
        major = (version or "0").split(".", 1)[0]
        return major.isdigit() and int(major) >= 15
    return False


def _parameters(ctx: Region, kind: str, group: str) -> dict[str, str] | None:
    """A parameter group's values, read once per region (a group is shared by many stores)."""
    key = (kind, group)
    if key not in ctx.parameters:
        service, operation, arg = {
            "db": ("rds", "describe_db_parameters", "DBParameterGroupName"),
            "cluster": ("rds", "describe_db_cluster_parameters", "DBClusterParameterGroupName"),
            "redshift": ("redshift", "describe_cluster_parameters", "ParameterGroupName"),
        }[kind]
        try:
            items = _pages(ctx.client(service), operation, "Parameters", **{arg: group})
            ctx.parameters[key] = {p["ParameterName"]: str(p.get("ParameterValue", "")) for p in items
                                   if "ParameterValue" in p}
        except ClientError:
            ctx.parameters[key] = None
    return ctx.parameters[key]


def _tls_fix(engine: str, group: str | None, service: str) -> str:
    name, on = TLS_PARAMETERS.get(engine, ("rds.force_ssl", {"1"}))
    value = sorted(on)[0]
    command = {"rds": "aws rds modify-db-parameter-group --db-parameter-group-name",
               "cluster": "aws rds modify-db-cluster-parameter-group --db-cluster-parameter-group-name",
               "redshift": "aws redshift modify-cluster-parameter-group --parameter-group-name"}[service]
    return (f"Set {name}={value} in parameter group {group or '(a custom group)'} ({command} {group or '...'} "
            f"--parameters ParameterName={name},ParameterValue={value},ApplyMethod=pending-reboot); a default "
            f"group cannot be changed: attach a custom one.")


# ---- collectors, one per service -----------------------------------------------------------------------
class Collector:
    service: ClassVar[str]

    def collect(self, ctx: Region) -> Iterator[CloudStore]:
        raise NotImplementedError


class RdsInstances(Collector):
    """RDS instances that are not members of an Aurora/DocumentDB cluster (clusters are stores of their own)."""

    service = "rds"

    def collect(self, ctx: Region) -> Iterator[CloudStore]:
        rds = ctx.client("rds")
        instances = _pages(rds, "describe_db_instances", "DBInstances")
        for db in instances:
            if db.get("DBClusterIdentifier") or db.get("Engine") in ("docdb", "neptune"):
                continue
            yield self._store(ctx, db)

    def _store(self, ctx: Region, db: Mapping[str, Any]) -> CloudStore:
        engine = db.get("Engine", "")
        endpoint = db.get("Endpoint") or {}
        groups = [g["VpcSecurityGroupId"] for g in db.get("VpcSecurityGroups", [])]
        subnets = [s["SubnetIdentifier"] for s in (db.get("DBSubnetGroup") or {}).get("Subnets", [])]
        ident = db["DBInstanceIdentifier"]
        group = next((g.get("DBParameterGroupName") for g in db.get("DBParameterGroups", [])), None)
        store = CloudStore(
            id=db.get("DBInstanceArn") or f"arn:aws:rds:{ctx.region}:{ctx.account}:db:{ident}",
            provider="aws", kind="rds", name=ident, account=ctx.account, region=ctx.region,
            engine=engine, version=db.get("EngineVersion"), host=endpoint.get("Address"),
            port=endpoint.get("Port") or db.get("DbInstancePort"), scheme=ENGINE_SCHEMES.get(engine),
            tags=_tags(db.get("TagList")), encrypted_at_rest=db.get("StorageEncrypted"),
            tls_in_transit=tls_required(ctx, "db", group, engine, db.get("EngineVersion")),
            auth="iam+password" if db.get("IAMDatabaseAuthenticationEnabled") else "password", auth_required=True,
            details={"publicly_accessible": db.get("PubliclyAccessible"), "security_groups": groups},
        )
        store = replace(store, fixes={
            "public": (f"Set PubliclyAccessible to false (aws rds modify-db-instance --db-instance-identifier "
                       f"{ident} --no-publicly-accessible --apply-immediately); "
                       + _ingress_fix(store, groups)),
            "ingress": _ingress_fix(store, groups),
            "tls": _tls_fix(engine, group, "rds"),
            "encryption": (f"Encrypt storage: StorageEncrypted cannot be changed in place; restore an encrypted "
                           f"copy of a snapshot of {ident} (aws rds copy-db-snapshot --kms-key-id ...)."),
        })
        return decide(store, ctx.network, groups, subnets, db.get("PubliclyAccessible"), needs_flag=True)


class RdsClusters(Collector):
    """Aurora and DocumentDB clusters (one store per cluster; public if any member instance is)."""

    service = "rds"
    kinds: ClassVar[dict[str, str]] = {"docdb": "docdb", "aurora": "aurora", "aurora-mysql": "aurora",
                                       "aurora-postgresql": "aurora"}

    def collect(self, ctx: Region) -> Iterator[CloudStore]:
        rds = ctx.client("rds")
        clusters = [c for c in _pages(rds, "describe_db_clusters", "DBClusters")
                    if c.get("Engine") in self.kinds or c.get("Engine") in ("postgres", "mysql")]
        if not clusters:
            return
        members = {d["DBInstanceIdentifier"]: d for d in _pages(rds, "describe_db_instances", "DBInstances")
                   if d.get("DBClusterIdentifier")}
        subnet_groups = {g["DBSubnetGroupName"]: g for g in _pages(rds, "describe_db_subnet_groups", "DBSubnetGroups")}
        for cluster in clusters:
            yield self._store(ctx, cluster, members, subnet_groups)

    def _store(self, ctx: Region, c: Mapping[str, Any], members: Mapping[str, Mapping[str, Any]],
               subnet_groups: Mapping[str, Mapping[str, Any]]) -> CloudStore:
        engine = c.get("Engine", "")
        ident = c["DBClusterIdentifier"]
        kind = self.kinds.get(engine, "rds")
        member_dbs = [members[m["DBInstanceIdentifier"]] for m in c.get("DBClusterMembers", [])
                      if m.get("DBInstanceIdentifier") in members]
        public = bool(c.get("PubliclyAccessible")) or any(m.get("PubliclyAccessible") for m in member_dbs)
        groups = [g["VpcSecurityGroupId"] for g in c.get("VpcSecurityGroups", [])]
        sg_name = c.get("DBSubnetGroup") or ""
        subnets = [s["SubnetIdentifier"] for s in subnet_groups.get(sg_name, {}).get("Subnets", [])]
        group = c.get("DBClusterParameterGroup")
        store = CloudStore(
            id=c.get("DBClusterArn") or f"arn:aws:rds:{ctx.region}:{ctx.account}:cluster:{ident}",
            provider="aws", kind=kind, name=ident, account=ctx.account, region=ctx.region, engine=engine,
            version=c.get("EngineVersion"), host=c.get("Endpoint"), port=c.get("Port"),
            scheme=ENGINE_SCHEMES.get(engine), tags=_tags(c.get("TagList")),
            encrypted_at_rest=c.get("StorageEncrypted"),
            tls_in_transit=tls_required(ctx, "cluster", group, engine, c.get("EngineVersion")),
            auth="iam+password" if c.get("IAMDatabaseAuthenticationEnabled") else "password", auth_required=True,
            details={"publicly_accessible": public, "security_groups": groups,
                     "members": [m["DBInstanceIdentifier"] for m in member_dbs]},
        )
        names = ", ".join(m["DBInstanceIdentifier"] for m in member_dbs) or ident
        service = "docdb" if kind == "docdb" else "rds"
        store = replace(store, fixes={
            "public": (f"Set PubliclyAccessible to false on every member instance ({names}: aws {service} "
                       f"modify-db-instance --no-publicly-accessible); " + _ingress_fix(store, groups)),
            "ingress": _ingress_fix(store, groups),
            "tls": _tls_fix(engine, group, "cluster"),
            "encryption": f"Restore cluster {ident} from a snapshot with --storage-encrypted and a KMS key.",
        })
        return decide(store, ctx.network, groups, subnets, public, needs_flag=True)


class Redshift(Collector):
    service = "redshift"

    def collect(self, ctx: Region) -> Iterator[CloudStore]:
        rs = ctx.client("redshift")
        clusters = _pages(rs, "describe_clusters", "Clusters")
        if not clusters:
            return
        subnet_groups = {g["ClusterSubnetGroupName"]: g
                         for g in _pages(rs, "describe_cluster_subnet_groups", "ClusterSubnetGroups")}
        for c in clusters:
            ident = c["ClusterIdentifier"]
            endpoint = c.get("Endpoint") or {}
            groups = [g["VpcSecurityGroupId"] for g in c.get("VpcSecurityGroups", [])]
            subnets = [s["SubnetIdentifier"] for s in
                       subnet_groups.get(c.get("ClusterSubnetGroupName", ""), {}).get("Subnets", [])]
            group = next((g.get("ParameterGroupName") for g in c.get("ClusterParameterGroups", [])), None)
            store = CloudStore(
                id=f"arn:aws:redshift:{ctx.region}:{ctx.account}:cluster:{ident}",  # (ClusterNamespaceArn is the namespace's)
                provider="aws", kind="redshift", name=ident, account=ctx.account, region=ctx.region,
                engine="redshift", version=c.get("ClusterVersion"), host=endpoint.get("Address"),
                port=endpoint.get("Port"), scheme="postgresql", tags=_tags(c.get("Tags")),
                encrypted_at_rest=c.get("Encrypted"), auth="password", auth_required=True,
                tls_in_transit=tls_required(ctx, "redshift", group, "redshift", None),
                details={"publicly_accessible": c.get("PubliclyAccessible"), "security_groups": groups},
            )
            store = replace(store, fixes={
                "public": (f"Set PubliclyAccessible to false (aws redshift modify-cluster --cluster-identifier "
                           f"{ident} --no-publicly-accessible); " + _ingress_fix(store, groups)),
                "ingress": _ingress_fix(store, groups),
                "tls": _tls_fix("redshift", group, "redshift"),
                "encryption": f"Encrypt the cluster (aws redshift modify-cluster --cluster-identifier {ident} "
                              f"--encrypted --kms-key-id ...).",
            })
            yield decide(store, ctx.network, groups, subnets, c.get("PubliclyAccessible"), needs_flag=True)


class ElastiCache(Collector):
    """Redis/Valkey replication groups and stand-alone cache clusters (memcached, single-node Redis)."""

    service = "elasticache"

    def collect(self, ctx: Region) -> Iterator[CloudStore]:
        ec = ctx.client("elasticache")
        clusters = _pages(ec, "describe_cache_clusters", "CacheClusters", ShowCacheNodeInfo=True)
        groups = _pages(ec, "describe_replication_groups", "ReplicationGroups")
        if not clusters and not groups:
            return
        subnet_groups = {g["CacheSubnetGroupName"]: [s["SubnetIdentifier"] for s in g.get("Subnets", [])]
                         for g in _pages(ec, "describe_cache_subnet_groups", "CacheSubnetGroups")}
        for rg in groups:
            members = [c for c in clusters if c.get("ReplicationGroupId") == rg["ReplicationGroupId"]]
            yield self._store(ctx, ec, rg, members, subnet_groups, group=True)
        for c in clusters:
            if not c.get("ReplicationGroupId"):
                yield self._store(ctx, ec, c, [c], subnet_groups, group=False)

    def _store(self, ctx: Region, ec: Any, item: Mapping[str, Any], members: Sequence[Mapping[str, Any]],
               subnet_groups: Mapping[str, list[str]], *, group: bool) -> CloudStore:
        ident = item["ReplicationGroupId"] if group else item["CacheClusterId"]
        engine = item.get("Engine") or next((m.get("Engine") for m in members), None) or "redis"
        host, port = _cache_endpoint(item, group)
        sgs = sorted({g["SecurityGroupId"] for m in members for g in m.get("SecurityGroups", [])})
        subnets = [s for m in members for s in subnet_groups.get(m.get("CacheSubnetGroupName", ""), [])]
        auth = bool(item.get("AuthTokenEnabled")) or bool(item.get("UserGroupIds"))
        arn = item.get("ARN") or f"arn:aws:elasticache:{ctx.region}:{ctx.account}:cluster:{ident}"
        store = CloudStore(
            id=arn, provider="aws", kind="elasticache", name=ident, account=ctx.account, region=ctx.region,
            engine=engine, version=item.get("EngineVersion") or next((m.get("EngineVersion") for m in members), None),
            host=host, port=port or (11211 if engine == "memcached" else 6379), scheme=ENGINE_SCHEMES.get(engine),
            tags=_resource_tags(ec, "list_tags_for_resource", {"ResourceName": arn}),
            encrypted_at_rest=item.get("AtRestEncryptionEnabled"),
            tls_in_transit=bool(item.get("TransitEncryptionEnabled")),
            auth=("rbac" if item.get("UserGroupIds") else "auth-token") if auth else "none", auth_required=auth,
            details={"security_groups": sgs, "replication_group": group},
        )
        modify = (f"aws elasticache modify-replication-group --replication-group-id {ident}" if group
                  else f"aws elasticache modify-cache-cluster --cache-cluster-id {ident}")
        store = replace(store, fixes={
            "public": ("Place the cluster in a cache subnet group of private subnets (no route to an internet "
                       "gateway); " + _ingress_fix(store, sgs)),
            "ingress": _ingress_fix(store, sgs),
            "auth": (f"Turn on AUTH ({modify} --auth-token ... --auth-token-update-strategy ROTATE) or RBAC user "
                     f"groups (--user-group-ids-to-add); memcached has no AUTH: keep it in private subnets."),
            "tls": f"Set TransitEncryptionEnabled=true and TransitEncryptionMode=required ({modify} "
                   f"--transit-encryption-enabled --transit-encryption-mode required).",
            "encryption": "AtRestEncryptionEnabled can only be set at creation: create a new replication group "
                          "with --at-rest-encryption-enabled and migrate.",
        })
        return decide(store, ctx.network, sgs, subnets, None, needs_flag=False)


def _cache_endpoint(item: Mapping[str, Any], group: bool) -> tuple[str | None, int | None]:
    if group:
        ep = item.get("ConfigurationEndpoint") or next(
            (g.get("PrimaryEndpoint") for g in item.get("NodeGroups", []) if g.get("PrimaryEndpoint")), None) or {}
    else:
        ep = item.get("ConfigurationEndpoint") or next(
            (n.get("Endpoint") for n in item.get("CacheNodes", []) if n.get("Endpoint")), None) or {}
    return ep.get("Address"), ep.get("Port")


def _resource_tags(client: Any, operation: str, kwargs: Mapping[str, Any], key: str = "TagList") -> dict[str, str]:
    try:
        return _tags(getattr(client, operation)(**kwargs).get(key))
    except ClientError:
        return {}


class MemoryDB(Collector):
    service = "memorydb"

    def collect(self, ctx: Region) -> Iterator[CloudStore]:
        mdb = ctx.client("memorydb")
        clusters = _pages(mdb, "describe_clusters", "Clusters")
        if not clusters:
            return
        subnet_groups = {g["Name"]: [s["Identifier"] for s in g.get("Subnets", [])]
                         for g in _pages(mdb, "describe_subnet_groups", "SubnetGroups")}
        for c in clusters:
            yield self._store(ctx, mdb, c, subnet_groups)

    def _store(self, ctx: Region, mdb: Any, c: Mapping[str, Any], subnet_groups: Mapping[str, list[str]]) -> CloudStore:
        name = c["Name"]
        ep = c.get("ClusterEndpoint") or {}
        sgs = [g["SecurityGroupId"] for g in c.get("SecurityGroups", [])]
        arn = c.get("ARN") or f"arn:aws:memorydb:{ctx.region}:{ctx.account}:cluster/{name}"
        acl = c.get("ACLName") or "open-access"
        store = CloudStore(
            id=arn, provider="aws", kind="memorydb", name=name, account=ctx.account, region=ctx.region,
            engine=c.get("Engine") or "redis", version=c.get("EngineVersion"), host=ep.get("Address"),
            port=ep.get("Port") or 6379, scheme="redis", tags=_resource_tags(mdb, "list_tags", {"ResourceArn": arn}),
            encrypted_at_rest=True,  # MemoryDB always encrypts data at rest (KMS, service key by default)
            tls_in_transit=bool(c.get("TLSEnabled")), auth="none" if acl == "open-access" else f"acl:{acl}",
            auth_required=acl != "open-access", details={"security_groups": sgs, "acl": acl},
        )
        store = replace(store, fixes={
            "public": "Use a subnet group of private subnets; " + _ingress_fix(store, sgs),
            "ingress": _ingress_fix(store, sgs),
            "auth": f"Attach an access control list other than open-access (aws memorydb update-cluster "
                    f"--cluster-name {name} --acl-name <acl with users and passwords>).",
            "tls": "TLSEnabled can only be set at creation: create the cluster again with --tls-enabled.",
        })
        return decide(store, ctx.network, sgs, subnet_groups.get(c.get("SubnetGroupName", ""), []), None,
                      needs_flag=False)


class OpenSearch(Collector):
    """OpenSearch and Elasticsearch domains (the opensearch API lists both)."""

    service = "opensearch"

    def collect(self, ctx: Region) -> Iterator[CloudStore]:
        client = ctx.client("opensearch")
        names = [d["DomainName"] for d in client.list_domain_names().get("DomainNames", [])]
        for i in range(0, len(names), 5):  # DescribeDomains takes at most 5 names
            for domain in client.describe_domains(DomainNames=names[i:i + 5]).get("DomainStatusList", []):
                yield self._store(ctx, client, domain)

    def _store(self, ctx: Region, client: Any, d: Mapping[str, Any]) -> CloudStore:
        name = d["DomainName"]
        vpc = d.get("VPCOptions") or {}
        in_vpc = bool(vpc.get("VPCId") or vpc.get("SubnetIds"))
        endpoint = d.get("Endpoint") or (d.get("Endpoints") or {}).get("vpc")
        fgac = d.get("AdvancedSecurityOptions") or {}
        open_policy = public_statements(d.get("AccessPolicies"))
        engine_version = str(d.get("EngineVersion") or "")
        engine = "elasticsearch" if engine_version.lower().startswith("elasticsearch") or "_" not in engine_version \
            else "opensearch"
        endpoint_opts = d.get("DomainEndpointOptions") or {}
        store = CloudStore(
            id=d.get("ARN") or f"arn:aws:es:{ctx.region}:{ctx.account}:domain/{name}",
            provider="aws", kind="opensearch", name=name, account=ctx.account, region=ctx.region, engine=engine,
            version=engine_version.split("_", 1)[-1] or None, host=endpoint, port=443, scheme="https",
            encrypted_at_rest=bool((d.get("EncryptionAtRestOptions") or {}).get("Enabled")),
            tls_in_transit=bool(endpoint_opts.get("EnforceHTTPS"))
            and bool((d.get("NodeToNodeEncryptionOptions") or {}).get("Enabled")),
            auth="fine-grained" if fgac.get("Enabled") else ("none" if open_policy else "iam"),
            auth_required=bool(fgac.get("Enabled")) or not open_policy,
            tags=_resource_tags(client, "list_tags", {"ARN": d.get("ARN", "")}),
            details={"vpc": in_vpc, "open_policy": open_policy, "fine_grained_access_control": bool(fgac.get("Enabled"))},
        )
        store = replace(store, fixes={
            "public": (f"Replace Principal \"*\" in the domain's access policy with the account or role ARNs that "
                       f"need it (aws opensearch update-domain-config --domain-name {name} --access-policies ...), "
                       f"turn on fine-grained access control (AdvancedSecurityOptions.Enabled=true), and prefer a "
                       f"VPC domain."),
            "ingress": _ingress_fix(store, vpc.get("SecurityGroupIds", [])),
            "tls": f"Set DomainEndpointOptions.EnforceHTTPS=true and NodeToNodeEncryptionOptions.Enabled=true "
                   f"(aws opensearch update-domain-config --domain-name {name}).",
            "encryption": f"Set EncryptionAtRestOptions.Enabled=true (aws opensearch update-domain-config "
                          f"--domain-name {name} --encryption-at-rest-options Enabled=true).",
        })
        if in_vpc:
            return decide(store, ctx.network, vpc.get("SecurityGroupIds", []), vpc.get("SubnetIds", []), None,
                          needs_flag=False)
        # A public endpoint whose policy names principals refuses every unsigned request: not reachable.
        why = ["public endpoint (not in a VPC)", *open_policy]
        if not open_policy:
            why.append("access policy admits only named principals (requests must be signed by them)")
        if fgac.get("Enabled"):
            why.append("fine-grained access control is on")
        reachable = bool(open_policy)
        return replace(store, reachable_from_internet=reachable, anonymous=reachable and not store.auth_required,
                       why=tuple(why))


class Ec2(Collector):
    """EC2 instances whose security groups admit a store port (a database someone runs on a VM)."""

    service = "ec2"

    def collect(self, ctx: Region) -> Iterator[CloudStore]:
        reservations = _pages(ctx.client("ec2"), "describe_instances", "Reservations")
        for res in reservations:
            for inst in res.get("Instances", []):
                if (inst.get("State") or {}).get("Name") in ("terminated", "shutting-down"):
                    continue
                store = self._store(ctx, inst)
                if store is not None:
                    yield store

    def _store(self, ctx: Region, inst: Mapping[str, Any]) -> CloudStore | None:
        groups = list(dict.fromkeys([g["GroupId"] for g in inst.get("SecurityGroups", [])]
                                    + [g["GroupId"] for n in inst.get("NetworkInterfaces", []) for g in n.get("Groups", [])]))
        admitted: dict[int, bool] = {}
        for gid in groups:
            for port, world in ingress_ports(ctx.network.groups.get(gid, {}), STORE_PORTS).items():
                admitted[port] = admitted.get(port, False) or world
        if not admitted:
            return None
        port = next((p for p, world in sorted(admitted.items()) if world), min(admitted))
        public_ip = inst.get("PublicIpAddress")
        iid = inst["InstanceId"]
        kind = STORE_PORTS[port]
        store = CloudStore(
            id=f"arn:aws:ec2:{ctx.region}:{ctx.account}:instance/{iid}", provider="aws", kind="ec2",
            name=_tags(inst.get("Tags")).get("Name") or iid, account=ctx.account, region=ctx.region,
            engine=kind, host=public_ip or inst.get("PrivateIpAddress"), port=port,
            scheme="http" if kind == "elasticsearch" else ("postgresql" if kind == "redshift" else kind),
            tags=_tags(inst.get("Tags")), auth_required=None,
            details={"instance_id": iid, "store_ports": sorted(admitted), "public_ip": public_ip,
                     "private_ip": inst.get("PrivateIpAddress"), "security_groups": groups},
        )
        store = replace(store, fixes={"public": _ingress_fix(store, groups), "ingress": _ingress_fix(store, groups)})
        subnet = [inst["SubnetId"]] if inst.get("SubnetId") else []
        decided = decide(store, ctx.network, groups, subnet, bool(public_ip), needs_flag=True)
        why = tuple(w.replace("PubliclyAccessible is", "public IP address:") for w in decided.why)
        return replace(decided, why=why)


SERVICES: tuple[type[Collector], ...] = (RdsInstances, RdsClusters, Redshift, ElastiCache, MemoryDB, OpenSearch, Ec2)


# ---- S3 (global list, per-bucket settings) --------------------------------------------------------------
def _collect_buckets(account: str, session: _Session, regions: list[str], options: InventoryOptions) -> Collection:
    """Every bucket of the account whose region was asked for (ListBuckets is global, settings per bucket)."""
    s3 = session.client("s3", _default_region(session.session))
    try:
        account_block = _account_block(session, account)
        names = [b["Name"] for b in _pages(s3, "list_buckets", "Buckets")]
    except (BotoCoreError, ClientError) as exc:
        return Collection(errors=(f"{account} s3: {_one_line(exc)}",))
    with ThreadPoolExecutor(max(1, options.calls_per_region * 2), "dataward-aws-s3") as pool:
        parts = list(pool.map(lambda n: _bucket_or_error(s3, account, n, account_block), names))
    wanted = set(regions)
    return Collection(stores=tuple(s for p in parts for s in p.stores if s.region in wanted),
                      errors=tuple(e for p in parts for e in p.errors))


def _bucket_or_error(s3: Any, account: str, name: str, account_block: Mapping[str, bool]) -> Collection:
    try:
        return Collection(stores=(_bucket(s3, account, name, account_block),))
    except (BotoCoreError, ClientError) as exc:
        return Collection(errors=(f"{account} s3 bucket {name}: {_one_line(exc)}",))


def _account_block(session: _Session, account: str) -> dict[str, bool]:
    client = session.client("s3control", _default_region(session.session))
    if "amazonaws.com" not in str(client.meta.endpoint_url):  # a local endpoint (AWS_ENDPOINT_URL): no host prefix
        client = session.client("s3control", _default_region(session.session),
                                RETRIES.merge(Config(inject_host_prefix=False)))
    try:
        answer = client.get_public_access_block(AccountId=account)
        return dict(answer.get("PublicAccessBlockConfiguration", {}))
    except ClientError:
        return {}
    except BotoCoreError:
        return {}


def _bucket(s3: Any, account: str, name: str, account_block: Mapping[str, bool]) -> CloudStore:
    region = s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
    region = "eu-west-1" if region == "EU" else region
    bucket_block = _get(s3, "get_public_access_block", name, "PublicAccessBlockConfiguration",
                        "NoSuchPublicAccessBlockConfiguration")
    policy = _get(s3, "get_bucket_policy", name, "Policy", "NoSuchBucketPolicy")
    acl = _get(s3, "get_bucket_acl", name, None)
    tags = _tags(_get(s3, "get_bucket_tagging", name, "TagSet", "NoSuchTagSet"))
    encryption = _get(s3, "get_bucket_encryption", name, "ServerSideEncryptionConfiguration",
                      "ServerSideEncryptionConfigurationNotFoundError")
    block = effective_block(bucket_block, account_block)
    reasons = bucket_public_reasons(policy, acl, block)
    why = reasons or [_block_sentence(block)]
    return CloudStore(
        id=f"arn:aws:s3:::{name}", provider="aws", kind="s3", name=name, account=account, region=region,
        engine="s3", scheme="s3", tags=tags, encrypted_at_rest=bool(encryption),
        tls_in_transit=denies_insecure_transport(policy), auth="none" if reasons else "iam",
        auth_required=not reasons, reachable_from_internet=bool(reasons), anonymous=bool(reasons),
        why=tuple(why), details={"block_public_access": block},
        fixes={
            "public": (f"Turn on S3 Block Public Access (aws s3api put-public-access-block --bucket {name} "
                       f"--public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,"
                       f"BlockPublicPolicy=true,RestrictPublicBuckets=true), then remove the Principal \"*\" "
                       f"statement from the bucket policy and AllUsers/AuthenticatedUsers grants from the ACL."),
            "tls": f"Add a bucket-policy statement that denies s3:* when aws:SecureTransport is false ({name}).",
            "encryption": f"Set default encryption (aws s3api put-bucket-encryption --bucket {name} ... SSE-KMS).",
        },
    )


def _get(s3: Any, operation: str, bucket: str, key: str | None, *missing: str) -> Any:
    try:
        answer = getattr(s3, operation)(Bucket=bucket)
    except ClientError as exc:
        if _missing(exc, *missing, "NoSuchBucket", "AccessDenied"):
            return None
        raise
    return answer if key is None else answer.get(key)


def _block_sentence(block: Mapping[str, bool]) -> str:
    on = [f for f, v in block.items() if v]
    if len(on) == len(block):
        return "Block Public Access is on (all four settings)"
    return "no public bucket policy or ACL grant" + (f"; Block Public Access: {', '.join(on)}" if on else "")
