"""Pipeline flow per owner and per period: entries, exits, stays and conversion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import BigInteger, DateTime, String

from app.errors import InvalidInputError
from app.handoff.reports import check_range
from app.kit.sql import REPORT_SETTINGS, sql_file
from app.models.handoff import Pipeline
from app.reports.teams import check_team

MAX_PERIODS = 1000


class ReportInterval(StrEnum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"


# date_trunc unit and generate_series step of each interval.
_UNITS = {
    ReportInterval.DAY: ("day", "1 day", 1.0),
    ReportInterval.WEEK: ("week", "7 days", 7.0),
    ReportInterval.MONTH: ("month", "1 month", 28.0),
}


@dataclass(frozen=True, slots=True)
class OwnerStageStats:
    owner_id: int | None
    stage: str
    entered: int
    exited: int
    median_seconds_in_stage: float | None
    conversion_rate: float | None


@dataclass(frozen=True, slots=True)
class StageTrendRow:
    period_start: datetime
    stage: str
    entered: int
    exited: int
    median_seconds_in_stage: float | None


BY_OWNER = sql_file(
    __package__,
    "by_owner.sql",
    bindparam("keys", type_=ARRAY(String)),
    bindparam("kinds", type_=ARRAY(String)),
    bindparam("team_id", type_=BigInteger),
)
TREND = sql_file(
    __package__,
    "trend.sql",
    bindparam("keys", type_=ARRAY(String)),
    bindparam("start", type_=DateTime(timezone=True)),
    bindparam("end", type_=DateTime(timezone=True)),
)


async def throughput_by_owner(
    session: AsyncSession,
    *,
    pipeline: Pipeline,
    start: datetime,
    end: datetime,
    team_id: int | None = None,
) -> list[OwnerStageStats]:
    """Per owner and stage; with a team, only its members' rows."""
    check_range(start, end)
    await check_team(session, team_id, field="teamId")
    params = {
        "team_id": team_id,
        "pipeline_id": pipeline.id,
        "start": start,
        "end": end,
        "keys": [stage["key"] for stage in pipeline.stages],
        "kinds": [stage["kind"] for stage in pipeline.stages],
    }
    await session.execute(REPORT_SETTINGS)
    return [OwnerStageStats(*row) for row in await session.execute(BY_OWNER, params)]


async def stage_trend(
    session: AsyncSession,
    *,
    pipeline: Pipeline,
    start: datetime,
    end: datetime,
    interval: ReportInterval,
) -> list[StageTrendRow]:
    check_range(start, end)
    unit, step, days = _UNITS[interval]
    if (end - start).total_seconds() / 86400 / days > MAX_PERIODS:
        raise InvalidInputError(
            f"The range holds more than {MAX_PERIODS} periods; choose a longer interval.",
            field="interval",
        )
    params = {
        "pipeline_id": pipeline.id,
        "start": start,
        "end": end,
        "unit": unit,
        "step": step,
        "keys": [stage["key"] for stage in pipeline.stages],
    }
    await session.execute(REPORT_SETTINGS)
    return [StageTrendRow(*row) for row in await session.execute(TREND, params)]
