"""Append-only, hash-chained audit log of every respond/notify action, with Ed25519-signed checkpoints.

Each line is ``{"hash":"<sha256 of the rest>","prev":"<hash of the line before>","seq":N,...}``: the hash
covers the entry's own bytes after the ``"hash"`` member, and ``prev`` commits to the previous entry, so an
edited, removed, inserted or reordered line breaks the chain at a nameable entry. Every
``checkpoint_every`` entries, and when a job ends, a checkpoint entry carries an Ed25519 signature over
``(count, head)``: the number of lines before it and the hash of the last one, like Certificate
Transparency's signed tree head (RFC 6962 §3.5). Whoever rewrites the chain must also forge a signature.

A log verifies only when every entry is covered by a valid checkpoint: no checkpoint, or entries after the
last one, is a failure that says how many are unsigned. The public key comes from the verifier
(``--public-key`` or a pinned ``--key-fingerprint``), never from a file beside the log, and the signing key
lives in the user's config folder by default, not beside the log. Cutting the log right after an earlier
checkpoint leaves only valid signatures: as in CT, only a head seen before catches it (``known_head``).
Checking needs only SHA-256 of each line and no JSON parsing of ordinary entries, so a million entries
verify in a couple of seconds.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import functools
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dataward.errors import DatawardError

GENESIS = "0" * 64
_GENESIS_B = GENESIS.encode()
_HEAD = b'{"hash":"'  # every line starts with this, then 64 hex digits, then '",'
_HASH_AT = len(_HEAD)
_HASH_END = _HASH_AT + 64
_BODY_AT = _HASH_END + 2
_PREV = b'"prev":"'
_PREV_AT = len(_PREV)
_SEQ_AT = _PREV_AT + 64  # body offset of '","seq":' (the end of prev)
_CHECKPOINT = b'"action":"checkpoint"'
SIGNED_CONTEXT = b"dataward.audit/v2"
KEY_NAME = "audit-ed25519"


def _body(entry: dict[str, Any]) -> bytes:
    """The canonical bytes an entry's hash covers: '"prev":…,"seq":…,…}' with sorted keys after prev/seq."""
    ordered = {
        "prev": entry["prev"],
        "seq": entry["seq"],
        **{k: entry[k] for k in sorted(entry) if k not in ("prev", "seq")},
    }
    text = json.dumps(ordered, separators=(",", ":"), ensure_ascii=True, default=str)
    return text[1:].encode()  # without the opening brace: the line restores it before "hash"


def _signed_message(count: int, head: str) -> bytes:
    """What a checkpoint signs: the number of lines before it and the hash of the last of them."""
    return b"%s|%d|%s" % (SIGNED_CONTEXT, count, head.encode())


def config_dir() -> Path:
    """dataward's per-user config folder: ``DATAWARD_CONFIG_DIR``, else the XDG config home's ``dataward``."""
    if os.environ.get("DATAWARD_CONFIG_DIR"):
        return Path(os.environ["DATAWARD_CONFIG_DIR"])
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "dataward"


def default_key_path() -> Path:
    """Where the signing key lives unless ``--signing-key`` says otherwise: away from any log."""
    return config_dir() / KEY_NAME


def public_key_path(key_path: Path) -> Path:
    return key_path.with_name(key_path.name + ".pub")


