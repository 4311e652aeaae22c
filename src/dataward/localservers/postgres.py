"""A real PostgreSQL server in a temp dir: own initdb cluster, pg_hba per test, reloadable at runtime.

The cluster's superuser is ``dw_admin`` with a random password (``admin_url``); its pg_hba lines always come
first, so a test can rewrite every other rule (``set_hba``) and still administer the server. A plain
``postgres`` superuser role also exists (no password), so a ``trust`` rule exposes a superuser the way it
does in real life. The daemon runs as the ``postgres`` OS user when we are root.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import quote

import psycopg
from psycopg import sql

from dataward.localservers.base import LocalServer, ServerStartError, find_binary, new_secret, wait_until
from dataward.localservers.tls import self_signed

PgAuth = Literal["trust", "scram", "md5", "password", "reject"]
_METHOD = {"trust": "trust", "scram": "scram-sha-256", "md5": "md5", "password": "password", "reject": "reject"}
ADMIN_USER = "dw_admin"


def hba_lines(auth: PgAuth, ssl: bool = False) -> list[str]:
    """The pg_hba.conf rules for 'everyone over TCP uses this method' (IPv4 and IPv6)."""
    kind = "hostssl" if ssl else "host"
    method = _METHOD[auth]
    return [f"{kind} all all 0.0.0.0/0 {method}", f"{kind} all all ::/0 {method}"]


class PostgresServer(LocalServer):
    """PostgreSQL on a free loopback port.

    >>> with PostgresServer(auth="scram", users={"app": "pw"}) as pg:   # doctest: +SKIP
    ...     psycopg.connect(pg.url(user="app"))
    """

    kind = "postgres"
    stop_signal = signal.SIGINT  # "fast" shutdown; SIGTERM would wait for clients to leave
    run_as: ClassVar[str | None] = "postgres"

    def __init__(
        self,
        auth: PgAuth = "scram",
        users: Mapping[str, str] | None = None,
        hba: Sequence[str] | None = None,
        ssl: bool = False,
        listen: str = "127.0.0.1",
        databases: Sequence[str] = ("app",),
        settings: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.auth = auth
        self.users = dict(users if users is not None else {"app": "app-pw"})
        self.hba = list(hba) if hba is not None else None
        self.ssl = ssl
        self.listen = listen
        self.databases = list(databases)
        self.settings = dict(settings or {})
        self.admin_password = new_secret()
        self.cert_file: Path | None = None

    # ---- addresses ---------------------------------------------------------------------------------
    @property
    def host(self) -> str:
        return self._host_for(self.listen)

    @property
    def socket_dir(self) -> Path:
        return self.tmpdir

    def url(self, user: str | None = None, password: str | None = None, db: str | None = None) -> str:
        """A postgresql:// URL; a known user's password is filled in unless ``password=''`` is passed."""
        user = user if user is not None else (next(iter(self.users)) if self.users else "postgres")
        if password is None:
            password = self.users.get(user, self.admin_password if user == ADMIN_USER else "")
        db = db if db is not None else (self.databases[0] if self.databases else "postgres")
        auth = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
        return f"postgresql://{auth}@{self.host}:{self.port}/{quote(db, safe='')}"

    @property
    def admin_url(self) -> str:
        """The superuser URL that always works (its pg_hba rules are kept first)."""
        return self.url(user=ADMIN_USER, password=self.admin_password, db="postgres")

    def admin_connect(self, db: str = "postgres") -> psycopg.Connection[Any]:
        """An autocommit superuser connection over the unix socket in the temp dir."""
        return psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user=ADMIN_USER,
            password=self.admin_password,
            dbname=db,
            autocommit=True,
            connect_timeout=3,
        )

    def execute_admin(self, statement: str | sql.Composable, params: Sequence[Any] | None = None) -> None:
        """Run one statement as the superuser (e.g. ALTER ROLE ... PASSWORD NULL at runtime)."""
        with self.admin_connect() as conn:
            conn.execute(statement, params)  # type: ignore[arg-type]

    # ---- lifecycle ---------------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.tmpdir / "data"

    def _prepare(self) -> None:
        pwfile = self.tmpdir / "pwfile"
        pwfile.write_text(self.admin_password + "\n")
        self.chown(pwfile)
        self.run_tool(
            [find_binary("initdb"), "-D", str(self.data_dir), "-U", ADMIN_USER, f"--pwfile={pwfile}",
             "-A", "scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"]
        )
        pwfile.unlink()
        self._configure()

    def _configure(self) -> None:
        """The cluster's own settings on an initialised data folder: TLS files, postgresql.conf, pg_hba.conf."""
        if self.ssl:
            crt, key = self_signed(self.tmpdir, (self.host, "localhost", "127.0.0.1"))
            self.chown(crt)
            self.chown(key)
            self.cert_file = crt
        self._write_conf()
        self._write_hba()

    def _write_conf(self) -> None:
        conf = {
            "port": str(self.port),
            "listen_addresses": f"'{self.listen}'",
            "unix_socket_directories": f"'{self.socket_dir}'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "shared_buffers": "'32MB'",
            "max_connections": "60",
            "password_encryption": "'md5'" if self.auth == "md5" else "'scram-sha-256'",
            "ssl": "on" if self.ssl else "off",
            "log_connections": "off",
        }
        if self.ssl and self.cert_file:
            conf["ssl_cert_file"] = f"'{self.cert_file}'"
            conf["ssl_key_file"] = f"'{self.tmpdir / 'server.key'}'"
        conf.update(self.settings)
        with open(self.data_dir / "postgresql.conf", "a") as fh:
            fh.write("\n# dataward test server\n")
            fh.writelines(f"{k} = {v}\n" for k, v in conf.items())

    def _write_hba(self) -> None:
        rules = self.hba if self.hba is not None else hba_lines(self.auth)
        admin = [
            f"local all {ADMIN_USER} scram-sha-256",
            f"host all {ADMIN_USER} 0.0.0.0/0 scram-sha-256",
            f"host all {ADMIN_USER} ::/0 scram-sha-256",
        ]
        path = self.data_dir / "pg_hba.conf"
        path.write_text("# written by dataward.testing; admin rules first\n" + "\n".join(admin + rules) + "\n")
        self.chown(path)

    def _command(self) -> list[str]:
        return [find_binary("postgres"), "-D", str(self.data_dir)]

    def _ping(self) -> bool:
        with self.admin_connect():
            return True

    def _after_start(self) -> None:
        with self.admin_connect() as conn:
            conn.execute("CREATE ROLE postgres SUPERUSER LOGIN")
            encryption = "md5" if self.auth == "md5" else "scram-sha-256"
            conn.execute(sql.SQL("SET password_encryption = {}").format(sql.Literal(encryption)))
            for user, password in self.users.items():
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                        sql.Identifier(user), sql.Literal(password) if password else sql.SQL("NULL")
                    )
                )
            owner = next(iter(self.users), "postgres")
            for db in self.databases:
                conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(db), sql.Identifier(owner)))

    # ---- runtime changes ---------------------------------------------------------------------------
    def set_hba(self, lines: Sequence[str], reload: bool = True) -> None:
        """Replace every non-admin pg_hba rule and (by default) reload the server."""
        self.hba = list(lines)
        self._write_hba()
        if reload:
            self.reload()

    def set_auth(self, auth: PgAuth) -> None:
        """Switch every TCP rule to one method (e.g. scram -> trust turns protection off) and reload."""
        self.auth = auth
        self.set_hba(hba_lines(auth, ssl=False))

    def reload(self, timeout: float = 10.0) -> None:
        """SIGHUP the postmaster and wait until new sessions see the reloaded configuration.

        In PostgreSQL 15 the postmaster reloads postgresql.conf and pg_hba.conf inside its SIGHUP handler,
        before it accepts the next connection, so a new session whose pg_conf_load_time() moved proves that
        the new rules are in force.
        """
        before = self._conf_load_time()
        self.signal(signal.SIGHUP)
        if not wait_until(lambda: self._conf_load_time() != before, timeout, 0.05):
            raise ServerStartError(f"postgres did not reload within {timeout} s:\n{self.log_tail()}")

    def _conf_load_time(self) -> str:
        with self.admin_connect() as conn:
            row = conn.execute("SELECT pg_conf_load_time()::text").fetchone()
        return str(row[0]) if row else ""

    def create_table(self, db: str, name: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Create a small text table and fill it (for tests that need data behind the login)."""
        if not rows:
            raise ValueError("create_table needs at least one row to know the columns")
        cols = list(rows[0])
        owner = next(iter(self.users), "postgres")
        with self.admin_connect(db) as conn:
            conn.execute(
                sql.SQL("CREATE TABLE {} ({})").format(
                    sql.Identifier(name), sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in cols)
                )
            )
            conn.execute(sql.SQL("ALTER TABLE {} OWNER TO {}").format(sql.Identifier(name), sql.Identifier(owner)))
            with conn.cursor() as cur, cur.copy(
                sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier(name), sql.SQL(", ").join(sql.Identifier(c) for c in cols)
                )
            ) as copy:
                for row in rows:
                    copy.write_row([None if row.get(c) is None else str(row[c]) for c in cols])


def postgres_available() -> bool:
    """Are initdb and postgres installed (and can we drop to the postgres user when root)?"""
    try:
        find_binary("initdb")
        find_binary("postgres")
    except RuntimeError:
        return False
    return os.geteuid() != 0 or _user_exists("postgres")


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False
