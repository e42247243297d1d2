"""The /graphql endpoint: body limits, one session per request, error masking.

The edge (app.web) has authenticated the request already: the endpoint is handed the
token's principal and never reads the Authorization header.
"""

from __future__ import annotations

import contextlib
import logging
import time
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
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from app import metrics, observe
from app.auth.tokens import Principal
from app.kit import cursor
from app.replica import ReportDatabase
from app.settings import Settings
from schema import AccountflowSchema
from schema.context import Context
from schema.engine import graphiql, graphql_schema, multipart
from schema.engine.compiled import VISIBILITY_FALLBACK, CompiledReads, Statement, forbidden_paths
from schema.engine.documents import Documents, TooManyTokensError
from schema.engine.errors import error_order, format_error
from schema.engine.http_request import (
    GRAPHQL_RESPONSE,
    JSON,
    BadRequestError,
    Params,
    answer_type,
    check_content_type,
    operation_name,
    params_of,
    parse_body,
    query_params,
    read_body,
    request_id_of,
    wants_ide,
)
from schema.engine.limits import CostBudget
from schema.permissions import FORBIDDEN_MESSAGE

log = logging.getLogger("accountflow.graphql")

GET_OPERATIONS = frozenset({OperationType.QUERY})
POST_OPERATIONS = frozenset({OperationType.QUERY, OperationType.MUTATION})
EXECUTOR = "x-accountflow-executor"  # which path answered: compiled or graphql
FORBIDDEN = {"code": "FORBIDDEN"}


