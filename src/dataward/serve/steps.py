"""The incident steps that run as background jobs of the control plane: the response playbook (``incident
respond``) and the customer notices (``incident notify``), with the incident library's own functions.

Both are started by a responder from the API or the incident page, check what they need before they start
(400 with a sentence and a tip when serve was started without it), run in :attr:`Plane.jobs
<dataward.serve.views.Plane>` (409 while one of the same step runs for the incident) and are audited
(``incident.respond``, ``incident.notify``) with the user's name. Resuming and exactly-once are the library's:
the playbook skips the batches its ledger has done, the notices are written ahead in the notify ledger, so a
second run, or a run after a restart, repeats no side effect and sends no notice twice. The blast radius and
the lookup build may run as jobs too (the incident page's buttons, ``?background=true`` on the API), with the
same library calls as their synchronous answers::

    start_respond(plane, name, user, dry_run=False) -> dataward.job/v1 (state running)
    start_notify(plane, name, user, limit=None)     -> dataward.job/v1 (state running)
    start_blast_radius(plane, name, user)           -> dataward.job/v1 (result: affected_customers)
    start_lookup(plane, name, user)                 -> dataward.job/v1 (result: the build's answer)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dataward.errors import DatawardError
from dataward.incident import ops as incident_ops
from dataward.incident.audit import AuditLog
from dataward.serve import views
from dataward.serve.accounts import User
from dataward.serve.jobs import DONE, FAILED, Checkpoint, Hooks, Job, Running, Work
from dataward.serve.views import Conflict, NotFound, Plane, record
from dataward.targets import redact_url

RESPOND_SCHEMA = "dataward.respond/v1"


def start_respond(plane: Plane, name: str, user: User, *, dry_run: bool = False) -> dict[str, Any]:
    """Run the playbook of ``serve --playbook`` for the incident in the background (``dry_run``: count only)."""
    from dataward.incident.respond import load_playbook, run_playbook

    _check_incident(plane, name)
    if not plane.steps.playbook:
        raise DatawardError("no response playbook is configured: start `dataward serve` with --playbook FILE (or "
                            "DATAWARD_PLAYBOOK) to run it from the control plane",
                            tip=f"or run `dataward incident respond {name} --playbook FILE` from a shell")
    book = load_playbook(plane.steps.playbook)
    if book.scope == "affected":
        _check_blast_radius(plane, name)

    def work(checkpoint: Checkpoint) -> dict[str, Any]:
        audit = None if dry_run else audit_log(plane)
        reports = run_playbook(plane.incidents, name, book, dry_run=dry_run, source=plane.source, audit=audit,
                               fault=checkpoint, schema=plane.schema)
        return {"schema": RESPOND_SCHEMA, "dry_run": dry_run, "steps": [r.to_json() for r in reports]}

    job = _start(plane, name, "respond", user, work, {"dry_run": dry_run})
    record(plane.engine, user, "incident.respond", name,
           {"job": job.id, "dry_run": dry_run, "playbook": Path(plane.steps.playbook).name})
    return job.to_json()


def start_notify(plane: Plane, name: str, user: User, *, limit: int | None = None, resend_uncertain: bool = False,
                 reconcile_log: str | None = None) -> dict[str, Any]:
    """Send the incident's notices through ``serve --smtp`` in the background (``limit``: at most that many;
    ``resend_uncertain`` and ``reconcile_log``, the mail log's text: `incident notify`'s recovery options for the
    notices a crash left ``uncertain``). The log is only compared: neither the job nor the audit keeps it."""
    from dataward.incident.notify import load_templates, log_message_ids, reconcile_from_text, send_notices

    _check_incident(plane, name)
    steps = plane.steps
    if not steps.smtp:
        raise DatawardError("no mail server is configured: start `dataward serve` with --smtp URL (or "
                            "DATAWARD_SMTP) to send notices from the control plane",
                            tip=f"or run `dataward incident notify {name} --smtp URL` from a shell")
    load_templates(steps.template_dir)  # a folder that lost a template or gained a link: refused now
    _check_blast_radius(plane, name)
    smtp = steps.smtp
    if reconcile_log is not None and not log_message_ids(reconcile_log):
        raise DatawardError("the mail log holds no Message-ID (<…@…>) to settle the uncertain notices with",
                            tip="send the mail system's log, or its message-id=<…> lines")
    reconcile = reconcile_from_text(reconcile_log) if reconcile_log is not None else None

    def work(checkpoint: Checkpoint) -> dict[str, Any]:
        report = send_notices(plane.incidents, name, smtp, template_dir=steps.template_dir, sender=steps.sender,
                              company=steps.company, lookup_address=steps.lookup_address, source=plane.source,
                              audit=audit_log(plane), fault=checkpoint, limit=limit, schema=plane.schema,
                              reconcile=reconcile, resend_uncertain=resend_uncertain)
        return report.to_json()

    options = {"limit": limit, "resend_uncertain": resend_uncertain, "reconcile_log": reconcile is not None}
    job = _start(plane, name, "notify", user, work, options)
    record(plane.engine, user, "incident.notify", name, {"job": job.id, **options, "smtp": redact_url(smtp)})
    return job.to_json()


def start_blast_radius(plane: Plane, name: str, user: User, *, exposed: str | None = None,
                       classification: dict[str, Any] | None = None, policy: Any = None) -> dict[str, Any]:
    """Compute the incident's blast radius from ``serve --source`` in the background (``compute_blast_radius``,
    with its ``exposed`` (a store of ``policy``) and ``classification``, audited when it is kept, as the
    synchronous call); the job's result is how many customers it affects."""
    return _blast_radius_job(plane, name, user, exposed, classification, policy).to_json()


