from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import BigInteger, any_, bindparam, exists, or_, select, union
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.assignments import Assignment
from app.models.handoff import PipelineEntry


async def user_holds_account(session: AsyncSession, *, user_id: int, account_id: int) -> bool:
    """True when the user is assigned to the account or owns a pipeline entry of it (REP scope)."""
    assigned = exists().where(Assignment.account_id == account_id, Assignment.user_id == user_id)
    owns_entry = exists().where(
        PipelineEntry.account_id == account_id, PipelineEntry.owner_id == user_id
    )
    return bool(await session.scalar(select(or_(assigned, owns_entry))))


async def accounts_held(
    session: AsyncSession, *, user_id: int, account_ids: Collection[int]
) -> set[int]:
    """Which of the accounts the user holds (REP scope), in one query for a whole batch."""
    ids = bindparam(None, list(account_ids), type_=ARRAY(BigInteger))
    assigned = select(Assignment.account_id).where(
        Assignment.user_id == user_id, Assignment.account_id == any_(ids)
    )
    owned = select(PipelineEntry.account_id).where(
        PipelineEntry.owner_id == user_id, PipelineEntry.account_id == any_(ids)
    )
    return set(await session.scalars(union(assigned, owned)))
