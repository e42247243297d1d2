"""Stage throughput and handoff reports."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

import strawberry

from app.handoff import reports
from app.models import handoff as models
from app.reports import flow
from schema.context import Info
from schema.handoff.types import Pipeline
from schema.reports.queries import TeamId
from schema.reports.types import OwnerStageStats, team_pk


@strawberry.type
class StageStats:
    stage: str
    entered: int
    exited: int
    current: int
    median_seconds_in_stage: float | None
    p90_seconds_in_stage: float | None
    conversion_rate: float | None
    touches_per_stay: float | None


@strawberry.type
class StageThroughputReport:
    pipeline: Pipeline
    from_: datetime = strawberry.field(name="from")
    to: datetime
    row: strawberry.Private[models.Pipeline]

    @strawberry.field
    async def stages(self, info: Info) -> list[StageStats]:
        async with info.context.reports() as session:
            rows = await reports.stage_throughput(
                session, pipeline=self.row, start=self.from_, end=self.to
            )
        return [StageStats(**asdict(row)) for row in rows]

    @strawberry.field(description="Per owner and stage, in the pipeline's stage order.")
    async def by_owner(self, info: Info, team_id: TeamId = None) -> list[OwnerStageStats]:
        team = team_pk(team_id, "teamId")
        async with info.context.reports() as session:
            rows = await flow.throughput_by_owner(
                session, pipeline=self.row, start=self.from_, end=self.to, team_id=team
            )
        return [OwnerStageStats.from_row(row) for row in rows]


@strawberry.type
class RequirementCount:
    requirement: str
    count: int
    share: float | None


@strawberry.type
class RequirementBlockCount:
    requirement: str
    count: int


@strawberry.type
class HandoffReport:
    handoffs: int
    accepted: int
    pending: int
    median_seconds_to_accept: float | None
    missing_recommended: list[RequirementCount]
    blocked_by: list[RequirementBlockCount] = strawberry.field(
        description="Blocked attempts of any transition in the range, per missing requirement."
    )