def fingerprint(key: Ed25519PublicKey) -> str:
    """``sha256:`` and the hex SHA-256 of the raw 32-byte public key."""
    return "sha256:" + hashlib.sha256(_raw(key)).hexdigest()


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _read_key_file(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DatawardError(f"cannot read the {what} {path}: {exc.strerror or exc}") from None


def load_private_key(path: Path) -> Ed25519PrivateKey:
    data = _read_key_file(path, "audit signing key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise DatawardError(
            f"{path} is not an unencrypted Ed25519 private key in PEM",
            tip="generate one with `openssl genpkey -algorithm ed25519 -out FILE`, or name a new file to create",
        )
    return key


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The signing key at ``path``; a new one (mode 0600, folder 0700, public half at PATH.pub) if none exists."""
    if path.exists():
        return load_private_key(path)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        public_key_path(path).write_bytes(public)
    except OSError as exc:
        raise DatawardError(
            f"cannot create the audit signing key {path}: {exc.strerror or exc}",
            tip="pass --signing-key FILE (env DATAWARD_AUDIT_KEY) in a folder you can write",
        ) from None
    return key


def write_public_key(key_path: Path) -> Path:
    """KEY.pub beside the signing key (written when missing); the file to copy to wherever verifiers keep it."""
    out = public_key_path(key_path)
    if not out.exists():
        public = load_or_create_key(key_path).public_key()
        pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        try:
            out.write_bytes(pem)
        except OSError as exc:
            raise DatawardError(f"cannot write the public key {out}: {exc.strerror or exc}") from None
    return out


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM, DER or an OpenSSH ``ssh-ed25519`` line."""
    file = Path(path)
    data = _read_key_file(file, "public key")
    if b"PRIVATE KEY" in data:
        raise DatawardError(
            f"{file} holds a private key", tip="give the verifier only the public half (the .pub file)"
        )
    for loader in (
        serialization.load_pem_public_key,
        serialization.load_der_public_key,
        serialization.load_ssh_public_key,
    ):
        try:
            key = loader(data)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            continue
        if isinstance(key, Ed25519PublicKey):
            return key
    raise DatawardError(
        f"{file} is not an Ed25519 public key (PEM, DER or OpenSSH)",
        tip="pass the .pub file written beside the signing key when it was created",
    )


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AuditLog:
    """Appends entries under an exclusive file lock, so concurrent jobs keep one chain."""

    def __init__(
        self, path: str | Path, key_path: str | Path | None = None, checkpoint_every: int = 1000
    ) -> None:
        self.path = Path(path)
        self.key_path = Path(key_path) if key_path else default_key_path()
        self.checkpoint_every = checkpoint_every
        self._since_checkpoint = 0

    @functools.cached_property
    def key(self) -> Ed25519PrivateKey:
        """The signing key, created on first use so a job refused before its first entry leaves no files."""
        return load_or_create_key(self.key_path)

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.key.public_key()

    def append(self, action: str, **data: Any) -> str:
        """Add one entry; returns its hash."""
        return self.extend([{"action": action, **data}])

    def extend(self, entries: list[dict[str, Any]]) -> str:
        """Add entries atomically with respect to other writers (one lock, one write)."""
        if any(e.get("action") == "checkpoint" for e in entries):
            raise ValueError("'checkpoint' entries are written by the log itself")
        self.key  # noqa: B018 (load or create the key before the log: a bad key leaves the log untouched)
        with self._locked() as fh:
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
        return prev

    def checkpoint(self) -> None:
        """Sign the head now (called when a job ends, so all its entries are covered)."""
        if not self.path.exists():
            return
        with self._locked() as fh:
            prev, seq = _tail(fh)
            if seq == 0 or _CHECKPOINT in _last_line(fh):
                return
            _, _, line = self._checkpoint_line(prev, seq + 1)
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    @functools.cached_property
    def _key_b64(self) -> str:
        return base64.b64encode(_raw(self.public_key)).decode()

    def _locked(self) -> _Locked:
        try:
            fh = open(self.path, "ab+")  # noqa: SIM115 (closed by _Locked)
        except OSError as exc:
            raise DatawardError(f"cannot write the audit log {self.path}: {exc.strerror or exc}") from None
        return _Locked(fh)

    def _line(self, prev: str, seq: int, data: dict[str, Any]) -> tuple[str, int, bytes]:
        entry = {"ts": _now(), **data, "prev": prev, "seq": seq}
        body = _body(entry)
        digest = hashlib.sha256(body).hexdigest()
        return digest, seq, _HEAD + digest.encode() + b'",' + body + b"\n"

    def _checkpoint_line(self, prev: str, seq: int) -> tuple[str, int, bytes]:
        self._since_checkpoint = 0
        signature = self.key.sign(_signed_message(seq - 1, prev))
        data = {"action": "checkpoint", "key": self._key_b64, "sig": base64.b64encode(signature).decode()}
        return self._line(prev, seq, data)


class _Locked:
    """An open log file held under an exclusive ``flock`` for the ``with`` block."""

    def __init__(self, fh: Any) -> None:
        self.fh = fh

    def __enter__(self) -> Any:
        fcntl.flock(self.fh, fcntl.LOCK_EX)
        return self.fh

    def __exit__(self, *exc: object) -> None:
        try:
            fcntl.flock(self.fh, fcntl.LOCK_UN)
        finally:
            self.fh.close()


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
            return bytes(lines[-1])
        block = min(size, block * 4)


def _tail(fh: Any) -> tuple[str, int]:
    """(hash, seq) of the last entry, or the genesis values for an empty log."""
    last = _last_line(fh)
    if not last:
        return GENESIS, 0
    try:
        entry = json.loads(last)
        return str(entry["hash"]), int(entry["seq"])
    except (ValueError, KeyError, TypeError) as exc:
        raise DatawardError(
            "the last line of the audit log is damaged",
            tip="run `dataward incident audit verify` to find where",
        ) from exc


@dataclass(frozen=True)
class Head:
    """A signed checkpoint's place: ``entries`` lines up to and including it, the last with ``hash``."""

    entries: int
    hash: str

    def __str__(self) -> str:
        return f"{self.entries}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> Head:
        count, _, digest = text.strip().partition(":")
        if not count.isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise DatawardError(
                f"'{text}' is not an audit head", tip="give COUNT:HASH as `audit verify` printed it"
            )
        return cls(int(count), digest)


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    checkpoints: int
    unsigned_tail: int  # entries after the last valid checkpoint
    bad_entry: int | None = None  # 1-based line number of the first bad entry
    reason: str = ""
    head: Head | None = None  # the last valid signed checkpoint

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "dataward.audit_verify/v2",
            "ok": self.ok,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "unsigned_tail": self.unsigned_tail,
            "bad_entry": self.bad_entry,
            "reason": self.reason,
            "head": {"entries": self.head.entries, "hash": self.head.hash} if self.head else None,
        }


