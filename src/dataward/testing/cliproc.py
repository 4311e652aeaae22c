"""``python -m dataward ARGS`` as real processes, without paying the CLI's import time for each of them.

Importing ``dataward.cli`` takes about a second of CPU; a test file that runs the CLI forty times pays it forty
times. ``PreloadedCli`` starts one helper process that imports ``dataward.cli`` once; every ``run`` forks it,
and the child behaves like a fresh ``python -m dataward``: its own pid, the given argv, environment and working
folder, stdin from /dev/null, stdout and stderr on their own files, ``dataward.__main__`` run as ``__main__``,
and the interpreter's own exit (SystemExit codes, an uncaught exception printed as a traceback with exit 1,
non-daemon threads waited for, atexit handlers, stdio flushed). Nothing is mocked: the exit code, the bytes on stdout and stderr and the files
written are the real process's.

What differs from a cold start: the final teardown of module objects is skipped (see ``_exit``), modules are imported before the row's environment is set (dataward reads no
environment variable at import time), and the interpreter's start-up options come from the helper's
environment. A request whose ``PYTHON*`` variables differ from the helper's runs as a plain subprocess.
Without ``os.fork`` (not POSIX) every run is a plain subprocess.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
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
    """Runs the dataward CLI as real processes forked from a helper that has already imported it."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._env = dict(os.environ if env is None else env)
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._pending = b""
        self._outdir = tempfile.TemporaryDirectory(prefix="dataward-cliproc-")
        self._server: subprocess.Popen[bytes] | None = None

    # -- lifecycle ------------------------------------------------------------------------------------------
    def _helper(self) -> subprocess.Popen[bytes] | None:
        if not hasattr(os, "fork"):
            return None
        if self._proc is None or self._proc.poll() is not None:
            code = "from dataward.testing.cliproc import _serve; _serve()"
            self._pending = b""
            self._proc = subprocess.Popen(
                [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=self._env, bufsize=0
            )
            ready = self._read(self._proc, timeout=120)
            if ready.get("ready") is not True:
                raise RuntimeError(f"the preloaded dataward helper did not start: {ready}")
        return self._proc

    def bin_dir(self) -> Path:
        """A folder with a ``dataward`` executable that runs the CLI forked from a preloaded helper.

        Put it first on a shell's PATH (documented examples): the shim hands the helper its own stdin, stdout
        and stderr, working folder, environment and arguments, forwards SIGINT/SIGTERM/SIGHUP to the CLI's
        process and exits with its status, so the shell sees what the console script would give it. When the
        helper cannot be reached, or the interpreter's environment differs, it execs the real script.
        """
        folder = Path(self._outdir.name) / "bin"
        shim = folder / "dataward"
        if self._server is None or self._server.poll() is not None:
            socket_path = Path(self._outdir.name) / "cli.sock"
            socket_path.unlink(missing_ok=True)
            code = f"from dataward.testing.cliproc import _serve_socket; _serve_socket({str(socket_path)!r})"
            self._server = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=self._env,
                                            bufsize=0)  # fmt: skip
            saved, self._pending = self._pending, b""
            try:
                ready = self._read(self._server, timeout=120)
            finally:
                self._pending = saved
            if ready.get("ready") is not True:
                raise RuntimeError(f"the preloaded dataward server did not start: {ready}")
            folder.mkdir(exist_ok=True)
            real = Path(sys.executable).with_name("dataward")
            shim.write_text(_SHIM.format(
                python=sys.executable, socket=str(socket_path), interpreter_env=_interpreter_env(self._env),
                real=[str(real)] if real.exists() else [sys.executable, "-m", "dataward"],
            ))  # fmt: skip
            shim.chmod(0o755)
        return folder

    def close(self) -> None:
        if self._server is not None:
            self._server.terminate()
            self._server.wait()
            if self._server.stdout:
                self._server.stdout.close()
            self._server = None
        if self._proc is not None:
            if self._proc.stdin:
                self._proc.stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            if self._proc.stdout:
                self._proc.stdout.close()
            self._proc = None
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
        with self._lock:
            helper = self._helper()
            if helper is None or _interpreter_env(full_env) != _interpreter_env(self._env):
                return subprocess.run(argv, capture_output=True, text=True, env=full_env, cwd=cwd, timeout=timeout,
                                      stdin=subprocess.DEVNULL)  # fmt: skip
            out = Path(self._outdir.name)
            stdout, stderr = out / "stdout", out / "stderr"
            request = {"args": list(args), "env": full_env, "cwd": str(Path(cwd or os.getcwd()).resolve()),
                       "stdout": str(stdout), "stderr": str(stderr)}  # fmt: skip
            assert helper.stdin is not None
            data = memoryview(json.dumps(request).encode() + b"\n")
            while data:
                data = data[os.write(helper.stdin.fileno(), data) :]
            pid = int(self._read(helper, timeout=30)["pid"])
            try:
                status = int(self._read(helper, timeout=timeout)["status"])
            except subprocess.TimeoutExpired:
                os.kill(pid, 9)
                self._read(helper, timeout=30)
                raise subprocess.TimeoutExpired(argv, timeout) from None
            return subprocess.CompletedProcess(
                argv, status, stdout.read_text(errors="replace"), stderr.read_text(errors="replace")
            )

    def _read(self, helper: subprocess.Popen[bytes], timeout: float) -> dict[str, Any]:
        """The helper's next answer line (read from the pipe's fd, so no line waits in a Python buffer)."""
        assert helper.stdout is not None
        fd = helper.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._pending:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise subprocess.TimeoutExpired("dataward helper", timeout)
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError(f"the preloaded dataward helper exited ({helper.wait()})")
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        answer: dict[str, Any] = json.loads(line)
        return answer


