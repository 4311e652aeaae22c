"""Where ``dataward serve`` listens: ``HOST:PORT``, loopback unless TLS is configured."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from dataward.errors import DatawardError


@dataclass(frozen=True)
class Listen:
    host: str
    port: int

    @property
    def loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False  # a host name: it may resolve anywhere


def parse_listen(text: str) -> Listen:
    """``127.0.0.1:8080``, ``[::1]:8080`` or ``0.0.0.0:443``."""
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise DatawardError(f"'{text}' is not an address to listen on", tip="use HOST:PORT, e.g. 127.0.0.1:8080")
    return Listen(host, int(port))


def check_listen(listen: Listen, *, tls: bool) -> None:
    """Refuse a non-loopback address without TLS: tokens would cross the network in clear."""
    if not listen.loopback and not tls:
        raise DatawardError(
            f"refusing to listen on {listen.host} without TLS, since API tokens would cross the network in clear",
            tip="pass --tls-cert and --tls-key, or listen on 127.0.0.1 behind a TLS reverse proxy",
        )
