"""Arrow table IO by URL scheme (see base.py and docs/tables.md)."""

from dataward.tables.base import (
    DEFAULT_BATCH_SIZE,
    TABLES,
    TableStore,
    open_tables,
    quote_ident,
    quote_idents,
    register_tables,
)

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "TABLES",
    "TableStore",
    "open_tables",
    "quote_ident",
    "quote_idents",
    "register_tables",
]
