"""Cloud inventory without a cloud: reachability from hand-made AWS API answers, rules, reconciliation, draft policy.

These cover what moto cannot show (ElastiCache security groups, DocumentDB) and the edge cases of policies,
routes and Block Public Access, as tables of cases.
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from typing import Any

import pytest

from dataward.findings import Severity
from dataward.inventory.base import CloudStore
from dataward.inventory.probe import fold
from dataward.inventory.providers import _aws_reach as reach
from dataward.inventory.providers.aws import ElastiCache, RdsClusters, Region
from dataward.inventory.reconcile import draft_policy, endpoint_key, guess_role, reconcile, region_allowed
from dataward.inventory.rules import evaluate_store, finding
from dataward.policy.load import parse_policy
from dataward.targets import parse_target

WORLD = {"IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6379, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
VPC_ONLY = {"IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6379, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}
SUBNETS = [{"SubnetId": "subnet-pub", "VpcId": "vpc-1"}, {"SubnetId": "subnet-priv", "VpcId": "vpc-1"},
           {"SubnetId": "subnet-other", "VpcId": "vpc-2"}]
ROUTES = [
    {"VpcId": "vpc-1", "Associations": [{"SubnetId": "subnet-pub"}],
     "Routes": [{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1"}]},
    {"VpcId": "vpc-1", "Associations": [{"Main": True}], "Routes": [{"DestinationCidrBlock": "10.0.0.0/16",
                                                                      "GatewayId": "local"}]},
    {"VpcId": "vpc-2", "Associations": [{"Main": True}], "Routes": [{"DestinationIpv6CidrBlock": "::/0",
                                                                      "GatewayId": "igw-2"}]},
]


def network(*groups: dict[str, Any]) -> reach.Network:
    return reach.Network.from_api(list(groups), SUBNETS, ROUTES)


def test_public_subnets_follow_explicit_then_main_route_tables() -> None:
    assert reach.public_subnets({s["SubnetId"]: s["VpcId"] for s in SUBNETS}, ROUTES) == {"subnet-pub", "subnet-other"}


@pytest.mark.parametrize("perm, port, covered", [
    ({"IpProtocol": "-1"}, 5432, True),
    ({"IpProtocol": "tcp", "FromPort": 5000, "ToPort": 6000}, 5432, True),
    ({"IpProtocol": "tcp", "FromPort": 3306, "ToPort": 3306}, 5432, False),
    ({"IpProtocol": "udp", "FromPort": 0, "ToPort": 65535}, 5432, False),
])
def test_covers_port(perm: dict[str, Any], port: int, covered: bool) -> None:
    assert reach.covers_port(perm, port) is covered


PUBLIC = {"Effect": "Allow", "Principal": "*", "Action": "es:*", "Resource": "*"}


@pytest.mark.parametrize("statement, public", [
    (PUBLIC, True),
    ({**PUBLIC, "Principal": {"AWS": "*"}}, True),
    ({**PUBLIC, "Principal": {"AWS": ["arn:aws:iam::123456789012:root", "*"]}}, True),
    ({**PUBLIC, "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}, False),
    ({**PUBLIC, "Effect": "Deny"}, False),
    ({**PUBLIC, "Condition": {"IpAddress": {"aws:SourceIp": ["0.0.0.0/0"]}}}, True),
    ({**PUBLIC, "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}, False),
    ({**PUBLIC, "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}}, False),
    ({**PUBLIC, "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}}, False),
    ({**PUBLIC, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}, True),  # TLS does not limit who
])
def test_public_statements(statement: dict[str, Any], public: bool) -> None:
    assert bool(reach.public_statements({"Statement": [statement]})) is public


ON = dict.fromkeys(reach.BLOCK_FLAGS, True)
OFF = dict.fromkeys(reach.BLOCK_FLAGS, False)
PUBLIC_POLICY = '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]}'
PUBLIC_ACL = {"Grants": [{"Grantee": {"Type": "Group", "URI": reach.ALL_USERS}, "Permission": "READ"}]}


@pytest.mark.parametrize("policy, acl, bucket_block, account_block, public", [
    (PUBLIC_POLICY, None, None, None, True),
    (PUBLIC_POLICY, None, ON, None, False),
    (PUBLIC_POLICY, None, None, ON, False),                                   # the account's block wins
    (PUBLIC_POLICY, None, {**OFF, "BlockPublicPolicy": True}, None, True),    # only stops new policies
    (None, PUBLIC_ACL, None, None, True),
    (None, PUBLIC_ACL, {**OFF, "IgnorePublicAcls": True}, None, False),
    (None, None, None, None, False),
])
def test_bucket_public_after_block_public_access(
    policy: str | None, acl: dict[str, Any] | None, bucket_block: dict[str, bool] | None,
    account_block: dict[str, bool] | None, public: bool,
) -> None:
    block = reach.effective_block(bucket_block, account_block)
    assert bool(reach.bucket_public_reasons(policy, acl, block)) is public


def region(net: reach.Network) -> Region:
    class Tags:
        def list_tags_for_resource(self, **_: Any) -> dict[str, Any]:
            return {"TagList": [{"Key": "owner", "Value": "web@example.com"}]}

    return Region("123456789012", "us-east-1", net, lambda _service: Tags())


def cache_cluster(auth: bool, group: str) -> dict[str, Any]:
    return {"CacheClusterId": "sessions", "Engine": "redis", "EngineVersion": "7.1", "AuthTokenEnabled": auth,
            "TransitEncryptionEnabled": auth, "AtRestEncryptionEnabled": True, "CacheSubnetGroupName": "pub",
            "SecurityGroups": [{"SecurityGroupId": group}],
            "CacheNodes": [{"Endpoint": {"Address": "sessions.abc.cache.amazonaws.com", "Port": 6379}}],
            "ARN": "arn:aws:elasticache:us-east-1:123456789012:cluster:sessions"}


@pytest.mark.parametrize("auth, rule, severity", [
    (False, "aws.elasticache.public", Severity.HIGH),   # public subnet + 0.0.0.0/0 + no AUTH: anyone reads it
    (True, "aws.elasticache.public", Severity.MEDIUM),  # AUTH + TLS: reachable, credentials still required
])
def test_elasticache_in_an_open_group_from_api_answers(auth: bool, rule: str, severity: Severity) -> None:
    net = network({"GroupId": "sg-open", "IpPermissions": [WORLD]})
    item = cache_cluster(auth, "sg-open")
    store = ElastiCache()._store(region(net), region(net).client("elasticache"), item, [item],
                                 {"pub": ["subnet-pub"]}, group=False)
    assert store.reachable_from_internet and store.anonymous is (not auth)
    assert {f.rule: f.severity for f in evaluate_store(store)}[rule] == severity


def test_elasticache_with_auth_in_a_vpc_group_has_nothing_at_or_above_medium() -> None:
    net = network({"GroupId": "sg-vpc", "IpPermissions": [VPC_ONLY]})
    item = cache_cluster(True, "sg-vpc")
    store = ElastiCache()._store(region(net), region(net).client("elasticache"), item, [item],
                                 {"pub": ["subnet-priv"]}, group=False)
    assert not store.reachable_from_internet
    assert [f.rule for f in evaluate_store(store) if f.severity >= Severity.MEDIUM] == []


def test_documentdb_cluster_public_through_a_member_instance() -> None:
    net = network({"GroupId": "sg-docdb", "IpPermissions": [{**WORLD, "FromPort": 27017, "ToPort": 27017}]})
    cluster = {"DBClusterIdentifier": "catalog", "Engine": "docdb", "EngineVersion": "5.0.0", "Port": 27017,
               "Endpoint": "catalog.cluster-abc.us-east-1.docdb.amazonaws.com", "StorageEncrypted": False,
               "DBSubnetGroup": "pub", "VpcSecurityGroups": [{"VpcSecurityGroupId": "sg-docdb"}],
               "DBClusterMembers": [{"DBInstanceIdentifier": "catalog-1"}],
               "DBClusterArn": "arn:aws:rds:us-east-1:123456789012:cluster:catalog"}
    members = {"catalog-1": {"DBInstanceIdentifier": "catalog-1", "PubliclyAccessible": True}}
    store = RdsClusters()._store(region(net), cluster, members, {"pub": {"Subnets": [{"SubnetIdentifier": "subnet-pub"}]}})
    assert (store.kind, store.scheme, store.reachable_from_internet) == ("docdb", "mongodb", True)
    rules = {f.rule: f.severity for f in evaluate_store(store)}
    assert rules["aws.docdb.public"] == Severity.MEDIUM and rules["aws.docdb.unencrypted"] == Severity.LOW
    assert "aws docdb modify-db-instance" in store.fixes["public"]


# ---- rules, probe folding, reconciliation ------------------------------------------------------------
def cloud(name: str, **kw: Any) -> CloudStore:
    base: dict[str, Any] = dict(id=f"arn:aws:rds:eu-west-1:123456789012:db:{name}", provider="aws", kind="rds",
                                name=name, account="123456789012", region="eu-west-1", engine="postgres",
                                host=f"{name}.abc.eu-west-1.rds.amazonaws.com", port=5432, scheme="postgresql",
                                tags={"owner": "a@example.com"}, auth_required=True)
    base.update(kw)
    return CloudStore(**base)


@pytest.mark.parametrize("facts, severity", [
    (dict(reachable_from_internet=True), Severity.MEDIUM),
    (dict(reachable_from_internet=True, anonymous=True, auth_required=False), Severity.HIGH),
    (dict(reachable_from_internet=True, anonymous=True, auth_required=False,
          tags={"owner": "a", "data-classification": "PII"}), Severity.CRITICAL),
])
def test_public_severity(facts: dict[str, Any], severity: Severity) -> None:
    assert {f.rule: f.severity for f in evaluate_store(cloud("db", **facts))}["aws.rds.public"] == severity


@pytest.mark.parametrize("tags, flagged", [({}, True), ({"Team": "data"}, False), ({"owner": "a@example.com"}, False)])
def test_no_owner_tag(tags: dict[str, str], flagged: bool) -> None:
    rules = {f.rule: f.severity for f in evaluate_store(cloud("db", tags=tags))}
    assert rules.get("aws.rds.no-owner") == (Severity.INFO if flagged else None)


def test_probe_folds_into_one_critical_finding() -> None:
    store = cloud("orders", reachable_from_internet=True)
    cloud_findings = evaluate_store(store)
    probe = [finding(store, "x", Severity.CRITICAL, "t", "e", "Require passwords.", ["email"])]
    probe = [p.model_copy(update={"rule": "postgresql.no-auth"}) for p in probe]
    folded = fold(cloud_findings, probe, [store])
    public = [f for f in folded if f.rule == "aws.rds.public"]
    assert len(public) == 1 and public[0].severity == Severity.CRITICAL and public[0].categories == ["email"]
    assert "postgresql.no-auth" in public[0].evidence
    assert not [f for f in folded if f.rule == "postgresql.no-auth"]


POLICY = """
[[store]]
name = "orders"
url = "postgresql://app:secret@ORDERS.abc.eu-west-1.rds.amazonaws.com/app"
role = "production"

