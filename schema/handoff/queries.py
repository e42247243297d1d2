"""Pipelines, pending handoffs and the stage reports."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from app.handoff import queries, reports, service
from app.kit.pagination import count, keyset_page
from app.models.handoff import StageEvent as StageEventRow
from schema import permissions, visibility
from schema.context import Info
from schema.handoff.reports import (
    HandoffReport,
    RequirementBlockCount,
    RequirementCount,
    StageThroughputReport,
)
from schema.handoff.types import DEFAULT, Pipeline, StageEvent
from schema.relay import Connection, connection, page_args

From = Annotated[datetime, strawberry.argument(name="from")]


@strawberry.type
class Query:
    @strawberry.field
    @permissions.query("pipeline.read")
    async def pipelines(self, info: Info) -> list[Pipeline]:
        async with info.context.db() as session:
            rows = await queries.list_pipelines(session)
        return [Pipeline.from_model(row) for row in rows]

    @strawberry.field(description="Handoffs not accepted yet, oldest first.")
    @permissions.query("handoff.read")
    async def pending_handoffs(
        self,
        info: Info,
        pipeline: str | None = DEFAULT,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[StageEvent]:
        args = page_args(info, first, after)
        visible = await visibility.account_id_clause(info.context, StageEventRow.account_id)
        async with info.context.db() as session:
            found = await service.get_pipeline(session, pipeline or DEFAULT)
            query = queries.pending_handoffs_query(found.id)
            query = query if visible is None else query.where(visible)
            page = await keyset_page(session, query, order=queries.PENDING_ORDER, args=args)

        async def total() -> int:
            async with info.context.db() as session:
                return await count(session, query)

        return connection(page, StageEvent.from_model, total)

    @strawberry.field
    @permissions.query("report.read")
    async def stage_throughput(
        self, info: Info, from_: From, to: datetime, pipeline: str | None = DEFAULT
    ) -> StageThroughputReport:
        reports.check_range(from_, to)
        # The definition from the primary; each report field below runs where reports do.
        async with info.context.db() as session:
            found = await service.get_pipeline(session, pipeline or DEFAULT)
        return StageThroughputReport(
            pipeline=Pipeline.from_model(found), from_=from_, to=to, row=found
        )

    @strawberry.field
    @permissions.query("report.read")
    async def handoff_report(
        self, info: Info, from_: From, to: datetime, pipeline: str | None = DEFAULT
    ) -> HandoffReport:
        async with info.context.reports() as session:
            found = await service.get_pipeline(session, pipeline or DEFAULT)
            stats = await reports.handoff_report(session, pipeline=found, start=from_, end=to)
        return HandoffReport(
            handoffs=stats.handoffs,
            accepted=stats.accepted,
            pending=stats.pending,
            median_seconds_to_accept=stats.median_seconds_to_accept,
            missing_recommended=[
                RequirementCount(requirement=r.requirement, count=r.count, share=r.share)
                for r in stats.missing_recommended
            ],
            blocked_by=[
                RequirementBlockCount(requirement=r.requirement, count=r.count)
                for r in stats.blocked_by
            ],
        )
