"""Control plane accounts: ``cp_users`` (Argon2id password hashes, roles) and ``cp_tokens`` (SHA-256 of API tokens).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cp_users",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("role", sa.Text, nullable=False), sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("disabled", sa.Integer, nullable=False), sa.Column("created_at", sa.Text, nullable=False),
    )
    op.create_table(
        "cp_tokens",
        sa.Column("token_hash", sa.Text, primary_key=True),
        sa.Column("user_name", sa.Text, nullable=False), sa.Column("created_at", sa.Text, nullable=False),
    )
    op.create_index("cp_tokens_user", "cp_tokens", ["user_name"])


def downgrade() -> None:
    raise NotImplementedError("dataward's state database only moves forward; restore a backup to go back")
