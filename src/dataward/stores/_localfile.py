"""Facts about files on this machine (SQLite/DuckDB databases, Parquet/CSV/JSON exports).

A file has no login and no transport: who can read it is decided by its permission bits, those of the
folders above it, and whether a web server publishes the folder it sits in. Only ``os.stat`` is used;
nothing is opened for writing. Record counts come from dataward.tables (read-only queries).

``details`` keys (every file kind): ``files`` (how many files the URL names), ``paths`` (up to 20),
``mode`` (octal permission bits of the first file, e.g. ``0644``), ``owner``, ``size_bytes`` (total),
``world_readable`` / ``world_writable`` / ``group_readable`` (paths whose bits allow it and whose folders
let others through), ``web_root`` (paths inside a web server's document root, and the root that matched).
"""

from __future__ import annotations

import glob
import os
import pwd
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dataward.stores.base import ExposureFacts
from dataward.targets import Target

# Document roots of common web servers (Debian nginx/apache, lighttpd, Caddy) and the folder names that
# mean "served as is" in web projects.
WEB_ROOT_PREFIXES = ("/var/www", "/srv/www", "/srv/http", "/usr/share/nginx/html", "/var/lib/nginx/html")
WEB_ROOT_NAMES = frozenset({"htdocs", "public_html", "wwwroot", "webroot", "www"})
MAX_LISTED = 20
MAX_COUNT_BYTES = 64 * 1024 * 1024  # CSV/JSON bigger than this: no record count in a probe (it would parse all)


def file_path(target: Target) -> Path:
    """The local path of a file URL (the table layer's rule, imported lazily with it)."""
    from dataward.tables.base import file_path as tables_file_path

    return tables_file_path(target)


def expand_paths(path: Path) -> list[Path]:
    """The files a URL names: a glob, one file, or every data file of a folder."""
    text = str(path)
    if glob.has_magic(text):
        return sorted(Path(p) for p in glob.glob(text) if Path(p).is_file())
    if path.is_dir():
        suffixes = (".parquet", ".csv", ".json", ".jsonl", ".ndjson", ".db", ".sqlite", ".duckdb")
        return sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in suffixes)
    return [path] if path.is_file() else []


def others_can_reach(path: Path, bit: int) -> bool:
    """Is ``bit`` (S_IROTH/S_IWOTH) set on the file, and can others traverse every folder above it?"""
    try:
        if not os.stat(path).st_mode & bit:
            return False
        return all(os.stat(parent).st_mode & stat.S_IXOTH for parent in path.resolve().parents)
    except OSError:
        return False


def web_root_of(path: Path) -> str | None:
    """The web document root this path sits in, if any."""
    resolved = str(path.resolve())
    for prefix in WEB_ROOT_PREFIXES:
        if resolved == prefix or resolved.startswith(prefix + "/"):
            return prefix
    for parent in path.resolve().parents:
        if parent.name in WEB_ROOT_NAMES:
            return str(parent)
    return None


def _owner(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def file_facts(
    target: Target, store: str, paths: list[Path], count_records: Callable[[], int | None], version: str | None = None
) -> ExposureFacts:
    """Permission, web-root and size facts of the files behind one URL."""
    if not paths:
        return ExposureFacts(target=target.display, store=store, reachable=False, scope="local-file",
                             error="no such file", name=target.name)
    first = os.stat(paths[0])
    web = {str(p): root for p in paths if (root := web_root_of(p))}
    details: dict[str, Any] = {
        "files": len(paths),
        "paths": [str(p) for p in paths[:MAX_LISTED]],
        "mode": f"{stat.S_IMODE(first.st_mode):04o}",
        "owner": _owner(first.st_uid),
        "size_bytes": sum(os.stat(p).st_size for p in paths),
        "world_readable": [str(p) for p in paths if others_can_reach(p, stat.S_IROTH)][:MAX_LISTED],
        "world_writable": [str(p) for p in paths if others_can_reach(p, stat.S_IWOTH)][:MAX_LISTED],
        "group_readable": [str(p) for p in paths if os.stat(p).st_mode & stat.S_IRGRP][:MAX_LISTED],
        "web_root": web,
    }
    try:
        records = count_records()
        readable = True
    except Exception as exc:  # a corrupt or locked file is a fact, never a traceback
        records, readable = None, False
        details["read_error"] = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return ExposureFacts(
        target=target.display,
        store=store,
        reachable=True,
        version=version,
        auth_required=None,  # files have no login: permissions decide (see exposure/files.py)
        scope="local-file",
        readable=readable,
        records=records,
        details=details,
        name=target.name,
    )


def table_records(target: Target) -> int | None:
    """Total estimated rows over every table behind the URL, through the table layer."""
    from dataward.tables import open_tables

    with open_tables(target) as tables:
        return sum(tables.estimate_rows(t) for t in tables.list_tables())
