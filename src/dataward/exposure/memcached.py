"""memcached-specific rules: every key can be dumped without credentials; UDP listener open.

The generic families cover ``memcached.no-auth`` (``stats`` answered without authentication),
``memcached.public-bind`` (no ``-l``) and ``memcached.no-tls``. Facts come from stores/memcached.py.
"""

from __future__ import annotations

from collections.abc import Iterator

from dataward.exposure._generic import contents_note, exposure_severity
from dataward.exposure.base import Contents, Hit, exposure_rule
from dataward.findings import Severity
from dataward.stores.base import ExposureFacts

_DUMP_FIX = ("Enable authentication (-Y authfile or SASL -S), bind to loopback (-l 127.0.0.1), and disable the "
             "crawler dump (-o no_lru_crawler) where nothing needs it.")
_UDP_FIX = "Start memcached with -U 0 (UDP off); UDP memcached is a DDoS amplifier (CVE-2018-1000115)."


@exposure_rule(
    "memcached.key-dump",
    stores=("memcached",),
    summary="Every key can be listed (lru_crawler metadump / stats cachedump) and read without credentials.",
    remediation=_DUMP_FIX,
)
def key_dump(facts: ExposureFacts, contents: Contents) -> Iterator[Hit]:
    method = facts.details.get("key_dump")
    if not method or not facts.anonymous_access:
        return
    command = "lru_crawler metadump all" if method == "metadump" else "stats cachedump"
    items = f"; about {facts.records:,} items" if facts.records else ""
    yield Hit(severity=exposure_severity(contents),
        title=f"memcached lets anyone list and read every key{contents_note(contents)}",
        evidence=f"'{command}' answered without authentication, then 'get' reads each value{items}",
    )


@exposure_rule(
    "memcached.udp-enabled",
    stores=("memcached",),
    summary="memcached listens on UDP without authentication (amplification attacks).",
    remediation=_UDP_FIX,
)
def udp_enabled(facts: ExposureFacts, contents: Contents) -> Iterator[Hit]:
    port = int(facts.details.get("udp_port") or 0)
    if not port or not facts.anonymous_access:
        return
    yield Hit(severity=Severity.MEDIUM,
        title="memcached listens on UDP without authentication",
        evidence=f"stats settings: udpport {port}",
    )
