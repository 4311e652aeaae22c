"""``dataward incident``: open, blast-radius, respond, notify, lookup build/check, audit verify."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from dataward.cli._common import COMMANDS, check_writable, phase_hook, progress, schema_option, write_output
from dataward.cli._engine import engine_from, engine_options
from dataward.errors import DatawardError
from dataward.schemamap import SchemaMap

if TYPE_CHECKING:
    from dataward.incident.respond import StepReport
from dataward.targets import parse_target

F = TypeVar("F", bound=Callable[..., Any])


def db_option(fn: F) -> F:
    return click.option(
        "--db",
        "db_url",
        envvar="DATAWARD_INCIDENT_DB",
        default="dataward-incidents.db",
        show_default=True,
        help="Incident database: a path, sqlite:///path or postgresql://… (env DATAWARD_INCIDENT_DB).",
    )(fn)


def audit_options(fn: F) -> F:
    fn = click.option(
        "--audit-log",
        envvar="DATAWARD_AUDIT_LOG",
        default="dataward-audit.jsonl",
        show_default=True,
        help="Hash-chained audit log every action is appended to (env DATAWARD_AUDIT_LOG).",
    )(fn)
    return click.option(
        "--signing-key",
        envvar="DATAWARD_AUDIT_KEY",
        default=None,
        help="Ed25519 private key (PEM) that signs checkpoints (env DATAWARD_AUDIT_KEY); default "
        "~/.config/dataward/audit-ed25519, created 0600 with its public half KEY.pub on first use.",
    )(fn)


@click.group("incident")
def incident() -> None:
    """Respond to a leak: who was affected, what follows, revoke, notify, lookup site, audit log.

    \b
    Example:
      dataward incident open --name dec-leak --store analytics-copy --from 2019-12-04 --to 2019-12-26
      dataward incident blast-radius dec-leak --source file:///data/prod --exposed duckdb:///data/analytics-copy.duckdb
      dataward incident respond dec-leak --playbook playbook.toml --dry-run
    """


@incident.command("open")
@click.option("--name", required=True, help="Name of the incident (used by every later command).")
@click.option("--store", required=True, help="The exposed store: its policy name or URL.")
@click.option("--from", "window_from", help="Start of the exposure window (ISO 8601).")
@click.option("--to", "window_to", help="End of the exposure window (ISO 8601).")
@click.option("--from-history", is_flag=True, help="Take the window from the watcher's recorded history.")
@click.option(
    "--history",
    default="history.json",
    show_default=True,
    help="`dataward history --format json` file or history DB.",
)
@click.option(
    "--aware", "aware_at", help="When the company became aware (GDPR's 72 h start); default the window end."
)
@db_option
def open_cmd(
    name: str,
    store: str,
    window_from: str | None,
    window_to: str | None,
    from_history: bool,
    history: str,
    aware_at: str | None,
    db_url: str,
) -> None:
    """Record an incident: which store was exposed and when.

    \b
    Example:
      dataward incident open --name dec-leak --store analytics-copy --from 2019-12-04 --to 2019-12-26
      dataward history --format json > history.json
      dataward incident open --name dec-leak --store analytics-copy --from-history --history history.json
    """
    from dataward.incident.ops import open_incident
    from dataward.incident.store import open_incident_db

    if from_history and window_from:
        raise DatawardError(
            "--from and --from-history exclude each other", tip="use one source for the window"
        )
    with open_incident_db(db_url) as db:
        found = open_incident(
            db,
            name,
            store,
            window_from,
            window_to,
            history=history if from_history else None,
            aware_at=aware_at,
        )
    click.echo(
        f"opened incident {found.name}: {found.store} exposed {found.window_from} to {found.window_to} ({found.window_source})"
    )


@incident.command("list")
@db_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_cmd(db_url: str, fmt: str) -> None:
    """List recorded incidents.

    \b
    Example:
      dataward incident list --format json
    """
    from dataward.incident.store import open_incident_db

    with open_incident_db(db_url) as db:
        items = [db.get(n).to_json() for n in db.names()]
    if fmt == "json":
        click.echo(json.dumps({"schema": "dataward.incidents/v1", "incidents": items}, indent=2))
        return
    for item in items:
        click.echo(
            f"{item['name']}\t{item['store']}\t{item['window'][0]}\t{item['window'][1]}\t{item['window_source']}"
        )


@incident.command("blast-radius")
@click.argument("name")
@click.option(
    "--source", required=True, help="Production source URL (device-cloud database, Parquet folder ...)."
)
@click.option(
    "--exposed", help="URL of the exposed store, if still readable (default: the incident's store URL)."
)
@click.option(
    "--classification", type=click.Path(dir_okay=False), help="Classification/scan JSON of the exposed store."
)
@click.option("--manifest", type=click.Path(dir_okay=False), help="Copy manifest JSON of the exposed copy.")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "html"]), default="table", show_default=True
)
@click.option(
    "-o", "--output", "parquet_out", help="Write the affected customers (ids + boolean flags) as Parquet."
)
@click.option(
    "--report", "report_out", help="Write the table/json/html report to this file instead of stdout."
)
@click.option(
    "--categories",
    "categories",
    multiple=True,
    help="Count only these category ids or tiers (comma-separated or repeated), e.g. email,credential.",
)
@schema_option
@db_option
@engine_options
def blast_radius_cmd(
    name: str,
    source: str,
    exposed: str | None,
    classification: str | None,
    manifest: str | None,
    fmt: str,
    parquet_out: str | None,
    report_out: str | None,
    categories: tuple[str, ...],
    schema: SchemaMap,
    db_url: str,
    engine: str,
    spark_master: str,
    spark_conf: tuple[str, ...],
) -> None:
    """Compute who was affected and by which fields, counts per field and region, and the obligations.

    Production tables and columns come from the [schema] map of --config (default: the reference device cloud's).

    \b
    Example:
      dataward incident blast-radius dec-leak --source file:///data/prod --exposed duckdb:///data/analytics-copy.duckdb \\
          --format json -o affected.parquet
      dataward incident blast-radius dec-leak --source postgresql://ro@db/app --config dataward.toml
      dataward incident blast-radius dec-leak --source s3a://lake/prod --engine spark --spark-master yarn
    """
    from dataward.categories import parse_categories
    from dataward.incident.ops import run_blast_radius
    from dataward.incident.render import render
    from dataward.incident.store import open_incident_db

    only = parse_categories(categories) if categories else None
    for path in (parquet_out, report_out):
        if path and path != "-":
            check_writable(path)
    chosen = engine_from(engine, spark_master, spark_conf)
    compute = None
    if chosen.spark:
        from functools import partial

        from dataward.spark.blast import compute_spark

        compute = partial(compute_spark, chosen.session(parse_target(source)))
    with open_incident_db(db_url) as db, progress("reading the exposure", total=None) as bar:
        result = run_blast_radius(
            db, name, source, exposed=exposed, classification=classification, manifest=manifest, schema=schema,
            compute=compute, categories=only, progress=phase_hook(bar),
        )
    if parquet_out:
        write_output(result.affected_parquet(), parquet_out)
    write_output(render(result.to_json(), fmt), report_out)


@incident.command("respond")
@click.argument("name")
@click.option(
    "--playbook", required=True, type=click.Path(dir_okay=False), help="Playbook TOML: ordered [[step]]s."
)
@click.option(
    "--dry-run", is_flag=True, help="Show counts and samples (redacted ids) of each step; change nothing."
)
@click.option(
    "--source", help="Production/token-store URL when the playbook names none (default: blast-radius's)."
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@schema_option
@db_option
@audit_options
def respond_cmd(
    name: str,
    playbook: str,
    dry_run: bool,
    source: str | None,
    fmt: str,
    schema: SchemaMap,
    db_url: str,
    audit_log: str,
    signing_key: str | None,
) -> None:
    """Run the response playbook: revoke tokens, unlink integrations, sign out, reset, device commands.

    Resumable: a re-run after a crash continues where it stopped and never repeats a side effect. Tokens,
    integrations and devices are found through the [schema] map of --config (default: the reference one).
    Exit 1 when a device never acknowledged its command (they are named; a re-run re-sends to them).

    \b
    Example:
      dataward incident respond dec-leak --playbook playbook.toml --dry-run
      dataward incident respond dec-leak --playbook playbook.toml --config dataward.toml
    """
    from dataward.incident.audit import AuditLog
    from dataward.incident.respond import load_playbook, run_playbook
    from dataward.incident.store import open_incident_db

    book = load_playbook(playbook)
    audit = None if dry_run else AuditLog(audit_log, signing_key)
    with open_incident_db(db_url) as db:
        reports = run_playbook(db, name, book, dry_run=dry_run, source=source, audit=audit, schema=schema)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "schema": "dataward.respond/v1",
                    "dry_run": dry_run,
                    "steps": [r.to_json() for r in reports],
                },
                indent=2,
            )
        )
    else:
        _print_respond_table(reports, dry_run)
    if not dry_run and any(r.outcome.unconfirmed for r in reports):
        sys.exit(1)  # a command that may not have reached a device is not a success (exit 1, like notify)


def _print_respond_table(reports: list[StepReport], dry_run: bool) -> None:
    for r in reports:
        counts = ", ".join(f"{k} {v:,}" for k, v in r.outcome.counts.items() if v)
        verb = "would change" if dry_run else "changed"
        line = f"{r.key}: {verb} {counts}" if counts else f"{r.key}: nothing {'to' if dry_run else 'left to'} change"
        if not dry_run:
            line += f" ({r.done_now} batches now, {r.already_done} done before)"
            if r.other_run:
                line += f"; {r.other_run} batches claimed by another run at the same time"
        elif r.outcome.samples:
            line += f"; e.g. {', '.join(r.outcome.samples[:3])}"
        click.echo(line)
        if r.outcome.unconfirmed:
            silent = r.outcome.unconfirmed
            more = f" and {len(silent) - 20:,} more (all with --format json)" if len(silent) > 20 else ""
            click.echo(
                f"{r.key}: {len(silent):,} never acknowledged: {', '.join(silent[:20])}{more}; "
                "run respond again to re-send to them"
            )


@incident.command("notify")
@click.argument("name")
@click.option(
    "--smtp", "smtp_url", required=True, help="Mail server: smtp://host:port (?starttls=1) or smtps://."
)
@click.option(
    "--template",
    "template_dir",
    type=click.Path(file_okay=False),
    help="Template folder (default: the shipped one).",
)
@click.option("--rate", help="Messages per second, e.g. 50/s (default: as fast as the server takes them).")
@click.option(
    "--connections",
    type=click.IntRange(1, 32),
    default=1,
    show_default=True,
    help="SMTP connections used at once (batches, each written ahead before it is sent).",
)
@click.option(
    "--warmup",
    default="0s",
    show_default=True,
    help="Ramp from a tenth of --rate to all of it over this time.",
)
@click.option("--sender", default="security@example.com", show_default=True, help="From address.")
@click.option("--company", default="our", show_default=True, help="Company name used in the notice.")
@click.option("--lookup-address", help="Address of the lookup site, printed as text (never a link).")
@click.option("--source", help="Production source for emails (default: the one blast-radius used).")
@click.option(
    "--reconcile-log",
    type=click.Path(dir_okay=False),
    help="Mail log with accepted Message-IDs, to settle crashed sends.",
)
@click.option(
    "--resend-uncertain",
    is_flag=True,
    help="Resend messages whose fate a crash left unknown (same Message-ID).",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@schema_option
@db_option
@audit_options
def notify_cmd(
    name: str,
    smtp_url: str,
    template_dir: str | None,
    rate: str | None,
    connections: int,
    warmup: str,
    sender: str,
    company: str,
    lookup_address: str | None,
    source: str | None,
    reconcile_log: str | None,
    resend_uncertain: bool,
    fmt: str,
    schema: SchemaMap,
    db_url: str,
    audit_log: str,
    signing_key: str | None,
) -> None:
    """Send each affected customer one notice listing exactly their exposed fields (exactly once).

    Addresses come from the customer role's email column of the [schema] map of --config (default: the
    reference one).

    \b
    Example:
      dataward incident notify dec-leak --smtp smtp://127.0.0.1:2525 --template notices/ --rate 50/s
      dataward incident notify dec-leak --smtp smtp://127.0.0.1:2525 --config dataward.toml
    """
    from dataward.durations import parse_duration
    from dataward.incident.audit import AuditLog
    from dataward.incident.notify import reconcile_from_log, send_notices
    from dataward.incident.store import open_incident_db

    per_s = _rate(rate)
    with open_incident_db(db_url) as db:
        report = send_notices(
            db,
            name,
            smtp_url,
            template_dir=template_dir,
            sender=sender,
            company=company,
            lookup_address=lookup_address,
            source=source,
            rate=per_s,
            warmup_s=parse_duration(warmup, "--warmup", default=0.0, allow_zero=True),
            audit=AuditLog(audit_log, signing_key),
            reconcile=reconcile_from_log(reconcile_log) if reconcile_log else None,
            resend_uncertain=resend_uncertain,
            schema=schema,
            connections=connections,
        )
    if fmt == "json":
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        click.echo(
            f"sent {report.sent}, already sent {report.already_sent}, reconciled {report.reconciled}, "
            f"resent {report.resent}, uncertain {report.uncertain}, without email {report.no_email}"
        )
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    if report.uncertain:  # a customer who may not have been told is not a success (exit 1, like findings)
        sys.exit(1)


def _rate(text: str | None) -> float | None:
    if not text:
        return None
    value = text.strip().lower().removesuffix("/s")
    try:
        rate = float(value)
    except ValueError:
        raise DatawardError(
            f"--rate '{text}' is not a number of messages per second", tip="e.g. --rate 50/s"
        ) from None
    if rate <= 0:
        raise DatawardError("--rate must be above zero")
    return rate


@incident.group("lookup")
def lookup() -> None:
    """The "was I affected?" static site (k-anonymous range files, checked in the browser)."""


@lookup.command("build")
@click.argument("name")
@click.option(
    "-o", "--output", "out", required=True, help="Folder to write the site to (built aside, then renamed)."
)
@click.option("--source", help="Production source URL (default: the one blast-radius used).")
@click.option(
    "--prefix-hex",
    type=click.IntRange(1, 4),
    default=None,
    help="Hex digits naming a range file (16^N files); default chosen from the number of affected customers.",
)
@click.option(
    "--min-pad",
    type=click.IntRange(1, 1000),
    default=16,
    show_default=True,
    help="Lines per range file at least (decoys pad).",
)
@click.option(
    "--require-code",
    is_flag=True,
    help="Answer even membership only with the notice's code (for a sensitive incident, e.g. health data).",
)
@click.option("--force", is_flag=True, help="Replace an existing, non-empty output folder.")
@schema_option
@db_option
def lookup_build(
    name: str,
    out: str,
    source: str | None,
    prefix_hex: int | None,
    min_pad: int,
    require_code: bool,
    force: bool,
    schema: SchemaMap,
    db_url: str,
) -> None:
    """Build the lookup site: range files named by a keyed-hash prefix, padded with decoys, and index.html.

    Anyone holding an email can tell whether it is affected (as with Have I Been Pwned); which data was
    exposed opens only with the code from that customer's notice. --require-code hides membership too.

    \b
    Example:
      dataward incident lookup build dec-leak -o site/
      dataward incident lookup build dec-leak -o site/ --require-code    # health data: the code for everything
      python -m http.server -d site 8000     # then open http://localhost:8000/
    """
    from dataward.incident.ops import build_lookup
    from dataward.incident.store import open_incident_db

    with open_incident_db(db_url) as db, progress("reading the affected customers", total=None) as bar:
        summary = build_lookup(
            db, name, out, source, prefix_hex=prefix_hex, min_pad=min_pad, require_code=require_code, force=force,
            progress=phase_hook(bar), schema=schema,
        )  # fmt: skip
    click.echo(
        f"wrote {out}: {summary['files']} range files of {summary['lines_per_file']} lines for {summary['affected']} affected emails"
    )


@lookup.command("check")
@click.argument("email")
@click.option(
    "--site", required=True, type=click.Path(file_okay=False), help="Folder of a built lookup site."
)
@click.option("--code", help="Verification code from a notice: checks it is genuine and shows which data.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def lookup_check(email: str, site: str, code: str | None, fmt: str) -> None:
    """Answer for one email what the site's page answers (exit 0 either way).

    \b
    Example:
      dataward incident lookup check alice@example.com --site site/ --format json
    """
    from dataward.incident.lookup import check_site, label

    result = check_site(site, email, code)
    if fmt == "json":
        click.echo(json.dumps(result))
        return
    if result["affected"] and result["categories"]:
        click.echo("affected: " + ", ".join(label(c) for c in result["categories"]))
    elif result["affected"]:
        click.echo("affected (the code from the notice shows which data)")
    elif result["require_code"]:
        click.echo("no record for this address with this code")
    else:
        click.echo("not affected")
    if code is not None:
        click.echo(
            "verification code: "
            + ("genuine" if result["code_valid"] else "NOT genuine (treat the message as phishing)")
        )


@incident.group("audit")
def audit() -> None:
    """The audit log of respond and notify actions."""


@audit.command("verify")
@click.argument("log", required=False)
@click.option(
    "--public-key",
    envvar="DATAWARD_AUDIT_PUBLIC_KEY",
    help="The signer's Ed25519 public key (PEM, DER or OpenSSH), a copy kept away from the log "
    "(env DATAWARD_AUDIT_PUBLIC_KEY).",
)
@click.option(
    "--key-fingerprint",
    envvar="DATAWARD_AUDIT_KEY_FINGERPRINT",
    help="Pinned sha256:HEX fingerprint of the signing key, checked against the key each checkpoint names.",
)
@click.option(
    "--known-head",
    help="COUNT:HASH a previous verify printed: the log must still hold it (catches truncation).",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option(
    "--audit-log",
    envvar="DATAWARD_AUDIT_LOG",
    default="dataward-audit.jsonl",
    show_default=True,
    help="Log to check when LOG is not given.",
)
def audit_verify(
    log: str | None,
    public_key: str | None,
    key_fingerprint: str | None,
    known_head: str | None,
    fmt: str,
    audit_log: str,
) -> None:
    """Check the hash chain and that signed checkpoints cover every entry (exit 1 when they do not).

    The public key comes from you, never from beside the log: --public-key or --key-fingerprint.

    \b
    Example:
      dataward incident audit verify dataward-audit.jsonl --public-key ~/.config/dataward/audit-ed25519.pub
      dataward incident audit verify dataward-audit.jsonl --key-fingerprint sha256:3f1c... --known-head 408:9ab2...
    """
    from dataward.incident.audit import Head, verify_log

    head = Head.parse(known_head) if known_head else None
    result = verify_log(log or audit_log, public_key, key_fingerprint=key_fingerprint, known_head=head)
    if fmt == "json":
        click.echo(json.dumps(result.to_json(), indent=2))
    elif result.ok:
        click.echo(
            f"ok: {result.entries} entries, all covered by {result.checkpoints} signed checkpoints; "
            f"head {result.head} (keep it: --known-head catches a later truncation)"
        )
    elif result.bad_entry:
        click.echo(
            f"bad entry {result.bad_entry}: {result.reason}; {result.entries} entries before it are intact"
        )
    else:
        click.echo(f"not verified: {result.reason}")
    if not result.ok:
        raise SystemExit(1)


@audit.command("key")
@click.option(
    "--signing-key",
    envvar="DATAWARD_AUDIT_KEY",
    default=None,
    help="Ed25519 private key (PEM); default ~/.config/dataward/audit-ed25519 (created 0600 if missing).",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def audit_key(signing_key: str | None, fmt: str) -> None:
    """Show the signing key's public half and fingerprint (creating the key if missing), to pin them elsewhere.

    \b
    Example:
      dataward incident audit key
      dataward incident audit key --format json
    """
    from dataward.incident.audit import AuditLog, fingerprint, write_public_key

    log = AuditLog("-", signing_key)
    info = {"public_key": str(write_public_key(log.key_path)), "fingerprint": fingerprint(log.public_key)}
    if fmt == "json":
        click.echo(json.dumps(info))
    else:
        click.echo(f"public key: {info['public_key']}\nfingerprint: {info['fingerprint']}")


COMMANDS.register(incident)
