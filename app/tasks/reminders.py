"""The reminder loop every server process runs: tasks whose reminder (or, without one, due)
time has come are announced as `task.due`, and assignments gone overdue as
`cadence.overdue`, within ACCOUNTFLOW_REMINDER_INTERVAL of that time, with no outside job.

Each round claims the due rows with `FOR UPDATE SKIP LOCKED` and marks them in the same
transaction (tasks.reminded_at, assignments.overdue_notified_due): two processes never
claim one row, and a round that fails rolls its marks back for the next round to retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

from sqlalchemy import func, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.dml import ReturningUpdate

from app.activities.reminders import remind_overdue_recorded
from app.db import session_scope
from app.events import EventType
from app.kit import changes
from app.kit.actor import SYSTEM
from app.models.tasks import Task
from app.settings import DailyUpkeep
from app.tasks.service import task_event

log = logging.getLogger(__name__)
BATCH = 500  # tasks per statement; a full batch is followed by another at once


def utc_now() -> datetime:
    return datetime.now(UTC)


def _claim(now: datetime) -> ReturningUpdate[Task]:
    when = func.coalesce(Task.remind_at, Task.due_at)
    due = (
        select(Task.id)
        # Literal, as in ix_tasks_remind_queue's predicate, so a generic plan may use it.
        .where(Task.status == literal_column("'OPEN'"), Task.reminded_at.is_(None), when <= now)
        .order_by(when, Task.id)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    )
    return (
        update(Task)
        .where(Task.id.in_(due.scalar_subquery()))
        .values(reminded_at=now)
        .returning(Task)
        .execution_options(synchronize_session=False)
    )


async def remind_tasks(session: AsyncSession, *, now: datetime) -> int:
    """Announce the due tasks of one batch; how many."""
    tasks = list(await session.scalars(_claim(now)))
    if tasks:
        await changes.record(
            session,
            actor=SYSTEM,
            audit=[changes.Audit("task.remind", "Task", t.id) for t in tasks],
            events=[task_event(EventType.TASK_DUE, t) for t in tasks],
        )
    return len(tasks)


async def remind_due(session: AsyncSession, *, now: datetime) -> tuple[int, int]:
    """One round: (tasks reminded, assignments reminded as overdue)."""
    tasks = await remind_tasks(session, now=now)
    overdue = await remind_overdue_recorded(session, now=now)
    return tasks, overdue


async def run_reminders(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    every: float,
    clock: Callable[[], datetime] = utc_now,
) -> None:
    while True:
        await asyncio.sleep(every)
        tasks = BATCH
        while tasks == BATCH:
            try:
                async with session_scope(sessionmaker) as session:
                    tasks, overdue = await remind_due(session, now=clock())
            except Exception:
                log.exception("the reminder round failed; trying again later")
                break
            if tasks or overdue:
                log.info("reminders: %s tasks due, %s assignments overdue", tasks, overdue)


@contextlib.asynccontextmanager
async def reminding(
    sessionmaker: async_sessionmaker[AsyncSession], settings: DailyUpkeep
) -> AsyncIterator[None]:
    """The loop for as long as the server runs (unless ACCOUNTFLOW_REMINDERS=0)."""
    if not settings.reminders:
        yield
        return
    task = asyncio.create_task(run_reminders(sessionmaker, every=settings.reminder_seconds))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
