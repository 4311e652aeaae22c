"""Account flags the response sets and the device-cloud API honours: forced logout, password reset, relink.

They live in one side table of the production database, ``dataward_account_flags``, created on first use,
so the response never alters the production tables' schema.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dataward.incident.db import SqlDb

FLAGS_TABLE = "dataward_account_flags"
_DDL = (
    "CREATE TABLE IF NOT EXISTS dataward_account_flags (user_id BIGINT PRIMARY KEY, force_logout_at TEXT,"
    " password_reset_required INTEGER NOT NULL DEFAULT 0, relink_providers TEXT NOT NULL DEFAULT '')"
)


def ensure_flags(db: SqlDb) -> None:
    db.execute(_DDL)


def utc_now_naive() -> datetime:
    """Now in UTC without a zone: how the reference cloud stores every timestamp in every output kind."""
    return datetime.now(UTC).replace(tzinfo=None)


def as_datetime(value: Any) -> datetime | None:
    """A timestamp as the token store returns it (datetime, ISO text or epoch seconds), in UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value / 1_000_000 if value > 10**11 else value, UTC)
    text = str(value).replace("Z", "+00:00")
    moment = datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def flags_for(db: SqlDb, user_id: int) -> dict[str, Any]:
    """The flags of one user (defaults when the user has none or the table does not exist yet)."""
    if not db.table_exists(FLAGS_TABLE):
        return {"force_logout_at": None, "password_reset_required": False, "relink_providers": []}
    rows = db.query(
        "SELECT force_logout_at, password_reset_required, relink_providers FROM dataward_account_flags"
        " WHERE user_id = ?",
        (user_id,),
    )
    if not rows:
        return {"force_logout_at": None, "password_reset_required": False, "relink_providers": []}
    at, reset, relink = rows[0]
    return {
        "force_logout_at": as_datetime(at),
        "password_reset_required": bool(reset),
        "relink_providers": [p for p in str(relink or "").split(",") if p],
    }