@dataclass(frozen=True)
class _Trust:
    """The verifier's pinned key, or the pinned fingerprint a checkpoint's embedded key must have."""

    key: Ed25519PublicKey | None
    fingerprint: str | None

    def key_for(self, embedded: object) -> Ed25519PublicKey | str:
        """The key to check a checkpoint with, or why there is none."""
        if self.key is not None:
            return self.key
        try:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(str(embedded), validate=True))
        except (ValueError, binascii.Error):
            return "the checkpoint does not name a valid signing key"
        if fingerprint(key) != self.fingerprint:
            return f"the checkpoint is signed by key {fingerprint(key)}, not the pinned fingerprint"
        return key


def verify_log(
    path: str | Path,
    public_key: Ed25519PublicKey | str | Path | None = None,
    *,
    key_fingerprint: str | None = None,
    known_head: Head | None = None,
) -> Verification:
    """Walk the whole chain; ok only when every entry is covered by a checkpoint signed by the pinned key.

    The first entry whose bytes, link or signature do not hold is named; entries after the last checkpoint
    are counted as unsigned; ``known_head`` (a head seen earlier) must still be in the log.
    """
    trust = _trust(public_key, key_fingerprint)
    log = Path(path)
    try:
        fh = open(log, "rb")  # noqa: SIM115
    except OSError as exc:
        raise DatawardError(
            f"cannot read the audit log {log}: {exc.strerror or exc}", tip="pass the path of the log to verify"
        ) from None
    with fh:
        return _walk(fh, trust, known_head)


def _trust(public_key: Ed25519PublicKey | str | Path | None, key_fingerprint: str | None) -> _Trust:
    if public_key is not None:
        key = public_key if isinstance(public_key, Ed25519PublicKey) else load_public_key(public_key)
        if key_fingerprint and fingerprint(key) != _normal_fingerprint(key_fingerprint):
            raise DatawardError("the public key does not have the pinned fingerprint")
        return _Trust(key, None)
    if key_fingerprint:
        return _Trust(None, _normal_fingerprint(key_fingerprint))
    raise DatawardError(
        "verifying the audit log needs the signer's public key from a place you trust",
        tip="pass --public-key FILE (a copy kept away from the log) or --key-fingerprint sha256:HEX",
    )


