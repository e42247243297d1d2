"""Known answers for the cadence status and balance rules, in Python and in SQL alike."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.activities.cadence import cadence_status, contact_balance
from app.auth import service as auth
from app.kit.actor import SYSTEM
from app.models.assignments import Assignment, BalanceStatus, CadenceStatus
from app.models.auth import Role
from tests.accounts.factories import create_account
from tests.activities.factories import create_assignment

NOW = datetime(2026, 6, 15, 10, 30, tzinfo=UTC)
TODAY = NOW.date()


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        (NOW - timedelta(microseconds=1), CadenceStatus.OVERDUE),
        (NOW, CadenceStatus.DUE_SOON),
        (NOW + timedelta(days=7), CadenceStatus.DUE_SOON),
        (NOW + timedelta(days=7, microseconds=1), CadenceStatus.ON_TRACK),
    ],
)
def test_status_boundaries(due: datetime, expected: CadenceStatus) -> None:
    assert cadence_status(due, NOW) is expected


def days(*ago: int) -> list[date]:
    return sorted(TODAY - timedelta(days=n) for n in ago)


CASES = [
    # (contact days ago, started days ago, frequency, window) -> expected, actual, ratio, status
    # Clipped: started 19 days ago = 20 days; every 10 days = 2 expected; 3 days = 1.5.
    ((1, 2, 3), 19, 10, 365, 2.0, 3, 1.5, BalanceStatus.SURPLUS),
    # Just under 1.5: 3 days in 21 days every 10 days = 1.43.
    ((1, 2, 3), 20, 10, 365, 2.1, 3, 3 * 10 / 21, BalanceStatus.BALANCED),
    # Exactly 0.5: 1 day in 20 days every 10 days.
    ((5,), 19, 10, 365, 2.0, 1, 0.5, BalanceStatus.DEFICIT),
    # Just over 0.5: 1 day in 19 days every 10 days.
    ((5,), 18, 10, 365, 1.9, 1, 10 / 19, BalanceStatus.BALANCED),
    # Unclipped window of 365 days every 73 days: 5 expected, 5 days -> 1.0.
    ((0, 50, 100, 200, 364), 1000, 73, 365, 5.0, 5, 1.0, BalanceStatus.BALANCED),
    # A day just outside the window (365 days ago) does not count.
    ((0, 50, 100, 200, 365), 1000, 73, 365, 5.0, 4, 0.8, BalanceStatus.BALANCED),
    # Contacts before the assignment started do not count either.
    ((1, 30), 19, 10, 365, 2.0, 1, 0.5, BalanceStatus.DEFICIT),
    # A narrower window: 10 days every 5 days.
    ((1, 2, 3, 20), 1000, 5, 10, 2.0, 3, 1.5, BalanceStatus.SURPLUS),
    # Started today: one day; nothing yet.
    ((), 0, 30, 365, 1 / 30, 0, 0.0, BalanceStatus.DEFICIT),
    # Started in the future: no window at all.
    ((), -3, 30, 365, 0.0, 0, None, BalanceStatus.BALANCED),
]


@pytest.mark.parametrize(
    ("contacts", "started", "frequency", "window", "expected", "actual", "ratio", "status"),
    CASES,
)
async def test_balance_known_answers_python_and_sql(
    session: AsyncSession,
    contacts: tuple[int, ...],
    started: int,
    frequency: int,
    window: int,
    expected: float,
    actual: int,
    ratio: float | None,
    status: BalanceStatus,
) -> None:
    started_at = datetime.combine(TODAY - timedelta(days=started), NOW.timetz())
    found = contact_balance(
        days(*contacts),
        started_at=started_at,
        frequency_days=frequency,
        today=TODAY,
        window_days=window,
    )
    assert found.expected == pytest.approx(expected)
    assert found.actual == actual
    assert found.ratio == (None if ratio is None else pytest.approx(ratio))
    assert found.status is status
    in_sql = await session.scalar(
        select(
            func.cadence_balance(days(*contacts), started_at, frequency, TODAY, window, 1.5, 0.5)
        )
    )
    assert in_sql == status.value


def test_thresholds_are_arguments() -> None:
    balance = contact_balance(
        days(1, 2, 3),
        started_at=NOW - timedelta(days=19),
        frequency_days=10,
        today=TODAY,
        surplus_at=2.0,
        deficit_at=1.5,
    )
    assert balance.status is BalanceStatus.DEFICIT


async def test_trigger_stores_the_same_default_balance(session: AsyncSession) -> None:
    """The assignments trigger unrolls the rule for the default window: same answers."""
    account = await create_account(session, "Acme")
    user = await auth.create_user(
        session, actor=SYSTEM, email="rep@example.org", name="Rep", role=Role.REP
    )
    row = await create_assignment(session, account_id=account.id, user_id=user.id)
    today = datetime.now(UTC).date()
    for contacts, started, frequency, window, *_, status in CASES:
        if window != 365:
            continue
        await session.execute(
            update(Assignment)
            .where(Assignment.id == row.id)
            .values(
                contact_days=sorted(today - timedelta(days=n) for n in contacts),
                started_at=datetime.combine(today - timedelta(days=started), NOW.timetz()),
                contact_frequency_days=frequency,
            )
        )
        stored = await session.scalar(
            select(Assignment.balance_status).where(Assignment.id == row.id)
        )
        assert stored == status.value, (contacts, started, frequency)
