"""The demo's incident step: the window from the watcher's history, the blast radius, the obligations.

The seed company emailed all 2.4 million customers, people who signed up after the leak included; here the
incident is opened with the exposure window the watcher recorded (``incident open --from-history``), and the
blast radius counts the customers whose rows the exposed copy actually held, by field and by region, with the
obligations that follow (GDPR Art. 33's 72 hours, the FTC Health Breach Notification Rule for body metrics).
"""

from __future__ import annotations

import time

from dataward.demo.context import DemoContext
from dataward.incident.ops import open_incident, run_blast_radius
from dataward.incident.store import open_incident_db

SEED_NOTIFIED = 2_400_000
INCIDENT = "analytics-copy-exposed"


def open_the_incident(ctx: DemoContext) -> None:
    """Demo step: ``incident open --from-history`` and ``incident blast-radius`` on the watched copy."""
    ctx.console.print("[bold]6. incident[/bold]: the window from the watcher's history, who was in the exposed copy, "
                      "what the law then asks", soft_wrap=True)  # fmt: skip
    if "watch_history" not in ctx.state:
        ctx.console.print("   skipped: the watch step did not run")
        return
    started = time.perf_counter()
    db_path = ctx.state["state_db"]  # the watcher's state database holds the incident too (dataward serve reads both)
    with open_incident_db(str(db_path)) as db:
        incident = open_incident(db, INCIDENT, ctx.state["watch_store"], history=ctx.state["watch_history"])
        radius = run_blast_radius(db, INCIDENT, ctx.production_url, exposed=ctx.state["exposed_url"])
    ctx.state["incident_db"] = str(db_path)
    ctx.state["incident"] = INCIDENT
    ctx.state["blast_radius"] = radius
    affected = radius.affected_customers
    share = affected / SEED_NOTIFIED
    ctx.console.print(f"   window {incident.window_from} → {incident.window_to} (from {incident.window_source})",
                      highlight=False, soft_wrap=True)  # fmt: skip
    ctx.console.print(f"   [bold]{affected:,}[/bold] customers in the exposed copy (the seed company notified "
                      f"{SEED_NOTIFIED:,}, everyone; this cloud is {share:.2%} of that size)",
                      highlight=False, soft_wrap=True)  # fmt: skip
    by_field = ", ".join(f"{f} {n:,}" for f, n in sorted(radius.by_field().items(), key=lambda kv: -kv[1]))
    ctx.console.print(f"   by field: {by_field}", highlight=False, soft_wrap=True)
    regions = list(radius.by_region().items())
    top = ", ".join(f"{r} {n:,}" for r, n in regions[:6]) + (f", +{len(regions) - 6} more" if len(regions) > 6 else "")
    ctx.console.print(f"   by region: {top}", highlight=False, soft_wrap=True)
    for o in radius.obligations:
        deadline = f"by {o.deadline}" if o.deadline else "without undue delay"
        who = f"{o.customers:,} customer{'' if o.customers == 1 else 's'}"
        ctx.console.print(f"   obligation {o.id}: {who}, notify {', '.join(o.notify)} {deadline}",
                          highlight=False, soft_wrap=True)  # fmt: skip
    cohort = radius.by_field().get("health_metric", 0)
    if cohort and not any(o.id == "ftc_hbnr" for o in radius.obligations):
        ctx.console.print(f"   body-metrics cohort: {cohort:,} customer(s), none in the US, so the FTC Health Breach "
                          "Notification Rule does not apply", highlight=False, soft_wrap=True)  # fmt: skip
    ctx.story.append(("incident", f"notified all {SEED_NOTIFIED:,} customers",
                      f"{affected:,} affected, {len(radius.obligations)} obligations with deadlines",
                      time.perf_counter() - started))  # fmt: skip
