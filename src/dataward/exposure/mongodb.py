"""MongoDB-specific rule: ``listDatabases`` answers without authentication (mongod without --auth).

This is the check older scanners get wrong on 6.x+ (they send OP_QUERY, which 6.0 dropped); the probe uses
OP_MSG. The generic families add ``mongodb.no-auth``, ``mongodb.public-bind`` (``--bind_ip_all``) and
``mongodb.no-tls``. Facts come from stores/mongodb.py, tested against a wire-level replay fixture.
"""

from __future__ import annotations

from collections.abc import Iterator

from dataward.exposure._generic import contents_note, exposure_severity
from dataward.exposure.base import Contents, Hit, exposure_rule
from dataward.stores.base import ExposureFacts

_AUTH_FIX = "Start mongod with --auth (security.authorization: enabled), create users, and bind a private address."


@exposure_rule(
    "mongodb.list-databases-unauth",
    stores=("mongodb",),
    summary="MongoDB lists its databases (and serves their documents) without authentication.",
    remediation=_AUTH_FIX,
)
def list_databases_unauth(facts: ExposureFacts, contents: Contents) -> Iterator[Hit]:
    if facts.details.get("list_databases") != "ok":
        return
    user_dbs = [d for d in facts.listable if d not in ("admin", "local", "config")]
    shown = ", ".join(user_dbs[:5]) + (", ..." if len(user_dbs) > 5 else "")
    colls = facts.details.get("collections")
    docs = f"; {colls} collection(s), about {facts.records:,} documents" if facts.records is not None else ""
    yield Hit(severity=exposure_severity(contents),
        title=f"MongoDB lists its databases without authentication{contents_note(contents)}",
        evidence=f"OP_MSG listDatabases answered ok without credentials: {len(facts.listable)} database(s)"
        f"{f' ({shown})' if shown else ''}{docs}",
    )
