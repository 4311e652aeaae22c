"""AWS scenarios in a moto server, for the cloud-inventory tests and bench.

``aws_environment(endpoint)`` is what points boto3 at moto (``AWS_ENDPOINT_URL`` and dummy credentials);
``build_scenario`` creates, in several regions, each exposed configuration next to its secure twin;
``populate`` creates many plain stores for the bench. Every name in a scenario is what the tests assert on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

ACCOUNT = "123456789012"  # moto's default account
OTHER_ACCOUNT = "111111111111"
AUDIT_ROLE = f"arn:aws:iam::{OTHER_ACCOUNT}:role/dataward-readonly"


def aws_environment(endpoint_url: str, region: str = "us-east-1") -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint_url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": region, "AWS_REGION": region, "AWS_EC2_METADATA_DISABLED": "true",
    }


@contextmanager
def pointed_at(endpoint_url: str) -> Iterator[None]:
    """The process environment pointed at a moto endpoint for the duration (profiles and real keys hidden)."""
    with pytest.MonkeyPatch.context() as mp:
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
            mp.delenv(key, raising=False)
        mp.setenv("AWS_CONFIG_FILE", "/dev/null")
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        for key, value in aws_environment(endpoint_url).items():
            mp.setenv(key, value)
        yield


@dataclass
class Vpc:
    """A VPC with one public subnet (routed to an internet gateway) and one private subnet per region."""

    id: str
    public_subnets: list[str]
    private_subnets: list[str]
    groups: dict[str, str] = field(default_factory=dict)  # name -> security group id


class Region:
    """Helpers that create resources in one region of one account of the moto server."""

    def __init__(self, session: boto3.Session, region: str) -> None:
        self.region = region
        self.session = session
        self._clients: dict[str, Any] = {}
        self.vpc = self._vpc()

    def client(self, service: str) -> Any:
        if service not in self._clients:  # making a client costs more than most calls to moto
            self._clients[service] = self.session.client(service, region_name=self.region)  # type: ignore[call-overload]
        return self._clients[service]

    def _vpc(self) -> Vpc:
        ec2 = self.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
        zones = sorted(z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"])[:2]
        public = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=z)["Subnet"]["SubnetId"]
                  for i, z in enumerate(zones)]
        private = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i + 10}.0/24", AvailabilityZone=z)["Subnet"]["SubnetId"]
                   for i, z in enumerate(zones)]
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
        for subnet in public:
            ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
        return Vpc(vpc, public, private)

    def group(self, name: str, port: int, cidr: str) -> str:
        """A security group admitting ``cidr`` (0.0.0.0/0 = the world, also ::/0) on ``port``."""
        ec2 = self.client("ec2")
        gid: str = ec2.create_security_group(GroupName=name, Description=name, VpcId=self.vpc.id)["GroupId"]
        perm: dict[str, Any] = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
                                "IpRanges": [{"CidrIp": cidr}]}
        if cidr == "0.0.0.0/0":
            perm["Ipv6Ranges"] = [{"CidrIpv6": "::/0"}]
        ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[perm])
        self.vpc.groups[name] = gid
        return gid

    def subnet_group(self, name: str, public: bool) -> str:
        self.client("rds").create_db_subnet_group(
            DBSubnetGroupName=name, DBSubnetGroupDescription=name,
            SubnetIds=self.vpc.public_subnets if public else self.vpc.private_subnets)
        return name

    def rds(self, name: str, *, public: bool, group: str, tags: Mapping[str, str], port: int = 5432,
            engine: str = "postgres", encrypted: bool = True, tls: bool = False) -> None:
        extra: dict[str, Any] = {}
        if tls:  # a custom parameter group with rds.force_ssl=1
            rds = self.client("rds")
            rds.create_db_parameter_group(DBParameterGroupName=f"{name}-tls", DBParameterGroupFamily="postgres16",
                                          Description="TLS required")
            rds.modify_db_parameter_group(DBParameterGroupName=f"{name}-tls", Parameters=[
                {"ParameterName": "rds.force_ssl", "ParameterValue": "1", "ApplyMethod": "pending-reboot"}])
            extra["DBParameterGroupName"] = f"{name}-tls"
        self.client("rds").create_db_instance(
            DBInstanceIdentifier=name, Engine=engine, DBInstanceClass="db.t3.micro", MasterUsername="app",
            MasterUserPassword="not-a-real-pw-1", PubliclyAccessible=public, VpcSecurityGroupIds=[group],
            DBSubnetGroupName=self.subnet_group(f"{name}-subnets", public), Port=port, StorageEncrypted=encrypted,
            Tags=_tags(tags), **extra)

    def bucket(self, name: str, *, public: bool, tags: Mapping[str, str]) -> None:
        s3 = self.client("s3")
        if self.region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region})
        if tags:
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": _tags(tags)})
        if public:
            policy = {"Version": "2012-10-17", "Statement": [{
                "Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{name}/*"}]}
            s3.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
        else:
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
                "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True})
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]})
            tls_only = {"Version": "2012-10-17", "Statement": [{
                "Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
            s3.put_bucket_policy(Bucket=name, Policy=json.dumps(tls_only))

    def opensearch(self, name: str, *, public_policy: bool, account: str, tags: Mapping[str, str]) -> None:
        principal: Any = "*" if public_policy else {"AWS": f"arn:aws:iam::{account}:root"}
        policy = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": principal, "Action": "es:*",
            "Resource": f"arn:aws:es:{self.region}:{account}:domain/{name}/*"}]}
        secure = not public_policy
        client = self.client("opensearch")
        answer = client.create_domain(
            DomainName=name, EngineVersion="OpenSearch_2.11", AccessPolicies=json.dumps(policy),
            EncryptionAtRestOptions={"Enabled": secure}, NodeToNodeEncryptionOptions={"Enabled": secure},
            DomainEndpointOptions={"EnforceHTTPS": secure},
            TagList=_tags(tags))
        del answer

    def elasticache(self, name: str, *, auth: bool, group: str, tags: Mapping[str, str], port: int = 6379) -> None:
        kwargs: dict[str, Any] = {"AuthToken": "not-a-real-token-0123456789"} if auth else {}
        self.client("elasticache").create_cache_cluster(
            CacheClusterId=name, Engine="redis", CacheNodeType="cache.t3.micro", NumCacheNodes=1, Port=port,
            SecurityGroupIds=[group], TransitEncryptionEnabled=auth, Tags=_tags(tags), **kwargs)

    def memorydb(self, name: str, *, auth: bool, group: str, tags: Mapping[str, str]) -> None:
        self.client("memorydb").create_cluster(
            ClusterName=name, NodeType="db.t4g.small", ACLName="app-users" if auth else "open-access",
            TLSEnabled=auth, SecurityGroupIds=[group], Tags=_tags(tags))

    def ec2(self, name: str, *, group: str, public: bool, tags: Mapping[str, str]) -> str:
        subnet = self.vpc.public_subnets[0] if public else self.vpc.private_subnets[0]
        kwargs: dict[str, Any] = {}
        if public:
            kwargs["NetworkInterfaces"] = [{"DeviceIndex": 0, "SubnetId": subnet, "Groups": [group],
                                            "AssociatePublicIpAddress": True}]
        else:
            kwargs.update(SubnetId=subnet, SecurityGroupIds=[group])
        answer = self.client("ec2").run_instances(
            ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t3.medium",
            TagSpecifications=[{"ResourceType": "instance", "Tags": _tags({"Name": name, **tags})}], **kwargs)
        return str(answer["Instances"][0]["InstanceId"])


def _tags(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


OWNED = {"owner": "data-team@example.com", "environment": "production", "data-classification": "pii"}


@dataclass
class Scenario:
    """What ``build_scenario`` made: exposed name -> its secure twin, and the regions used."""

    pairs: dict[str, str]
    regions: tuple[str, ...]
    other_account_store: str


def session(account_role: str | None = None) -> boto3.Session:
    base = boto3.Session()
    if account_role is None:
        return base
    creds = base.client("sts").assume_role(RoleArn=account_role, RoleSessionName="scenario")["Credentials"]
    return boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"])


def build_scenario() -> Scenario:
    """Each exposed configuration next to its secure twin, in three regions and two accounts (the process
    environment must point at moto: ``pointed_at``)."""
    main = session()
    eu = Region(main, "eu-west-1")
    eu.rds("orders-public", public=True, group=eu.group("pg-world", 5432, "0.0.0.0/0"), tags=OWNED)
    eu.rds("orders-private", public=False, group=eu.group("pg-vpc", 5432, "10.20.0.0/16"), tags=OWNED, tls=True)
    eu.bucket("exports-public", public=True, tags={"owner": "bi@example.com", "data-classification": "pii"})
    eu.bucket("exports-private", public=False, tags=OWNED)
    eu.ec2("search-vm-public", group=eu.group("es-world", 9200, "0.0.0.0/0"), public=True, tags={})
    eu.ec2("search-vm-private", group=eu.group("es-vpc", 9200, "10.20.0.0/16"), public=False, tags=OWNED)
    us = Region(main, "us-east-1")
    us.opensearch("logs-open", public_policy=True, account=ACCOUNT, tags={"owner": "sre@example.com"})
    us.opensearch("logs-locked", public_policy=False, account=ACCOUNT, tags=OWNED)
    us.elasticache("sessions-open", auth=False, group=us.group("redis-world", 6379, "0.0.0.0/0"),
                   tags={"owner": "web@example.com"})
    us.elasticache("sessions-auth", auth=True, group=us.group("redis-vpc", 6379, "10.20.0.0/16"), tags=OWNED)
    ap = Region(main, "ap-southeast-2")
    ap.memorydb("cache-open", auth=False, group=ap.group("mdb-world", 6379, "0.0.0.0/0"), tags={})
    ap.memorydb("cache-auth", auth=True, group=ap.group("mdb-vpc", 6379, "10.20.0.0/16"), tags=OWNED)
    other = Region(session(AUDIT_ROLE), "eu-central-1")
    other.rds("legacy-public", public=True, group=other.group("my-world", 3306, "0.0.0.0/0"),
              tags={"environment": "dev"}, port=3306, engine="mysql", encrypted=False)
    return Scenario(
        pairs={"orders-public": "orders-private", "exports-public": "exports-private",
               "search-vm-public": "search-vm-private", "logs-open": "logs-locked",
               "sessions-open": "sessions-auth", "cache-open": "cache-auth"},
        regions=("eu-west-1", "us-east-1", "ap-southeast-2"),
        other_account_store="legacy-public",
    )


def populate(regions: list[str], per_region: int) -> int:
    """``per_region`` stores in each region (RDS instances, buckets, cache clusters, domains, VMs, in turn),
    half of them exposed; returns how many were made (bench/inventory.py)."""
    made = 0
    main = session()
    for region in regions:
        r = Region(main, region)
        world = r.group("world", 5432, "0.0.0.0/0")
        vpc_only = r.group("vpc", 5432, "10.20.0.0/16")
        for i in range(per_region):
            exposed = i % 2 == 0
            name = f"s{i:04d}-{region}"
            group = world if exposed else vpc_only
            kind = i % 5
            if kind == 0:
                r.rds(name, public=exposed, group=group, tags=OWNED)
            elif kind == 1:
                r.bucket(name, public=exposed, tags=OWNED)
            elif kind == 2:
                r.elasticache(name, auth=not exposed, group=group, tags=OWNED)
            elif kind == 3:
                r.opensearch(name[:28], public_policy=exposed, account=ACCOUNT, tags=OWNED)
            else:
                r.ec2(name, group=group, public=exposed, tags=OWNED)
            made += 1
    return made
