"""The "was I affected?" static site, in the k-anonymity style of Have I Been Pwned's range API.

Each affected email is normalised (:func:`normalise_email`) and hashed with HMAC-SHA-256 under a public site
salt. The file ``range/<first 5 hex>`` holds, for every affected email in that range, the next 22 hex digits
of its hash, a mask of the kinds of data exposed for it, and a check value for its notice's verification
code. Every one of the 16^5 range files is written, each padded with random decoys to the same number of
fixed-width lines, so neither a file's presence nor its size says how many affected emails fall in it; the
page fetches one range for the visitor's email and compares locally, so the site never learns the email.

Threat model: the salt is public (the page needs it), so anyone who already knows an email can check it,
exactly as the page does; what the salt prevents is reusing precomputed email-hash tables across sites or
incidents. The files hold no email, no name and no id. The code check lets a customer tell a genuine notice
from a phishing copy: only the notify job (holding the incident secret) can print a code that matches.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import multiprocessing
import os
import secrets
import shutil
import tempfile
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from dataward.errors import DatawardError
from dataward.incident.codes import normalise_code, normalise_email

SITE_SCHEMA = "dataward.lookup/v1"
PREFIX_HEX = 5
SUFFIX_HEX = 22
MASK_HEX = 6
CHECK_HEX = 8
MIN_PAD = 16
CHUNK_FILES = 1 << 14  # range files built, then written, per step
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_B32 = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", dtype=np.uint8)  # RFC 4648, as b32encode

# Plain-language names of the kinds of data, for the page and the notices.
LABELS = {
    "email": "email address",
    "username": "user name",
    "person_name": "name",
    "phone": "phone number",
    "photo_url": "profile photo link",
    "postal_address": "postal address",
    "date_of_birth": "date of birth",
    "wifi_ssid": "Wi-Fi network name (SSID)",
    "device_nickname": "device nicknames",
    "mac_address": "device hardware addresses",
    "ip_address": "IP addresses",
    "device_model": "device models",
    "firmware_version": "firmware versions",
    "api_token": "app sign-in tokens",
    "oauth_refresh_token": "sign-in refresh tokens",
    "alexa_token": "Alexa integration tokens",
    "password_hash": "password hashes",
    "password": "passwords",
    "health_metric": "body measurements (height, weight, body composition)",
    "gender": "gender",
}


def label(category: str) -> str:
    return LABELS.get(category, category.replace("_", " "))


@dataclass(frozen=True)
class SiteEntry:
    email: str
    categories: tuple[str, ...]
    code: str


def build_site(
    out: str | Path,
    emails: list[str],
    masks: npt.NDArray[np.int64],
    user_ids: npt.ArrayLike,
    secret: str,
    categories: list[str],
    *,
    prefix_hex: int = PREFIX_HEX,
    min_pad: int = MIN_PAD,
    force: bool = False,
    seed: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Write the site to ``out`` (built in a temp folder, then renamed: never half-written).

    ``emails``, ``masks`` (bit i: ``categories[i]`` was exposed) and ``user_ids`` are aligned, one per affected
    customer; ``secret`` is the incident's, from which each customer's verification code is derived.
    ``progress(files written, files)`` is called as range files land.
    """
    if len(categories) > MASK_HEX * 4:
        raise DatawardError(
            f"at most {MASK_HEX * 4} kinds of data fit the lookup mask, got {len(categories)}"
        )
    target = Path(out)
    if target.exists() and any(target.iterdir()) and not force:
        raise DatawardError(
            f"{target} exists and is not empty", tip="pass --force to replace it, or choose another -o"
        )
    if not target.parent.exists():
        raise DatawardError(f"the folder of {target} does not exist")
    salt = secrets.token_hex(16)
    affected = _Affected.hashed(bytes.fromhex(salt), emails, masks, user_ids, prefix_hex)
    buckets = 16**prefix_hex
    counts = np.bincount(affected.prefixes, minlength=buckets)
    pad = int(max(min_pad, counts.max(initial=0)))
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    except OSError as exc:
        raise _write_error(target, exc) from None
    try:
        (staging / "range").mkdir()
        keys = _Keys(bytes.fromhex(salt), secret, prefix_hex)
        _write_ranges(staging / "range", affected, keys, counts, pad, np.random.default_rng(seed), progress)
        meta = {
            "schema": SITE_SCHEMA,
            "salt": salt,
            "prefix_hex": prefix_hex,
            "suffix_hex": SUFFIX_HEX,
            "check_hex": CHECK_HEX,
            "lines_per_file": pad,
            "categories": categories,
            "labels": {c: label(c) for c in categories},
        }
        (staging / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
        page = resources.files("dataward.incident").joinpath("templates/lookup_index.html").read_text()
        (staging / "index.html").write_text(page)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            raise _write_error(target, exc) from None
        raise
    return {"files": buckets, "lines_per_file": pad, "affected": len(emails), "salt": salt}


def _write_error(target: Path, exc: OSError) -> DatawardError:
    return DatawardError(
        f"cannot write the lookup site {target}: {exc.strerror or exc}; nothing was written",
        tip="choose a folder you can write with enough free space (a million small files at the default prefix)",
    )


def _hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """The inner and outer HMAC-SHA-256 pads of ``key`` (RFC 2104)."""
    block = key.ljust(64, b"\0") if len(key) <= 64 else hashlib.sha256(key).digest().ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)


