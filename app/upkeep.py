"""The server's own daily upkeep: the balance refresh and overdue reminders, so that no cron
is needed. Every server process checks every `check_seconds` (the first check that long
after it starts); the work runs once per UTC day across all of them
(app.activities.reminders.refresh_if_due). `accountflow refresh-balances` stays for those
who prefer cron: it marks the day done too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.activities.reminders import refresh_if_due
from app.db import session_scope
from app.settings import DailyUpkeep

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


async def run_daily(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    every: float,
    clock: Callable[[], datetime] = utc_now,
) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            async with session_scope(sessionmaker) as session:
                done = await refresh_if_due(session, now=clock())
        except Exception:
            log.exception("the daily balance refresh failed; trying again later")
            continue
        if done is not None:
            log.info("daily refresh: %s balances, %s assignments overdue", *done)


@contextlib.asynccontextmanager
async def daily_upkeep(
    sessionmaker: async_sessionmaker[AsyncSession], settings: DailyUpkeep
) -> AsyncIterator[None]:
    """The daily job for as long as the server runs (unless ACCOUNTFLOW_DAILY_UPKEEP=0)."""
    if not settings.enabled:
        yield
        return
    task = asyncio.create_task(run_daily(sessionmaker, every=settings.check_seconds))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
