"""Credential detectors: password hashes, passwords (by name), API tokens, OAuth refresh tokens, Alexa
tokens and secret keys. Format references are noted on each pattern."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections import Counter

import numpy as np

from dataward.classify.base import ColumnFacts, Detector, register_detector


@register_detector
class PasswordHash(Detector):
    category = "password_hash"
    names = (
        "password_hash", "passwd_hash", "pwd_hash", "password_digest", "hashed_password", "encrypted_password",
        "pass_hash", "passhash", "pw_hash", "password",
    )
    patterns = (
        r"\$2[abxy]?\$[0-9]{2}\$[./A-Za-z0-9]{53}",  # bcrypt (modular crypt format)
        r"\$argon2(?:id|i|d)\$(?:v=[0-9]+\$)?m=[0-9]+,t=[0-9]+,p=[0-9]+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+",  # PHC
        r"\$scrypt\$(?:ln=[0-9]+,r=[0-9]+,p=[0-9]+|[^$]+)\$[A-Za-z0-9+/.=]+\$[A-Za-z0-9+/.=]+",  # passlib scrypt
        r"\$7\$[./A-Za-z0-9]{11,}\$[./A-Za-z0-9]{43}",  # libsodium / yescrypt-era scrypt
        r"pbkdf2_sha(?:1|256|512)\$[0-9]+\$[^$]+\$[A-Za-z0-9+/=]+",  # Django
        r"\$pbkdf2(?:-sha(?:1|256|512))?\$[0-9]+\$[./A-Za-z0-9+=]+\$[./A-Za-z0-9+=]+",  # passlib / PHC
        r"\$[156]\$(?:rounds=[0-9]+\$)?[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{22,86}",  # md5/sha256/sha512-crypt
    )
    hinted_patterns = (r"[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64}|[0-9a-fA-F]{128}",)
    min_rate = 0.05
    hinted_rate = 0.2
    strong = True
    priority = 95


@register_detector
class Password(Detector):
    category = "password"
    names = ("password", "passwd", "pwd", "pass", "passphrase", "pin", "wifi_password", "psk", "wpa_key")
    not_names = (
        "hash", "hashed", "digest", "encrypted", "at", "date", "time", "ts", "changed", "reset", "expires",
        "expiry", "updated", "policy", "required", "enabled", "count", "length", "len", "hint", "strength",
        "attempts", "last", "set", "salt", "algo", "algorithm", "version", "code",
    )
    name_only = True
    priority = 5

    def accept(self, column: ColumnFacts, rate: float, hinted: bool) -> bool:
        """Plausible secrets: strings, mostly 4 to 128 characters, not booleans or dates."""
        texts = column.texts
        if not texts:
            return column.dtype in ("", "string", "text", "varchar", "json")
        plausible = sum(1 for t in texts if 4 <= len(t) <= 128 and t.lower() not in ("true", "false"))
        return plausible >= 0.8 * len(texts) and not all(re.match(r"^\d{4}-\d\d-\d\d", t) for t in texts)


def _b64url_json(part: str) -> object:
    padded = part + "=" * (-len(part) % 4)
    try:
        return json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def valid_jwt(value: str) -> bool:
    """Three base64url parts whose header decodes to a JSON object naming an 'alg' (RFC 7519, RFC 7515)."""
    parts = value.split(".")
    if len(parts) != 3:
        return False
    header = _b64url_json(parts[0])
    return isinstance(header, dict) and "alg" in header


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


_IMAGE_PREFIXES = ("iVBORw0KGgo", "/9j/", "R0lGOD", "UklGR", "Qk", "data:")
_HEX = re.compile(r"^[0-9a-fA-F\-]+$")


def opaque_token(value: str) -> bool:
    """A random-looking token: long, mixed letters and digits, high entropy; not hex, UUID or an image."""
    if not 20 <= len(value) <= 512 or _HEX.match(value) or value.startswith(_IMAGE_PREFIXES):
        return False
    classes = sum((any(c.islower() for c in value), any(c.isupper() for c in value), any(c.isdigit() for c in value)))
    return classes >= 2 and any(c.isdigit() for c in value) and entropy(value) >= 3.8


_OPAQUE = r"[A-Za-z0-9_\-+/]{20,}={0,2}"  # length capped by the validator


@register_detector
class JwtToken(Detector):
    category = "api_token"
    names = (
        "token", "access_token", "api_token", "api_key", "apikey", "bearer", "session_token", "auth_token",
        "id_token", "jwt", "session", "sessionid", "session_id", "access_key", "token_value",
    )
    not_names = ("at", "type", "kind", "expires", "expiry", "count", "id_hash", "revoked", "issued", "platform")
    patterns = (r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{10,}(?:[^A-Za-z0-9_\-]|$)",)
    embedded = True
    min_rate = 0.05
    hinted_rate = 0.05
    strong = True
    priority = 85

    def validate(self, value: str) -> bool:
        return valid_jwt(value)


@register_detector
class PrefixedToken(Detector):
    """Tokens whose vendor prefix says what they are (GitHub, Slack, GitLab, Google access tokens)."""

    category = "api_token"
    names = JwtToken.names
    not_names = JwtToken.not_names
    patterns = (
        r"gh[pousr]_[A-Za-z0-9]{36,}(?:[^A-Za-z0-9]|$)",  # GitHub token formats (2021)
        r"github_pat_[A-Za-z0-9_]{60,}(?:[^A-Za-z0-9_]|$)",
        r"xox[baprs]-[A-Za-z0-9\-]{10,}(?:[^A-Za-z0-9\-]|$)",  # Slack
        r"glpat-[A-Za-z0-9_\-]{20}\b",  # GitLab personal access token
        r"ya29\.[A-Za-z0-9_\-]{20,}(?:[^A-Za-z0-9_\-]|$)",  # Google OAuth 2.0 access token
    )
    embedded = True
    min_rate = 0.05
    hinted_rate = 0.05
    strong = True
    priority = 84


@register_detector
class OpaqueToken(Detector):
    """A high-entropy opaque token; weak on its own, so it needs most values or a name that agrees."""

    category = "api_token"
    names = JwtToken.names
    not_names = (*JwtToken.not_names, "refresh", "hash", "digest", "checksum", "sha", "etag", "commit")
    patterns = (_OPAQUE,)
    min_rate = 0.8
    hinted_rate = 0.5
    priority = 30

    def validate(self, value: str) -> bool:
        return opaque_token(value)

    def accept(self, column: ColumnFacts, rate: float, hinted: bool) -> bool:
        """Tokens are unique; a column repeating a few values is a label or a key, not a credential."""
        return column.distinct >= 0.9 * len(column.texts)


@register_detector
class GoogleRefreshToken(Detector):
    category = "oauth_refresh_token"
    names = ("refresh_token", "refresh", "refreshtoken", "rt", "offline_token")
    patterns = (r"1//[0-9A-Za-z_\-]{30,}(?:[^0-9A-Za-z_\-]|$)",)  # Google OAuth 2.0 refresh tokens
    embedded = True
    min_rate = 0.05
    hinted_rate = 0.05
    strong = True
    priority = 86


@register_detector
class OpaqueRefreshToken(Detector):
    """Opaque tokens in a column whose name says refresh: the name decides the kind of credential."""

    category = "oauth_refresh_token"
    names = GoogleRefreshToken.names
    not_names = ("at", "expires", "expiry", "count", "interval", "rotated")
    hinted_patterns = (_OPAQUE,)
    hinted_rate = 0.3
    min_rate = 0.8
    priority = 35

    def validate(self, value: str) -> bool:
        return opaque_token(value) or valid_jwt(value)

    def content_mask(self, column: ColumnFacts, hinted: bool) -> np.ndarray | None:
        """Unnamed: opaque tokens next to a column of JWT access tokens are that pair's refresh tokens."""
        if hinted or not column.texts or not _has_jwt_neighbour(column):
            return None
        return np.fromiter((opaque_token(t) for t in column.texts), bool, len(column.texts))


