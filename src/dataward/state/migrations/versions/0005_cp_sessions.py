"""Control plane sessions: ``cp_sessions`` (SHA-256 of each browser session id, its CSRF token, idle clock) and
``cp_settings`` (the key that signs session cookies).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cp_sessions",
        sa.Column("id_hash", sa.Text, primary_key=True),
        sa.Column("user_name", sa.Text, nullable=False), sa.Column("csrf", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False), sa.Column("last_seen", sa.Text, nullable=False),
    )
    op.create_index("cp_sessions_user", "cp_sessions", ["user_name"])
    op.create_table(
        "cp_settings",
        sa.Column("key", sa.Text, primary_key=True), sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("dataward's state database only moves forward; restore a backup to go back")
