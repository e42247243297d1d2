from __future__ import annotations

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.assignments.models import Assignment
from app.handoff.models import PipelineEntry


async def user_holds_account(session: AsyncSession, *, user_id: int, account_id: int) -> bool:
    """True when the user is assigned to the account or owns a pipeline entry of it (REP scope)."""
    assigned = exists().where(Assignment.account_id == account_id, Assignment.user_id == user_id)
    owns_entry = exists().where(
        PipelineEntry.account_id == account_id, PipelineEntry.owner_id == user_id
    )
    return bool(await session.scalar(select(or_(assigned, owns_entry))))