def _has_jwt_neighbour(column: ColumnFacts) -> bool:
    for name, texts in column.table.texts.items():
        if name != column.name and texts and sum(map(valid_jwt, texts[:20])) >= 0.8 * min(len(texts), 20):
            return True
    return False


@register_detector
class AlexaToken(Detector):
    category = "alexa_token"
    names = ("alexa", "amzn", "lwa", "alexa_token", "amazon_token")
    patterns = (r"Atz[ar]\|[A-Za-z0-9_\-+/=|]{40,}(?:[^A-Za-z0-9_\-+/=|]|$)",)  # Login with Amazon access (Atza|) and refresh (Atzr|)
    embedded = True
    min_rate = 0.05
    hinted_rate = 0.05
    strong = True
    priority = 92


@register_detector
class SecretKey(Detector):
    category = "secret_key"
    names = (
        "secret_key", "private_key", "signing_key", "client_secret", "aws_secret_access_key", "secret",
        "api_secret", "encryption_key", "master_key", "hmac_key",
    )
    not_names = ("at", "id", "name", "arn", "version", "rotated", "expires")
    patterns = (
        r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}\b",  # AWS access key ids
        r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----",
        r"sk_(?:live|test)_[0-9A-Za-z]{16,}(?:[^0-9A-Za-z]|$)",  # Stripe secret keys
        r"AIza[0-9A-Za-z_\-]{35}(?:[^0-9A-Za-z_\-]|$)",  # Google API keys
    )
    embedded = True
    min_rate = 0.05
    hinted_rate = 0.05
    strong = True
    priority = 88


@register_detector
class NamedSecret(Detector):
    """A random-looking value in a column named secret (an AWS secret access key, a client secret)."""

    category = "secret_key"
    names = SecretKey.names
    not_names = SecretKey.not_names
    hinted_patterns = (r"[A-Za-z0-9/+=_\-]{16,}",)
    hinted_rate = 0.3
    priority = 87

    def validate(self, value: str) -> bool:
        return len(value) <= 512 and entropy(value) >= 3.5