@dataclass(frozen=True)
class _Keys:
    salt: bytes  # the site's public salt
    secret: str  # the incident's, for verification codes
    prefix_hex: int


@dataclass(frozen=True)
class _Affected:
    """The affected customers, aligned: normalised emails, hash digits under the salt, masks, ids, ranges."""

    norm: list[bytes]
    digits: npt.NDArray[np.uint8]  # (n, 64) hex digit values of HMAC(salt, email)
    masks: npt.NDArray[np.int64]
    user_ids: npt.NDArray[np.int64]
    prefixes: npt.NDArray[np.int64]

    @classmethod
    def hashed(
        cls, salt: bytes, emails: list[str], masks: npt.NDArray[np.int64], user_ids: npt.ArrayLike, prefix_hex: int
    ) -> _Affected:
        norm = [normalise_email(e).encode() for e in emails]
        digits = _nibbles(_hmacs(salt, norm))
        weights = np.int64(16) ** np.arange(prefix_hex - 1, -1, -1, dtype=np.int64)
        prefixes = digits[:, :prefix_hex].astype(np.int64) @ weights
        return cls(norm, digits, np.asarray(masks, np.int64), np.asarray(user_ids, np.int64), prefixes)

    def take(self, idx: npt.NDArray[np.int64]) -> _Affected:
        norm = [self.norm[i] for i in idx.tolist()]
        return _Affected(norm, self.digits[idx], self.masks[idx], self.user_ids[idx], self.prefixes[idx])


def _lines(affected: _Affected, keys: _Keys) -> npt.NDArray[np.uint8]:
    """The customers' lines, ``suffix:mask:check`` as (n, width) ASCII.

    Per customer only the HMACs run in Python (hashlib's SHA-256 beats DuckDB's and numpy has none); the
    verification code, the hex and the layout are vectorised.
    """
    codes = _base32_codes(_hmacs(bytes.fromhex(keys.secret), [b"verify:%d" % u for u in affected.user_ids.tolist()]))
    blob = codes.tobytes()
    check = _nibbles(_hmacs(keys.salt, [e + b"|" + blob[8 * i : 8 * i + 8] for i, e in enumerate(affected.norm)]))
    width = SUFFIX_HEX + 1 + MASK_HEX + 1 + CHECK_HEX
    rows = np.empty((len(affected.norm), width), dtype=np.uint8)
    rows[:, :SUFFIX_HEX] = _HEX[affected.digits[:, keys.prefix_hex : keys.prefix_hex + SUFFIX_HEX]]
    rows[:, SUFFIX_HEX] = ord(":")
    rows[:, SUFFIX_HEX + 1 : SUFFIX_HEX + 1 + MASK_HEX] = _hex_digits(affected.masks, MASK_HEX)
    rows[:, SUFFIX_HEX + 1 + MASK_HEX] = ord(":")
    rows[:, width - CHECK_HEX :] = _HEX[check[:, :CHECK_HEX]]
    return rows


