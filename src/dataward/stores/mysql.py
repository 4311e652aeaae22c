"""MySQL and MariaDB: a read-only probe (greeting, empty/anonymous/default logins, server settings) and
table sampling.

The server speaks first: its handshake packet (protocol 10, MySQL Client/Server Protocol
"Initial Handshake") carries the version and whether TLS is offered (CLIENT_SSL capability). The probe then
tries the URL's credentials, ``root`` with an empty password, the anonymous account (empty user name) and a
short list of defaults; each session is ``READ ONLY`` and only reads variables and ``information_schema``,
plus ``mysql.user`` / ``mysql.global_priv`` when the role may (never password hashes: only whether one is set).

``details`` keys: ``connected_as`` (the login that worked), ``current_user`` (the account the server matched,
e.g. ``''@'localhost'`` for the anonymous account), ``anonymous_users``, ``passwordless_users`` (accounts with
an empty password and a password plugin), ``require_secure_transport``, ``bind_address``,
``skip_networking``, ``have_ssl``, ``databases``, ``tables``, ``greeting_error`` (an error packet instead of a
greeting, e.g. host not allowed), ``anonymous_how``, ``auth_error``, ``protocol_mismatch``.
"""

from __future__ import annotations

import socket
import ssl
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar
from urllib.parse import quote

import pymysql

from dataward.stores._net import describe_error
from dataward.stores._tables import sample_tables
from dataward.stores.base import Budget, ExposureFacts, SampledObject, register_store
from dataward.targets import Target, parse_target

CLIENT_SSL = 0x800
ANONYMOUS_PROBE_USER = "dataward-no-such-user"
BUILTIN_DEFAULTS: tuple[tuple[str, str], ...] = (("root", "root"), ("root", "password"))
SYSTEM_SCHEMAS = ("information_schema", "performance_schema", "mysql", "sys")
# Plugins that check a password over TCP; an empty authentication string with one of these = no password.
PASSWORD_PLUGINS = ("", "mysql_native_password", "mysql_old_password", "caching_sha2_password", "sha256_password")

_VARIABLES = ("version", "require_secure_transport", "bind_address", "skip_networking", "have_ssl")
_TABLES_SQL = (
    "SELECT count(*), coalesce(sum(table_rows), 0) FROM information_schema.tables "
    "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN (%s, %s, %s, %s)"
)
# MariaDB >= 10.4 keeps accounts in mysql.global_priv (JSON); MySQL in mysql.user with account_locked.
_ACCOUNTS_MARIADB = """SELECT User, Host, coalesce(json_value(Priv, '$.plugin'), ''),
    coalesce(json_value(Priv, '$.authentication_string'), '') = '',
    coalesce(json_value(Priv, '$.account_locked'), 'false') IN ('1', 'true'),
    coalesce(json_value(Priv, '$.is_role'), 'false') IN ('1', 'true')
    FROM mysql.global_priv ORDER BY User, Host"""
_ACCOUNTS_MYSQL = """SELECT User, Host, plugin, authentication_string = '', account_locked = 'Y', false
    FROM mysql.user ORDER BY User, Host"""


@dataclass(frozen=True)
class Greeting:
    version: str | None
    tls_offered: bool
    error: str | None = None  # an ERR packet instead of a greeting (host blocked, too many connections)


@dataclass
class _Observed:
    logins: dict[str, str] = field(default_factory=dict)  # kind -> login that worked ("root", "''")
    given_ok: bool | None = None
    auth_error: str | None = None
    password_refused: bool = False  # some login got 'Access denied': the server checks passwords
    plain_refused: bool | None = None
    unreachable: str | None = None
    session: dict[str, Any] = field(default_factory=dict)  # the most privileged view, for settings
    exposed: dict[str, Any] | None = None  # the view of a login without valid credentials


