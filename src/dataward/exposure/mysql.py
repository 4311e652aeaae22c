"""MySQL/MariaDB-specific rules: anonymous accounts and accounts without a password that remote hosts match.

These read ``mysql.user`` / ``mysql.global_priv`` facts (only when the probing login may read them), so they
catch weak accounts even when the login the probe tried first was refused. The generic families cover the
rest: ``mysql.no-auth`` (the anonymous account let the probe in), ``mysql.default-credentials`` (root with
an empty password), ``mysql.tls-not-required`` (``require_secure_transport = OFF``) and ``mysql.public-bind``
(``bind_address`` = ``*`` / ``0.0.0.0`` / ``::``).
"""

from __future__ import annotations

from collections.abc import Iterator

from dataward.exposure._generic import contents_note, exposure_severity
from dataward.exposure.base import Contents, Hit, exposure_rule
from dataward.findings import Severity
from dataward.stores.base import ExposureFacts

_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_ANON_FIX = "Drop the anonymous accounts (DROP USER ''@'host'), as mysql_secure_installation does."
_NOPASS_FIX = "Set a password (ALTER USER ... IDENTIFIED BY ...) or restrict the account's host to localhost."


def _host(account: str) -> str:
    """"'app'@'%'" -> "%"."""
    return account.rpartition("@")[2].strip("'")


def remote_accounts(accounts: list[str]) -> list[str]:
    """Accounts a client on another host can match ('%', a network, a name that is not this host)."""
    return [a for a in accounts if _host(a) not in _LOCAL_HOSTS]


@exposure_rule(
    "mysql.anonymous-user",
    stores=("mysql",),
    summary="An anonymous account (empty user name) exists: any user name may log in from its host.",
    remediation=_ANON_FIX,
)
def anonymous_user(facts: ExposureFacts, contents: Contents) -> Iterator[Hit]:
    accounts = list(facts.details.get("anonymous_users") or ())
    if not accounts:
        return
    remote = remote_accounts(accounts)
    yield Hit(severity=Severity.HIGH if remote else Severity.LOW,
        title=f"MySQL/MariaDB has {len(accounts)} anonymous account(s){contents_note(contents)}",
        evidence="anonymous accounts: " + ", ".join(accounts[:5]) + ("" if remote else " (local hosts only)"),
    )


@exposure_rule(
    "mysql.passwordless-remote-user",
    stores=("mysql",),
    summary="An account without a password matches remote hosts ('%' or a network).",
    remediation=_NOPASS_FIX,
)
def passwordless_remote_user(facts: ExposureFacts, contents: Contents) -> Iterator[Hit]:
    remote = remote_accounts(list(facts.details.get("passwordless_users") or ()))
    if not remote:
        return
    yield Hit(severity=exposure_severity(contents),
        title=f"MySQL/MariaDB account(s) without a password reachable from other hosts{contents_note(contents)}",
        evidence="accounts with an empty password: " + ", ".join(remote[:5]),
    )
