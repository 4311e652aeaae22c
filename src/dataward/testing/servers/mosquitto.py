"""A real Mosquitto broker on a free loopback port: anonymous on/off, password file, ACL, optional TLS.

``reconfigure`` rewrites the config, password and ACL files and sends SIGHUP. Mosquitto 2.x re-reads
``allow_anonymous``, ``password_file`` and ``acl_file`` on SIGHUP (mosquitto.conf(5): "Reloaded on reload
signal") but not listener settings (port, bind, certificates), so those need a new server. The reload happens
in the broker's single event loop right after it logs "Reloading config", so once that line is in the log the
next CONNECT is judged by the new rules.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from dataward.localservers.base import LocalServer, ServerStartError, find_binary, wait_until
from dataward.localservers.ports import port_open
from dataward.localservers.tls import self_signed

_UNSET: Any = object()


class MosquittoServer(LocalServer):
    """Mosquitto on a free port; ``passwords={"u": "p"}`` writes a password file with mosquitto_passwd."""

    kind = "mosquitto"
    run_as: ClassVar[str | None] = "mosquitto"

    def __init__(
        self,
        allow_anonymous: bool = True,
        passwords: Mapping[str, str] | None = None,
        acl: Sequence[str] | None = None,
        tls: bool = False,
        bind: str = "127.0.0.1",
        settings: Mapping[str, object] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.settings = dict(settings or {})  # extra mosquitto.conf lines, e.g. {"max_queued_messages": 20}
        self.allow_anonymous = allow_anonymous
        self.passwords = dict(passwords or {})
        self.acl = list(acl) if acl is not None else None
        self.tls = tls
        self.bind = bind
        self.cert_file: Path | None = None

    @property
    def host(self) -> str:
        return self._host_for(self.bind)

    def url(self, user: str | None = None, password: str | None = None) -> str:
        """An mqtt:// (or mqtts:// with tls) URL; a known user's password is filled in unless ``password=''``."""
        if user is not None and password is None:
            password = self.passwords.get(user)
        auth = ""
        if user:
            auth = user + (f":{password}" if password else "") + "@"
        scheme = "mqtts" if self.tls else "mqtt"
        return f"{scheme}://{auth}{self.host}:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.tmpdir / "mosquitto.conf"

    def _prepare(self) -> None:
        self.log_path.touch()
        self.chown(self.log_path)  # the broker appends to it as its own user
        if self.tls:
            crt, key = self_signed(self.tmpdir, (self.host, "localhost", "127.0.0.1"))
            self.chown(crt)
            self.chown(key)
            self.cert_file = crt
        self._write_files()

    def _write_files(self) -> None:
        lines = [
            "per_listener_settings false",
            f"listener {self.port} {self.bind}",
            f"allow_anonymous {'true' if self.allow_anonymous else 'false'}",
            "persistence false",
            f"log_dest file {self.log_path}",  # stdout would be block-buffered into the log
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
        ]
        lines += [f"{key} {value}" for key, value in self.settings.items()]
        if self.tls and self.cert_file:
            lines += [f"certfile {self.cert_file}", f"keyfile {self.tmpdir / 'server.key'}"]
        if self.passwords:
            lines.append(f"password_file {self._write_passwords()}")
        if self.acl is not None:
            acl_path = self.tmpdir / "acl"
            acl_path.write_text("\n".join(self.acl) + "\n")
            self.chown(acl_path)
            lines.append(f"acl_file {acl_path}")
        self.config_path.write_text("\n".join(lines) + "\n")
        self.chown(self.config_path)

    def _write_passwords(self) -> Path:
        path = self.tmpdir / "passwd"
        path.unlink(missing_ok=True)
        path.touch(mode=0o600)
        tool = find_binary("mosquitto_passwd")
        for user, password in self.passwords.items():
            subprocess.run([tool, "-b", str(path), user, password], check=True, capture_output=True, timeout=30)
        self.chown(path)
        return path

    def _command(self) -> list[str]:
        return [find_binary("mosquitto"), "-c", str(self.config_path)]

    def _ping(self) -> bool:
        # the broker logs "mosquitto version ... running" once its listeners are open
        return "running" in self.log_path.read_text(errors="replace") and port_open(self.host, self.port)

    def reconfigure(
        self,
        allow_anonymous: bool | None = None,
        passwords: Mapping[str, str] | None = None,
        acl: Sequence[str] | None = _UNSET,
        timeout: float = 10.0,
    ) -> None:
        """Change anonymous access, passwords or the ACL at runtime (rewrite + SIGHUP, waits for the reload)."""
        if allow_anonymous is not None:
            self.allow_anonymous = allow_anonymous
        if passwords is not None:
            self.passwords = dict(passwords)
        if acl is not _UNSET:
            self.acl = list(acl) if acl is not None else None
        self._write_files()
        before = self._reloads()
        self.signal(signal.SIGHUP)
        if not wait_until(lambda: self._reloads() > before, timeout, 0.05):
            raise ServerStartError(f"mosquitto did not reload within {timeout} s:\n{self.log_tail()}")

    def _reloads(self) -> int:
        try:
            return self.log_path.read_text(errors="replace").count("Reloading config")
        except OSError:
            return 0