# ---- the helper process -------------------------------------------------------------------------------------
def _serve() -> None:
    """Import the CLI once, then fork one child per request (a JSON line on stdin); answer pid, then status.

    Answers go to a private copy of the pipe's fd; fd 1 points at stderr, so nothing the imports print can
    be taken for an answer.
    """
    answers = os.dup(1)
    os.dup2(2, 1)
    _preload()
    _answer(answers, {"ready": True})
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            os.close(answers)
            _child(request)  # never returns
        _answer(answers, {"pid": pid})
        _, wait_status = os.waitpid(pid, 0)
        _answer(answers, {"status": os.waitstatus_to_exitcode(wait_status)})


def _serve_socket(path: str) -> None:
    """Import the CLI once, then serve the ``dataward`` shim: one connection is one CLI process.

    Each connection carries a JSON request and the shim's three stdio fds; a supervisor forked for it forks the
    CLI's process on those fds, answers its pid, waits for it and answers its status.
    """
    import signal
    import socket

    answers = os.dup(1)
    os.dup2(2, 1)
    _preload()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # supervisors reap themselves
    _answer(answers, {"ready": True})
    os.close(answers)
    while True:
        conn, _ = listener.accept()
        sys.stdout.flush()
        sys.stderr.flush()
        if os.fork() == 0:
            listener.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            _supervise(conn)  # never returns
        conn.close()


def _supervise(conn: Any) -> None:
    import socket

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


def _child(request: dict[str, Any], stdio: tuple[int, int, int] | None = None) -> None:
    """Become ``python -m dataward ARGS`` (or the ``dataward`` script) in the request's folder and environment,
    on ``stdio`` (else /dev/null and the request's output files); never returns."""
    import runpy

    try:
        cwd = str(request["cwd"])
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(request["env"])
        if stdio is None:
            stdio = (
                os.open(os.devnull, os.O_RDONLY),
                os.open(str(request["stdout"]), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
                os.open(str(request["stderr"]), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
            )
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
