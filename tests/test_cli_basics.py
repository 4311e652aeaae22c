import subprocess
import sys

from click.testing import CliRunner

from dataward import __version__
from dataward.cli import cli


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_python_dash_m() -> None:
    out = subprocess.run([sys.executable, "-m", "dataward", "--help"], capture_output=True, text=True, check=True)
    assert "Usage" in out.stdout


def test_unknown_command_is_usage_error() -> None:
    result = CliRunner().invoke(cli, ["scna"])
    assert result.exit_code == 2
