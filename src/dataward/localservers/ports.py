"""Free loopback ports for test servers, never one of the standard service ports.

The machine may already run PostgreSQL, MariaDB, Redis, Mosquitto, RabbitMQ, NATS or memcached on their
usual ports; test servers must never collide with (or connect to) them, so those ports are refused even if
the kernel would hand them out.
"""

from __future__ import annotations

import socket

# Ports of services that may already run on this machine (and must never be touched by a test).
STANDARD_PORTS = frozenset(
    {1883, 4222, 5432, 5672, 6379, 8883, 9000, 9200, 11211, 15672, 27017, 3306, 8080, 8222}
)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port the kernel says is free on ``host`` right now (an ephemeral one, never a standard port)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        if port not in STANDARD_PORTS:
            return port
    raise RuntimeError("no free port found on " + host)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Does something accept a TCP connection on host:port?"""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