def _normal_fingerprint(text: str) -> str:
    digest = text.strip().lower().removeprefix("sha256:")
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise DatawardError(f"'{text}' is not a key fingerprint", tip="give sha256: and 64 hex digits")
    return "sha256:" + digest


def _walk(fh: Any, trust: _Trust, known_head: Head | None) -> Verification:
    """One pass over the lines; the per-line work stays in bytes (a million entries: about 2 s)."""
    prev, count, checkpoints, since, head = _GENESIS_B, 0, 0, 0, None
    known = (known_head.entries, known_head.hash.encode()) if known_head else (0, b"")
    for number, raw in enumerate(fh, start=1):
        line = raw[:-1] if raw[-1:] == b"\n" else raw
        digest = line[_HASH_AT:_HASH_END]
        reason = _check_line(line, digest, prev, number)
        if reason is None and _CHECKPOINT in line:
            reason, signed = _check_checkpoint(line, prev.decode(), number, trust)
            if signed:
                checkpoints, since, head = checkpoints + 1, -1, Head(number, digest.decode("ascii", "replace"))
        if reason is None and number == known[0] and digest != known[1]:
            reason = f"entry {number} is not the one in the known head (the log was rewritten)"
        if reason:
            return Verification(False, number - 1, checkpoints, since, number, reason, head)
        prev, count, since = digest, number, since + 1
    return _verdict(count, checkpoints, since, head, known_head)


def _verdict(count: int, checkpoints: int, since: int, head: Head | None, known: Head | None) -> Verification:
    if count == 0:
        reason = "the audit log is empty: no signed checkpoint vouches for it"
    elif checkpoints == 0:
        reason = f"none of the {count} entries is covered by a signed checkpoint"
    elif since:
        reason = f"the last {since} entries are not covered by a signed checkpoint (added or kept after it)"
    elif known and count < known.entries:
        reason = f"the log is shorter than the known head ({count} < {known.entries} entries): it was truncated"
    else:
        return Verification(True, count, checkpoints, 0, None, "", head)
    return Verification(False, count, checkpoints, since, None, reason, head)


def _check_line(line: bytes, digest: bytes, prev: bytes, number: int) -> str | None:
    if line[:_HASH_AT] != _HEAD or line[_HASH_END:_BODY_AT] != b'",' or line[-1:] != b"}":
        return "the entry is not in the audit line format"
    body = line[_BODY_AT:]
    if hashlib.sha256(body).hexdigest().encode() != digest:
        return "the entry's content does not match its hash (edited)"
    if body[:_PREV_AT] != _PREV or body[_PREV_AT:_SEQ_AT] != prev:
        return "the entry does not follow the one before it (an entry was removed, inserted or reordered)"
    seq = b'","seq":%d' % number
    end = _SEQ_AT + len(seq)
    if body[_SEQ_AT:end] != seq or body[end : end + 1] not in (b",", b"}"):
        return f"the entry's sequence number is not its position {number}"
    return None


def _check_checkpoint(line: bytes, prev: str, number: int, trust: _Trust) -> tuple[str | None, bool]:
    """(why the checkpoint is bad or None, whether it is a valid signed checkpoint)."""
    try:
        entry = json.loads(line)
    except (ValueError, RecursionError):
        return "the checkpoint entry is not valid JSON", False
    if not isinstance(entry, dict) or entry.get("action") != "checkpoint":
        return None, False  # an ordinary entry that merely mentions the word in a nested value
    key = trust.key_for(entry.get("key"))
    if isinstance(key, str):
        return key, False
    try:
        key.verify(base64.b64decode(str(entry.get("sig")), validate=True), _signed_message(number - 1, prev))
    except (InvalidSignature, ValueError, binascii.Error):
        return "the checkpoint's signature is not valid for the pinned public key", False
    return None, True
