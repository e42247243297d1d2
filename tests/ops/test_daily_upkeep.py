"""The daily balance refresh and overdue reminders run inside the servers, once a day."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import db
from app.accounts import service as accounts
from app.activities.reminders import refresh_and_remind, refresh_if_due
from app.assignments.service import assign_account
from app.auth import service as auth
from app.kit.actor import SYSTEM
from app.models.assignments import ManagerType
from app.models.auth import Role
from app.upkeep import run_daily
from tests.ops.servers import server, wait_until

DAY = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


async def _count(engine: AsyncEngine, event_type: str) -> int:
    async with engine.connect() as connection:
        query = text("SELECT count(*) FROM outbox WHERE type = :type")
        return int((await connection.execute(query, {"type": event_type})).scalar_one())


async def _overdue_assignment(session: AsyncSession) -> None:
    user = await auth.create_user(
        session, actor=SYSTEM, email="rep@example.org", name="Rep", role=Role.REP
    )
    account = await accounts.create_account(session, actor=SYSTEM, name="Late")
    await assign_account(
        session,
        actor=SYSTEM,
        account_id=account.id,
        user_id=user.id,
        manager_type=ManagerType.SALES,
        contact_frequency_days=7,
        started_at=DAY - timedelta(days=30),
    )
    await session.commit()


async def test_upkeep_loops_on_their_own_connections_run_the_refresh_once_a_day(
    database_url: str, engine: AsyncEngine, session: AsyncSession
) -> None:
    await _overdue_assignment(session)
    today = DAY

    def clock() -> datetime:
        return today

    engines = [db.create_engine(database_url, pool_size=1) for _ in range(4)]
    loops = [
        asyncio.create_task(run_daily(db.create_sessionmaker(e), every=0.02, clock=clock))
        for e in engines
    ]
    try:
        await asyncio.sleep(1.5)
        assert await _count(engine, "balances.refreshed") == 1
        assert await _count(engine, "cadence.overdue") == 1
        today = DAY + timedelta(days=1)
        await asyncio.sleep(1.5)
        assert await _count(engine, "balances.refreshed") == 2
    finally:
        for loop in loops:
            loop.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
        for one in engines:
            await one.dispose()


async def test_a_day_the_cli_refreshed_is_not_refreshed_again(session: AsyncSession) -> None:
    await refresh_and_remind(session, now=DAY)  # `accountflow refresh-balances` from cron
    await session.commit()
    assert await refresh_if_due(session, now=DAY + timedelta(hours=15)) is None
    await session.commit()
    assert await refresh_if_due(session, now=DAY + timedelta(days=1)) == (0, 0)


async def test_two_servers_run_the_daily_refresh_once_without_cron(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    env = {"ACCOUNTFLOW_DAILY_UPKEEP_CHECK_SECONDS": "0.2"}
    with server(database_url, tmp_path / "a", **env), server(database_url, tmp_path / "b", **env):
        await wait_until(lambda: _ran(engine), 30)
        await asyncio.sleep(2)  # both servers keep checking, every 0.2 s
    assert await _count(engine, "balances.refreshed") == 1
    async with engine.connect() as connection:
        query = text("SELECT last_day FROM upkeep_runs WHERE name = 'refresh-balances'")
        last_day: date = (await connection.execute(query)).scalar_one()
    assert last_day == datetime.now(UTC).date()


async def _ran(engine: AsyncEngine) -> bool:
    return await _count(engine, "balances.refreshed") > 0
