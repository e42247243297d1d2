"""GET /export/{kind}.csv: the export of one kind (the edge checked the token and the role)."""

from __future__ import annotations

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from app.errors import AppError
from app.imports.export import export_query, stream_csv
from app.models.imports import ImportKind


def _error(status: int, code: str, message: str, field: str | None = None) -> Response:
    extensions = {"code": code, "field": field} if field else {"code": code}
    return JSONResponse({"errors": [{"message": message, "extensions": extensions}]}, status)


async def export_csv(request: Request, *, engine: AsyncEngine) -> Response:
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
