"""Compiled Hyperscan databases, cached on disk by what they were compiled from.

Compiling every detector's patterns takes about half a second, which every scan, classify and watch process
paid again. A compiled database is a few MB and holds only the patterns (no data); it is written owner-only
under ``$DATAWARD_CACHE_DIR/hyperscan`` (default ``$XDG_CACHE_HOME/dataward/hyperscan``, that is
``~/.cache/dataward/hyperscan``; ``DATAWARD_CACHE_DIR=off`` switches the cache off). The file name is a hash of the
Hyperscan version, the mode and every expression, id and flag, so a changed pattern never meets a stale database.
A file that does not load (corrupt, another CPU, another Hyperscan) is compiled again and replaced; a folder that
cannot be written only costs the compile.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import hyperscan as hs

from dataward.errors import DatawardError
from dataward.files import atomic_write


def cache_dir() -> Path | None:
    """Where compiled databases live, or None when the cache is switched off."""
    explicit = os.environ.get("DATAWARD_CACHE_DIR", "")
    if explicit.lower() == "off":
        return None
    if explicit:
        return Path(explicit) / "hyperscan"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dataward" / "hyperscan"


def compiled(expressions: list[bytes], ids: list[int], flags: list[int], mode: int = hs.HS_MODE_BLOCK) -> hs.Database:
    """The Hyperscan database of these expressions: from the cache when it holds it, else compiled (and cached)."""
    folder = cache_dir()
    path = folder / f"{_key(expressions, ids, flags, mode)}.hsdb" if folder else None
    db = _load(path, mode) if path else None
    if db is None:
        db = hs.Database(mode=mode)
        db.compile(expressions=expressions, ids=ids, elements=len(ids), flags=flags)
        if path:
            _store(path, db)
    return db


def _key(expressions: list[bytes], ids: list[int], flags: list[int], mode: int) -> str:
    version = getattr(hs, "__version__", "?")
    digest = hashlib.sha256(f"{version}|{mode}|{ids}|{flags}".encode())
    for expression in expressions:
        digest.update(len(expression).to_bytes(8, "big") + expression)
    return digest.hexdigest()[:32]


def _load(path: Path, mode: int) -> hs.Database | None:
    try:
        db = hs.loadb(path.read_bytes(), mode=mode)
        db.scratch = hs.Scratch(db)
    except (OSError, hs.error):
        return None
    return db


def _store(path: Path, db: hs.Database) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(path, hs.dumpb(db), mode=0o600, what="the Hyperscan cache")
    except (OSError, DatawardError):
        pass
