"""Alembic's entry point: run the migrations on the connection that :func:`dataward.state.upgrade` passes in.

There is no alembic.ini and no logging set-up here: dataward calls Alembic as a library, inside its own
transaction, so that a migration and its version stamp commit together or not at all.
"""

from __future__ import annotations

from alembic import context

from dataward.state.migrate import VERSION_TABLE
from dataward.state.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("dataward's migrations run through dataward.state.upgrade(), not the alembic command")

context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=True,  # SQLite cannot ALTER most things: Alembic copies the table instead
    transaction_per_migration=False,
)
with context.begin_transaction():
    context.run_migrations()
