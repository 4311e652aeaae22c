"""``dataward scan``: parse options, call dataward.scan.scan, render, set the exit code."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import click

from dataward.cli._common import COMMANDS, progress, write_output
from dataward.errors import DatawardError
from dataward.findings import Severity
from dataward.policy import Policy, load_policy
from dataward.report.base import FORMATS, format_for_suffix
from dataward.report.model import Report
from dataward.scan.baseline import DEFAULT_DAYS, Baseline, load_baseline, write_baseline
from dataward.stores.base import Budget
from dataward.targets import Target, parse_target


def choose_format(explicit: str | None, output: str | None, stdout_is_tty: bool) -> str:
    """--format wins; else the -o file's suffix; else table on a terminal and json when piped."""
    if explicit:
        return explicit
    if output and output != "-":
        by_suffix = format_for_suffix(Path(output).suffix)
        if by_suffix:
            return by_suffix
    return "table" if stdout_is_tty else "json"


@click.command("scan")
@click.argument("urls", nargs=-1, metavar="[URL]...")
@click.option("--config", "config", type=click.Path(dir_okay=False), help="Policy file (dataward.toml): stores, roles, owners, expiry, regions.")
@click.option("--format", "fmt", type=click.Choice(FORMATS.names()), default=None,
              help="Output format. Default: from the -o suffix, else table on a terminal and json when piped.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default=None,
              help="Write the report to FILE (atomically) instead of stdout.")
@click.option("--fail-on", "fail_on", default=None, metavar="SEVERITY",
              help="Exit 1 when a finding is at or above SEVERITY (critical, high, medium, low, info). Default: high.")
@click.option("--baseline", "baseline_path", type=click.Path(dir_okay=False), default=None,
              help="Baseline file of accepted findings (by id, with reason and expiry) to suppress.")
@click.option("--update-baseline", is_flag=True,
              help="Add every current finding to the --baseline file (created if missing), then report.")
@click.option("--reason", default=None, help="Reason recorded for suppressions added by --update-baseline.")
@click.option("--baseline-days", type=click.IntRange(1, 3650), default=DEFAULT_DAYS, show_default=True,
              help="Days until suppressions added by --update-baseline expire.")
@click.option("--rows", type=click.IntRange(1, 1_000_000), default=None,
              help="Rows (values) sampled per table, key pattern or topic. Default: 2000.")
@click.option("--timeout", type=click.FloatRange(0.1, 600), default=None, help="Seconds per probe/connection. Default: 3.")
@click.option("--no-contents", is_flag=True, help="Probe exposure only; do not sample or classify contents.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Stores scanned at the same time.")
@click.option("--discover", "discover_specs", multiple=True, metavar="HOST[/CIDR]",
              help="Also find stores on HOST or a range by connecting to their default ports (repeatable).")
@click.option("--ports", default="default", show_default=True, metavar="default|LIST",
              help="Ports for --discover: 'default' (every store kind's) or a list like 6379,5432,9000-9010.")
@click.option("--i-own-this-network", "i_own", is_flag=True,
              help="Allow --discover ranges larger than the safety limit (only on networks you own).")
