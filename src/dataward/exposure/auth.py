"""Generic authentication rules for every networked store kind: no auth, default/empty credentials.

Registered once as ``*.no-auth`` / ``*.default-credentials`` / ``*.auth-failed``; each finding's rule id is
``<store>.<rule>`` (see exposure/_generic.py). Evidence never contains a password: stores describe what
worked in words ("root with an empty password") and these rules only quote that.
"""

from __future__ import annotations

from collections.abc import Iterator

from dataward.exposure._generic import contents_note, exposure_severity
from dataward.exposure.base import Contents, Hit, exposure_rule
from dataward.findings import Severity
from dataward.stores.base import ExposureFacts, display_name

# Kinds whose listable names are schema-level identifiers (databases, buckets, indices), safe to quote;
# for key/topic stores only the count is quoted, since key names can embed customer data.
_NAMES_QUOTABLE = frozenset({"postgresql", "mysql", "s3", "elasticsearch", "opensearch", "mongodb"})


def listing_note(facts: ExposureFacts) -> str:
    """'; could list 3 databases (app, analytics, postgres)' or '' when nothing was listable."""
    if not facts.listable:
        return ""
    n = len(facts.listable)
    if facts.store in _NAMES_QUOTABLE:
        shown = ", ".join(facts.listable[:5]) + (", ..." if n > 5 else "")
        return f"; could list {n} object(s) ({shown})"
    return f"; could list {n} object(s)"


def _records_note(facts: ExposureFacts) -> str:
    return f"; about {facts.records:,} records" if facts.records else ""


@exposure_rule(
    "*.no-auth",
    local=False,
    summary="The store answers clients that present no credentials at all.",
    remediation="Require authentication for every client and restrict who can reach the store.",
)
def no_auth(facts: ExposureFacts, contents: Contents) -> Iterator[Hit]:
    if not facts.reachable:
        return
    if not (facts.anonymous_access or facts.auth_required is False):
        return
    how = facts.details.get("anonymous_how") or "no credentials were asked for"
    read = "; rows/values were readable" if facts.readable else ""
    yield Hit(severity=exposure_severity(contents),
        title=f"{display_name(facts.store)} answers without credentials{contents_note(contents)}",
        evidence=f"{how}{listing_note(facts)}{read}{_records_note(facts)}",
    )


@exposure_rule(
    "*.default-credentials",
    local=False,
    summary="The store accepts a well-known default or empty password.",
    remediation="Change the well-known default credentials to a unique secret held in a vault.",
)
def default_credentials(facts: ExposureFacts, contents: Contents) -> Iterator[Hit]:
    if not facts.reachable or not facts.default_credentials:
        return
    yield Hit(severity=exposure_severity(contents),
        title=f"{display_name(facts.store)} accepts default or empty credentials{contents_note(contents)}",
        evidence=f"logged in as {facts.default_credentials}{listing_note(facts)}{_records_note(facts)}",
    )


@exposure_rule(
    "*.auth-failed",
    summary="The credentials dataward was given were refused, so the audit saw only what anyone sees.",
    remediation="Check the credentials dataward was given (config value {env=..} or {file=..}).",
)
def auth_failed(facts: ExposureFacts, contents: Contents) -> Iterator[Hit]:
    if not facts.reachable or facts.authenticated is not False:
        return
    reason = facts.details.get("auth_error") or "the server refused them"
    yield Hit(severity=Severity.INFO,
        title=f"{display_name(facts.store)} refused the credentials in the target",
        evidence=str(reason),
    )
