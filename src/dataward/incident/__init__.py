"""Incident response: blast radius, obligations, response playbook, notices, lookup site, audit log.

The library API: :func:`dataward.incident.store.open_incident_db`, :func:`dataward.incident.blast_radius.compute`,
:func:`dataward.incident.respond.run_playbook`, :func:`dataward.incident.notify.send_notices`,
:func:`dataward.incident.lookup.build_site` / :func:`~dataward.incident.lookup.check_site` and
:class:`dataward.incident.audit.AuditLog` / :func:`~dataward.incident.audit.verify_log`.
"""
