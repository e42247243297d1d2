"""Two activations racing for one account: the account lock lets exactly one through."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import db
from app.kit.actor import SYSTEM
from app.models.planning import AccountPlan, PlanStatus
from app.planning import service
from tests.accounts.factories import create_account
from tests.planning.factories import create_plan


async def test_concurrent_overlapping_activation_is_refused(
    session: AsyncSession, engine: AsyncEngine
) -> None:
    acme = await create_account(session, "Acme")
    first = await create_plan(session, acme)
    second = await create_plan(session, acme, start=date(2025, 6, 1), end=date(2026, 5, 31))
    sessions = db.create_sessionmaker(engine)

    async with sessions() as one, sessions() as two:
        await service.set_plan_status(one, actor=SYSTEM, plan_id=first.id, status=PlanStatus.ACTIVE)

        async def activate_second() -> None:
            await service.set_plan_status(
                two, actor=SYSTEM, plan_id=second.id, status=PlanStatus.ACTIVE
            )
            await two.commit()

        racing = asyncio.create_task(activate_second())
        await asyncio.sleep(0.3)
        assert not racing.done()  # waits for the first transaction's account lock
        await one.commit()
        with pytest.raises(service.PlanOverlapError):
            await racing

    statuses = await session.execute(
        select(AccountPlan.id, AccountPlan.status).order_by(AccountPlan.id)
    )
    assert list(statuses) == [(first.id, PlanStatus.ACTIVE), (second.id, PlanStatus.DRAFT)]
