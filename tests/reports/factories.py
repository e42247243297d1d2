from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.accounts import Account
from app.models.handoff import Pipeline, PipelineEntry, StageEvent

DAY = 86_400.0


def jan(day: int, hour: int = 12) -> datetime:
    return datetime(2025, 1, day, hour, tzinfo=UTC)


def event(
    pipeline: Pipeline,
    account_id: int,
    move: tuple[str | None, str],
    at: datetime,
    owners: tuple[int | None, int | None],
    seconds: float | None = None,
) -> StageEvent:
    return StageEvent(
        account_id=account_id,
        pipeline_id=pipeline.id,
        from_stage=move[0],
        to_stage=move[1],
        trigger="enter" if move[0] is None else "move",
        occurred_at=at,
        from_owner_id=owners[0],
        to_owner_id=owners[1],
        seconds_in_previous_stage=seconds,
        missing_recommended=[],
    )


async def set_entry(
    session: AsyncSession, account: Account, *, stage: str, days_ago: float, owner_id: int | None
) -> None:
    entered = datetime.now(UTC) - timedelta(days=days_ago)
    values: dict[str, Any] = {"stage": stage, "entered_at": entered, "owner_id": owner_id}
    await session.execute(
        update(PipelineEntry).where(PipelineEntry.account_id == account.id).values(**values)
    )
    await session.commit()


async def archive(session: AsyncSession, account: Account) -> None:
    await session.execute(
        update(Account).where(Account.id == account.id).values(archived_at=datetime.now(UTC))
    )
    await session.commit()
