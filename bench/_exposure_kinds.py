"""Extra configurations for bench/exposure.py: the Redis/MQTT/memcached postures the base list lacks, and the
Elasticsearch/OpenSearch and MongoDB REPLAY FIXTURES (tests/replay/, not real servers: labelled so in names).

Each entry is a plain dict with the fields of bench/exposure.py's ``Config`` (name, insecure, start, url,
script, detected), so the bench can do ``CONFIGS += [Config(**c) for c in EXTRA_CONFIGS]``. Every server
object has ``host``, ``port`` and ``stop()``. nmap has no Elasticsearch script; ``http-title`` stands in (it
never says whether the cluster is open). nmap's mongodb-databases speaks OP_QUERY, which MongoDB 6.0+ (and
the fixture) refuses, so it misses open 6.x/7.x servers: the gap the issue describes.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from dataward.testing.servers.memcached import MemcachedServer
from dataward.testing.servers.mosquitto import MosquittoServer
from dataward.testing.servers.redis import RedisServer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from replay.elasticsearch import ReplaySearchCluster
from replay.mongodb import ReplayMongo

_DOCS = {"users": [{"email": f"user{i}@example.com", "wifi_ssid": f"Home {i}"} for i in range(20)]}
_DBS = {"analytics": _DOCS}


def _mqtt_url(s: Any) -> str:
    return f"{s.url()}?tls_port=1"  # never let the TLS-listener check touch a standard port on this machine


def _mongo_seen(out: str) -> bool:
    return "databases" in out.lower() or "totalSize" in out


def _es_seen(out: str) -> bool:
    return False  # http-title reports a title, never whether the cluster is readable


EXTRA_CONFIGS: list[dict[str, Any]] = [
    {"name": "redis default password (foobared)", "insecure": True,
     "start": lambda: RedisServer(requirepass="foobared").start(), "url": lambda s: s.url(),
     "script": "redis-info", "detected": lambda out: "Version" in out},
    {"name": "redis all interfaces, protected-mode off", "insecure": True,
     "start": lambda: RedisServer(protected_mode=False, bind="0.0.0.0").start(), "url": lambda s: s.url(),
     "script": "redis-info", "detected": lambda out: "Version" in out},
    {"name": "mosquitto admin/admin", "insecure": True,
     "start": lambda: MosquittoServer(allow_anonymous=False, passwords={"admin": "admin"}).start(),
     "url": _mqtt_url, "script": "mqtt-subscribe",
     "detected": lambda out: "Topics and their most recent payloads" in out or "$SYS" in out},
    {"name": "mosquitto anonymous (tls_port set)", "insecure": True,
     "start": lambda: MosquittoServer(allow_anonymous=True).start(), "url": _mqtt_url, "script": "mqtt-subscribe",
     "detected": lambda out: "Topics and their most recent payloads" in out or "$SYS" in out},
    {"name": "memcached all interfaces", "insecure": True,
     "start": lambda: MemcachedServer(bind="0.0.0.0").start(), "url": lambda s: s.url(),
     "script": "memcached-info", "detected": lambda out: "Process ID" in out or "Uptime" in out},
    {"name": "mongodb 7 no auth (replay fixture)", "insecure": True,
     "start": lambda: ReplayMongo("mongo7-open", _DBS).start(), "url": lambda s: s.url,
     "script": "mongodb-databases", "detected": _mongo_seen},
    {"name": "mongodb 6 no auth (replay fixture)", "insecure": True,
     "start": lambda: ReplayMongo("mongo6-open", _DBS).start(), "url": lambda s: s.url,
     "script": "mongodb-databases", "detected": _mongo_seen},
    {"name": "mongodb 7 --auth (replay fixture)", "insecure": False,
     "start": lambda: ReplayMongo("mongo7-auth", _DBS).start(), "url": lambda s: s.url,
     "script": "mongodb-databases", "detected": _mongo_seen},
    {"name": "elasticsearch 8 security off (replay fixture)", "insecure": True,
     "start": lambda: ReplaySearchCluster("es8-open", _DOCS).start(), "url": lambda s: s.url,
     "script": "http-title", "detected": _es_seen},
    {"name": "opensearch 2 no security plugin (replay fixture)", "insecure": True,
     "start": lambda: ReplaySearchCluster("opensearch2", _DOCS).start(), "url": lambda s: s.url,
     "script": "http-title", "detected": _es_seen},
    {"name": "elasticsearch 8 security on (replay fixture)", "insecure": False,
     "start": lambda: ReplaySearchCluster("es8-secured", _DOCS, users={"elastic": "x-Zq8"}).start(),
     "url": lambda s: s.url, "script": "http-title", "detected": _es_seen},
]
