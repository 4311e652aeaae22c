"""PostgreSQL: a read-only probe that logs in the way an attacker would, and table sampling.

The probe asks the server for TLS with a raw SSLRequest (the 'S'/'N' answer of the frontend/backend
protocol, PostgreSQL docs 55.2.10), then tries, in order: the URL's own credentials, no password as
``postgres`` and as the URL's user (``trust`` in pg_hba.conf), and a short list of well-known defaults.
Every session it opens is read-only (``default_transaction_read_only``) and only reads catalog views.
libpq's own password sources (PGPASSWORD, ~/.pgpass) are switched off so a 'no password' attempt is one.

``details`` keys: ``trust_users`` (roles that connected without a password), ``password_users`` (roles
that were asked for a password), ``superuser_without_password``, ``connected_as``, ``superuser``
(of the role the facts were read with), ``ssl`` (the server's ``ssl`` setting), ``listen_addresses``,
``databases``, ``tables`` (user tables in the URL's database), ``hba_trust_rules`` (``trust`` lines of
pg_hba.conf, readable by superusers), ``anonymous_how``, ``auth_error``, ``protocol_mismatch``.
"""

from __future__ import annotations

import ipaddress
import math
import socket
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import psycopg

from dataward.stores._net import describe_error
from dataward.stores._tables import sample_tables
from dataward.stores.base import Budget, ExposureFacts, SampledObject, register_store
from dataward.targets import Target

# Frontend/backend protocol: SSLRequest is length 8 + code 80877103 (PostgreSQL docs 55.7).
SSL_REQUEST = struct.pack("!ii", 8, 80877103)
BUILTIN_DEFAULTS: tuple[tuple[str, str], ...] = (("postgres", "postgres"), ("postgres", "password"))

_FACTS_SQL = {
    "version": "SELECT current_setting('server_version')",
    "listen_addresses": "SELECT current_setting('listen_addresses')",
    "ssl": "SELECT current_setting('ssl')",
    "superuser": "SELECT current_setting('is_superuser') = 'on'",
    "session_ssl": "SELECT coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)",
}
_DATABASES_SQL = "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1"
_USER_TABLES = """FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
    WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg_toast%'"""
_TABLES_SQL = (
    "SELECT count(*), coalesce(sum(greatest(c.reltuples, coalesce(s.n_live_tup, 0), 0)), 0)::bigint,"
    " count(*) FILTER (WHERE has_table_privilege(c.oid, 'SELECT')) " + _USER_TABLES
)
_HBA_TRUST_SQL = """SELECT type, array_to_string(database, ','), array_to_string(user_name, ','),
    coalesce(address, ''), coalesce(netmask, '') FROM pg_hba_file_rules WHERE auth_method = 'trust'"""


@dataclass
class _Attempt:
    user: str
    password: str | None
    kind: str  # given | no-password | default


@dataclass
class _Observed:
    """What the login attempts showed, before it becomes ExposureFacts."""

    trust_users: list[str] = field(default_factory=list)
    password_users: list[str] = field(default_factory=list)
    default_login: str | None = None
    given_ok: bool | None = None
    auth_error: str | None = None
    unreachable: str | None = None
    session: dict[str, Any] = field(default_factory=dict)
    session_user: str | None = None
    plain_refused: bool | None = None  # a sslmode=disable attempt hit a hostssl-only rule
    exposed: dict[str, Any] | None = None  # the view of a login without valid credentials