[[store]]
name = "deleted-db"
url = "postgresql://deleted.abc.eu-west-1.rds.amazonaws.com:5432/app"

[[store]]
name = "on-prem"
url = "postgresql://db.internal:5432/app"

[residency]
allowed_regions = ["eu"]
"""


def test_reconcile_by_endpoint_unlisted_gone_and_residency() -> None:
    policy = parse_policy(POLICY, source="dataward.toml")
    stores = [cloud("orders"), cloud("shadow-copy", reachable_from_internet=True),
              cloud("us-copy", region="us-east-1", host="us-copy.abc.us-east-1.rds.amazonaws.com")]
    out, findings = reconcile(stores, policy, ["eu-west-1", "us-east-1"])
    assert {s.name: s.listed_as for s in out} == {"orders": "orders", "shadow-copy": None, "us-copy": None}
    got = {(f.rule, f.store_name): f.severity for f in findings}
    assert got == {
        ("policy.unlisted-store", "shadow-copy"): Severity.MEDIUM,
        ("policy.unlisted-store", "us-copy"): Severity.LOW,
        ("policy.region-not-allowed", "us-copy"): Severity.MEDIUM,
        ("policy.store-not-found", "deleted-db"): Severity.LOW,  # on-prem is not the cloud's business
    }


def test_an_ec2_store_is_listed_by_its_private_address_too() -> None:
    vm = cloud("search-vm", kind="ec2", host="54.1.2.3", port=9200, scheme="http",
               details={"private_ip": "10.20.0.7"})
    policy = parse_policy('[[store]]\nname = "search"\nurl = "http://10.20.0.7:9200?kind=elasticsearch"\n')
    out, findings = reconcile([vm], policy, ["eu-west-1"])
    assert out[0].listed_as == "search" and findings == []


@pytest.mark.parametrize("url, key", [
    ("postgresql://u:p@DB.example.com/app", "db.example.com:5432"),
    ("redis://cache.example.com:6380/0", "cache.example.com:6380"),
    ("s3://Exports?region=eu-west-1", "s3://exports"),
    ("https://search.example.com?kind=elasticsearch", "search.example.com:443"),
])
def test_endpoint_identity(url: str, key: str) -> None:
    assert endpoint_key(parse_target(url)) == key


@pytest.mark.parametrize("region, allowed, ok", [
    ("eu-west-1", ["eu"], True), ("eu-west-1", ["eu-west-1"], True), ("eu-west-2", ["eu-west-1"], False),
    ("us-east-1", ["eu", "ca"], False), ("EU-WEST-1", ["eu"], True),
])
def test_region_allowed(region: str, allowed: list[str], ok: bool) -> None:
    assert region_allowed(region, allowed) is ok


@pytest.mark.parametrize("tags, role", [
    ({"environment": "prod"}, "production"), ({"Env": "staging"}, "dev"), ({"stage": "analytics-eu"}, "analytics"),
    ({"role": "backup"}, "backup"), ({"team": "web"}, None),
])
def test_guess_role(tags: dict[str, str], role: str | None) -> None:
    assert guess_role(cloud("x", tags=tags)) == role


def test_draft_policy_loads_and_keeps_credentials_out(monkeypatch: pytest.MonkeyPatch) -> None:
    stores = [cloud("orders", tags={"owner": "data@example.com", "environment": "production"}),
              replace(cloud("exports"), kind="s3", id="arn:aws:s3:::exports", host=None, port=None, scheme="s3")]
    text = draft_policy(stores)
    data = tomllib.loads(text)
    orders = next(s for s in data["store"] if s["name"] == "orders")
    assert orders["url"] == {"env": "DATAWARD_ORDERS_URL",
                             "default": "postgresql://orders.abc.eu-west-1.rds.amazonaws.com:5432"}
    assert (orders["role"], orders["owner"], orders["region"]) == ("production", "data@example.com", "eu-west-1")
    monkeypatch.delenv("DATAWARD_ORDERS_URL", raising=False)
    policy = parse_policy(text, source="draft.toml")
    assert {t.name: t.url for t in policy.targets()}["exports"] == "s3://exports?region=eu-west-1"
    _, findings = reconcile(stores, policy, ["eu-west-1"])
    assert findings == []
    monkeypatch.setenv("DATAWARD_ORDERS_URL", "postgresql://app:pw@orders.abc.eu-west-1.rds.amazonaws.com/app")
    _, findings = reconcile(stores, parse_policy(text, source="draft.toml"), ["eu-west-1"])
    assert findings == []  # the same store, with or without credentials


def test_a_discovered_endpoint_and_the_policy_store_are_one_store() -> None:
    """Discovery finds ``postgresql://host:port``; the policy lists it with credentials and a database: one scan."""
    from dataward.localservers.ports import free_port
    from dataward.scan import scan

    port = free_port()  # nothing listens: both are unreachable, quickly
    policy = parse_policy(f'[[store]]\nname = "orders"\nurl = "postgresql://app:pw@127.0.0.1:{port}/app"\n')
    discovered = parse_target(f"postgresql://127.0.0.1:{port}")
    other_db = parse_target(f"postgresql://127.0.0.1:{port}/reports")  # another database: another store
    report = scan([*policy.targets(), discovered, other_db], policy, sample_contents=False)
    assert sorted(t.target for t in report.targets) == [f"postgresql://127.0.0.1:{port}/reports",
                                                         f"postgresql://app:***@127.0.0.1:{port}/app"]