@register_store
class MySQLStore:
    """``mysql://user@host:3306/db`` (alias ``mariadb://``)."""

    scheme: ClassVar[str] = "mysql"
    schemes: ClassVar[tuple[str, ...]] = ("mariadb",)
    default_ports: ClassVar[tuple[int, ...]] = (3306,)
    local: ClassVar[bool] = False
    listens: ClassVar[bool] = True
    display_name: ClassVar[str] = "MySQL/MariaDB"
    remediation: ClassVar[Mapping[str, str]] = {
        "no-auth": "Drop anonymous accounts, set passwords for every account, and remove "
        "'%' hosts that need none.",
        "default-credentials": "Set a strong root password (ALTER USER 'root'@'%' IDENTIFIED BY ...), "
        "or drop remote root.",
        "no-tls": "Configure ssl_cert/ssl_key and set require_secure_transport = ON.",
        "tls-not-required": "Set require_secure_transport = ON.",
        "public-bind": "Set bind_address to a private interface (or skip_networking for local use only).",
    }
    discovery_hello: ClassVar[bytes] = b""  # the server speaks first

    @classmethod
    def identify(cls, answer: bytes) -> bool:
        """A handshake v10 packet, or an ERR packet (0xff + code) a MySQL server sends to refused hosts."""
        return parse_greeting(answer) is not None

    def probe(self, target: Target, budget: Budget) -> ExposureFacts:
        host, port = target.host or "localhost", target.port or 3306
        try:
            raw = _read_greeting(host, port, budget.timeout_s)
        except OSError as exc:
            return self._facts(target, reachable=False, error=describe_error(exc, budget.timeout_s))
        greeting = parse_greeting(raw)
        if greeting is None:
            return self._facts(
                target, reachable=False, error="the server does not speak the MySQL protocol",
                details={"protocol_mismatch": f"first {len(raw)} byte(s) are not a MySQL handshake"},
            )
        if greeting.error:
            return self._facts(target, reachable=True, auth_required=True, version=greeting.version,
                               details={"greeting_error": greeting.error})
        seen = _try_logins(target, budget, greeting.tls_offered)
        if seen.unreachable and not seen.session:
            return self._facts(target, reachable=False, error=seen.unreachable)
        return _to_facts(target, seen, greeting)

    def sample(self, target: Target, budget: Budget) -> Iterator[SampledObject]:
        """Tables of the URL's database (or of every database the login sees, named ``db.table``), read with
        the URL's login or, without a password there, the empty/anonymous/default login the probe finds open."""
        login = target if target.password is not None else (open_login(target, budget) or target)
        if login.database:
            yield from sample_tables(login, budget, self.scheme, display=target.display)
            return
        remaining = budget
        for db in _databases(login, budget):
            for obj in sample_tables(_with_database(login, db), remaining, self.scheme, prefix=f"{db}.",
                                     display=target.display):
                yield obj
                remaining = replace(remaining, max_objects=remaining.max_objects - 1)
                if remaining.max_objects <= 0:
                    return

    def _facts(self, target: Target, **kw: Any) -> ExposureFacts:
        return ExposureFacts(target=target.display, store=self.scheme, scope=target.scope, name=target.name, **kw)


def _read_greeting(host: str, port: int, timeout_s: float) -> bytes:
    """The first packet the server sends; b'' when it connects but stays silent (not MySQL)."""
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.settimeout(timeout_s)
        data = b""
        while len(data) < 4 or len(data) < 4 + int.from_bytes(data[:3], "little"):
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                break
            if not chunk:
                break
            data += chunk
            if len(data) > 65536:
                break
        return data


def parse_greeting(raw: bytes) -> Greeting | None:
    """The version and TLS capability of a handshake packet; None when the bytes are not MySQL."""
    if len(raw) < 6 or raw[3] != 0:  # 3-byte length, sequence id 0
        return None
    payload = raw[4 : 4 + int.from_bytes(raw[:3], "little")]
    if payload[:1] == b"\xff" and len(payload) >= 3:
        message = payload[3:].lstrip(b"#")[5:] if payload[3:4] == b"#" else payload[3:]
        return Greeting(None, False, error=message.decode("utf-8", "replace")[:200])
    if payload[:1] != b"\x0a" or b"\x00" not in payload[1:]:
        return None
    end = payload.index(b"\x00", 1)
    version = payload[1:end].decode("ascii", "replace")
    caps_at = end + 1 + 4 + 8 + 1  # connection id, auth-plugin-data part 1, filler
    if len(payload) < caps_at + 2 or not version[:1].isdigit():
        return None
    (caps,) = struct.unpack("<H", payload[caps_at : caps_at + 2])
    return Greeting(version.removeprefix("5.5.5-"), bool(caps & CLIENT_SSL))


