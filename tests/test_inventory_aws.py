"""``dataward inventory aws`` against moto in server mode (real HTTP; boto3 pointed at it by AWS_ENDPOINT_URL).

One scenario per module (dataward.testing.aws.build_scenario): each exposed configuration next to its secure
twin, in three regions of one account plus a second account reached with --assume-role. moto's gaps
(no DocumentDB engine; ElastiCache security groups not returned) are tried against moto at the end and
skipped with the reason while moto lacks them; tests/test_inventory_rules.py covers them from API answers.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from dataward.cli import cli
from dataward.findings import Severity
from dataward.inventory import Inventory, InventoryOptions, inventory
from dataward.inventory.base import PROVIDERS, CloudStore
from dataward.inventory.render import render
from dataward.testing.aws import AUDIT_ROLE, OTHER_ACCOUNT, Scenario, build_scenario, pointed_at
from dataward.testing.servers import S3Server

READ_ONLY_PREFIXES = ("Describe", "List", "Get")


@pytest.fixture(scope="module")
def scenario(moto_server: S3Server) -> Iterator[Scenario]:
    with pointed_at(moto_server.endpoint_url):
        yield build_scenario()


@pytest.fixture(scope="module")
def calls() -> list[tuple[str, str]]:
    return []


@pytest.fixture(scope="module")
def found(scenario: Scenario, calls: list[tuple[str, str]]) -> Inventory:
    """The account read as ``--regions all`` does (regions=None: every region DescribeRegions enables)."""
    options = InventoryOptions(regions=None, on_call=lambda service, op: calls.append((service, op)))
    return inventory("aws", options)


def store(inv: Inventory, name: str) -> CloudStore:
    return next(s for s in inv.stores if s.name == name)


def rules_of(inv: Inventory, name: str) -> dict[str, Severity]:
    return {f.rule: f.severity for f in inv.findings if f.store_name == name}


def test_aws_is_a_registered_provider() -> None:
    assert "aws" in PROVIDERS.names()


def test_every_store_of_the_scenario_is_found_with_its_facts(found: Inventory, scenario: Scenario) -> None:
    names = {s.name for s in found.stores}
    assert set(scenario.pairs) | set(scenario.pairs.values()) <= names
    assert scenario.other_account_store not in names  # another account: only with --assume-role
    rds = store(found, "orders-public")
    assert (rds.kind, rds.region, rds.account, rds.engine, rds.port) == ("rds", "eu-west-1", "123456789012",
                                                                           "postgres", 5432)
    assert rds.id == "arn:aws:rds:eu-west-1:123456789012:db:orders-public"
    assert rds.owner == "data-team@example.com" and rds.classification == "pii"
    assert rds.encrypted_at_rest is True and rds.auth_required is True
    assert rds.tls_in_transit is False  # default parameter group of PostgreSQL 9.3: rds.force_ssl is off
    assert store(found, "orders-private").tls_in_transit is True  # its own group sets rds.force_ssl=1
    assert store(found, "logs-locked").encrypted_at_rest is True
    assert store(found, "sessions-auth").tls_in_transit is True
    assert store(found, "sessions-open").auth == "none"


@pytest.mark.parametrize("name, rule, severity", [
    ("orders-public", "aws.rds.public", Severity.MEDIUM),        # public flag + igw route + 5432 open to the world
    ("orders-public", "aws.rds.no-tls", Severity.MEDIUM),        # reachable, and rds.force_ssl is off
    ("exports-public", "aws.s3.public", Severity.CRITICAL),      # Principal "*" policy; tagged pii
    ("logs-open", "aws.opensearch.public", Severity.HIGH),       # access policy allows "*", no fine-grained control
    ("search-vm-public", "aws.ec2.public", Severity.MEDIUM),     # public IP, 9200 open to the world
    ("sessions-open", "aws.elasticache.no-auth", Severity.LOW),  # moto hides security groups: see the unit test
    ("cache-open", "aws.memorydb.no-auth", Severity.LOW),        # open-access ACL, private subnets
    ("cache-open", "aws.memorydb.open-ingress", Severity.LOW),
])
def test_exposed_configuration_is_found_with_rule_and_severity(
    found: Inventory, name: str, rule: str, severity: Severity
) -> None:
    assert rules_of(found, name).get(rule) == severity


@pytest.mark.parametrize("exposed", ["orders-public", "exports-public", "logs-open", "search-vm-public",
                                     "sessions-open", "cache-open"])
def test_secure_twin_has_nothing_at_or_above_medium(found: Inventory, scenario: Scenario, exposed: str) -> None:
    twin = scenario.pairs[exposed]
    assert store(found, twin).reachable_from_internet is False
    assert {r: s for r, s in rules_of(found, twin).items() if s >= Severity.MEDIUM} == {}


def test_reachability_says_why(found: Inventory) -> None:
    public = store(found, "orders-public")
    assert public.reachable_from_internet and not public.anonymous
    assert "PubliclyAccessible is true" in public.why
    assert "in a subnet routed to an internet gateway" in public.why
    assert any("0.0.0.0/0 on port 5432" in w for w in public.why) and any("::/0" in w for w in public.why)
    private = store(found, "orders-private")
    assert "in private subnets only" in private.why
    assert store(found, "exports-private").why == ("Block Public Access is on (all four settings)",)
    assert store(found, "logs-open").anonymous is True


def test_remediation_names_the_exact_setting(found: Inventory) -> None:
    by_rule = {f.rule: f for f in found.findings}
    assert "--no-publicly-accessible" in by_rule["aws.rds.public"].remediation
    assert "revoke-security-group-ingress" in by_rule["aws.rds.public"].remediation
    assert "RestrictPublicBuckets=true" in by_rule["aws.s3.public"].remediation
    assert "AdvancedSecurityOptions.Enabled=true" in by_rule["aws.opensearch.public"].remediation
    assert "--auth-token" in by_rule["aws.elasticache.no-auth"].remediation
    assert "rds.force_ssl=1" in by_rule["aws.rds.no-tls"].remediation


def test_only_read_calls_are_made(found: Inventory, calls: list[tuple[str, str]]) -> None:
    assert calls, "the on_call hook saw no API call"
    writes = sorted({f"{s}:{op}" for s, op in calls if not op.startswith(READ_ONLY_PREFIXES)})
    assert writes == []


# API calls whose IAM action is not "<service>:<operation>" (IAM's names for S3 and OpenSearch differ).
IAM_ACTIONS = {("s3", "ListBuckets"): "s3:ListAllMyBuckets", ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
               ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
               ("s3control", "GetPublicAccessBlock"): "s3:GetAccountPublicAccessBlock"}


def test_the_documented_iam_policy_allows_every_call_made(found: Inventory, calls: list[tuple[str, str]]) -> None:
    """docs/inventory.md's minimal IAM policy (the JSON a user pastes) names every action the inventory used."""
    doc = (Path(__file__).resolve().parent.parent / "docs" / "inventory.md").read_text()
    block = doc.split("## Minimal IAM policy", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    allowed = set(json.loads(block)["Statement"][0]["Action"])
    used = {IAM_ACTIONS.get((s, op), f"{'es' if s == 'opensearch' else s}:{op}") for s, op in calls}
    assert "ec2:DescribeRegions" in used  # found reads --regions all
    assert sorted(used - allowed) == []


def test_json_output_is_the_inventory_schema(found: Inventory) -> None:
    data = json.loads(json.dumps(found.to_json()))
    assert data["schema"] == "dataward.inventory/v1"
    entry = next(s for s in data["stores"] if s["name"] == "orders-public")
    assert {"id", "kind", "account", "region", "endpoint", "reachable_from_internet", "why"} <= set(entry)
    assert entry["endpoint"].endswith(".eu-west-1.rds.amazonaws.com:5432")
    assert all(f["rule"].startswith("aws.") and f["object"].startswith("arn:aws:") for f in data["findings"])
    assert all(f["schema"] == "dataward.finding/v1" for f in data["findings"])


def test_assume_role_reads_the_other_account(scenario: Scenario) -> None:
    calls: list[str] = []
    options = InventoryOptions(regions=("eu-central-1",), assume_roles=(AUDIT_ROLE,),
                               on_call=lambda _s, op: calls.append(op))
    inv = inventory("aws", options)
    legacy = store(inv, scenario.other_account_store)
    assert legacy.account == OTHER_ACCOUNT and legacy.engine == "mysql"
    assert rules_of(inv, "legacy-public")["aws.rds.public"] == Severity.MEDIUM
    assert rules_of(inv, "legacy-public")["aws.rds.unencrypted"] == Severity.LOW
    assert set(calls) - {"AssumeRole"} <= {op for op in calls if op.startswith(READ_ONLY_PREFIXES)}


# ---- the command line ---------------------------------------------------------------------------------
def run_cli(*args: str) -> Any:
    return CliRunner().invoke(cli, ["inventory", "aws", *args])


def test_cli_json_and_exit_code(scenario: Scenario, tmp_path: Path) -> None:
    result = run_cli("--regions", "ap-southeast-2", "--format", "json")
    assert result.exit_code == 0, result.output  # memorydb: low findings only (default --fail-on high)
    data = json.loads(result.stdout)
    assert {s["region"] for s in data["stores"]} == {"ap-southeast-2"}
    out = tmp_path / "inventory.sarif"
    strict = run_cli("--regions", "ap-southeast-2", "--fail-on", "low", "--format", "sarif", "-o", str(out))
    assert strict.exit_code == 1, strict.output
    assert json.loads(out.read_text())["version"] == "2.1.0"


def test_sarif_describes_each_cloud_rule_from_its_class(found: Inventory) -> None:
    """Each aws.* rule in the SARIF log carries the facts of its rule class: short and full description, help
    with the remediation, and a helpUri whose anchor exists in docs/inventory.md; the log fits SARIF 2.1.0."""
    import jsonschema
    from _sarif_check import sarif_problems

    from dataward.inventory.rules import CLOUD_RULES

    log = json.loads(render(found, "sarif"))
    assert sarif_problems(log) == []
    descriptors = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"] if r["id"].startswith("aws.")}
    assert set(descriptors) == {f.rule for f in found.findings if f.rule.startswith("aws.")}
    assert {rid.rsplit(".", 1)[1] for rid in descriptors} == set(CLOUD_RULES.names())  # the scenario fires each
    text = {"type": "object", "required": ["text"], "properties": {"text": {"type": "string", "minLength": 20}}}
    schema = {"type": "object", "required": ["id", "shortDescription", "fullDescription", "help", "helpUri"],
              "properties": {"shortDescription": text, "fullDescription": text, "help": text,
                             "helpUri": {"type": "string", "format": "uri", "pattern": "^https://.*#rule-"}}}
    doc = (Path(__file__).resolve().parent.parent / "docs" / "inventory.md").read_text()
    for rule_id, descriptor in descriptors.items():
        jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(descriptor)
        rule = CLOUD_RULES.get(rule_id.rsplit(".", 1)[1])
        assert descriptor["shortDescription"]["text"] == rule.summary
        assert descriptor["fullDescription"]["text"].startswith(rule.description)
        assert rule.remediation in descriptor["help"]["text"]
        assert descriptor["helpUri"] == rule.help_uri()
        assert f'<a id="{rule.anchor()}"></a>' in doc


@pytest.mark.parametrize("fmt", ["sarif", "ocsf", "toml", "table", "json"])
def test_every_format_renders_the_findings(found: Inventory, fmt: str) -> None:
    text = render(found, fmt)
    assert "aws.s3.public" in text
    if fmt == "toml":
        assert tomllib.loads(text)["schema"] == "dataward.inventory/v1"


@pytest.mark.parametrize("regions, sentence", [
    ("eu-west-1,moon", "error: --regions item 'moon' is not an AWS region name.\n"),
    ("eu-wset-1", "error: --regions item 'eu-wset-1' is not an AWS region name. Did you mean 'eu-west-1'?\n"),
    ("us-east-1,eu-centrl-1", "error: --regions item 'eu-centrl-1' is not an AWS region name. Did you mean 'eu-central-1'?"),
])
def test_cli_bad_region_is_one_sentence_with_a_suggestion(regions: str, sentence: str) -> None:
    result = run_cli("--regions", regions)  # refused before any AWS call: no moto needed
    assert result.exit_code == 2
    assert result.stderr.startswith(sentence) and "Traceback" not in result.output


def test_regions_all_reads_every_enabled_region(found: Inventory, scenario: Scenario) -> None:
    """--regions all (``found``): every region moto's DescribeRegions enables is read, without an error line
    (MemoryDB is not asked where AWS does not offer it); the stores are found in exactly the scenario's regions."""
    import boto3

    from dataward.cli.inventory import parse_regions

    assert parse_regions("all") is None and parse_regions(" ALL ") is None
    enabled = sorted(r["RegionName"] for r in boto3.client("ec2").describe_regions()["Regions"])
    assert list(found.regions) == enabled and len(enabled) > len(scenario.regions)
    assert found.errors == ()
    by_region: dict[str, set[str]] = {}
    for s in found.stores:
        by_region.setdefault(s.region, set()).add(s.name)
    assert set(by_region) == set(scenario.regions)
    assert {"orders-public", "orders-private", "exports-public"} <= by_region["eu-west-1"]
    assert {"logs-open", "logs-locked"} <= by_region["us-east-1"]
    assert scenario.other_account_store not in {n for names in by_region.values() for n in names}


def test_cli_help_has_an_example() -> None:
    result = run_cli("--help")
    assert result.exit_code == 0 and "dataward inventory aws --regions" in result.output


def test_cli_without_credentials_is_one_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    result = run_cli("--profile", "no-such-profile", "--regions", "eu-west-1")
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and "Traceback" not in result.output


# ---- --probe: the endpoint answers and holds e-mail addresses ------------------------------------------
def test_probe_makes_public_no_auth_and_emails_one_critical_finding(
    scenario: Scenario, postgres_factory: Any
) -> None:
    """moto's endpoints do not resolve, so the probe's ``address`` hook sends orders-public's endpoint to a
    local PostgreSQL that trusts every login and holds a table of e-mail addresses."""
    from functools import partial

    from dataward.inventory.probe import probe_stores

    pg = postgres_factory.new(auth="trust")
    pg.create_table("postgres", "customers", [{"email": f"user{i}@example.com"} for i in range(60)])

    def address(host: str, port: int) -> tuple[str, int] | None:
        return (pg.host, pg.port) if host.startswith("orders-public.") else None

    inv = inventory("aws", InventoryOptions(regions=("eu-west-1",)), probe=True,
                    prober=partial(probe_stores, address=address))
    public = [f for f in inv.findings if f.store_name == "orders-public" and f.severity >= Severity.HIGH]
    assert [(f.rule, f.severity) for f in public] == [("aws.rds.public", Severity.CRITICAL)]
    assert "email" in public[0].categories and "probe: postgresql." in public[0].evidence
    assert inv.probed[store(inv, "orders-public").id].exposed is True
    assert set(inv.probed) == {store(inv, "orders-public").id}  # nothing else answered


# ---- --policy and --write-policy --------------------------------------------------------------------------
RESIDENCY = """
[[store]]
name = "orders"
url = {env = "ORDERS_URL"}
role = "production"

[[store]]
name = "dropped-last-year"
url = "postgresql://dropped.aaaaaaaaaa.eu-west-1.rds.amazonaws.com:5432/app"

[residency]
allowed_regions = ["eu"]
"""


def test_cli_policy_reconciliation(found: Inventory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    policy = tmp_path / "dataward.toml"
    policy.write_text(RESIDENCY)
    orders = store(found, "orders-private")
    monkeypatch.setenv("ORDERS_URL", f"postgresql://app:pw@{orders.host}/app")  # identity by endpoint
    result = run_cli("--regions", "eu-west-1,us-east-1", "--policy", str(policy), "--format", "json")
    data = json.loads(result.stdout)
    listed = {s["name"]: s["listed_as"] for s in data["stores"]}
    assert listed["orders-private"] == "orders"
    by_rule: dict[str, set[str]] = {}
    for f in data["findings"]:
        by_rule.setdefault(f["rule"], set()).add(f["store_name"])
    assert by_rule["policy.unlisted-store"] == {n for n, as_ in listed.items() if as_ is None}
    assert by_rule["policy.store-not-found"] == {"dropped-last-year"}
    assert by_rule["policy.region-not-allowed"] == {"logs-open", "logs-locked", "sessions-open", "sessions-auth"}


def test_written_policy_lists_every_store(found: Inventory, tmp_path: Path) -> None:
    draft = tmp_path / "draft.toml"
    result = run_cli("--regions", "eu-west-1", "--write-policy", str(draft), "--format", "json")
    assert f"draft [[store]] entries to {draft}" in result.stderr
    text = draft.read_text()
    assert "not-a-real-pw" not in text and "password" not in text.lower()
    entries = tomllib.loads(text)["store"]
    assert {e["name"] for e in entries} == {s["name"] for s in json.loads(result.stdout)["stores"]}
    orders = next(e for e in entries if e["name"] == "orders-public")
    assert (orders["role"], orders["owner"], orders["region"]) == ("production", "data-team@example.com", "eu-west-1")
    again = run_cli("--regions", "eu-west-1", "--policy", str(draft), "--format", "json")
    rules = {f["rule"] for f in json.loads(again.stdout)["findings"]}
    assert not rules & {"policy.unlisted-store", "policy.store-not-found"}
    # scan --config: the moto endpoints do not resolve, so only the buckets answer (through AWS_ENDPOINT_URL);
    # no store of the written policy is unlisted.
    scan = CliRunner().invoke(cli, ["scan", "--config", str(draft), "--no-contents", "--timeout", "1",
                                    "--format", "json"])
    assert scan.exit_code in (0, 1), scan.output
    report = json.loads(scan.stdout)
    assert len(report["targets"]) == len(entries)
    assert not [f for f in report["findings"] if f["rule"] == "policy.unlisted-store"]


# ---- what moto may lack: DocumentDB, ElastiCache security groups (tried against moto, skipped with the reason) ----
GAP_ACCOUNT = "222222222222"  # an account of its own, so what these tests make never shows in ``found``
GAP_ROLE = f"arn:aws:iam::{GAP_ACCOUNT}:role/dataward-readonly"
GAP_REGION = "ap-northeast-1"


@pytest.fixture(scope="module")
def gap_region(scenario: Scenario) -> Any:
    from dataward.testing.aws import Region, session

    return Region(session(GAP_ROLE), GAP_REGION)


def gap_inventory() -> Inventory:
    return inventory("aws", InventoryOptions(regions=(GAP_REGION,), assume_roles=(GAP_ROLE,)))


def test_documentdb_cluster_against_moto(gap_region: Any) -> None:
    """A public DocumentDB cluster (docdb API) in an open group; until moto has the docdb engine this is covered
    from API answers (test_inventory_rules.py::test_documentdb_cluster_public_through_a_member_instance)."""
    import moto
    from botocore.exceptions import ClientError

    group = gap_region.group("docdb-world", 27017, "0.0.0.0/0")
    docdb = gap_region.client("docdb")
    try:
        docdb.create_db_subnet_group(DBSubnetGroupName="catalog-subnets", DBSubnetGroupDescription="public",
                                     SubnetIds=gap_region.vpc.public_subnets)
        docdb.create_db_cluster(DBClusterIdentifier="catalog", Engine="docdb", MasterUsername="app",
                                MasterUserPassword="not-a-real-pw-1", VpcSecurityGroupIds=[group],
                                DBSubnetGroupName="catalog-subnets", StorageEncrypted=False)
        docdb.create_db_instance(DBInstanceIdentifier="catalog-1", DBInstanceClass="db.r5.large", Engine="docdb",
                                 DBClusterIdentifier="catalog")
    except ClientError as exc:
        pytest.skip(f"moto {moto.__version__} has no DocumentDB engine (CreateDBCluster Engine=docdb: "
                    f"{exc.response['Error'].get('Message', '').split(':')[0]}); tested from API answers instead")
    inv = gap_inventory()
    catalog = store(inv, "catalog")
    assert (catalog.kind, catalog.scheme, catalog.port) == ("docdb", "mongodb", 27017)
    assert rules_of(inv, "catalog")["aws.docdb.unencrypted"] == Severity.LOW
    assert "aws.docdb.public" in rules_of(inv, "catalog") or "aws.docdb.open-ingress" in rules_of(inv, "catalog")


def test_elasticache_in_an_open_group_against_moto(gap_region: Any) -> None:
    """An ElastiCache Redis without AUTH in public subnets and a group open to the world: readable by anyone
    (high). moto records the cluster's SecurityGroupIds but does not return them; until it does this is covered
    from API answers (test_inventory_rules.py::test_elasticache_in_an_open_group_from_api_answers)."""
    import moto

    group = gap_region.group("redis-world", 6379, "0.0.0.0/0")
    cache = gap_region.client("elasticache")
    cache.create_cache_subnet_group(CacheSubnetGroupName="sessions-public", CacheSubnetGroupDescription="public",
                                    SubnetIds=gap_region.vpc.public_subnets)
    cache.create_cache_cluster(CacheClusterId="sessions-world", Engine="redis", CacheNodeType="cache.t3.micro",
                               NumCacheNodes=1, SecurityGroupIds=[group], CacheSubnetGroupName="sessions-public")
    answer = cache.describe_cache_clusters(CacheClusterId="sessions-world", ShowCacheNodeInfo=True)
    if not answer["CacheClusters"][0].get("SecurityGroups"):
        pytest.skip(f"moto {moto.__version__} does not return an ElastiCache cluster's SecurityGroups "
                    f"(DescribeCacheClusters); tested from API answers instead")
    inv = gap_inventory()
    assert rules_of(inv, "sessions-world")["aws.elasticache.public"] == Severity.HIGH
    assert store(inv, "sessions-world").anonymous is True


def test_aurora_cluster_and_redshift_against_moto(gap_region: Any) -> None:
    """An Aurora cluster public through its member instance (open group, public subnets) next to a Redshift
    cluster whose group is open to the world but which is not publicly accessible (one change away)."""
    rds = gap_region.client("rds")
    pg_world = gap_region.group("aurora-world", 5432, "0.0.0.0/0")
    rds.create_db_cluster(DBClusterIdentifier="ledger", Engine="aurora-postgresql", MasterUsername="app",
                          MasterUserPassword="not-a-real-pw-1", VpcSecurityGroupIds=[pg_world],
                          DBSubnetGroupName=gap_region.subnet_group("ledger-subnets", public=True),
                          StorageEncrypted=True, Tags=[{"Key": "owner", "Value": "finance@example.com"}])
    rds.create_db_instance(DBInstanceIdentifier="ledger-1", DBInstanceClass="db.r6g.large", Engine="aurora-postgresql",
                           DBClusterIdentifier="ledger", PubliclyAccessible=True)
    redshift = gap_region.client("redshift")
    redshift.create_cluster_subnet_group(ClusterSubnetGroupName="warehouse-subnets", Description="public",
                                         SubnetIds=gap_region.vpc.public_subnets)
    redshift.create_cluster(ClusterIdentifier="warehouse", NodeType="ra3.xlplus", MasterUsername="app",
                            MasterUserPassword="Not-a-real-pw-1", ClusterType="single-node", PubliclyAccessible=False,
                            VpcSecurityGroupIds=[gap_region.group("rs-world", 5439, "0.0.0.0/0")],
                            ClusterSubnetGroupName="warehouse-subnets", Encrypted=True,
                            Tags=[{"Key": "owner", "Value": "bi@example.com"}])
    inv = gap_inventory()
    ledger, warehouse = store(inv, "ledger"), store(inv, "warehouse")
    assert (ledger.kind, ledger.engine, ledger.port) == ("aurora", "aurora-postgresql", 5432)
    assert ledger.details["members"] == ["ledger-1"]
    assert rules_of(inv, "ledger")["aws.aurora.public"] == Severity.MEDIUM
    assert "ledger-1: aws rds modify-db-instance --no-publicly-accessible" in \
        next(f for f in inv.findings if f.rule == "aws.aurora.public").remediation
    assert (warehouse.kind, warehouse.port, warehouse.reachable_from_internet) == ("redshift", 5439, False)
    assert rules_of(inv, "warehouse")["aws.redshift.open-ingress"] == Severity.LOW
    assert {r: s for r, s in rules_of(inv, "warehouse").items() if s >= Severity.MEDIUM} == {}
