"""An account's revenue: the last 12 months and per UTC calendar year (voided events excluded)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Integer, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.activities import Activity
from app.models.planning import AccountRevenueYear
from app.planning.periods import IS_REVENUE, last_12_months

MAX_YEARS = 50
ZERO = Decimal("0.00")


def last_12_months_of(account_id: Any) -> Any:
    """A correlated expression: the account's revenue over the last 12 months (a sort key)."""
    return (
        select(func.coalesce(func.sum(Activity.amount), ZERO))
        .where(Activity.account_id == account_id, IS_REVENUE, last_12_months())
        .scalar_subquery()
    )


def _ids(ids: Sequence[int]) -> Any:
    return any_(bindparam(None, list(ids), type_=ARRAY(BigInteger)))


async def last_12_months_by_account(
    session: AsyncSession, account_ids: Sequence[int]
) -> list[Decimal]:
    query = (
        select(Activity.account_id, func.sum(Activity.amount))
        .where(Activity.account_id == _ids(account_ids), IS_REVENUE, last_12_months())
        .group_by(Activity.account_id)
    )
    found = {pk: total for pk, total in await session.execute(query)}
    return [found.get(pk) or ZERO for pk in account_ids]


@dataclass(frozen=True, slots=True)
class RevenueYear:
    year: int
    revenue: Decimal
    invoices: int


async def years_by_account(
    session: AsyncSession, keys: Sequence[tuple[int, int]]
) -> list[list[RevenueYear]]:
    """(account id, years) -> the last `years` UTC calendar years, newest first.

    Revenue comes from the yearly sums the planning trigger keeps; `invoices` counts the
    revenue events (invoices, parts purchases, service orders) of each year.
    """
    ids = sorted({pk for pk, _ in keys})
    span = max(years for _, years in keys)
    current = datetime.now(UTC).year
    first = current - span + 1
    year = func.extract("year", func.timezone("UTC", Activity.occurred_at)).cast(Integer)
    counts = (
        select(Activity.account_id, year.label("year"), func.count().label("n"))
        .where(Activity.account_id == _ids(ids), IS_REVENUE, year >= first)
        .group_by(Activity.account_id, year)
        .subquery()
    )
    sums = AccountRevenueYear
    revenue = dict(
        ((pk, y), total)
        for pk, y, total in await session.execute(
            select(sums.account_id, sums.year, sums.revenue).where(
                sums.account_id == _ids(ids), sums.year >= first
            )
        )
    )
    invoices = dict(
        ((pk, y), n)
        for pk, y, n in await session.execute(
            select(counts.c.account_id, counts.c.year, counts.c.n)
        )
    )
    return [
        [
            RevenueYear(
                year=y,
                revenue=revenue.get((pk, y), ZERO),
                invoices=int(invoices.get((pk, y), 0)),
            )
            for y in range(current, current - years, -1)
        ]
        for pk, years in keys
    ]
