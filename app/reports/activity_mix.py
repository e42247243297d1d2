"""The mix of logged activities per kind over a range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, bindparam
from sqlalchemy.ext.asyncio import AsyncSession

from app.handoff.reports import check_range
from app.kit.sql import REPORT_SETTINGS, sql_file
from app.models.activities import ActivityKind
from app.reports.teams import check_team


@dataclass(frozen=True, slots=True)
class ActivityMixRow:
    kind: ActivityKind
    count: int
    accounts: int
    share: float


ACTIVITY_MIX = sql_file(__package__, "activity_mix.sql", bindparam("team_id", type_=BigInteger))


async def activity_mix(
    session: AsyncSession, *, start: datetime, end: datetime, team_id: int | None = None
) -> list[ActivityMixRow]:
    check_range(start, end)
    await check_team(session, team_id, field="teamId")
    await session.execute(REPORT_SETTINGS)
    params = {"start": start, "end": end, "team_id": team_id}
    rows = await session.execute(ACTIVITY_MIX, params)
    return [
        ActivityMixRow(ActivityKind(kind), n, accounts, share) for kind, n, accounts, share in rows
    ]
