"""Activities on a lead: the calls and e-mails of working it, before it is an account.

Logged one at a time (logActivity with leadId); the item is checked as the batch paths check
theirs (app.activities.items), with the lead's own rules: no account, contact or amount (a
lead has no contacts, and money is an account's), and not on a converted lead (log on its
account). A REP logs on the leads they own, as themselves. The (source, externalId) key is
the caller's, as on accounts: a repeat returns the stored activity and writes nothing.
A lead's activities touch no cadence and no revenue until conversion moves them to the
account (move_to_account), where they count as its history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app import events
from app.activities import cadence
from app.activities.ingest import conflict_error
from app.activities.items import ActivityInput, check_values, resolve_user
from app.errors import ForbiddenError, InvalidInputError, NotFoundError
from app.events import Event, EventType
from app.kit import changes
from app.kit.actor import Actor
from app.kit.changes import Audit
from app.kit.validation import Checks
from app.models.activities import Activity, ActivityKind
from app.models.assignments import Assignment
from app.models.leads import Lead, LeadStatus

# Money is an account's: these kinds carry revenue and are logged on the account.
REVENUE_KINDS = frozenset(
    {ActivityKind.INVOICE, ActivityKind.PARTS_PURCHASE, ActivityKind.SERVICE_ORDER}
)
# What a repeat of a key must match to be the same activity.
_COMPARED = ("lead_id", "kind", "occurred_at", "user_id", "summary")


@dataclass(frozen=True, slots=True)
class _Row:
    lead_id: int
    kind: ActivityKind
    occurred_at: datetime
    user_id: int | None
    summary: str | None
    source: str | None
    external_id: str | None
    logged_by_id: int | None


def _check_lead_item(checks: Checks, item: ActivityInput) -> None:
    if item.account_id is not None or item.account_external_ref is not None:
        checks.fail("leadId", "Give leadId or an account, not both.")
    if item.contact_id is not None:
        checks.fail("contactId", "A lead has no contacts: leave contactId out.")
    if item.amount is not None:
        checks.fail("amount", "An activity on a lead carries no amount: money is an account's.")
    if item.kind in REVENUE_KINDS:
        checks.fail("kind", f"{item.kind.value} carries revenue: log it on an account.")


async def _lead(session: AsyncSession, lead_id: int) -> Lead:
    """The lead, locked FOR SHARE: a conversion (FOR UPDATE) waits for this activity, or
    this waits for the conversion and sees the lead converted."""
    query = select(Lead).where(Lead.id == lead_id).with_for_update(read=True)
    lead = (await session.scalars(query.execution_options(populate_existing=True))).one_or_none()
    if lead is None:
        raise NotFoundError("Unknown lead.", field="leadId")
    if lead.status is LeadStatus.CONVERTED:
        raise InvalidInputError("The lead is converted: log on its account.", field="leadId")
    return lead


def _check_scope(actor: Actor, lead: Lead, item: ActivityInput, user_id: int | None) -> None:
    """Without `activity.log_unscoped` (a REP): only on leads one owns, as oneself."""
    if actor.may("activity.log_unscoped"):
        return
    checks = Checks()
    if lead.owner_id is None or lead.owner_id != actor.user_id:
        checks.add(ForbiddenError("You may only log on leads you own.", field="leadId"))
    if user_id not in (None, actor.user_id):
        who = "userId" if item.user_id is not None else "userEmail"
        checks.add(ForbiddenError("You may only log activities as yourself.", field=who))
    checks.raise_if_any()


async def _checked_row(
    session: AsyncSession, actor: Actor, item: ActivityInput, now: datetime
) -> _Row:
    assert item.lead_id is not None
    checks = Checks()
    _check_lead_item(checks, item)
    clean = check_values(checks, item, now)
    checks.raise_if_any()
    user_id = await resolve_user(session, actor=actor, item=item, checks=checks, clean=clean)
    checks.raise_if_any()
    lead = await _lead(session, item.lead_id)
    _check_scope(actor, lead, item, user_id)
    if not actor.may("activity.log_unscoped"):
        user_id = actor.user_id
    return _Row(
        lead_id=lead.id,
        kind=item.kind,
        occurred_at=item.occurred_at,
        user_id=user_id,
        summary=clean["summary"],
        source=clean["source"],
        external_id=clean["external_id"],
        logged_by_id=actor.user_id,
    )


async def log_lead_activity(
    session: AsyncSession, *, actor: Actor, item: ActivityInput, now: datetime | None = None
) -> tuple[Activity, bool]:
    """The stored activity, and True when it repeats the caller's (source, externalId)."""
    row = await _checked_row(session, actor, item, now or datetime.now(UTC))
    statement = (
        insert(Activity)
        .values(**_values(row))
        .on_conflict_do_nothing(
            index_elements=["source", "external_id", "logged_by_id"],
            index_where=Activity.external_id.is_not(None),
        )
        .returning(Activity.id)
    )
    new_id = await session.scalar(statement)
    if new_id is None:
        return await _repeat(session, row), True
    stored = await _activity(session, new_id)
    await _record(session, actor, stored)
    return stored, False


def _values(row: _Row) -> dict[str, Any]:
    return {name: getattr(row, name) for name in _Row.__slots__}


async def _activity(session: AsyncSession, activity_id: int) -> Activity:
    query = select(Activity).where(Activity.id == activity_id)
    return (await session.scalars(query.execution_options(populate_existing=True))).one()


async def _repeat(session: AsyncSession, row: _Row) -> Activity:
    query = select(Activity).where(
        Activity.source == row.source,
        Activity.external_id == row.external_id,
        Activity.logged_by_id.is_not_distinct_from(row.logged_by_id),
    )
    found = (await session.scalars(query)).one()
    same = found.account_id is None and found.contact_id is None and found.amount is None
    if same and all(getattr(found, name) == getattr(row, name) for name in _COMPARED):
        return found
    raise conflict_error()


async def _record(session: AsyncSession, actor: Actor, row: Activity) -> None:
    """activity.logged as the batch statement writes it, with the lead instead of an account."""
    data = {
        "id": events.global_id("Activity", row.id),
        "accountId": None,
        "leadId": events.global_id("Lead", row.lead_id),
        "kind": row.kind.value,
        "occurredAt": events.iso(row.occurred_at),
        "userId": events.global_id("User", row.user_id),
        "summary": row.summary,
        "amount": None,
        "source": row.source,
        "externalId": row.external_id,
    }
    counts = {"accepted": 1, "duplicates": 0, "rejected": 0, "leadId": row.lead_id}
    await changes.record(
        session,
        actor=actor,
        audit=Audit("activity.log", "Activity", row.id, counts),
        events=Event(EventType.ACTIVITY_LOGGED, data, object_key=f"Lead:{row.lead_id}"),
    )


async def move_to_account(session: AsyncSession, *, lead_id: int, account_id: int) -> int:
    """On conversion: the lead's activities become the account's history, and count for its
    cadence as any contact does (the calls that won the customer are contacts with it).
    No revenue moves: a lead's activities carry no amount."""
    moving = (
        update(Activity)
        .where(Activity.lead_id == lead_id, Activity.account_id.is_(None))
        .values(account_id=account_id)
        .returning(Activity.id)
    )
    moved = len(list(await session.scalars(moving)))
    if moved:
        held = select(Assignment.id).where(Assignment.account_id == account_id)
        await cadence.recompute_assignments(session, list(await session.scalars(held)))
    return moved
