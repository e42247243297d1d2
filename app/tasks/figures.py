"""A user's own figures (User.figures): their cadence, contacts and tasks, in one statement.

`dueSoon` counts assignments due within the next DUE_SOON_DAYS (7) days, not yet overdue;
`contactsDueNext30Days` those due within 30 days, not yet overdue (the overdue ones are
`overdue`); `contactsLast30Days` the user's own contacts (any kind but NOTE) of the last 30
days; `overdueTasks` the open tasks whose due time has passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import BigInteger, DateTime, Integer

from app.activities.cadence import DUE_SOON_DAYS
from app.kit.sql import sql_file

_FIGURES = sql_file(
    __package__,
    "figures.sql",
    bindparam("user_id", type_=BigInteger),
    bindparam("now", type_=DateTime(timezone=True)),
    bindparam("due_soon_days", type_=Integer),
)


@dataclass(frozen=True, slots=True)
class UserFigures:
    assigned_accounts: int
    overdue: int
    due_soon: int
    contacts_last_30_days: int
    contacts_due_next_30_days: int
    open_tasks: int
    overdue_tasks: int


async def user_figures(session: AsyncSession, *, user_id: int, now: datetime) -> UserFigures:
    params = {"user_id": user_id, "now": now, "due_soon_days": DUE_SOON_DAYS}
    row = (await session.execute(_FIGURES, params)).one()
    return UserFigures(**row._mapping)
