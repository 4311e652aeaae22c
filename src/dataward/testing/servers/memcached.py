"""A real memcached on a free loopback port (TCP only, UDP off), optionally with ASCII authentication.

memcached has no access control by default: whoever reaches the port reads every key. ``auth_users`` turns
on memcached's ASCII auth file (``-Y``, memcached >= 1.5.15), which needs a ``set`` with "user pass" first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from dataward.localservers.base import LocalServer, find_binary
from dataward.localservers.ports import port_open


class MemcachedServer(LocalServer):
    """memcached -l BIND -p PORT -U 0; ``auth_users={"u": "p"}`` for an auth file."""

    kind = "memcached"
    run_as: ClassVar[str | None] = "memcache"

    def __init__(
        self, bind: str = "127.0.0.1", auth_users: Mapping[str, str] | None = None, memory_mb: int = 16, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.bind = bind
        self.auth_users = dict(auth_users or {})
        self.memory_mb = memory_mb

    @property
    def host(self) -> str:
        return self._host_for(self.bind)

    def url(self) -> str:
        return f"memcached://{self.host}:{self.port}"

    def _prepare(self) -> None:
        if self.auth_users:
            path = self.tmpdir / "auth"
            path.write_text("".join(f"{u}:{p}\n" for u, p in self.auth_users.items()))
            path.chmod(0o600)
            self.chown(path)

    def _command(self) -> list[str]:
        argv = [find_binary("memcached"), "-l", self.bind, "-p", str(self.port), "-U", "0", "-m", str(self.memory_mb)]
        if self.auth_users:
            argv += ["-Y", str(self.tmpdir / "auth")]
        return argv

    def _ping(self) -> bool:
        return port_open(self.host, self.port)