def _hmacs(key: bytes, messages: list[bytes]) -> npt.NDArray[np.uint8]:
    """HMAC-SHA-256 of each message as (n, 32) bytes; with the pads hashed once, each costs two copies."""
    inner_pad, outer_pad = _hmac_pads(key)
    inner0, outer0 = hashlib.sha256(inner_pad), hashlib.sha256(outer_pad)

    def one(message: bytes) -> bytes:
        inner = inner0.copy()
        inner.update(message)
        outer = outer0.copy()
        outer.update(inner.digest())
        return outer.digest()

    return np.frombuffer(b"".join(map(one, messages)), dtype=np.uint8).reshape(len(messages), 32)


def _nibbles(digests: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """(n, 32) bytes -> (n, 64) hex digit values, high nibble first (the order of hexdigest())."""
    out = np.empty((digests.shape[0], digests.shape[1] * 2), dtype=np.uint8)
    out[:, 0::2] = digests >> 4
    out[:, 1::2] = digests & 15
    return out


def _base32_codes(digests: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """codes.verification_code without its dash, as (n, 8) ASCII: base32 of each digest's first 5 bytes."""
    bits = np.unpackbits(digests[:, :5], axis=1).reshape(len(digests), 8, 5)
    return _B32[bits @ np.array([16, 8, 4, 2, 1], dtype=np.uint8)]


def _random_hex(rng: np.random.Generator, out: npt.NDArray[np.uint8]) -> None:
    """Fill ``out`` (n, even width) with random lower-case hex digits: two digits per random byte."""
    raw = rng.integers(0, 256, size=(out.shape[0], out.shape[1] // 2), dtype=np.uint8)
    out[:, 0::2] = _HEX[raw >> 4]
    out[:, 1::2] = _HEX[raw & 15]


def _hex_digits(values: npt.NDArray[np.int64], width: int) -> npt.NDArray[np.uint8]:
    """Zero-padded lower-case hex of each value as ASCII bytes, (n, width), without a per-value loop."""
    shifts = np.arange(width - 1, -1, -1, dtype=np.int64) * 4
    return _HEX[(values[:, None] >> shifts) & 15]


def _site_rows(
    real: npt.NDArray[np.uint8],
    prefixes: npt.NDArray[np.int64],
    counts: npt.NDArray[np.int64],
    pad: int,
    masks: npt.NDArray[np.int64],
    rng: np.random.Generator,
) -> npt.NDArray[np.uint8]:
    """Every line of every range file, file after file: decoys everywhere, real lines in random slots.

    Decoys are drawn like real lines (random hex where the real ones hold hash digits, masks drawn from the
    real masks), and each real line takes a uniformly random slot of its file, so neither content nor
    position tells a real line from a decoy. Built in place: no sort or gather of the whole site.
    """
    width = SUFFIX_HEX + 1 + MASK_HEX + 1 + CHECK_HEX
    total = len(counts) * pad
    rows = np.empty((total, width + 1), dtype=np.uint8)
    _random_hex(rng, rows[:, :SUFFIX_HEX])
    rows[:, SUFFIX_HEX] = ord(":")
    pool = masks if len(masks) else np.array([1], dtype=np.int64)
    rows[:, SUFFIX_HEX + 1 : SUFFIX_HEX + 1 + MASK_HEX] = _hex_digits(rng.choice(pool, size=total), MASK_HEX)
    rows[:, SUFFIX_HEX + 1 + MASK_HEX] = ord(":")
    _random_hex(rng, rows[:, width - CHECK_HEX : width])
    rows[:, width] = ord("\n")
    if len(real):
        rows[_real_slots(prefixes, counts, pad, rng), :width] = real
    return rows


def _real_slots(
    prefixes: npt.NDArray[np.int64], counts: npt.NDArray[np.int64], pad: int, rng: np.random.Generator
) -> npt.NDArray[np.int64]:
    """For each real line, a distinct random row among its file's ``pad`` rows (counts never exceed pad)."""
    order = np.argsort(prefixes, kind="stable")
    owner = prefixes[order]
    rank = np.arange(len(owner)) - (np.cumsum(counts) - counts)[owner]
    shuffled = rng.permuted(np.broadcast_to(np.arange(pad, dtype=np.int64), (len(counts), pad)), axis=1)
    slots = np.empty(len(owner), dtype=np.int64)
    slots[order] = owner * pad + shuffled[owner, rank]
    return slots


def _write_ranges(
    folder: Path,
    affected: _Affected,
    keys: _Keys,
    counts: npt.NDArray[np.int64],
    pad: int,
    rng: np.random.Generator,
    progress: Callable[[int, int], None] | None,
) -> None:
    """Every range file, ``CHUNK_FILES`` at a time: a writer process creates one chunk's files while this one
    hashes the next chunk (a thread would wait for the GIL after every syscall), at most two chunks ahead."""
    files = len(counts)
    order = np.argsort(affected.prefixes, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(counts)])
    pending: deque[Future[None]] = deque()
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        for start in range(0, files, CHUNK_FILES):
            stop = min(files, start + CHUNK_FILES)
            part = affected.take(order[bounds[start] : bounds[stop]])
            rows = _site_rows(_lines(part, keys), part.prefixes - start, counts[start:stop], pad, affected.masks, rng)
            if len(pending) == 2:
                pending.popleft().result()
            pending.append(pool.submit(_write_files, str(folder), rows.tobytes(), start, stop, keys.prefix_hex))
            if progress is not None:
                pending[-1].add_done_callback(partial(_report, progress, stop, files))
        while pending:
            pending.popleft().result()


def _report(progress: Callable[[int, int], None], done: int, files: int, _future: Future[None]) -> None:
    progress(done, files)


def _write_files(folder: str, data: bytes, start: int, stop: int, prefix_hex: int) -> None:
    """Files ``start`` .. ``stop - 1`` of ``folder``, each an equal share of ``data`` (runs in the writer)."""
    view = memoryview(data)
    size = len(view) // (stop - start)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)  # relative opens: no path walk per file
    try:
        for i, p in enumerate(range(start, stop)):
            fd = os.open(f"{p:0{prefix_hex}x}", flags, 0o644, dir_fd=folder_fd)
            try:
                os.write(fd, view[i * size : (i + 1) * size])
            finally:
                os.close(fd)
    finally:
        os.close(folder_fd)


def check_site(site: str | Path, email: str, code: str | None = None) -> dict[str, Any]:
    """What the page answers for an email (and, optionally, whether a notice's code is genuine)."""
    root = Path(site)
    try:
        meta = json.loads((root / "meta.json").read_text())
    except (OSError, ValueError):
        raise DatawardError(
            f"{root} is not a lookup site", tip="build one with `dataward incident lookup build`"
        ) from None
    salt = bytes.fromhex(meta["salt"])
    norm = normalise_email(email)
    digest = hmac.new(salt, norm.encode(), hashlib.sha256).hexdigest()  # what the page's WebCrypto computes
    n = int(meta["prefix_hex"])
    path = root / "range" / digest[:n]
    suffix = digest[n : n + int(meta["suffix_hex"])]
    for line in path.read_text().splitlines():
        found, mask_hex, check = line.split(":")
        if found == suffix:
            mask = int(mask_hex, 16)
            cats = [c for i, c in enumerate(meta["categories"]) if mask >> i & 1]
            result: dict[str, Any] = {"affected": True, "categories": cats}
            if code is not None:
                message = f"{norm}|{normalise_code(code)}".encode()
                expected = hmac.new(salt, message, hashlib.sha256).hexdigest()[: int(meta["check_hex"])]
                result["code_valid"] = expected == check
            return result
    out: dict[str, Any] = {"affected": False, "categories": []}
    if code is not None:
        out["code_valid"] = False
    return out


def site_masks(flags: pa.Table, categories: list[str]) -> npt.NDArray[np.int64]:
    """Per affected customer, bit i set when ``categories[i]`` of theirs was exposed (the affected table's flags)."""
    mask = np.zeros(flags.num_rows, dtype=np.int64)
    for i, cat in enumerate(categories):
        mask |= flags.column(cat).to_numpy(zero_copy_only=False).astype(np.int64) << i
    return mask
