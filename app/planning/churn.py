"""The churn estimate: per complete calendar year, last year's customers and who of them
bought nothing, read from the churn years migration 0012's trigger keeps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Numeric,
    Subquery,
    case,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidInputError
from app.models.planning import ChurnYearSum
from app.planning.periods import custom_plans

DEFAULT_CHURN_YEARS = 3


@dataclass(frozen=True, slots=True)
class ChurnYear:
    year: int
    customers_at_start: int
    churned: int
    revenue_at_start: Decimal
    revenue_lost: Decimal


@dataclass(frozen=True, slots=True)
class ChurnEstimate:
    by_count: Decimal | None
    by_revenue: Decimal | None
    years: list[ChurnYear]


def check_years(years: int | None) -> int:
    years = DEFAULT_CHURN_YEARS if years is None else years
    if not 1 <= years <= 50:
        raise InvalidInputError("years must be between 1 and 50.", field="years")
    return years


def churn_per_year(years: int, *, today: date) -> Subquery:
    """Per complete calendar year Y: last year's customers, and who of them bought nothing in Y.

    Read from churn_years, which a trigger keeps from the yearly revenue sums (migration
    0012); a year without customers reads 0 for both sums, as summing no accounts did.
    """
    last = today.year - 1
    first = last - years + 1
    sums = ChurnYearSum
    series = select(func.generate_series(first, last).label("y")).subquery("years")
    customers = cast(func.coalesce(func.sum(sums.customers), 0), BigInteger)
    churned = cast(func.coalesce(func.sum(sums.churned), 0), BigInteger)
    return (
        select(
            series.c.y,
            customers.label("customers"),
            churned.label("churned"),
            case((customers == 0, literal(0)), else_=func.sum(sums.revenue_at_start)).label(
                "revenue_at_start"
            ),
            case((churned == 0, literal(0)), else_=func.sum(sums.revenue_lost)).label(
                "revenue_lost"
            ),
        )
        .select_from(series.outerjoin(sums, sums.year == series.c.y))
        .group_by(series.c.y)
        .subquery("churn_per_year")
    )


def _rates(per_year: Subquery) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    by_count = func.avg(cast(per_year.c.churned, Numeric) / func.nullif(per_year.c.customers, 0))
    by_revenue = func.avg(per_year.c.revenue_lost / func.nullif(per_year.c.revenue_at_start, 0))
    return by_count, by_revenue


def estimated_churn_rate(*, today: date) -> ColumnElement[Decimal]:
    """churnEstimate.byRevenue over the default years, as a scalar subquery (0 without data).

    PostgreSQL runs it lazily, so plans with their own rate never pay for it.
    """
    per_year = churn_per_year(DEFAULT_CHURN_YEARS, today=today)
    return func.coalesce(select(_rates(per_year)[1]).scalar_subquery(), 0)


async def churn_estimate(session: AsyncSession, *, years: int, today: date) -> ChurnEstimate:
    await custom_plans(session)
    per_year = churn_per_year(years, today=today)
    by_count, by_revenue = _rates(per_year)
    query = select(
        per_year,
        by_count.over().label("by_count"),
        by_revenue.over().label("by_revenue"),
    ).order_by(per_year.c.y)
    rows = (await session.execute(query)).all()
    return ChurnEstimate(
        by_count=rows[0].by_count if rows else None,
        by_revenue=rows[0].by_revenue if rows else None,
        years=[
            ChurnYear(r.y, r.customers, r.churned, r.revenue_at_start, r.revenue_lost) for r in rows
        ],
    )
