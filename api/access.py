"""One log line per request, and the last word on anything that escaped the handlers.

A pure ASGI middleware (no buffering, no extra coroutine per request): it logs
``ADDRESS "METHOD PATH" STATUS MS user`` to the ``nodedesk.api.access`` logger once the
response has started, with the ``token`` query parameter's value replaced by ``***`` (a feed
token in a URL must not land in the log). A request body larger than :data:`MAX_BODY` is
refused (413), and an exception no handler took becomes a 500 problem response.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

from . import problems

access_log = logging.getLogger("nodedesk.api.access")
MAX_BODY = 1_000_000  # bytes


class BodyTooLarge(Exception):
    pass


def redacted_query(query: bytes) -> str:
    if not query:
        return ""
    try:
        pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    except ValueError:
        return "?<unreadable>"
    if not any(k == "token" for k, _ in pairs):
        return "?" + query.decode("latin-1")
    return "?" + urlencode([(k, "***" if k == "token" else v) for k, v in pairs], safe="*")


class AccessLog:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 0}
        length = _content_length(scope)
        if length is not None and length > MAX_BODY:
            await _send_problem(scope, send, 413, f"the request body is larger than {MAX_BODY} bytes")
            self._log(scope, 413, started)
            return
        seen = {"bytes": 0}

        async def counted_receive() -> dict[str, Any]:
            message = await receive()
            if message.get("type") == "http.request":
                seen["bytes"] += len(message.get("body", b""))
                if seen["bytes"] > MAX_BODY:
                    raise BodyTooLarge
            return message

        async def watched_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge:
            if not status["code"]:
                status["code"] = 413
                await _send_problem(scope, send, 413, f"the request body is larger than {MAX_BODY} bytes")
        except Exception as exc:
            if not status["code"]:
                status["code"] = 500
                response = problems.unexpected(None, exc)
                await response(scope, receive, send)
            else:
                problems.log.error("error after the response started", exc_info=exc)
        self._log(scope, status["code"], started)

    def _log(self, scope: dict[str, Any], code: int, started: float) -> None:
        if not access_log.isEnabledFor(logging.INFO):
            return
        client = scope.get("client") or ("-", 0)
        user = (scope.get("state") or {}).get("user") or "-"
        path = scope.get("path", "") + redacted_query(scope.get("query_string", b""))
        ms = (time.perf_counter() - started) * 1000
        access_log.info('%s "%s %s" %s %.1fms %s', client[0], scope.get("method"), path, code, ms, user)


def _content_length(scope: dict[str, Any]) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_problem(scope: dict[str, Any], send: Any, status: int, detail: str) -> None:
    response = problems.problem_response(None, status, detail)

    async def no_receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    await response(scope, no_receive, send)
