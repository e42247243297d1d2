"""What the server holds while it runs (app.state.accountflow), typed."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from app.fanout import Hub
from app.replica import ReportDatabase
from app.settings import Settings
from app.web.ingest import ActivityIngest
from app.web.report_export import ReportExport
from schema import AccountflowSchema
from schema.engine.http import GraphQLEndpoint


@dataclass(frozen=True, slots=True)
class State:
    """Built once by the lifespan (app.web.lifespan); every endpoint reads it from here."""

    settings: Settings
    schema: AccountflowSchema
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    hub: Hub
    reports: ReportDatabase | None
    graphql: GraphQLEndpoint
    ingest: ActivityIngest
    report_export: ReportExport


def state_of(conn: HTTPConnection) -> State:
    state = conn.app.state.accountflow
    assert isinstance(state, State), "the lifespan has not run"
    return state
