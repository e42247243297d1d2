"""Contact frequencies: change an assignment's, and the defaults per manager type and class."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.assignments.service import MAX_FREQUENCY_DAYS, assignment_event, reload
from app.errors import NotFoundError
from app.events import Event, EventType
from app.kit import changes
from app.kit.actor import Actor
from app.kit.changes import Audit
from app.kit.validation import Checks
from app.models.accounts import Classification
from app.models.assignments import Assignment, ContactFrequencyDefault, ManagerType


def _check_days(days: int) -> None:
    checks = Checks()
    checks.int_range("contactFrequencyDays", days, low=1, high=MAX_FREQUENCY_DAYS)
    checks.raise_if_any()


async def update_assignment(
    session: AsyncSession, *, actor: Actor, assignment_id: int, contact_frequency_days: int
) -> Assignment:
    """A new frequency: the trigger recomputes the due date and balance in the same UPDATE."""
    _check_days(contact_frequency_days)
    query = select(Assignment).where(Assignment.id == assignment_id).with_for_update()
    row = (await session.scalars(query.execution_options(populate_existing=True))).one_or_none()
    if row is None:
        raise NotFoundError("Unknown assignment.", field="id")
    before = row.contact_frequency_days
    if before != contact_frequency_days:
        row.contact_frequency_days = contact_frequency_days
        await session.flush()
        (row,) = await reload(session, [row.id])
        delta = changes.diff(
            {"contactFrequencyDays": before}, {"contactFrequencyDays": contact_frequency_days}
        )
        await changes.record(
            session,
            actor=actor,
            audit=Audit("assignment.update", "Assignment", row.id, delta),
            events=assignment_event(row, "frequency"),
        )
    return row


async def set_default(
    session: AsyncSession,
    *,
    actor: Actor,
    manager_type: ManagerType,
    classification: Classification,
    contact_frequency_days: int,
) -> ContactFrequencyDefault:
    _check_days(contact_frequency_days)
    table = ContactFrequencyDefault
    statement = (
        insert(table)
        .values(
            manager_type=manager_type,
            classification=classification,
            contact_frequency_days=contact_frequency_days,
        )
        .on_conflict_do_update(
            index_elements=[table.manager_type, table.classification],
            set_={"contact_frequency_days": contact_frequency_days},
        )
        .returning(table)
    )
    row = (await session.scalars(statement, execution_options={"populate_existing": True})).one()
    delta = {
        "managerType": manager_type.value,
        "classification": classification.value,
        "contactFrequencyDays": {"after": contact_frequency_days},
    }
    data = {
        "managerType": manager_type.value,
        "classification": classification.value,
        "contactFrequencyDays": contact_frequency_days,
    }
    key = f"ContactFrequencyDefault:{manager_type.value}:{classification.value}"
    await changes.record(
        session,
        actor=actor,
        audit=Audit("contact_frequency_default.set", "ContactFrequencyDefault", None, delta),
        events=Event(EventType.CONTACT_FREQUENCY_DEFAULT_CHANGED, data, object_key=key),
    )
    return row


async def defaults(session: AsyncSession) -> Sequence[ContactFrequencyDefault]:
    table = ContactFrequencyDefault
    query = select(table).order_by(table.manager_type, table.classification)
    return (await session.scalars(query)).all()
