from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.actor import SYSTEM
from app.models.accounts import Account
from app.models.activities import Activity, ActivityKind
from app.models.assignments import Assignment, ManagerType
from app.models.planning import AccountPlan, PlanStatus
from app.planning import service


def at(year: int, month: int = 6, day: int = 15) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


async def create_activity(
    session: AsyncSession,
    account: Account,
    amount: str | None,
    occurred_at: datetime,
    kind: ActivityKind = ActivityKind.INVOICE,
) -> Activity:
    activity = Activity(
        account_id=account.id,
        kind=kind,
        occurred_at=occurred_at,
        amount=None if amount is None else Decimal(amount),
    )
    session.add(activity)
    await session.commit()
    return activity


async def create_plan(
    session: AsyncSession,
    account: Account,
    *,
    start: date = date(2025, 1, 1),
    end: date = date(2025, 12, 31),
    status: PlanStatus = PlanStatus.DRAFT,
    growth_target_pct: str = "10",
    **terms: Any,
) -> AccountPlan:
    plan = await service.create_plan(
        session,
        actor=SYSTEM,
        account_id=account.id,
        period_start=start,
        period_end=end,
        growth_target_pct=Decimal(growth_target_pct),
        **terms,
    )
    if status is not PlanStatus.DRAFT:
        await service.set_plan_status(session, actor=SYSTEM, plan_id=plan.id, status=status)
    await session.commit()
    return plan


async def assign(session: AsyncSession, user_id: int, account: Account) -> None:
    session.add(
        Assignment(
            account_id=account.id,
            user_id=user_id,
            manager_type=ManagerType.SALES,
            contact_frequency_days=30,
            started_at=at(2024),
        )
    )
    await session.commit()
