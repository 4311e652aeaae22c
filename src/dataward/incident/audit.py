"""Append-only, hash-chained audit log of every respond/notify action, with Ed25519-signed checkpoints.

Each line is ``{"hash":"<sha256 of the rest>","prev":"<hash of the line before>","seq":N,...}``: the hash
covers the entry's own bytes after the ``"hash"`` member, and ``prev`` commits to the previous entry, so an
edited, removed, inserted or reordered line breaks the chain at a nameable entry. Every
``checkpoint_every`` entries (and when a job ends) a checkpoint entry carries an Ed25519 signature over
``(seq, prev)``: whoever rewrites the chain after an edit must also forge the signature. Entries after the
last checkpoint are only as trustworthy as the file's storage (verify reports how many there are).
Checking needs only SHA-256 of each line and no JSON parsing of ordinary entries, so a million entries
verify in a couple of seconds.
"""

from __future__ import annotations

import base64
import fcntl
import functools
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dataward.errors import DatawardError
from dataward.incident.store import now_iso

GENESIS = "0" * 64
_HEAD = b'{"hash":"'  # every line starts with this, then 64 hex digits, then '",'
_BODY_AT = len(_HEAD) + 64 + 2
_PREV = b'"prev":"'
SIGNED_CONTEXT = "dataward.audit/v1"


def _body(entry: dict[str, Any]) -> bytes:
    """The canonical bytes an entry's hash covers: '"prev":…,"seq":…,…}' with sorted keys after prev/seq."""
    ordered = {
        "prev": entry["prev"],
        "seq": entry["seq"],
        **{k: entry[k] for k in sorted(entry) if k not in ("prev", "seq")},
    }
    text = json.dumps(ordered, separators=(",", ":"), ensure_ascii=True, default=str)
    return text[1:].encode()  # without the opening brace: the line restores it before "hash"


def _signed_message(seq: int, prev: str) -> bytes:
    return f"{SIGNED_CONTEXT}|{seq}|{prev}".encode()


def default_key_path(log: Path) -> Path:
    return log.with_name(log.name + ".key")


def default_public_key_path(log: Path) -> Path:
    return log.with_name(log.name + ".pub")


