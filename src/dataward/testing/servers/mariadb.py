"""A real MariaDB server in a temp datadir: root with or without a password, anonymous users on or off.

``mariadb-install-db`` creates the datadir with a passwordless ``root@localhost``; right after start-up the
server gets a ``dw_admin`` account (random password, all privileges, reached over the unix socket in the temp
dir) and then exactly the accounts the test asked for. Host patterns are ``%`` and name resolution is off,
so TCP logins from 127.0.0.1 match the ``%`` accounts. The daemon drops to the ``mysql`` OS user.
"""

from __future__ import annotations

import signal
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

import pymysql

from dataward.localservers.base import LocalServer, find_binary, new_secret
from dataward.localservers.tls import self_signed
from dataward.testing.servers.templates import copy_template, keep_template

ADMIN_USER = "dw_admin"


class MariaDBServer(LocalServer):
    """MariaDB on a free port.

    ``root_password=None`` leaves ``root@'%'`` without a password (exposed); ``anonymous_users=True`` adds
    ``''@'%'`` and ``''@'localhost'`` with SELECT on the test databases, as old default installs did.
    """

    kind = "mariadb"
    stop_signal = signal.SIGKILL  # the datadir is thrown away; a clean InnoDB shutdown only costs time
    run_as: ClassVar[str | None] = "mysql"

    def __init__(
        self,
        root_password: str | None = None,
        anonymous_users: bool = False,
        require_secure_transport: bool = False,
        bind: str = "127.0.0.1",
        users: Mapping[str, str] | None = None,
        databases: Sequence[str] = ("app",),
        tls: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.root_password = root_password
        self.anonymous_users = anonymous_users
        self.require_secure_transport = require_secure_transport
        self.bind = bind
        self.users = dict(users if users is not None else {"app": "app-pw"})
        self.databases = list(databases)
        self.tls = require_secure_transport if tls is None else tls
        self.admin_password = new_secret()
        self.cert_file: Path | None = None
        self._admin_ready = False

    @property
    def host(self) -> str:
        return self._host_for(self.bind)

    @property
    def socket_path(self) -> str:
        return str(self.tmpdir / "mysqld.sock")

    def url(self, user: str | None = None, password: str | None = None, db: str | None = None) -> str:
        """A mysql:// URL; a known user's password is filled in unless ``password=''`` is passed."""
        user = user if user is not None else (next(iter(self.users)) if self.users else "root")
        if password is None:
            password = self._password_of(user) or ""
        db = db if db is not None else (self.databases[0] if self.databases else "")
        auth = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
        return f"mysql://{auth}@{self.host}:{self.port}/{quote(db, safe='')}"

    def _password_of(self, user: str) -> str | None:
        if user == ADMIN_USER:
            return self.admin_password
        if user == "root":
            return self.root_password
        return self.users.get(user)

    @property
    def admin_url(self) -> str:
        return self.url(user=ADMIN_USER, db="")

    def admin_connect(self) -> pymysql.connections.Connection[Any]:
        """An autocommit connection as ``dw_admin`` (or root during set-up) over the unix socket."""
        user, password = (ADMIN_USER, self.admin_password) if self._admin_ready else ("root", "")
        return pymysql.connect(
            unix_socket=self.socket_path, user=user, password=password, autocommit=True, connect_timeout=3
        )

    def execute_admin(self, statement: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run one statement as the admin, e.g. ``CREATE USER 'guest'@'%'`` (no password) at runtime."""
        conn = self.admin_connect()
        try:
            with conn.cursor() as cur:
                cur.execute(statement, params)
                return list(cur.fetchall())
        finally:
            conn.close()

    # ---- lifecycle ---------------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.tmpdir / "data"

    def _prepare(self) -> None:
        # the first server's fresh datadir is the template of the next ones (templates.py): install-db once
        if copy_template("mariadb", self.data_dir) is None:
            self.run_tool(
                [find_binary("mariadb-install-db"), "--no-defaults", f"--datadir={self.data_dir}", "--user=mysql",
                 "--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve",
                 "--innodb-log-file-size=8M", f"--tmpdir={self.tmpdir}"]  # /tmp temp names clash between servers
            )
            keep_template("mariadb", self.data_dir, "")
        if self.tls:
            crt, key = self_signed(self.tmpdir, (self.host, "localhost", "127.0.0.1"))
            self.chown(crt)
            self.chown(key)
            self.cert_file = crt

    def _command(self) -> list[str]:
        argv = [
            find_binary("mariadbd"), "--no-defaults", f"--datadir={self.data_dir}", f"--socket={self.socket_path}",
            f"--port={self.port}", f"--bind-address={self.bind}", f"--pid-file={self.tmpdir / 'mysqld.pid'}",
            "--user=mysql", "--skip-name-resolve", "--skip-log-bin", "--innodb-buffer-pool-size=16M",
            "--innodb-log-file-size=8M", "--performance-schema=OFF", "--max-connections=60",
            f"--log-error={self.log_path}", f"--tmpdir={self.tmpdir}",
        ]
        if self.tls and self.cert_file:
            argv += [f"--ssl-cert={self.cert_file}", f"--ssl-key={self.tmpdir / 'server.key'}"]
        if self.require_secure_transport:
            argv.append("--require-secure-transport=ON")
        return argv

    def _ping(self) -> bool:
        conn = self.admin_connect()
        conn.close()
        return True

    def _after_start(self) -> None:
        admin = [
            f"CREATE USER '{ADMIN_USER}'@'localhost' IDENTIFIED BY %s",
            f"GRANT ALL ON *.* TO '{ADMIN_USER}'@'localhost' WITH GRANT OPTION",
            f"CREATE USER '{ADMIN_USER}'@'%%' IDENTIFIED BY %s",
            f"GRANT ALL ON *.* TO '{ADMIN_USER}'@'%' WITH GRANT OPTION",
        ]
        for statement in admin:
            self.execute_admin(statement, [self.admin_password] if "%s" in statement else None)
        self._admin_ready = True
        # install-db's extra accounts (anonymous, root@127.0.0.1/::1/<hostname>) would shadow root@'%'
        self.execute_admin(
            "DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host NOT IN ('localhost'))"
        )
        self.execute_admin("FLUSH PRIVILEGES")
        for db in self.databases:
            self.execute_admin(f"CREATE DATABASE `{_name(db)}`")
        self._create_account("root", self.root_password, grant="ALL ON *.*")
        self.execute_admin("ALTER USER 'root'@'localhost' IDENTIFIED BY %s", [self.root_password or ""])
        for user, password in self.users.items():
            self._create_account(user, password, grant=None)
        if self.anonymous_users:
            self.set_anonymous_users(True)

    def _create_account(self, user: str, password: str | None, grant: str | None) -> None:
        self.execute_admin(f"CREATE USER IF NOT EXISTS '{_name(user)}'@'%%' IDENTIFIED BY %s", [password or ""])
        if grant:
            self.execute_admin(f"GRANT {grant} TO '{_name(user)}'@'%' WITH GRANT OPTION")
            return
        for db in self.databases:
            self.execute_admin(f"GRANT ALL ON `{_name(db)}`.* TO '{_name(user)}'@'%'")

    # ---- runtime changes ---------------------------------------------------------------------------
    def set_anonymous_users(self, on: bool) -> None:
        """Add or drop the anonymous accounts (''@'%' and ''@'localhost') at runtime."""
        if on:
            for host in ("%", "localhost"):
                self.execute_admin(f"CREATE USER IF NOT EXISTS ''@'{host}'")
                for db in self.databases:
                    self.execute_admin(f"GRANT SELECT ON `{_name(db)}`.* TO ''@'{host}'")
        else:
            for host in ("%", "localhost"):
                self.execute_admin(f"DROP USER IF EXISTS ''@'{host}'")
        self.anonymous_users = on

    def set_root_password(self, password: str | None) -> None:
        """Change (or with None remove) the password of root@'%' at runtime."""
        self.execute_admin("ALTER USER 'root'@'%%' IDENTIFIED BY %s", [password or ""])
        self.root_password = password

    def create_table(self, db: str, name: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Create a small text table and fill it (for tests that need data behind the login)."""
        if not rows:
            raise ValueError("create_table needs at least one row to know the columns")
        cols = list(rows[0])
        columns = ", ".join(f"`{_name(c)}` TEXT" for c in cols)
        self.execute_admin(f"CREATE TABLE `{_name(db)}`.`{_name(name)}` ({columns})")
        conn = self.admin_connect()
        try:
            with conn.cursor() as cur:
                marks = ", ".join(["%s"] * len(cols))
                names = ", ".join(f"`{_name(c)}`" for c in cols)
                cur.executemany(
                    f"INSERT INTO `{_name(db)}`.`{_name(name)}` ({names}) VALUES ({marks})",  # noqa: S608 - names checked
                    [[None if r.get(c) is None else str(r[c]) for c in cols] for r in rows],
                )
        finally:
            conn.close()


def _name(identifier: str) -> str:
    """Test-controlled identifiers only: refuse anything that would need quoting."""
    if not identifier.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"test identifier {identifier!r} must be alphanumeric")
    return identifier
