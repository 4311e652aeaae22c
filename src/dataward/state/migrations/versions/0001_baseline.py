"""Baseline: the tables dataward created before it versioned its state (watch state and the incident database).

A database made by that earlier code already has some of these tables (the watcher's or the incident job's):
they are kept as they are, with their rows, and only the missing tables and indexes are created. A new database
gets all of them. The shapes are frozen here on purpose; later changes are later migrations.

Revision ID: 0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _serial() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True)


def _text(*names: str, nullable: bool = True) -> list[sa.Column[str]]:
    return [sa.Column(name, sa.Text, nullable=nullable) for name in names]


def _tables() -> list[sa.Table]:
    m = sa.MetaData()
    return [
        sa.Table("meta", m, sa.Column("key", sa.Text, primary_key=True), sa.Column("value", sa.Text)),
        sa.Table(
            "stores", m, sa.Column("store", sa.Text, primary_key=True), *_text("target", "kind"),
            sa.Column("reachable", sa.Integer), sa.Column("failures", sa.Integer, nullable=False),
            sa.Column("unreachable_alerted", sa.Integer, nullable=False),
            *_text("last_probe", "last_ok", "last_full", "last_secure", "contents", "fast_ids", "extra"),
        ),
        sa.Table(
            "windows", m, _serial(), *_text("store", "finding", nullable=False), sa.Column("rule", sa.Text),
            sa.Column("severity", sa.Integer), *_text("title", "target", "categories", "last_secure"),
            sa.Column("opened", sa.Text, nullable=False), *_text("last_seen", "closed"),
            sa.Index("windows_open", "store", "closed"), sqlite_autoincrement=True,
        ),
        sa.Table(
            "events", m, _serial(), *_text("at", "store", "event", nullable=False), sa.Column("finding", sa.Text),
            sa.Column("severity", sa.Integer), sa.Column("detail", sa.Text), sqlite_autoincrement=True,
        ),
        sa.Table(
            "alerts", m, _serial(), *_text("key", "sink", "event", "store", "payload", "status", nullable=False),
            sa.Column("attempts", sa.Integer, nullable=False), *_text("next_attempt", "last_error"),
            sa.Column("created", sa.Text, nullable=False), sa.Column("sent_at", sa.Text),
            sa.UniqueConstraint("key", "sink"), sa.Index("alerts_due", "status", "next_attempt"),
            sqlite_autoincrement=True,
        ),
        sa.Table(
            "incidents", m, sa.Column("name", sa.Text, primary_key=True),
            *_text("store", "window_from", "window_to", "window_source", "aware_at", nullable=False),
            sa.Column("finding", sa.Text), sa.Column("opened_at", sa.Text, nullable=False),
            sa.Column("source", sa.Text), sa.Column("secret", sa.Text, nullable=False),
        ),
        sa.Table(
            "artifacts", m, sa.Column("incident", sa.Text, primary_key=True), sa.Column("name", sa.Text, primary_key=True),
            sa.Column("content", sa.LargeBinary, nullable=False), sa.Column("created_at", sa.Text, nullable=False),
        ),
        sa.Table(
            "ledger", m, *(sa.Column(n, sa.Text, primary_key=True) for n in ("incident", "step", "unit")),
            sa.Column("state", sa.Text, nullable=False), sa.Column("detail", sa.Text),
            sa.Column("updated_at", sa.Text, nullable=False),
        ),
        sa.Table(
            "sends", m, sa.Column("incident", sa.Text, primary_key=True),
            sa.Column("user_id", sa.BigInteger, primary_key=True, autoincrement=False),
            *_text("state", "message_id", "updated_at", nullable=False),
        ),
    ]


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    existing = set(inspector.get_table_names())
    for table in _tables():
        if table.name not in existing:
            table.create(bind)  # with its indexes
            continue
        have = {ix["name"] for ix in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in have:
                index.create(bind)


def downgrade() -> None:
    raise NotImplementedError("dataward's state database only moves forward; restore a backup to go back")
