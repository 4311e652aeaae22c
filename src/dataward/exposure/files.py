"""Rules for data files on disk (SQLite, DuckDB, Parquet/CSV/JSON exports): world-readable, world-writable,
inside a web server's document root.

Registered once under ``files.<rule>`` for the local kinds (``sqlite``, ``duckdb``, ``file``: ``local = True``); findings carry
``<kind>.<rule>`` (``sqlite.world-readable``, ``file.web-root``). A file has no login, so "anyone" here means
any local account (world-readable) or anyone the web server answers (web root).
"""

from __future__ import annotations

from collections.abc import Iterator

from dataward.exposure._generic import contents_note, exposure_severity, sensitive_tier
from dataward.exposure.base import Contents, Hit, exposure_rule
from dataward.findings import Severity
from dataward.stores.base import ExposureFacts, display_name

_READ_FIX = "Remove read access for others (chmod o-r, or 0600 for the owner alone) and keep exports in a private folder."
_WRITE_FIX = "Remove write access for others (chmod o-w)."
_WEB_FIX = "Move the file out of the web server's document root (and rotate anything it held)."


def _shown(paths: list[str]) -> str:
    return ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


@exposure_rule("files.world-readable", local=True,
               summary="Any local account can read the file (permission bits and folders allow it).",
               remediation=_READ_FIX)
def world_readable(facts: ExposureFacts, contents: Contents) -> Iterator[Hit]:
    paths = list(facts.details.get("world_readable") or ())
    if not facts.reachable or not paths:
        return
    yield Hit(severity=Severity.HIGH if sensitive_tier(contents) else Severity.LOW,
        title=f"{display_name(facts.store)} is readable by every local account{contents_note(contents)}",
        evidence=f"mode {facts.details.get('mode')} owner {facts.details.get('owner')}: {_shown(paths)}",
    )


@exposure_rule("files.world-writable", local=True,
               summary="Any local account can change the file.", remediation=_WRITE_FIX)
def world_writable(facts: ExposureFacts, contents: Contents) -> Iterator[Hit]:
    paths = list(facts.details.get("world_writable") or ())
    if not facts.reachable or not paths:
        return
    yield Hit(severity=Severity.MEDIUM,
        title=f"{display_name(facts.store)} is writable by every local account",
        evidence=f"mode {facts.details.get('mode')}: {_shown(paths)}",
    )


@exposure_rule("files.web-root", local=True,
               summary="The file sits in a web server's document root, where a URL may serve it.",
               remediation=_WEB_FIX)
def web_root(facts: ExposureFacts, contents: Contents) -> Iterator[Hit]:
    web: dict[str, str] = dict(facts.details.get("web_root") or {})
    if not facts.reachable or not web:
        return
    readable = set(facts.details.get("world_readable") or ()) | set(facts.details.get("group_readable") or ())
    served = [p for p in web if p in readable]
    severity = exposure_severity(contents) if served else Severity.MEDIUM
    roots = sorted(set(web.values()))
    yield Hit(severity=severity,
        title=f"{display_name(facts.store)} sits in a web document root{contents_note(contents)}",
        evidence=f"under {', '.join(roots[:3])}: {_shown(sorted(web))}"
        + ("" if served else " (not readable by others now)"),
    )
