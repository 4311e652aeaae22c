"""REPLAY FIXTURE, not a real server: a local HTTP server answering like Elasticsearch 7.x, Elasticsearch 8.x
(security off, and security on), and OpenSearch 2.x, plus a Kibana status endpoint.

Elasticsearch and OpenSearch cannot run on the test machines (JVM, memory), so the exposure tests for them
run against this fixture and are marked ``@pytest.mark.fixture_replay``. The answers follow the shapes the
servers document and send:

- ``GET /``: name, cluster_name, cluster_uuid, version{number, build_flavor, build_type, build_hash,
  build_date, build_snapshot, lucene_version, minimum_wire_compatibility_version,
  minimum_index_compatibility_version}, tagline "You Know, for Search"; OpenSearch adds
  ``version.distribution = "opensearch"`` and the tagline "The OpenSearch Project: https://opensearch.org/".
- ``GET /_nodes/_local/http``: _nodes{total, successful, failed}, cluster_name, nodes{<id>{name,
  transport_address, host, ip, version, roles, http{bound_address[], publish_address,
  max_content_length_in_bytes}}} (loopback by default, ``[::]:9200`` for ``network.host: 0.0.0.0``).
- ``GET /_cat/indices?format=json``: health, status, index, uuid, pri, rep, docs.count, docs.deleted,
  store.size, pri.store.size (all strings).
- ``GET /_search``: took, timed_out, _shards, hits{total{value, relation}, max_score, hits[{_index, _id,
  _score, _source}]} (7.x also ``_type: "_doc"``).
- security off (ES 7 basic license, ES 8 ``xpack.security.enabled: false``): ``GET /_security/_authenticate``
  answers 500 ``security_exception`` "Security must be explicitly enabled when using a [basic] license...".
- ES 8 security on, no credentials: 401 ``security_exception`` "missing authentication credentials for REST
  request [/]" with ``WWW-Authenticate: Basic realm="security" charset="UTF-8"``.
- OpenSearch 2 without the security plugin (``plugins.security.disabled: true``):
  ``GET /_plugins/_security/authinfo`` answers 400 "no handler found for uri [...] and method [GET]".
- OpenSearch 2 with the security plugin (demo config, admin/admin): 401 ``Unauthorized`` with
  ``WWW-Authenticate: Basic realm="OpenSearch Security"``.

Every request is recorded in ``requests`` as (method, path), so tests prove a probe sent only GETs.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

MODES = ("es7", "es8-open", "es8-secured", "opensearch2", "opensearch2-secured")

_VERSIONS: dict[str, dict[str, Any]] = {
    "es7": {"number": "7.17.9", "build_flavor": "default", "build_type": "docker",
            "build_hash": "ef48222227ee6b9e70e502f0f0daa52435ee634d", "build_date": "2023-01-31T05:34:43.305517834Z",
            "build_snapshot": False, "lucene_version": "8.11.1", "minimum_wire_compatibility_version": "6.8.0",
            "minimum_index_compatibility_version": "6.0.0-beta1"},
    "es8": {"number": "8.11.1", "build_flavor": "default", "build_type": "docker",
            "build_hash": "6f9ff581fbcde658e6f69d6ce03050f060d1fd0c", "build_date": "2023-11-11T10:05:59.421038163Z",
            "build_snapshot": False, "lucene_version": "9.8.0", "minimum_wire_compatibility_version": "7.17.0",
            "minimum_index_compatibility_version": "7.0.0"},
    "opensearch2": {"distribution": "opensearch", "number": "2.11.1", "build_type": "tar",
                    "build_hash": "6b1986e964d440be9137eba1413015c31c5a7752",
                    "build_date": "2023-11-29T21:43:10.135035992Z", "build_snapshot": False,
                    "lucene_version": "9.7.0", "minimum_wire_compatibility_version": "7.10.0",
                    "minimum_index_compatibility_version": "7.0.0"},
}
_SECURITY_OFF = ("Security must be explicitly enabled when using a [basic] license. Enable security by setting "
                 "[xpack.security.enabled] to [true] in the elasticsearch.yml file and restart the node.")


def _es_error(kind: str, reason: str, status: int, header: dict[str, list[str]] | None = None) -> dict[str, Any]:
    cause: dict[str, Any] = {"type": kind, "reason": reason}
    if header:
        cause["header"] = header
    return {"error": {"root_cause": [cause], **cause}, "status": status}


@dataclass
class ReplaySearchCluster:
    """Replay fixture for one cluster; ``indices`` maps index name -> documents (``_source``)."""

    mode: str
    indices: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)  # user -> password (secured modes)
    kibana: str | None = None  # None | "open" | "secured": also serve Kibana's /api/status
    bind_all: bool = False  # network.host: 0.0.0.0 (bound_address [::]:9200) instead of the loopback default
    requests: list[tuple[str, str]] = field(default_factory=list)
    port: int = 0
    kibana_port: int = 0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        if self.mode == "opensearch2-secured" and not self.users:
            self.users = {"admin": "admin"}
        self._servers: list[ThreadingHTTPServer] = []

    @property
    def url(self) -> str:
        kind = "opensearch" if self.mode.startswith("opensearch") else "elasticsearch"
        query = f"kind={kind}" + (f"&kibana_port={self.kibana_port}" if self.kibana_port else "&kibana_port=1")
        return f"http://127.0.0.1:{self.port}/?{query}"

    def url_with(self, user: str, password: str) -> str:
        return self.url.replace("http://", f"http://{user}:{password}@", 1)

    def __enter__(self) -> ReplaySearchCluster:
        self.port = self._serve(_handler(self, self._answer))
        if self.kibana:
            self.kibana_port = self._serve(_handler(self, self._kibana_answer))
        return self

    host = "127.0.0.1"

    def start(self) -> ReplaySearchCluster:
        """Start serving (benches keep many fixtures running without a with-block)."""
        return self.__enter__()

    def stop(self) -> None:
        self.__exit__(None, None, None)

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()

    def _serve(self, handler: type[BaseHTTPRequestHandler]) -> int:
        server = _QuietServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._servers.append(server)
        return int(server.server_address[1])

    # --- answers ------------------------------------------------------------------------------------------

    @property
    def _secured(self) -> bool:
        return self.mode.endswith("-secured")

    @property
    def _opensearch(self) -> bool:
        return self.mode.startswith("opensearch")

    def _authorised(self, header: str | None) -> str | None:
        """The user name a Basic header authenticates, or None."""
        if not header or not header.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user if self.users.get(user) == password else None

    def _answer(self, method: str, path: str, auth: str | None) -> tuple[int, dict[str, str], Any]:
        user = self._authorised(auth)
        if self._secured and user is None:
            return self._challenge(path)
        if method != "GET":
            return 405, {}, _es_error("illegal_argument_exception", "replay fixture is read-only", 405)
        parts = urlsplit(path)
        route = unquote(parts.path).rstrip("/") or "/"
        size = int((parse_qs(parts.query).get("size") or ["10"])[0])
        if route == "/":
            return 200, {}, self._root()
        if route == "/_cat/indices":
            return 200, {}, [self._cat(name, docs) for name, docs in self.indices.items()]
        if route == "/_search":
            return 200, {}, self._search([d for docs in self.indices.values() for d in docs], "", size)
        if route.endswith("/_search") and route[1:-8] in self.indices:
            name = route[1:-8]
            return 200, {}, self._search(self.indices[name], name, size)
        if route == "/_nodes/_local/http":
            return 200, {}, self._nodes_http()
        if route == "/_security/_authenticate" and not self._opensearch:
            if self._secured:
                return 200, {}, {"username": user, "roles": ["superuser"], "enabled": True,
                                 "authentication_realm": {"name": "default_native", "type": "native"},
                                 "authentication_type": "realm"}
            return 500, {}, _es_error("security_exception", _SECURITY_OFF, 500)
        if route == "/_plugins/_security/authinfo" and self._opensearch and self._secured:
            return 200, {}, {"user": f"User [name={user}, backend_roles=[admin], requestedTenant=null]",
                             "user_name": user, "backend_roles": ["admin"], "roles": ["all_access"]}
        if self._opensearch:
            return 400, {}, {"error": f"no handler found for uri [{parts.path}] and method [{method}]"}
        return 400, {}, _es_error("illegal_argument_exception", f"request [{parts.path}] contains unrecognized "
                                  "parameters", 400)

    def _challenge(self, path: str) -> tuple[int, dict[str, str], Any]:
        if self._opensearch:
            return 401, {"WWW-Authenticate": 'Basic realm="OpenSearch Security"'}, "Unauthorized"
        challenge = 'Basic realm="security" charset="UTF-8"'
        reason = f"missing authentication credentials for REST request [{urlsplit(path).path}]"
        header = {"WWW-Authenticate": [challenge, 'Bearer realm="security"', "ApiKey"]}
        return 401, {"WWW-Authenticate": challenge}, _es_error("security_exception", reason, 401, header)

    def _root(self) -> dict[str, Any]:
        version = _VERSIONS["opensearch2" if self._opensearch else ("es7" if self.mode == "es7" else "es8")]
        tagline = "The OpenSearch Project: https://opensearch.org/" if self._opensearch else "You Know, for Search"
        return {"name": "node-1", "cluster_name": "analytics-copy", "cluster_uuid": "Qw1hT0lsQ0Wmx8vA5y0bEw",
                "version": version, "tagline": tagline}

    def _nodes_http(self) -> dict[str, Any]:
        bound = ["[::]:9200"] if self.bind_all else ["127.0.0.1:9200", "[::1]:9200"]
        node = {"name": "node-1", "transport_address": "127.0.0.1:9300", "host": "127.0.0.1", "ip": "127.0.0.1",
                "version": self._root()["version"]["number"], "roles": ["data", "ingest", "master"],
                "http": {"bound_address": bound, "publish_address": "127.0.0.1:9200",
                         "max_content_length_in_bytes": 104857600}}
        return {"_nodes": {"total": 1, "successful": 1, "failed": 0}, "cluster_name": "analytics-copy",
                "nodes": {"x9tRZzTnS7yJqz7Xb4c0Ew": node}}

    def _cat(self, name: str, docs: list[dict[str, Any]]) -> dict[str, str]:
        return {"health": "yellow", "status": "open", "index": name, "uuid": "u" + name[:8].ljust(8, "0"),
                "pri": "1", "rep": "1", "docs.count": str(len(docs)), "docs.deleted": "0",
                "store.size": f"{len(json.dumps(docs)) // 1024 + 1}kb",
                "pri.store.size": f"{len(json.dumps(docs)) // 1024 + 1}kb"}

    def _search(self, docs: list[dict[str, Any]], index: str, size: int) -> dict[str, Any]:
        hits = []
        for i, doc in enumerate(docs[:size]):
            hit: dict[str, Any] = {"_index": index or next(iter(self.indices), ""), "_id": str(i + 1),
                                   "_score": 1.0, "_source": doc}
            if self.mode == "es7":
                hit["_type"] = "_doc"
            hits.append(hit)
        return {"took": 2, "timed_out": False, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
                "hits": {"total": {"value": len(docs), "relation": "eq"}, "max_score": 1.0 if hits else None,
                         "hits": hits}}

    def _kibana_answer(self, method: str, path: str, auth: str | None) -> tuple[int, dict[str, str], Any]:
        if self.kibana == "secured" and self._authorised(auth) is None:
            return 401, {}, {"statusCode": 401, "error": "Unauthorized", "message": "Unauthorized"}
        number = _VERSIONS["es7" if self.mode == "es7" else "es8"]["number"]
        return 200, {}, {"name": "kibana", "uuid": "5b2de169-2785-441b-ae8c-186a1936b17d",
                         "version": {"number": number, "build_hash": "b8f55aa", "build_number": 68312,
                                     "build_snapshot": False},
                         "status": {"overall": {"level": "available", "summary": "All services are available"}}}


class _QuietServer(ThreadingHTTPServer):
    """Scanners (nmap) reset connections mid-request; that is not worth a traceback on stderr."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        return


def _handler(cluster: ReplaySearchCluster, answer: Any) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _reply(self) -> None:
            cluster.requests.append((self.command, self.path))
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            status, headers, body = answer(self.command, self.path, self.headers.get("Authorization"))
            data = (body if isinstance(body, str) else json.dumps(body)).encode()
            self.send_response(status)
            ctype = "text/plain; charset=UTF-8" if isinstance(body, str) else "application/json; charset=UTF-8"
            self.send_header("Content-Type", ctype)
            self.send_header("X-elastic-product", "Elasticsearch") if not cluster.mode.startswith("opensearch") \
                else None
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _reply

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
