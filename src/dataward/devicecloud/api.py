"""The reference device-cloud API over the generated database: login, /v1/me, RFC 7009 revocation, integrations.

Small on purpose: it is what the incident response talks to in tests and the demo, and what shows that a
revoked token stops working while the others keep working.

* ``POST /v1/login`` ``{"email", "password"}`` -> a bearer token (a new ``api_tokens`` row). Passwords verify
  against ``$pbkdf2-sha256$`` hashes set with :func:`set_password`; the generator's format-only hashes never
  verify, so nobody logs in to generated accounts by accident.
* ``GET /v1/me`` with ``Authorization: Bearer …`` -> the account, or 401 when the token is unknown, revoked,
  expired or issued before a forced logout.
* ``POST /oauth/revoke`` (RFC 7009 §2.1, form ``token`` and optional ``token_type_hint``): revokes an access
  or refresh token; answers 200 for unknown or already revoked tokens too (§2.2), so it is idempotent.
  The client always authenticates with HTTP Basic (401 ``invalid_client`` otherwise): at least one client
  must be configured, so the endpoint is never open.
* ``GET /v1/integrations`` -> link state per provider and whether the user must relink it.
"""

import base64
import hashlib
import hmac
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from dataward.errors import DatawardError
from dataward.incident.actions.flags import as_datetime, flags_for, utc_now_naive
from dataward.incident.db import SqlDb, connect

TOKEN_LIFETIME = timedelta(days=30)
PBKDF2_ITERATIONS = 60_000


def hash_password(password: str, iterations: int = PBKDF2_ITERATIONS) -> str:
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    enc = base64.b64encode
    return f"$pbkdf2-sha256${iterations}${enc(salt).decode()}${enc(digest).decode()}"


# Checked against when the account is unknown or its hash is not ours, so every login costs one PBKDF2 run and
# its timing does not tell which emails have accounts with real passwords.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def verify_password(password: str, stored: str | None) -> bool:
    """Constant-time check of a ``$pbkdf2-sha256$`` hash; any other format does not verify (same cost)."""
    usable = bool(stored) and str(stored).startswith("$pbkdf2-sha256$")
    try:
        _, _, iterations, salt, digest = (stored if usable else _DUMMY_HASH).split("$")  # type: ignore[union-attr]
        computed = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
        return usable and hmac.compare_digest(computed, base64.b64decode(digest))
    except ValueError:
        return False


def set_password(db: SqlDb, user_id: int, password: str) -> None:
    """Give a (generated) account a password the API can verify (tests, the demo)."""
    db.execute("UPDATE users SET password_hash = ? WHERE id = ?", (hash_password(password), user_id))


class Login(BaseModel):
    email: str
    password: str
    platform: str = "web"


class _Api:
    """The database behind the app, used from FastAPI's worker threads under one lock."""

    def __init__(self, db: SqlDb, clients: dict[str, str] | None) -> None:
        self.db = db
        self.clients = clients or {}
        self.lock = threading.Lock()

    @contextmanager
    def locked(self) -> Iterator[SqlDb]:
        with self.lock:
            yield self.db

    def issue(self, user_id: int, platform: str) -> dict[str, Any]:
        now = utc_now_naive()
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(48)
        with self.locked() as db, db.transaction():
            next_id = int(db.query("SELECT COALESCE(MAX(id), 0) + 1 FROM api_tokens")[0][0])
            db.execute(
                "INSERT INTO api_tokens (id, user_id, platform, access_token, refresh_token, issued_at, expires_at,"
                " revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                (next_id, user_id, platform, access, refresh, now, now + TOKEN_LIFETIME),
            )
        return {
            "access_token": access,
            "refresh_token": refresh,
            "token_type": "bearer",
            "expires_in": int(TOKEN_LIFETIME.total_seconds()),
        }

    def user_for(self, token: str) -> int | None:
        """The user of a live access token: not revoked, not expired, not older than a forced logout."""
        with self.locked() as db:
            rows = db.query(
                "SELECT user_id, issued_at, expires_at, revoked_at FROM api_tokens WHERE access_token = ?",
                (token,),
            )
            if not rows:
                return None
            user_id, issued, expires, revoked = rows[0]
            flags = flags_for(db, int(user_id))
        now = datetime.now(UTC)
        if revoked is not None:
            return None
        expires_at, issued_at = as_datetime(expires), as_datetime(issued)
        if expires_at is not None and expires_at <= now:
            return None
        logout = flags["force_logout_at"]
        if logout is not None and issued_at is not None and issued_at <= logout:
            return None
        return int(user_id)

    def revoke(self, token: str, hint: str | None) -> None:
        """RFC 7009 §2.1: the hint only orders the lookup; both kinds are searched; idempotent."""
        columns = (
            ("refresh_token", "access_token")
            if hint == "refresh_token"
            else ("access_token", "refresh_token")
        )
        now = utc_now_naive()
        with self.locked() as db:
            for column in columns:
                changed = db.execute(
                    f"UPDATE api_tokens SET revoked_at = ? WHERE {column} = ? AND revoked_at IS NULL",  # noqa: S608
                    (now, token),
                )
                if changed > 0:
                    return


