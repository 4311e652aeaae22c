"""The destination check that runs before a copy writes anything: the exposure audit of ``dataward scan``.

A destination fails when someone could read it without valid credentials (no auth, default or empty
credentials, world-readable file), when any exposure rule rates it high or worse, when it cannot be probed
at all (fail closed: unknown security is unsafe), or, with ``require_tls``, when it does not demand TLS.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from dataward.errors import DatawardError
from dataward.exposure.base import Contents, evaluate
from dataward.findings import Finding, Severity
from dataward.stores.base import Budget, ExposureFacts, is_local, store_for
from dataward.tables.base import file_path
from dataward.targets import Target


@dataclass(frozen=True)
class DestinationAudit:
    target: str  # redacted
    problems: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def safe(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        return "; ".join(self.problems)


def audit_destination(dest: Target, *, require_tls: bool = False, budget: Budget | None = None) -> DestinationAudit:
    """Probe the destination the way an attacker would and list every reason it is not safe to copy into."""
    if is_local(dest.scheme) and not _exists(dest):
        _check_creatable(dest)
        return DestinationAudit(dest.display)  # created by the copy itself, readable by its owner only
    try:
        facts = store_for(dest).probe(dest, budget or Budget())
    except DatawardError as exc:
        return DestinationAudit(dest.display, (f"its security cannot be checked ({exc.message.rstrip('.')})",))
    if not facts.reachable:
        raise DatawardError(
            f"cannot reach the destination {dest.display}: {facts.error or 'no answer'}",
            tip="check the URL and that the server is running",
        )
    findings = tuple(evaluate(facts, Contents()))
    return DestinationAudit(dest.display, _problems(facts, findings, require_tls), findings)


def _problems(facts: ExposureFacts, findings: tuple[Finding, ...], require_tls: bool) -> tuple[str, ...]:
    out: list[str] = []
    if facts.anonymous_access:
        out.append("it is readable without credentials")
    if facts.default_credentials:
        out.append(f"it accepts default credentials ({facts.default_credentials})")
    if facts.details.get("world_readable") or facts.details.get("world_writable"):
        out.append("its files are readable or writable by every local account (chmod 600 / 700 them)")
    if facts.details.get("web_root"):
        out.append("it lies in a web server's document root")
    for f in findings:
        if f.severity >= Severity.HIGH:
            out.append(f"{f.rule}: {f.title}")
    if require_tls and not facts.tls_required and facts.scope != "local-file":
        out.append("it does not require TLS, which the policy requires")
    return tuple(dict.fromkeys(out))


def _check_creatable(dest: Target) -> None:
    """A local destination that will be created must have a folder we can write in (not /proc, not a file)."""
    path = Path(file_path(dest))
    try:
        fd, probe = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except OSError as exc:
        raise DatawardError(f"cannot create the destination {dest.display} ({exc.strerror})") from None
    os.close(fd)
    Path(probe).unlink(missing_ok=True)


def _exists(dest: Target) -> bool:
    try:
        path = file_path(dest)
    except DatawardError:
        return False
    return Path(path).exists()
