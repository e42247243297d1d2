"""GET /export/{kind}.csv: the export of one kind (the edge checked the token and the role).

`filter` is a JSON object of the kind's filters; a value of the wrong type is a 400 naming
it. Cells a spreadsheet would run as formulas are quoted unless `ACCOUNTFLOW_CSV_RAW` is set
(app.kit.csv_cells); the importer reads them back unquoted.
"""

from __future__ import annotations

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from app.errors import AppError
from app.imports.export import export_query, stream_csv
from app.kit.actor import Actor
from app.models.imports import ImportKind
from app.models.teams import RecordVisibility
from app.teams import visibility
from app.web.state import state_of
from schema.engine.http_request import request_id_of


def _error(status: int, code: str, message: str, field: str | None = None) -> Response:
    extensions = {"code": code, "field": field} if field else {"code": code}
    return JSONResponse({"errors": [{"message": message, "extensions": extensions}]}, status)


async def _visibility(engine: AsyncEngine, actor: Actor) -> RecordVisibility:
    """The record visibility, read only for a caller it applies to."""
    if actor.may(visibility.READ_ALL):
        return RecordVisibility.ALL
    async with AsyncSession(engine) as session:
        return await visibility.current(session)


async def export_csv(request: Request, *, engine: AsyncEngine) -> Response:
    name = str(request.path_params["kind"])
    try:
        kind = ImportKind(name.upper())
    except ValueError:
        return _error(404, "NOT_FOUND", f"Nothing to export as {name!r}.")
    actor = request.user.actor(request_id_of(request))
    seen = await _visibility(engine, actor)
    try:
        raw = request.query_params.get("filter")
        raw_cells = state_of(request).settings.security.csv_raw
        filter = None if raw is None else orjson.loads(raw)
        rows = export_query(kind, filter, raw_cells=raw_cells, actor=actor, visibility=seen)
    except orjson.JSONDecodeError:
        return _error(400, "INVALID_INPUT", "The filter is not valid JSON.", "filter")
    except AppError as error:
        return _error(400, error.code, error.message, error.field)
    return StreamingResponse(
        stream_csv(engine, kind, rows),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}.csv"'},
    )
