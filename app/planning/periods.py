"""What the revenue figures count and over which periods: revenue events, the 12 months
before now, UTC days, plans active on a day; and the planner setting every report uses."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, DateTime, Interval, and_, cast, func, literal_column, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.activities import Activity
from app.models.planning import REVENUE_KINDS, AccountPlan, PlanStatus

TWELVE_MONTHS = literal_column("interval '12 months'", type_=Interval())
IS_REVENUE = and_(Activity.kind.in_(REVENUE_KINDS), Activity.voided_at.is_(None))
_CUSTOM_PLANS = text("SET LOCAL plan_cache_mode = force_custom_plan")


async def custom_plans(session: AsyncSession) -> None:
    """Plan report queries for their actual dates and years.

    After five runs of a prepared statement PostgreSQL may switch to a generic plan, which
    for these reports is several times slower than one made for the given values.
    """
    await session.execute(_CUSTOM_PLANS)


def utc_midnight(day: Any) -> ColumnElement[datetime]:
    """A date (or timestamp without zone) read as UTC: the start of that day."""
    return func.timezone("UTC", cast(day, DateTime()))


def last_12_months() -> ColumnElement[bool]:
    return and_(
        Activity.occurred_at > func.now() - TWELVE_MONTHS, Activity.occurred_at <= func.now()
    )


def active_on(day: ColumnElement[date] | date) -> list[ColumnElement[bool]]:
    return [
        AccountPlan.status == PlanStatus.ACTIVE,
        AccountPlan.period_start <= day,
        AccountPlan.period_end >= day,
    ]