def test_every_provider_cloud_rule_and_kind_is_documented() -> None:
    from pathlib import Path

    from dataward.inventory.base import PROVIDERS
    from dataward.inventory.rules import CLOUD_RULES

    doc = (Path(__file__).resolve().parent.parent / "docs" / "inventory.md").read_text()
    assert not [p for p in PROVIDERS.names() if f"dataward inventory {p}" not in doc]
    assert not [r.suffix for r in CLOUD_RULES if f"`aws.<kind>.{r.suffix}`" not in doc]
    kinds = ("rds", "aurora", "docdb", "redshift", "elasticache", "memorydb", "opensearch", "s3", "ec2")
    assert not [k for k in kinds if f"`{k}`" not in doc]


def test_a_denied_api_is_an_error_line_not_the_end_of_the_inventory() -> None:
    from botocore.exceptions import ClientError

    from dataward.inventory.providers.aws import MemoryDB, _run_collector

    class Denied:
        def can_paginate(self, _op: str) -> bool:
            return True

        def get_paginator(self, op: str) -> Any:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, op)

    part = _run_collector(MemoryDB(), Region("123456789012", "eu-west-1", network(), lambda _s: Denied()))
    assert part.stores == ()
    assert part.errors == ("123456789012 eu-west-1 memorydb: An error occurred (AccessDeniedException) when "
                           "calling the describe_clusters operation: not allowed",)
