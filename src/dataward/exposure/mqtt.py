"""MQTT-specific rules: any client may subscribe to ``#`` (every topic) or read the ``$SYS`` tree.

The generic families cover ``mqtt.no-auth`` (anonymous CONNECT accepted), ``mqtt.default-credentials`` and
``mqtt.no-tls`` (no TLS listener). Facts come from stores/mqtt.py.
"""

from __future__ import annotations

from collections.abc import Iterator

from dataward.exposure._generic import contents_note, exposure_severity
from dataward.exposure.base import Contents, Hit, exposure_rule
from dataward.findings import Severity
from dataward.stores.base import ExposureFacts

_ACL_FIX = ("Set allow_anonymous false, and give each client an acl_file entry for its own topics only "
            "(no 'topic read #').")
_SYS_FIX = "Deny $SYS/# in the acl_file for ordinary users (or set sys_interval 0)."


def _who(facts: ExposureFacts) -> str | None:
    if facts.anonymous_access:
        return "an anonymous client"
    if facts.default_credentials:
        return f"a client logged in as {facts.default_credentials}"
    return None


def _short(facts: ExposureFacts) -> str:
    return "An anonymous client" if facts.anonymous_access else "A client with default credentials"


@exposure_rule(
    "mqtt.subscribe-all",
    stores=("mqtt",),
    summary="A client without credentials (or with default ones) may subscribe to '#' and read every topic.",
    remediation=_ACL_FIX,
)
def subscribe_all(facts: ExposureFacts, contents: Contents) -> Iterator[Hit]:
    who = _who(facts)
    if who is None or facts.details.get("subscribe_all") is not True:
        return
    d = facts.details
    seen = int(d.get("messages") or 0)
    severity = exposure_severity(contents) if seen else Severity.MEDIUM
    window = f"{d.get('messages', 0)} message(s) on {d.get('topics', 0)} topic(s) ({d.get('retained', 0)} retained) " \
        f"in {d.get('listen_s')} s"
    quiet = "" if seen else "; none arrived (an ACL may filter them, or the broker was quiet)"
    yield Hit(severity=severity, obj="#",
        title=f"{_short(facts)} can subscribe to every MQTT topic{contents_note(contents)}",
        evidence=f"SUBACK granted '#' to {who}; {window}{quiet}",
    )


@exposure_rule(
    "mqtt.sys-readable",
    stores=("mqtt",),
    summary="The broker's $SYS tree (version, clients, traffic) is readable without real credentials.",
    remediation=_SYS_FIX,
)
def sys_readable(facts: ExposureFacts, contents: Contents) -> Iterator[Hit]:
    who = _who(facts)
    if who is None or not facts.details.get("sys_readable"):
        return
    topics = int(facts.details.get("sys_topics") or 0)
    version = f"; broker says '{facts.version}'" if facts.version else ""
    yield Hit(severity=Severity.LOW, obj="$SYS/#",
        title="The MQTT broker's $SYS topics are readable without credentials",
        evidence=f"SUBACK granted '$SYS/#' to {who}; {topics} $SYS topic(s) seen{version}",
    )
