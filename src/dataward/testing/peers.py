"""Fake peers for error-path tests: a port that speaks another protocol, one that never answers, one closed."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from dataward.localservers.ports import free_port


@contextmanager
def tcp_peer(behaviour: Callable[[socket.socket], None]) -> Iterator[int]:
    """Listen on a free loopback port and run ``behaviour`` for each connection; yields the port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(32)
    stop = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)
            threading.Thread(target=behaviour, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        listener.close()
        for conn in held:
            conn.close()


def banner(line: bytes) -> Callable[[socket.socket], None]:
    """A behaviour: greet with ``line`` (some other service's banner), then close."""

    def answer(conn: socket.socket) -> None:
        try:
            conn.sendall(line)
        except OSError:
            pass
        finally:
            conn.close()

    return answer


def silent(conn: socket.socket) -> None:
    """A behaviour: accept and never answer (the connection stays open until the peer stops)."""


def closed_port() -> int:
    """A loopback port nothing listens on (free right now)."""
    return free_port()
