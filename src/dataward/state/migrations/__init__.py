"""Alembic migrations of dataward's state database (applied by :func:`dataward.state.upgrade`)."""
