from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.accounts import Account, BuyingRole
from app.models.activities import Activity, ActivityKind
from app.models.handoff import BlockedAttempt, Pipeline, PipelineEntry, StageEvent
from tests.accounts.factories import create_account, create_contact

NOW = datetime(2026, 1, 1, tzinfo=UTC)


async def qualified_account(session: AsyncSession, name: str = "Ready Co") -> Account:
    """An account that meets every necessary requirement of the default pipeline."""
    account = await create_account(session, name=name, industry="Agriculture")
    await create_contact(session, account, role=BuyingRole.DECISION_MAKER)
    await log_activity(session, account.id, datetime.now(UTC) - timedelta(days=1))
    return account


async def log_activity(session: AsyncSession, account_id: int, at: datetime) -> None:
    session.add(Activity(account_id=account_id, kind=ActivityKind.CALL_OUTBOUND, occurred_at=at))
    await session.commit()


async def default_pipeline(session: AsyncSession) -> Pipeline:
    found = await session.scalar(select(Pipeline).where(Pipeline.key == "default"))
    assert found is not None
    return found


async def events_of(session: AsyncSession, account_id: int) -> list[StageEvent]:
    query = (
        select(StageEvent)
        .where(StageEvent.account_id == account_id)
        .order_by(StageEvent.occurred_at, StageEvent.id)
        .execution_options(populate_existing=True)
    )
    return list(await session.scalars(query))


async def entry_of(session: AsyncSession, account_id: int, pipeline_id: int) -> PipelineEntry:
    query = select(PipelineEntry).where(
        PipelineEntry.account_id == account_id, PipelineEntry.pipeline_id == pipeline_id
    )
    found = await session.scalar(query.execution_options(populate_existing=True))
    assert found is not None
    return found


async def count_rows(session: AsyncSession, model: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def insert_events(
    session: AsyncSession,
    pipeline: Pipeline,
    account_id: int,
    moves: Sequence[tuple[str | None, str, datetime]],
    touches: Sequence[int] = (),
    **extra: Any,
) -> list[StageEvent]:
    """A chain of events with chosen times; durations follow from the previous event.

    touches[i] is the activity count of the stay ended by moves[i + 1]."""
    extra.setdefault("missing_recommended", [])
    events: list[StageEvent] = []
    previous: datetime | None = None
    ended = [None, *touches]
    for (from_stage, to_stage, at), touched in zip(moves, ended, strict=False):
        event = StageEvent(
            account_id=account_id,
            pipeline_id=pipeline.id,
            from_stage=from_stage,
            to_stage=to_stage,
            trigger="enter" if from_stage is None else "move",
            occurred_at=at,
            seconds_in_previous_stage=None if previous is None else (at - previous).total_seconds(),
            touches_in_previous_stage=touched,
            **extra,
        )
        session.add(event)
        events.append(event)
        previous = at
    await session.commit()
    return events


async def insert_blocked(
    session: AsyncSession, pipeline: Pipeline, account_id: int, missing: list[str], at: datetime
) -> None:
    session.add(
        BlockedAttempt(
            account_id=account_id,
            pipeline_id=pipeline.id,
            from_stage="QUALIFIED",
            to_stage="OPPORTUNITY",
            trigger="handoff",
            is_handoff=True,
            missing=missing,
            occurred_at=at,
        )
    )
    await session.commit()
