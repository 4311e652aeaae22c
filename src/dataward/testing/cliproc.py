"""``python -m dataward ARGS`` as real processes, without paying the CLI's import time for each of them.

Importing ``dataward.cli`` (and the library its commands import lazily) takes one to two seconds of CPU; a test
file that runs the CLI forty times pays it forty times. ``PreloadedCli`` starts one helper process that imports
the product once and listens on a unix socket; each run is a connection carrying the arguments, environment,
working folder and three stdio fds. The helper forks, and the child behaves like a fresh ``python -m dataward``
(``run``) or ``dataward`` console script (the shim of ``bin_dir``): its own pid, argv, environment and folder,
the stdio it was handed, and the interpreter's own exit (SystemExit codes, an uncaught exception printed as a
traceback with exit 1, non-daemon threads waited for, atexit handlers, stdio flushed). Nothing is mocked: the
exit status, the bytes on stdout and stderr and the files written are the real process's.

What differs from a cold start: the final teardown of module objects is skipped (see ``_exit``); modules are
imported before the run's environment is set (dataward reads no environment variable at import time); the
interpreter's start-up options come from the helper's environment, so a run whose ``PYTHON*`` variables differ
from the helper's starts a fresh interpreter instead, as does every run where ``os.fork`` is missing.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

# Imported by the helper before it forks: the CLI, and every module of the product, since commands import their
# library lazily (``scan`` alone pulls in every store kind's client: another second). Not the tests' helpers.
# A ``__main__`` module runs something when imported (``dataward.demo.__main__`` runs the demo): never those.
_SKIP_PRELOAD = ("dataward.testing", "dataward.demo")


def _interpreter_env(env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith("PYTHON")}


class PreloadedCli:
    """Runs the dataward CLI as real processes forked from a helper that has already imported it.

    One helper serves both ``run`` (Python callers) and the ``dataward`` shim of ``bin_dir`` (shells).
    """

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._env = dict(os.environ if env is None else env)
        self._lock = threading.Lock()
        self._outdir = tempfile.TemporaryDirectory(prefix="dataward-cliproc-")
        self._socket = Path(self._outdir.name) / "cli.sock"
        self._server: subprocess.Popen[bytes] | None = None

    # -- lifecycle ------------------------------------------------------------------------------------------
    def _ensure_server(self) -> bool:
        """Start the helper if it is not running; False where it cannot be (no os.fork)."""
        if not hasattr(os, "fork") or not hasattr(socket, "send_fds"):
            return False
        with self._lock:
            if self._server is None or self._server.poll() is not None:
                self._socket.unlink(missing_ok=True)
                code = f"from dataward.testing.cliproc import _serve; _serve({str(self._socket)!r})"
                self._server = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=self._env)
                assert self._server.stdout is not None
                ready, _, _ = select.select([self._server.stdout], [], [], 300)
                line = self._server.stdout.readline() if ready else b""
                if json.loads(line or b"{}").get("ready") is not True:
                    self._server.kill()
                    raise RuntimeError(f"the preloaded dataward helper did not start ({self._server.wait()})")
        return True

    def close(self) -> None:
        if self._server is not None:
            self._server.terminate()  # the helper waits for runs still going, then exits
            try:
                self._server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self._server.kill()
                self._server.wait()
            if self._server.stdout:
                self._server.stdout.close()
            self._server = None
        self._outdir.cleanup()

    def __enter__(self) -> PreloadedCli:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- running ----------------------------------------------------------------------------------------------
    def run(
        self,
        args: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """Like ``subprocess.run([python, -m, dataward, *args], capture_output=True, text=True, env=env, cwd=cwd)``."""
        full_env = dict(os.environ if env is None else env)
        argv = [sys.executable, "-m", "dataward", *args]
        if _interpreter_env(full_env) != _interpreter_env(self._env) or not self._ensure_server():
            return subprocess.run(argv, capture_output=True, text=True, env=full_env, cwd=cwd, timeout=timeout,
                                  stdin=subprocess.DEVNULL)  # fmt: skip
        request = {"args": list(args), "env": full_env, "cwd": str(Path(cwd or os.getcwd()).resolve())}
        with (
            tempfile.TemporaryFile(dir=self._outdir.name) as stdout,
            tempfile.TemporaryFile(dir=self._outdir.name) as stderr,
            open(os.devnull, "rb") as stdin,
            socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn,
        ):
            conn.settimeout(30)
            conn.connect(str(self._socket))
            socket.send_fds(conn, [json.dumps(request).encode() + b"\n"], [stdin.fileno(), stdout.fileno(),
                                                                           stderr.fileno()])  # fmt: skip
            answers = conn.makefile("rb")
            pid = int(json.loads(answers.readline())["pid"])
            conn.settimeout(timeout)
            try:
                line = answers.readline()
            except TimeoutError:
                os.kill(pid, signal.SIGKILL)
                raise subprocess.TimeoutExpired(argv, timeout) from None
            status = int(json.loads(line)["status"]) if line else 70
            stdout.seek(0)
            stderr.seek(0)
            return subprocess.CompletedProcess(
                argv, status, stdout.read().decode(errors="replace"), stderr.read().decode(errors="replace")
            )

    def bin_dir(self) -> Path:
        """A folder with a ``dataward`` executable that runs the CLI forked from the preloaded helper.

        Put it first on a shell's PATH (documented examples): the shim hands the helper its own stdin, stdout
        and stderr, working folder, environment and arguments, forwards SIGINT/SIGTERM/SIGHUP to the CLI's
        process and exits with its status, so the shell sees what the console script would give it. When the
        helper cannot be reached, or the interpreter's environment differs, it execs the real script.
        """
        folder = Path(self._outdir.name) / "bin"
        shim = folder / "dataward"
        real = Path(sys.executable).with_name("dataward")
        if not shim.exists():
            self._ensure_server()
            folder.mkdir(exist_ok=True)
            shim.write_text(_SHIM.format(
                python=sys.executable, socket=str(self._socket), interpreter_env=_interpreter_env(self._env),
                real=[str(real)] if real.exists() else [sys.executable, "-m", "dataward"],
            ))  # fmt: skip
            shim.chmod(0o755)
        return folder


# ---- the helper process -------------------------------------------------------------------------------------
def _serve(path: str) -> None:
    """Import the CLI once, then serve the ``dataward`` shim: one connection is one CLI process.

    Each connection carries a JSON request and the shim's three stdio fds; a supervisor forked for it forks the
    CLI's process on those fds, answers its pid, waits for it and answers its status.
    """
    answers = os.dup(1)
    os.dup2(2, 1)
    _preload()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    # Supervisors are reaped (not ignored) so that their CPU time and their CLI process's add up to this
    # helper's, and to the test run's (``time pytest``) when the helper is reaped in turn.
    signal.signal(signal.SIGCHLD, _reap)
    signal.signal(signal.SIGTERM, _stop)
    _answer(answers, {"ready": True})
    os.close(answers)
    try:
        while True:
            conn, _ = listener.accept()
            sys.stdout.flush()
            sys.stderr.flush()
            if os.fork() == 0:
                listener.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                _supervise(conn)  # never returns
            conn.close()
    except SystemExit:
        listener.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        while True:  # what is still running is the caller's to stop; wait for it
            try:
                os.wait()
            except ChildProcessError:
                break
        os._exit(0)


def _reap(signum: int, frame: object) -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _supervise(conn: socket.socket) -> None:
    try:
        data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
        while not data.endswith(b"\n"):
            chunk = conn.recv(1 << 16)
            if not chunk:
                os._exit(0)
            data += chunk
        request = json.loads(data)
        pid = os.fork()
        if pid == 0:
            conn.close()
            _child(request, (fds[0], fds[1], fds[2]))  # never returns
        for fd in fds:
            os.close(fd)
        conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        _, wait_status = os.waitpid(pid, 0)
        conn.sendall(json.dumps({"status": os.waitstatus_to_exitcode(wait_status)}).encode() + b"\n")
    finally:
        os._exit(0)


_SHIM = """#!{python} -IS
# dataward, forked from a preloaded helper (dataward.testing.cliproc); execs {real} when it cannot be.
import json, os, signal, socket, sys

