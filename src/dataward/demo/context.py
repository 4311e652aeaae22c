"""What the demo's steps share: the context object, the step type and where outputs and the policy lie."""

from __future__ import annotations

import contextlib
import secrets
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

REPO = Path(__file__).resolve().parents[3]  # src/dataward/demo/context.py -> the checkout
DEFAULT_OUT = REPO / "demo" / "out"
POLICY = REPO / "demo" / "dataward.toml"
DEFAULT_USERS = 2000
DEMO_SEED = 2019  # the year of the seed case
ANALYST_PASSWORD = "analyst-pw"  # the analytics copy's own account (the engineer's)


def _analytics_copy(out: Path) -> Any:
    """The seed case's analytics copy: PostgreSQL on loopback, protected (scram) until someone switches it off."""
    from dataward.localservers.postgres import PostgresServer

    return PostgresServer(auth="scram", users={"analyst": ANALYST_PASSWORD}, databases=["analytics"])


def _safe_copy(out: Path) -> Any:
    """Where the safe copy goes: PostgreSQL on loopback with scram and a password nobody else knows."""
    from dataward.localservers.postgres import PostgresServer

    return PostgresServer(auth="scram", users={"analyst": secrets.token_hex(12)}, databases=["analytics"])


def _mail(out: Path) -> Any:
    """The local mail catcher the notices go to (each message a file under ``out/notices``)."""
    from dataward.demo.mailcatcher import MailCatcher

    return MailCatcher(out / "notices")


SERVERS: dict[str, Callable[[Path], Any]] = {"analytics": _analytics_copy, "safe": _safe_copy, "mail": _mail}
POSTGRES_SERVERS = ("analytics", "safe")


@dataclass
class DemoContext:
    """What steps share: where outputs go, the console, and what earlier steps produced."""

    out: Path
    console: Console
    users: int = DEFAULT_USERS
    production_url: str = ""
    ground_truth: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)  # label -> path, printed at the end
    state: dict[str, Any] = field(default_factory=dict)  # anything a later step needs from an earlier one
    story: list[tuple[str, str, str, float]] = field(default_factory=list)  # step, seed company, dataward, seconds
    resources: ExitStack = field(default_factory=ExitStack)  # servers later steps still need; closed at the end
    servers: dict[str, Future[Any]] = field(default_factory=dict)  # name in SERVERS -> the started server
    timings: list[tuple[str, float, float]] = field(default_factory=list)  # step, wall s, CPU s of this process

    def prestart(self, names: Iterable[str]) -> None:
        """Start these servers in background threads now (they take seconds each, mostly waiting on initdb),
        so that they are up when a step asks for them; each is stopped when ``resources`` closes."""
        todo = [n for n in names if n not in self.servers]
        if not todo:
            return
        pool = ThreadPoolExecutor(max_workers=len(todo), thread_name_prefix="demo-server")
        for name in todo:
            server = SERVERS[name](self.out)
            started = pool.submit(server.start)
            self.resources.callback(_stop_when_started, server, started)
            self.servers[name] = started
        pool.shutdown(wait=False)

    def server(self, name: str) -> Any:
        """The running server ``name`` (one of ``SERVERS``), started now if nobody started it before."""
        if name not in self.servers:
            server = SERVERS[name](self.out)
            self.resources.callback(server.stop)
            done: Future[Any] = Future()
            done.set_result(server.start())
            self.servers[name] = done
        return self.servers[name].result()


def _stop_when_started(server: Any, started: Future[Any]) -> None:
    with contextlib.suppress(Exception):  # a start that failed was already raised to the step that asked
        started.result()
    server.stop()


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Ctrl-C and SIGTERM raise KeyboardInterrupt inside this block, so that the demo's servers are stopped (an
    atexit hook does not run on SIGTERM), even when the demo was started with SIGINT ignored (as a background
    job); the previous handlers come back afterwards. Only the main thread can do this; elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


Step = Callable[[DemoContext], None]
