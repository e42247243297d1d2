from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.activities import ingest
from app.assignments import service
from app.kit.actor import SYSTEM
from app.models.activities import ActivityKind, ContactRule
from app.models.assignments import Assignment, ManagerType
from tests.support import Api, Caller, contract_operations


def today() -> date:
    return datetime.now(UTC).date()


def noon(days_ago: int) -> datetime:
    """Noon UTC of a day relative to today: never more than 12 hours in the future."""
    return datetime.combine(today() - timedelta(days=days_ago), time(12), tzinfo=UTC)


def day_start(days_ago: int) -> datetime:
    return datetime.combine(today() - timedelta(days=days_ago), time(0), tzinfo=UTC)


async def create_assignment(
    session: AsyncSession,
    *,
    account_id: int,
    user_id: int,
    manager_type: ManagerType = ManagerType.SALES,
    frequency: int = 30,
    started_at: datetime | None = None,
) -> Assignment:
    row, _ = await service.assign_account(
        session,
        actor=SYSTEM,
        account_id=account_id,
        user_id=user_id,
        manager_type=manager_type,
        contact_frequency_days=frequency,
        started_at=started_at,
    )
    await session.commit()
    return row


async def log(
    session: AsyncSession,
    *,
    account_id: int,
    occurred_at: datetime,
    kind: ActivityKind = ActivityKind.CALL_OUTBOUND,
    user_id: int | None = None,
    external_id: str | None = None,
    amount: Decimal | None = None,
) -> None:
    item = ingest.ActivityInput(
        kind=kind,
        occurred_at=occurred_at,
        account_id=account_id,
        user_id=user_id,
        amount=amount,
        source="test" if external_id else None,
        external_id=external_id,
    )
    result = await ingest.log_activities(session, actor=SYSTEM, items=[item], max_batch=1)
    assert result.rejected == []
    await session.commit()


async def rules_rebuilt(session: AsyncSession) -> None:
    """Wait for the server's background job to rebuild after a contact-rule change.

    Each statement sees what was committed before it (READ COMMITTED): no new transaction.
    """
    query = select(func.count()).select_from(ContactRule).where(ContactRule.rebuild_pending)
    for _ in range(200):  # 10 s
        if not await session.scalar(query):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the contact-rule rebuild did not finish")


async def log_op(
    api: Api, name: str, variables: dict[str, Any], *, caller: Caller
) -> dict[str, Any]:
    """A contract operation run as `api.op` runs it, but for one error: a caller who may not
    read people (an integration) reads the activity's `user` as null, FORBIDDEN."""
    result = await api.gql(contract_operations()[name], variables, caller=caller)
    for error in result.get("errors", []):
        assert (error["extensions"]["code"], error["path"][-1]) == ("FORBIDDEN", "user"), error
    data: dict[str, Any] = result["data"]
    return data