REAL = {real!r}
if {{k: v for k, v in os.environ.items() if k.startswith("PYTHON")}} != {interpreter_env!r}:
    os.execv(REAL[0], [*REAL, *sys.argv[1:]])
try:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect({socket!r})
    request = {{"args": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd(), "script": True}}
    socket.send_fds(conn, [json.dumps(request).encode() + b"\\n"], [0, 1, 2])
except OSError:
    os.execv(REAL[0], [*REAL, *sys.argv[1:]])
answers = conn.makefile("rb")
first = answers.readline()
if not first:
    sys.exit(70)
pid = json.loads(first)["pid"]


def forward(signum, frame):
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(signum, forward)
line = answers.readline()
status = json.loads(line)["status"] if line else 70
if status < 0:
    signal.signal(-status, signal.SIG_DFL)
    os.kill(os.getpid(), -status)
sys.exit(status)
"""


def _preload() -> None:
    import importlib
    import pkgutil

    import dataward

    importlib.import_module("dataward.cli")
    for module in pkgutil.walk_packages(dataward.__path__, "dataward."):
        if module.name.startswith(_SKIP_PRELOAD) or module.name.rpartition(".")[2] == "__main__":
            continue
        try:
            importlib.import_module(module.name)
        except Exception:  # an optional extra that is not installed: the child imports (and fails) as usual
            continue


def _answer(fd: int, message: dict[str, object]) -> None:
    data = memoryview(json.dumps(message).encode() + b"\n")
    while data:
        data = data[os.write(fd, data) :]


def _child(request: dict[str, Any], stdio: tuple[int, int, int]) -> None:
    """Become ``python -m dataward ARGS`` (or the ``dataward`` script) in the request's folder and environment,
    on the ``stdio`` fds it was handed; never returns."""
    import runpy

    try:
        cwd = str(request["cwd"])
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(request["env"])
        for fd, source in enumerate(stdio):
            os.dup2(source, fd)
        for source in set(stdio) - {0, 1, 2}:
            os.close(source)
        sys.argv = ["dataward", *map(str, request["args"])]
        script = request.get("script", False)
        # `python -m` puts the working folder first on sys.path, a console script its own folder (.venv/bin)
        sys.path[0] = str(Path(sys.executable).parent) if script else cwd
    except BaseException:  # the helper's own failure, not the CLI's: a distinct exit code
        os._exit(70)
    code = 0
    try:
        if script:  # what pip's console script does
            from dataward.cli import main

            sys.exit(main())  # type: ignore[func-returns-value]
        runpy.run_module("dataward", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = _exit_code(exc)
    except BaseException:
        sys.excepthook(*sys.exc_info())  # what the interpreter prints for an uncaught exception
        code = 1
    _exit(code)


def _exit_code(exc: SystemExit) -> int:
    """The interpreter's handling of SystemExit: None is 0, an int is itself, anything else goes to stderr, 1."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code & 0xFF
    print(exc.code, file=sys.stderr)
    return 1


def _exit(code: int) -> None:
    """The interpreter's shutdown up to the point anything can be seen from outside, then the exit itself.

    Non-daemon threads are waited for, atexit handlers run and stdio is flushed, as Py_FinalizeEx does; the
    teardown of every module object is skipped (in a forked child it copies every page of the helper's memory,
    ~0.3 s, and shows nothing).
    """
    import atexit
    import threading

    try:
        shutdown = getattr(threading, "_shutdown", None)
        if shutdown is not None:
            shutdown()
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # a broken stream: the interpreter exits 120 then
                code = code or 120
        os._exit(code)