def json_response(
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


def error_body(message: str, code: str) -> dict[str, Any]:
    """A request refused before anything ran: its one error, and nothing charged."""
    return {
        "errors": [{"message": message, "extensions": {"code": code}}],
        "extensions": {"cost": 0},
    }


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
        engine = sessionmaker.kw.get("bind")
        assert isinstance(engine, AsyncEngine)
        self.engine = engine
        self.settings = settings
        self.reports = reports
        self.budget = budget or CostBudget(settings.limits.cost_per_minute)
        self.documents = Documents(graphql_schema(schema), settings.limits.max_tokens)

    def ide(self, request: Request) -> Response | None:
        """GraphiQL for a browser outside production: the one answer needing no token. Its
        assets are the app's own (/graphiql/static), none from another origin."""
        if request.method == "GET" and not self.settings.production and wants_ide(request):
            return HTMLResponse(graphiql.page())
        return None

    async def __call__(self, request: Request, principal: Principal) -> Response:
        request_id = request_id_of(request)
        media_type = answer_type(request)
        started = time.perf_counter()
        operation, outcome = "anonymous", "ok"
        uploads: list[multipart.UploadedFile] = []
        try:
            if media_type is None:
                raise BadRequestError(f"Accept {GRAPHQL_RESPONSE} or {JSON}.", status=406)
            params, uploads = await self._read(request)
            operation = metrics.operation_label(operation_name(params[0], params[2]))
            observe.note_operation(operation)
            get = request.method == "GET"
            response, outcome = await self._execute(principal, params, request_id, media_type, get)
            return response
        except (BadRequestError, multipart.UploadError) as error:
            outcome = "bad_request"
            body = error_body(str(error), "BAD_REQUEST")
            return json_response(body, error.status, request_id, media_type or JSON, error.headers)
        finally:
            multipart.cleanup(uploads)
            metrics.REQUESTS.labels(operation, outcome).inc()
            metrics.LATENCY.labels(operation).observe(time.perf_counter() - started)

    async def _read(self, request: Request) -> tuple[Params, list[multipart.UploadedFile]]:
        if request.method == "GET":
            return query_params(request), []
        if multipart.is_multipart(request):  # a file upload (startImport)
            limits = self.settings.limits
            payload, uploads = await multipart.read_operation(
                request,
                upload_dir=self.settings.data_dir / "uploads",
                max_bytes=limits.max_upload_bytes,
                max_field_bytes=limits.max_body_bytes,  # what a JSON body may hold
            )
            try:
                return params_of(payload), uploads
            except BadRequestError:
                multipart.cleanup(uploads)
                raise
        check_content_type(request)
        return parse_body(await read_body(request, self.settings.limits.max_body_bytes)), []

    async def _execute(
        self, principal: Principal, params: Params, request_id: str, media_type: str, get: bool
    ) -> tuple[Response, str]:
        user_id = principal.user.id
        wait = self.budget.retry_after(user_id)
        if wait is not None:
            message = "You spent your cost budget for the minute; retry later."
            body = error_body(message, "RATE_LIMITED")
            headers = {"retry-after": str(wait)}
            return json_response(body, 429, request_id, media_type, headers), "rate_limited"
        try:
            parsed = self.documents(params[0])  # once: both paths find it in the cache
        except TooManyTokensError as error:
            refused = ExecutionResult(data=None, errors=[error])
            return self._answer(refused, {"cost": 0}, request_id, media_type)
        except GraphQLError:
            parsed = None  # strawberry says what is wrong with it
        now = self.clock()
        if self.compiled is not None and parsed is not None:
            answer = await self._compiled(params, principal, now)
            if answer is not None:
                text, statement = answer
                self.budget.spend(user_id, statement.cost)
                observe.note_execution(cost=statement.cost, compiled=True)
                if statement.forbidden:
                    return self._forbidden_in_place(text, statement, request_id, media_type)
                return _compiled_response(text, statement.cost, request_id, media_type), "ok"
        result = await self._run(principal, params, request_id, now, get)
        extensions = dict(result.extensions or {})
        extensions.setdefault("cost", 0)
        self.budget.spend(user_id, extensions["cost"])
        observe.note_execution(cost=extensions["cost"], compiled=False)
        return self._answer(result, extensions, request_id, media_type)

    async def _run(
        self, principal: Principal, params: Params, request_id: str, now: datetime, get: bool
    ) -> ExecutionResult:
        """strawberry's answer. Queries run in a transaction too: reports rely on SET LOCAL
        (plan_cache_mode, work_mem), which does nothing outside one. Every way out ends in
        `_close`."""
        query, variables, name = params
        session = self.sessionmaker()
        try:
            context = await self._context(session, principal, request_id, now)
            try:
                return await self.schema.execute(
                    query,
                    variable_values=variables,
                    context_value=context,
                    operation_name=name,
                    allowed_operation_types=GET_OPERATIONS if get else POST_OPERATIONS,
                )
            except InvalidOperationTypeError:
                raise _refused_operation(get) from None
            except (MissingQueryError, CannotGetOperationTypeError) as e:
                raise BadRequestError(str(e) or "Cannot execute this operation.") from None
            finally:
                await context.settle()
        finally:
            await _close(session, request_id)

    async def _context(
        self, session: AsyncSession, principal: Principal, request_id: str, now: datetime
    ) -> Context:
        return Context(
            session=session,
            # The edge read the user in its own session: a copy of it belongs to this one, as
            # if loaded here (no statement).
            viewer=await session.merge(principal.user, load=False),
            token_id=principal.token_id,
            request_id=request_id,
            settings=self.settings,
            report_source=self.reports,
            now=now,
        )

    async def _compiled(
        self, params: Params, principal: Principal, now: datetime
    ) -> tuple[str, Statement] | None:
        """The compiled path's data (JSON text) and statement, or None for strawberry."""
        assert self.compiled is not None
        query, variables, name = params
        user = principal.user
        statement = self.compiled.statement(
            query, variables, name, role=user.role, viewer_id=user.id, now=now
        )
        if statement is None:
            return None
        try:
            # Outside a transaction: one statement is one snapshot, and one round trip.
            async with self.engine.connect() as connection:
                connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
                raw = (await connection.get_raw_connection()).driver_connection
                assert raw is not None
                text = await raw.fetchval(statement.sql, *statement.params)
        except (DBAPIError, asyncpg.PostgresError, OSError):
            log.exception("compiled statement failed; strawberry answers instead")
            metrics.COMPILED.labels("error").inc()
            return None
        if text == VISIBILITY_FALLBACK:  # a REP under TEAM or OWN: strawberry filters
            metrics.COMPILED.labels("visibility").inc()
            return None
        if text is None:  # a bug in the compiler: let strawberry answer, and say so
            log.error("compiled statement gave no data: %s", statement.sql)
            metrics.COMPILED.labels("error").inc()
            return None
        metrics.COMPILED.labels("compiled").inc()
        return cursor.seal_marked(text), statement

    def _forbidden_in_place(
        self, data: str, statement: Statement, request_id: str, media_type: str
    ) -> tuple[Response, str]:
        """A compiled answer with fields the role may not read: null in place (the SQL wrote
        it), and graphql-core's FORBIDDEN error at each place one stands. The one case where
        the data is parsed, to find those places."""
        parsed = orjson.loads(data)
        errors = [
            format_error(
                GraphQLError(FORBIDDEN_MESSAGE, list(nodes), path=path, extensions=FORBIDDEN),
                request_id,
                self.settings.production,
            )
            for path, nodes in forbidden_paths(parsed, statement.forbidden)
        ]
        errors.sort(key=error_order)
        payload: dict[str, Any] = {"data": parsed}
        if errors:  # none when no forbidden field's parent is in the data (an empty page)
            payload["errors"] = errors
        payload["extensions"] = {"cost": statement.cost}
        headers = {EXECUTOR: "compiled"}
        response = json_response(payload, 200, request_id, media_type, headers)
        return response, "error" if errors else "ok"

    def _answer(
        self, result: ExecutionResult, extensions: dict[str, Any], request_id: str, media: str
    ) -> tuple[Response, str]:
        production = self.settings.production
        errors = [format_error(e, request_id, production) for e in result.errors or []]
        errors.sort(key=error_order)
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
        response = json_response(payload, status, request_id, media, headers)
        return response, "error" if errors else "ok"


def _refused_operation(get: bool) -> BadRequestError:
    if get:
        return BadRequestError(
            "Only queries run on GET; send mutations with POST.",
            status=405,
            headers={"allow": "POST"},
        )
    return BadRequestError("Subscriptions are not served here.")


def _compiled_response(data: str, cost: int, request_id: str, media_type: str) -> Response:
    body = b'{"data":' + data.encode() + b',"extensions":{"cost":%d}}' % cost
    return Response(
        body,
        media_type=f"{media_type}; charset=utf-8",
        headers={"x-request-id": request_id, EXECUTOR: "compiled"},
    )
