"""The "was I affected?" static site, in the k-anonymity style of Have I Been Pwned's range API.

Every line of a range file is ``locator:box``. The locator is HMAC-SHA-256 under the site's public salt of the
normalised email (:func:`normalise_email`): its first hex digits name the range file and the next
``SUFFIX_HEX`` are the line's key. The box is the customer's record, a mask of the kinds of data exposed,
sealed with AES-256-GCM under a key derived with HKDF-SHA-256 (RFC 5869) from the email and the customer's
verification code, so only someone holding both can read it; opening it is also how a code is confirmed (a
forger must find an 80-bit code that opens a 128-bit tag: about 2^80 tries). With ``require_code`` (a
sensitive incident, e.g. health data) the locator covers the code too, so even membership needs it.

Every range file is written and holds the same number of lines: real ones plus decoys (random bytes from the
OS), sorted by locator so position says nothing. The number of files and lines follows only from the number
of affected customers rounded up to a quarter power of two (:func:`site_shape`), never from how full a range
is; at most 65,536 files. A random salt per build spreads the emails; a build whose fullest range would not
fit (about 2^-40 likely) draws a new salt. The page fetches one range for the visitor's email and compares
locally, so the site never learns the email.

Threat model (docs/security.md): the salt is public, so anyone who already knows an email can tell whether
it is affected, exactly as the page does (as with HIBP), unless the site requires the code; what the salt
prevents is reusing precomputed email-hash tables across sites. The files hold no email, name or id, and
which data was exposed is readable only with the code from the customer's notice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from dataward.errors import DatawardError
from dataward.incident.codes import CODE_BYTES, normalise_code, normalise_email
from dataward.incident.progress import Progress, report

SITE_SCHEMA = "dataward.lookup/v2"
MAX_PREFIX_HEX = 4  # at most 16^4 = 65,536 range files
SUFFIX_HEX = 16  # 64 bits: a false match for an unaffected email is about lines / 2^64
MASK_BYTES = 3  # up to 24 kinds of data
TAG_BYTES = 16
BOX_BYTES = MASK_BYTES + TAG_BYTES
MIN_PAD = 16
SEALING = "sealing each affected customer's record"  # build_site's phases, for a progress hook
WRITING = "writing range files"
MIN_CAPACITY = 1024  # smaller incidents get the site of a 1,024-customer one
CHUNK_FILES = 1 << 13  # range files built, then written, per step
LOCATOR_INFO = b"dataward.lookup/v2 locator"
RECORD_INFO = b"dataward.lookup/v2 record"
NONCE = bytes(12)  # each record key (one per email, code and salt) seals exactly one record
SALT_TRIES = 4
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_B32 = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", dtype=np.uint8)  # RFC 4648, as b32encode
_LINE = SUFFIX_HEX + 1 + 2 * BOX_BYTES + 1

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
class SiteShape:
    """How many range files (16^prefix_hex) and lines per file a site of ``capacity`` customers has."""

    prefix_hex: int
    lines_per_file: int
    capacity: int


def site_shape(affected: int, prefix_hex: int | None = None, min_pad: int = MIN_PAD) -> SiteShape:
    """The shape for ``affected`` customers, from their count rounded up to a quarter power of two only.

    Lines per file cover a Poisson count of mean ``capacity / files`` plus 7 standard deviations and 8: a
    range overflows with probability far below 2^-40 (and then the build draws a new salt).
    """
    quarters = math.ceil(4 * math.log2(max(affected, MIN_CAPACITY)) - 1e-9)
    capacity = math.ceil(2 ** (quarters / 4))
    if prefix_hex is None:
        prefix_hex = min(MAX_PREFIX_HEX, max(1, math.ceil(math.log(capacity / 32, 16))))
    mean = capacity / 16**prefix_hex
    lines = max(min_pad, math.ceil(mean + 7 * math.sqrt(mean) + 8))
    return SiteShape(prefix_hex, lines, capacity)


def build_site(
    out: str | Path,
    emails: list[str],
    masks: npt.ArrayLike,
    user_ids: npt.ArrayLike,
    secret: str,
    categories: list[str],
    *,
    prefix_hex: int | None = None,
    min_pad: int = MIN_PAD,
    require_code: bool = False,
    force: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Write the site to ``out`` (built in a temp folder, then renamed: never half-written).

    ``emails``, ``masks`` (bit i: ``categories[i]`` was exposed) and ``user_ids`` are aligned, one per affected
    customer; ``secret`` is the incident's, from which each customer's verification code is derived.
    ``require_code`` makes even membership need the code. ``progress`` hears ``SEALING``, then
    ``WRITING`` with the range files written and their number, as they land (:mod:`dataward.incident.progress`).
    """
    if len(categories) > MASK_BYTES * 8:
        raise DatawardError(f"at most {MASK_BYTES * 8} kinds of data fit the lookup mask, got {len(categories)}")
    target = _check_target(Path(out), force)
    shape = site_shape(len(emails), prefix_hex, min_pad)
    report(progress, SEALING, 0, len(emails))
    people = _People.of(emails, np.asarray(masks, np.int64), np.asarray(user_ids, np.int64), secret)
    salt, records = _place(people, shape, require_code)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    except OSError as exc:
        raise _write_error(target, exc) from None
    try:
        (staging / "range").mkdir()
        _write_ranges(staging / "range", records, shape, progress)
        meta = {
            "schema": SITE_SCHEMA,
            "salt": salt.hex(),
            "prefix_hex": shape.prefix_hex,
            "suffix_hex": SUFFIX_HEX,
            "lines_per_file": shape.lines_per_file,
            "require_code": require_code,
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
    files = 16**shape.prefix_hex
    return {"files": files, "lines_per_file": shape.lines_per_file, "affected": len(emails), "salt": salt.hex()}


def _check_target(target: Path, force: bool) -> Path:
    if target.exists() and not target.is_dir():
        raise DatawardError(f"{target} is a file, not a folder", tip="choose a folder for -o (--force replaces folders only)")
    if target.exists() and any(target.iterdir()) and not force:
        raise DatawardError(f"{target} exists and is not empty", tip="pass --force to replace it, or choose another -o")
    if not target.parent.exists():
        raise DatawardError(f"the folder of {target} does not exist")
    return target


def _write_error(target: Path, exc: OSError) -> DatawardError:
    return DatawardError(
        f"cannot write the lookup site {target}: {exc.strerror or exc}; nothing was written",
        tip="choose a folder you can write with enough free space",
    )


@dataclass(frozen=True)
class _People:
    """The affected customers, aligned: normalised emails, their codes (ASCII, no dashes), masks as 3 bytes."""

    norm: list[bytes]
    codes: list[bytes]
    masks: list[bytes]

    @classmethod
    def of(cls, emails: list[str], masks: npt.NDArray[np.int64], ids: npt.NDArray[np.int64], secret: str) -> _People:
        norm = [normalise_email(e).encode() for e in emails]
        codes = _base32_codes(_hmacs(bytes.fromhex(secret), [b"verify:%d" % u for u in ids.tolist()]))
        blob = codes.tobytes()
        width = codes.shape[1]
        mask_blob = (masks.astype(">u4").view(np.uint8).reshape(-1, 4)[:, 4 - MASK_BYTES :]).tobytes()
        return cls(
            norm,
            [blob[i * width : (i + 1) * width] for i in range(len(norm))],
            [mask_blob[i * MASK_BYTES : (i + 1) * MASK_BYTES] for i in range(len(norm))],
        )


@dataclass(frozen=True)
class _Records:
    """Per customer: the range (file number), the locator's line key and the sealed box, in file order."""

    prefixes: npt.NDArray[np.int64]
    lines: npt.NDArray[np.uint8]  # (n, SUFFIX_HEX + 2 * BOX_BYTES) hex digit values: locator suffix, box


def _place(people: _People, shape: SiteShape, require_code: bool) -> tuple[bytes, _Records]:
    """A fresh salt whose ranges all fit the shape, and the customers' records under it."""
    for _ in range(SALT_TRIES):
        salt = secrets.token_bytes(16)
        locators = _nibbles(_hmacs(salt, _locator_messages(people, require_code)))
        weights = np.int64(16) ** np.arange(shape.prefix_hex - 1, -1, -1, dtype=np.int64)
        prefixes = locators[:, : shape.prefix_hex].astype(np.int64) @ weights
        if np.bincount(prefixes, minlength=1).max(initial=0) <= shape.lines_per_file:
            boxes = _nibbles(_seal(salt, people))
            lines = np.concatenate([locators[:, shape.prefix_hex : shape.prefix_hex + SUFFIX_HEX], boxes], axis=1)
            order = np.argsort(prefixes, kind="stable")
            return salt, _Records(prefixes[order], lines[order])
    raise DatawardError(
        "the affected emails do not spread over the lookup ranges", tip="pass a larger --min-pad or --prefix-hex"
    )


def _locator_messages(people: _People, require_code: bool) -> list[bytes]:
    """What the locator's HMAC covers: the email, and with ``require_code`` the code too (as the page builds it)."""
    if require_code:
        return [b"%s\n%s\n%s" % (LOCATOR_INFO, e, c) for e, c in zip(people.norm, people.codes, strict=True)]
    return [LOCATOR_INFO + b"\n" + e for e in people.norm]


def record_key(salt: bytes, email: bytes, code: bytes) -> bytes:
    """HKDF-SHA-256 (RFC 5869) of ``email \\n code`` with the site's salt: the AES-256-GCM key of one record."""
    return HKDF(hashes.SHA256(), 32, salt, RECORD_INFO).derive(email + b"\n" + code)


def _seal(salt: bytes, people: _People) -> npt.NDArray[np.uint8]:
    """Every customer's mask sealed under their record key, as (n, BOX_BYTES).

    The same HKDF as :func:`record_key`, with its Extract step's HMAC pads hashed once for the whole site and
    its Expand step's pads built for all customers at once (a test checks it against ``record_key``).
    """
    prks = _hmacs(salt, [e + b"\n" + c for e, c in zip(people.norm, people.codes, strict=True)])
    keys = _hmac_rows(prks, RECORD_INFO + b"\x01")
    raw = keys.tobytes()
    boxes = [AESGCM(raw[32 * i : 32 * i + 32]).encrypt(NONCE, m, None) for i, m in enumerate(people.masks)]
    return np.frombuffer(b"".join(boxes), dtype=np.uint8).reshape(len(boxes), BOX_BYTES)


def _hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """The inner and outer HMAC-SHA-256 pads of ``key`` (RFC 2104)."""
    block = key.ljust(64, b"\0") if len(key) <= 64 else hashlib.sha256(key).digest().ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)


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


