"""Manager reports: coverage, flow over time, stuck entries, activity mix."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry

from app.handoff import service as handoff
from app.reports import activity_mix, coverage, flow, stuck
from app.reports.coverage import CoverageGrouping
from app.reports.flow import ReportInterval
from schema import permissions
from schema.context import Info
from schema.handoff.types import DEFAULT, PipelineEntry
from schema.relay import Connection, connection, page_args
from schema.reports.types import (
    ActivityMixRow,
    CoverageFilter,
    CoverageRow,
    StageTrendRow,
    team_pk,
)

From = Annotated[datetime, strawberry.argument(name="from")]
TeamId = Annotated[
    strawberry.ID | None, strawberry.argument(description="Only the work of the team's members.")
]


def entry_from_row(row: Any, now: datetime) -> PipelineEntry:
    """A stuck-entries row (see app.reports.stuck) as a PipelineEntry, timed at `now`."""
    return PipelineEntry(
        stage=row.stage,
        entered_at=row.entered_at,
        seconds_in_stage=stuck.seconds_since(row.entered_at, now),
        owner_pk=row.owner_id,
        pipeline_pk=row.pipeline_id,
        account_pk=row.account_id,
    )


@strawberry.type
class Query:
    @strawberry.field(description="Assignments of live accounts per group, by cadence and balance.")
    @permissions.query("report.read")
    async def coverage_report(
        self, info: Info, group_by: list[CoverageGrouping], filter: CoverageFilter | None = None
    ) -> list[CoverageRow]:
        parsed = None if filter is None else filter.to_filter()
        async with info.context.reports() as session:
            rows = await coverage.coverage_report(session, group_by=group_by, filter=parsed)
        return [CoverageRow.from_row(row) for row in rows]

    @strawberry.field(description="Entries, exits and median stay per stage and UTC period.")
    @permissions.query("report.read")
    async def stage_trend(
        self,
        info: Info,
        from_: From,
        to: datetime,
        interval: ReportInterval,
        pipeline: str | None = DEFAULT,
    ) -> list[StageTrendRow]:
        async with info.context.reports() as session:
            found = await handoff.get_pipeline(session, pipeline or DEFAULT)
            rows = await flow.stage_trend(
                session, pipeline=found, start=from_, end=to, interval=interval
            )
        return [StageTrendRow.from_row(row) for row in rows]

    @strawberry.field(
        description="Entries in an open stage for longer than the days, longest first."
    )
    @permissions.query("report.read")
    async def stuck_entries(
        self,
        info: Info,
        older_than_days: int,
        pipeline: str | None = DEFAULT,
        first: int | None = None,
        after: str | None = None,
        team_id: TeamId = None,
    ) -> Connection[PipelineEntry]:
        args = page_args(info, first, after)
        team = team_pk(team_id, "teamId")
        async with info.context.reports() as session:
            found = await handoff.get_pipeline(session, pipeline or DEFAULT)
            page = await stuck.stuck_entries(
                session, pipeline=found, older_than_days=older_than_days, args=args, team_id=team
            )

        async def total() -> int:
            async with info.context.reports() as session:
                return await stuck.count_stuck(
                    session, pipeline=found, older_than_days=older_than_days, team_id=team
                )

        now = info.context.now
        return connection(page, lambda row: entry_from_row(row, now), total)

    @strawberry.field(description="Activities per kind in the range, with distinct accounts.")
    @permissions.query("report.read")
    async def activity_mix(
        self, info: Info, from_: From, to: datetime, team_id: TeamId = None
    ) -> list[ActivityMixRow]:
        team = team_pk(team_id, "teamId")
        async with info.context.reports() as session:
            rows = await activity_mix.activity_mix(session, start=from_, end=to, team_id=team)
        return [ActivityMixRow.from_row(row) for row in rows]
