"""CPU time and memory of a process and its threads, read from /proc (Linux), for the Spark bench; and the
stop of a bench's child process group (serve, watch).

A JVM's threads are named (``/proc/PID/task/TID/comm``): task threads ("Executor task launch worker"), the JIT
compilers ("C1/C2 CompilerThread"), the garbage collector ("GC Thread#0", "G1 Conc#0", ...) and the rest
(the driver's RPC, Parquet I/O pools, the VM thread). A snapshot before and one after a copy give the CPU
seconds each group spent on it; threads that ended in between count only in the process total.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
GROUPS = (
    ("tasks", ("Executor task",)),
    ("jit", ("C1 Compiler", "C2 Compiler", "C1 CompilerThre", "C2 CompilerThre")),
    ("gc", ("GC Thread", "G1 ", "GC ", "ParGC", "VM Periodic")),
)


def cpu_seconds(stat_path: Path) -> float:
    """utime + stime of a /proc stat file, in seconds (fields 14 and 15, after the parenthesised name)."""
    fields = stat_path.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def process_cpu(pid: int) -> float:
    return cpu_seconds(Path(f"/proc/{pid}/stat"))


def thread_cpu(pid: int) -> dict[int, tuple[str, float]]:
    """Each live thread of ``pid``: its name and CPU seconds so far."""
    out: dict[int, tuple[str, float]] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out[int(task.name)] = ((task / "comm").read_text().strip(), cpu_seconds(task / "stat"))
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended while we read
    return out


def group_of(name: str) -> str:
    return next((group for group, prefixes in GROUPS if name.startswith(prefixes)), "other")


def cpu_by_group(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds per thread group between two ``thread_cpu`` snapshots of the same process."""
    out = {group: 0.0 for group, _ in GROUPS} | {"other": 0.0}
    for tid, (name, seconds) in after.items():
        out[group_of(name)] += seconds - before.get(tid, (name, 0.0))[1]
    return {group: round(seconds, 2) for group, seconds in out.items()}


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (``VmHWM``), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM to a child started with ``start_new_session=True`` and its group; SIGKILL after 60 s. A child
    that has already ended (its start failed) is left as it is, so its own error is the one reported."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