def _hmac_rows(keys: npt.NDArray[np.uint8], message: bytes) -> npt.NDArray[np.uint8]:
    """HMAC-SHA-256 of one ``message`` under each row of ``keys`` (n, 32): the pads of all keys built at once."""
    n = len(keys)
    block = np.zeros((n, 64), dtype=np.uint8)
    block[:, : keys.shape[1]] = keys
    inner, outer = (block ^ np.uint8(0x36)).tobytes(), (block ^ np.uint8(0x5C)).tobytes()
    sha = hashlib.sha256
    inner_d = b"".join([sha(inner[64 * i : 64 * i + 64] + message).digest() for i in range(n)])
    out = b"".join([sha(outer[64 * i : 64 * i + 64] + inner_d[32 * i : 32 * i + 32]).digest() for i in range(n)])
    return np.frombuffer(out, dtype=np.uint8).reshape(n, 32)


def _nibbles(digests: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """(n, k) bytes -> (n, 2k) hex digit values, high nibble first (the order of hexdigest())."""
    out = np.empty((digests.shape[0], digests.shape[1] * 2), dtype=np.uint8)
    out[:, 0::2] = digests >> 4
    out[:, 1::2] = digests & 15
    return out


def _base32_codes(digests: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """codes.verification_code without its dashes, as (n, 16) ASCII: base32 of each digest's first 10 bytes."""
    chars = CODE_BYTES * 8 // 5
    bits = np.unpackbits(digests[:, :CODE_BYTES], axis=1).reshape(len(digests), chars, 5)
    return _B32[bits @ np.array([16, 8, 4, 2, 1], dtype=np.uint8)]


def _site_rows(records: _Records, start: int, stop: int, lines: int) -> npt.NDArray[np.uint8]:
    """Every line of range files ``start`` .. ``stop - 1`` as ASCII: real lines plus OS-random decoys, each file
    sorted by line key, so neither content nor position tells a real line from a decoy."""
    files = stop - start
    lo, hi = np.searchsorted(records.prefixes, [start, stop])
    owner = records.prefixes[lo:hi] - start
    counts = np.bincount(owner, minlength=files)
    rank = np.arange(hi - lo) - (np.cumsum(counts) - counts)[owner]
    digits = _nibbles(np.frombuffer(os.urandom(files * lines * (SUFFIX_HEX // 2 + BOX_BYTES)), dtype=np.uint8)
                      .reshape(files * lines, -1))  # fmt: skip
    digits[owner * lines + rank] = records.lines[lo:hi]
    weights = np.uint64(16) ** np.arange(15, -1, -1, dtype=np.uint64)
    keys = (digits[:, :SUFFIX_HEX].astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)
    order = np.argsort(keys.reshape(files, lines), axis=1) + (np.arange(files) * lines)[:, None]
    digits = digits[order.ravel()]
    rows = np.empty((files * lines, _LINE), dtype=np.uint8)
    rows[:, :SUFFIX_HEX] = _HEX[digits[:, :SUFFIX_HEX]]
    rows[:, SUFFIX_HEX] = ord(":")
    rows[:, SUFFIX_HEX + 1 : -1] = _HEX[digits[:, SUFFIX_HEX:]]
    rows[:, -1] = ord("\n")
    return rows


def _write_ranges(
    folder: Path, records: _Records, shape: SiteShape, progress: Progress | None
) -> None:
    """Every range file, ``CHUNK_FILES`` at a time (at most 65,536 files: no writer process needed)."""
    files = 16**shape.prefix_hex
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)  # relative opens: no path walk per file
    try:
        for start in range(0, files, CHUNK_FILES):
            stop = min(files, start + CHUNK_FILES)
            data = memoryview(_site_rows(records, start, stop, shape.lines_per_file).tobytes())
            size = shape.lines_per_file * _LINE
            for i, p in enumerate(range(start, stop)):
                fd = os.open(f"{p:0{shape.prefix_hex}x}", flags, 0o644, dir_fd=folder_fd)
                try:
                    os.write(fd, data[i * size : (i + 1) * size])
                finally:
                    os.close(fd)
            report(progress, WRITING, stop, files)
    finally:
        os.close(folder_fd)


@dataclass(frozen=True)
class _Meta:
    salt: bytes
    prefix_hex: int
    suffix_hex: int
    require_code: bool
    categories: list[str]


def _damaged(root: Path, what: str) -> DatawardError:
    return DatawardError(
        f"{root} is not a usable lookup site: {what}",
        tip="rebuild it with `dataward incident lookup build`",
    )


def _read_meta(root: Path) -> _Meta:
    try:
        meta = json.loads((root / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise _damaged(root, "meta.json is missing or not JSON") from None
    if not isinstance(meta, dict) or meta.get("schema") != SITE_SCHEMA:
        raise _damaged(root, f"meta.json is not a {SITE_SCHEMA} description")
    salt, prefix, suffix = meta.get("salt"), meta.get("prefix_hex"), meta.get("suffix_hex")
    categories = meta.get("categories")
    if not (isinstance(salt, str) and len(salt) == 32 and all(c in "0123456789abcdef" for c in salt)):
        raise _damaged(root, "meta.json's salt is not 32 hex digits")
    if type(prefix) is not int or not 1 <= prefix <= MAX_PREFIX_HEX or suffix != SUFFIX_HEX:
        raise _damaged(root, "meta.json's prefix or suffix length is out of range")
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories) or len(categories) > 24:
        raise _damaged(root, "meta.json's categories are not a list of names")
    return _Meta(bytes.fromhex(salt), prefix, suffix, meta.get("require_code") is True, categories)


def _find_box(root: Path, meta: _Meta, locator: str) -> bytes | None:
    """The box on the line of ``locator``'s range file whose key matches, or None."""
    path = root / "range" / locator[: meta.prefix_hex]
    try:
        text = path.read_bytes().decode("ascii")
    except (OSError, UnicodeDecodeError):
        raise _damaged(root, f"range file {path.name} is missing or not text") from None
    key = locator[meta.prefix_hex : meta.prefix_hex + meta.suffix_hex]
    found = None
    for line in text.splitlines():
        parts = line.split(":")
        if (len(parts) != 2 or len(parts[0]) != meta.suffix_hex or len(parts[1]) != 2 * BOX_BYTES
                or not all(c in "0123456789abcdef" for c in line.replace(":", ""))):  # fmt: skip
            raise _damaged(root, f"a line of range file {path.name} is not locator:box")
        if parts[0] == key:
            found = bytes.fromhex(parts[1])
    return found


def check_site(site: str | Path, email: str, code: str | None = None) -> dict[str, Any]:
    """What the page answers for an email: whether it is affected and, with its notice's code, which data.

    ``code_valid`` (when a code is given) says whether the code opens this email's record, i.e. is genuine.
    """
    root = Path(site)
    meta = _read_meta(root)
    if meta.require_code and not code:
        raise DatawardError(
            "this lookup site answers only with the verification code from a notice", tip="pass --code"
        )
    norm = normalise_email(email).encode()
    typed = normalise_code(code).encode() if code else b""
    message = b"%s\n%s" % (LOCATOR_INFO, norm) + (b"\n" + typed if meta.require_code else b"")
    box = _find_box(root, meta, hmac.new(meta.salt, message, hashlib.sha256).hexdigest())
    result: dict[str, Any] = {"affected": box is not None, "categories": [], "require_code": meta.require_code}
    if code is None:
        return result
    result["code_valid"] = False
    if box is not None:
        try:
            mask = int.from_bytes(AESGCM(record_key(meta.salt, norm, typed)).decrypt(NONCE, box, None), "big")
        except InvalidTag:
            return result
        result["code_valid"] = True
        result["categories"] = [c for i, c in enumerate(meta.categories) if mask >> i & 1]
    return result


def site_masks(flags: pa.Table, categories: list[str]) -> npt.NDArray[np.int64]:
    """Per affected customer, bit i set when ``categories[i]`` of theirs was exposed (the affected table's flags)."""
    mask = np.zeros(flags.num_rows, dtype=np.int64)
    for i, cat in enumerate(categories):
        mask |= flags.column(cat).to_numpy(zero_copy_only=False).astype(np.int64) << i
    return mask
