"""Reads for the GraphQL layer: DataLoader batches and list queries, one statement each."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Select, exists, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.db import rows_by_id
from app.models.accounts import Account
from app.models.handoff import Pipeline, PipelineEntry, StageEvent

Visible = ColumnElement[bool] | None  # app.teams.visibility's condition on accounts


def _scoped(
    query: Select[StageEvent], receiver_id: int | None, visible: Visible
) -> Select[StageEvent]:
    if receiver_id is not None:
        query = query.where(StageEvent.to_owner_id == receiver_id)
    if visible is not None:
        query = query.where(StageEvent.account_id.in_(select(Account.id).where(visible)))
    return query


def pending_handoffs_query(
    pipeline_id: int, receiver_id: int | None = None, visible: Visible = None
) -> Select[StageEvent]:
    query = select(StageEvent).where(
        StageEvent.pipeline_id == pipeline_id,
        StageEvent.is_handoff,
        StageEvent.accepted_at.is_(None),
    )
    return _scoped(query, receiver_id, visible)


PENDING_ORDER = (StageEvent.occurred_at, StageEvent.id)


def overdue_next_steps_query(
    pipeline_id: int, receiver_id: int | None = None, visible: Visible = None
) -> Select[StageEvent]:
    """Accepted handoffs whose next step fell due before now while the entry stayed where the
    handoff put it: once the entry moves again, that next step is no longer owed."""
    later = aliased(StageEvent)
    moved_on = exists().where(
        later.account_id == StageEvent.account_id,
        later.pipeline_id == StageEvent.pipeline_id,
        later.id > StageEvent.id,
    )
    query = select(StageEvent).where(
        StageEvent.pipeline_id == pipeline_id,
        StageEvent.is_handoff,
        StageEvent.accepted_at.is_not(None),
        StageEvent.next_step_due < func.now(),
        ~moved_on,
    )
    return _scoped(query, receiver_id, visible)


NEXT_STEP_ORDER = (StageEvent.next_step_due, StageEvent.id)


pipelines_by_id = rows_by_id(Pipeline)


async def list_pipelines(session: AsyncSession) -> list[Pipeline]:
    query = select(Pipeline).order_by(Pipeline.is_default.desc(), Pipeline.key)
    return list(await session.scalars(query))


async def entries_by_account(
    session: AsyncSession, keys: Sequence[tuple[int, str]]
) -> list[PipelineEntry | None]:
    """Entries by (account id, pipeline key)."""
    query = (
        select(PipelineEntry, Pipeline.key)
        .join(Pipeline, Pipeline.id == PipelineEntry.pipeline_id)
        .where(tuple_(PipelineEntry.account_id, Pipeline.key).in_(list(keys)))
    )
    found = {(entry.account_id, key): entry for entry, key in await session.execute(query)}
    return [found.get(key) for key in keys]


async def history_by_account(
    session: AsyncSession, keys: Sequence[tuple[int, str]]
) -> list[list[StageEvent]]:
    """Stage events by (account id, pipeline key), oldest first."""
    query = (
        select(StageEvent, Pipeline.key)
        .join(Pipeline, Pipeline.id == StageEvent.pipeline_id)
        .where(tuple_(StageEvent.account_id, Pipeline.key).in_(list(keys)))
        .order_by(StageEvent.occurred_at, StageEvent.id)
    )
    grouped: dict[tuple[int, str], list[StageEvent]] = {key: [] for key in keys}
    for event, key in await session.execute(query):
        grouped[(event.account_id, key)].append(event)
    return [grouped[key] for key in keys]


events_by_id = rows_by_id(StageEvent)
