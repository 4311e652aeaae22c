"""dataward: keep customer data from leaking through a device company's side doors."""

from __future__ import annotations

__version__ = "0.1.0"
