"""What every local server shares (the demo's and the tests'): a temp dir, a free port, a process group,
bounded start-up, teardown.

A server is a real daemon from Debian's binaries started in its own session (process group) so that
``stop()`` can always take it and all its children down, even if the test failed half-way. ``start()``
waits until the server answers (bounded) and raises ``ServerStartError`` with the tail of the server's own
log when it does not. An ``atexit`` hook per running server is the safety net for interpreters that end
without calling ``stop()``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self

from dataward.localservers.ports import free_port

START_TRIES = 3


class ServerStartError(RuntimeError):
    """A test server did not come up; the message carries the tail of its log."""


class BinaryMissing(RuntimeError):
    """A server binary is not installed (fixtures turn this into a pytest.skip with the reason)."""


def find_binary(name: str) -> str:
    """The path of a server binary on PATH or in /usr/lib/postgresql/*/bin, or BinaryMissing."""
    found = shutil.which(name)
    if found:
        return found
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / name).is_file():
            return str(folder / name)
    for sbin in ("/usr/sbin", "/usr/local/sbin", "/sbin"):
        if (Path(sbin) / name).is_file():
            return str(Path(sbin) / name)
    raise BinaryMissing(f"{name} is not installed (apt-get install the package that provides it)")


def new_secret() -> str:
    """A random password for an admin account nobody else knows."""
    return secrets.token_urlsafe(18)


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Poll ``check`` until it returns True or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


class LocalServer:
    """Base class: subclasses say how to prepare the temp dir, which command to run and how to ping."""

    kind: ClassVar[str] = "server"
    stop_signal: ClassVar[int] = signal.SIGTERM
    run_as: ClassVar[str | None] = None  # OS user the daemon runs as when we are root (postgres refuses root)

    def __init__(
        self, *, netns: str | None = None, connect_host: str | None = None, start_timeout: float = 60.0
    ) -> None:
        self.netns = netns  # run inside this network namespace (see dataward.testing.netns)
        self.connect_host = connect_host  # address clients use, e.g. the namespace side of a veth pair
        self.start_timeout = start_timeout
        self.port = 0
        self.tmpdir: Path = Path()
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_handle: object | None = None

    # ---- to be provided by subclasses -------------------------------------------------------------
    def _prepare(self) -> None:
        """Write config files and data dirs into ``self.tmpdir`` (called once per start attempt)."""

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _ping(self) -> bool:
        """Does the server answer yet?"""
        raise NotImplementedError

    def _after_start(self) -> None:
        """Create users, databases, buckets once the server answers."""

    # ---- common behaviour -------------------------------------------------------------------------
    def _host_for(self, bind: str) -> str:
        """The address a client on this machine uses for a server bound to ``bind``."""
        if self.connect_host:
            return self.connect_host
        first = bind.split(",")[0].split()[0].strip() if bind.strip() else "127.0.0.1"
        return "127.0.0.1" if first in ("0.0.0.0", "*", "", "localhost") else first

    @property
    def log_path(self) -> Path:
        return self.tmpdir / "server.log"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server's log (for error messages)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def start(self) -> Self:
        """Start the server on a free port and wait until it answers.

        Retried from scratch (new port, new temp dir) up to ``START_TRIES`` times: under a loaded CI
        machine a port can be taken between choosing and binding, and a daemon can die during its first
        start (seen with mariadbd). A failure that repeats is raised with the last log tail.
        """
        errors: list[str] = []
        for _ in range(START_TRIES):
            self.port = free_port()
            self.tmpdir = Path(tempfile.mkdtemp(prefix=f"dw-{self.kind}-"))
            try:
                self._start_once()
                return self
            except ServerStartError as exc:
                errors.append(str(exc))
                self.stop()
        raise ServerStartError(f"{self.kind} did not start in {START_TRIES} tries; last: {errors[-1]}")

    def _start_once(self) -> None:
        self._own_tmpdir()
        self._prepare()
        self._launch(self._command())
        if not wait_until(self._alive_and_ready, self.start_timeout, 0.1) or not self.running:
            raise ServerStartError(
                f"{self.kind} on port {self.port} did not come up within {self.start_timeout:.0f} s;"
                f" log tail:\n{self.log_tail()}"
            )
        self._after_start()
        atexit.register(self.stop)

    def _alive_and_ready(self) -> bool:
        if not self.running:
            return True  # stop waiting: the caller sees it is not running
        try:
            return self._ping()
        except Exception:  # any error just means "not yet"
            return False

    def _own_tmpdir(self) -> None:
        """Give the temp dir to the daemon's OS user when we are root (postgres will not run as root)."""
        user = self._os_user()
        if user is not None:
            os.chown(self.tmpdir, user.pw_uid, user.pw_gid)

    def _os_user(self) -> pwd.struct_passwd | None:
        if self.run_as is None or os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam(self.run_as)
        except KeyError:
            return pwd.getpwnam("nobody")

    def chown(self, path: Path) -> None:
        """Hand a file the server must read (key, password file) to its OS user."""
        user = self._os_user()
        if user is not None:
            os.chown(path, user.pw_uid, user.pw_gid)

    def run_tool(self, args: Sequence[str], timeout: float = 120) -> str:
        """Run a helper binary (initdb, mariadb-install-db) as the server's user; error with its output."""
        user = self._os_user()
        proc = subprocess.run(
            list(args),
            capture_output=True,
            text=True,
            timeout=timeout,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            extra_groups=[] if user else None,
            cwd=self.tmpdir,
            check=False,
        )
        if proc.returncode != 0:
            raise ServerStartError(f"{args[0]} failed ({proc.returncode}): {(proc.stdout + proc.stderr)[-2000:]}")
        return proc.stdout

    def _launch(self, argv: list[str]) -> None:
        user = self._os_user()
        if self.netns:
            # `ip netns exec` needs root; drop to the daemon's user after entering the namespace.
            drop = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups"] if user else []
            argv = ["ip", "netns", "exec", self.netns, *drop, *argv]
            user = None
        log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the daemon's lifetime
        self._log_handle = log
        self._proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=self.tmpdir,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            extra_groups=[] if user else None,
        )

    def signal(self, sig: int) -> None:
        """Send a signal to the daemon (SIGHUP to reload, SIGKILL to simulate a crash)."""
        if self._proc is not None and self._proc.poll() is None:
            os.kill(self._proc.pid, sig)

    def kill(self) -> None:
        """Kill the daemon abruptly (the store 'vanishes'); the temp dir stays until stop()."""
        self._terminate(signal.SIGKILL, 5)

    def _terminate(self, sig: int, grace: float) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        # children that outlived the leader (same process group)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)

    def stop(self) -> None:
        """Stop the server (process group) and remove its temp dir; safe to call twice."""
        self._terminate(self.stop_signal, 15)
        self._proc = None
        if self._log_handle is not None:
            with contextlib.suppress(Exception):
                self._log_handle.close()  # type: ignore[attr-defined]
            self._log_handle = None
        if self.tmpdir != Path() and self.tmpdir.exists():
            shutil.rmtree(self.tmpdir, ignore_errors=True)
        atexit.unregister(self.stop)

    def __enter__(self) -> Self:
        if not self.running:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} port={self.port} running={self.running}>"
