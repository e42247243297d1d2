"""The /graphql endpoint: body limits, bearer auth, one session per request, error masking."""

from __future__ import annotations

import contextlib
import logging
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from graphql import GraphQLError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.exceptions import MissingQueryError
from strawberry.http.ides import get_graphql_ide_html
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from app import metrics
from app.auth import tokens
from app.db import expected_error
from app.replica import ReportDatabase
from app.settings import Settings
from schema import AccountflowSchema
from schema.context import Context
from schema.engine import multipart
from schema.engine.compiled import CompiledReads, Statement, forbidden_paths
from schema.engine.limits import CostBudget
from schema.permissions import FORBIDDEN_MESSAGE

log = logging.getLogger("accountflow.graphql")

INTERNAL = "Internal error"
GET_OPERATIONS = frozenset({OperationType.QUERY})
POST_OPERATIONS = frozenset({OperationType.QUERY, OperationType.MUTATION})


JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?\s*$", re.DOTALL)


class BadRequestError(Exception):
    def __init__(
        self, message: str, status: int = 400, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


def request_id_of(request: Request) -> str:
    """The client's X-Request-Id when it is at most 64 safe characters, else a fresh one."""
    given = request.headers.get("x-request-id")
    return given if given and SAFE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def _media_types(header: str) -> list[tuple[str, float]]:
    found = []
    for entry in header.split(","):
        media, *params = (part.strip() for part in entry.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media and quality > 0:
            found.append((media.lower(), quality))
    return found


def answer_type(request: Request) -> str | None:
    """The media type of the answer, or None when the client accepts no JSON at all."""
    header = request.headers.get("accept", "").strip()
    if not header:
        return JSON
    best: tuple[float, int, str] | None = None
    for media, quality in _media_types(header):
        if media == GRAPHQL_RESPONSE:
            candidate = (quality, 1, GRAPHQL_RESPONSE)
        elif media in (JSON, "application/*", "*/*"):
            candidate = (quality, 0, JSON)
        else:
            continue
        if best is None or candidate > best:
            best = candidate
    return best[2] if best else None


def wants_ide(request: Request) -> bool:
    """A browser opening the endpoint: asks for HTML over JSON, sends no query."""
    if "query" in request.query_params:
        return False
    types = dict(_media_types(request.headers.get("accept", "")))
    html = types.get("text/html", 0.0)
    return html > 0 and html >= max(types.get(JSON, 0.0), types.get(GRAPHQL_RESPONSE, 0.0))


def _json(
    payload: Any,
    status: int = 200,
    request_id: str | None = None,
    media_type: str = JSON,
    headers: dict[str, str] | None = None,
) -> Response:
    headers = dict(headers or {})
    if request_id:
        headers["x-request-id"] = request_id
    return Response(
        orjson.dumps(payload),
        status_code=status,
        media_type=f"{media_type}; charset=utf-8",
        headers=headers,
    )


def _error_body(message: str, code: str) -> dict[str, Any]:
    return {
        "errors": [{"message": message, "extensions": {"code": code}}],
        "extensions": {"cost": 0},
    }


def _check_content_type(request: Request) -> None:
    media, *params = (
        part.strip().lower() for part in request.headers.get("content-type", "").split(";")
    )
    if media != JSON:
        raise BadRequestError("Send the request as application/json.", status=415)
    for param in params:
        key, _, value = param.partition("=")
        if key.strip() == "charset" and value.strip().strip('"') not in ("utf-8", "utf8"):
            raise BadRequestError("Send the request encoded as utf-8.", status=415)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BadRequestError(f"Request body over {limit} bytes.", status=413)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadRequestError(f"Request body over {limit} bytes.", status=413)
        chunks.append(chunk)
    return b"".join(chunks)


Params = tuple[str, dict[str, Any] | None, str | None]


def _parse(body: bytes) -> Params:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequestError("The body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise BadRequestError("The body must be a JSON object.")
    return _params(payload)


def _query_params(request: Request) -> Params:
    """GET: ?query=&variables=&operationName=&extensions= (the maps as JSON strings)."""
    raw: dict[str, Any] = dict(request.query_params)
    for key in ("variables", "extensions"):
        if raw.get(key):
            try:
                raw[key] = orjson.loads(raw[key])
            except orjson.JSONDecodeError:
                raise BadRequestError(f"'{key}' must be a JSON object.") from None
        else:
            raw.pop(key, None)
    return _params(raw)


def _params(payload: dict[str, Any]) -> Params:
    query, variables = payload.get("query"), payload.get("variables")
    name, extensions = payload.get("operationName"), payload.get("extensions")
    if not isinstance(query, str) or not query:
        raise BadRequestError("The request needs a 'query' string.")
    if variables is not None and not isinstance(variables, dict):
        raise BadRequestError("'variables' must be a JSON object.")
    if name is not None and not isinstance(name, str):
        raise BadRequestError("'operationName' must be a string.")
    if extensions is not None and not isinstance(extensions, dict):
        raise BadRequestError("'extensions' must be a JSON object.")
    return query, variables, name or None


_OPERATION_NAME = re.compile(r"^\s*(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)")


def _operation_name(query: str, name: str | None) -> str | None:
    if name:
        return name
    found = _OPERATION_NAME.match(query)
    return found.group(1) if found else None


def _format_error(error: GraphQLError, request_id: str, production: bool) -> dict[str, Any]:
    original = error.original_error
    expected = None if original is None else expected_error(original)
    if expected is not None:
        log.info("%s [request %s] at %s: %s", expected.code, request_id, error.path, original)
        extensions = {"code": expected.code, "field": expected.field, "requestId": request_id}
        error = GraphQLError(
            expected.message, nodes=error.nodes, path=error.path, extensions=extensions
        )
    elif error.path is None and isinstance(original, ValueError | TypeError | ArithmeticError):
        # A scalar refusing a literal written in the document, found by validation before
        # anything ran: the client's mistake, told as graphql-core words it.
        log.info("invalid literal [request %s]: %s", request_id, original)
    elif original is not None and not isinstance(original, GraphQLError):
        log.error(
            "unexpected error [request %s] at %s",
            request_id,
            error.path,
            exc_info=(type(original), original, original.__traceback__),
        )
        error = GraphQLError(
            INTERNAL,
            nodes=error.nodes,
            path=error.path,
            extensions={"code": "INTERNAL", "requestId": request_id},
        )
    formatted: dict[str, Any] = error.formatted  # type: ignore[assignment]
    if production:  # no "Did you mean 'x'?": they spell out the schema to a stranger
        formatted["message"] = SUGGESTION.sub("", formatted["message"])
    return formatted


async def _close(session: AsyncSession, request_id: str) -> None:
    """End the request's transaction; close() does it like rollback() without expiring every
    loaded row one by one first.

    A field that failed while a sibling's DataLoader was mid-statement can leave the
    connection unusable; the answer is already made, so drop the connection, not the answer.
    """
    try:
        await session.close()
    except (DBAPIError, asyncpg.InterfaceError) as error:
        log.warning("dropping a broken connection [request %s]: %s", request_id, error)
        with contextlib.suppress(DBAPIError, asyncpg.InterfaceError):
            await session.invalidate()


def _utc_now() -> datetime:
    return datetime.now(UTC)


class GraphQLEndpoint:
    """GraphQL over HTTP (graphql.github.io/graphql-over-http): POST, and GET for queries.

    Answers `application/graphql-response+json` when the client accepts it (request
    errors then 400, without `data`), else `application/json` (always 200 once the
    request is well-formed, as before).
    """

    def __init__(
        self,
        schema: AccountflowSchema,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        reports: ReportDatabase | None = None,
        budget: CostBudget | None = None,
        clock: Callable[[], datetime] | None = None,
        compiled: CompiledReads | None = None,
    ) -> None:
        self.schema = schema
        self.compiled = compiled
        self.clock = clock or _utc_now
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.reports = reports
        self.budget = budget or CostBudget(settings.limits.cost_per_minute)

    async def __call__(self, request: Request) -> Response:
        if request.method == "GET" and not self.settings.production and wants_ide(request):
            return HTMLResponse(get_graphql_ide_html())
        request_id = request_id_of(request)
        media_type = answer_type(request)
        started = time.perf_counter()
        operation = "anonymous"
        outcome = "ok"
        uploads: list[multipart.UploadedFile] = []
        try:
            if media_type is None:
                raise BadRequestError(f"Accept {GRAPHQL_RESPONSE} or {JSON}.", status=406)
            token = tokens.bearer_token(request.headers.get("authorization"))
            if token is None:
                outcome = "unauthorized"
                body = _error_body("Missing bearer token.", "UNAUTHENTICATED")
                return _json(body, 401, request_id, media_type)
            if request.method == "GET":
                params = _query_params(request)
            elif multipart.is_multipart(request):  # a file upload (startImport)
                payload, uploads = await multipart.read_operation(
                    request,
                    upload_dir=self.settings.data_dir / "uploads",
                    max_bytes=self.settings.limits.max_upload_bytes,
                )
                params = _params(payload)
            else:
                _check_content_type(request)
                params = _parse(await _read_body(request, self.settings.limits.max_body_bytes))
            query, _, name = params
            operation = metrics.operation_label(_operation_name(query, name))
            response, outcome = await self._execute(
                token, params, request_id, media_type, request.method == "GET"
            )
            return response
        except (BadRequestError, multipart.UploadError) as error:
            outcome = "bad_request"
            body = _error_body(str(error), "BAD_REQUEST")
            return _json(body, error.status, request_id, media_type or JSON, error.headers)
        finally:
            multipart.cleanup(uploads)
            metrics.REQUESTS.labels(operation, outcome).inc()
            metrics.LATENCY.labels(operation).observe(time.perf_counter() - started)

    async def _execute(
        self, token: str, params: Params, request_id: str, media_type: str, get: bool
    ) -> tuple[Response, str]:
        query, variables, name = params
        # Queries run in a transaction too: reports rely on SET LOCAL (plan_cache_mode,
        # work_mem), which does nothing outside one. Every way out ends in `_close`.
        session = self.sessionmaker()
        try:
            principal = await tokens.authenticate(session, token)
            if principal is None:
                body = _error_body("Invalid, expired or revoked token.", "UNAUTHENTICATED")
                return _json(body, 401, request_id, media_type), "unauthorized"
            if principal.use_is_stale:
                await tokens.record_use(session, principal.token_id)
                await session.commit()
            wait = self.budget.retry_after(principal.token_id)
            if wait is not None:
                body = _error_body(
                    "This token spent its cost budget for the minute; retry later.",
                    "RATE_LIMITED",
                )
                headers = {"retry-after": str(wait)}
                return _json(body, 429, request_id, media_type, headers), "rate_limited"
            now = self.clock()
            if self.compiled is not None:
                if session.in_transaction():  # the token was read: free that connection
                    await session.close()
                answer = await self._compiled(params, principal, session, now)
                if answer is not None:
                    text, statement = answer
                    self.budget.charge(principal.token_id, statement.cost)
                    if statement.forbidden:
                        return self._forbidden_in_place(text, statement, request_id, media_type)
                    return _compiled_response(text, statement.cost, request_id, media_type), "ok"
            context = Context(
                session=session,
                viewer=principal.user,
                token_id=principal.token_id,
                request_id=request_id,
                settings=self.settings,
                report_source=self.reports,
                now=now,
            )
            try:
                result = await self.schema.execute(
                    query,
                    variable_values=variables,
                    context_value=context,
                    operation_name=name,
                    allowed_operation_types=GET_OPERATIONS if get else POST_OPERATIONS,
                )
            except InvalidOperationTypeError:
                if get:
                    raise BadRequestError(
                        "Only queries run on GET; send mutations with POST.",
                        status=405,
                        headers={"allow": "POST"},
                    ) from None
                raise BadRequestError("Subscriptions are not served here.") from None
            except (MissingQueryError, CannotGetOperationTypeError) as e:
                raise BadRequestError(str(e) or "Cannot execute this operation.") from None
            finally:
                await context.settle()
        finally:
            await _close(session, request_id)
        extensions = dict(result.extensions or {})
        extensions.setdefault("cost", 0)
        self.budget.charge(principal.token_id, extensions["cost"])
        return self._answer(result, extensions, request_id, media_type)

    async def _compiled(
        self, params: Params, principal: tokens.Principal, session: AsyncSession, now: datetime
    ) -> tuple[str, Statement] | None:
        """The compiled path's data (JSON text) and statement, or None for strawberry."""
        assert self.compiled is not None
        query, variables, name = params
        statement = self.compiled.statement(
            query, variables, name, role=principal.user.role, viewer_id=principal.user.id, now=now
        )
        if statement is None:
            return None
        engine = session.bind
        assert isinstance(engine, AsyncEngine)
        try:
            # Outside a transaction: one statement is one snapshot, and one round trip.
            async with engine.connect() as connection:
                connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
                raw = (await connection.get_raw_connection()).driver_connection
                assert raw is not None
                text = await raw.fetchval(statement.sql, *statement.params)
        except (DBAPIError, asyncpg.PostgresError, OSError):
            log.exception("compiled statement failed; strawberry answers instead")
            metrics.COMPILED.labels("error").inc()
            return None
        if text is None:  # a bug in the compiler: let strawberry answer, and say so
            log.error("compiled statement gave no data: %s", statement.sql)
            metrics.COMPILED.labels("error").inc()
            return None
        metrics.COMPILED.labels("compiled").inc()
        return text, statement

    def _forbidden_in_place(
        self, data: str, statement: Statement, request_id: str, media_type: str
    ) -> tuple[Response, str]:
        """A compiled answer with fields the role may not read: null in place (the SQL wrote
        it), and graphql-core's FORBIDDEN error at each place one stands. The one case where
        the data is parsed, to find those places."""
        parsed = orjson.loads(data)
        errors = [
            _format_error(
                GraphQLError(FORBIDDEN_MESSAGE, list(nodes), path=path, extensions=FORBIDDEN),
                request_id,
                self.settings.production,
            )
            for path, nodes in forbidden_paths(parsed, statement.forbidden)
        ]
        errors.sort(key=_error_order)
        payload: dict[str, Any] = {"data": parsed}
        if errors:  # none when no forbidden field's parent is in the data (an empty page)
            payload["errors"] = errors
        payload["extensions"] = {"cost": statement.cost}
        headers = {EXECUTOR: "compiled"}
        return _json(payload, 200, request_id, media_type, headers), "error" if errors else "ok"

    def _answer(
        self, result: ExecutionResult, extensions: dict[str, Any], request_id: str, media: str
    ) -> tuple[Response, str]:
        production = self.settings.production
        errors = [_format_error(e, request_id, production) for e in result.errors or []]
        errors.sort(key=_error_order)
        # A request error (parse, validation, variables, cost): nothing was executed.
        refused = result.data is None and bool(errors) and all("path" not in e for e in errors)
        payload: dict[str, Any] = {}
        if not (refused and media == GRAPHQL_RESPONSE):
            payload["data"] = result.data
        if errors:
            payload["errors"] = errors
        payload["extensions"] = extensions
        status = 400 if refused and media == GRAPHQL_RESPONSE else 200
        headers = {EXECUTOR: "graphql"}
        return _json(payload, status, request_id, media, headers), "error" if errors else "ok"


EXECUTOR = "x-accountflow-executor"  # which path answered: compiled or graphql
FORBIDDEN = {"code": "FORBIDDEN"}


def _error_order(error: dict[str, Any]) -> tuple[Any, ...]:
    """Errors in document order: request errors first, then by the field's place in the
    document and the path's list indices (graphql-core's order follows its scheduling)."""
    path = error.get("path")
    if path is None:
        return (0,)
    location = (error.get("locations") or [{}])[0]
    steps = tuple((0, step, "") if isinstance(step, int) else (1, 0, step) for step in path)
    return (1, location.get("line", 0), location.get("column", 0), steps)


def _compiled_response(data: str, cost: int, request_id: str, media_type: str) -> Response:
    body = b'{"data":' + data.encode() + b',"extensions":{"cost":%d}}' % cost
    return Response(
        body,
        media_type=f"{media_type}; charset=utf-8",
        headers={"x-request-id": request_id, EXECUTOR: "compiled"},
    )
