"""Shared pytest setup: the real-server fixtures live in dataward.testing.fixtures (session-scoped)."""

pytest_plugins = ["dataward.testing.fixtures"]
