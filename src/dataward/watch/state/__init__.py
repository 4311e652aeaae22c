"""Where the watcher keeps its state and history: SQLite (default, a file) or PostgreSQL (a URL)."""

from __future__ import annotations

from dataward.watch.state.base import OutboxRow, StateDB


def open_state(location: str) -> StateDB:
    """A path or ``sqlite:///path`` opens SQLite; ``postgresql://`` (or ``postgres://``) opens PostgreSQL."""
    if location.startswith(("postgresql://", "postgres://")):
        from dataward.watch.state.postgresql import PostgresState

        return PostgresState(location)
    from dataward.watch.state.sqlite import SQLiteState

    return SQLiteState(location)


__all__ = ["OutboxRow", "StateDB", "open_state"]
