"""Refusals as RFC 9457 problem responses (``application/problem+json``).

The one mapping from what stopped a unit of work to an HTTP answer, as tui/kit/errors.py is
for the console: a core refusal keeps its one line naming the field and the rule; a database
wait that ran out is "busy" (503, try again); anything else is an internal error whose details
stay in the server's log.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from nodedesk.core.db.engine import busy_error
from nodedesk.core.errors import (
    BusyError,
    ConflictError,
    LockedError,
    NodedeskError,
    NotFoundError,
    NotInitializedError,
    PermissionDenied,
    SchemaOutdatedError,
    ValidationError,
)
from nodedesk.core.safetext import one_line
from nodedesk.core.services.site.api_tokens import TokenRefused
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

MEDIA_TYPE = "application/problem+json"
DETAIL_MAX = 400
log = logging.getLogger("nodedesk.api")

TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid input",
    428: "Precondition required",
    429: "Too many failed logins",
    500: "Internal error",
    503: "Try again",
}
# A problem's type names its kind; the detail says what exactly was refused.
TYPES = {
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    409: "conflict",
    412: "stale-version",
    415: "not-json",
    422: "invalid",
    428: "version-required",
    429: "rate-limited",
    500: "internal",
    503: "busy",
}


class Problem(Exception):
    """A refusal decided by the API layer itself (not by a core service)."""

    def __init__(
        self, status: int, detail: str, *, field: str | None = None, headers: dict[str, str] | None = None
    ):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.field = field
        self.headers = headers or {}


def problem_response(
    request: Request | None,
    status: int,
    detail: str,
    *,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, object] = {
        "type": f"urn:nodedesk:problem:{TYPES.get(status, 'error')}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": one_line(detail, max_len=DETAIL_MAX),
    }
    if field:
        body["field"] = one_line(field, max_len=100)
    if request is not None:
        body["instance"] = request.url.path
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


# Path parameters name the resource itself: a missing one is 404; any other missing reference
# (a node in a body, a filter naming no node) is input the server cannot process: 422.
PATH_FIELDS = frozenset({"id", "name", "period", "window", "outage"})


def status_of(exc: NodedeskError) -> int:
    if isinstance(exc, TokenRefused):
        return 401
    if isinstance(exc, PermissionDenied):
        return 403
    if isinstance(exc, NotFoundError):
        return 404 if exc.field in PATH_FIELDS else 422
    if isinstance(exc, BusyError):
        return 503
    if isinstance(exc, ConflictError):
        return 412 if exc.field == "version" else 409
    if isinstance(exc, LockedError):
        return 409
    if isinstance(exc, ValidationError):
        return 422
    if isinstance(exc, NotInitializedError | SchemaOutdatedError):
        return 503
    return 422


def refusal(request: Request | None, exc: NodedeskError) -> JSONResponse:
    status = status_of(exc)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="nodedesk"'
    if status == 503:
        headers["Retry-After"] = "1"
    return problem_response(request, status, exc.message, field=exc.field, headers=headers)


def unexpected(request: Request | None, exc: BaseException) -> JSONResponse:
    """A database error or a bug: one line to the client, the traceback to the server's log."""
    if isinstance(exc, SQLAlchemyError):
        busy = busy_error(exc)
        if busy is not None:
            return refusal(request, busy)
    where = request.url.path if request is not None else "?"
    log.error("internal error on %s: %s", where, type(exc).__name__, exc_info=exc)
    return problem_response(request, 500, f"internal error ({type(exc).__name__}); see the server's log")


def _field_of(loc: tuple[object, ...]) -> str:
    """``("body", "scope", "nodes", 0)`` → ``scope.nodes[0]``; ``("query", "limit")`` → ``limit``."""
    parts = [p for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "body"


def validation_problem(request: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {"loc": ("body",), "msg": "invalid request"}
    kind = request.headers.get("content-type", "")
    if tuple(first.get("loc", ()))[:1] == ("body",) and kind and "json" not in kind.lower():
        return problem_response(
            request,
            415,
            "send the body as JSON, with Content-Type: application/json (curl --json)",
            field="body",
        )
    field = _field_of(tuple(first.get("loc", ())))
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    return problem_response(request, 422, f"{field}: {message}", field=field)


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc.status, exc.detail, field=exc.field, headers=exc.headers)

    @app.exception_handler(NodedeskError)
    async def _refused(request: Request, exc: NodedeskError) -> JSONResponse:
        return refusal(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_problem(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(
            request, exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(TokenRefused)
    async def _unauthenticated(request: Request, exc: TokenRefused) -> JSONResponse:
        limiter = request.app.state.api.limiter
        limiter.failed(request.client.host if request.client else "unknown")
        return refusal(request, exc)

    @app.exception_handler(SQLAlchemyError)
    async def _database(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        return unexpected(request, exc)
