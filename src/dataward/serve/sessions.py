"""Browser sessions of ``dataward serve``: server-side, in the state database, behind a signed cookie.

A session is a random 32-byte id; the cookie carries it signed (itsdangerous, HMAC with a key kept in
``cp_settings``) and the database keeps only its SHA-256, so a copy of the database opens no session. Each
session has its own CSRF token (every form carries it; an unsafe request through a session without it is
refused), ends after :data:`IDLE` without a request or :data:`LIFETIME` after login, and a login always makes a
new one (no session fixation). :class:`LoginThrottle` refuses a name and address pair for a while after
:data:`MAX_FAILURES` wrong passwords. Time comes from a clock the caller passes, so tests never sleep::

    store = SessionStore(engine)
    cookie, session = store.start(user)        # Set-Cookie: cookie
    session = store.lookup(cookie)             # None when unknown, expired, tampered or the user is disabled
    store.end(cookie)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError

from dataward.serve.accounts import User
from dataward.state.schema import cp_sessions, cp_settings, cp_users

Clock = Callable[[], datetime]
COOKIE = "dw_session"
TLS_COOKIE = "__Host-dw_session"  # under TLS: Secure, Path=/, no Domain (RFC 6265bis cookie prefixes)
IDLE = timedelta(minutes=30)
LIFETIME = timedelta(hours=12)
MAX_FAILURES = 5
THROTTLE_WINDOW = timedelta(minutes=15)
_SECRET_KEY = "cookie_secret"


def utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def same_token(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a CSRF token."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str
    created_at: str


def cookie_secret(engine: Engine) -> str:
    """The key that signs session cookies: made once, kept in the state database (owner-only)."""
    with engine.begin() as conn:
        value = conn.execute(select(cp_settings.c.value).where(cp_settings.c.key == _SECRET_KEY)).scalar()
    if value is not None:
        return str(value)
    try:
        with engine.begin() as conn:
            conn.execute(cp_settings.insert().values(key=_SECRET_KEY, value=secrets.token_urlsafe(32)))
    except IntegrityError:
        pass  # another process made it first
    return cookie_secret(engine)


class SessionStore:
    """Sessions in ``cp_sessions``; ``clock`` is injectable so tests move time instead of sleeping."""

    def __init__(self, engine: Engine, clock: Clock = utc_now, idle: timedelta = IDLE,
                 lifetime: timedelta = LIFETIME) -> None:
        self.engine = engine
        self.clock = clock
        self.idle = idle
        self.lifetime = lifetime
        self._signer = URLSafeSerializer(cookie_secret(engine), salt="dataward.session")

    def start(self, user: User) -> tuple[str, Session]:
        """A new session for ``user``: the cookie value to set, and the session."""
        session_id = secrets.token_urlsafe(32)
        now = _iso(self.clock())
        session = Session(user, secrets.token_urlsafe(32), now)
        with self.engine.begin() as conn:
            conn.execute(cp_sessions.insert().values(id_hash=_digest(session_id), user_name=user.name,
                                                     csrf=session.csrf, created_at=now, last_seen=now))
        return self._signer.dumps(session_id), session

    def lookup(self, cookie: str | None) -> Session | None:
        """The live session of a cookie (and its idle clock restarted), or None."""
        session_id = self._unsign(cookie)
        if session_id is None:
            return None
        now = self.clock()
        query = (select(cp_sessions.c.csrf, cp_sessions.c.created_at, cp_sessions.c.last_seen,
                        cp_users.c.name, cp_users.c.role, cp_users.c.created_at.label("user_created"),
                        cp_users.c.must_change)
                 .join(cp_users, cp_users.c.name == cp_sessions.c.user_name)
                 .where(cp_sessions.c.id_hash == _digest(session_id), cp_users.c.disabled == 0))
        with self.engine.begin() as conn:
            row = conn.execute(query).first()
            if row is None:
                return None
            if row.last_seen < _iso(now - self.idle) or row.created_at < _iso(now - self.lifetime):
                conn.execute(delete(cp_sessions).where(cp_sessions.c.id_hash == _digest(session_id)))
                return None
            if row.last_seen < _iso(now - timedelta(seconds=30)):  # one write per half minute, not per request
                conn.execute(update(cp_sessions).where(cp_sessions.c.id_hash == _digest(session_id))
                             .values(last_seen=_iso(now)))
        user = User(row.name, row.role, False, row.user_created, must_change=bool(row.must_change))
        return Session(user, row.csrf, row.created_at)

    def end(self, cookie: str | None) -> None:
        session_id = self._unsign(cookie)
        if session_id is not None:
            with self.engine.begin() as conn:
                conn.execute(delete(cp_sessions).where(cp_sessions.c.id_hash == _digest(session_id)))

    def end_others(self, user_name: str, cookie: str | None) -> int:
        """End every session of ``user_name`` but the one of ``cookie`` (after a password change); how many."""
        kept = self._unsign(cookie)
        query = delete(cp_sessions).where(cp_sessions.c.user_name == user_name)
        if kept is not None:
            query = query.where(cp_sessions.c.id_hash != _digest(kept))
        with self.engine.begin() as conn:
            return int(conn.execute(query).rowcount or 0)

    def purge(self) -> int:
        """Delete expired sessions; how many."""
        now = self.clock()
        with self.engine.begin() as conn:
            result = conn.execute(delete(cp_sessions).where(
                (cp_sessions.c.last_seen < _iso(now - self.idle)) | (cp_sessions.c.created_at < _iso(now - self.lifetime))))
        return int(result.rowcount or 0)

    def _unsign(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            value = self._signer.loads(cookie)
        except BadSignature:
            return None
        return value if isinstance(value, str) else None


@dataclass
class LoginThrottle:
    """After ``max_failures`` wrong passwords for one name from one address within ``window``, that pair is
    refused (a right password included) until the oldest of those failures is ``window`` old."""

    clock: Clock = utc_now
    max_failures: int = MAX_FAILURES
    window: timedelta = THROTTLE_WINDOW
    _failures: dict[tuple[str, str], list[datetime]] = field(default_factory=dict)

    def blocked(self, name: str, address: str) -> bool:
        return len(self._recent(name, address)) >= self.max_failures

    def failed(self, name: str, address: str) -> None:
        self._recent(name, address).append(self.clock())
        if len(self._failures) > 10_000:  # bounded memory: forget pairs with no recent failure
            for key in [k for k, v in self._failures.items() if not v or v[-1] < self.clock() - self.window]:
                del self._failures[key]

    def succeeded(self, name: str, address: str) -> None:
        self._failures.pop((name.lower(), address), None)

    def _recent(self, name: str, address: str) -> list[datetime]:
        key = (name.lower(), address)
        horizon = self.clock() - self.window
        recent = [t for t in self._failures.get(key, []) if t > horizon]
        self._failures[key] = recent
        return recent
