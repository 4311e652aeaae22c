"""Real servers started on loopback for a while: what the demo needs to stand up the seed case's stores.

Each server is a Debian binary in its own process group on a free loopback port (``ports``), with bounded
start-up and teardown (``base``) and, when asked, a self-signed certificate (``tls``). The demo starts
PostgreSQL from here (``postgres``); ``dataward.testing.servers`` builds the tests' other servers (MariaDB,
Redis, Mosquitto, memcached, moto's S3) on the same base. Nothing here listens beyond 127.0.0.1.
"""
