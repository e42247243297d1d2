from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidInputError
from app.kit.sql import sql_file
from app.kit.validation import check_moment
from app.models.accounts import AccountSource

SOURCE_REPORT = sql_file(__package__, "source_report.sql")


@dataclass(frozen=True, slots=True)
class SourceRow:
    source: AccountSource | None
    leads: int
    converted: int
    conversion_rate: float | None
    median_days_to_convert: float | None
    revenue_last_12_months: Decimal


async def lead_source_report(
    session: AsyncSession, *, from_: datetime, to: datetime
) -> list[SourceRow]:
    check_moment("from", from_)
    check_moment("to", to)
    if to <= from_:
        raise InvalidInputError("'to' must be after 'from'.", field="to")
    rows = await session.execute(SOURCE_REPORT, {"from_": from_, "to_": to})
    return [
        SourceRow(
            source=AccountSource(row.source) if row.source else None,
            leads=row.leads,
            converted=row.converted,
            conversion_rate=row.conversion_rate,
            median_days_to_convert=None if row.median_days is None else float(row.median_days),
            revenue_last_12_months=row.revenue,
        )
        for row in rows
    ]
