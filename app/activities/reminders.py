"""CADENCE_OVERDUE reminders: one event per assignment each time it becomes overdue, sent
within a reminder interval of it by every server's reminder loop (app.tasks.reminders), and
by the daily refresh (app.upkeep, or cron's `accountflow refresh-balances`). Each claims the
due rows with FOR UPDATE SKIP LOCKED and marks them, so no two send one reminder twice."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects.postgresql import Insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import DateTime

from app.activities import cadence
from app.events import Event, EventType
from app.kit import changes
from app.kit.actor import SYSTEM, Actor
from app.kit.sql import sql_file
from app.models.upkeep import UpkeepRun

# overdue_notified_due remembers the due time a reminder was sent for: a later contact
# moves next_contact_due, and the assignment is reminded again when that one passes. Ids
# are written as app.events.global_id writes them.
_OVERDUE = sql_file(
    __package__, "remind_overdue.sql", bindparam("now", type_=DateTime(timezone=True))
)

# Transaction-level, so it holds behind a transaction-mode pooler too.
DAILY_LOCK = 0x61636374_64617931  # "acctday1"
DAILY_JOB = "refresh-balances"


def _mark_day(day: date) -> Insert:
    insert = pg_insert(UpkeepRun).values(name=DAILY_JOB, last_day=day)
    later = func.greatest(UpkeepRun.last_day, insert.excluded.last_day)
    return insert.on_conflict_do_update(
        index_elements=[UpkeepRun.name], set_={"last_day": later, "ran_at": func.now()}
    )


async def remind_overdue(session: AsyncSession, *, now: datetime) -> int:
    """Emit CADENCE_OVERDUE for assignments that went overdue since the last run."""
    result = await session.execute(_OVERDUE, {"now": now})
    return int(result.rowcount)  # type: ignore[attr-defined]


async def remind_overdue_recorded(
    session: AsyncSession, *, now: datetime, actor: Actor = SYSTEM
) -> int:
    """remind_overdue with one audit row for the round when it reminded of any (the events
    are written by its statement)."""
    reminded = await remind_overdue(session, now=now)
    if reminded:
        await changes.record(
            session,
            actor=actor,
            audit=changes.Audit("cadence.remind", "Assignment", None, {"reminded": reminded}),
            events=changes.IN_STATEMENT,
        )
    return reminded


async def refresh_and_remind(
    session: AsyncSession, *, now: datetime, actor: Actor = SYSTEM
) -> tuple[int, int]:
    """The daily job (`accountflow refresh-balances`): balances as of today, then reminders.

    Recorded like any write: one audit row and one balances.refreshed event per run, so an
    integration keeping balances knows to read them again. Marks the day as done.
    """
    await session.execute(select(func.pg_advisory_xact_lock(DAILY_LOCK)))
    refreshed = await cadence.refresh_balances(session)
    reminded = await remind_overdue(session, now=now)
    counts = {"refreshed": refreshed, "reminded": reminded}
    data = {**counts, "asOf": now.date().isoformat()}
    await changes.record(
        session,
        actor=actor,
        audit=changes.Audit("balances.refresh", "Assignment", None, counts),
        events=Event(EventType.BALANCES_REFRESHED, data, object_key="Job:refresh-balances"),
    )
    await session.execute(_mark_day(now.date()))
    return refreshed, reminded


async def refresh_if_due(session: AsyncSession, *, now: datetime) -> tuple[int, int] | None:
    """The daily job unless it ran today (UTC) or another process runs it right now."""
    if not await session.scalar(select(func.pg_try_advisory_xact_lock(DAILY_LOCK))):
        return None
    if (last := await last_day(session)) is not None and last >= now.date():
        return None
    return await refresh_and_remind(session, now=now)


async def last_day(session: AsyncSession) -> date | None:
    query = select(UpkeepRun.last_day).where(UpkeepRun.name == DAILY_JOB)
    return await session.scalar(query)
