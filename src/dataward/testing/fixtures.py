"""pytest fixtures for the real test servers (filled in by the foundation issue)."""
