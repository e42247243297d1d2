"""Account plans: creation, terms, status machine and reviews. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import events
from app.db import rows_by_id
from app.errors import (
    AppError,
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
)
from app.events import Event, EventType
from app.kit import changes, versioned
from app.kit.actor import Actor
from app.kit.changes import Audit
from app.kit.validation import Checks
from app.models.accounts import Account
from app.models.auth import User
from app.models.planning import AccountPlan, PlanStatus
from app.planning.terms import TERM_FIELDS, camel, clean_terms

UNSET = versioned.UNSET

# The status machine: every allowed move; anything else is INVALID_TRANSITION.
ALLOWED_STATUS_TRANSITIONS: dict[PlanStatus, frozenset[PlanStatus]] = {
    PlanStatus.DRAFT: frozenset({PlanStatus.ACTIVE}),
    PlanStatus.ACTIVE: frozenset({PlanStatus.CLOSED, PlanStatus.DRAFT}),
    PlanStatus.CLOSED: frozenset(),
}
NOT_NULL_DEFAULTS = {"planned_net_new": 0, "price_change_pct": 0}


class PlanOverlapError(AppError):
    code = "PLAN_OVERLAP"


async def check_user(session: AsyncSession, user_id: int | None, *, field: str) -> None:
    if user_id is not None and await session.get(User, user_id) is None:
        raise NotFoundError("Unknown user.", field=field)


async def plan_account_id(session: AsyncSession, plan_id: int, *, field: str = "id") -> int:
    """The account a plan belongs to (for the REP write scope), or NOT_FOUND."""
    found = await session.scalar(select(AccountPlan.account_id).where(AccountPlan.id == plan_id))
    if found is None:
        raise NotFoundError("Unknown plan.", field=field)
    return found


async def get_plan_for_update(session: AsyncSession, plan_id: int, *, field: str) -> AccountPlan:
    query = select(AccountPlan).where(AccountPlan.id == plan_id).with_for_update()
    plan = (await session.scalars(query.execution_options(populate_existing=True))).one_or_none()
    if plan is None:
        raise NotFoundError("Unknown plan.", field=field)
    return plan


def require_open(plan: AccountPlan, *, field: str) -> None:
    if plan.status is PlanStatus.CLOSED:
        raise InvalidTransitionError("A closed plan cannot change.", field=field)


async def create_plan(
    session: AsyncSession,
    *,
    actor: Actor,
    account_id: int,
    period_start: date,
    period_end: date,
    owner_id: int | None = None,
    executive_sponsor_id: int | None = None,
    **terms: Any,
) -> AccountPlan:
    checks = Checks()
    if period_end <= period_start:
        checks.fail("periodEnd", "periodEnd must be after periodStart.")
    if terms.get("growth_target_pct") is None:
        checks.fail("growthTargetPct", "growthTargetPct is required.")
    values = clean_terms(checks, _with_defaults(terms))
    checks.raise_if_any()
    if await session.get(Account, account_id) is None:
        raise NotFoundError("Unknown account.", field="accountId")
    owner_id = owner_id if owner_id is not None else actor.user_id
    await check_user(session, owner_id, field="ownerId")
    await check_user(session, executive_sponsor_id, field="executiveSponsorId")
    values |= {"owner_id": owner_id, "executive_sponsor_id": executive_sponsor_id}
    plan = AccountPlan(
        account_id=account_id, period_start=period_start, period_end=period_end, **values
    )
    if values.get("review_frequency_days"):
        plan.next_review_at = func.now() + timedelta(days=values["review_frequency_days"])
    session.add(plan)
    await session.flush()
    await session.refresh(plan)
    values |= {"account_id": account_id, "period_start": period_start, "period_end": period_end}
    audit = Audit("plan.create", "AccountPlan", plan.id, changes.created(_camel_keys(values)))
    event = plan_event(EventType.PLAN_CREATED, plan)
    await changes.record(session, actor=actor, audit=audit, events=event)
    return plan


def _with_defaults(terms: dict[str, Any]) -> dict[str, Any]:
    unknown = set(terms) - set(TERM_FIELDS)
    if unknown:
        raise InvalidInputError(f"Unknown fields: {sorted(unknown)}")
    return {
        k: (NOT_NULL_DEFAULTS[k] if v is None and k in NOT_NULL_DEFAULTS else v)
        for k, v in terms.items()
    }


def _camel_keys(values: dict[str, Any]) -> dict[str, Any]:
    return {camel(k): v for k, v in values.items()}


def plan_event(kind: EventType, plan: AccountPlan, **extra: Any) -> Event:
    data = {
        "id": events.global_id("AccountPlan", plan.id),
        "accountId": events.global_id("Account", plan.account_id),
        "status": plan.status.value,
        "version": plan.version,
        **extra,
    }
    return Event(kind, data, account_id=plan.account_id)


PEOPLE = ("owner_id", "executive_sponsor_id")


def _clean_update(given: dict[str, Any]) -> dict[str, Any]:
    terms = {key: value for key, value in given.items() if key not in PEOPLE}
    checks = Checks()
    if "growth_target_pct" in terms and terms["growth_target_pct"] is None:
        checks.fail("growthTargetPct", "growthTargetPct must not be null.")
    values = clean_terms(checks, _with_defaults(terms))
    checks.raise_if_any()
    return values | {key: given[key] for key in PEOPLE if key in given}


async def _check_people(session: AsyncSession, actor: Actor, clean: dict[str, Any]) -> None:
    for key in PEOPLE:
        if key in clean:
            await check_user(session, clean[key], field=camel(key))


async def _check_open(
    session: AsyncSession, actor: Actor, plan: AccountPlan, clean: dict[str, Any]
) -> None:
    require_open(plan, field="id")


async def _lock_plan(session: AsyncSession, plan_id: int) -> AccountPlan:
    return await get_plan_for_update(session, plan_id, field="id")


def _reschedule(plan: AccountPlan, clean: dict[str, Any]) -> None:
    if "review_frequency_days" in clean:
        _reschedule_review(plan, clean["review_frequency_days"])


def _updated(plan: AccountPlan, delta: dict[str, Any]) -> Event:
    return plan_event(EventType.PLAN_UPDATED, plan, changed=sorted(delta))


PLAN_UPDATE: versioned.Recipe[AccountPlan] = versioned.Recipe(
    noun="plan",
    entity_type="AccountPlan",
    action="plan.update",
    fields=(*TERM_FIELDS, *PEOPLE),
    clean=_clean_update,
    lock=_lock_plan,
    announce=_updated,
    prepare=_check_people,
    check=_check_open,
    apply=_reschedule,
    audit_name=camel,
    refresh=None,  # the whole row: the review dates and the defaults come back
)


async def update_plan(
    session: AsyncSession,
    *,
    actor: Actor,
    plan_id: int,
    expected_version: int | None = None,
    **fields: Any,
) -> AccountPlan:
    return await versioned.update(
        session,
        PLAN_UPDATE,
        actor=actor,
        row_id=plan_id,
        expected_version=expected_version,
        fields=fields,
    )


def _reschedule_review(plan: AccountPlan, frequency: int | None) -> None:
    since = plan.last_reviewed_at or plan.created_at
    plan.next_review_at = None if frequency is None else since + timedelta(days=frequency)


async def _bump(session: AsyncSession, plan: AccountPlan) -> None:
    plan.version += 1
    plan.updated_at = func.now()
    await session.flush()
    await session.refresh(plan)


async def set_plan_status(
    session: AsyncSession, *, actor: Actor, plan_id: int, status: PlanStatus
) -> AccountPlan:
    plan = await get_plan_for_update(session, plan_id, field="id")
    if status not in ALLOWED_STATUS_TRANSITIONS[plan.status]:
        raise InvalidTransitionError(
            f"A {plan.status.value} plan cannot become {status.value}.", field="status"
        )
    if status is PlanStatus.ACTIVE:
        await _check_no_overlap(session, plan)
    before = plan.status
    plan.status = status
    await _bump(session, plan)
    data = {
        "id": events.global_id("AccountPlan", plan.id),
        "accountId": events.global_id("Account", plan.account_id),
        "fromStatus": before.value,
        "status": status.value,
        "version": plan.version,
    }
    await changes.record(
        session,
        actor=actor,
        audit=Audit(
            "plan.status",
            "AccountPlan",
            plan.id,
            changes.diff({"status": before}, {"status": status}),
        ),
        events=Event(EventType.PLAN_STATUS_CHANGED, data, account_id=plan.account_id),
    )
    return plan


async def _check_no_overlap(session: AsyncSession, plan: AccountPlan) -> None:
    # Locking the account serialises concurrent activations of its plans.
    lock = select(Account.id).where(Account.id == plan.account_id).with_for_update()
    await session.execute(lock)
    overlapping = select(AccountPlan.id).where(
        AccountPlan.account_id == plan.account_id,
        AccountPlan.status == PlanStatus.ACTIVE,
        AccountPlan.id != plan.id,
        and_(
            AccountPlan.period_start <= plan.period_end, AccountPlan.period_end >= plan.period_start
        ),
    )
    other = await session.scalar(overlapping.limit(1))
    if other is not None:
        raise PlanOverlapError(
            "The account already has an active plan for an overlapping period.", field="status"
        )


async def record_review(
    session: AsyncSession, *, actor: Actor, plan_id: int, notes: str | None = None
) -> AccountPlan:
    checks = Checks()
    notes = checks.text("notes", notes, max_length=2000)
    checks.raise_if_any()
    plan = await get_plan_for_update(session, plan_id, field="planId")
    require_open(plan, field="planId")
    before = {"lastReviewedAt": plan.last_reviewed_at, "nextReviewAt": plan.next_review_at}
    plan.last_reviewed_at = func.now()
    frequency = plan.review_frequency_days
    plan.next_review_at = None if frequency is None else func.now() + timedelta(days=frequency)
    await _bump(session, plan)
    after = {"lastReviewedAt": plan.last_reviewed_at, "nextReviewAt": plan.next_review_at}
    delta = changes.diff(before, after)
    event = plan_event(EventType.PLAN_UPDATED, plan, changed=sorted(delta), reviewed=True)
    audit = Audit("plan.review", "AccountPlan", plan.id, delta | {"notes": notes})
    await changes.record(session, actor=actor, audit=audit, events=event)
    return plan


async def plans_by_account(
    session: AsyncSession, account_ids: Sequence[int]
) -> list[list[AccountPlan]]:
    query = (
        select(AccountPlan)
        .where(AccountPlan.account_id.in_(account_ids))
        .order_by(AccountPlan.period_start.desc(), AccountPlan.id)
    )
    grouped: dict[int, list[AccountPlan]] = {i: [] for i in account_ids}
    for plan in await session.scalars(query):
        grouped[plan.account_id].append(plan)
    return [grouped[i] for i in account_ids]


plans_by_id = rows_by_id(AccountPlan)
