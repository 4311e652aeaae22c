"""The web pages of ``dataward serve``: login and logout, then server-rendered pages (Jinja2, autoescaped).

Every page needs a session (:func:`dataward.serve.auth.require_page`); without one the browser is sent to
``/login``. Every form carries the session's CSRF token; a POST without it is refused (403). Buttons for a
step the caller's role may not run are not drawn, and the POST behind them checks the role again; every
change goes to the audit log with the user's name. The data comes from :mod:`dataward.serve.views` (the API's
library) and :mod:`dataward.serve.pages_data`; the overview, stores and findings pages are cached per state
version. The only script is ``static/dataward.js`` (the CSP forbids inline script): the "exposed now" banner
from the Server-Sent Events of ``/api/v1/events``, and an incident's progress, without a reload.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.exc import DataError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from dataward.errors import DatawardError
from dataward.serve import accounts, auth, pages_data, steps, views
from dataward.serve.auth import Caller, LoginRequired, form_of, require_page
from dataward.serve.sessions import Clock, same_token
from dataward.state.schema import stores as stores_t
from dataward.targets import redact_url

LOGIN_COOKIE = "dw_login"  # the login form's own CSRF token (double submit: cookie and form field)
STATIC = Path(__file__).parent / "static"
NAV = (("overview", "/", "Overview"), ("stores", "/stores", "Stores"), ("findings", "/findings", "Findings"),
       ("copies", "/copies", "Copies"), ("incidents", "/incidents", "Incidents"),
       ("settings", "/settings", "Settings"))
PAGES = ("/", "/stores", "/findings", "/copies", "/incidents", "/settings", auth.PASSWORD_PAGE)  # the route walk's

Viewer = Annotated[Caller, Depends(require_page("viewer"))]
Responder = Annotated[Caller, Depends(require_page("responder"))]
Admin = Annotated[Caller, Depends(require_page("admin"))]
Anyone = Annotated[Caller, Depends(require_page("viewer", one_time_ok=True))]  # a one-time password too
router = APIRouter(include_in_schema=False)


def install(app: FastAPI, clock: Clock | None = None) -> None:
    """Sessions, the pages, the static assets and the login redirect on ``app``."""
    auth.install(app, clock)
    app.state.page_cache = pages_data.VersionedCache()
    app.state.templates = Environment(loader=PackageLoader("dataward.serve", "templates"),
                                      autoescape=select_autoescape(default=True), auto_reload=False)
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(LoginRequired, _to_login)  # type: ignore[arg-type]
    app.add_exception_handler(auth.PasswordChangeRequired, _to_password)
    app.add_exception_handler(StarletteHTTPException, _error_page)  # type: ignore[arg-type]
    app.add_exception_handler(DataError, _data_error)


async def _to_login(request: Request, exc: LoginRequired) -> Response:
    return RedirectResponse(auth.login_url(exc.next_path), status_code=303)


async def _to_password(request: Request, exc: Exception) -> Response:
    return RedirectResponse(auth.PASSWORD_PAGE, status_code=303)


async def _error_page(request: Request, exc: StarletteHTTPException) -> Response:
    """The API and /healthz answer JSON; a page answers an HTML page with the same status."""
    if request.url.path.startswith("/api/") or request.url.path in ("/healthz",) or exc.status_code == 405:
        return await http_exception_handler(request, exc)
    session = auth.session_of(request)
    return render(request, "error.html", Caller(session.user, session) if session else None,
                  status=exc.status_code, code=exc.status_code, message=str(exc.detail),
                  headers=exc.headers)


async def _data_error(request: Request, exc: Exception) -> Response:
    """A value the database cannot take (PostgreSQL refuses a NUL character in text), in a filter, a path, a
    form or a body: the caller's mistake, a 400 (an API answer or a page), never a server error."""
    return await _error_page(request, StarletteHTTPException(400, "the request holds a value the database cannot "
                                                                  "store (a NUL character?)"))


def now(request: Request) -> datetime:
    clock: Clock = request.app.state.sessions.clock
    return clock()