@register_store
class PostgresStore:
    """``postgresql://user@host:5432/db`` (alias ``postgres://``)."""

    scheme: ClassVar[str] = "postgresql"
    schemes: ClassVar[tuple[str, ...]] = ("postgres",)
    default_ports: ClassVar[tuple[int, ...]] = (5432,)
    local: ClassVar[bool] = False
    listens: ClassVar[bool] = True
    display_name: ClassVar[str] = "PostgreSQL"
    remediation: ClassVar[Mapping[str, str]] = {
        "no-auth": "Replace 'trust' lines in pg_hba.conf with scram-sha-256 and set a "
        "password for every role.",
        "default-credentials": "Change the password of the default role and use scram-sha-256 in "
        "pg_hba.conf.",
        "no-tls": "Set ssl = on with a certificate, and use hostssl lines in pg_hba.conf.",
        "tls-not-required": "Use hostssl (not host) lines in pg_hba.conf so plain connections are refused.",
        "public-bind": "Set listen_addresses to the private interface(s) clients use, not '*'.",
    }
    discovery_hello: ClassVar[bytes] = SSL_REQUEST

    @classmethod
    def identify(cls, answer: bytes) -> bool:
        """A PostgreSQL server answers an SSLRequest with exactly one byte: 'S' (TLS) or 'N'."""
        return answer in (b"S", b"N")

    def probe(self, target: Target, budget: Budget) -> ExposureFacts:
        host, port = target.host or "localhost", target.port or 5432
        try:
            answer = _ssl_request(host, port, budget.timeout_s)
        except OSError as exc:
            return self._facts(target, reachable=False, error=describe_error(exc, budget.timeout_s))
        if not self.identify(answer):
            return self._facts(
                target, reachable=False, error="the server does not speak the PostgreSQL protocol",
                details={"protocol_mismatch": f"answered an SSLRequest with {len(answer)} byte(s), not 'S'/'N'"},
            )
        seen = _try_logins(target, budget)
        if seen.unreachable and not seen.session:
            return self._facts(target, reachable=False, error=seen.unreachable, tls_offered=answer == b"S")
        return _to_facts(target, seen, tls_offered=answer == b"S")

    def sample(self, target: Target, budget: Budget) -> Iterator[SampledObject]:
        """Tables of the URL's database, read with the URL's login or, when it has no password, with the
        login the probe would find open (trust, a default password): what an outsider can read."""
        login = target if target.password is not None else (open_login(target, budget) or target)
        return sample_tables(login, budget, self.scheme, display=target.display)

    def _facts(self, target: Target, **kw: Any) -> ExposureFacts:
        return ExposureFacts(target=target.display, store=self.scheme, scope=target.scope, name=target.name, **kw)


def _ssl_request(host: str, port: int, timeout_s: float) -> bytes:
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.settimeout(timeout_s)
        sock.sendall(SSL_REQUEST)
        return sock.recv(16)


def _attempts(target: Target, budget: Budget) -> list[_Attempt]:
    out: list[_Attempt] = []
    if target.username and target.password is not None:
        out.append(_Attempt(target.username, target.password, "given"))
    for user in dict.fromkeys(["postgres", target.username or "postgres"]):
        out.append(_Attempt(user, None, "no-password"))
    defaults = BUILTIN_DEFAULTS if budget.default_credentials is None else budget.default_credentials
    out.extend(_Attempt(u, p, "default") for u, p in defaults)
    return out


def open_login(target: Target, budget: Budget) -> Target | None:
    """The target with the first no-password or default login that connects, or None."""
    for attempt in _attempts(target, budget):
        if attempt.kind == "given":
            continue
        try:
            with _connect(target, attempt.user, attempt.password, budget):
                return target.with_credentials(attempt.user, attempt.password)
        except psycopg.Error:
            continue
    return None


def _try_logins(target: Target, budget: Budget) -> _Observed:
    seen = _Observed()
    for attempt in _attempts(target, budget):
        if attempt.kind == "default" and (attempt.user in seen.trust_users or seen.default_login):
            continue  # trust already lets this role in, or one default already worked
        try:
            with _connect(target, attempt.user, attempt.password, budget) as conn:
                _record_success(seen, attempt, conn)
        except psycopg.Error as exc:
            _record_failure(seen, attempt, _message(exc))
            if seen.unreachable:
                break
    if seen.session_user is not None:
        seen.plain_refused = _plain_refused(target, seen, budget)
    return seen


def _record_success(seen: _Observed, attempt: _Attempt, conn: psycopg.Connection[Any]) -> None:
    if attempt.kind == "given":
        seen.given_ok = True
    elif attempt.kind == "no-password":
        seen.trust_users.append(attempt.user)
    else:
        seen.default_login = f"user '{attempt.user}' with a well-known default password"
    session = _read_session(conn)
    if attempt.kind != "given" and seen.exposed is None:
        seen.exposed = session
    # keep the most privileged view of the server: a superuser's beats an ordinary role's
    if not seen.session or (session.get("superuser") and not seen.session.get("superuser")):
        seen.session, seen.session_user = session, attempt.user
        seen.session["_password"] = attempt.password  # held in memory only, for the sslmode=disable check


def _record_failure(seen: _Observed, attempt: _Attempt, message: str) -> None:
    low = message.lower()
    if "timeout" in low or "could not connect" in low or "connection refused" in low:
        seen.unreachable = message
    elif attempt.kind == "given":
        seen.given_ok = False
        seen.auth_error = message
    if attempt.kind == "no-password" and ("password" in low or "pg_hba.conf" in low):
        seen.password_users.append(attempt.user)


