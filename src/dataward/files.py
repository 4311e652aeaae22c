"""Writing a file whole or not at all: the one atomic writer (a temp file beside the target, then renamed)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from dataward.errors import DatawardError


def atomic_write(path: str | Path, data: str | bytes, *, mode: int | None = None, what: str = "") -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or the new one, never half of either.

    The new file is owner-only (0600) unless ``mode`` says otherwise. ``what`` names the file in errors
    ("the baseline file"). An OS error (a missing folder, ``/proc``, a full disk) is one sentence, and leaves
    nothing behind.
    """
    target = Path(path)
    name = f"{what} {target}".strip()
    if not target.parent.is_dir():
        raise DatawardError(f"the folder of {name} does not exist")
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode() if isinstance(data, str) else data)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise DatawardError(f"cannot write {name} ({exc.strerror or type(exc).__name__})") from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