def render(request: Request, template: str, caller: Caller | None, *, status: int = 200,
           headers: Mapping[str, str] | None = None, **context: Any) -> HTMLResponse:
    env: Environment = request.app.state.templates
    page = template.removesuffix(".html")
    body = env.get_template(template).render(
        request=request, caller=caller, user=caller.user if caller else None, csrf=caller.csrf if caller else "",
        can_respond=bool(caller and caller.user.allows("responder")),
        is_admin=bool(caller and caller.user.allows("admin")), nav=NAV, page=page, **context)
    return HTMLResponse(body, status_code=status, headers=headers)


def _set_cookie(request: Request, response: Response, name: str, value: str, path: str = "/") -> None:
    response.set_cookie(name, value, path=path, httponly=True, samesite="strict", secure=auth.secure(request))


# ---- login and logout -----------------------------------------------------------------------------------
@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    if auth.session_of(request) is not None:
        return RedirectResponse(auth.safe_next(next), status_code=303)
    return _login_form(request, next=auth.safe_next(next))


def _login_form(request: Request, *, next: str, error: str | None = None, status: int = 200,
                name: str = "") -> Response:
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", None, status=status, login_csrf=token, next=next, error=error,
                      name=name)
    _set_cookie(request, response, LOGIN_COOKIE, token, path="/login")
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    form = await form_of(request)
    next_path = auth.safe_next(form.get("next"))
    if not same_token(form.get(auth.CSRF_FIELD), request.cookies.get(LOGIN_COOKIE, "") or "\0"):
        raise HTTPException(403, "the login form's CSRF token is missing or wrong; reload the page and try again")
    name, password = form.get("name", "").strip(), form.get("password", "")
    address = request.client.host if request.client else "?"
    throttle = request.app.state.throttle
    if throttle.blocked(name, address):
        return _login_form(request, next=next_path, status=429, name=name,
                           error="Too many failed logins for this name; try again in 15 minutes.")
    user = await run_in_threadpool(accounts.verify_password, request.app.state.db.engine, name, password)
    if user is None:
        throttle.failed(name, address)
        return _login_form(request, next=next_path, status=401, name=name, error="Wrong name or password.")
    throttle.succeeded(name, address)
    store = auth.sessions(request)
    store.end(request.cookies.get(auth.cookie_name(request)))  # a new session id on every login
    store.purge()  # expired sessions go at the next login: the table holds live ones only
    cookie, _ = store.start(user)
    if user.must_change:  # a one-time password: choose a new one first, then on to where the user was going
        next_path = auth.PASSWORD_PAGE + ("" if next_path == "/" else f"?{urlencode({'next': next_path})}")
    response = RedirectResponse(next_path, status_code=303)
    _set_cookie(request, response, auth.cookie_name(request), cookie)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, caller: Anyone) -> Response:
    auth.sessions(request).end(request.cookies.get(auth.cookie_name(request)))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.cookie_name(request), path="/", secure=auth.secure(request), httponly=True,
                           samesite="strict")
    return response


# ---- one's own password (a one-time one first of all) ------------------------------------------------------
@router.get("/password")
def password_page(request: Request, caller: Anyone, next: str = "/") -> Response:
    return _password_form(request, caller, next=auth.safe_next(next))


def _password_form(request: Request, caller: Caller, *, next: str, status: int = 200,
                   error: str | None = None) -> Response:
    return render(request, "password.html", caller, status=status, error=error, next=next,
                  one_time=caller.user.must_change, min_length=accounts.MIN_PASSWORD, active="password")


