"""What a merge moves that integrations keep copies of, announced so a copy stays exact.

A moved contact is contact.updated (its accountId changed); one whose externalRef the
survivor's contacts hold already keeps no ref (it is unique per account). A duplicate's
assignment of a manager type the survivor has is dropped (assignment.changed "removed");
the others move (assignment.changed "moved", as they are after the cadence recompute).
A lead converted into the duplicate names the survivor (lead.updated, changed accountId).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import events
from app.accounts.service import contact_event
from app.events import Event, EventType
from app.models.accounts import Contact
from app.models.assignments import Assignment
from app.models.leads import Lead


async def move_contacts(
    session: AsyncSession, survivor_id: int, duplicate_id: int
) -> tuple[int, list[Event]]:
    """The number of contacts moved, and the events of the live ones."""
    held = select(Contact.external_ref).where(
        Contact.account_id == survivor_id, Contact.external_ref.is_not(None)
    )
    freeing = (
        update(Contact)
        .where(Contact.account_id == duplicate_id, Contact.external_ref.in_(held))
        .values(external_ref=None)
        .returning(Contact.id)
    )
    freed = set(await session.scalars(freeing))
    moving = (
        update(Contact)
        .where(Contact.account_id == duplicate_id)
        .values(account_id=survivor_id)
        .returning(Contact.id)
    )
    moved = list(await session.scalars(moving))
    query = select(Contact).where(Contact.id.in_(moved), Contact.removed_at.is_(None))
    query = query.order_by(Contact.id).execution_options(populate_existing=True)
    live = await session.scalars(query)
    announced = [
        contact_event(
            EventType.CONTACT_UPDATED,
            contact,
            changed=["account_id", "external_ref"] if contact.id in freed else ["account_id"],
        )
        for contact in live
    ]
    return len(moved), announced


async def move_assignments(
    session: AsyncSession, survivor_id: int, duplicate_id: int
) -> tuple[list[int], list[Event]]:
    """The ids of the assignments moved, and the events of those dropped."""
    kept = select(Assignment.manager_type).where(Assignment.account_id == survivor_id)
    query = select(Assignment).where(
        Assignment.account_id == duplicate_id, Assignment.manager_type.in_(kept)
    )
    dropped = list(await session.scalars(query.order_by(Assignment.id)))
    announced = [_assignment_event(row, "removed") for row in dropped]
    await session.execute(delete(Assignment).where(Assignment.id.in_([r.id for r in dropped])))
    moving = (
        update(Assignment)
        .where(Assignment.account_id == duplicate_id)
        .values(account_id=survivor_id)
        .returning(Assignment.id)
    )
    return sorted(await session.scalars(moving)), announced


async def moved_assignment_events(session: AsyncSession, ids: Sequence[int]) -> list[Event]:
    query = select(Assignment).where(Assignment.id.in_(ids)).order_by(Assignment.id)
    rows = await session.scalars(query.execution_options(populate_existing=True))
    return [_assignment_event(row, "moved") for row in rows]


def _assignment_event(row: Assignment, change: str) -> Event:
    data = events.assignment_data(row, change)
    return Event(EventType.ASSIGNMENT_CHANGED, data, account_id=row.account_id)


async def move_leads(session: AsyncSession, survivor_id: int, duplicate_id: int) -> list[Event]:
    """The lead.updated events of the leads that named the duplicate and now the survivor."""
    moving = (
        update(Lead)
        .where(Lead.account_id == duplicate_id)
        .values(account_id=survivor_id, version=Lead.version + 1, updated_at=func.now())
        .returning(Lead.id, Lead.company, Lead.status, Lead.owner_id, Lead.version)
    )
    moved = sorted((await session.execute(moving)).all(), key=lambda row: row.id)
    return [_lead_event(row, survivor_id) for row in moved]


def _lead_event(row: Any, survivor_id: int) -> Event:
    # The data of app.leads' lead.updated (this package may not import app.leads: it imports us).
    data = {
        "id": events.global_id("Lead", row.id),
        "company": row.company,
        "status": row.status.value,
        "ownerId": events.global_id("User", row.owner_id),
        "version": row.version,
        "changed": ["account_id"],
    }
    return Event(EventType.LEAD_UPDATED, data, account_id=survivor_id, object_key=f"Lead:{row.id}")
