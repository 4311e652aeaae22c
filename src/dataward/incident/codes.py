"""Per-customer verification codes: printed in each notice, checkable on the lookup site (anti-phishing).

A code is an HMAC of the customer id under the incident's secret, so the notify job and the lookup build
derive the same code without storing one per customer, and nobody without the secret can mint one. It
carries 80 bits: the lookup site is public, so a forger can test guesses offline, and 2^80 guesses (each an
HKDF and an AES-GCM decryption) are out of reach (issue 13: at least 2^60).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import unicodedata

CODE_BYTES = 10  # 80 bits: 16 base32 characters


def verification_code(secret: str, user_id: int) -> str:
    """16 base32 characters as XXXX-XXXX-XXXX-XXXX (no 0/1/8/9 confusion: RFC 4648 base32 alphabet)."""
    digest = hmac.new(bytes.fromhex(secret), f"verify:{user_id}".encode(), hashlib.sha256).digest()
    text = base64.b32encode(digest[:CODE_BYTES]).decode()
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def normalise_email(email: str) -> str:
    """NFKC, trimmed, lower-cased: the same steps the lookup page's JavaScript applies."""
    return unicodedata.normalize("NFKC", email).strip().lower()


def normalise_code(code: str) -> str:
    return code.strip().upper().replace(" ", "").replace("-", "")
