"""Real servers from Debian's binaries on free loopback ports, one module per kind.

Every server is a context manager (``with PostgresServer(auth="scram") as pg: ...``), starts in its own temp
dir and process group, and is torn down by ``stop()`` (and by an atexit hook as a safety net). PostgreSQL and
MariaDB data folders are copied from one made per test process (``templates``): initdb and mariadb-install-db
run once, not once per server.
"""

from dataward.localservers.base import BinaryMissing, LocalServer, ServerStartError, find_binary
from dataward.testing.servers.mariadb import MariaDBServer
from dataward.testing.servers.memcached import MemcachedServer
from dataward.testing.servers.mosquitto import MosquittoServer
from dataward.testing.servers.postgres import PostgresServer
from dataward.testing.servers.redis import RedisServer
from dataward.testing.servers.s3 import S3Server

__all__ = [
    "BinaryMissing",
    "LocalServer",
    "MariaDBServer",
    "MemcachedServer",
    "MosquittoServer",
    "PostgresServer",
    "RedisServer",
    "S3Server",
    "ServerStartError",
    "find_binary",
]
