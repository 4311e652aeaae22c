"""The demo's audit step: the incident's audit log verified against the public key pinned before the response.

Every action of the respond and notify steps was appended to a hash chain whose checkpoints are signed with an
Ed25519 key kept in a folder of its own; the verifier trusts only its own copy of the public key.
"""

from __future__ import annotations

import time

from dataward.demo.context import DemoContext
from dataward.incident.audit import AuditLog, verify_log


def verify_audit(ctx: DemoContext) -> None:
    """Demo step: ``dataward audit verify`` with the pinned key."""
    ctx.console.print("[bold]9. audit[/bold]: every response action in a signed hash chain, verified", soft_wrap=True)
    audit = ctx.state.get("audit")
    if not isinstance(audit, AuditLog):
        ctx.console.print("   skipped: no audit log was written")
        return
    started = time.perf_counter()
    audit.checkpoint()  # sign the tail the notices left
    result = verify_log(audit.path, ctx.state["audit_pinned"])
    took = time.perf_counter() - started
    ctx.state["audit_verification"] = result
    verdict = "[green]intact[/green]" if result.ok else f"[red]broken at entry {result.bad_entry}: {result.reason}[/red]"
    ctx.console.print(f"   {result.entries:,} entries, {result.checkpoints} signed checkpoints: {verdict} "
                      f"(pinned key {ctx.state['audit_pinned'].name})", highlight=False, soft_wrap=True)  # fmt: skip
    ctx.story.append(("audit", "no record of who was told what",
                      f"{result.entries:,} entries, signed chain {'intact' if result.ok else 'broken'}", took))  # fmt: skip
