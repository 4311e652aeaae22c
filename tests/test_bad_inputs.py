"""The bad-input catalogue (tests/bad_inputs/catalogue.toml): every error a user can cause, through the real CLI.

Each row must exit 2 with one ``error: …`` line on stderr (a ``  Tip: …`` line may follow), print no traceback,
echo none of the row's secrets, and leave nothing written in the row's folder.

Every row runs as a real ``python -m dataward`` process. Most are forked from a helper that has imported the CLI
once (``dataward.testing.cliproc``: a second of CPU saved per run); every ``COLD_EVERY``-th row, and its setup,
starts a fresh interpreter as a user's shell would.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from dataward.testing.cliproc import PreloadedCli

CATALOGUE = Path(__file__).parent / "bad_inputs" / "catalogue.toml"
CASES: list[dict[str, Any]] = tomllib.loads(CATALOGUE.read_text())["case"]


COLD_EVERY = 8


def _dataward(
    *args: str, cli: PreloadedCli | None, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """``python -m dataward ARGS``: forked from ``cli`` when given, else a fresh interpreter."""
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    if cli is not None:
        return cli.run(args, env=full_env, cwd=cwd, timeout=120)
    return subprocess.run([sys.executable, "-m", "dataward", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=120)


@pytest.fixture(scope="module")
def busy_port() -> Iterator[str]:
    """A loopback port something already listens on."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield str(sock.getsockname()[1])


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory, dataward_cli: PreloadedCli) -> dict[str, str]:
    """A small reference device cloud, a copy plan for it and a raw 32-byte key (read-only for the rows)."""
    folder = tmp_path_factory.mktemp("bad-inputs-cloud")
    db = folder / "cloud.duckdb"
    done = _dataward("generate", "--users", "30", "--seed", "3", "--out", f"duckdb://{db}", cli=dataward_cli)
    assert done.returncode == 0, done.stderr
    plan = folder / "plan.toml"
    done = _dataward("copy", "plan", "--from", f"duckdb://{db}", "-o", str(plan), cli=dataward_cli)
    assert done.returncode == 0, done.stderr
    key = folder / "key.bin"
    key.write_bytes(os.urandom(32))
    return {"cloud": str(db), "plan": str(plan), "key": str(key)}


def _fill(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


def _make_files(folder: Path, files: dict[str, Any], values: dict[str, str]) -> None:
    for name, spec in files.items():
        path = folder / name
        if isinstance(spec, str):
            path.write_text(_fill(spec, values))
        elif spec.get("dir"):
            path.mkdir()
        else:
            path.write_bytes(bytes.fromhex(spec["hex"]))


def _edit_plan(path: Path, edit: dict[str, Any]) -> None:
    """Set one column's plan entry (e.g. a generalisation that does not fit its type)."""
    plan = tomllib.loads(path.read_text())
    plan["tables"][edit["table"]]["columns"][edit["column"]] = dict(edit["set"])
    path.write_text(tomli_w.dumps(plan))


def _listing(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): (p.stat().st_size if p.is_file() else -1) for p in folder.rglob("*")}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_bad_input_is_one_sentence_and_exit_2(
    case: dict[str, Any], cloud: dict[str, str], busy_port: str, tmp_path: Path, dataward_cli: PreloadedCli
) -> None:
    cli = None if CASES.index(case) % COLD_EVERY == 0 else dataward_cli
    values = {**cloud, "tmp": str(tmp_path), "busy_port": busy_port}
    _make_files(tmp_path, case.get("files", {}), values)
    env = {k: _fill(v, values) for k, v in case.get("env", {}).items()}
    for step in case.get("setup", []):
        done = _dataward(*[_fill(a, values) for a in step], cli=cli, env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    if "edit" in case:
        _edit_plan(tmp_path / case["edit"]["file"], case["edit"])
    before = _listing(tmp_path)

    done = _dataward(*[_fill(a, values) for a in case["args"]], cli=cli, env=env, cwd=tmp_path)

    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    assert done.returncode == case.get("exit", 2), output
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    others = [line for line in lines if not line.startswith(("error: ", "  Tip: "))]
    assert len(errors) == 1 and not others, done.stderr
    assert case["expect"].lower() in errors[0].lower(), done.stderr
    for secret in case.get("secrets", []):
        assert secret not in output, f"{secret!r} echoed: {output}"
    assert _listing(tmp_path) == before, "the failed command left files behind"


@pytest.mark.parametrize("args", [["--debug", "scan", "postgres1://127.0.0.1/db"], ["--version"]])
def test_a_forked_run_is_a_cold_run(args: list[str], dataward_cli: PreloadedCli, tmp_path: Path) -> None:
    """The preloaded helper's child gives what a fresh interpreter gives: exit code, stdout, the traceback."""
    cold = _dataward(*args, cli=None, cwd=tmp_path)
    forked = _dataward(*args, cli=dataward_cli, cwd=tmp_path)
    assert forked.returncode == cold.returncode
    assert forked.stdout == cold.stdout
    if cold.returncode == 1:
        assert cold.stderr.startswith("Traceback") and forked.stderr.startswith("Traceback")
    assert forked.stderr.splitlines()[-1:] == cold.stderr.splitlines()[-1:]


def test_the_shell_shim_is_the_console_script(dataward_cli: PreloadedCli, tmp_path: Path) -> None:
    """test_docs' ``dataward`` on PATH: the shell's stdin reaches the CLI, its status reaches the shell."""
    script = 'printf "[[store]\\n" | dataward scan --config /dev/stdin; echo "exit=$?"'
    real = Path(sys.executable).parent
    runs = {}
    for name, folder in (("shim", dataward_cli.bin_dir()), ("script", real)):
        env = {**os.environ, "COLUMNS": "200", "PATH": f"{folder}{os.pathsep}{real}{os.pathsep}{os.environ['PATH']}"}
        runs[name] = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path,
                                    timeout=120)  # fmt: skip
    assert runs["shim"].stdout == runs["script"].stdout == "exit=2\n"
    assert runs["shim"].stderr == runs["script"].stderr and runs["shim"].stderr.startswith("error: ")
