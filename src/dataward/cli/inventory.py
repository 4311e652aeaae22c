"""``dataward inventory <provider>``: parse options, call dataward.inventory, render, set the exit code."""

from __future__ import annotations

import sys

import click

from dataward.cli._common import COMMANDS, write_output
from dataward.errors import DatawardError
from dataward.findings import Severity
from dataward.suggest import did_you_mean

FORMATS = ("table", "json", "toml", "sarif", "ocsf")


@click.group("inventory")
def inventory_group() -> None:
    """Find the data stores a cloud account really holds, and whether its settings let the internet in.

    \b
    Examples:
      dataward inventory aws --regions eu-west-1,us-east-1 --format json -o inventory.json
      dataward inventory aws --profile audit --assume-role arn:aws:iam::111111111111:role/dataward-readonly
      dataward inventory aws --policy dataward.toml --fail-on medium
    """


@inventory_group.command("aws")
@click.option("--profile", default=None, help="AWS profile (else boto3's usual chain: AWS_PROFILE, env, SSO, role).")
@click.option("--regions", default="all", show_default=True, metavar="all|R1,R2",
              help="Regions to read: 'all' (every region enabled for the account) or a comma-separated list.")
@click.option("--assume-role", "assume_roles", multiple=True, metavar="ARN",
              help="Read the account of this role instead of the caller's (repeatable: one account each).")
@click.option("--probe", is_flag=True,
              help="Connect to every store whose endpoint resolves and answers, and classify what it holds.")
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False), default=None,
              help="dataward.toml to reconcile with: unlisted stores, entries that no longer exist, residency.")
@click.option("--write-policy", "write_policy", type=click.Path(dir_okay=False), default=None,
              help="Write draft [[store]] entries for every store found to FILE (for a person to review).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Output format. Default: table on a terminal, json when piped.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default=None,
              help="Write the result to FILE (atomically) instead of stdout.")
@click.option("--fail-on", "fail_on", default="high", show_default=True, metavar="SEVERITY",
              help="Exit 1 when a finding is at or above SEVERITY (critical, high, medium, low, info).")
@click.option("--concurrency", type=click.IntRange(1, 64), default=4, show_default=True,
              help="API calls in flight per region.")
@click.pass_context
def aws_command(
    ctx: click.Context, profile: str | None, regions: str, assume_roles: tuple[str, ...], probe: bool,
    policy_path: str | None, write_policy: str | None, fmt: str | None, output: str | None, fail_on: str,
    concurrency: int,
) -> None:
    """Inventory AWS: RDS/Aurora, DocumentDB, Redshift, ElastiCache, MemoryDB, OpenSearch, S3 and EC2.

    Read-only (Describe*, List*, Get* calls; docs/inventory.md has the IAM policy). boto3's own
    configuration applies (profiles, AWS_ENDPOINT_URL). Exit code 0: nothing at or above --fail-on;
    1: findings at or above it; 2: usage, credentials or config error.

    \b
    Examples:
      dataward inventory aws --regions eu-west-1,eu-central-1 --format json -o inventory.json
      dataward inventory aws --assume-role arn:aws:iam::111111111111:role/dataward-readonly --format sarif
      dataward inventory aws --policy dataward.toml --write-policy draft.toml
      dataward inventory aws --regions us-east-1 --probe --fail-on critical
    """
    from dataward.inventory import InventoryOptions, inventory
    from dataward.inventory.render import render
    from dataward.policy import load_policy

    threshold = Severity.parse(fail_on)
    policy = load_policy(policy_path) if policy_path else None
    options = InventoryOptions(profile=profile, regions=parse_regions(regions), assume_roles=assume_roles,
                               calls_per_region=concurrency)
    inv = inventory("aws", options, policy=policy, probe=probe)
    if inv.errors:  # a denied API or a region that did not answer: the inventory is incomplete, say so
        click.echo(f"warning: {len(inv.errors)} part(s) of the account could not be read, e.g. {inv.errors[0]}",
                   err=True)
    if write_policy:
        from dataward.inventory.reconcile import draft_policy

        write_output(draft_policy(inv.stores), write_policy)
        click.echo(f"wrote {len(inv.stores)} draft [[store]] entries to {write_policy}", err=True)
    fmt = fmt or ("table" if sys.stdout.isatty() and not output else "json")
    color = (output is None or output == "-") and sys.stdout.isatty()
    write_output(render(inv, fmt, color=color), output)
    ctx.exit(1 if inv.at_or_above(threshold) else 0)


def parse_regions(text: str) -> tuple[str, ...] | None:
    """'all' -> None (every enabled region); 'eu-west-1, us-east-1' -> the list; a name AWS does not have is a
    usage error that suggests the closest one ("Did you mean 'eu-west-1'?")."""
    from dataward.inventory.providers.aws import known_regions

    if text.strip().lower() == "all":
        return None
    regions = tuple(dict.fromkeys(r.strip() for r in text.split(",") if r.strip()))
    known = known_regions()
    bad = [r for r in regions if r not in known]
    if bad or not regions:
        name = bad[0] if bad else text
        raise DatawardError(f"--regions item '{name}' is not an AWS region name.{did_you_mean(name, known)}",
                            tip="write e.g. --regions eu-west-1,us-east-1 or --regions all (the regions this "
                                "boto3 knows; a newer region needs a newer boto3)")
    return regions


COMMANDS.register(inventory_group)
