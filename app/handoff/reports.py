"""Stage throughput and handoff reports over a [start, end) range, from the day summaries.

Whole UTC days are read from the summaries migration 0012's triggers keep, the partial days
at the ends from the raw rows. Medians and 90th percentiles are exact: the summaries count
stays per seconds bucket, which finds the bucket holding each rank percentile_cont reads,
and only that bucket's rows are read (see stays.sql); the interpolation is PostgreSQL's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import String

from app.errors import InvalidInputError
from app.handoff.ranges import percentile_cont, split_range
from app.kit.sql import REPORT_SETTINGS, sql_file
from app.kit.validation import check_moment
from app.models.handoff import Pipeline

THROUGHPUT = sql_file(
    __package__,
    "throughput.sql",
    bindparam("keys", type_=ARRAY(String)),
    bindparam("kinds", type_=ARRAY(String)),
)
STAYS = sql_file(__package__, "stays.sql")
HANDOFFS = sql_file(__package__, "handoffs.sql")
STAY_FRACTIONS = (0.5, 0.9)


@dataclass(frozen=True, slots=True)
class StageStats:
    stage: str
    entered: int
    exited: int
    current: int
    median_seconds_in_stage: float | None
    p90_seconds_in_stage: float | None
    conversion_rate: float | None
    touches_per_stay: float | None


@dataclass(frozen=True, slots=True)
class RequirementCount:
    requirement: str
    count: int
    share: float | None = None


@dataclass(frozen=True, slots=True)
class HandoffStats:
    handoffs: int
    accepted: int
    pending: int
    median_seconds_to_accept: float | None
    missing_recommended: list[RequirementCount]
    blocked_by: list[RequirementCount]


def check_range(start: datetime, end: datetime) -> None:
    check_moment("from", start)
    check_moment("to", end)
    if end <= start:
        raise InvalidInputError("to must be after from.", field="to")


async def stage_throughput(
    session: AsyncSession, *, pipeline: Pipeline, start: datetime, end: datetime
) -> list[StageStats]:
    check_range(start, end)
    params = {
        "pipeline_id": pipeline.id,
        **split_range(start, end).params(),
        "keys": [stage["key"] for stage in pipeline.stages],
        "kinds": [stage["kind"] for stage in pipeline.stages],
    }
    await session.execute(REPORT_SETTINGS)
    rows = (await session.execute(THROUGHPUT, params)).all()
    stays = await stay_percentiles(session, params)
    return [
        StageStats(key, entered, exited, current, *stays.get(key, (None, None)), rate, touches)
        for key, entered, exited, current, rate, touches in rows
    ]


async def stay_percentiles(
    session: AsyncSession, params: dict[str, Any]
) -> dict[str, tuple[float | None, float | None]]:
    """Per stage left: the exact median and 90th percentile of the stays in the range."""
    found: dict[str, tuple[int, dict[int, float]]] = {}
    stays = await session.execute(STAYS, {**params, "fractions": list(STAY_FRACTIONS)})
    for stage, total, rank, seconds in stays:
        found.setdefault(stage, (total, {}))[1][rank] = seconds
    return {
        stage: (
            percentile_cont(0.5, total, values),
            percentile_cont(0.9, total, values),
        )
        for stage, (total, values) in found.items()
    }


async def handoff_report(
    session: AsyncSession, *, pipeline: Pipeline, start: datetime, end: datetime
) -> HandoffStats:
    check_range(start, end)
    params = {"pipeline_id": pipeline.id, **split_range(start, end).params()}
    await session.execute(REPORT_SETTINGS)
    row = (await session.execute(HANDOFFS, params)).one()
    handoffs, accepted, waits, ranks, values, *requirements = row
    missing_keys, missing_n, blocked_keys, blocked_n = requirements
    return HandoffStats(
        handoffs=handoffs,
        accepted=accepted,
        pending=handoffs - accepted,
        median_seconds_to_accept=percentile_cont(0.5, waits, dict(zip(ranks, values, strict=True))),
        missing_recommended=[
            RequirementCount(key, n, n / handoffs if handoffs else None)
            for key, n in zip(missing_keys, missing_n, strict=True)
        ],
        blocked_by=[
            RequirementCount(key, n) for key, n in zip(blocked_keys, blocked_n, strict=True)
        ],
    )
