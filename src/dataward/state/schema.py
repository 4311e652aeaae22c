"""The tables of dataward's own state, as SQLAlchemy Core metadata (the live shape; migrations freeze history).

One metadata for every feature, so a state database holds the watcher's and the incident job's tables alike
and the control plane can keep them in one file. Timestamps are ISO 8601 text in UTC (``...Z``), the form the
features already compare and print; JSON documents are text. Nothing here ever holds a raw customer value.

Changing a table here needs a migration in ``migrations/versions`` (see docs/design.md, "State database");
``tests/test_state.py`` fails while the two disagree.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()


def serial_id() -> Column[int]:
    """An auto-increment id: BIGSERIAL in PostgreSQL, INTEGER PRIMARY KEY AUTOINCREMENT in SQLite."""
    return Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)


# ---- watch: what the last probes showed, exposure windows, state changes, the alert outbox ----------------
stores = Table(
    "stores", metadata,
    Column("store", Text, primary_key=True),
    Column("target", Text), Column("kind", Text), Column("reachable", Integer),
    Column("failures", Integer, nullable=False), Column("unreachable_alerted", Integer, nullable=False),
    Column("last_probe", Text), Column("last_ok", Text), Column("last_full", Text), Column("last_secure", Text),
    Column("contents", Text), Column("fast_ids", Text), Column("extra", Text),
)

windows = Table(
    "windows", metadata,
    serial_id(),
    Column("store", Text, nullable=False), Column("finding", Text, nullable=False),
    Column("rule", Text), Column("severity", Integer), Column("title", Text), Column("target", Text),
    Column("categories", Text), Column("last_secure", Text), Column("opened", Text, nullable=False),
    Column("last_seen", Text), Column("closed", Text),
    Index("windows_open", "store", "closed"),
    Index("windows_by_state", "closed", "store", "severity", "opened"),  # the control plane's counts (0006)
    sqlite_autoincrement=True,
)

events = Table(
    "events", metadata,
    serial_id(),
    Column("at", Text, nullable=False), Column("store", Text, nullable=False), Column("event", Text, nullable=False),
    Column("finding", Text), Column("severity", Integer), Column("detail", Text),
    sqlite_autoincrement=True,
)

alerts = Table(
    "alerts", metadata,
    serial_id(),
    Column("key", Text, nullable=False), Column("sink", Text, nullable=False), Column("event", Text, nullable=False),
    Column("store", Text, nullable=False), Column("payload", Text, nullable=False),
    Column("status", Text, nullable=False), Column("attempts", Integer, nullable=False),
    Column("next_attempt", Text), Column("last_error", Text), Column("created", Text, nullable=False),
    Column("sent_at", Text),
    UniqueConstraint("key", "sink"),
    Index("alerts_due", "status", "next_attempt"),
    sqlite_autoincrement=True,
)

# ---- incident: incidents, their artifacts, the respond ledger and the notify (send) ledger -------------------
incidents = Table(
    "incidents", metadata,
    Column("name", Text, primary_key=True),
    Column("store", Text, nullable=False), Column("window_from", Text, nullable=False),
    Column("window_to", Text, nullable=False), Column("window_source", Text, nullable=False),
    Column("aware_at", Text, nullable=False), Column("finding", Text), Column("opened_at", Text, nullable=False),
    Column("source", Text), Column("secret", Text, nullable=False),
)

artifacts = Table(
    "artifacts", metadata,
    Column("incident", Text, primary_key=True), Column("name", Text, primary_key=True),
    Column("content", LargeBinary, nullable=False), Column("created_at", Text, nullable=False),
)

ledger = Table(
    "ledger", metadata,
    Column("incident", Text, primary_key=True), Column("step", Text, primary_key=True),
    Column("unit", Text, primary_key=True),
    Column("state", Text, nullable=False), Column("detail", Text), Column("updated_at", Text, nullable=False),
)

sends = Table(
    "sends", metadata,
    Column("incident", Text, primary_key=True), Column("user_id", BigInteger, primary_key=True, autoincrement=False),
    Column("state", Text, nullable=False), Column("message_id", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
)

# ---- control plane (dataward serve): accounts and API tokens; only hashes, never a password or a token ----------
cp_users = Table(
    "cp_users", metadata,
    Column("name", Text, primary_key=True),
    Column("role", Text, nullable=False), Column("password_hash", Text, nullable=False),
    Column("disabled", Integer, nullable=False), Column("created_at", Text, nullable=False),
    # 1: a one-time password (the demo's, one an admin set): changed at the first login before anything else (0007)
    Column("must_change", Integer, nullable=False, server_default=text("0")),
    Column("password_changed_at", Text),  # when its owner last chose the password (0007)
)

cp_tokens = Table(
    "cp_tokens", metadata,
    Column("token_hash", Text, primary_key=True),  # SHA-256 (hex) of the token shown once
    Column("user_name", Text, nullable=False), Column("created_at", Text, nullable=False),
    Index("cp_tokens_user", "user_name"),
)

# ---- control plane: the audit log of every change made through the API or the pages (append-only) -------------
cp_audit = Table(
    "cp_audit", metadata,
    serial_id(),
    Column("at", Text, nullable=False), Column("user_name", Text, nullable=False),
    Column("action", Text, nullable=False),  # "finding.suppress", "incident.open", ...
    Column("subject", Text, nullable=False),  # what it was done to: a finding id, an incident name
    Column("detail", Text, nullable=False),  # JSON: the request's fields (a reason, a window), never a raw value
    sqlite_autoincrement=True,
)

# ---- control plane: browser sessions (only the SHA-256 of a session id) and the server's own settings ---------
cp_sessions = Table(
    "cp_sessions", metadata,
    Column("id_hash", Text, primary_key=True),  # SHA-256 (hex) of the random id inside the signed cookie
    Column("user_name", Text, nullable=False), Column("csrf", Text, nullable=False),
    Column("created_at", Text, nullable=False), Column("last_seen", Text, nullable=False),
    Index("cp_sessions_user", "user_name"),
)

cp_settings = Table(
    "cp_settings", metadata,
    Column("key", Text, primary_key=True),  # "cookie_secret": the key that signs session cookies
    Column("value", Text, nullable=False),
)

# ---- control plane: the incident steps run as background jobs (their latest state survives a restart) -----------
cp_jobs = Table(
    "cp_jobs", metadata,
    serial_id(),
    Column("incident", Text, nullable=False), Column("step", Text, nullable=False),  # "respond", "notify", ...
    Column("user_name", Text, nullable=False), Column("state", Text, nullable=False),  # running, done, failed, ...
    Column("started_at", Text, nullable=False), Column("finished_at", Text),
    Column("options", Text, nullable=False),  # JSON: the request's options (dry_run, limit, ...)
    Column("result", Text),  # JSON: the library's counts, never a customer value (dataward.serve.jobs)
    Column("summary", Text), Column("error", Text), Column("tip", Text),  # sentences, as the page shows them
    Index("cp_jobs_latest", "incident", "step", "id"),
    sqlite_autoincrement=True,
)
