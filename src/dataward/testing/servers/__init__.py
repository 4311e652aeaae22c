"""Real servers from Debian's binaries on free loopback ports, one module per kind.

Every server is a context manager (``with PostgresServer(auth="scram") as pg: ...``), starts in its own temp
dir and process group, and is torn down by ``stop()`` (and by an atexit hook as a safety net).
"""

from dataward.testing.servers._base import BinaryMissing, LocalServer, ServerStartError, find_binary
from dataward.testing.servers.postgres import PostgresServer
from dataward.testing.servers.redis import RedisServer

__all__ = ["BinaryMissing", "LocalServer", "PostgresServer", "RedisServer", "ServerStartError", "find_binary"]
