"""The demo's notify-and-lookup step: one notice per affected customer to a local mail catcher, then the
affected-lookup site built and asked about one affected and one unaffected address.

The seed company emailed all 2.4 million customers and offered "no tool to check if you were affected"; here each
affected customer gets one notice naming only their fields, and anyone can check an address on a static site
that holds no email in clear.
"""

from __future__ import annotations

import time

from dataward.demo.context import DemoContext
from dataward.incident.lookup import check_site
from dataward.incident.notify import send_notices
from dataward.incident.ops import affected_table, build_lookup
from dataward.incident.store import open_incident_db
from dataward.tables import open_tables

NOT_A_CUSTOMER = "never.signed.up@example.org"
CONNECTIONS = 4  # SMTP connections at once (the catcher runs in its own process)


def notify_and_lookup(ctx: DemoContext) -> None:
    """Demo step: ``incident notify`` to a local mail catcher, ``incident lookup build`` and two checks."""
    ctx.console.print("[bold]8. notify and lookup[/bold]: one notice per affected customer, and a site where anyone "
                      "can check an address", soft_wrap=True)  # fmt: skip
    if "incident" not in ctx.state:
        ctx.console.print("   skipped: no incident was opened")
        return
    name = ctx.state["incident"]
    site = ctx.out / "lookup"
    catcher = ctx.server("mail")  # started in the background at the beginning of the demo
    with open_incident_db(ctx.state["incident_db"]) as db:
        started = time.perf_counter()
        report = send_notices(db, name, catcher.url, audit=ctx.state.get("audit"), company="the demo's",
                              connections=CONNECTIONS)  # fmt: skip
        notify_s = time.perf_counter() - started
        build_lookup(db, name, str(site), force=True)
        affected_ids = affected_table(db, name).column("user_id").to_pylist()
    with open_tables(ctx.production_url) as prod:
        users = prod.read_table("users", ["id", "email"]).to_pylist()
    known = {u["id"]: u["email"] for u in users if u["email"]}
    one_affected = known[min(i for i in affected_ids if i in known)]
    affected_answer = check_site(site, one_affected)["affected"]
    other_answer = check_site(site, NOT_A_CUSTOMER)["affected"]
    took = time.perf_counter() - started
    recipients = catcher.recipients()
    ctx.state.update(notices=len(recipients), notice_recipients=recipients, notices_folder=catcher.folder,
                     notify_report=report, lookup_site=site, lookup_answers=(affected_answer, other_answer))  # fmt: skip
    ctx.files["notices (as caught)"] = catcher.folder
    ctx.files["lookup site"] = site
    ctx.console.print(f"   [bold]{len(recipients):,}[/bold] notices caught by the local mail server in "
                      f"{notify_s:.1f} s (the seed company: an email to all 2,400,000)", highlight=False, soft_wrap=True)  # fmt: skip
    ctx.console.print(f"   lookup site: an affected customer's address → {'affected' if affected_answer else 'not affected'}; "
                      f"{NOT_A_CUSTOMER} → {'affected' if other_answer else 'not affected'}", highlight=False, soft_wrap=True)  # fmt: skip
    ctx.story.append(("notify + lookup", "emailed everyone, no way to check",
                      f"{len(recipients):,} notices, a lookup site", took))  # fmt: skip
