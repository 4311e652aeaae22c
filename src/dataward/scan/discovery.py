"""Discovery: find stores nobody listed by connect-scanning a host or a small range and naming each
service from what it answers, not from its port number.

Every registered store kind declares ``default_ports`` and, optionally, a discovery hook
(``discovery_hello`` + ``identify``, see stores/base.py). For each open port we first listen for a greeting
(MySQL speaks first), then send each kind's hello on a fresh connection (kinds whose default port this is go
first) until one kind recognises the answer. Nothing is written: the hellos are PostgreSQL's SSLRequest,
Redis ``PING``, memcached ``version``, an MQTT CONNECT, an HTTP ``GET /`` and MongoDB's ``hello``.

Ranges larger than ``MAX_HOSTS`` addresses are refused unless the caller says it owns the network.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

from dataward.errors import DatawardError
from dataward.stores.base import STORES
from dataward.targets import Target, parse_target

MAX_HOSTS = 256  # a /24; more needs i_own_this_network
GREETING_WAIT_S = 0.3  # how long to wait for a server that speaks first
QUIET_S = 0.25  # after a complete-looking answer, how long a pause ends it
ANSWER_CAP = 4096  # bytes read from one answer

Progress = Callable[[int, int], None]
"""Called with (host:port pairs checked so far, pairs in all) from the scanning threads; the CLI draws a bar."""


@dataclass(frozen=True)
class Service:
    """One open port and the store kind that answered there (None: open, but no kind recognised it)."""

    host: str
    port: int
    kind: str | None
    url: str | None = None


class SweepOptions(TypedDict, total=False):
    """How a sweep runs (``discover_services``'s keyword arguments; the defaults are there)."""

    i_own_this_network: bool
    concurrency: int
    timeout: float
    progress: Progress | None


def discover(spec: str, ports: list[int] | None = None, **options: Unpack[SweepOptions]) -> list[Target]:
    """Targets for every store found on ``spec`` (``HOST`` or ``HOST/CIDR``) on ``ports`` (None = every
    kind's default ports). Raises DatawardError for a malformed spec or a range over the limit."""
    return [parse_target(s.url) for s in discover_services(spec, ports, **options) if s.url]


def discover_services(
    spec: str,
    ports: list[int] | None = None,
    *,
    i_own_this_network: bool = False,
    concurrency: int = 64,
    timeout: float = 1.0,
    progress: Progress | None = None,
) -> list[Service]:
    """Every open port found, identified where a kind recognises it (see ``discover``)."""
    hosts = expand_hosts(spec, i_own_this_network=i_own_this_network)
    ports = sorted(set(ports)) if ports else default_ports()
    pairs = [(h, p) for h in hosts for p in ports]
    workers = max(1, min(concurrency, len(pairs)))
    tick = _counter(progress, len(pairs))
    with ThreadPoolExecutor(workers) as pool:
        found = [s for s in pool.map(lambda hp: _scan_one(hp[0], hp[1], timeout, tick), pairs) if s is not None]
    return sorted(found, key=lambda s: (_sort_key(s.host), s.port))


def default_ports() -> list[int]:
    """The union of every registered store kind's default ports."""
    return sorted({p for cls in _store_classes() for p in getattr(cls, "default_ports", ())})


def expand_hosts(spec: str, *, i_own_this_network: bool = False) -> list[str]:
    """The addresses of ``HOST`` or ``HOST/CIDR``; a host name stays a name."""
    spec = spec.strip()
    if not spec:
        raise DatawardError("the discovery range is empty", tip="write HOST or HOST/CIDR, e.g. 127.0.0.1/30")
    try:
        net = ipaddress.ip_network(spec, strict=False)
    except ValueError:
        if "/" in spec or not _valid_hostname(spec):
            raise DatawardError(
                f"'{spec}' is not a host or an address range", tip="write HOST or HOST/CIDR, e.g. 10.0.0.0/28"
            ) from None
        return [spec]
    if net.num_addresses > MAX_HOSTS and not i_own_this_network:
        raise DatawardError(
            f"refusing to scan {net.num_addresses:,} addresses ({net}): more than {MAX_HOSTS} (a /24)",
            tip="scan a smaller range, or pass --i-own-this-network if you are allowed to scan all of it",
        )
    if net.num_addresses <= 2:
        return [str(a) for a in net]
    return [str(a) for a in net.hosts()]


def _valid_hostname(name: str) -> bool:
    return all(part and len(part) < 64 and part.replace("-", "").isalnum() for part in name.split("."))


def identify_service(host: str, port: int, timeout: float = 1.0) -> Service:
    """Name the store kind listening at host:port from its answers.

    A greeting the server sends unprompted is offered to the server-speaks-first kinds; otherwise every
    kind's hello goes out at once, each on its own connection, and the first kind in order (default port
    first) that recognises its answer wins, so an unknown port costs one timeout, not one per kind. A
    server that greets late still greets on those connections, so speaks-first kinds read them too.
    """
    classes = _ordered_classes(port)
    greeting = _exchange(host, port, b"", min(timeout, GREETING_WAIT_S))
    if greeting:
        answers = {id(c): [greeting] for c in classes if c.discovery_hello == b""}
    else:
        talkers = [c for c in classes if c.discovery_hello != b""]
        with ThreadPoolExecutor(max(1, len(talkers))) as pool:
            got = list(pool.map(lambda c: _exchange(host, port, c.discovery_hello, timeout, c.identify), talkers))
        answers = {id(c): [a] for c, a in zip(talkers, got, strict=True)}
        answers.update({id(c): got for c in classes if c.discovery_hello == b""})
    for cls in classes:
        if any(answer and cls.identify(answer) for answer in answers.get(id(cls), [])):
            return Service(host, port, cls.scheme, _url_for(cls, host, port))
    return Service(host, port, None)


def _scan_one(host: str, port: int, timeout: float, tick: Callable[[], None]) -> Service | None:
    try:
        if not _is_open(host, port, timeout):
            return None
        return identify_service(host, port, timeout)
    finally:
        tick()


def _is_open(host: str, port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _exchange(host: str, port: int, hello: bytes, wait_s: float,
              enough: Callable[[bytes], bool] | None = None) -> bytes:
    """Send ``hello`` (maybe nothing) on a fresh connection and return what comes back.

    Answers arrive in segments (an HTTP server often sends headers and body apart, later under load), so
    reading goes on until ``enough`` accepts the answer, the peer closes, ``ANSWER_CAP`` bytes came, the
    peer stays quiet for ``QUIET_S`` after a complete-looking answer, or ``wait_s`` runs out.
    """
    deadline = time.monotonic() + wait_s
    answer = b""
    try:
        with socket.create_connection((host, port), timeout=wait_s) as sock:
            if hello:
                sock.sendall(hello)
            while len(answer) < ANSWER_CAP and not (answer and enough is not None and enough(answer)):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                sock.settimeout(left if not answer or _http_incomplete(answer) else min(left, QUIET_S))
                chunk = sock.recv(ANSWER_CAP - len(answer))
                if not chunk:
                    break
                answer += chunk
    except OSError:
        pass
    return answer


def _http_incomplete(answer: bytes) -> bool:
    """An HTTP answer whose headers, or body by Content-Length, have not all arrived yet."""
    if not answer.startswith(b"HTTP/"):
        return False
    head, sep, body = answer.partition(b"\r\n\r\n")
    if not sep:
        return True
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            return len(body) < min(int(value.strip()), ANSWER_CAP)
    return False


def _store_classes() -> list[type]:
    """Each registered kind once (aliases such as postgres:// map to the same class)."""
    return STORES.members()


def _ordered_classes(port: int) -> list[Any]:
    """Kinds that can identify themselves; those whose default port this is first, server-speaks-first next."""
    classes = [c for c in _store_classes() if hasattr(c, "identify") and hasattr(c, "discovery_hello")]
    return sorted(classes, key=lambda c: (port not in getattr(c, "default_ports", ()), c.discovery_hello != b""))


def _url_for(cls: Any, host: str, port: int) -> str:
    builder = getattr(cls, "discovery_url", None)
    if builder is not None:
        return str(builder(host, port))
    shown = f"[{host}]" if ":" in host else host
    return f"{cls.scheme}://{shown}:{port}"


def _sort_key(host: str) -> tuple[int, Any]:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return (2, host)
    return (ip.version, int(ip))


def _counter(progress: Progress | None, total: int) -> Callable[[], None]:
    """A thread-safe tick that reports (done, total) to ``progress``; reports (0, total) at once."""
    if progress is None:
        return lambda: None
    lock = threading.Lock()
    done = 0
    progress(0, total)

    def tick() -> None:
        nonlocal done
        with lock:
            done += 1
            progress(done, total)

    return tick
