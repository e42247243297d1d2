"""Contact cadence: when an assignment is due, and whether its contacts balance its frequency.

The derived columns of an assignment (next_contact_due, balance_status, balance_as_of) are
set by the `assignments_cadence` trigger from last_contact_at and contact_days (see
migration 0002), so every writer (ingest, rule change, reassignment, bulk SQL) keeps them
consistent. This module keeps last_contact_at and contact_days up to date.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import ColumnElement, Date, and_, any_, bindparam, cast, func, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import BigInteger, String

from app.kit.sql import sql_file
from app.models.assignments import Assignment, BalanceStatus, CadenceStatus

DUE_SOON_DAYS = 7
DEFAULT_WINDOW_DAYS = 365
DEFAULT_SURPLUS_AT = 1.5
DEFAULT_DEFICIT_AT = 0.5


def utc_today(now: datetime) -> date:
    return now.astimezone(UTC).date()


def next_contact_due(last_contact_at: datetime | None, started_at: datetime, days: int) -> datetime:
    return (last_contact_at or started_at) + timedelta(days=days)


def cadence_status(due: datetime, now: datetime) -> CadenceStatus:
    """OVERDUE when due before now; DUE_SOON when due within 7 days (7 days exactly included)."""
    if due < now:
        return CadenceStatus.OVERDUE
    if due <= now + timedelta(days=DUE_SOON_DAYS):
        return CadenceStatus.DUE_SOON
    return CadenceStatus.ON_TRACK


@dataclass(frozen=True, slots=True)
class Balance:
    expected: float
    actual: int
    ratio: float | None
    status: BalanceStatus


def contact_balance(
    contact_days: Sequence[date],
    *,
    started_at: datetime,
    frequency_days: int,
    today: date,
    window_days: int = DEFAULT_WINDOW_DAYS,
    surplus_at: float = DEFAULT_SURPLUS_AT,
    deficit_at: float = DEFAULT_DEFICIT_AT,
) -> Balance:
    """The same rule as the SQL function cadence_balance (migration 0002), for one row.

    The window is the `window_days` UTC days ending today, clipped to start no earlier than
    the assignment's first day; `actual` counts distinct days (contact_days is sorted).
    """
    start = max(today - timedelta(days=window_days - 1), utc_today(started_at))
    days = (today - start).days + 1
    if days <= 0:
        return Balance(0.0, 0, None, BalanceStatus.BALANCED)
    actual = bisect.bisect_right(contact_days, today) - bisect.bisect_left(contact_days, start)
    # One division, as in SQL, so that 3 contacts in 20 days every 10 days is exactly 1.5.
    ratio = actual * frequency_days / days
    if ratio >= surplus_at:
        status = BalanceStatus.SURPLUS
    elif ratio <= deficit_at:
        status = BalanceStatus.DEFICIT
    else:
        status = BalanceStatus.BALANCED
    return Balance(days / frequency_days, actual, ratio, status)


def status_condition(statuses: Sequence[CadenceStatus], now: datetime) -> ColumnElement[bool]:
    due = Assignment.next_contact_due
    soon = now + timedelta(days=DUE_SOON_DAYS)
    ranges = {
        CadenceStatus.OVERDUE: due < now,
        CadenceStatus.DUE_SOON: and_(due >= now, due <= soon),
        CadenceStatus.ON_TRACK: due > soon,
    }
    return or_(*(ranges[s] for s in dict.fromkeys(statuses)))


def balance_condition(statuses: Sequence[BalanceStatus]) -> ColumnElement[bool]:
    """Default-window balance: the stored status when computed today, else computed now.

    "Today" is the database's, as in the trigger that stores the status. Both branches are
    ranges of one index (balance_as_of, balance_status, …), so a fresh table answers from it.
    """
    today = cast(func.timezone("UTC", func.now()), Date)
    wanted = [s.value for s in dict.fromkeys(statuses)]
    computed = func.cadence_balance(
        Assignment.contact_days,
        Assignment.started_at,
        Assignment.contact_frequency_days,
        today,
        DEFAULT_WINDOW_DAYS,
        DEFAULT_SURPLUS_AT,
        DEFAULT_DEFICIT_AT,
        type_=String,
    )
    as_of = Assignment.balance_as_of
    stale = or_(as_of.is_(None), as_of < today, as_of > today)
    return or_(
        and_(Assignment.balance_status.in_(wanted), as_of == today),
        and_(stale, computed.in_(wanted)),
    )


_LOCK = (
    select(Assignment.id)
    .where(Assignment.id == any_(bindparam("ids", type_=ARRAY(BigInteger))))
    .order_by(Assignment.id)
    .with_for_update()
)

_RECOMPUTE = sql_file(
    __package__, "recompute_assignments.sql", bindparam("ids", type_=ARRAY(BigInteger))
)
_REFRESH = sql_file(__package__, "refresh_balances.sql")


async def recompute_assignments(session: AsyncSession, ids: Sequence[int]) -> None:
    """Rebuild last contact and contact days from the activities (after a rule change).

    Locking first means the recompute reads every activity committed before it, and an
    ingest waiting on the lock merges its own activities afterwards.
    """
    if not ids:
        return
    await session.execute(_LOCK, {"ids": sorted(ids)})
    await session.execute(_RECOMPUTE, {"ids": list(ids)})


async def refresh_balances(session: AsyncSession) -> int:
    """Recompute the stored default balance of rows not computed today (a daily job)."""
    result = await session.execute(_REFRESH)
    return int(result.rowcount)  # type: ignore[attr-defined]
