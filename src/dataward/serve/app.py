"""The FastAPI application of ``dataward serve``: ``/healthz`` and the JSON API under ``/api/v1/``.

Routes are thin: :func:`require` authenticates the bearer token and checks the role, the handler calls
:mod:`dataward.serve.views` (the same functions the pages call). A user-caused problem is a 400 (404 for
something that does not exist, 409 for a name already taken) with one sentence. Every answer carries the
security headers (a CSP without inline script, no framing, no referrer, no sniffing). Only ``/healthz``,
the login page and static assets answer without credentials (the OpenAPI document needs them too); the pages
and sessions are :mod:`dataward.serve.web` and :mod:`dataward.serve.auth`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import Body, Depends, FastAPI, Header, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dataward.errors import DatawardError
from dataward.schemamap import SchemaMap
from dataward.serve import accounts, pages_data, steps, views, web
from dataward.serve.accounts import User
from dataward.serve.auth import require, still_allowed
from dataward.serve.events import Closed, EventBus
from dataward.serve.jobs import RUNNING, JobRunner
from dataward.serve.jobstore import StateJobStore
from dataward.serve.sessions import Clock
from dataward.serve.views import Conflict, DeliveryFailed, FindingFilter, NotFound, Plane, StepSettings
from dataward.watch.state import StateDB

API = "/api/v1"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
KEEPALIVE_S = 15.0
RECHECK_S = 5.0  # an open event stream checks its caller's session or token this often
_FINDING_ID = Path(pattern=r"^[A-Za-z0-9._:-]{1,128}$", description="A finding id (see GET /api/v1/findings).")
_INCIDENT = Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", description="An incident name.")


_Background = Annotated[bool, Query(description="Run it as a background job: 202 with the job (dataward.job/v1).")]
Responder = Annotated[User, Depends(require("responder"))]
Admin = Annotated[User, Depends(require("admin"))]


class SuppressRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=views.MAX_REASON, description="Why it is accepted.")
    expires: date | None = Field(default=None, description="YYYY-MM-DD; default in 90 days.")


class IncidentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    name: str = Field(min_length=1, max_length=64)
    store: str | None = Field(default=None, max_length=256)
    window_from: str | None = Field(default=None, alias="from", max_length=64)
    window_to: str | None = Field(default=None, alias="to", max_length=64)
    window: int | None = Field(default=None, ge=1, le=2**53, description="An exposure window id (history).")


class RespondRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dry_run: bool = Field(default=False, description="Count what each step would change; change nothing.")


class NotifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int | None = Field(default=None, ge=1, le=2**31,
                              description="Send at most this many this run (the next run continues).")
    resend_uncertain: bool = Field(default=False, description="`incident notify --resend-uncertain`: send again "
                                   "the notices whose fate a crash left unknown (same Message-ID).")
    reconcile_log: str | None = Field(default=None, min_length=1, description=(
        "`incident notify --reconcile-log`: the mail system's log (its text, or only its `message-id=<…>` lines): "
        "an uncertain notice whose Message-ID it holds is settled as sent, any other sent again. Only compared, "
        "never kept."))


class BlastRadiusRequest(BaseModel):
    """What `dataward incident blast-radius --exposed/--classification` take, as optional JSON fields."""

    model_config = ConfigDict(extra="forbid")
    exposed: str | None = Field(default=None, min_length=1, max_length=2048,
                                description="The exposed store, if still readable: a store of serve's --config, by "
                                            "name or URL (default: the incident's store, when it is one). Never "
                                            "shown or audited unredacted.")
    classification: dict[str, Any] | None = Field(
        default=None, description="The exposed store's classification or scan report (`dataward classify "
                                  "--format json`, `dataward scan --format json`): what it held.")


def create_app(db: StateDB, *, baseline: str | None = None, bus: EventBus | None = None,
               clock: Clock | None = None, audit_log: str | None = None, audit_public_key: str | None = None,
               audit_key_fingerprint: str | None = None, lookup_dir: str | None = None,
               source: str | None = None, schema: SchemaMap | None = None,
               step_settings: StepSettings | None = None) -> FastAPI:
    """The application over an open state database (the caller closes it); suppressions go to ``baseline``
    (default: ``baseline.json`` beside a SQLite state file); the watcher's events come through ``bus``; the
    incident audit log to verify (and the key to verify it with) through ``audit_*``; incidents' lookup sites
    go under ``lookup_dir`` (default: ``lookup/`` beside a SQLite state file); blast radii are computed from the
    production ``source`` with its ``schema`` map (default: the reference one); the response playbook and the
    notices run as background jobs with ``step_settings`` (serve's --playbook, --smtp, ...), each job's start,
    progress and end published on the bus as a ``job`` event. The caller may set ``app.state.policy`` (the
    settings, copies and sinks come from it)."""
    app = FastAPI(title="dataward", version="1", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.db = db
    app.state.policy = None
    app.state.api_cache = pages_data.VersionedCache()  # the overview and findings pages of the API
    app.state.plane = Plane(db, baseline or views.default_baseline(db.location), bus or EventBus(),
                            audit_log=audit_log, audit_public_key=audit_public_key,
                            audit_key_fingerprint=audit_key_fingerprint, lookup_dir=lookup_dir,
                            source=source, schema=schema, steps=step_settings or StepSettings(),
                            jobs=JobRunner(store=StateJobStore(db.engine)))  # a dead process's jobs: interrupted
    plane: Plane = app.state.plane
    plane.jobs.on_change = lambda job: plane.bus.publish("job", job.event(), keep=job.state != RUNNING)
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders)  # the outer one: the refusals of BodyLimit carry the headers too
    app.add_exception_handler(DatawardError, _dataward_error)
    _routes(app)
    web.install(app, clock=clock)  # sessions, login and the pages (dataward.serve.web); clock: for tests
    return app


class SecurityHeaders:
    """Pure ASGI middleware (streams, such as the events, pass through unbuffered)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.decode().lower() not in _LOWER_HEADERS]
                headers += [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


_LOWER_HEADERS = {k.lower() for k in SECURITY_HEADERS}
MAX_BODY = 16 * 1024 * 1024  # a request body past this is refused (a classification document is far smaller)
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_TOO_LARGE_TIP = "at most 16 MiB (a mail log: only its message-id= lines)"


class BodyLimit:
    """Pure ASGI middleware: FastAPI reads and parses a JSON body before the route's authentication, so an
    unsafe API request with no credentials at all is a 401 before its body is read, and no request's body may
    pass :data:`MAX_BODY` (413: at once when its length says so, else when the stream reaches it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if (scope["path"].startswith(f"{API}/") and scope["method"] in _UNSAFE
                and b"authorization" not in headers and b"cookie" not in headers):
            await JSONResponse({"detail": "authentication required"}, 401,
                               headers={"WWW-Authenticate": "Bearer"})(scope, receive, send)
            return
        length = headers.get(b"content-length", b"0")
        if not length.isdigit() or int(length) > MAX_BODY:
            await JSONResponse({"detail": "the request body is too large", "tip": _TOO_LARGE_TIP},
                               413)(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > MAX_BODY:  # the exception middleware answers it (413) like any HTTPException
                raise HTTPException(413, f"the request body is too large; {_TOO_LARGE_TIP}")
            return message

        await self.app(scope, limited, send)


async def _dataward_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DatawardError)
    status = (404 if isinstance(exc, NotFound) else 409 if isinstance(exc, Conflict)
              else 502 if isinstance(exc, DeliveryFailed) else 400)
    return JSONResponse({"detail": exc.message, "tip": exc.tip}, status_code=status)


CACHED_LIMIT = 1000  # findings pages up to this size are cached per state version


def _routes(app: FastAPI) -> None:
    viewer = [Depends(require("viewer"))]
    plane: Plane = app.state.plane

    def cached(key: tuple[Any, ...], compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """``compute()`` while the state version (last event, window, probe; the baseline file) is unchanged:
        a dashboard or script polling between two probes costs a few index lookups."""
        version = pages_data.state_version(plane.engine, plane.baseline)
        value: dict[str, Any] = app.state.api_cache.get(key, version, compute)
        return value

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(f"{API}/stores", dependencies=viewer)
    def stores() -> dict[str, Any]:
        return views.stores_document(app.state.db.engine)

    @app.get(f"{API}/stores/{{name}}", dependencies=viewer)
    def store(name: Annotated[str, Path(max_length=256, description="A store's name.")]) -> dict[str, Any]:
        found = pages_data.store_page(app.state.db.engine, name, datetime.now(UTC))  # the store page's data
        if found is None:
            raise NotFound(f"there is no store '{name[:64]}'")
        return {"schema": "dataward.store/v1", **found}

    @app.get(f"{API}/history", dependencies=viewer)
    def history(store: str | None = None) -> dict[str, Any]:
        return views.history_of(app.state.db, store)

    @app.get(f"{API}/overview", dependencies=viewer)
    def overview() -> dict[str, Any]:
        return views.overview_now(cached(("overview",), lambda: views.overview_document(plane)), plane)

    @app.get(f"{API}/findings", dependencies=viewer, response_model=None)
    def findings(
        severity: Annotated[str | None, Query(max_length=64, description="critical,high,...")] = None,
        store: Annotated[str | None, Query(max_length=256)] = None,
        rule: Annotated[str | None, Query(max_length=256)] = None,
        category: Annotated[str | None, Query(max_length=64)] = None,
        state: Literal["open", "fixed", "suppressed", "all"] = "open",
        format: Literal["json", "sarif", "ocsf"] | None = None,
        limit: Annotated[int | None, Query(ge=1, le=100_000, description="Page size (worst first).")] = None,
        offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
        cursor: Annotated[str | None, Query(max_length=400, description="The `next` of the page before.")] = None,
    ) -> dict[str, Any] | Response:
        filters = FindingFilter(severity, store, rule, category, state, limit, offset, cursor)
        if format is None:
            if limit is not None and limit <= CACHED_LIMIT:
                return cached(("findings", filters), lambda: views.findings_document(plane, filters))
            return views.findings_document(plane, filters)
        text, media = views.export_findings(plane, filters, format)
        suffix = {"json": "json", "sarif": "sarif", "ocsf": "ocsf.jsonl"}[format]
        return Response(text, media_type=media,
                        headers={"Content-Disposition": f'attachment; filename="dataward-findings.{suffix}"'})

    @app.post(f"{API}/findings/{{finding_id}}/suppress")
    def suppress(finding_id: Annotated[str, _FINDING_ID], body: SuppressRequest, user: Responder) -> dict[str, Any]:
        return views.suppress_finding(plane, finding_id, body.reason, body.expires, user)

    @app.delete(f"{API}/findings/{{finding_id}}/suppress")
    def unsuppress_delete(finding_id: Annotated[str, _FINDING_ID], user: Responder) -> dict[str, Any]:
        return views.unsuppress_finding(plane, finding_id, user)

    @app.post(f"{API}/findings/{{finding_id}}/unsuppress")
    def unsuppress(finding_id: Annotated[str, _FINDING_ID], user: Responder) -> dict[str, Any]:
        return views.unsuppress_finding(plane, finding_id, user)

    @app.get(f"{API}/incidents", dependencies=viewer)
    def incidents() -> dict[str, Any]:
        return views.incidents_document(plane)

    @app.post(f"{API}/incidents", status_code=201)
    def open_incident(body: Annotated[IncidentRequest, Body()], user: Responder) -> dict[str, Any]:
        return views.open_incident(plane, body.name, user, store=body.store, window_from=body.window_from,
                                   window_to=body.window_to, window_id=body.window)

    @app.get(f"{API}/incidents/{{name}}", dependencies=viewer)
    def incident(name: Annotated[str, _INCIDENT]) -> dict[str, Any]:
        return views.incident_document(plane, name)

    @app.get(f"{API}/incidents/{{name}}/blast-radius", dependencies=viewer)
    def blast_radius(name: Annotated[str, _INCIDENT]) -> dict[str, Any]:
        return views.blast_radius_document(plane, name)

    @app.post(f"{API}/incidents/{{name}}/blast-radius")
    def compute_blast_radius(name: Annotated[str, _INCIDENT], user: Responder, response: Response,
                             background: _Background = False,
                             body: Annotated[BlastRadiusRequest | None, Body()] = None) -> dict[str, Any]:
        """Compute the incident's blast radius from `serve --source`, as `dataward incident blast-radius`."""
        given = body or BlastRadiusRequest()
        views.check_classification(given.classification)
        if background:
            response.status_code = 202
            return steps.start_blast_radius(plane, name, user, exposed=given.exposed,
                                            classification=given.classification, policy=app.state.policy)
        return steps.run_blast_radius(plane, name, user, exposed=given.exposed,
                                      classification=given.classification, policy=app.state.policy)

    @app.post(f"{API}/incidents/{{name}}/lookup")
    def build_lookup(name: Annotated[str, _INCIDENT], user: Responder, response: Response,
                     background: _Background = False) -> dict[str, Any]:
        """Build (or rebuild) the incident's "was I affected?" lookup site, as `dataward incident lookup build`."""
        if background:
            response.status_code = 202
            return steps.start_lookup(plane, name, user)
        return steps.run_lookup(plane, name, user)

    @app.post(f"{API}/incidents/{{name}}/respond", status_code=202)
    def respond(name: Annotated[str, _INCIDENT], user: Responder,
                body: Annotated[RespondRequest | None, Body()] = None) -> dict[str, Any]:
        """Run the response playbook of `serve --playbook` in the background, as `dataward incident respond`;
        the answer is the started job (`dataward.job/v1`), the incident document shows its progress."""
        return steps.start_respond(plane, name, user, dry_run=bool(body and body.dry_run))

    @app.post(f"{API}/incidents/{{name}}/notify", status_code=202)
    def notify(name: Annotated[str, _INCIDENT], user: Responder,
               body: Annotated[NotifyRequest | None, Body()] = None) -> dict[str, Any]:
        """Send the incident's notices through `serve --smtp` in the background, as `dataward incident notify`
        (each customer once, whatever runs before or after); the answer is the started job."""
        given = body or NotifyRequest()
        return steps.start_notify(plane, name, user, limit=given.limit, resend_uncertain=given.resend_uncertain,
                                  reconcile_log=given.reconcile_log)

    @app.get(f"{API}/audit", dependencies=[Depends(require("admin"))])
    def audit(limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> dict[str, Any]:
        return views.audit_document(plane, limit)

    @app.get(f"{API}/copies", dependencies=viewer)
    def copies(refresh: Annotated[bool, Query(description="Read the manifests now (else at most a minute old).")]
               = False) -> dict[str, Any]:
        return views.copies_document(app.state, datetime.now(UTC), refresh)

    @app.get(f"{API}/settings")
    def settings(user: Annotated[User, Depends(require("viewer"))]) -> dict[str, Any]:
        return views.settings_document(plane, app.state.policy, admin=user.allows("admin"))

    @app.post(f"{API}/sinks/{{index}}/test")
    def test_alert(index: Annotated[int, Path(ge=0, le=10_000, description="The sink's index in GET /api/v1/settings.")],
                   user: Admin) -> dict[str, Any]:
        return views.send_test_alert(plane, app.state.policy, index, user, datetime.now(UTC))

    @app.get(f"{API}/users", dependencies=[Depends(require("admin"))])
    def users() -> dict[str, Any]:
        return {"users": [{"name": u.name, "role": u.role, "disabled": u.disabled, "created_at": u.created_at,
                           "tokens": u.tokens, "must_change": u.must_change}
                          for u in accounts.list_users(app.state.db.engine)]}

    @app.get(f"{API}/events", dependencies=viewer, response_class=StreamingResponse,
             responses={200: {"content": {"text/event-stream": {}},
                              "description": "Server-Sent Events: exposed, fixed, unreachable, new_finding"}})
    async def event_stream(request: Request,
                           last_event_id: Annotated[str | None, Header(max_length=20)] = None) -> StreamingResponse:
        last = int(last_event_id) if last_event_id and last_event_id.isdigit() else None
        sub = plane.bus.subscribe(last)

        async def frames() -> AsyncIterator[str]:
            checked = sent = time.monotonic()
            try:
                yield "retry: 2000\n: connected\n\n"
                while True:
                    message = await sub.get(RECHECK_S)
                    if time.monotonic() - checked >= RECHECK_S:  # the session ended, the user was disabled: stop
                        if not await run_in_threadpool(still_allowed, request, "viewer"):
                            return
                        checked = time.monotonic()
                    if message is not None:
                        yield message.frame()
                        sent = time.monotonic()
                    elif await request.is_disconnected():
                        return
                    elif time.monotonic() - sent >= KEEPALIVE_S:
                        yield ": keep-alive\n\n"
                        sent = time.monotonic()
            except Closed:
                return
            finally:
                sub.close()

        return StreamingResponse(frames(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"})

    @app.get(f"{API}/openapi.json", dependencies=viewer, include_in_schema=False)
    def openapi() -> dict[str, Any]:
        return app.openapi()
