"""The docs keep up with the code: every command and option is in docs/cli.md, and runnable examples run.

Runnable examples are fenced blocks whose info string is ``bash runs`` (optionally ``exit=N`` when the
block's last command is expected to exit N, e.g. a scan that finds something). Each docs file's blocks run
in order, in one fresh temporary folder, with ``.venv/bin`` first on PATH; other ``bash`` blocks are
illustrations (they need servers or credentials) and are not run. ``dataward`` in a block is a shim
(``dataward.testing.cliproc``) that forks the CLI from a helper that has imported it once: the same process
behaviour for the shell (stdio, exit status, signals), a second of CPU less per command.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from dataward.cli import cli
from dataward.testing.cliproc import PreloadedCli

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
FENCE = re.compile(r"^```bash runs(?P<opts>[^\n]*)\n(?P<body>.*?)^```", re.M | re.S)


def walk(command: click.Command, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], click.Command]]:
    out = [(path, command)]
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in sorted(command.list_commands(ctx)):
            sub = command.get_command(ctx, name)
            assert sub is not None
            out.extend(walk(sub, (*path, name)))
    return out


COMMANDS = walk(cli, ("dataward",))


def cli_sections() -> dict[str, str]:
    """docs/cli.md split into '## `dataward x y`' sections."""
    text = (DOCS / "cli.md").read_text()
    parts = re.split(r"^## `([^`]+)`\s*$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


@pytest.mark.parametrize("path, command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_command_and_options_documented(path: tuple[str, ...], command: click.Command) -> None:
    sections = cli_sections()
    name = " ".join(path)
    assert name in sections, f"docs/cli.md has no section for `{name}`: run scripts/gen-cli-docs.py"
    section = sections[name]
    missing = [
        opt
        for param in command.params
        if isinstance(param, click.Option) and not param.hidden
        for opt in param.opts
        if opt.startswith("--") and opt not in section
    ]
    assert not missing, f"`{name}` options missing from docs/cli.md: {missing} (run scripts/gen-cli-docs.py)"


def test_every_command_has_help_with_an_example() -> None:
    lacking = [
        " ".join(p) for p, c in COMMANDS
        if len(p) > 1 and not isinstance(c, click.Group) and "dataward " not in (c.help or "")
    ]
    assert not lacking, f"commands whose --help has no example: {lacking}"


def runnable_blocks() -> list[tuple[str, int, str, int]]:
    out = []
    for doc in sorted(DOCS.glob("*.md")):
        for i, m in enumerate(FENCE.finditer(doc.read_text())):
            exit_opt = re.search(r"exit=(\d+)", m.group("opts"))
            out.append((doc.name, i, m.group("body"), int(exit_opt.group(1)) if exit_opt else 0))
    return out


BLOCKS = runnable_blocks()


@pytest.fixture(scope="module")
def workdirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {}


@pytest.mark.parametrize("doc, index, body, expected", BLOCKS, ids=[f"{d}#{i}" for d, i, _, _ in BLOCKS])
def test_runnable_example(
    doc: str, index: int, body: str, expected: int, workdirs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory,
    dataward_cli: PreloadedCli,
) -> None:
    cwd = workdirs.setdefault(doc, tmp_path_factory.mktemp(doc.replace(".", "_")))
    env = dict(os.environ)
    # `dataward` is the console script's behaviour, forked from a helper that imported the CLI once
    env["PATH"] = os.pathsep.join([str(dataward_cli.bin_dir()), str(Path(sys.executable).parent), env.get("PATH", "")])
    env["DATAWARD_DOCS_TEST"] = "1"
    env["DATAWARD_REPO"] = str(ROOT)
    proc = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", body], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == expected, (
        f"{doc} runnable block {index} exited {proc.returncode}, expected {expected}\n"
        f"--- block ---\n{body}\n--- stderr ---\n{proc.stderr[-3000:]}\n--- stdout ---\n{proc.stdout[-2000:]}"
    )
