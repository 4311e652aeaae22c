"""The import contracts of pyproject.toml hold (layers, leaves, acyclic, private), as `make test` checks them.

docs/design.md ("Layers") explains them; a failure here prints import-linter's report, which names the import
that broke a contract.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300, check=False)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def test_demo_runs_as_a_module_without_the_test_helpers() -> None:
    """`python -m dataward.demo --help` works, and running the demo module does not load dataward.testing."""
    code = (
        "import sys, runpy; sys.argv = ['x', '--help']\n"
        "try:\n    runpy.run_module('dataward.demo', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "assert not [m for m in sys.modules if m.startswith('dataward.testing')], 'demo imported dataward.testing'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "python -m dataward.demo" in result.stdout
