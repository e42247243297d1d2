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
from app.errors import AppError, ForbiddenError, NotFoundError
from app.events import Event, EventType
from app.kit import changes
from app.kit.actor import Actor
from app.kit.changes import Audit
from app.kit.pagination import ListOrders, Order
from app.kit.validation import Checks
from app.models.activities import Activity, ActivityKind
from app.models.assignments import Assignment

MAX_REASON = 2000
# The rule (schema/authz.py) letting a caller void events others sent.
VOID_ANY = "activity.void_any"


class AlreadyVoidedError(AppError):
    code = "ALREADY_VOIDED"


class AmbiguousKeyError(AppError):
    """Several callers sent events under this (source, externalId): only the id tells."""

    code = "AMBIGUOUS_KEY"


@dataclass(frozen=True, slots=True)
class VoidTarget:
    """The event to void: its id, or the (source, externalId) it was sent with."""

    activity_id: int | None = None
    source: str | None = None
    external_id: str | None = None


def _check_target(checks: Checks, target: VoidTarget) -> None:
    keyed = target.source is not None or target.external_id is not None
    if target.activity_id is None and not keyed:
        checks.fail("id", "Give the activity's id, or its source and externalId.")
    elif target.activity_id is not None and keyed:
        checks.fail("id", "Give the id or source and externalId, not both.")
    elif keyed:
        checks.text("source", target.source, max_length=64, required=True)
        checks.text("externalId", target.external_id, max_length=200, required=True)


async def _by_key(session: AsyncSession, actor: Actor, target: VoidTarget) -> int:
    """The id of the event sent under the key: by this caller, unless it may void any."""
    query = select(Activity.id).where(
        Activity.source == target.source, Activity.external_id == target.external_id
    )
    if not actor.may(VOID_ANY):
        query = query.where(Activity.logged_by_id == actor.user_id)
    found = list(await session.scalars(query.limit(2)))
    if not found:
        raise NotFoundError(
            "No activity was sent with this source and externalId.", field="externalId"
        )
    if len(found) > 1:
        raise AmbiguousKeyError(
            "Several callers sent an activity with this source and externalId: give its id.",
            field="id",
        )
    return found[0]


async def _locked(session: AsyncSession, actor: Actor, target: VoidTarget) -> Activity:
    activity_id = target.activity_id
    if activity_id is None:
        activity_id = await _by_key(session, actor, target)
    query = select(Activity).where(Activity.id == activity_id).with_for_update()
    found = (await session.scalars(query.execution_options(populate_existing=True))).one_or_none()
    if found is None:
        raise NotFoundError("Unknown activity.", field="id")
    if not actor.may(VOID_ANY) and found.logged_by_id != actor.user_id:
        raise ForbiddenError("You may only void the events you sent.", field="id")
    if found.voided_at is not None:
        raise AlreadyVoidedError("The activity is voided already.", field="id")
    return found


async def void_activity(
    session: AsyncSession,
    *,
    actor: Actor,
    reason: str,
    activity_id: int | None = None,
    source: str | None = None,
    external_id: str | None = None,
) -> Activity:
    """Void the event, named by id or by the key it was sent with (a manager may void any,
    others only those they sent); cadence follows."""
    target = VoidTarget(activity_id, source, external_id)
    checks = Checks()
    clean_reason = checks.text("reason", reason, max_length=MAX_REASON, required=True)
    _check_target(checks, target)
    checks.raise_if_any()
    assert clean_reason is not None
    found = await _locked(session, actor, target)
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
    await _record(session, actor, found, clean_reason)
    return found


async def _record(session: AsyncSession, actor: Actor, found: Activity, reason: str) -> None:
    delta = changes.diff(
        {"voidedAt": None, "voidReason": None},
        {"voidedAt": found.voided_at, "voidReason": reason},
    )
    data = {
        "id": events.global_id("Activity", found.id),
        "accountId": events.global_id("Account", found.account_id),
        "leadId": events.global_id("Lead", found.lead_id),
        "kind": found.kind.value,
        "source": found.source,
        "externalId": found.external_id,
        "voidedAt": events.iso(found.voided_at),
        "voidReason": reason,
        "voidedById": events.global_id("User", actor.user_id),
    }
    # An activity on a lead not yet converted has no account: its events are the lead's.
    key = None if found.account_id is not None else f"Lead:{found.lead_id}"
    await changes.record(
        session,
        actor=actor,
        audit=Audit("activity.void", "Activity", found.id, delta),
        events=Event(EventType.ACTIVITY_VOIDED, data, account_id=found.account_id, object_key=key),
    )


@dataclass(frozen=True, slots=True)
class ActivityFilter:
    account_id: int | None = None
    user_id: int | None = None
    kinds: list[ActivityKind] | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    include_voided: bool = False


ACTIVITY_ORDER = (Activity.occurred_at, Activity.id)
# The root activities list's orders (its `orderBy`); without one, newest first.
ACTIVITY_ORDERS = ListOrders(
    {"OCCURRED_AT": (Activity.occurred_at,)},
    tiebreak=Activity.id,
    default=Order.of(ACTIVITY_ORDER, descending=True),
)


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