def run_blast_radius(plane: Plane, name: str, user: User, *, exposed: str | None = None,
                     classification: dict[str, Any] | None = None, policy: Any = None) -> dict[str, Any]:
    """The synchronous answer (``dataward.blast_radius/v1``): the same job, waited for, so that it takes its turn
    with the background ones (409 while one runs) instead of writing the same artifacts at the same time."""
    _finished(plane, _blast_radius_job(plane, name, user, exposed, classification, policy))
    return views.blast_radius_document(plane, name)


def _blast_radius_job(plane: Plane, name: str, user: User, exposed: str | None,
                      classification: dict[str, Any] | None, policy: Any) -> Job:
    views.blast_radius_source(plane, name)  # 404 / 400 now, not in the job
    views.exposed_store(plane, name, exposed, policy, has_classification=classification is not None)  # 400 now

    def work(hooks: Hooks) -> dict[str, Any]:
        radius = views.compute_blast_radius(plane, name, user, exposed=exposed, classification=classification,
                                            policy=policy, progress=hooks.progress)
        return {"affected_customers": radius.get("affected_customers")}

    return _start(plane, name, "blast_radius", user, work, {})


def start_lookup(plane: Plane, name: str, user: User) -> dict[str, Any]:
    """Build the incident's lookup site in the background (``build_lookup_site``, audited when built); the
    job's result is the build's answer (the site's shape and counts, never an email)."""
    return _lookup_job(plane, name, user).to_json()


def run_lookup(plane: Plane, name: str, user: User) -> dict[str, Any]:
    """The synchronous answer (the build's): the same job, waited for (as :func:`run_blast_radius`)."""
    return _finished(plane, _lookup_job(plane, name, user))


def _lookup_job(plane: Plane, name: str, user: User) -> Job:
    views.lookup_build_dir(plane, name)
    return _start(plane, name, "lookup", user,
                  lambda hooks: views.build_lookup_site(plane, name, user, hooks.progress), {})


def _finished(plane: Plane, job: Job) -> dict[str, Any]:
    """The result of a job once it has ended; its error as the sentence it ended with."""
    plane.jobs.wait(job)
    if job.state == DONE:
        return job.result or {}
    if job.state == FAILED:
        raise DatawardError(job.error or f"the {job.step} job failed", tip=job.tip)
    raise DatawardError(f"the {job.step} job ended when the server stopped", tip="run it again once it is back")


def audit_log(plane: Plane) -> AuditLog:
    """The incident audit log the jobs append to: serve's ``--audit-log``, signed with ``--signing-key``."""
    return AuditLog(plane.audit_log or "dataward-audit.jsonl", plane.steps.signing_key)


def describe_respond(result: dict[str, Any]) -> str:
    """One line per run: what each step changed (or would change), as `incident respond` prints it."""
    verb = "would change" if result.get("dry_run") else "changed"
    parts = []
    for step in result.get("steps", []):
        counts = ", ".join(f"{k} {v:,}" for k, v in step.get("counts", {}).items() if v)
        text = f"{step['action']} {verb} {counts}" if counts else f"{step['action']} nothing to change"
        if step.get("unconfirmed"):
            text += f" ({len(step['unconfirmed']):,} never acknowledged: run it again to re-send to them)"
        parts.append(text)
    return "; ".join(parts) or "no step"


def describe_notify(result: dict[str, Any]) -> str:
    """As `incident notify` prints it, with its note when a crash left messages uncertain."""
    text = (f"sent {result['sent']:,}, already sent {result['already_sent']:,}, reconciled {result['reconciled']:,}, "
            f"resent {result['resent']:,}, uncertain {result['uncertain']:,}, without email {result['no_email']:,}")
    if result.get("uncertain"):
        text += ("; the uncertain ones are not sent again: settle them with `dataward incident notify "
                 "--reconcile-log` (the mail system's log)")
    return text


def describe_blast_radius(result: dict[str, Any]) -> str:
    return f"{int(result.get('affected_customers') or 0):,} customers affected"


def describe_lookup(result: dict[str, Any]) -> str:
    return (f"{int(result['files']):,} range files for {int(result['affected']):,} affected customers "
            f"({int(result['missing_email']):,} without an email)")


_DESCRIBE = {"respond": describe_respond, "notify": describe_notify, "blast_radius": describe_blast_radius,
             "lookup": describe_lookup}


def _start(plane: Plane, name: str, step: str, user: User, work: Work, options: dict[str, Any]) -> Job:
    try:
        return plane.jobs.start(name, step, user.name, work, _DESCRIBE[step], options)
    except Running as exc:
        raise Conflict(exc.message, tip=exc.tip) from None


def _check_incident(plane: Plane, name: str) -> None:
    if plane.incidents.find(name) is None:
        raise NotFound(f"there is no incident '{name[:64]}'")


def _check_blast_radius(plane: Plane, name: str) -> None:
    if plane.incidents.json_artifact(name, incident_ops.REPORT) is None:
        raise DatawardError(f"incident '{name}' has no blast radius yet",
                            tip="compute it first (the incident page's button, or POST "
                                f"/api/v1/incidents/{name}/blast-radius)")
