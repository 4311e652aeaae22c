"""Elasticsearch and OpenSearch over HTTP: anonymous ``GET /``, ``_cat/indices``, ``_search``, security plugin.

Only GET requests are ever sent (the REST API's read side): ``/``, ``/_cat/indices?format=json``,
``/_search?size=1``, ``/_nodes/_local/http``, ``/<index>/_search?size=N``, ``/_security/_authenticate`` (Elasticsearch) or
``/_plugins/_security/authinfo`` (OpenSearch), and Kibana's ``/api/status`` on port 5601. A cluster whose
security is switched off answers ``_security/_authenticate`` with "Security must be explicitly enabled";
an OpenSearch without its security plugin has no handler for ``authinfo``. Tested against a local replay
fixture (tests/replay/elasticsearch.py), not a real cluster: Elasticsearch cannot run on the test machines.

URLs: ``elasticsearch://host:9200`` (plain HTTP, ``?tls=true`` for HTTPS), ``opensearch://``, and
``http(s)://host:9200`` with ``?kind=elasticsearch`` / ``?kind=opensearch`` or no kind (detected from ``GET /``).

``details`` keys (docs/exposure.md): ``distribution``, ``cluster_name``, ``bound_address``, ``security`` (``enabled`` |
``disabled`` | ``anonymous`` | None), ``auth_realm``, ``indices``, ``system_indices``, ``search_readable``,
``kibana`` (``open`` | ``auth`` | None), ``kibana_port``, ``kibana_version``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from dataward.errors import TargetError
from dataward.redact import redact
from dataward.stores._docs import columns_from_records, flatten
from dataward.stores._net import answered_otherwise, unreachable
from dataward.stores.base import Budget, ExposureFacts, SampledObject, register_store
from dataward.targets import Target

# The X-Pack default before 6.x, and the OpenSearch demo configuration before 2.12.
DEFAULT_CREDENTIALS: tuple[tuple[str, str], ...] = (("elastic", "changeme"), ("admin", "admin"),
                                                    ("elastic", "elastic"))
KIBANA_PORT = 5601
_KINDS = ("elasticsearch", "opensearch")


@dataclass(frozen=True)
class _Http:
    """A base URL plus the auth that worked (None = anonymous)."""

    client: httpx.Client
    base: str
    auth: tuple[str, str] | None = None

    def get(self, path: str) -> httpx.Response:
        return self.client.get(self.base + path, auth=self.auth, headers={"Accept": "application/json"})


def _json(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None


def base_url(target: Target) -> str:
    tls = target.scheme == "https" or target.params.get("tls", "").lower() in ("1", "true", "yes")
    port = target.port or 9200
    host = f"[{target.host}]" if target.host and ":" in target.host else (target.host or "localhost")
    return f"{'https' if tls else 'http'}://{host}:{port}"


@register_store
class ElasticsearchStore:
    """Elasticsearch 6-8 and OpenSearch 1-2 (facts.store is ``elasticsearch`` or ``opensearch``)."""

    scheme: ClassVar[str] = "elasticsearch"
    schemes: ClassVar[tuple[str, ...]] = ("http", "https")
    default_ports: ClassVar[tuple[int, ...]] = (9200,)
    local: ClassVar[bool] = False
    listens: ClassVar[bool] = True
    display_name: ClassVar[str] = "Elasticsearch"
    remediation: ClassVar[Mapping[str, str]] = {
        "no-auth": "Enable the security plugin (xpack.security.enabled: true) and require authentication.",
    }
    discovery_hello: ClassVar[bytes] = b"GET / HTTP/1.0\r\nAccept: application/json\r\n\r\n"

    @classmethod
    def identify(cls, answer: bytes) -> bool:
        """An HTTP answer whose body names a search cluster (or the security realm's 401 challenge)."""
        if not answer.startswith(b"HTTP/"):
            return False
        return any(s in answer for s in (b'"cluster_name"', b"You Know, for Search", b"OpenSearch",
                                         b'realm="security"', b"security_exception"))

    @classmethod
    def resolve(cls, target: Target) -> type:
        """http(s):// is this store unless ``?kind=`` names another; an unknown kind is an error."""
        kind = target.params.get("kind", "").lower()
        if kind and kind not in _KINDS:
            raise TargetError(f"'?kind={kind}' is not an HTTP store kind dataward knows",
                              tip="use ?kind=elasticsearch or ?kind=opensearch")
        return cls

    def probe(self, target: Target, budget: Budget) -> ExposureFacts:
        with httpx.Client(timeout=budget.timeout_s, verify=False, follow_redirects=False) as client:
            try:
                return self._probe(client, target, budget)
            except httpx.TimeoutException:
                return unreachable(target, self._kind(target), f"timeout after {budget.timeout_s:g} s")
            except httpx.TransportError as exc:
                return unreachable(target, self._kind(target), _transport_error(exc))

    @staticmethod
    def _kind(target: Target, root: Any = None) -> str:
        if isinstance(root, dict):
            dist = (root.get("version") or {}).get("distribution")
            return "opensearch" if dist == "opensearch" else "elasticsearch"
        named = target.params.get("kind", "").lower() or target.scheme
        return named if named in _KINDS else "elasticsearch"

    def _probe(self, client: httpx.Client, target: Target, budget: Budget) -> ExposureFacts:
        base = base_url(target)
        anon = _Http(client, base)
        first = anon.get("/")
        root = _json(first)
        details: dict[str, Any] = {}
        if first.status_code == 401:
            details["auth_realm"] = _realm(first.headers.get("www-authenticate", ""))
        elif first.status_code != 200 or not isinstance(root, dict) or "version" not in root:
            return answered_otherwise(target, self._kind(target),
                                      f"HTTP {first.status_code} without an Elasticsearch/OpenSearch answer")
        session: _Http | None = anon if first.status_code == 200 else None
        authenticated = default_credentials = None
        if target.username is not None:
            given = _Http(client, base, (target.username, target.password or ""))
            resp = given.get("/")
            authenticated = resp.status_code == 200
            if authenticated and session is None:
                session, root = given, _json(resp)
            elif not authenticated:
                details["auth_error"] = f"HTTP {resp.status_code} for the given user"
        if first.status_code == 401:
            default_credentials, found = self._try_defaults(client, base, budget)
            if session is None and found is not None:
                session, root = found, _json(found.get("/"))
        kind = self._kind(target, root)
        if isinstance(root, dict) and "version" in root:
            details.update(distribution=kind, cluster_name=root.get("cluster_name"))
        listable: tuple[str, ...] = ()
        records = readable = None
        if session is not None:
            listable, records, readable = self._contents(session, details)
        details["security"] = "enabled" if first.status_code == 401 else self._security(anon, kind)
        details.update(self._kibana(client, target, budget))
        if first.status_code == 200:
            details["anonymous_how"] = "GET / answered without credentials"
        version = (root.get("version") or {}).get("number") if isinstance(root, dict) else None
        return ExposureFacts(
            target=target.display, store=kind, reachable=True, version=version,
            auth_required=first.status_code == 401, anonymous_access=first.status_code == 200,
            default_credentials=default_credentials, authenticated=authenticated,
            tls_offered=base.startswith("https"), tls_required=None if base.startswith("https") else False,
            scope=target.scope, bind=_bind(details.get("bound_address") or []), listable=listable,
            readable=readable, records=records, details=details,
            name=target.name)

    def _try_defaults(self, client: httpx.Client, base: str, budget: Budget) -> tuple[str | None, _Http | None]:
        pairs = DEFAULT_CREDENTIALS if budget.default_credentials is None else budget.default_credentials
        for user, password in pairs:
            session = _Http(client, base, (user, password))
            if session.get("/").status_code == 200:
                what = "an empty password" if password == "" else f"the well-known password '{redact(password)}'"
                return f"user '{user}' with {what}", session
        return None, None

    def _contents(self, session: _Http, details: dict[str, Any]) -> tuple[tuple[str, ...], int | None, bool]:
        """Index names and document counts from _cat/indices, and whether _search returns documents."""
        indices = _indices(session)
        user = [i for i in indices if not i["index"].startswith(".")]
        details.update(indices=len(user), system_indices=len(indices) - len(user))
        bound = _bound_addresses(session)
        if bound:
            details["bound_address"] = bound
        search = session.get("/_search?size=1")
        body = _json(search)
        readable = search.status_code == 200 and isinstance(body, dict) and "hits" in body
        details["search_readable"] = readable
        records = sum(int(i.get("docs.count") or 0) for i in user) if indices else None
        return tuple(i["index"] for i in user), records, readable

    def _security(self, anon: _Http, kind: str) -> str | None:
        """Is the security layer on at all? Judged from the authenticate endpoint, anonymously."""
        path = "/_plugins/_security/authinfo" if kind == "opensearch" else "/_security/_authenticate"
        resp = anon.get(path)
        text = resp.text
        if resp.status_code == 200:
            return "anonymous"  # security on, but an anonymous user/role answers
        if resp.status_code == 401:
            return "enabled"
        if "Security must be explicitly enabled" in text or "no handler found" in text:
            return "disabled"
        return None

    def _kibana(self, client: httpx.Client, target: Target, budget: Budget) -> dict[str, Any]:
        """Kibana / OpenSearch Dashboards next to the cluster: ``?kibana_port=N``, or 5601 when the cluster uses
        the standard 9200 (next to a cluster on another port we do not guess: None)."""
        if "kibana_port" in target.params:
            port = int(target.params["kibana_port"])
        elif (target.port or 9200) == 9200:
            port = KIBANA_PORT
        else:
            return {"kibana": None, "kibana_port": None}
        host = f"[{target.host}]" if target.host and ":" in target.host else (target.host or "localhost")
        try:
            resp = client.get(f"http://{host}:{port}/api/status", timeout=min(budget.timeout_s, 2.0))
        except httpx.HTTPError:
            return {"kibana": None, "kibana_port": port}
        body = _json(resp)
        if resp.status_code == 200 and isinstance(body, dict) and "version" in body:
            return {"kibana": "open", "kibana_port": port,
                    "kibana_version": (body.get("version") or {}).get("number")}
        return {"kibana": "auth" if resp.status_code in (401, 403) else None, "kibana_port": port}

    def sample(self, target: Target, budget: Budget) -> Iterator[SampledObject]:
        """Up to ``rows_per_object`` documents of each non-system index (``_source`` fields as columns)."""
        with httpx.Client(timeout=budget.timeout_s, verify=False) as client:
            auth = (target.username, target.password or "") if target.username is not None else None
            session = _Http(client, base_url(target), auth)
            try:
                root = session.get("/")
                if root.status_code != 200:
                    raise TargetError(f"cannot read {target.display}: HTTP {root.status_code}",
                                      tip="give a user in the URL: https://user:{password}@host:9200")
                kind = self._kind(target, _json(root))
                for index in [i for i in _indices(session) if not i["index"].startswith(".")][: budget.max_objects]:
                    yield self._sample_index(session, target, kind, index, budget)
            except httpx.HTTPError as exc:
                raise TargetError(f"cannot read {target.display}: {_transport_error(exc)}",
                                  tip="check the host and port, or pass a larger timeout") from None

    def _sample_index(self, session: _Http, target: Target, kind: str, index: dict[str, Any],
                      budget: Budget) -> SampledObject:
        name = str(index["index"])
        resp = session.get(f"/{quote(name, safe='')}/_search?size={min(budget.rows_per_object, 10_000)}")
        body = _json(resp)
        hits = ((body or {}).get("hits") or {}).get("hits") or [] if isinstance(body, dict) else []
        rows = [flatten(h.get("_source") or {}) for h in hits if isinstance(h, dict)]
        return SampledObject(target=target.display, store=kind, object=name, columns=columns_from_records(rows),
                             records=int(index.get("docs.count") or 0) or None)


@register_store
class OpenSearchStore(ElasticsearchStore):
    """OpenSearch 1-2 (``opensearch://``): the same probe; its own name and fixes in findings."""

    scheme: ClassVar[str] = "opensearch"
    schemes: ClassVar[tuple[str, ...]] = ()
    display_name: ClassVar[str] = "OpenSearch"
    remediation: ClassVar[Mapping[str, str]] = {
        "no-auth": "Enable the security plugin and require authentication for every index.",
    }


def _indices(session: _Http) -> list[dict[str, Any]]:
    resp = session.get("/_cat/indices?format=json")
    body = _json(resp)
    if resp.status_code != 200 or not isinstance(body, list):
        return []
    return [i for i in body if isinstance(i, dict) and "index" in i]


def _bound_addresses(session: _Http) -> list[str]:
    """``GET /_nodes/_local/http``: the HTTP addresses the node bound (``[::]:9200`` = every interface)."""
    resp = session.get("/_nodes/_local/http")
    body = _json(resp)
    if resp.status_code != 200 or not isinstance(body, dict):
        return []
    out: list[str] = []
    for node in (body.get("nodes") or {}).values():
        out.extend(str(a) for a in ((node or {}).get("http") or {}).get("bound_address") or [])
    return out


def _bind(bound: list[str]) -> str | None:
    """'[::]:9200' / '0.0.0.0:9200' -> 0.0.0.0; else the first address without its port."""
    hosts = [a.rsplit(":", 1)[0] for a in bound]
    if any(h in ("[::]", "0.0.0.0") for h in hosts):
        return "0.0.0.0"
    return hosts[0].strip("[]") if hosts else None


def _realm(header: str) -> str | None:
    """``Basic realm="security" charset="UTF-8"`` -> ``security``."""
    if 'realm="' not in header:
        return None
    return header.split('realm="', 1)[1].split('"', 1)[0]


def _transport_error(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        text = str(exc).lower()
        if "refused" in text:
            return "connection refused"
        if "ssl" in text or "tls" in text:
            return "TLS error"
        return "cannot connect"
    return "HTTP transport error"
