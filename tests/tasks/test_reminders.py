"""The reminder round: which tasks and assignments it announces, once each, whoever runs it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import db
from app.activities.reminders import refresh_and_remind
from app.auth import service as auth
from app.kit.actor import SYSTEM
from app.models.audit import AuditEntry
from app.models.auth import Role
from app.models.tasks import TaskStatus
from app.models.webhooks import OutboxEvent
from app.settings import Settings, SettingsError
from app.tasks.reminders import remind_due
from app.tasks.service import cancel_task
from tests.accounts.factories import create_account
from tests.activities.factories import create_assignment, log
from tests.kit.writers import gid
from tests.tasks.support import make_task

NOW = datetime.now(UTC)


async def _rep(session: AsyncSession) -> int:
    user = await auth.create_user(
        session, actor=SYSTEM, email="rep@example.org", name="Rep", role=Role.REP
    )
    await session.commit()
    return user.id


async def _events(session: AsyncSession, kind: str) -> list[OutboxEvent]:
    query = select(OutboxEvent).where(OutboxEvent.type == kind).order_by(OutboxEvent.id)
    return list(await session.scalars(query))


async def _round(engine: AsyncEngine, now: datetime) -> tuple[int, int]:
    async with db.session_scope(db.create_sessionmaker(engine)) as session:
        return await remind_due(session, now=now)


async def test_a_round_reminds_of_the_open_tasks_whose_time_has_come(
    session: AsyncSession, engine: AsyncEngine
) -> None:
    rep = await _rep(session)
    past, future = NOW - timedelta(minutes=1), NOW + timedelta(hours=1)
    by_remind = await make_task(session, rep, title="remind", due_at=future, remind_at=past)
    by_due = await make_task(session, rep, title="due", due_at=past)
    await make_task(session, rep, title="later", due_at=future, remind_at=future)
    cancelled = await make_task(session, rep, title="cancelled", due_at=past)
    await cancel_task(session, actor=SYSTEM, task_id=cancelled.id)
    await session.commit()
    assert await _round(engine, NOW) == (2, 0)
    assert await _round(engine, NOW + timedelta(minutes=5)) == (0, 0)
    events = await _events(session, "task.due")
    assert [e.data["id"] for e in events] == [gid("Task", by_remind.id), gid("Task", by_due.id)]
    assert [e.object_key for e in events] == [f"Task:{by_remind.id}", f"Task:{by_due.id}"]
    assert events[0].data["status"] == TaskStatus.OPEN.value
    audited = select(func.count()).where(AuditEntry.action == "task.remind")
    assert await session.scalar(audited) == 2


async def test_concurrent_rounds_remind_of_each_task_once(
    session: AsyncSession, database_url: str
) -> None:
    rep = await _rep(session)
    for n in range(40):
        await make_task(session, rep, title=f"t{n}", due_at=NOW - timedelta(seconds=n))
    engines = [db.create_engine(database_url, pool_size=1) for _ in range(4)]
    try:
        counts = await asyncio.gather(*(_round(e, NOW) for e in engines for _ in range(3)))
    finally:
        for one in engines:
            await one.dispose()
    assert sum(tasks for tasks, _ in counts) == 40
    ids = [e.data["id"] for e in await _events(session, "task.due")]
    assert len(ids) == len(set(ids)) == 40


async def test_an_assignment_is_reminded_once_per_due_date_by_the_loop_and_the_cli(
    session: AsyncSession, engine: AsyncEngine
) -> None:
    rep = await _rep(session)
    account = await create_account(session, "Late")
    await create_assignment(
        session, account_id=account.id, user_id=rep, frequency=7, started_at=NOW - timedelta(days=8)
    )
    assert await _round(engine, NOW) == (0, 1)
    assert await _round(engine, NOW) == (0, 0)
    _, reminded = await refresh_and_remind(session, now=NOW)  # cron: nothing new to say
    assert reminded == 0
    await session.commit()
    # A contact moves the due date to 7 days after it; once that passes, a new reminder.
    await log(session, account_id=account.id, occurred_at=NOW - timedelta(days=1))
    assert await _round(engine, NOW) == (0, 0)
    assert await _round(engine, NOW + timedelta(days=7)) == (0, 1)
    overdue = await _events(session, "cadence.overdue")
    assert len(overdue) == 2
    assert overdue[0].data["userId"] == gid("User", rep)
    audited = select(func.count()).where(AuditEntry.action == "cadence.remind")
    assert await session.scalar(audited) == 2


def test_the_reminder_interval_setting() -> None:
    assert Settings.from_env({}).daily.reminder_seconds == 15.0
    given = Settings.from_env({"ACCOUNTFLOW_REMINDER_INTERVAL": "2.5"})
    assert given.daily.reminder_seconds == 2.5
    for bad in ("0", "61"):
        with pytest.raises(SettingsError):
            Settings.from_env({"ACCOUNTFLOW_REMINDER_INTERVAL": bad})
    assert Settings.from_env({"ACCOUNTFLOW_REMINDERS": "0"}).daily.reminders is False
