"""Data folders made once per test process and copied for every further server of the same kind.

``initdb`` and ``mariadb-install-db`` cost a few seconds each (mariadb-install-db bootstraps a whole server);
a test session starts dozens of servers. The first server of a kind runs the real tool; its fresh data
folder (before the daemon ever started) is kept as the template, and the next servers start from a copy
(``cp -a``: owner and modes kept, as the daemons check them). Everything that differs between servers
(port, sockets, settings, pg_hba, TLS files, accounts) is still written per server after the copy.
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

_lock = threading.Lock()
_templates: dict[str, tuple[Path, str]] = {}


def copy_template(kind: str, dest: Path) -> str | None:
    """Copy the kind's template data folder to ``dest`` and return what was kept with it; None if none yet."""
    with _lock:
        template = _templates.get(kind)
    if template is None or not template[0].exists():
        return None
    subprocess.run(["cp", "-a", str(template[0]), str(dest)], check=True, capture_output=True)
    return template[1]


def keep_template(kind: str, data_dir: Path, secret: str) -> None:
    """Keep a copy of a freshly made data folder (never started) as the kind's template, with the secret its
    admin account has (the copies have it too)."""
    with _lock:
        if kind in _templates:
            return
        root = Path(tempfile.mkdtemp(prefix=f"dw-template-{kind}-"))
        atexit.register(shutil.rmtree, root, True)
        subprocess.run(["cp", "-a", str(data_dir), str(root / "data")], check=True, capture_output=True)
        _templates[kind] = (root / "data", secret)