@router.post("/password")
async def change_password(request: Request, caller: Anyone) -> Response:
    """Check the current password, set the new one (typed twice), audit it, end the user's other sessions."""
    form = await form_of(request)
    next_path, name = auth.safe_next(form.get("next")), caller.user.name
    address = request.client.host if request.client else "?"
    throttle = request.app.state.throttle
    if throttle.blocked(name, address):
        return _password_form(request, caller, next=next_path, status=429,
                              error="Too many wrong passwords for this name; try again in 15 minutes.")
    if form.get("new", "") != form.get("confirm", ""):
        return _password_form(request, caller, next=next_path, status=400, error="The two new passwords differ.")
    try:
        await run_in_threadpool(accounts.change_password, request.app.state.db.engine, name,
                                form.get("current", ""), form.get("new", ""))
    except DatawardError as exc:
        if isinstance(exc, accounts.WrongPassword):
            throttle.failed(name, address)
        return _password_form(request, caller, next=next_path, status=400, error=_sentence(exc.message))
    views.record(request.app.state.db.engine, caller.user, "user.password", name,
                 {"one_time": caller.user.must_change})
    store = auth.sessions(request)  # every session of the user ends, this one too: a copy of its cookie (stolen,
    store.end_others(name, None)    # or an admin's who knew the one-time password) must not outlive the change
    cookie, _ = store.start(accounts.get_user(request.app.state.db.engine, name))
    response = RedirectResponse(next_path, status_code=303)
    _set_cookie(request, response, auth.cookie_name(request), cookie)
    return response


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


# ---- pages ----------------------------------------------------------------------------------------------
@router.get("/")
def overview_page(request: Request, caller: Viewer) -> Response:
    plane = plane_of(request)

    def compute() -> dict[str, Any]:
        return pages_data.overview(plane.engine, now(request), pages_data.active_suppressions(plane.baseline))

    data = cache_of(request).get(("overview",), version(request), compute)
    return render(request, "overview.html", caller, **pages_data.with_ages(data, now(request)))


def cache_of(request: Request) -> pages_data.VersionedCache:
    cache: pages_data.VersionedCache = request.app.state.page_cache
    return cache


def version(request: Request) -> tuple[Any, ...]:
    return pages_data.state_version(request.app.state.db.engine, plane_of(request).baseline)


@router.get("/stores")
def stores_page(request: Request, caller: Viewer, state: str = "", kind: str = "", q: str = "") -> Response:
    data = cache_of(request).get(("stores", state, kind, q), version(request), lambda: pages_data.stores_list(
        request.app.state.db.engine, now(request), state=state or None, kind=kind or None, q=q or None))
    return render(request, "stores.html", caller, states=pages_data.STATES, **pages_data.with_ages(data, now(request)))


@router.get("/stores/{name}")
def store_page(request: Request, caller: Viewer, name: str) -> Response:
    data = pages_data.store_page(request.app.state.db.engine, name, now(request))
    if data is None:
        raise HTTPException(404, f"there is no store '{name}'")
    return render(request, "store.html", caller, **data)


@router.get("/copies")
def copies_page(request: Request, caller: Viewer, refresh: str = "") -> Response:
    """Every safe copy's manifest among the policy's stores (read at most once a minute: it opens each store)."""
    read_at, copies, read = views.copies_of(request.app.state, now(request), bool(refresh))
    return render(request, "copies.html", caller, copies=copies, read_at=read_at, stores=read,
                  has_policy=getattr(request.app.state, "policy", None) is not None)


@router.get("/settings")
def settings_page(request: Request, caller: Viewer) -> Response:
    return _settings(request, caller)


def _settings(request: Request, caller: Caller, *, status: int = 200, **extra: Any) -> Response:
    doc = views.settings_document(plane_of(request), getattr(request.app.state, "policy", None),
                                  admin=caller.user.allows("admin"))
    document = doc["policy"]
    return render(request, "settings.html", caller, status=status, policy=document,
                  policy_json=json.dumps(document, indent=2, sort_keys=True) if document else None,
                  source=doc["source"], sinks=doc["sinks"], users=doc.get("users", []), roles=accounts.ROLES,
                  audit=doc.get("audit", []), **extra)