def load_or_create_key(path: Path, public_path: Path) -> Ed25519PrivateKey:
    """The signing key at ``path``; a new one (mode 0600, public half next to the log) if none exists."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise DatawardError(
                f"{path} is not an Ed25519 private key",
                tip="generate one with `openssl genpkey -algorithm ed25519`",
            )
        return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    public_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return key


class AuditLog:
    """Appends entries under an exclusive file lock, so concurrent jobs keep one chain."""

    def __init__(
        self, path: str | Path, key_path: str | Path | None = None, checkpoint_every: int = 1000
    ) -> None:
        self.path = Path(path)
        self._key_path = Path(key_path) if key_path else default_key_path(self.path)
        self.checkpoint_every = checkpoint_every
        self._since_checkpoint = 0

    @functools.cached_property
    def key(self) -> Ed25519PrivateKey:
        """The signing key, created on first use so a job refused before its first entry leaves no files."""
        return load_or_create_key(self._key_path, default_public_key_path(self.path))

    def append(self, action: str, **data: Any) -> str:
        """Add one entry; returns its hash."""
        return self.extend([{"action": action, **data}])

    def extend(self, entries: list[dict[str, Any]]) -> str:
        """Add entries atomically with respect to other writers (one lock, one write)."""
        with open(self.path, "ab+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                prev, seq = _tail(fh)
                out = bytearray()
                for data in entries:
                    prev, seq, line = self._line(prev, seq + 1, data)
                    out += line
                    self._since_checkpoint += 1
                    if self._since_checkpoint >= self.checkpoint_every:
                        prev, seq, line = self._checkpoint_line(prev, seq + 1)
                        out += line
                fh.write(out)
                fh.flush()
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        return prev

    def checkpoint(self) -> None:
        """Sign the head now (called when a job ends, so all its entries are covered)."""
        with open(self.path, "ab+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                prev, seq = _tail(fh)
                if seq == 0 or self._tail_is_checkpoint(fh):
                    return
                _, _, line = self._checkpoint_line(prev, seq + 1)
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _line(self, prev: str, seq: int, data: dict[str, Any]) -> tuple[str, int, bytes]:
        entry = {"ts": now_iso(), **data, "prev": prev, "seq": seq}
        body = _body(entry)
        digest = hashlib.sha256(body).hexdigest()
        return digest, seq, _HEAD + digest.encode() + b'",' + body + b"\n"

    def _checkpoint_line(self, prev: str, seq: int) -> tuple[str, int, bytes]:
        self._since_checkpoint = 0
        signature = self.key.sign(_signed_message(seq, prev))
        return self._line(prev, seq, {"action": "checkpoint", "sig": base64.b64encode(signature).decode()})

    @staticmethod
    def _tail_is_checkpoint(fh: Any) -> bool:
        last = _last_line(fh)
        return b'"action":"checkpoint"' in last


def _last_line(fh: Any) -> bytes:
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    if size == 0:
        return b""
    block = min(size, 4096)
    while True:
        fh.seek(size - block)
        chunk = fh.read(block)
        lines = chunk.rstrip(b"\n").split(b"\n")
        if len(lines) > 1 or block == size:
            return lines[-1]
        block = min(size, block * 4)


def _tail(fh: Any) -> tuple[str, int]:
    """(hash, seq) of the last entry, or the genesis values for an empty log."""
    last = _last_line(fh)
    if not last:
        return GENESIS, 0
    try:
        entry = json.loads(last)
        return str(entry["hash"]), int(entry["seq"])
    except (ValueError, KeyError) as exc:
        raise DatawardError(
            "the last line of the audit log is damaged",
            tip="run `dataward incident audit verify` to find where",
        ) from exc


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    checkpoints: int
    unsigned_tail: int  # entries after the last valid checkpoint
    bad_entry: int | None = None  # 1-based line number of the first bad entry
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "dataward.audit_verify/v1",
            "ok": self.ok,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "unsigned_tail": self.unsigned_tail,
            "bad_entry": self.bad_entry,
            "reason": self.reason,
        }


def verify_log(path: str | Path, public_key: str | Path | None = None) -> Verification:
    """Walk the whole chain; the first entry whose bytes, link or signature do not hold is named."""
    log = Path(path)
    if not log.exists():
        raise DatawardError(f"the audit log {log} does not exist", tip="pass the path of the log to verify")
    pub_path = Path(public_key) if public_key else default_public_key_path(log)
    key = _load_public(pub_path)
    prev, count, checkpoints, since = GENESIS, 0, 0, 0
    with open(log, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            line = raw.rstrip(b"\n")
            reason = _check_line(line, prev)
            if reason is None and b'"action":"checkpoint"' in line:
                reason = _check_checkpoint(line, key, number)
                if reason is None:
                    checkpoints, since = checkpoints + 1, -1
            if reason:
                return Verification(False, number - 1, checkpoints, since, number, reason)
            prev, count, since = line[len(_HEAD) : len(_HEAD) + 64].decode(), number, since + 1
    return Verification(True, count, checkpoints, since)


def _check_line(line: bytes, prev: str) -> str | None:
    if not line.startswith(_HEAD) or line[_BODY_AT - 2 : _BODY_AT] != b'",' or not line.endswith(b"}"):
        return "the entry is not in the audit line format"
    body = line[_BODY_AT:]
    if hashlib.sha256(body).hexdigest().encode() != line[len(_HEAD) : len(_HEAD) + 64]:
        return "the entry's content does not match its hash (edited)"
    if body[: len(_PREV)] != _PREV or body[len(_PREV) : len(_PREV) + 64] != prev.encode():
        return "the entry does not follow the one before it (an entry was removed, inserted or reordered)"
    return None


def _check_checkpoint(line: bytes, key: Ed25519PublicKey | None, number: int) -> str | None:
    try:
        entry = json.loads(line)
    except ValueError:
        return "the checkpoint entry is not valid JSON"
    if entry.get("action") != "checkpoint":
        return None  # an ordinary entry that merely mentions the word
    if entry.get("seq") != number:
        return f"the checkpoint's sequence number {entry.get('seq')} is not its position {number}"
    if key is None:
        return "the log has signed checkpoints but no public key was found to check them"
    try:
        key.verify(base64.b64decode(entry["sig"]), _signed_message(int(entry["seq"]), str(entry["prev"])))
    except (InvalidSignature, KeyError, ValueError):
        return "the checkpoint's signature is not valid for the public key"
    return None


def _load_public(path: Path) -> Ed25519PublicKey | None:
    if not path.exists():
        return None
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise DatawardError(f"{path} is not an Ed25519 public key")
    return key
