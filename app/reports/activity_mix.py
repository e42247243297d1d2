"""The mix of logged activities per kind over a range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.handoff.reports import check_range
from app.kit.sql import REPORT_SETTINGS, sql_file
from app.models.activities import ActivityKind


@dataclass(frozen=True, slots=True)
class ActivityMixRow:
    kind: ActivityKind
    count: int
    accounts: int
    share: float


ACTIVITY_MIX = sql_file(__package__, "activity_mix.sql")


async def activity_mix(
    session: AsyncSession, *, start: datetime, end: datetime
) -> list[ActivityMixRow]:
    check_range(start, end)
    await session.execute(REPORT_SETTINGS)
    rows = await session.execute(ACTIVITY_MIX, {"start": start, "end": end})
    return [
        ActivityMixRow(ActivityKind(kind), n, accounts, share) for kind, n, accounts, share in rows
    ]
