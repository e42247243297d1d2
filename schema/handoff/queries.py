"""Pipelines, pending handoffs and the stage reports."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from sqlalchemy import Select

from app.errors import ForbiddenError
from app.handoff import queries, reports, service
from app.kit.pagination import count, keyset_page
from app.teams.visibility import account_filter
from schema import permissions
from schema.context import Info
from schema.handoff.reports import (
    HandoffReport,
    RequirementBlockCount,
    RequirementCount,
    StageThroughputReport,
)
from schema.handoff.types import DEFAULT, Pipeline, StageEvent
from schema.relay import Connection, connection, decode_optional, page_args

From = Annotated[datetime, strawberry.argument(name="from")]
RECEIVER = "A REP may list only the handoffs made to them."


def _receiver(info: Info, receiver_id: strawberry.ID | None) -> int | None:
    """The receiver's user id; naming someone else needs handoff.read_any_receiver."""
    pk = decode_optional(receiver_id, "User", field="receiverId")
    mine = pk is None or pk == info.context.viewer_id
    if not mine and not permissions.allowed(info.context, "handoff.read_any_receiver"):
        raise ForbiddenError(RECEIVER, field="receiverId")
    return pk


async def _event_page(
    info: Info, query: Select[Any], order: tuple[Any, ...], first: int | None, after: str | None
) -> Connection[StageEvent]:
    args = page_args(info, first, after)
    async with info.context.db() as session:
        page = await keyset_page(session, query, order=order, args=args)

    async def total() -> int:
        async with info.context.db() as session:
            return await count(session, query)

    return connection(page, StageEvent.from_model, total)


async def _scope(info: Info, key: str | None) -> tuple[int, queries.Visible]:
    """The pipeline's id, and the condition on the accounts the caller reads."""
    async with info.context.db() as session:
        pipeline = await service.get_pipeline(session, key or DEFAULT)
        return pipeline.id, await account_filter(session, info.context.actor)


@strawberry.type
class Query:
    @strawberry.field
    @permissions.query("pipeline.read")
    async def pipelines(self, info: Info) -> list[Pipeline]:
        async with info.context.db() as session:
            rows = await queries.list_pipelines(session)
        return [Pipeline.from_model(row) for row in rows]

    @strawberry.field(
        description="Handoffs not accepted yet, oldest first; with receiverId, those made to"
        " that user (a REP may name only themselves)."
    )
    @permissions.query("handoff.read")
    async def pending_handoffs(
        self,
        info: Info,
        pipeline: str | None = DEFAULT,
        first: int | None = None,
        after: str | None = None,
        receiver_id: strawberry.ID | None = None,
    ) -> Connection[StageEvent]:
        receiver = _receiver(info, receiver_id)
        pipeline_id, visible = await _scope(info, pipeline)
        query = queries.pending_handoffs_query(pipeline_id, receiver, visible)
        return await _event_page(info, query, queries.PENDING_ORDER, first, after)

    @strawberry.field(
        description="Accepted handoffs whose nextStepDue has passed while the entry stayed in"
        " the stage the handoff moved it to, most overdue first; with receiverId, those made"
        " to that user (a REP may name only themselves)."
    )
    @permissions.query("handoff.read")
    async def overdue_next_steps(
        self,
        info: Info,
        pipeline: str | None = DEFAULT,
        receiver_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[StageEvent]:
        receiver = _receiver(info, receiver_id)
        pipeline_id, visible = await _scope(info, pipeline)
        query = queries.overdue_next_steps_query(pipeline_id, receiver, visible)
        return await _event_page(info, query, queries.NEXT_STEP_ORDER, first, after)

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
