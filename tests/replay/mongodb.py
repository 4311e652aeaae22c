"""REPLAY FIXTURE, not a real server: a local TCP server speaking MongoDB's OP_MSG wire protocol with BSON.

MongoDB is not installed on the test machines, so the exposure tests for it run against this fixture and are
marked ``@pytest.mark.fixture_replay``. It answers like mongod 6.0 / 7.0 (maxWireVersion 17 / 21): ``hello``
and ``isMaster`` (also over legacy OP_QUERY, the only OP_QUERY 6.0+ still accepts; any other OP_QUERY closes
the connection, as 6.0+ does), ``buildInfo``, ``ping``, ``listDatabases``, ``listCollections``, ``count``,
``find``, ``getMore``, ``killCursors``, ``endSessions`` and ``getCmdLineOpts``. In the ``auth`` modes every
command but hello/isMaster/buildInfo/ping/endSessions answers ``{ok: 0, code: 13, codeName: "Unauthorized",
errmsg: "command <name> requires authentication"}``, like mongod started with ``--auth``.

Every command name is recorded in ``commands``, so tests prove a probe sent only read commands.
"""

from __future__ import annotations

import datetime as dt
import socket
import struct
import threading
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import bson

MODES = {"mongo6-open": ("6.0.12", 17, False), "mongo7-open": ("7.0.4", 21, False),
         "mongo6-auth": ("6.0.12", 17, True), "mongo7-auth": ("7.0.4", 21, True)}
OP_REPLY, OP_QUERY, OP_MSG = 1, 2004, 2013
_OPEN_COMMANDS = frozenset({"hello", "ismaster", "buildinfo", "ping", "endsessions"})
READ_COMMANDS = frozenset({"hello", "ismaster", "buildinfo", "ping", "endsessions", "listdatabases",
                           "listcollections", "count", "find", "getmore", "killcursors", "getcmdlineopts"})


