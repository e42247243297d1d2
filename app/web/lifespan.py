"""The server's lifespan: the database engines, the hub and the background jobs, built once
when it starts and closed in reverse order when it stops."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from app import db
from app.activities import rebuild
from app.fanout import Hub, asyncpg_dsn
from app.imports import worker as imports
from app.kit import cursor, keys
from app.replica import ReportDatabase
from app.reports import upkeep
from app.settings import Settings
from app.tasks.reminders import reminding
from app.upkeep import daily_upkeep
from app.web import database, gauges
from app.web.ingest import ActivityIngest
from app.web.report_export import ReportExport
from app.web.state import State
from app.webhooks import worker
from schema import AccountflowSchema
from schema.engine import graphql_schema
from schema.engine.compiled import CompiledReads
from schema.engine.http import GraphQLEndpoint
from schema.engine.limits import CostBudget

UPKEEP_INTERVAL = 600.0  # seconds between rounds of the report summaries' upkeep
Lifespan = Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]


@dataclass(frozen=True, slots=True)
class Setup:
    """What create_app prepares before the server starts: nothing here holds a connection."""

    settings: Settings
    url: str
    schema: AccountflowSchema
    budget: CostBudget  # per process: see README
    compiled: CompiledReads | None
    clock: Callable[[], datetime] | None  # each GraphQL request's instant (tests pin it)


def lifespan(setup: Setup) -> Lifespan:
    @contextlib.asynccontextmanager
    async def run(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            state = await _open(stack, setup)
            app.state.accountflow = state
            await stack.enter_async_context(gauges.sampling(state))
            await _start_jobs(stack, setup, state.sessionmaker)
            yield

    return run


@contextlib.asynccontextmanager
async def _engine(
    url: str, settings: Settings, *, replica: bool = False, **pool: int
) -> AsyncIterator[AsyncEngine]:
    pooler = settings.pooler if url != settings.direct_url else None
    engine = database.create_engine(url, settings, replica=replica, pooler=pooler, **pool)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _open(stack: contextlib.AsyncExitStack, setup: Setup) -> State:
    settings, pool = setup.settings, setup.settings.pool
    engine = await stack.enter_async_context(
        _engine(setup.url, settings, pool_size=pool.pool_size, max_overflow=pool.max_overflow)
    )
    sessionmaker = db.create_sessionmaker(engine)
    cursor.use_key(await keys.cursor_key(engine, settings.cursor_key))
    reports = await _reports(stack, settings)
    await stack.enter_async_context(imports.running(engine, setup.url, settings))
    hub = Hub(asyncpg_dsn(settings.direct_url or setup.url))  # one connection of its own, polling
    stack.push_async_callback(hub.stop)
    graphql = GraphQLEndpoint(
        setup.schema,
        sessionmaker,
        settings,
        budget=setup.budget,
        reports=reports,
        clock=setup.clock,
        compiled=setup.compiled,
    )
    return State(
        settings=settings,
        schema=setup.schema,
        engine=engine,
        sessionmaker=sessionmaker,
        hub=hub,
        reports=reports,
        graphql=graphql,
        ingest=ActivityIngest(graphql_schema(setup.schema), sessionmaker, settings),
        report_export=ReportExport(sessionmaker, reports, raw_cells=settings.security.csv_raw),
    )


async def _reports(stack: contextlib.AsyncExitStack, settings: Settings) -> ReportDatabase | None:
    """Reports read from the streaming replica while it is healthy (app.replica)."""
    if not settings.replica_url:
        return None
    replica = await stack.enter_async_context(_engine(settings.replica_url, settings, replica=True))
    sessionmaker = db.create_sessionmaker(replica)
    return ReportDatabase(replica, sessionmaker, max_lag=settings.replica_max_lag)


async def _start_jobs(
    stack: contextlib.AsyncExitStack,
    setup: Setup,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    settings = setup.settings
    # The job's own two connections (its session lock and its batches): never a request's.
    jobs = await stack.enter_async_context(
        _engine(settings.direct_url or setup.url, settings, pool_size=2, max_overflow=0)
    )
    interval = settings.rebuild.interval_ms / 1000
    batch_size = settings.rebuild.batch_size
    rebuilds = rebuild.run_forever(
        jobs, db.create_sessionmaker(jobs), batch_size=batch_size, interval=interval
    )
    await stack.enter_async_context(_task(rebuilds))
    # Keeps the report summaries cheap to read (app/reports/upkeep.py).
    anchors = await stack.enter_async_context(_engine(setup.url, settings, pool_size=1))
    sessions = db.create_sessionmaker(anchors)
    await stack.enter_async_context(_task(upkeep.run_forever(sessions, interval=UPKEEP_INTERVAL)))
    await stack.enter_async_context(daily_upkeep(sessions, settings.daily))  # no cron needed
    await stack.enter_async_context(reminding(sessions, settings.daily))
    await stack.enter_async_context(_delivery_worker(settings, sessionmaker))


@contextlib.asynccontextmanager
async def _task(job: Coroutine[Any, Any, None]) -> AsyncIterator[None]:
    """A job that runs until the server stops."""
    task = asyncio.create_task(job)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


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
            retention=settings.push.event_retention,
        )
    )
    try:
        yield
    finally:
        stop.set()
        await task
