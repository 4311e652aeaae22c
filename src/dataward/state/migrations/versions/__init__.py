"""One module per schema version, oldest first (``NNNN_what.py``); Alembic orders them by ``down_revision``."""
