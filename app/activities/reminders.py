"""CADENCE_OVERDUE reminders: one event per assignment each time it becomes overdue."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import DateTime

from app.activities import cadence
from app.events import Event, EventType
from app.kit import changes
from app.kit.actor import SYSTEM, Actor

# overdue_notified_due remembers the due time a reminder was sent for: a later contact
# moves next_contact_due, and the assignment is reminded again when that one passes. Ids
# are written as app.events.global_id writes them.
_OVERDUE = text(
    """
    WITH overdue AS (
        UPDATE assignments SET overdue_notified_due = next_contact_due
        WHERE next_contact_due < :now
          AND overdue_notified_due IS DISTINCT FROM next_contact_due
        RETURNING id, account_id, user_id, manager_type, contact_frequency_days,
                  last_contact_at, next_contact_due
    )
    INSERT INTO outbox (type, object_key, account_id, data)
    SELECT 'cadence.overdue', 'Account:' || account_id, account_id, json_build_object(
        'id', encode(convert_to('Assignment:' || id, 'UTF8'), 'base64'),
        'accountId', encode(convert_to('Account:' || account_id, 'UTF8'), 'base64'),
        'userId', encode(convert_to('User:' || user_id, 'UTF8'), 'base64'),
        'managerType', manager_type, 'contactFrequencyDays', contact_frequency_days,
        'lastContactAt', last_contact_at, 'nextContactDue', next_contact_due)
    FROM overdue ORDER BY id
    """
).bindparams(bindparam("now", type_=DateTime(timezone=True)))


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
