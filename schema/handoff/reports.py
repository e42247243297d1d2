"""Stage throughput and handoff reports."""

from __future__ import annotations

from datetime import datetime

import strawberry

from schema.handoff.types import Pipeline


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
    stages: list[StageStats]


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