@router.post("/settings/users")
async def add_user_form(request: Request, caller: Admin) -> Response:
    form = await form_of(request)
    try:
        user = await run_in_threadpool(partial(accounts.add_user, one_time=True), request.app.state.db.engine,
                                       form.get("name", ""), form.get("role", ""), form.get("password", ""))
    except DatawardError as exc:
        return _settings(request, caller, status=400, error=exc.message)
    views.record(request.app.state.db.engine, caller.user, "user.add", user.name,
                 {"role": user.role, "one_time": True})
    return _settings(request, caller, notice=f"User {user.name} added with the {user.role} role; the password "
                                             "you gave is one-time: they choose their own at their first login.")


@router.post("/settings/users/{name}/disable")
def disable_user_form(request: Request, caller: Admin, name: str) -> Response:
    try:
        accounts.disable_user(request.app.state.db.engine, name)
    except DatawardError as exc:
        return _settings(request, caller, status=400, error=exc.message)
    views.record(request.app.state.db.engine, caller.user, "user.disable", name, {})
    return _settings(request, caller, notice=f"User {name} disabled; their tokens and sessions no longer work.")


@router.post("/settings/users/{name}/password")
async def set_password_form(request: Request, caller: Admin, name: str) -> Response:
    """An admin sets someone's password: one-time (they choose their own at the next login); their sessions end."""
    form = await form_of(request)
    try:
        await run_in_threadpool(accounts.set_password, request.app.state.db.engine, name, form.get("password", ""))
    except DatawardError as exc:
        return _settings(request, caller, status=400, error=exc.message)
    views.record(request.app.state.db.engine, caller.user, "user.password_set", name, {"one_time": True})
    return _settings(request, caller, notice=f"The password of {name} was set; it is one-time: they choose their "
                                             "own at their next login, and their sessions have ended.")


@router.post("/settings/users/{name}/tokens")
def create_token_form(request: Request, caller: Admin, name: str) -> Response:
    try:
        token = accounts.create_token(request.app.state.db.engine, name)
    except DatawardError as exc:
        return _settings(request, caller, status=400, error=exc.message)
    views.record(request.app.state.db.engine, caller.user, "token.create", name, {})  # never the token
    return _settings(request, caller, new_token=token, token_user=name)


@router.post("/settings/alerts/{index}/test")
def test_alert_form(request: Request, caller: Admin, index: int) -> Response:
    try:
        sent = views.send_test_alert(plane_of(request), getattr(request.app.state, "policy", None), index,
                                     caller.user, now(request))
    except views.NotFound:
        raise HTTPException(404, "there is no such alert sink") from None
    except views.DeliveryFailed as exc:
        return _settings(request, caller, status=502, error=exc.message[:1].upper() + exc.message[1:])
    return _settings(request, caller, notice=f"A test alert was sent to {sent['sink']}.")


# ---- findings and incidents (the library: dataward.serve.views, the same functions as the API) -----------
SEVERITIES = ("critical", "high", "medium", "low", "info")
PAGE_SIZE = 100


def plane_of(request: Request) -> views.Plane:
    plane: views.Plane = request.app.state.plane
    return plane


@router.get("/findings")
def findings_page(request: Request, caller: Viewer, severity: str = "", store: str = "", rule: str = "",
                  category: str = "", state: str = "open", page: int = 1, cursor: str = "") -> Response:
    return _findings(request, caller, views.FindingFilter(severity or None, store or None, rule or None,
                                                          category or None, state or "open"), page, cursor)


