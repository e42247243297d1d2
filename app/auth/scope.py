from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.assignments.models import Assignment


async def user_holds_account(session: AsyncSession, *, user_id: int, account_id: int) -> bool:
    """True when the user is assigned to the account (a REP's write scope)."""
    assigned = exists().where(Assignment.account_id == account_id, Assignment.user_id == user_id)
    return bool(await session.scalar(select(assigned)))
