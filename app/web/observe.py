"""The edge's two outer layers: what each request is (its id, its access line) and the one
answer while PostgreSQL is away (503 with Retry-After, SERVICE_UNAVAILABLE).

`Observe` runs outside CORS, so every request gets an id and one access line; the caller's
`X-Request-Id` is kept (a fresh one is written into the request's headers when it has
none, so every layer below reads the same) and echoed. `DatabaseAway` runs inside CORS, so
a browser can read its 503. It answers 503 when the database hooks (app.web.database)
noted for this request that PostgreSQL could not be reached: the request's own answer is
dropped before it starts, whatever an endpoint made of the failure.
"""

from __future__ import annotations

import logging
import time

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import observe
from app.errors import ServiceUnavailableError
from app.logs import ACCESS_LOGGER
from schema.engine.http import error_body, json_response
from schema.engine.http_request import JSON, answer_type, request_id_of

log = logging.getLogger("accountflow.web")
access = logging.getLogger(ACCESS_LOGGER)

REQUEST_ID = b"x-request-id"
RETRY_AFTER_SECONDS = 5


def _request_id(scope: Scope) -> str:
    """The caller's id when it is safe, else a fresh one written into the headers."""
    request_id = request_id_of(HTTPConnection(scope))
    headers = scope["headers"]
    if (REQUEST_ID, request_id.encode()) not in headers:
        kept = [(name, value) for name, value in headers if name != REQUEST_ID]
        scope["headers"] = [*kept, (REQUEST_ID, request_id.encode())]
    return request_id


class Observe:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        observed = observe.Observed(_request_id(scope), scope["method"], scope["path"])
        token = observe.begin(observed)
        started, status = time.perf_counter(), 0

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                if not any(name.lower() == REQUEST_ID for name, _ in headers):
                    message["headers"] = [*headers, (REQUEST_ID, observed.request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, answer)
        except Exception:
            log.exception("unexpected error")
            if status:
                raise
            status = 500
            await _internal(scope, observed.request_id)(scope, receive, send)
        finally:
            _access_line(observed, status, time.perf_counter() - started)
            observe.end(token)


def _access_line(observed: observe.Observed, status: int, seconds: float) -> None:
    if not access.isEnabledFor(logging.INFO):  # LOG_LEVEL=WARNING: not even the fields
        return
    milliseconds = round(seconds * 1000, 2)
    message = f"{observed.method} {observed.path} {status} {milliseconds} ms"
    fields = {
        "method": observed.method,
        "path": observed.path,
        "status": status,
        "duration_ms": milliseconds,
        "cost": observed.cost,
        # Also stamped by app.logs.RequestContext, but the line stands without it.
        "request_id": observed.request_id,
        "operation": observed.operation,
        "role": observed.role,
    }
    access.info(message, extra=fields)


class DatabaseAway:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        observed = observe.current()
        if scope["type"] != "http" or observed is None:
            await self.app(scope, receive, send)
            return
        # The start of the answer waits for its first body part: a streamed CSV export
        # starts before it reads the database, and is still answered 503 if that fails.
        held: list[Message] = []
        state = {"sent": False, "replaced": False}

        async def answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                held.append(message)
                return
            if state["replaced"]:
                return
            if held:
                if observed.database_down:
                    state["replaced"] = True
                    await _unavailable(scope, observed.request_id)(scope, receive, send)
                    return
                state["sent"] = True
                await send(held.pop())
            await send(message)

        try:
            await self.app(scope, receive, answer)
        except Exception:
            if state["replaced"]:
                return  # answered already
            if state["sent"] or not observed.database_down:
                raise
            log.warning("PostgreSQL is unreachable: answered 503", exc_info=True)
            await _unavailable(scope, observed.request_id)(scope, receive, send)


def _internal(scope: Scope, request_id: str) -> ASGIApp:
    """Masked, as GraphQL's unexpected errors are; the line logged above has the details."""
    body = error_body("Internal error", "INTERNAL")
    body["errors"][0]["extensions"]["requestId"] = request_id
    return json_response(body, 500, request_id, answer_type(HTTPConnection(scope)) or JSON)


def _unavailable(scope: Scope, request_id: str) -> ASGIApp:
    error = ServiceUnavailableError()
    body = error_body(error.message, error.code)
    media_type = answer_type(HTTPConnection(scope)) or JSON
    headers = {"retry-after": str(RETRY_AFTER_SECONDS)}
    return json_response(body, 503, request_id, media_type, headers)