def _findings(request: Request, caller: Caller, filters: views.FindingFilter, page: int = 1, cursor: str = "", *,
              status: int = 200, error: str | None = None) -> Response:
    """One page of the filter (worst first, counted and paged by the library in SQL): after ``cursor`` (the
    "Next" link's) when given, else page ``page`` by offset (a link to a page number)."""
    plane = plane_of(request)
    page = max(1, page)
    paged = replace(filters, limit=PAGE_SIZE, offset=0 if cursor else (page - 1) * PAGE_SIZE, cursor=cursor or None)
    try:
        doc = _findings_document(request, paged)
    except DatawardError as exc:  # a bad filter or cursor: the first page of the default list, and why
        page, error, status = 1, exc.message, 400
        doc = _findings_document(request, views.FindingFilter(limit=PAGE_SIZE))
    found, total, first = doc["findings"], int(doc["total"]), (page - 1) * PAGE_SIZE
    shown = {k: v for k, v in doc["filters"].items() if k not in ("limit", "offset", "cursor")}
    query = urlencode({k: v for k, v in shown.items() if v and not (k == "state" and v == "open")})
    with plane.engine.begin() as conn:
        names = [n for (n,) in conn.execute(select(stores_t.c.store).order_by(stores_t.c.store))]
    return render(request, "findings.html", caller, status=status, error=error, shown=found, total=total,
                  first=first + 1, query=query, filters=shown, stores=names, severities=SEVERITIES,
                  states=views.FINDING_STATES, baseline=doc.get("baseline") or "",
                  prev_page=page - 1 if page > 1 else None,
                  next_page=page + 1 if doc["next"] else None, next_cursor=doc["next"],
                  default_expiry=(now(request).date() + timedelta(days=90)).isoformat())


def _findings_document(request: Request, paged: views.FindingFilter) -> dict[str, Any]:
    plane = plane_of(request)
    doc: dict[str, Any] = cache_of(request).get(("findings", paged), version(request),
                                                lambda: views.findings_document(plane, paged))
    return doc


def _back(form: dict[str, str]) -> str:
    back = form.get("back", "")
    return "/findings" + (f"?{back}" if back and "/" not in back and "\\" not in back else "")


@router.post("/findings/{finding_id}/suppress")
async def suppress_form(request: Request, caller: Responder, finding_id: str) -> Response:
    form = await form_of(request)
    try:
        await run_in_threadpool(views.suppress_finding, plane_of(request), finding_id, form.get("reason", ""),
                                form.get("expires") or None, caller.user)
    except DatawardError as exc:
        return _findings(request, caller, views.FindingFilter(), status=400 if not isinstance(
            exc, views.NotFound) else 404, error=exc.message)
    return RedirectResponse(_back(form), status_code=303)


@router.post("/findings/{finding_id}/unsuppress")
async def unsuppress_form(request: Request, caller: Responder, finding_id: str) -> Response:
    form = await form_of(request)
    try:
        await run_in_threadpool(views.unsuppress_finding, plane_of(request), finding_id, caller.user)
    except DatawardError as exc:
        return _findings(request, caller, views.FindingFilter(), status=404, error=exc.message)
    return RedirectResponse(_back(form), status_code=303)


@router.get("/incidents")
def incidents_page(request: Request, caller: Viewer, store: str = "") -> Response:
    return _incidents(request, caller, store=store)


def _incidents(request: Request, caller: Caller, *, store: str = "", status: int = 200,
               error: str | None = None) -> Response:
    doc = views.incidents_document(plane_of(request))
    taken = {i["name"] for i in doc["incidents"]}
    recent = pages_data.recent_windows(request.app.state.db.engine, now(request), store=store or None)
    for w in recent:
        w["suggested"] = _free_name(w["suggested"], taken)
    return render(request, "incidents.html", caller, status=status, error=error, incidents=doc["incidents"],
                  windows=recent)


def _free_name(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name[:60]}-{n}", n + 1
    return candidate


@router.post("/incidents")
async def open_incident_form(request: Request, caller: Responder) -> Response:
    form = await form_of(request)
    window = form.get("window", "")
    plane = plane_of(request)
    try:
        if not window.isdigit():
            raise DatawardError("choose an exposure window to open the incident from")
        taken = {i["name"] for i in views.incidents_document(plane)["incidents"]}
        name = _free_name(form.get("name", "").strip(), taken) if form.get("name") else ""
        incident = await run_in_threadpool(views.open_incident, plane, name, caller.user, window_id=int(window))
    except DatawardError as exc:
        return _incidents(request, caller, status=404 if isinstance(exc, views.NotFound) else 400,
                          error=exc.message)
    return RedirectResponse(f"/incidents/{quote(incident['name'])}", status_code=303)


