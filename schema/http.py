"""The /graphql endpoint: body limits, bearer auth, one session per request, error masking."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

import orjson
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.exceptions import MissingQueryError
from strawberry.http.ides import get_graphql_ide_html
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from app import metrics
from app.auth import service as auth
from app.settings import Settings
from schema import AccountflowSchema, multipart
from schema.context import Context

log = logging.getLogger("accountflow.graphql")

INTERNAL = "Internal error"


class BadRequestError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _json(payload: Any, status: int = 200, request_id: str | None = None) -> Response:
    headers = {"x-request-id": request_id} if request_id else None
    return Response(
        orjson.dumps(payload), status_code=status, media_type="application/json", headers=headers
    )


def _error_body(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


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


def _parse(body: bytes) -> tuple[str, dict[str, Any] | None, str | None]:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequestError("The body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise BadRequestError("The body must be a JSON object.")
    query, variables = payload.get("query"), payload.get("variables")
    name = payload.get("operationName")
    if not isinstance(query, str) or not query:
        raise BadRequestError("The body needs a 'query' string.")
    if variables is not None and not isinstance(variables, dict):
        raise BadRequestError("'variables' must be a JSON object.")
    if name is not None and not isinstance(name, str):
        raise BadRequestError("'operationName' must be a string.")
    return query, variables, name


_OPERATION_NAME = re.compile(r"^\s*(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)")


def _operation_name(query: str, name: str | None) -> str | None:
    if name:
        return name
    found = _OPERATION_NAME.match(query)
    return found.group(1) if found else None


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _format_error(error: GraphQLError, request_id: str) -> dict[str, Any]:
    original = error.original_error
    if original is not None and not isinstance(original, GraphQLError):
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
    return error.formatted  # type: ignore[return-value]


class GraphQLEndpoint:
    def __init__(
        self,
        schema: AccountflowSchema,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
    ) -> None:
        self.schema = schema
        self.sessionmaker = sessionmaker
        self.settings = settings

    async def __call__(self, request: Request) -> Response:
        if request.method == "GET":
            return HTMLResponse(get_graphql_ide_html())
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        started = time.perf_counter()
        operation = "anonymous"
        outcome = "ok"
        uploads: list[multipart.UploadedFile] = []
        try:
            upload = multipart.is_multipart(request)
            body = b"" if upload else await _read_body(request, self.settings.limits.max_body_bytes)
            token = _bearer(request)
            if token is None:
                outcome = "unauthorized"
                return _json(_error_body("Missing bearer token.", "UNAUTHENTICATED"), 401)
            if upload:
                payload, uploads = await multipart.read_operation(
                    request,
                    upload_dir=self.settings.data_dir / "uploads",
                    max_bytes=self.settings.limits.max_upload_bytes,
                )
                body = orjson.dumps(payload, default=lambda file: None)
            query, variables, name = _parse(body)
            if uploads:
                variables = payload.get("variables")
            operation = metrics.operation_label(_operation_name(query, name))
            response, outcome = await self._execute(token, query, variables, name, request_id)
            return response
        except (BadRequestError, multipart.UploadError) as error:
            outcome = "bad_request"
            return _json(_error_body(str(error), "BAD_REQUEST"), error.status, request_id)
        finally:
            multipart.cleanup(uploads)
            metrics.REQUESTS.labels(operation, outcome).inc()
            metrics.LATENCY.labels(operation).observe(time.perf_counter() - started)

    async def _execute(
        self,
        token: str,
        query: str,
        variables: dict[str, Any] | None,
        name: str | None,
        request_id: str,
    ) -> tuple[Response, str]:
        # Queries run in a transaction too: reports rely on SET LOCAL (plan_cache_mode,
        # work_mem), which does nothing outside one.
        async with self.sessionmaker() as session:
            principal = await auth.authenticate(session, token)
            if principal is None:
                body = _error_body("Invalid or revoked token.", "UNAUTHENTICATED")
                return _json(body, 401, request_id), "unauthorized"
            context = Context(
                session=session,
                viewer=principal.user,
                token_id=principal.token_id,
                request_id=request_id,
                settings=self.settings,
            )
            try:
                result = await self.schema.execute(
                    query, variable_values=variables, context_value=context, operation_name=name
                )
            except (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError) as e:
                raise BadRequestError(str(e) or "Cannot execute this operation.") from None
            finally:
                # close() ends the transaction like rollback() without expiring every
                # loaded row one by one first.
                await session.close()
        payload: dict[str, Any] = {"data": result.data}
        outcome = "ok"
        if result.errors:
            payload["errors"] = [_format_error(e, request_id) for e in result.errors]
            outcome = "error"
        return _json(payload, 200, request_id), outcome
