"""Control plane jobs: ``cp_jobs``, one row per incident step run as a background job of ``dataward serve``
(who started it, when, how it ended, its counts), so the incident page shows the last job of each step after a
restart.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cp_jobs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("incident", sa.Text, nullable=False), sa.Column("step", sa.Text, nullable=False),
        sa.Column("user_name", sa.Text, nullable=False), sa.Column("state", sa.Text, nullable=False),
        sa.Column("started_at", sa.Text, nullable=False), sa.Column("finished_at", sa.Text),
        sa.Column("options", sa.Text, nullable=False), sa.Column("result", sa.Text),
        sa.Column("summary", sa.Text), sa.Column("error", sa.Text), sa.Column("tip", sa.Text),
        sqlite_autoincrement=True,
    )
    op.create_index("cp_jobs_latest", "cp_jobs", ["incident", "step", "id"])


def downgrade() -> None:
    raise NotImplementedError("dataward's state database only moves forward; restore a backup to go back")