@router.post("/incidents/{name}/blast-radius")
async def compute_blast_radius_form(request: Request, caller: Responder, name: str) -> Response:
    """Compute the incident's blast radius from `serve --source` as a background job (``steps.start_blast_radius``,
    as the API's ``?background=true``); the page reloads itself when it ends."""
    policy = getattr(request.app.state, "policy", None)
    return await _incident_step(request, caller, name, partial(steps.start_blast_radius, policy=policy))


@router.post("/incidents/{name}/lookup")
async def build_lookup_form(request: Request, caller: Responder, name: str) -> Response:
    """Build (or rebuild) the incident's lookup site as a background job (``steps.start_lookup``), then its page,
    which reloads itself when the build ends."""
    return await _incident_step(request, caller, name, steps.start_lookup)


@router.post("/incidents/{name}/respond")
async def respond_form(request: Request, caller: Responder, name: str) -> Response:
    """Start the response playbook as a background job (``steps.start_respond``, as the API; ``dry_run=1``:
    count only), then the incident's page, where its progress shows."""
    dry_run = (await form_of(request)).get("dry_run") == "1"
    return await _incident_step(request, caller, name, partial(steps.start_respond, dry_run=dry_run))


@router.post("/incidents/{name}/notify")
async def notify_form(request: Request, caller: Responder, name: str) -> Response:
    """Start sending the notices as a background job (``steps.start_notify``, as the API), once the form's
    box confirms it (a click sends mail to every affected customer); ``resend_uncertain=1``: the uncertain ones
    are sent again too (`incident notify --resend-uncertain`), confirmed by its own box."""
    form = await form_of(request)
    resend = form.get("resend_uncertain") == "1"
    if form.get("confirm") != "1":
        button = "Resend uncertain notices" if resend else "Send notices"
        return _incident(request, caller, name, status=400,
                         error=f"Tick the box beside \"{button}\" to confirm sending them.")
    return await _incident_step(request, caller, name, partial(steps.start_notify, resend_uncertain=resend))


async def _incident_step(request: Request, caller: Caller, name: str,
                         step: Callable[[views.Plane, str, accounts.User], object]) -> Response:
    """Run (or start) one incident step as the caller, then show the incident's page (the step's error on it:
    409 while the same job runs, 400 otherwise; 404 when there is no such incident)."""
    try:
        await run_in_threadpool(step, plane_of(request), name, caller.user)
    except views.NotFound as exc:
        raise HTTPException(404, exc.message) from None
    except DatawardError as exc:
        status = 409 if isinstance(exc, views.Conflict) else 400
        return _incident(request, caller, name, status=status, error=exc.message)
    return RedirectResponse(f"/incidents/{quote(name)}", status_code=303)


@router.get("/incidents/{name}")
def incident_page(request: Request, caller: Viewer, name: str) -> Response:
    return _incident(request, caller, name)


def _incident(request: Request, caller: Caller, name: str, *, status: int = 200,
              error: str | None = None) -> Response:
    plane = plane_of(request)
    try:
        incident = views.incident_document(plane, name)
        radius: dict[str, Any] | None = views.blast_radius_document(plane, name) if incident["blast_radius"] \
            else None
    except views.NotFound as exc:
        raise HTTPException(404, exc.message) from None
    at = now(request)
    obligations = []
    for o in incident["obligations"]:
        left, overdue = pages_data.time_left(o.get("deadline"), at)
        obligations.append({**o, "left": left, "overdue": overdue})
    return render(request, "incident.html", caller, status=status, error=error, incident=incident, radius=radius,
                  obligations=obligations, respond=incident["respond"], notify=incident["notify"],
                  lookup=incident["lookup"], source=redact_url(plane.source) if plane.source else None,
                  jobs=incident["jobs"], playbook=Path(plane.steps.playbook).name if plane.steps.playbook else None,
                  smtp=redact_url(plane.steps.smtp) if plane.steps.smtp else None)
