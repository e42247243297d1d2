"""GET /export/{kind}.csv: the export of one kind for a bearer token of an allowed role."""

from __future__ import annotations

from collections.abc import Collection

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from app.auth.tokens import authenticate, bearer_token
from app.errors import AppError
from app.imports.export import export_query, stream_csv
from app.models.auth import Role
from app.models.imports import ImportKind


def _error(status: int, code: str, message: str, field: str | None = None) -> Response:
    extensions = {"code": code, "field": field} if field else {"code": code}
    return JSONResponse({"errors": [{"message": message, "extensions": extensions}]}, status)


async def export_csv(
    request: Request,
    *,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    roles: Collection[Role],
) -> Response:
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        return _error(401, "UNAUTHENTICATED", "Missing bearer token.")
    async with sessionmaker() as session:
        principal = await authenticate(session, token)
    if principal is None:
        return _error(401, "UNAUTHENTICATED", "Invalid or revoked token.")
    if principal.user.role not in roles:
        return _error(403, "FORBIDDEN", "You are not allowed to do this.")
    name = str(request.path_params["kind"])
    try:
        kind = ImportKind(name.upper())
    except ValueError:
        return _error(404, "NOT_FOUND", f"Nothing to export as {name!r}.")
    try:
        raw = request.query_params.get("filter")
        query = export_query(kind, None if raw is None else orjson.loads(raw))
    except orjson.JSONDecodeError:
        return _error(400, "INVALID_INPUT", "The filter is not valid JSON.", "filter")
    except AppError as error:
        return _error(400, error.code, error.message, error.field)
    return StreamingResponse(
        stream_csv(engine, kind, query),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}.csv"'},
    )
