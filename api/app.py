"""The FastAPI application: one :class:`Api` per process over one core :class:`Runtime`.

Endpoints are plain (synchronous) functions, run in the server's thread pool, each opening one
unit of work as the request's token (``api.read(request)`` / ``api.write(request)``) and calling
core services, exactly as a console command does (help/api.md).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from nodedesk.core.context import ServiceContext
from nodedesk.core.headmemo import HeadMemo
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.site import api_tokens
from nodedesk.core.services.site.api_tokens import Presented, TokenRefused

from nodedesk import __version__

from . import problems, ratelimit
from .access import AccessLog
from .ratelimit import FailedLogins

log = logging.getLogger("nodedesk.api")
PREFIX = "/api/v1"
# How often this process writes a token's last-used time (core/services/api_tokens.py).
TOUCH_EVERY_S = 60.0

bearer = HTTPBearer(
    auto_error=False,
    description="An API token (`nodedesk token create`), sent as `Authorization: Bearer ndk_...`.",
)


@dataclass
class Api:
    """What every request of this process shares: the runtime and the failed-login counts."""

    runtime: Runtime
    limiter: FailedLogins = field(default_factory=FailedLogins)
    audit_check_every_s: float = 600.0
    _touched: dict[str, float] = field(default_factory=dict)
    _touch_lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def read(self, request: Request) -> Iterator[ServiceContext]:
        presented = request.state.presented
        with self.runtime.read(token=presented) as ctx:
            request.state.user = ctx.actor.audit_name
            now = ctx.now()
            yield ctx
        self.note_use(presented, now)

    @contextmanager
    def write(self, request: Request, *, dry_run: bool = False) -> Iterator[ServiceContext]:
        presented = request.state.presented
        with self.runtime.write(token=presented, dry_run=dry_run) as ctx:
            request.state.user = ctx.actor.audit_name
            now = ctx.now()
            yield ctx
        self.note_use(presented, now)

    def note_use(self, presented: Presented, now: datetime) -> None:
        """The token's last-used time, written at most once a minute per token and process."""
        tick = time.monotonic()
        with self._touch_lock:
            if tick - self._touched.get(presented.secret, -TOUCH_EVERY_S) < TOUCH_EVERY_S:
                return
            self._touched[presented.secret] = tick
        try:
            with self.runtime.database.write() as session:
                api_tokens.note_use(session, presented.secret, now)
        except Exception as exc:  # advisory: never fail the request for it
            log.warning("could not record the token's last use: %s", type(exc).__name__)


def api_of(request: Request) -> Api:
    return request.app.state.api


ApiDep = Annotated[Api, Depends(api_of)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _guard(request: Request, api: Api) -> None:
    wait = api.limiter.blocked_for(client_address(request))
    if wait:
        raise problems.Problem(
            429,
            f"too many failed logins from this address; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )


def presented_token(request: Request, credentials: Credentials, api: ApiDep) -> Presented:
    """The request's bearer token (identity comes from it alone, never from other headers)."""
    _guard(request, api)
    if credentials is None or not credentials.credentials.strip():
        raise TokenRefused(
            "this needs an API token: send 'Authorization: Bearer ndk_...' (see 'nodedesk help api')",
            field="token",
        )
    presented = Presented(credentials.credentials)
    request.state.presented = presented
    return presented


def feed_token(request: Request, token: str | None, api: Api) -> Presented:
    """The calendar feed's token: in the URL (a feed token), or in the header (any token)."""
    _guard(request, api)
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        presented = Presented(value.strip(), calendar=True)
    elif token:
        presented = Presented(token, calendar=True, in_url=True)
    else:
        raise TokenRefused(
            "this needs a feed token: add ?token=ndk_... to the URL (see 'nodedesk help api')", field="token"
        )
    request.state.presented = presented
    return presented


def create_app(runtime: Runtime, *, audit_check_every_s: float = 600.0) -> FastAPI:
    app = FastAPI(
        title="nodedesk",
        version=__version__,
        summary="Maintenance windows, outages, node status, invoices, a live calendar and metrics.",
        description=(
            "Every request acts as its API token's user, with that user's roles, through the "
            "same rules and audit as the console. Times without an offset are site time. "
            "Refusals are RFC 9457 problem documents naming the field and the rule. "
            "See `nodedesk help api`."
        ),
    )
    if runtime.memo is None:  # results kept while nothing changed (core/headmemo.py)
        runtime.memo = HeadMemo()
    # failed logins counted once for all the server's workers (api/ratelimit.py)
    limiter = ratelimit.shared(runtime.config.site_dir)
    app.state.api = Api(runtime, limiter=limiter, audit_check_every_s=audit_check_every_s)
    problems.install(app)
    from .routes import feeds, records, windows

    app.include_router(windows.router, prefix=PREFIX)
    app.include_router(records.router, prefix=PREFIX)
    app.include_router(feeds.router)

    @app.get(f"{PREFIX}/health", tags=["service"], summary="Liveness: the server answers (no token)")
    def health() -> dict[str, Any]:
        return {"ok": True}

    app.add_middleware(AccessLog)
    return app


def app_from_env() -> FastAPI:
    """The application a ``nodedesk serve`` worker runs (uvicorn's factory): the site is found
    the same way as for the console (the environment, the service account's files)."""
    runtime = Runtime.from_env()
    runtime.check_schema()
    return create_app(runtime)
