"""The FastAPI application of ``dataward serve``: ``/healthz`` and the JSON API under ``/api/v1/``.

Routes are thin: :func:`require` authenticates the bearer token and checks the role, the handler calls the
library. Every answer carries the security headers (a CSP without inline script, no framing, no referrer, no
sniffing). Only ``/healthz`` answers without credentials, the OpenAPI document included.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from dataward.serve import accounts, views
from dataward.serve.accounts import User
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
_bearer = HTTPBearer(auto_error=False)


def require(role: str) -> Callable[..., User]:
    """A dependency: the user of the bearer token, if their role is ``role`` or above (401 / 403 otherwise)."""
    accounts.check_role(role)

    def dependency(request: Request,
                   credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> User:
        db: StateDB = request.app.state.db
        user = accounts.user_for_token(db.engine, credentials.credentials) if credentials else None
        if user is None:
            raise HTTPException(401, "authentication required", headers={"WWW-Authenticate": "Bearer"})
        if not user.allows(role):
            raise HTTPException(403, f"this needs the {role} role")
        return user

    return dependency


def create_app(db: StateDB) -> FastAPI:
    """The application over an open state database (the caller closes it)."""
    app = FastAPI(title="dataward", version="1", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.db = db
    app.middleware("http")(_security_headers)
    _routes(app)
    return app


async def _security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    response = await call_next(request)
    response.headers.update(SECURITY_HEADERS)
    return response


def _routes(app: FastAPI) -> None:
    viewer = [Depends(require("viewer"))]

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(f"{API}/stores", dependencies=viewer)
    def stores() -> dict[str, Any]:
        return views.stores_document(app.state.db.engine)

    @app.get(f"{API}/history", dependencies=viewer)
    def history(store: str | None = None) -> dict[str, Any]:
        return views.history_of(app.state.db, store)

    @app.get(f"{API}/users", dependencies=[Depends(require("admin"))])
    def users() -> dict[str, Any]:
        return {"users": [{"name": u.name, "role": u.role, "disabled": u.disabled, "created_at": u.created_at,
                           "tokens": u.tokens} for u in accounts.list_users(app.state.db.engine)]}

    @app.get(f"{API}/openapi.json", dependencies=viewer, include_in_schema=False)
    def openapi() -> dict[str, Any]:
        return app.openapi()