def _tls_context() -> ssl.SSLContext:
    """TLS without certificate checks: the probe observes, it does not trust what it talks to."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _attempts(target: Target, budget: Budget) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    if target.username is not None and target.password is not None:
        out.append(("given", target.username, target.password))
    out.append(("empty-root", "root", ""))
    # pymysql replaces an empty user name with the OS user, so ask for a name no account has: the server
    # then matches the anonymous account (''@host) if there is one.
    out.append(("anonymous", ANONYMOUS_PROBE_USER, ""))
    if target.username and target.password is None:
        out.append(("empty-user", target.username, ""))
    defaults = BUILTIN_DEFAULTS if budget.default_credentials is None else budget.default_credentials
    out.extend(("default", u, p) for u, p in defaults)
    return out


def open_login(target: Target, budget: Budget) -> Target | None:
    """The target with the first empty, anonymous or default login that connects (plain text), or None."""
    for kind, user, password in _attempts(target, budget):
        if kind == "given":
            continue
        try:
            with _connect(target, user, password, budget, tls=False):
                return target.with_credentials(user, password)
        except pymysql.MySQLError:
            continue
    return None


def _databases(login: Target, budget: Budget) -> list[str]:
    try:
        with _connect(login, login.username or "", login.password or "", budget, tls=False) as conn, \
                conn.cursor() as cur:
            cur.execute("SHOW DATABASES")
            return [r[0] for r in cur.fetchall() if r[0] not in SYSTEM_SCHEMAS]
    except pymysql.MySQLError:
        return []


def _with_database(target: Target, db: str) -> Target:
    url = target.with_credentials(target.username, target.password).url
    base, _, query = url.partition("?")
    head = base[: base.index("/", base.index("//") + 2)] if "/" in base[base.index("//") + 2 :] else base
    return parse_target(f"{head}/{quote(db, safe='')}" + (f"?{query}" if query else ""), name=target.name)


def _try_logins(target: Target, budget: Budget, tls: bool) -> _Observed:
    seen = _Observed()
    for kind, user, password in _attempts(target, budget):
        if kind == "default" and ("empty-root" in seen.logins or "default" in seen.logins):
            continue
        try:
            conn = _connect(target, user, password, budget, tls)
        except pymysql.MySQLError as exc:
            _record_failure(seen, kind, exc)
            if seen.unreachable:
                break
            continue
        with conn:
            _record_success(seen, kind, user, password, conn)
    if seen.session and tls:
        seen.plain_refused = _plain_refused(target, seen, budget)
    return seen


def _connect(target: Target, user: str, password: str, budget: Budget, tls: bool) -> pymysql.Connection[Any]:
    return pymysql.connect(
        host=target.host or "localhost",
        port=target.port or 3306,
        user=user,
        password=password,
        database=target.database,
        connect_timeout=max(1, int(budget.timeout_s)),
        read_timeout=max(1, int(budget.timeout_s)),
        ssl=_tls_context() if tls else None,
        init_command="SET SESSION TRANSACTION READ ONLY",
        autocommit=True,
    )


def _record_success(seen: _Observed, kind: str, user: str, password: str, conn: pymysql.Connection[Any]) -> None:
    if kind == "given":
        seen.given_ok = True
    session = _read_session(conn)
    matched = str(session.get("current_user") or "")
    if kind != "given" and matched.startswith("''@"):
        kind = "anonymous"  # MySQL matched the anonymous account whatever name we sent
    elif kind == "anonymous":
        return
    seen.logins.setdefault(kind, user)
    if kind != "given" and seen.exposed is None:
        seen.exposed = session
    if not seen.session or len(session.get("accounts") or ()) > len(seen.session.get("accounts") or ()):
        seen.session = session
        seen.session["_login"] = (user, password)  # in memory only, for the plain-text check


def _record_failure(seen: _Observed, kind: str, exc: pymysql.MySQLError) -> None:
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
    message = str(exc.args[1]) if len(exc.args) > 1 else type(exc).__name__
    if code in (2003, 2006, 2013):  # can't connect / gone away / lost connection
        seen.unreachable = _unreachable_reason(message)
        return
    if "insecure transport" in message.lower():
        seen.plain_refused = True
    if code == 1045:  # ER_ACCESS_DENIED_ERROR
        seen.password_refused = True
    if kind == "given":
        seen.given_ok = False
        seen.auth_error = message.split(" (using password")[0]


def _unreachable_reason(message: str) -> str:
    low = message.lower()
    if "timed out" in low or "timeout" in low:
        return "timeout"
    if "refused" in low:
        return "connection refused"
    return message.split("(")[0].strip() or "connection failed"


def _read_session(conn: pymysql.Connection[Any]) -> dict[str, Any]:
    """Variables, databases, table statistics and (when readable) which accounts have no password."""
    out: dict[str, Any] = {}
    with conn.cursor() as cur:
        cur.execute("SELECT CURRENT_USER()")
        out["current_user"] = _quote_account(str((cur.fetchone() or ("",))[0]))
        for var in _VARIABLES:
            out[var] = _variable(cur, var)
        cur.execute("SHOW DATABASES")
        out["databases"] = [r[0] for r in cur.fetchall() if r[0] not in SYSTEM_SCHEMAS]
        cur.execute(_TABLES_SQL, SYSTEM_SCHEMAS)
        tables, rows = cur.fetchone() or (0, 0)
        out.update(tables=int(tables), rows=int(rows))
        out["accounts"] = _accounts(cur)
    return out


def _variable(cur: Any, name: str) -> Any:
    try:
        cur.execute("SHOW GLOBAL VARIABLES LIKE %s", (name,))
        row = cur.fetchone()
    except pymysql.MySQLError:
        return None
    return row[1] if row else None


def _accounts(cur: Any) -> list[tuple[str, str, bool]] | None:
    """(user, host, has_no_password) of every login account, or None without the privilege to read them."""
    for sql in (_ACCOUNTS_MARIADB, _ACCOUNTS_MYSQL):
        try:
            cur.execute(sql)
            rows = cur.fetchall()
        except pymysql.MySQLError:
            continue
        return [
            (str(user), str(host), bool(empty) and str(plugin) in PASSWORD_PLUGINS)
            for user, host, plugin, empty, locked, is_role in rows
            if not locked and not is_role
        ]
    return None


def _quote_account(account: str) -> str:
    user, _, host = account.rpartition("@")
    return f"'{user}'@'{host}'"


def _plain_refused(target: Target, seen: _Observed, budget: Budget) -> bool | None:
    rst = str(seen.session.get("require_secure_transport") or "").upper()
    if rst in ("ON", "1"):
        return True
    if rst in ("OFF", "0"):
        return False
    user, password = seen.session.get("_login", ("root", ""))
    try:
        with _connect(target, user, password, budget, tls=False):
            return False
    except pymysql.MySQLError as exc:
        return True if "insecure transport" in str(exc).lower() else None


def _to_facts(target: Target, seen: _Observed, greeting: Greeting) -> ExposureFacts:
    s = seen.session
    accounts = s.get("accounts")
    details: dict[str, Any] = {}
    if s:
        details.update(
            connected_as=s["_login"][0], current_user=s.get("current_user"),
            require_secure_transport=s.get("require_secure_transport"), bind_address=s.get("bind_address"),
            skip_networking=s.get("skip_networking"), have_ssl=s.get("have_ssl"),
            databases=s.get("databases"), tables=s.get("tables"),
        )
    if accounts is not None:
        details["anonymous_users"] = [f"''@'{h}'" for u, h, _ in accounts if u == ""]
        details["passwordless_users"] = [f"'{u}'@'{h}'" for u, h, empty in accounts if empty and u != ""]
    anonymous = "anonymous" in seen.logins
    if anonymous:
        account = (seen.exposed or {}).get("current_user", "''@'%'")
        details["anonymous_how"] = f"an unknown user name with no password was let in as the anonymous account {account}"
    if seen.auth_error:
        details["auth_error"] = seen.auth_error
    default = None
    if "empty-root" in seen.logins:
        default = "root with an empty password"
    elif "empty-user" in seen.logins:
        default = f"'{seen.logins['empty-user']}' with an empty password"
    elif "default" in seen.logins:
        default = f"'{seen.logins['default']}' with a well-known default password"
    tls_required = False if not greeting.tls_offered else seen.plain_refused
    return ExposureFacts(
        target=target.display,
        store="mysql",
        reachable=True,
        version=s.get("version") or greeting.version,
        auth_required=not anonymous if (anonymous or seen.password_refused or seen.given_ok) else None,
        anonymous_access=anonymous,
        default_credentials=default,
        authenticated=seen.given_ok,
        tls_offered=greeting.tls_offered,
        tls_required=tls_required,
        scope=target.scope,
        bind=s.get("bind_address"),
        listable=tuple((seen.exposed or s).get("databases") or ()),
        readable=bool((seen.exposed or s).get("tables")) if s else None,
        records=s.get("rows") if s else None,
        details=details,
        name=target.name,
    )
