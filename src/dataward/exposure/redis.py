"""Redis-specific rules: protected-mode off, only protected-mode in the way, the default user without a
password, and dangerous commands a passwordless client could run.

The generic families cover the rest (``redis.no-auth``, ``redis.default-credentials``, ``redis.public-bind``
for ``bind * -::*``, ``redis.no-tls``). Facts come from stores/redis.py (``details`` keys documented there).
"""

from __future__ import annotations

from collections.abc import Iterator

from dataward.exposure._generic import beyond_loopback, contents_note, exposure_severity, weak_config_severity
from dataward.exposure.base import Contents, Hit, exposure_rule
from dataward.findings import Severity
from dataward.stores.base import ExposureFacts

_PROTECTED_FIX = "Set a password (requirepass or ACL users) and keep protected-mode yes; bind a private interface."
_NOPASS_FIX = "ACL SETUSER default off (or resetpass + a password), and give each client its own ACL user."
_DANGEROUS_FIX = ("Require a password, and deny @dangerous for the default user (ACL SETUSER default -@dangerous) "
                  "or rename-command CONFIG/MODULE/DEBUG to \"\".")
# Commands that turn key-value access into code execution or data destruction.
_CODE_EXEC = ("CONFIG", "MODULE", "EVAL", "REPLICAOF", "SLAVEOF", "DEBUG", "MIGRATE")


def _passwordless(facts: ExposureFacts) -> bool:
    return bool(facts.anonymous_access or facts.default_credentials)


@exposure_rule(
    "redis.protected-mode-off",
    stores=("redis",),
    summary="Redis runs without a password and with protected-mode off, so any host that reaches it gets in.",
    remediation=_PROTECTED_FIX,
)
def protected_mode_off(facts: ExposureFacts, contents: Contents) -> Iterator[Hit]:
    if facts.details.get("protected_mode") is not False or not facts.anonymous_access:
        return
    wide = beyond_loopback(facts)
    severity = max(weak_config_severity(contents), Severity.MEDIUM if wide else Severity.LOW)
    where = f"listening on {facts.bind}" if facts.bind else "bind unknown"
    yield Hit(severity=severity,
        title=f"Redis has protected-mode off and no password{contents_note(contents)}",
        evidence=f"CONFIG GET protected-mode = no, requirepass empty; {where}",
    )


@exposure_rule(
    "redis.protected-mode-only",
    stores=("redis",),
    summary="Redis has no password; only protected-mode refuses clients from other hosts.",
    remediation=_PROTECTED_FIX,
)
def protected_mode_only(facts: ExposureFacts, contents: Contents) -> Iterator[Hit]:
    if not facts.details.get("denied_by_protected_mode"):
        return
    yield Hit(severity=weak_config_severity(contents),
        title="Redis has no password; only protected-mode keeps other hosts out",
        evidence="PING from a non-loopback address was answered -DENIED (protected mode, no password set); "
        "any local process, or one config change, exposes every key",
    )


@exposure_rule(
    "redis.default-user-nopass",
    stores=("redis",),
    summary="The ACL default user is enabled with 'nopass': every connection is logged in as it.",
    remediation=_NOPASS_FIX,
)
def default_user_nopass(facts: ExposureFacts, contents: Contents) -> Iterator[Hit]:
    d = facts.details
    if not (d.get("default_user_enabled") and d.get("default_user_nopass")):
        return
    yield Hit(severity=max(weak_config_severity(contents), Severity.MEDIUM if beyond_loopback(facts) else Severity.LOW),
        title=f"Redis's default ACL user needs no password{contents_note(contents)}",
        evidence="ACL GETUSER default: flags on, nopass",
    )


@exposure_rule(
    "redis.dangerous-commands",
    stores=("redis",),
    summary="A client without a (real) password may run CONFIG, MODULE, EVAL, FLUSHALL and similar commands.",
    remediation=_DANGEROUS_FIX,
)
def dangerous_commands(facts: ExposureFacts, contents: Contents) -> Iterator[Hit]:
    commands = list(facts.details.get("dangerous_commands") or ())
    if not commands or not _passwordless(facts):
        return
    code_exec = [c for c in commands if c in _CODE_EXEC]
    severity = exposure_severity(contents) if code_exec else Severity.MEDIUM
    how = "without a password" if facts.anonymous_access else f"as {facts.default_credentials}"
    yield Hit(severity=severity,
        title=f"Redis lets a client {how} run {', '.join(commands[:4])}{', ...' if len(commands) > 4 else ''}",
        evidence=f"permitted for user '{facts.details.get('user') or 'default'}' (COMMAND INFO + ACL DRYRUN, "
        f"none executed): {', '.join(commands)}",
    )
