"""Voiding a logged event: it stays visible but stops counting everywhere.

The revenue trigger (migration 0008) takes a voided event out of its year; cadence is
rebuilt for the account's assignments; gates and reports read `voided_at IS NULL`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import events
from app.activities import cadence
from app.errors import AppError, NotFoundError
from app.events import Event, EventType
from app.kit import changes
from app.kit.actor import Actor
from app.kit.changes import Audit
from app.kit.validation import Checks
from app.models.activities import Activity, ActivityKind
from app.models.assignments import Assignment

MAX_REASON = 2000


class AlreadyVoidedError(AppError):
    code = "ALREADY_VOIDED"


async def void_activity(
    session: AsyncSession, *, actor: Actor, activity_id: int, reason: str
) -> Activity:
    checks = Checks()
    clean_reason = checks.text("reason", reason, max_length=MAX_REASON, required=True)
    checks.raise_if_any()
    query = select(Activity).where(Activity.id == activity_id).with_for_update()
    found = (await session.scalars(query.execution_options(populate_existing=True))).one_or_none()
    if found is None:
        raise NotFoundError("Unknown activity.", field="id")
    if found.voided_at is not None:
        raise AlreadyVoidedError("The activity is voided already.", field="id")
    found.voided_at = func.now()
    found.void_reason = clean_reason
    found.voided_by_id = actor.user_id
    await session.flush()
    await session.refresh(found, ["voided_at"])
    assignment_ids = list(
        await session.scalars(
            select(Assignment.id).where(Assignment.account_id == found.account_id)
        )
    )
    await cadence.recompute_assignments(session, assignment_ids)
    delta = changes.diff(
        {"voidedAt": None, "voidReason": None},
        {"voidedAt": found.voided_at, "voidReason": clean_reason},
    )
    data = {
        "id": events.global_id("Activity", found.id),
        "accountId": events.global_id("Account", found.account_id),
        "kind": found.kind.value,
        "voidedAt": events.iso(found.voided_at),
        "voidReason": clean_reason,
        "voidedById": events.global_id("User", actor.user_id),
    }
    await changes.record(
        session,
        actor=actor,
        audit=Audit("activity.void", "Activity", found.id, delta),
        events=Event(EventType.ACTIVITY_VOIDED, data, account_id=found.account_id),
    )
    return found


@dataclass(frozen=True, slots=True)
class ActivityFilter:
    account_id: int | None = None
    user_id: int | None = None
    kinds: list[ActivityKind] | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    include_voided: bool = False


ACTIVITY_ORDER = (Activity.occurred_at, Activity.id)


def activities_query(filter: ActivityFilter) -> Select[Activity]:
    """Activities matching the filter, for ACTIVITY_ORDER descending (newest first)."""
    query = select(Activity)
    if not filter.include_voided:
        query = query.where(Activity.voided_at.is_(None))
    if filter.account_id is not None:
        query = query.where(Activity.account_id == filter.account_id)
    if filter.user_id is not None:
        query = query.where(Activity.user_id == filter.user_id)
    if filter.kinds:
        query = query.where(Activity.kind.in_(filter.kinds))
    if filter.occurred_from is not None:
        query = query.where(Activity.occurred_at >= filter.occurred_from)
    if filter.occurred_to is not None:
        query = query.where(Activity.occurred_at < filter.occurred_to)
    return query
