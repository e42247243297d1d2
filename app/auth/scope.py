"""What the rule table (schema/authz.py) reads about rows to decide: it decides, not these."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import BigInteger, any_, bindparam, exists, or_, select, union
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.accounts import Account
from app.models.assignments import Assignment
from app.models.handoff import Pipeline, PipelineEntry, StageEvent


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


async def account_value(session: AsyncSession, account_id: int, column: str) -> tuple[bool, Any]:
    """(whether the account exists, its current value of `column`)."""
    query = select(getattr(Account, column)).where(Account.id == account_id)
    found = (await session.execute(query)).one_or_none()
    return (False, None) if found is None else (True, found[0])


async def entry_owner(
    session: AsyncSession, *, account_id: int, pipeline_key: str
) -> tuple[bool, int | None]:
    """(whether the entry exists, its owner), the entry locked as a move locks it: its owner
    cannot change between this check and the move."""
    query = (
        select(PipelineEntry.owner_id)
        .join(Pipeline, Pipeline.id == PipelineEntry.pipeline_id)
        .where(PipelineEntry.account_id == account_id, Pipeline.key == pipeline_key)
        .with_for_update(of=PipelineEntry)
    )
    found = (await session.execute(query)).one_or_none()
    return (False, None) if found is None else (True, found.owner_id)


async def handoff_recipient(session: AsyncSession, event_id: int) -> tuple[bool, int | None]:
    """(whether the stage event is a handoff, the owner it hands the entry to)."""
    query = select(StageEvent.is_handoff, StageEvent.to_owner_id).where(StageEvent.id == event_id)
    found = (await session.execute(query)).one_or_none()
    return (False, None) if found is None or not found.is_handoff else (True, found.to_owner_id)
