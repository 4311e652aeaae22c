"""MongoDB over its wire protocol: ``hello``, ``buildInfo``, ``listDatabases`` and ``getCmdLineOpts`` without auth.

The probe speaks OP_MSG (opcode 2013, https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/)
with BSON from ``bson`` (shipped with pymongo), so it works for MongoDB 3.6 up to 6.x and 7.x, which dropped
the legacy OP_QUERY that older scanners still send. Unauthenticated servers answer ``listDatabases``;
servers started with ``--auth`` answer ``code 13 Unauthorized``. Only read commands are sent: hello,
buildInfo, listDatabases, getCmdLineOpts, listCollections, count and (sampling) find with singleBatch.
Probing with the URL's own credentials (SCRAM) goes through pymongo. Tested against a local wire-level replay
fixture (tests/replay/mongodb.py), not a real mongod: MongoDB is not installed on the test machines.

``details`` keys (docs/exposure.md): ``max_wire_version``, ``databases``, ``collections``,
``list_databases`` (``ok`` | ``unauthorized`` | None), ``authorization`` (from getCmdLineOpts),
``bind_ip``, ``tls_mode``, ``is_primary``, ``set_name``.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import bson

from dataward.errors import TargetError
from dataward.stores._docs import columns_from_records, flatten
from dataward.stores._net import (
    ProtocolError,
    answered_otherwise,
    connect,
    describe_error,
    endpoint,
    unreachable,
)
from dataward.stores.base import Budget, ExposureFacts, SampledObject, register_store
from dataward.targets import Target

OP_MSG = 2013
_SYSTEM_DBS = ("admin", "local", "config")


class WireConnection:
    """One socket; ``command`` sends an OP_MSG body section and returns the reply document."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._request_id = int.from_bytes(os.urandom(3), "big")

    def command(self, db: str, cmd: dict[str, Any]) -> dict[str, Any]:
        self._request_id += 1
        body = struct.pack("<I", 0) + b"\x00" + bson.encode({**cmd, "$db": db})
        header = struct.pack("<iiii", 16 + len(body), self._request_id, 0, OP_MSG)
        self._sock.sendall(header + body)
        return self._reply()

    def _reply(self) -> dict[str, Any]:
        length, _, _, opcode = struct.unpack("<iiii", self._exact(16))
        if opcode != OP_MSG or not 21 <= length <= 48_000_000:
            raise ProtocolError("the server does not speak the MongoDB wire protocol")
        payload = self._exact(length - 16)
        if payload[4] != 0:
            raise ProtocolError("unexpected OP_MSG section kind")
        doc: dict[str, Any] = bson.decode(payload[5:])
        return doc

    def _exact(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = self._sock.recv(n - len(buf))
            if not chunk:
                raise ProtocolError("the server closed the connection (not MongoDB, or OP_MSG refused)")
            buf.extend(chunk)
        return bytes(buf)

    def close(self) -> None:
        self._sock.close()


def hello_message() -> bytes:
    """An OP_MSG ``hello`` as discovery sends it (request id 1)."""
    body = struct.pack("<I", 0) + b"\x00" + bson.encode({"hello": 1, "$db": "admin"})
    return struct.pack("<iiii", 16 + len(body), 1, 0, OP_MSG) + body


def _unauthorized(reply: dict[str, Any]) -> bool:
    return not reply.get("ok") and reply.get("code") in (13, 18) or "requires authentication" in str(
        reply.get("errmsg", ""))


@register_store
class MongoStore:
    """MongoDB 3.6+ (``mongodb://``); ``mongodb+srv://`` is not resolved (give the host)."""

    scheme: ClassVar[str] = "mongodb"
    schemes: ClassVar[tuple[str, ...]] = ()
    default_ports: ClassVar[tuple[int, ...]] = (27017,)
    local: ClassVar[bool] = False
    listens: ClassVar[bool] = True
    display_name: ClassVar[str] = "MongoDB"
    remediation: ClassVar[Mapping[str, str]] = {
        "no-auth": "Start mongod with --auth (security.authorization: enabled) and create users.",
    }
    discovery_hello: ClassVar[bytes] = hello_message()

    @classmethod
    def identify(cls, answer: bytes) -> bool:
        """An OP_MSG reply (opcode 2013 at offset 12) to the hello."""
        return len(answer) >= 16 and struct.unpack("<i", answer[12:16])[0] == OP_MSG

    def probe(self, target: Target, budget: Budget) -> ExposureFacts:
        ep = endpoint(target, 27017)
        try:
            conn = WireConnection(connect(ep.host, ep.port, budget.timeout_s, ep.tls))
        except OSError as exc:
            return unreachable(target, self.scheme, describe_error(exc, budget.timeout_s))
        try:
            return self._probe(conn, target, budget)
        except ProtocolError as exc:
            return answered_otherwise(target, self.scheme, str(exc))
        except (OSError, bson.errors.BSONError, ValueError) as exc:
            return unreachable(target, self.scheme, describe_error(exc, budget.timeout_s))
        finally:
            conn.close()

    def _probe(self, conn: WireConnection, target: Target, budget: Budget) -> ExposureFacts:
        hello = conn.command("admin", {"hello": 1})
        if not hello.get("ok"):
            hello = conn.command("admin", {"isMaster": 1})  # servers before 4.4.2
        build = conn.command("admin", {"buildInfo": 1})
        listing = conn.command("admin", {"listDatabases": 1, "nameOnly": False})
        details: dict[str, Any] = {
            "max_wire_version": hello.get("maxWireVersion"),
            "is_primary": hello.get("isWritablePrimary", hello.get("ismaster")),
            "set_name": hello.get("setName"),
        }
        anonymous = bool(listing.get("ok"))
        details["list_databases"] = "ok" if anonymous else ("unauthorized" if _unauthorized(listing) else None)
        databases: list[dict[str, Any]] = list(listing.get("databases") or []) if anonymous else []
        records = None
        if anonymous:
            details["anonymous_how"] = "listDatabases answered without authentication"
            details.update(_cmdline(conn.command("admin", {"getCmdLineOpts": 1})))
            records, details["collections"] = _count_records(conn, databases, budget)
        details["databases"] = len(databases) if anonymous else None
        authenticated = _authenticated_probe(target, budget) if target.username is not None else None
        tls_offered, tls_required = _tls_facts(endpoint(target, 27017).tls, details)
        return ExposureFacts(
            target=target.display, store=self.scheme, reachable=True,
            version=build.get("version") if build.get("ok") else None,
            auth_required=(not anonymous) if details["list_databases"] else None, anonymous_access=anonymous,
            authenticated=authenticated, tls_offered=tls_offered, tls_required=tls_required, scope=target.scope, bind=details.get("bind_ip"),
            listable=tuple(str(d.get("name")) for d in databases), readable=anonymous and records is not None,
            records=records, details=details, name=target.name)

    def sample(self, target: Target, budget: Budget) -> Iterator[SampledObject]:
        """``find`` (singleBatch, limit rows_per_object) on each collection of each non-system database."""
        ep = endpoint(target, 27017)
        if target.username is not None:
            yield from _pymongo_sample(target, budget)
            return
        try:
            conn = WireConnection(connect(ep.host, ep.port, budget.timeout_s, ep.tls))
        except OSError as exc:
            raise _cannot_read(target, describe_error(exc, budget.timeout_s)) from None
        try:
            listing = conn.command("admin", {"listDatabases": 1, "nameOnly": True})
            if not listing.get("ok"):
                raise _cannot_read(target, "listDatabases requires authentication")
            yield from _sample_wire(conn, target, [d["name"] for d in listing.get("databases") or []], budget)
        except (OSError, ProtocolError, bson.errors.BSONError) as exc:
            raise _cannot_read(target, describe_error(exc, budget.timeout_s)) from None
        finally:
            conn.close()


def _cmdline(reply: dict[str, Any]) -> dict[str, Any]:
    """getCmdLineOpts (an admin read command) reveals the bind address, auth and TLS settings."""
    if not reply.get("ok"):
        return {}
    parsed = reply.get("parsed") or {}
    net, security = parsed.get("net") or {}, parsed.get("security") or {}
    bind = "0.0.0.0" if net.get("bindIpAll") else net.get("bindIp")
    return {"bind_ip": bind, "authorization": security.get("authorization", "disabled"),
            "tls_mode": (net.get("tls") or net.get("ssl") or {}).get("mode")}


def _tls_facts(tls_url: bool, details: dict[str, Any]) -> tuple[bool | None, bool | None]:
    """TLS from the URL, else from net.tls.mode when getCmdLineOpts was readable (absent = disabled)."""
    if tls_url:
        return True, None
    if "authorization" not in details:  # getCmdLineOpts not readable: cannot tell
        return None, None
    mode = details.get("tls_mode") or "disabled"
    return mode != "disabled", mode == "requireTLS"


def _user_collections(conn: WireConnection, db: str) -> list[str]:
    reply = conn.command(db, {"listCollections": 1, "nameOnly": True, "authorizedCollections": True})
    batch = ((reply.get("cursor") or {}).get("firstBatch") or []) if reply.get("ok") else []
    return [c["name"] for c in batch if not str(c.get("name", "")).startswith("system.")]


def _count_records(conn: WireConnection, databases: list[dict[str, Any]], budget: Budget) -> tuple[int, int]:
    """Documents and collections in the user databases (metadata counts, bounded by the budget)."""
    total = collections = 0
    deadline = time.monotonic() + budget.timeout_s * 3
    for db in (str(d.get("name")) for d in databases if d.get("name") not in _SYSTEM_DBS):
        for coll in _user_collections(conn, db)[: budget.max_objects]:
            if time.monotonic() > deadline:
                return total, collections
            reply = conn.command(db, {"count": coll})
            total += int(reply.get("n") or 0) if reply.get("ok") else 0
            collections += 1
    return total, collections


def _sample_wire(conn: WireConnection, target: Target, dbs: list[str], budget: Budget) -> Iterator[SampledObject]:
    emitted = 0
    for db in (d for d in dbs if d not in _SYSTEM_DBS):
        for coll in _user_collections(conn, db):
            if emitted >= budget.max_objects:
                return
            n = budget.rows_per_object
            found = conn.command(db, {"find": coll, "limit": n, "batchSize": n, "singleBatch": True})
            docs = (found.get("cursor") or {}).get("firstBatch") or [] if found.get("ok") else []
            count = conn.command(db, {"count": coll})
            yield _object(target, f"{db}.{coll}", docs, int(count.get("n") or 0) or None)
            emitted += 1


def _object(target: Target, name: str, docs: list[dict[str, Any]], records: int | None) -> SampledObject:
    rows = [flatten({k: v for k, v in d.items() if k != "_id"}) for d in docs]
    return SampledObject(target=target.display, store="mongodb", object=name, columns=columns_from_records(rows),
                         records=records)


def _client(target: Target, budget: Budget) -> Any:
    import pymongo

    ms = int(budget.timeout_s * 1000)
    ep = endpoint(target, 27017)
    return pymongo.MongoClient(host=ep.host, port=ep.port, username=target.username, password=target.password,
                               directConnection=True, tls=ep.tls, tlsAllowInvalidCertificates=ep.tls or None,
                               serverSelectionTimeoutMS=ms, connectTimeoutMS=ms, socketTimeoutMS=ms,
                               authSource=target.params.get("authSource", "admin"))


def _authenticated_probe(target: Target, budget: Budget) -> bool | None:
    """Do the URL's credentials work? (SCRAM through pymongo; None when the server could not be asked.)"""
    import pymongo.errors

    client = _client(target, budget)
    try:
        client.admin.command("listDatabases", nameOnly=True)
        return True
    except pymongo.errors.OperationFailure:
        return False
    except pymongo.errors.PyMongoError:
        return None
    finally:
        client.close()


def _pymongo_sample(target: Target, budget: Budget) -> Iterator[SampledObject]:
    import pymongo.errors

    client = _client(target, budget)
    try:
        for db in client.list_database_names():
            if db in _SYSTEM_DBS:
                continue
            for coll in client[db].list_collection_names()[: budget.max_objects]:
                docs = list(client[db][coll].find({}, limit=budget.rows_per_object))
                yield _object(target, f"{db}.{coll}", docs, client[db][coll].estimated_document_count() or None)
    except pymongo.errors.PyMongoError as exc:
        raise _cannot_read(target, type(exc).__name__) from None
    finally:
        client.close()


def _cannot_read(target: Target, why: str) -> TargetError:
    return TargetError(f"cannot read {target.display}: {why}",
                       tip="give a user in the URL: mongodb://user:{password}@host:27017/?authSource=admin")
