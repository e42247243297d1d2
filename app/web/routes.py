"""Every route of the server, in one list. Each protected endpoint names the action of the
rule table it needs (app.web.auth.protected); /healthz, /readyz and the dashboard's static
page are public (the page asks for a token and sends it to /graphql)."""

from __future__ import annotations

import functools
import logging

from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from app import metrics, observe, tracing
from app.web import gauges
from app.web.auth import principal_of, protected, viewer_of
from app.web.dashboard import STATIC_DIR, DashboardAssets, dashboard_page
from app.web.exports import export_csv
from app.web.state import state_of
from schema.engine import graphiql
from schema.engine.ws import Connection

log = logging.getLogger(__name__)


async def graphql(request: Request) -> Response:
    return state_of(request).graphql.ide(request) or await _graphql(request)


@protected()  # each field checks its own rule (schema.permissions)
async def _graphql(request: Request) -> Response:
    with tracing.operation_span():
        return await state_of(request).graphql(request, viewer_of(request).principal)


async def graphql_ws(websocket: WebSocket) -> None:
    state = state_of(websocket)
    authenticate = functools.partial(principal_of, state.sessionmaker)
    connection = Connection(
        websocket,
        state.schema,
        state.sessionmaker,
        state.settings,
        state.hub,
        authenticate,
        budget=state.graphql.budget,  # the HTTP path's: one budget for both
    )
    await connection.serve()


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    try:
        async with state_of(request).engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        log.exception("readiness check failed")
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ready"})


@protected("metrics.read")  # admins, or the scrape token (app.web.backend)
async def metrics_endpoint(request: Request) -> Response:
    state = state_of(request)
    gauges.sample(state)
    figures = await metrics.read_figures(state.engine)
    if figures is None:  # still answered: accountflow_database_up says PostgreSQL is away
        observe.forgive_database_down()
    return Response(metrics.exposition(figures), media_type=CONTENT_TYPE_LATEST)


@protected("export.run")  # CSV exports (leads issue): the import's columns, streamed
async def export(request: Request) -> Response:
    state = state_of(request)
    return await export_csv(request, engine=state.engine)


@protected("report.read")  # reports (issue 12) as CSV
async def export_report(request: Request) -> Response:
    return await state_of(request).report_export(request)


@protected("activity.log")  # bulk ingest (issue 13): NDJSON in, NDJSON out
async def ingest(request: Request) -> Response:
    return await state_of(request).ingest(request, viewer_of(request))


ROUTES: list[BaseRoute] = [
    Route("/graphql", graphql, methods=["GET", "POST"]),
    Mount("/graphiql/static", StaticFiles(directory=graphiql.STATIC_DIR), name="graphiql"),
    WebSocketRoute("/graphql", graphql_ws),
    Route("/healthz", healthz),
    Route("/readyz", readyz),
    Route("/metrics", metrics_endpoint),
    Route("/export/{kind}.csv", export),
    Route("/export/reports/{field}.csv", export_report),
    Route("/ingest/activities", ingest, methods=["POST"]),
    Route("/dashboard", dashboard_page),
    Mount("/dashboard/static", DashboardAssets(directory=STATIC_DIR), name="dashboard"),
]