@dataclass
class ReplayMongo:
    """Replay fixture; ``databases`` maps db -> collection -> documents."""

    mode: str = "mongo7-open"
    databases: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    bind_ip_all: bool = False
    commands: list[str] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        self.version, self.wire, self.auth = MODES[self.mode]
        self._stop = threading.Event()

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}"

    def __enter__(self) -> ReplayMongo:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    host = "127.0.0.1"

    def start(self) -> ReplayMongo:
        """Start serving (benches keep many fixtures running without a with-block)."""
        return self.__enter__()

    def stop(self) -> None:
        self.__exit__(None, None, None)

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        self._sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(5)
        with client:
            while True:
                try:
                    header = _exact(client, 16)
                    length, request_id, _, opcode = struct.unpack("<iiii", header)
                    payload = _exact(client, length - 16)
                except (OSError, ConnectionError):
                    return
                reply = self._dispatch(opcode, request_id, payload)
                if reply is None:
                    return  # 6.0+: legacy opcodes other than the hello handshake close the connection
                client.sendall(reply)

    def _dispatch(self, opcode: int, request_id: int, payload: bytes) -> bytes | None:
        if opcode == OP_MSG and payload[4] == 0:
            doc = self._answer(bson.decode(payload[5:]))
            body = struct.pack("<I", 0) + b"\x00" + bson.encode(doc)
            return struct.pack("<iiii", 16 + len(body), request_id + 1000, request_id, OP_MSG) + body
        if opcode == OP_QUERY:
            collection_end = payload.index(b"\x00", 4)
            query = bson.decode(payload[collection_end + 9 :][: struct.unpack("<i", payload[collection_end + 9 :][:4])[0]])
            name = next(iter(query), "").lower()
            if name not in ("ismaster", "hello"):
                self.commands.append(f"OP_QUERY {name}")
                return None
            doc = bson.encode(self._answer(query))
            body = struct.pack("<iqii", 8, 0, 0, 1) + doc
            return struct.pack("<iiii", 16 + len(body), request_id + 1000, request_id, OP_REPLY) + body
        return None

    def _answer(self, cmd: dict[str, Any]) -> dict[str, Any]:
        name = next(iter(cmd))
        key = name.lower()
        self.commands.append(name)
        if self.auth and key not in _OPEN_COMMANDS:
            return {"ok": 0.0, "errmsg": f"command {name} requires authentication", "code": 13,
                    "codeName": "Unauthorized"}
        handler = getattr(self, f"_cmd_{key}", None)
        if handler is None:
            return {"ok": 0.0, "errmsg": f"no such command: '{name}'", "code": 59, "codeName": "CommandNotFound"}
        out: dict[str, Any] = handler(cmd)
        return out

    def _cmd_hello(self, cmd: dict[str, Any]) -> dict[str, Any]:
        return {"helloOk": True, "isWritablePrimary": True, "ismaster": True,
                "topologyVersion": {"processId": bson.ObjectId(), "counter": 0},
                "maxBsonObjectSize": 16777216, "maxMessageSizeBytes": 48000000, "maxWriteBatchSize": 100000,
                "localTime": dt.datetime.now(dt.UTC), "logicalSessionTimeoutMinutes": 30, "connectionId": 7,
                "minWireVersion": 0, "maxWireVersion": self.wire, "readOnly": False, "ok": 1.0}

    _cmd_ismaster = _cmd_hello

    def _cmd_buildinfo(self, cmd: dict[str, Any]) -> dict[str, Any]:
        parts = [int(p) for p in self.version.split(".")]
        return {"version": self.version, "gitVersion": "38f3e37057a43d2e9f41a39142681a76062d582e", "modules": [],
                "allocator": "tcmalloc", "javascriptEngine": "mozjs", "sysInfo": "deprecated",
                "versionArray": [*parts, 0], "bits": 64, "debug": False, "maxBsonObjectSize": 16777216,
                "storageEngines": ["devnull", "ephemeralForTest", "wiredTiger"], "ok": 1.0}

    def _cmd_ping(self, cmd: dict[str, Any]) -> dict[str, Any]:
        return {"ok": 1.0}

    _cmd_endsessions = _cmd_ping

    def _all_dbs(self) -> dict[str, dict[str, list[dict[str, Any]]]]:
        return {"admin": {"system.version": [{"_id": "featureCompatibilityVersion"}]}, "config": {}, "local": {
            "startup_log": [{"hostname": "replay"}]}, **self.databases}

    def _cmd_listdatabases(self, cmd: dict[str, Any]) -> dict[str, Any]:
        dbs = [{"name": name, "sizeOnDisk": 8192 * (1 + sum(len(c) for c in colls.values())),
                "empty": not any(colls.values())} for name, colls in self._all_dbs().items()]
        if cmd.get("nameOnly"):
            dbs = [{"name": d["name"]} for d in dbs]
        return {"databases": dbs, "totalSize": sum(d.get("sizeOnDisk", 0) for d in dbs), "totalSizeMb": 0,
                "ok": 1.0}

    def _cmd_listcollections(self, cmd: dict[str, Any]) -> dict[str, Any]:
        db = cmd["$db"]
        batch = [{"name": c, "type": "collection"} for c in self._all_dbs().get(db, {})]
        return {"cursor": {"id": bson.Int64(0), "ns": f"{db}.$cmd.listCollections", "firstBatch": batch}, "ok": 1.0}

    def _docs(self, cmd: dict[str, Any], key: str) -> list[dict[str, Any]]:
        return self._all_dbs().get(cmd["$db"], {}).get(cmd[key], [])

    def _cmd_count(self, cmd: dict[str, Any]) -> dict[str, Any]:
        return {"n": len(self._docs(cmd, "count")), "ok": 1.0}

    def _cmd_find(self, cmd: dict[str, Any]) -> dict[str, Any]:
        docs = self._docs(cmd, "find")[: int(cmd.get("limit") or 101)]
        batch = [{"_id": bson.ObjectId(), **d} for d in docs]
        return {"cursor": {"firstBatch": batch, "id": bson.Int64(0), "ns": f"{cmd['$db']}.{cmd['find']}"},
                "ok": 1.0}

    def _cmd_getmore(self, cmd: dict[str, Any]) -> dict[str, Any]:
        return {"cursor": {"nextBatch": [], "id": bson.Int64(0), "ns": f"{cmd['$db']}.{cmd.get('collection')}"},
                "ok": 1.0}

    def _cmd_killcursors(self, cmd: dict[str, Any]) -> dict[str, Any]:
        return {"cursorsKilled": [], "cursorsNotFound": cmd.get("cursors", []), "cursorsAlive": [],
                "cursorsUnknown": [], "ok": 1.0}

    def _cmd_getcmdlineopts(self, cmd: dict[str, Any]) -> dict[str, Any]:
        net: dict[str, Any] = {"port": 27017}
        argv = ["mongod", "--dbpath", "/data/db"]
        if self.bind_ip_all:
            net["bindIpAll"] = True
            argv.append("--bind_ip_all")
        else:
            net["bindIp"] = "127.0.0.1"
        parsed: dict[str, Any] = {"net": net, "storage": {"dbPath": "/data/db"}}
        return {"argv": argv, "parsed": parsed, "ok": 1.0}


def _exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf.extend(chunk)
    return bytes(buf)
