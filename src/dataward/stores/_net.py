"""Sockets for the stores that speak their own wire protocol (Redis, memcached, MongoDB).

One place turns OSError/TLS failures into the short sentences facts carry (``timeout after 3 s``), so no
driver traceback ever reaches a user.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass

from dataward.stores.base import ExposureFacts
from dataward.targets import Target


def connect(host: str, port: int, timeout_s: float, tls: bool = False) -> socket.socket:
    """A connected socket (TLS without certificate checks when asked: we probe, we do not trust)."""
    sock = socket.create_connection((host, port), timeout=timeout_s)
    if tls:
        sock = _insecure_tls_context().wrap_socket(sock, server_hostname=host)
    return sock


def _insecure_tls_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def tls_handshake_ok(host: str, port: int, timeout_s: float) -> bool:
    """Does this port complete a TLS handshake? (A plain-text listener fails or times out.)"""
    try:
        with connect(host, port, timeout_s, tls=True):
            return True
    except (OSError, ssl.SSLError, ValueError):
        return False


def describe_error(exc: BaseException, timeout_s: float) -> str:
    """One short sentence for a connection failure, the way facts and findings quote it."""
    if isinstance(exc, socket.timeout | TimeoutError):
        return f"timeout after {timeout_s:g} s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError | BrokenPipeError):
        return "connection closed by the server"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error ({exc.reason or 'handshake failed'})"
    if isinstance(exc, socket.gaierror):
        return "host name does not resolve"
    if isinstance(exc, ProtocolError):
        return str(exc)
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return type(exc).__name__


class ProtocolError(Exception):
    """The peer answered, but not in the protocol we expected (wrong port, another service)."""


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    tls: bool


def endpoint(target: Target, default_port: int, tls_schemes: tuple[str, ...] = ()) -> Endpoint:
    """Host, port and TLS of a server URL (``rediss://`` and friends mean TLS)."""
    tls = target.scheme in tls_schemes or target.params.get("tls", "").lower() in ("1", "true", "yes")
    return Endpoint(target.host or "localhost", target.port or default_port, tls)


def unreachable(target: Target, store: str, error: str) -> ExposureFacts:
    """Facts for a store that could not be reached at all."""
    return ExposureFacts(target=target.display, store=store, reachable=False, error=error, scope=target.scope,
                         name=target.name)


def answered_otherwise(target: Target, store: str, error: str) -> ExposureFacts:
    """Facts for a port that answered, but not in this store's protocol (or refused the probe)."""
    return ExposureFacts(target=target.display, store=store, reachable=True, error=error, scope=target.scope,
                         details={"protocol_mismatch": error}, name=target.name)
