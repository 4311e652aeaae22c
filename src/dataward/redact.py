"""Redacted evidence: how a sensitive value may appear in any output (DESIGN.md: never the raw value)."""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Final

# A per-process salt: hash prefixes let a reader tell two evidence strings apart within one report but
# cannot be looked up in a dictionary across runs.
_SALT: Final[bytes] = os.urandom(16)


def redact(value: object, category: str | None = None) -> str:
    """A shape-preserving redaction that keeps too little to recover the value.

    Emails keep the first letter of the local part and the domain's top level; tokens keep a known prefix
    (``Atza|``, ``eyJh``) only; everything else keeps its first character and its length class.
    """
    text = str(value)
    if not text:
        return "''"
    if "@" in text and category in (None, "email"):
        local, _, domain = text.partition("@")
        tld = domain.rsplit(".", 1)[-1] if "." in domain else ""
        return f"{local[:1]}***@***.{tld}" if tld else f"{local[:1]}***@***"
    for prefix in ("Atza|", "Atzr|", "eyJh", "$2b$", "$2a$", "$argon2id$", "ghp_", "sk_", "ya29."):
        if text.startswith(prefix):
            return f"{prefix}…[redacted]"
    if len(text) <= 3:
        return "*" * len(text)
    return f"{text[:1]}***{len(text)}"


def hash_prefix(value: object, length: int = 8) -> str:
    """A salted hash prefix: equal values match within one run, nothing is recoverable."""
    digest = hmac.new(_SALT, str(value).encode(), hashlib.sha256).hexdigest()
    return f"h:{digest[:length]}"
