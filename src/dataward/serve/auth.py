"""Who is calling, and may they: a bearer token (the API) or a session cookie (the browser), and the CSRF check.

:func:`require` guards the API: ``Authorization: Bearer TOKEN`` or a session cookie, 401 without either, 403 when
the role is too low or when an unsafe request (POST, PUT, PATCH, DELETE) through a session lacks the session's
CSRF token (the ``X-CSRF-Token`` header or a ``csrf`` form field). :func:`require_page` guards the pages:
a session only; without one the browser is sent to ``/login``. A bearer request needs no CSRF token: a browser
never adds that header on its own.

A user whose password is one-time (``User.must_change``) may, through a session, only choose a new one: every
page sends the browser to ``/password`` and every API call answers 403 with a sentence saying so. API tokens
are not affected (an admin made them on purpose).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qsl, quote

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from dataward.serve import accounts
from dataward.serve.accounts import User
from dataward.serve.sessions import (
    COOKIE,
    TLS_COOKIE,
    Clock,
    LoginThrottle,
    Session,
    SessionStore,
    same_token,
)
from dataward.watch.state import StateDB

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf"
MAX_FORM = 64 * 1024
_bearer = HTTPBearer(auto_error=False)


class LoginRequired(Exception):
    """A page asked for without a session: the browser goes to the login page, then back to ``next``."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class PasswordChangeRequired(Exception):
    """A page asked for through a session whose password is one-time: the browser goes to ``/password``."""


PASSWORD_PAGE = "/password"
MUST_CHANGE = f"change your one-time password first (log in on the pages, or open {PASSWORD_PAGE})"


@dataclass(frozen=True)
class Caller:
    """A page's caller: the user and their session (its CSRF token goes into every form)."""

    user: User
    session: Session

    @property
    def csrf(self) -> str:
        return self.session.csrf


def install(app: FastAPI, clock: Clock | None = None) -> None:
    """Sessions and the login throttle for an app over ``app.state.db``."""
    db: StateDB = app.state.db
    store = SessionStore(db.engine) if clock is None else SessionStore(db.engine, clock=clock)
    app.state.sessions = store
    app.state.throttle = LoginThrottle(clock=store.clock)


def sessions(request: Request) -> SessionStore:
    store: SessionStore = request.app.state.sessions
    return store


def secure(request: Request) -> bool:
    """Whether the request came over TLS (the cookie is then Secure and ``__Host-`` prefixed)."""
    return request.url.scheme == "https" or bool(getattr(request.app.state, "tls", False))


def cookie_name(request: Request) -> str:
    return TLS_COOKIE if secure(request) else COOKIE


def session_of(request: Request) -> Session | None:
    return sessions(request).lookup(request.cookies.get(cookie_name(request)))


async def form_of(request: Request) -> dict[str, str]:
    """A urlencoded form body (read once per request, at most 64 KiB); anything else is an empty form."""
    cached: dict[str, str] | None = getattr(request.state, "form", None)
    if cached is not None:
        return cached
    form: dict[str, str] = {}
    if request.headers.get("content-type", "").split(";")[0].strip() == "application/x-www-form-urlencoded":
        body = bytearray()
        async for chunk in request.stream():  # never more than MAX_FORM in memory, whatever the client sends
            body += chunk
            if len(body) > MAX_FORM:
                raise HTTPException(413, "the form is too large")
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    request.state.form = form
    return form


async def csrf_ok(request: Request, session: Session) -> bool:
    given = request.headers.get(CSRF_HEADER) or (await form_of(request)).get(CSRF_FIELD)
    return same_token(given, session.csrf)


def require(role: str) -> Callable[..., Awaitable[User]]:
    """An API dependency: the caller (bearer token or session), if their role is ``role`` or above."""
    accounts.check_role(role)

    async def dependency(request: Request,
                         credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> User:
        db: StateDB = request.app.state.db
        if credentials is not None:
            user = accounts.user_for_token(db.engine, credentials.credentials)
        else:
            session = session_of(request)
            user = session.user if session else None
            if session is not None and request.method not in SAFE_METHODS and not await csrf_ok(request, session):
                raise HTTPException(403, "the CSRF token is missing or wrong")
            if user is not None and user.must_change:
                raise HTTPException(403, MUST_CHANGE)
        if user is None:
            raise HTTPException(401, "authentication required", headers={"WWW-Authenticate": "Bearer"})
        if not user.allows(role):
            raise HTTPException(403, f"this needs the {role} role")
        request.state.user = user
        return user

    return dependency


def still_allowed(request: Request, role: str) -> bool:
    """Whether the caller of a long request (the event stream) may still make it: its token still valid and its
    user enabled, or its session still live (not ended, expired, nor its user disabled; the check counts as
    activity) and its password not one-time; and the role still enough."""
    engine = request.app.state.db.engine
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        user = accounts.user_for_token(engine, token.strip())
    else:
        session = session_of(request)
        user = session.user if session is not None and not session.user.must_change else None
    return user is not None and user.allows(role)


def require_page(role: str, *, one_time_ok: bool = False) -> Callable[..., Awaitable[Caller]]:
    """A page dependency: the session's caller; no session sends the browser to the login page, a one-time
    password to the password page (unless ``one_time_ok``: that page itself, and logging out)."""
    accounts.check_role(role)

    async def dependency(request: Request) -> Caller:
        session = session_of(request)
        if session is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginRequired(target if request.method in SAFE_METHODS else "/")
        if request.method not in SAFE_METHODS and not await csrf_ok(request, session):
            raise HTTPException(403, "the form's CSRF token is missing or wrong; reload the page and try again")
        if session.user.must_change and not one_time_ok:
            raise PasswordChangeRequired()
        if not session.user.allows(role):
            raise HTTPException(403, f"this needs the {role} role")
        request.state.user = session.user
        return Caller(session.user, session)

    return dependency


def login_url(next_path: str) -> str:
    return "/login" if next_path in ("", "/") else f"/login?next={quote(next_path, safe='/')}"


def safe_next(value: str | None) -> str:
    """Only a local path: ``/stores`` yes, ``//evil.example`` or ``https://…`` no (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value
