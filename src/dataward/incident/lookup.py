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
import json
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

from dataward.errors import DatawardError
from dataward.incident.codes import normalise_code, normalise_email, verification_code

SITE_SCHEMA = "dataward.lookup/v1"
PREFIX_HEX = 5
SUFFIX_HEX = 22
MASK_HEX = 6
CHECK_HEX = 8
MIN_PAD = 16
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)

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


class _Hasher:
    """HMAC-SHA-256 under one key with the pads precomputed (the same bytes WebCrypto's HMAC produces)."""

    def __init__(self, key: bytes) -> None:
        block = key.ljust(64, b"\0") if len(key) <= 64 else hashlib.sha256(key).digest().ljust(64, b"\0")
        self.inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self.outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def hexdigest(self, message: str) -> str:
        inner = self.inner.copy()
        inner.update(message.encode())
        outer = self.outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


def build_site(
    out: str | Path,
    emails: list[str],
    masks: npt.NDArray[np.int64],
    codes: list[str],
    categories: list[str],
    *,
    prefix_hex: int = PREFIX_HEX,
    min_pad: int = MIN_PAD,
    force: bool = False,
    seed: int | None = None,
) -> dict[str, Any]:
    """Write the site to ``out`` (built in a temp folder, then renamed: never half-written)."""
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
    hasher = _Hasher(bytes.fromhex(salt))
    rng = np.random.default_rng(seed)
    lines_real, prefixes = _real_lines(hasher, emails, masks, codes, prefix_hex)
    buckets = 16**prefix_hex
    counts = np.bincount(prefixes, minlength=buckets) if len(prefixes) else np.zeros(buckets, dtype=np.int64)
    pad = int(max(min_pad, counts.max(initial=0)))
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        (staging / "range").mkdir()
        _write_ranges(staging / "range", lines_real, prefixes, counts, pad, prefix_hex, masks, rng)
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
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return {"files": buckets, "lines_per_file": pad, "affected": len(emails), "salt": salt}


def _real_lines(
    hasher: _Hasher, emails: list[str], masks: npt.NDArray[np.int64], codes: list[str], prefix_hex: int
) -> tuple[npt.NDArray[Any], npt.NDArray[np.int64]]:
    width = SUFFIX_HEX + 1 + MASK_HEX + 1 + CHECK_HEX
    lines = np.empty(len(emails), dtype=f"S{width}")
    prefixes = np.empty(len(emails), dtype=np.int64)
    for i, (email, mask, code) in enumerate(zip(emails, masks.tolist(), codes, strict=True)):
        norm = normalise_email(email)
        digest = hasher.hexdigest(norm)
        check = hasher.hexdigest(f"{norm}|{normalise_code(code)}")[:CHECK_HEX]
        prefixes[i] = int(digest[:prefix_hex], 16)
        lines[i] = f"{digest[prefix_hex : prefix_hex + SUFFIX_HEX]}:{mask:0{MASK_HEX}x}:{check}".encode()
    return lines, prefixes


def _random_hex(rng: np.random.Generator, n: int, width: int) -> npt.NDArray[np.uint8]:
    return _HEX[rng.integers(0, 16, size=(n, width), dtype=np.uint8)]


def _hex_digits(values: npt.NDArray[np.int64], width: int) -> npt.NDArray[np.uint8]:
    """Zero-padded lower-case hex of each value as ASCII bytes, (n, width), without a per-value loop."""
    shifts = np.arange(width - 1, -1, -1, dtype=np.int64) * 4
    return _HEX[(values[:, None] >> shifts) & 15]


def _write_ranges(
    folder: Path,
    real: npt.NDArray[Any],
    prefixes: npt.NDArray[np.int64],
    counts: npt.NDArray[np.int64],
    pad: int,
    prefix_hex: int,
    masks: npt.NDArray[np.int64],
    rng: np.random.Generator,
) -> None:
    """Every range file: real lines plus decoys (masks drawn from the real ones), sorted, fixed width."""
    width = SUFFIX_HEX + 1 + MASK_HEX + 1 + CHECK_HEX
    buckets = len(counts)
    n_decoys = buckets * pad - len(real)
    decoy = np.empty((n_decoys, width + 1), dtype=np.uint8)
    decoy[:, :SUFFIX_HEX] = _random_hex(rng, n_decoys, SUFFIX_HEX)
    decoy[:, SUFFIX_HEX] = ord(":")
    pool = masks if len(masks) else np.array([1], dtype=np.int64)
    decoy[:, SUFFIX_HEX + 1 : SUFFIX_HEX + 1 + MASK_HEX] = _hex_digits(
        rng.choice(pool, size=n_decoys), MASK_HEX
    )
    decoy[:, SUFFIX_HEX + 1 + MASK_HEX] = ord(":")
    decoy[:, width - CHECK_HEX : width] = _random_hex(rng, n_decoys, CHECK_HEX)
    decoy[:, width] = ord("\n")
    real_rows = (
        np.frombuffer(real.tobytes(), dtype=np.uint8).reshape(len(real), width)
        if len(real)
        else np.empty((0, width), np.uint8)
    )
    real_rows = np.hstack([real_rows, np.full((len(real), 1), ord("\n"), dtype=np.uint8)])
    decoy_prefix = np.repeat(np.arange(buckets, dtype=np.int64), pad - counts)
    rows = np.vstack([real_rows, decoy])
    owner = np.concatenate([prefixes, decoy_prefix])
    # sort by prefix, then by the first 8 suffix digits, so decoys and real lines interleave at random
    head = rows[:, :8].copy().view("S8").ravel()
    order = np.lexsort((head, owner))
    data = rows[order].tobytes()
    size = pad * (width + 1)
    folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)  # relative opens: no path walk per file
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        view = memoryview(data)
        for p in range(buckets):
            fd = os.open(f"{p:0{prefix_hex}x}", flags, 0o644, dir_fd=folder_fd)
            try:
                os.write(fd, view[p * size : (p + 1) * size])
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
    hasher = _Hasher(bytes.fromhex(meta["salt"]))
    norm = normalise_email(email)
    digest = hasher.hexdigest(norm)
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
                expected = hasher.hexdigest(f"{norm}|{normalise_code(code)}")[: int(meta["check_hex"])]
                result["code_valid"] = expected == check
            return result
    out: dict[str, Any] = {"affected": False, "categories": []}
    if code is not None:
        out["code_valid"] = False
    return out


def site_inputs(
    secret: str, user_ids: list[int], emails: list[str], flags: pa.Table, categories: list[str]
) -> tuple[list[str], npt.NDArray[np.int64], list[str]]:
    """Emails, category masks and verification codes in the same order, from the affected table."""
    mask = np.zeros(flags.num_rows, dtype=np.int64)
    for i, cat in enumerate(categories):
        mask |= flags.column(cat).to_numpy(zero_copy_only=False).astype(np.int64) << i
    codes = [verification_code(secret, u) for u in user_ids]
    return emails, mask, codes
