"""Control plane accounts: users with a role, Argon2id password hashes, API tokens stored as SHA-256 digests.

A password or a token is never stored, logged or returned after creation: the database holds only
``argon2id`` hashes (argon2-cffi's defaults, RFC 9106) and the SHA-256 of each token (a token is 32 random bytes,
so a fast digest is enough; a lookup is one indexed query)::

    from dataward.serve import accounts
    from dataward.state import open_state_db

    engine = open_state_db("watch.db")
    accounts.add_user(engine, "ana", "viewer", password)
    token = accounts.create_token(engine, "ana")     # show it once
    user = accounts.user_for_token(engine, token)    # None when unknown or the user is disabled

A password someone else chose (the demo's generated one, one an admin typed on the Settings page, ``dataward
users add --one-time``) is *one-time*: ``User.must_change`` stays true, and the pages ask for a new password
before anything else, until :func:`change_password` records one its owner chose.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError

from dataward.errors import DatawardError
from dataward.state.schema import cp_sessions, cp_tokens, cp_users

ROLES = ("viewer", "responder", "admin")  # each role may do what the ones before it may
TOKEN_PREFIX = "dw_"
MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # Argon2id hashes any length; a bound keeps a login's cost bounded too
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_HASHER = PasswordHasher()  # Argon2id


class WrongPassword(DatawardError):
    """The current password given to :func:`change_password` is not the user's."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    disabled: bool
    created_at: str
    tokens: int = 0
    must_change: bool = False  # a one-time password: the pages ask for a new one first

    def allows(self, role: str) -> bool:
        """True when this user's role is ``role`` or above it."""
        return not self.disabled and ROLES.index(self.role) >= ROLES.index(role)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_role(role: str) -> str:
    if role not in ROLES:
        raise DatawardError(f"'{role}' is not a role", tip=f"roles: {', '.join(ROLES)}")
    return role


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise DatawardError(f"'{name}' is not a user name",
                            tip="use up to 64 letters, digits and . _ @ -, starting with a letter or digit")
    return name


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise DatawardError(f"the password is shorter than {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise DatawardError(f"the password is longer than {MAX_PASSWORD} characters")
    return _HASHER.hash(password)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(engine: Engine, name: str, role: str, password: str, *, one_time: bool = False) -> User:
    """A new user; refuses an existing name. ``one_time``: someone else chose the password, so its owner must
    change it at the first login (:func:`change_password`)."""
    user = User(check_name(name), check_role(role), False, _now(), must_change=one_time)
    values = {"name": user.name, "role": user.role, "password_hash": hash_password(password),
              "disabled": 0, "created_at": user.created_at, "must_change": int(one_time),
              "password_changed_at": None if one_time else user.created_at}
    try:
        with engine.begin() as conn:
            conn.execute(cp_users.insert().values(**values))
    except IntegrityError:
        raise DatawardError(f"there is already a user '{name}'") from None
    return user


def get_user(engine: Engine, name: str) -> User:
    for user in list_users(engine):
        if user.name == name:
            return user
    raise DatawardError(f"there is no user '{name}'", tip="`dataward users list` shows them")


def list_users(engine: Engine) -> list[User]:
    with engine.begin() as conn:
        rows = conn.execute(select(cp_users.c.name, cp_users.c.role, cp_users.c.disabled, cp_users.c.created_at,
                                   cp_users.c.must_change).order_by(cp_users.c.name)).all()
        counts: dict[str, int] = {}
        for (owner,) in conn.execute(select(cp_tokens.c.user_name)):
            counts[owner] = counts.get(owner, 0) + 1
    return [User(n, r, bool(d), c, counts.get(n, 0), bool(m)) for n, r, d, c, m in rows]


def disable_user(engine: Engine, name: str) -> None:
    """The user can no longer sign in; their tokens are deleted."""
    get_user(engine, name)
    with engine.begin() as conn:
        conn.execute(update(cp_users).where(cp_users.c.name == name).values(disabled=1))
        conn.execute(cp_tokens.delete().where(cp_tokens.c.user_name == name))


def create_token(engine: Engine, name: str) -> str:
    """A new API token for an enabled user; returned once, only its SHA-256 is stored."""
    if get_user(engine, name).disabled:
        raise DatawardError(f"the user '{name}' is disabled")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(cp_tokens.insert().values(token_hash=token_digest(token), user_name=name, created_at=_now()))
    return token


def user_for_token(engine: Engine, token: str) -> User | None:
    """The enabled user who owns ``token``, or None. A token works whether or not the user's password is still
    one-time (an admin made it for them on purpose; ``must_change`` concerns the password only)."""
    query = (select(cp_users.c.name, cp_users.c.role, cp_users.c.created_at)
             .join(cp_tokens, cp_tokens.c.user_name == cp_users.c.name)
             .where(cp_tokens.c.token_hash == token_digest(token), cp_users.c.disabled == 0))
    with engine.begin() as conn:
        row = conn.execute(query).first()
    return None if row is None else User(row.name, row.role, False, row.created_at)


def verify_password(engine: Engine, name: str, password: str) -> User | None:
    """The enabled user when the password matches (for the login page to come), else None."""
    with engine.begin() as conn:
        row = conn.execute(select(cp_users).where(cp_users.c.name == name, cp_users.c.disabled == 0)).first()
    if row is None:
        _HASHER.hash(password)  # about the same time as a wrong password: no user enumeration by timing
        return None
    try:
        _HASHER.verify(row.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return User(row.name, row.role, False, row.created_at, must_change=bool(row.must_change))


def set_password(engine: Engine, name: str, password: str, *, one_time: bool = True) -> User:
    """An admin sets ``name``'s password (a forgotten one, a handover): one-time unless ``one_time`` is false,
    so its owner chooses their own at the next login. Every session of the user ends."""
    get_user(engine, name)
    digest = hash_password(password)
    with engine.begin() as conn:
        conn.execute(update(cp_users).where(cp_users.c.name == name).values(
            password_hash=digest, must_change=int(one_time), password_changed_at=None if one_time else _now()))
        conn.execute(cp_sessions.delete().where(cp_sessions.c.user_name == name))
    return get_user(engine, name)


def change_password(engine: Engine, name: str, current: str, new: str) -> User:
    """Replace ``name``'s password after checking the current one; a one-time password stops being one.

    The new password follows :func:`hash_password`'s rule and differs from the current one; a wrong current
    password is a :class:`WrongPassword` (and costs the same Argon2id time as a login)."""
    if verify_password(engine, name, current) is None:
        raise WrongPassword("the current password is wrong")
    if new == current:
        raise DatawardError("the new password is the same as the current one", tip="choose another one")
    digest = hash_password(new)
    with engine.begin() as conn:
        conn.execute(update(cp_users).where(cp_users.c.name == name)
                     .values(password_hash=digest, must_change=0, password_changed_at=_now()))
    return get_user(engine, name)
