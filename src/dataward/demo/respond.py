"""The demo's response step: a dry run, then the real playbook on the demo's token store (production DuckDB).

The seed company logged every customer out, which took about six hours; here only the affected customers'
API tokens are revoked and their Alexa/Google/IFTTT integrations unlinked, batch by batch, with a ledger and
a signed audit log (signing key in its own folder, away from the log; the verifier pins its own copy of the
public key).
"""

from __future__ import annotations

import shutil
import time

from dataward.demo.context import DemoContext
from dataward.incident.audit import AuditLog, write_public_key
from dataward.incident.respond import StepReport, load_playbook, run_playbook
from dataward.incident.store import open_incident_db

SEED_LOGOUT = "about 6 hours to log everyone out"
PLAYBOOK = """\
[response]
scope = "affected"
database = "{database}"
batch = 1000

[[step]]
action = "revoke_tokens"
via = "sql"

[[step]]
action = "unlink_integrations"
providers = ["alexa", "google_assistant", "ifttt"]
"""


def respond(ctx: DemoContext) -> None:
    """Demo step: ``incident respond --dry-run``, then the playbook for real, timed."""
    ctx.console.print("[bold]7. respond[/bold]: revoke the affected customers' tokens and unlink their integrations",
                      soft_wrap=True)  # fmt: skip
    if "incident" not in ctx.state:
        ctx.console.print("   skipped: no incident was opened")
        return
    playbook_file = ctx.out / "playbook.toml"
    playbook_file.write_text(PLAYBOOK.format(database=ctx.production_url))
    ctx.files["response playbook"] = playbook_file
    audit = _audit_log(ctx)
    playbook = load_playbook(playbook_file)
    with open_incident_db(ctx.state["incident_db"]) as db:
        preview = run_playbook(db, ctx.state["incident"], playbook, dry_run=True)
        ctx.console.print(f"   dry run (nothing written): {_counts(preview)}", highlight=False, soft_wrap=True)
        started = time.perf_counter()
        done = run_playbook(db, ctx.state["incident"], playbook, audit=audit)
        took = time.perf_counter() - started
    ctx.state["respond_preview"] = preview
    ctx.state["respond_done"] = done
    ctx.state["respond_s"] = took
    ctx.console.print(f"   for real: {_counts(done)} in [bold]{took:.1f} s[/bold] (the seed company: {SEED_LOGOUT})",
                      highlight=False, soft_wrap=True)  # fmt: skip
    tokens = sum(r.outcome.counts.get("tokens", 0) for r in done if r.action == "revoke_tokens")
    links = sum(sum(r.outcome.counts.values()) for r in done if r.action == "unlink_integrations")
    ctx.story.append(("respond", f"took {SEED_LOGOUT}", f"{tokens:,} tokens revoked, {links:,} integrations unlinked",
                      took))  # fmt: skip


def _audit_log(ctx: DemoContext) -> AuditLog:
    """The incident's audit log, its signing key in a folder of its own, the public key pinned for the verifier."""
    keys, logs, trusted = ctx.out / "keys", ctx.out / "audit", ctx.out / "trusted"
    for folder in (keys, logs, trusted):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    keys.chmod(0o700)
    audit = AuditLog(logs / "audit.jsonl", key_path=keys / "audit-ed25519")
    pinned = trusted / "audit-ed25519.pub"
    shutil.copyfile(write_public_key(audit.key_path), pinned)  # the verifier's own copy, taken before any entry
    ctx.state["audit"] = audit
    ctx.state["audit_pinned"] = pinned
    ctx.files["audit log"] = audit.path
    return audit


def _counts(reports: list[StepReport]) -> str:
    parts = []
    for r in reports:
        counts = ", ".join(f"{n:,} {what}" for what, n in r.outcome.counts.items()) or "nothing"
        parts.append(f"{r.action}: {counts}")
    return "; ".join(parts)
