"""The migration's triggers keep yearly revenue sums in step with activities."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.activities import Activity, ActivityKind
from app.models.planning import AccountRevenueYear
from tests.accounts.factories import create_account
from tests.planning.factories import at


async def years(session: AsyncSession, account_id: int) -> dict[int, Decimal]:
    rows = await session.execute(
        select(AccountRevenueYear.year, AccountRevenueYear.revenue).where(
            AccountRevenueYear.account_id == account_id
        )
    )
    return {year: revenue for year, revenue in rows}


async def test_inserts_updates_and_deletes_keep_yearly_sums(session: AsyncSession) -> None:
    acme = await create_account(session, "Acme")
    other = await create_account(session, "Other")
    rows = [
        (acme, ActivityKind.INVOICE, "100.00", 2023),
        (acme, ActivityKind.PARTS_PURCHASE, "50.00", 2023),
        (acme, ActivityKind.CALL_OUTBOUND, "999.00", 2023),
        (acme, ActivityKind.SERVICE_ORDER, "20.00", 2024),
        (acme, ActivityKind.INVOICE, None, 2024),
        (other, ActivityKind.INVOICE, "7.00", 2023),
    ]
    activities = [
        Activity(
            account_id=a.id, kind=k, amount=None if m is None else Decimal(m), occurred_at=at(y)
        )
        for a, k, m, y in rows
    ]
    session.add_all(activities)
    await session.commit()
    invoice, parts, call, service = (a.id for a in activities[:4])
    assert await years(session, acme.id) == {2023: Decimal("150.00"), 2024: Decimal("20.00")}

    await session.execute(update(Activity).where(Activity.id == invoice).values(amount=130))
    await session.execute(
        update(Activity).where(Activity.id == call).values(kind=ActivityKind.INVOICE)
    )
    await session.execute(
        update(Activity).where(Activity.id == service).values(occurred_at=at(2025))
    )
    await session.execute(delete(Activity).where(Activity.id == parts))
    await session.commit()

    assert await years(session, acme.id) == {
        2023: Decimal("1129.00"),
        2024: Decimal("0.00"),
        2025: Decimal("20.00"),
    }
    assert await years(session, other.id) == {2023: Decimal("7.00")}
