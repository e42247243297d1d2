"""The composition root: the Starlette app that mounts the GraphQL schema."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from app import db, metrics
from app.activities import rebuild
from app.auth import tokens
from app.fanout import Hub, asyncpg_dsn
from app.imports.jobs import wait_for_jobs
from app.replica import ReportDatabase
from app.reports import upkeep
from app.settings import Settings
from app.web.dashboard import DASHBOARD_PAGE, STATIC_DIR
from app.web.exports import export_csv
from app.web.ingest import ActivityIngest
from app.web.report_export import ReportExport
from app.webhooks import worker
from schema import build_schema
from schema.engine import graphql_schema
from schema.engine.compiled import CompiledReads
from schema.engine.http import GraphQLEndpoint
from schema.engine.limits import CostBudget
from schema.engine.ws import Connection
from schema.permissions import POLICY

log = logging.getLogger(__name__)
UPKEEP_INTERVAL = 600.0  # seconds between rounds of the report summaries' upkeep


@dataclass(slots=True)
class State:
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    hub: Hub
    reports: ReportDatabase | None = None


def create_app(
    settings: Settings,
    database_url: str | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
) -> Starlette:
    """The ASGI app; `clock` gives each GraphQL request its instant (tests pin it)."""
    url = database_url or db.resolve_database_url(settings)
    schema = build_schema(settings.limits, planned=settings.fast_executor)
    budget = CostBudget(settings.limits.cost_per_minute)  # per process: see README
    compiled = (
        CompiledReads(graphql_schema(schema), settings.limits, production=settings.production)
        if settings.compiled_reads
        else None
    )
    holder: dict[str, State] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = db.create_engine(
            url,
            timeouts=settings.timeouts,
            pool_size=settings.pool.pool_size,
            max_overflow=settings.pool.max_overflow,
        )
        replica = None
        sessionmaker = db.create_sessionmaker(engine)
        hub = Hub(asyncpg_dsn(url))  # listens from the first subscription on
        reports = None
        if settings.replica_url:
            replica = db.create_engine(settings.replica_url, timeouts=settings.timeouts)
            reports = ReportDatabase(
                replica, db.create_sessionmaker(replica), max_lag=settings.replica_max_lag
            )
        holder["state"] = State(engine, sessionmaker, hub, reports)
        app.state.accountflow = holder["state"]
        # The job's own two connections (its lock and its batches): never a request's.
        job_engine = db.create_engine(url, timeouts=settings.timeouts, pool_size=2, max_overflow=0)
        rebuilds = asyncio.create_task(
            rebuild.run_forever(
                job_engine,
                db.create_sessionmaker(job_engine),
                batch_size=settings.rebuild.batch_size,
                interval=settings.rebuild.interval_ms / 1000,
            )
        )
        # Keeps the report summaries cheap to read (app/reports/upkeep.py).
        upkeep_engine = db.create_engine(url, timeouts=settings.timeouts, pool_size=1)
        anchors = asyncio.create_task(
            upkeep.run_forever(db.create_sessionmaker(upkeep_engine), interval=UPKEEP_INTERVAL)
        )
        try:
            async with _delivery_worker(settings, sessionmaker):
                yield
        finally:
            await hub.stop()
            for task in (rebuilds, anchors):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await job_engine.dispose()
            await upkeep_engine.dispose()
            await wait_for_jobs()  # background CSV imports finish before the engine closes
            await engine.dispose()
            if replica is not None:
                await replica.dispose()

    def state() -> State:
        return holder["state"]

    async def graphql(request: Request) -> Response:
        endpoint = GraphQLEndpoint(
            schema,
            state().sessionmaker,
            settings,
            budget=budget,
            reports=state().reports,
            clock=clock,
            compiled=compiled,
        )
        return await endpoint(request)

    async def graphql_ws(websocket: WebSocket) -> None:
        found = state()
        await Connection(websocket, schema, found.sessionmaker, settings, found.hub).serve()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        try:
            async with state().engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:
            log.exception("readiness check failed")
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ready"})

    async def metrics_endpoint(request: Request) -> Response:
        token = tokens.bearer_token(request.headers.get("authorization"))
        async with state().sessionmaker() as session:
            principal = await tokens.authenticate(session, token) if token else None
            if principal is None:
                return JSONResponse({"error": "a valid bearer token is required"}, 401)
            if principal.use_is_stale:
                await tokens.record_use(session, principal.token_id)
                await session.commit()
        return PlainTextResponse(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)

    # --- CSV exports (leads issue): same columns as the import, streamed ---
    async def export_endpoint(request: Request) -> Response:
        return await export_csv(
            request,
            engine=state().engine,
            sessionmaker=state().sessionmaker,
            roles=POLICY["export.run"].roles,
        )

    routes: list[BaseRoute] = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql_ws),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_endpoint),
        Route("/export/{kind}.csv", export_endpoint),
    ]
    # Reports (issue 12): CSV downloads and the dashboard page, which reads /graphql.
    report_export = ReportExport(lambda: state().sessionmaker, lambda: state().reports)

    async def export_report(request: Request) -> Response:
        return await report_export(request)

    async def dashboard(request: Request) -> Response:
        return FileResponse(DASHBOARD_PAGE)

    # Bulk ingest (issue 13): NDJSON in, NDJSON out (app/web/ingest.py).
    ingest_activities = ActivityIngest(
        graphql_schema(schema), lambda: state().sessionmaker, settings
    )

    async def ingest_endpoint(request: Request) -> Response:
        return await ingest_activities(request)

    routes += [
        Route("/ingest/activities", ingest_endpoint, methods=["POST"]),
        Route("/export/reports/{field}.csv", export_report),
        Route("/dashboard", dashboard),
        Mount("/dashboard/static", StaticFiles(directory=STATIC_DIR), name="dashboard"),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


@contextlib.asynccontextmanager
async def _delivery_worker(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[None]:
    """The webhook delivery worker inside the server process (`serve` without --no-worker)."""
    if not settings.push.run_worker:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(
        worker.run(
            sessionmaker,
            stop=stop,
            allow_private=settings.push.webhook_allow_private,
            timeout_seconds=settings.push.webhook_timeout_seconds,
        )
    )
    try:
        yield
    finally:
        stop.set()
        await task


def tune_gc() -> None:
    """Fewer, cheaper collections for a request server.

    A GraphQL response allocates thousands of short-lived objects, so the default gen-0
    threshold (700) triggers collections that mostly re-scan long-lived module state;
    freezing what start-up created takes that state out of every later collection.
    Chosen against Python's 700 and gen-0 thresholds of 50,000 and 100,000 under load:
    the larger ones collect less often but stop the process for 100-330 ms at a time
    (bench/README.md, "Peers").
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def app_from_env() -> Starlette:
    """uvicorn's factory for worker processes: the database URL comes from the environment."""
    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level)
    app = create_app(settings)
    tune_gc()
    return app
