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

    def close(self) -> None:
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


def _child(request: dict[str, object]) -> None:
    """Become ``python -m dataward ARGS`` in the request's folder and environment; never returns normally."""
    import runpy

    try:
        cwd = str(request["cwd"])
        os.chdir(cwd)
        env = request["env"]
        assert isinstance(env, dict)
        os.environ.clear()
        os.environ.update(env)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
            target = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(target, fd)
            os.close(target)
        args = request["args"]
        assert isinstance(args, list)
        sys.argv = ["dataward", *map(str, args)]
        sys.path[0] = cwd  # `python -m` puts the working folder first
    except BaseException:  # the helper's own failure, not the CLI's: a distinct exit code
        os._exit(70)
    code = 0
    try:
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
