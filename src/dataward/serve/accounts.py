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
from dataward.state.schema import cp_tokens, cp_users

ROLES = ("viewer", "responder", "admin")  # each role may do what the ones before it may
TOKEN_PREFIX = "dw_"
MIN_PASSWORD = 12
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_HASHER = PasswordHasher()  # Argon2id


@dataclass(frozen=True)
class User:
    name: str
    role: str
    disabled: bool
    created_at: str
    tokens: int = 0

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
    return _HASHER.hash(password)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(engine: Engine, name: str, role: str, password: str) -> User:
    """A new user; refuses an existing name (a password is changed by disabling and adding, for now)."""
    user = User(check_name(name), check_role(role), False, _now())
    values = {"name": user.name, "role": user.role, "password_hash": hash_password(password),
              "disabled": 0, "created_at": user.created_at}
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
        rows = conn.execute(select(cp_users.c.name, cp_users.c.role, cp_users.c.disabled, cp_users.c.created_at)
                            .order_by(cp_users.c.name)).all()
        counts: dict[str, int] = {}
        for (owner,) in conn.execute(select(cp_tokens.c.user_name)):
            counts[owner] = counts.get(owner, 0) + 1
    return [User(n, r, bool(d), c, counts.get(n, 0)) for n, r, d, c in rows]


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
    """The enabled user who owns ``token``, or None."""
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
    return User(row.name, row.role, False, row.created_at)
