"""Each account's revenue since an anchor near the start of the 12-month window (0012).

classificationSuggestions ranks every account by its revenue over the last 12 months, a
window that moves with the clock. account_revenue_window holds each account's revenue
since `revenue_window_anchor.since` (future-dated events included), kept by the revenue
trigger on activities in the writer's transaction. A report adds what lies between the
anchor and the window's start, and takes away what lies after now, from the raw
activities: exact whatever the anchor, and cheap while the anchor is close to the start,
which the server's upkeep loop sees to (`advance`, app/reports/upkeep.py).

Moving the anchor locks its row; the revenue trigger takes a share lock on it first, so a
move never races a write. A move waits at most LOCK_TIMEOUT for writers in flight and
otherwise gives up until the next round, so writers never queue long behind it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Subquery,
    bindparam,
    cast,
    func,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import session_scope
from app.kit.sql import sql_file
from app.models.accounts import Account
from app.models.activities import Activity
from app.models.planning import AccountRevenueWindow, RevenueWindowAnchor
from app.planning.periods import IS_REVENUE, TWELVE_MONTHS

LOCK_TIMEOUT = "100ms"
_SET_LOCK_TIMEOUT = text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
_SHIFT = sql_file(__package__, "shift_window.sql")
_ANCHOR = RevenueWindowAnchor.id == 1  # the one row
_LOCK = select(RevenueWindowAnchor.since).where(_ANCHOR).with_for_update()
_SET = (
    update(RevenueWindowAnchor)
    .where(_ANCHOR)
    .values(since=bindparam("since"))
    .execution_options(synchronize_session=False)
)


async def move_anchor(session: AsyncSession, *, to: datetime) -> datetime:
    """Move the anchor to `to`, either way; returns where it was. The caller commits."""
    since = await _lock(session)
    await _shift(session, since, to)
    return since


async def _lock(session: AsyncSession) -> datetime:
    await session.execute(_SET_LOCK_TIMEOUT)
    since: datetime = (await session.execute(_LOCK)).scalar_one()
    return since


async def _shift(session: AsyncSession, since: datetime, to: datetime) -> None:
    if to > since:
        await session.execute(_SHIFT, {"low": since, "high": to, "sign": -1})
    elif to < since:
        await session.execute(_SHIFT, {"low": to, "high": since, "sign": 1})
    await session.execute(_SET, {"since": to})


_TARGET = select(
    func.date_trunc("hour", func.now() - TWELVE_MONTHS, "UTC", type_=DateTime(timezone=True))
)


async def advance(sessionmaker: async_sessionmaker[AsyncSession]) -> bool:
    """Move the anchor up to the hour the window starts in, if it is behind; True if moved."""
    try:
        async with session_scope(sessionmaker) as session:
            target: datetime = (await session.execute(_TARGET)).scalar_one()
            since = await _lock(session)
            if since >= target:
                return False
            await _shift(session, since, target)
        return True
    except DBAPIError as error:  # lock_timeout: writers in flight; next round
        if "lock timeout" not in str(error.orig):
            raise
        return False


def corrections() -> Subquery:
    """(account_id, amount): what to add to account_revenue_window for the last 12 months.

    Between the window's start and the anchor (added when the start is earlier, taken away
    when later), and events dated after now (taken away); a few rows while the anchor is
    within the hour, read through the revenue time index.
    """
    now, start = func.now(), func.now() - TWELVE_MONTHS
    since = select(RevenueWindowAnchor.since).where(RevenueWindowAnchor.id == 1)
    since_value = since.scalar_subquery()
    amount = cast(Activity.amount * 100, BigInteger).label("cents")
    parts = union_all(
        select(Activity.account_id, amount).where(
            IS_REVENUE, Activity.occurred_at > start, Activity.occurred_at < since_value
        ),
        select(Activity.account_id, -amount).where(
            IS_REVENUE, Activity.occurred_at >= since_value, Activity.occurred_at <= start
        ),
        select(Activity.account_id, -amount).where(IS_REVENUE, Activity.occurred_at > now),
    ).subquery("window_parts")
    return (
        select(parts.c.account_id, cast(func.sum(parts.c.cents), BigInteger).label("cents"))
        .group_by(parts.c.account_id)
        .subquery("window_corrections")
    )


def revenue_last_12_months() -> tuple[Any, Any]:
    """(join, cents): `join` outer-joins onto accounts; `cents` is each one's 12 months."""
    stored, fixes = AccountRevenueWindow.__table__, corrections()
    joined = Account.__table__.outerjoin(stored, stored.c.account_id == Account.id).outerjoin(
        fixes, fixes.c.account_id == Account.id
    )
    cents = func.coalesce(stored.c.cents, 0) + func.coalesce(fixes.c.cents, 0)
    return joined, cents
