"""One-time passwords: ``cp_users.must_change`` (1 until the user chooses their own password at the first
login) and ``cp_users.password_changed_at`` (when they last did). Existing accounts keep working (0).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cp_users", sa.Column("must_change", sa.Integer, nullable=False, server_default=sa.text("0")))
    op.add_column("cp_users", sa.Column("password_changed_at", sa.Text, nullable=True))


def downgrade() -> None:
    raise NotImplementedError("dataward's state database only moves forward; restore a backup to go back")
