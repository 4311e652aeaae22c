"""Rules for data files on disk (SQLite, DuckDB, Parquet/CSV/JSON exports): world-readable, world-writable,
inside a web server's document root.

Registered once under ``files.<rule>`` for the kinds ``sqlite``, ``duckdb`` and ``file``; findings carry
``<kind>.<rule>`` (``sqlite.world-readable``, ``file.web-root``). A file has no login, so "anyone" here means
any local account (world-readable) or anyone the web server answers (web root).
"""

from __future__ import annotations

from collections.abc import Iterator

from dataward.exposure._generic import (
    contents_note,
    exposure_severity,
    make_finding,
    sensitive_tier,
    store_name,
)
from dataward.exposure.base import Contents, exposure_rule
from dataward.findings import Finding, Severity
from dataward.stores.base import ExposureFacts

FILE_KINDS = ("sqlite", "duckdb", "file")
_READ_FIX = "Remove read access for others (chmod o-r, or 0600 for the owner alone) and keep exports in a private folder."
_WRITE_FIX = "Remove write access for others (chmod o-w)."
_WEB_FIX = "Move the file out of the web server's document root (and rotate anything it held)."


def _shown(paths: list[str]) -> str:
    return ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


@exposure_rule("files.world-readable", stores=FILE_KINDS,
               summary="Any local account can read the file (permission bits and folders allow it).",
               remediation=_READ_FIX)
def world_readable(facts: ExposureFacts, contents: Contents) -> Iterator[Finding]:
    paths = list(facts.details.get("world_readable") or ())
    if not facts.reachable or not paths:
        return
    yield make_finding(
        f"{facts.store}.world-readable", facts, contents,
        severity=Severity.HIGH if sensitive_tier(contents) else Severity.LOW,
        title=f"{store_name(facts.store)} is readable by every local account{contents_note(contents)}",
        evidence=f"mode {facts.details.get('mode')} owner {facts.details.get('owner')}: {_shown(paths)}",
        fix=_READ_FIX,
    )


@exposure_rule("files.world-writable", stores=FILE_KINDS,
               summary="Any local account can change the file.", remediation=_WRITE_FIX)
def world_writable(facts: ExposureFacts, contents: Contents) -> Iterator[Finding]:
    paths = list(facts.details.get("world_writable") or ())
    if not facts.reachable or not paths:
        return
    yield make_finding(
        f"{facts.store}.world-writable", facts, contents, severity=Severity.MEDIUM,
        title=f"{store_name(facts.store)} is writable by every local account",
        evidence=f"mode {facts.details.get('mode')}: {_shown(paths)}", fix=_WRITE_FIX,
    )


@exposure_rule("files.web-root", stores=FILE_KINDS,
               summary="The file sits in a web server's document root, where a URL may serve it.",
               remediation=_WEB_FIX)
def web_root(facts: ExposureFacts, contents: Contents) -> Iterator[Finding]:
    web: dict[str, str] = dict(facts.details.get("web_root") or {})
    if not facts.reachable or not web:
        return
    readable = set(facts.details.get("world_readable") or ()) | set(facts.details.get("group_readable") or ())
    served = [p for p in web if p in readable]
    severity = exposure_severity(contents) if served else Severity.MEDIUM
    roots = sorted(set(web.values()))
    yield make_finding(
        f"{facts.store}.web-root", facts, contents, severity=severity,
        title=f"{store_name(facts.store)} sits in a web document root{contents_note(contents)}",
        evidence=f"under {', '.join(roots[:3])}: {_shown(sorted(web))}"
        + ("" if served else " (not readable by others now)"),
        fix=_WEB_FIX,
    )
