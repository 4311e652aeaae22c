"""A real Redis server on a free loopback port, with requirepass / protected-mode / ACL users per test.

An ACL user ``dw_admin`` with a random password always exists and the admin client talks over a unix socket
in the temp dir, so a test can flip ``requirepass`` or ``protected-mode`` at runtime (``config_set``) and
still control the server. Persistence is off (``--save "" --appendonly no``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import redis

from dataward.localservers.base import LocalServer, find_binary, new_secret

ADMIN_USER = "dw_admin"
AclUser = str | tuple[str, str]  # password, or (password, ACL rules such as "~cache:* +@read")


class RedisServer(LocalServer):
    """Redis on a free port; ``requirepass=None`` means the default user needs no password."""

    kind = "redis"

    def __init__(
        self,
        requirepass: str | None = None,
        protected_mode: bool = True,
        bind: str = "127.0.0.1",
        acl_users: Mapping[str, AclUser] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.requirepass = requirepass
        self.protected_mode = protected_mode
        self.bind = bind
        self.acl_users = dict(acl_users or {})
        self.admin_password = new_secret()

    @property
    def host(self) -> str:
        return self._host_for(self.bind)

    @property
    def socket_path(self) -> str:
        return str(self.tmpdir / "redis.sock")

    def url(self, user: str | None = None, password: str | None = None, db: int = 0) -> str:
        """A redis:// URL; without arguments no credentials (what an attacker would try first)."""
        if user is not None and password is None:
            password = self._password_of(user)
        auth = ""
        if user or password:
            auth = quote(user or "", safe="") + (":" + quote(password, safe="") if password else "") + "@"
        return f"redis://{auth}{self.host}:{self.port}/{db}"

    def _password_of(self, user: str) -> str | None:
        if user == ADMIN_USER:
            return self.admin_password
        if user == "default":
            return self.requirepass
        entry = self.acl_users.get(user)
        return entry if isinstance(entry, str) else (entry[0] if entry else None)

    @property
    def admin_url(self) -> str:
        return self.url(user=ADMIN_USER)

    def admin_client(self) -> redis.Redis:
        """A client as the ``dw_admin`` ACL user over the unix socket (works whatever requirepass is)."""
        return redis.Redis(
            unix_socket_path=self.socket_path,
            username=ADMIN_USER,
            password=self.admin_password,
            socket_timeout=5,
            decode_responses=True,
        )

    def config_set(self, key: str, value: str) -> None:
        """CONFIG SET at runtime, e.g. ``config_set("requirepass", "")`` turns the password off."""
        with self.admin_client() as client:
            client.config_set(key, value)
        if key == "requirepass":
            self.requirepass = value or None
        elif key == "protected-mode":
            self.protected_mode = value == "yes"

    def _command(self) -> list[str]:
        argv = [
            find_binary("redis-server"),
            "--port", str(self.port),
            "--bind", *self.bind.split(),
            "--protected-mode", "yes" if self.protected_mode else "no",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.tmpdir),
            "--unixsocket", self.socket_path,
            "--unixsocketperm", "700",
            "--daemonize", "no",
            "--logfile", "",
            "--user", ADMIN_USER, "on", f">{self.admin_password}", "~*", "&*", "+@all",
        ]
        for name, entry in self.acl_users.items():
            password, rules = (entry, "~* &* +@all") if isinstance(entry, str) else entry
            argv += ["--user", name, "on", f">{password}", *rules.split()]
        if self.requirepass:
            argv += ["--requirepass", self.requirepass]
        return argv

    def _ping(self) -> bool:
        with self.admin_client() as client:
            return bool(client.ping())