@click.pass_context
def scan_command(
    ctx: click.Context,
    urls: tuple[str, ...],
    config: str | None,
    fmt: str | None,
    output: str | None,
    fail_on: str | None,
    baseline_path: str | None,
    update_baseline: bool,
    reason: str | None,
    baseline_days: int,
    rows: int | None,
    timeout: float | None,
    no_contents: bool,
    concurrency: int,
    discover_specs: tuple[str, ...],
    ports: str,
    i_own: bool,
) -> None:
    """Find who can read each store, classify what is inside, apply the policy, and rank the findings.

    Exit code 0: nothing at or above --fail-on; 1: findings at or above it; 2: usage, config or input error.

    \b
    Examples:
      dataward scan sqlite:///srv/exports/analytics.db
      dataward scan --config dataward.toml --format html -o report.html
      dataward scan --config dataward.toml --format sarif -o dataward.sarif --fail-on high
      dataward scan --discover 10.0.0.0/28 --ports default --format json
      dataward scan --config dataward.toml --baseline baseline.json --update-baseline --reason "accepted"
    """
    policy = load_policy(config) if config else None
    settings = policy.scan if policy else None
    if not baseline_path and settings and settings.baseline and config:
        baseline_path = str(Path(config).parent / settings.baseline)  # relative to the policy file
    if update_baseline and not baseline_path:
        raise DatawardError("--update-baseline needs --baseline FILE", tip="e.g. --baseline baseline.json")
    threshold = Severity.parse(fail_on or (settings.fail_on if settings and settings.fail_on else "high"))
    targets = _targets(urls, policy, discover_specs, ports, i_own, timeout)
    if not targets:
        raise DatawardError(
            "nothing to scan", tip="give one or more URLs, --config dataward.toml, or --discover HOST[/CIDR]"
        )
    baseline = load_baseline(baseline_path, missing_ok=update_baseline) if baseline_path else None
    budget = _budget(rows or (settings.rows if settings else None), timeout or (settings.timeout if settings else None))
    contents = not no_contents and (settings.contents if settings else True)
    fmt = choose_format(fmt, output, sys.stdout.isatty())
    report = _run(targets, policy, budget, baseline, contents, concurrency)
    if update_baseline and baseline_path:
        report = _update_baseline(report, baseline or Baseline(), baseline_path, reason, baseline_days)
    write_output(_render(report, fmt, output), output)
    ctx.exit(1 if report.at_or_above(threshold) else 0)


def _targets(
    urls: tuple[str, ...], policy: Policy | None, specs: tuple[str, ...], ports: str, i_own: bool,
    timeout: float | None,
) -> list[Target]:
    targets = [parse_target(u) for u in urls]
    if policy is not None:
        targets.extend(policy.targets())
    for spec in specs:
        targets.extend(_discover(spec, ports, i_own, timeout))
    return targets


def _discover(spec: str, ports: str, i_own: bool, timeout: float | None) -> list[Target]:
    """Targets found by dataward.scan.discovery (connect-scan + protocol identification), see docs/exposure.md."""
    from dataward.scan.discovery import discover

    port_list = None if ports.strip().lower() == "default" else parse_ports(ports)
    with progress("discovering") as bar:
        task = bar.task_ids[0]
        return discover(
            spec, port_list, i_own_this_network=i_own, timeout=timeout or 1.0,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )


def parse_ports(text: str) -> list[int]:
    """'6379,5432,9000-9002' -> [6379, 5432, 9000, 9001, 9002]; a bad item is a usage error."""
    out: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                if not 0 < lo <= hi <= 65535 or hi - lo > 65535:
                    raise ValueError
                out.extend(range(lo, hi + 1))
            else:
                port = int(part)
                if not 0 < port <= 65535:
                    raise ValueError
                out.append(port)
        except ValueError:
            raise DatawardError(
                f"--ports item '{part}' is not a port or range", tip="write e.g. --ports 6379,5432,9000-9010"
            ) from None
    return out


def _budget(rows: int | None, timeout: float | None) -> Budget:
    budget = Budget()
    if rows:
        budget = replace(budget, rows_per_object=rows)
    if timeout:
        budget = replace(budget, timeout_s=timeout)
    return budget


def _run(
    targets: list[Target], policy: Policy | None, budget: Budget, baseline: Baseline | None, contents: bool,
    concurrency: int,
) -> Report:
    from dataward.scan import scan

    with progress("scanning stores", total=len(targets)) as bar:
        task = bar.task_ids[0]
        return scan(
            targets, policy, budget=budget, baseline=baseline, sample_contents=contents,
            concurrency=concurrency, progress=lambda _t: bar.advance(task),
        )


def _update_baseline(report: Report, baseline: Baseline, path: str, reason: str | None, days: int) -> Report:
    new = baseline.updated(report.findings, reason or "accepted with --update-baseline", days)
    write_baseline(new, path)
    click.echo(
        f"baseline {path}: {len(new.suppressions) - len(baseline.suppressions)} suppression(s) added, "
        f"{len(new.suppressions)} in all",
        err=True,
    )
    return report.model_copy(update={"findings": new.apply(report.findings), "baseline": path})


def _render(report: Report, fmt: str, output: str | None) -> str:
    renderer = FORMATS.get(fmt).render
    if fmt == "table":
        from dataward.report.table import render_table

        color = (output is None or output == "-") and sys.stdout.isatty()
        return render_table(report, color=color)
    return renderer(report)


COMMANDS.register(scan_command)
