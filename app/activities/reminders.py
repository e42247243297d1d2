"""CADENCE_OVERDUE reminders: one event per assignment each time it becomes overdue."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import DateTime

from app.activities import cadence
from app.events import Event, EventType
from app.kit import changes
from app.kit.actor import SYSTEM, Actor
from app.kit.sql import sql_file

# overdue_notified_due remembers the due time a reminder was sent for: a later contact
# moves next_contact_due, and the assignment is reminded again when that one passes. Ids
# are written as app.events.global_id writes them.
_OVERDUE = sql_file(
    __package__, "remind_overdue.sql", bindparam("now", type_=DateTime(timezone=True))
)


async def remind_overdue(session: AsyncSession, *, now: datetime) -> int:
    """Emit CADENCE_OVERDUE for assignments that went overdue since the last run."""
    result = await session.execute(_OVERDUE, {"now": now})
    return int(result.rowcount)  # type: ignore[attr-defined]


async def refresh_and_remind(
    session: AsyncSession, *, now: datetime, actor: Actor = SYSTEM
) -> tuple[int, int]:
    """The daily job (`accountflow refresh-balances`): balances as of today, then reminders.

    Recorded like any write: one audit row and one balances.refreshed event per run, so an
    integration keeping balances knows to read them again.
    """
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
    return refreshed, reminded
