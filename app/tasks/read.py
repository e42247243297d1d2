"""The tasks list: its filter, its order (due time, then id) and who reads whose tasks.

Without an owner the list holds the viewer's own tasks. Another user's tasks follow their
account's visibility (app.teams.visibility): a caller who reads every account reads them
all; under TEAM or OWN a REP reads those on accounts they see, and none without an account.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.actor import Actor
from app.models.accounts import Account
from app.models.tasks import Task, TaskStatus
from app.teams.visibility import account_filter

TASK_ORDER = (Task.due_at, Task.id)


@dataclass(frozen=True, slots=True)
class TaskFilter:
    owner_id: int | None = None
    status: Sequence[TaskStatus] | None = None
    due_before: datetime | None = None
    account_id: int | None = None
    lead_id: int | None = None


def others(actor: Actor, clause: ColumnElement[bool] | None) -> ColumnElement[bool]:
    """The tasks a caller reads: their own, and others' on the accounts `clause` keeps."""
    if clause is None:
        return Task.id.is_not(None)
    visible = and_(Task.account_id.is_not(None), Task.account_id.in_(_visible_ids(clause)))
    return or_(Task.owner_id == actor.user_id, visible)


def _visible_ids(clause: ColumnElement[bool]) -> Select[Any]:
    return select(Account.id).where(clause)


async def tasks_query(session: AsyncSession, actor: Actor, given: TaskFilter) -> Select[Any]:
    owner = given.owner_id if given.owner_id is not None else actor.user_id
    query = select(Task).where(Task.owner_id == owner)
    if owner != actor.user_id:
        query = query.where(others(actor, await account_filter(session, actor)))
    if given.status:
        query = query.where(Task.status.in_(list(given.status)))
    if given.due_before is not None:
        query = query.where(Task.due_at < given.due_before)
    if given.account_id is not None:
        query = query.where(Task.account_id == given.account_id)
    if given.lead_id is not None:
        query = query.where(Task.lead_id == given.lead_id)
    return query


async def readable_task(session: AsyncSession, actor: Actor, task_id: int) -> Task | None:
    """One task by id (node), when the caller may read it."""
    clause = others(actor, await account_filter(session, actor))
    return await session.scalar(select(Task).where(Task.id == task_id, clause))