def create_app(db_url: str, clients: dict[str, str] | None) -> FastAPI:
    """The FastAPI app over the device-cloud database at ``db_url`` (sqlite, duckdb or postgresql).

    ``clients`` (client id -> secret) may call ``/oauth/revoke``; at least one is required, because RFC 7009
    §2.1 has the client authenticate and an open revocation endpoint lets anyone log customers out.
    """
    check_clients(clients)
    api = _Api(connect(db_url, create=False), clients)
    app = FastAPI(title="dataward reference device cloud", version="1")

    def bearer(authorization: Annotated[str | None, Header()] = None) -> int:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
        user = api.user_for(authorization.split(" ", 1)[1].strip())
        if user is None:
            raise HTTPException(
                401, "invalid or revoked token", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
            )
        return user

    @app.post("/v1/login")
    def login(body: Login) -> dict[str, Any]:
        with api.locked() as db:
            rows = db.query(
                "SELECT id, password_hash FROM users WHERE lower(email) = lower(?)", (body.email,)
            )
        if not verify_password(body.password, rows[0][1] if rows else None):
            raise HTTPException(401, "wrong email or password")
        with api.locked() as db:
            reset = flags_for(db, int(rows[0][0]))["password_reset_required"]
        if reset:  # the incident reset this password: the old one no longer signs in
            raise HTTPException(401, "password reset required")
        return api.issue(int(rows[0][0]), body.platform)

    @app.get("/v1/me")
    def me(user_id: Annotated[int, Depends(bearer)]) -> dict[str, Any]:
        with api.locked() as db:
            email = db.query("SELECT email FROM users WHERE id = ?", (user_id,))[0][0]
            flags = flags_for(db, user_id)
        return {
            "id": user_id,
            "email": email,
            "password_reset_required": flags["password_reset_required"],
            "relink_required": flags["relink_providers"],
        }

    @app.get("/v1/integrations")
    def integrations(user_id: Annotated[int, Depends(bearer)]) -> list[dict[str, Any]]:
        with api.locked() as db:
            rows = db.query(
                "SELECT provider, linked_at, unlinked_at FROM integrations WHERE user_id = ? ORDER BY provider",
                (user_id,),
            )
            relink = set(flags_for(db, user_id)["relink_providers"])
        return [
            {"provider": p, "linked": u is None, "relink_required": p in relink and u is not None}
            for p, _linked, u in rows
        ]

    @app.post("/oauth/revoke")
    async def revoke(request: Request) -> JSONResponse:
        # application/x-www-form-urlencoded (RFC 7009 §2.1), parsed here rather than with a multipart dependency
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        token = form.get("token", [None])[0]
        token_type_hint = form.get("token_type_hint", [None])[0]
        if not _client_ok(request, api.clients):
            return JSONResponse({"error": "invalid_client"}, 401, headers={"WWW-Authenticate": "Basic"})
        if not token:
            return JSONResponse({"error": "invalid_request", "error_description": "token is required"}, 400)
        await run_in_threadpool(api.revoke, token, token_type_hint)
        return JSONResponse({}, 200)  # RFC 7009 §2.2: 200 whether or not the token was known

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def check_clients(clients: dict[str, str] | None) -> None:
    """At least one client, each with a non-empty id and secret (RFC 7009 §2.1: the client authenticates)."""
    if not clients:
        raise DatawardError(
            "the revocation endpoint needs at least one client id and secret (RFC 7009 §2.1)",
            tip="pass --client ID:SECRET_FILE or give create_app a clients mapping",
        )
    if any(not cid or not secret for cid, secret in clients.items()):
        raise DatawardError("a revocation client needs a non-empty id and a non-empty secret")


def _client_ok(request: Request, clients: dict[str, str]) -> bool:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return False
    try:
        client_id, _, secret = base64.b64decode(header.split(" ", 1)[1], validate=True).decode().partition(":")
    except (ValueError, IndexError):  # not base64, not UTF-8 (binascii.Error and UnicodeDecodeError are ValueErrors)
        return False
    expected = clients.get(client_id)
    # compare bytes: hmac.compare_digest refuses non-ASCII str (the 500 an adversarial review found)
    return expected is not None and hmac.compare_digest(expected.encode(), secret.encode())