def _connect(target: Target, user: str, password: str | None, budget: Budget, sslmode: str = "prefer",
             dbname: str | None = None) -> psycopg.Connection[Any]:
    """One read-only session; libpq's PGPASSWORD and ~/.pgpass are ignored (password='' + passfile)."""
    return psycopg.connect(
        host=target.host or "localhost",
        port=target.port or 5432,
        user=user,
        password=password or "",
        passfile="/nonexistent/dataward-no-pgpass",  # not /dev/null: libpq warns on non-files
        dbname=dbname or target.database or "postgres",
        connect_timeout=max(2, math.ceil(budget.timeout_s)),  # libpq treats values under 2 as 2
        sslmode=sslmode,
        application_name="dataward-probe",
        options=f"-c default_transaction_read_only=on -c statement_timeout={int(budget.timeout_s * 1000)}",
        autocommit=True,
    )


def _read_session(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """Settings, databases and table statistics this role can see (catalog reads only)."""
    out: dict[str, Any] = {}
    for key, sql in _FACTS_SQL.items():
        out[key] = _scalar(conn, sql)
    out["databases"] = [r[0] for r in conn.execute(_DATABASES_SQL).fetchall()]
    tables, rows, selectable = conn.execute(_TABLES_SQL).fetchone() or (0, 0, 0)
    out.update(tables=int(tables), rows=int(rows), selectable=int(selectable))
    if out.get("superuser"):
        out["hba_trust_rules"] = [_hba_line(*r) for r in conn.execute(_HBA_TRUST_SQL).fetchall()]
    return out


def _hba_line(kind: str, database: str, users: str, address: str, netmask: str) -> str:
    """A pg_hba.conf rule as 'host all all 10.0.0.0/8' (address with its netmask folded into a prefix)."""
    if address and netmask:
        try:
            address = str(ipaddress.ip_network(f"{address}/{netmask}", strict=False))
        except ValueError:
            address = f"{address}/{netmask}"
    return " ".join(p for p in (kind, database, users, address) if p)


def _scalar(conn: psycopg.Connection[Any], sql: str) -> Any:
    try:
        row = conn.execute(sql).fetchone()
    except psycopg.Error:
        return None
    return row[0] if row else None


def _plain_refused(target: Target, seen: _Observed, budget: Budget) -> bool | None:
    """Does pg_hba.conf refuse a plain-text session for the role that got in? (None: could not tell)"""
    user = seen.session_user or "postgres"
    try:
        with _connect(target, user, seen.session.get("_password"), budget, sslmode="disable"):
            return False
    except psycopg.Error as exc:
        low = _message(exc).lower()
        return True if "no encryption" in low else None


def _message(exc: psycopg.Error) -> str:
    """The first line of libpq's message, without the 'connection to server at ...' prefix."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "failed:" in text:
        text = text.rsplit("failed:", 1)[1].strip()
    return text.replace("FATAL:  ", "").strip()


def _to_facts(target: Target, seen: _Observed, tls_offered: bool) -> ExposureFacts:
    s = seen.session
    trusted = list(dict.fromkeys(seen.trust_users))
    superuser_free = bool(trusted) and s.get("superuser") is True and seen.session_user in trusted
    details: dict[str, Any] = {
        "trust_users": trusted,
        "password_users": list(dict.fromkeys(seen.password_users)),
        "superuser_without_password": superuser_free,
    }
    if s:
        details.update(connected_as=seen.session_user, superuser=s.get("superuser"), ssl=s.get("ssl"),
                       listen_addresses=s.get("listen_addresses"), databases=s.get("databases"),
                       tables=s.get("tables"))
        if "hba_trust_rules" in s:
            details["hba_trust_rules"] = s["hba_trust_rules"]
    if trusted:
        details["anonymous_how"] = "connected without a password as " + ", ".join(f"'{u}'" for u in trusted)
    if seen.auth_error:
        details["auth_error"] = seen.auth_error
    anonymous = bool(trusted)
    return ExposureFacts(
        target=target.display,
        store="postgresql",
        reachable=True,
        version=s.get("version"),
        auth_required=(not anonymous) if (trusted or seen.password_users or seen.given_ok) else None,
        anonymous_access=anonymous,
        default_credentials=seen.default_login,
        authenticated=seen.given_ok,
        tls_offered=tls_offered,
        tls_required=False if not tls_offered else (None if seen.plain_refused is None else seen.plain_refused),
        scope=target.scope,
        bind=s.get("listen_addresses"),
        listable=tuple((seen.exposed or s).get("databases") or ()),
        readable=bool((seen.exposed or s).get("selectable")) if s else None,
        records=s.get("rows") if s else None,
        details=details,
        name=target.name,
    )
