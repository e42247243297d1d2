"""Closing a plan's items: goals achieved or missed, actions cancelled, white space won or lost."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, Select, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidTransitionError, NotFoundError
from app.kit import changes
from app.kit.actor import Actor
from app.kit.validation import Checks
from app.models.planning import (
    ActionStatus,
    GoalStatus,
    PlanAction,
    PlanGoal,
    WhiteSpace,
    WhiteSpaceStatus,
)
from app.planning.items import record_item
from app.planning.terms import decimal_in

MAX_REASON = 2000
ACTUAL_LIMIT = Decimal("999999999999.99")


async def item_account_id(session: AsyncSession, model: Any, item_id: int) -> int:
    """The account of a goal, action or white space item (for the REP write scope)."""
    found = await session.scalar(select(model.account_id).where(model.id == item_id))
    if found is None:
        raise NotFoundError("Unknown item.", field="id")
    return int(found)


async def _locked(session: AsyncSession, model: Any, item_id: int) -> Any:
    query = select(model).where(model.id == item_id).with_for_update()
    found = (await session.scalars(query.execution_options(populate_existing=True))).one_or_none()
    if found is None:
        raise NotFoundError("Unknown item.", field="id")
    return found


async def set_goal_status(
    session: AsyncSession,
    *,
    actor: Actor,
    goal_id: int,
    status: GoalStatus,
    actual: Decimal | None = None,
) -> PlanGoal:
    checks = Checks()
    actual = decimal_in(checks, "actual", actual, -ACTUAL_LIMIT, ACTUAL_LIMIT)
    if actual is not None and actual != actual.quantize(Decimal("0.01")):
        checks.fail("actual", "actual has more than 2 decimal places.")
    checks.raise_if_any()
    goal: PlanGoal = await _locked(session, PlanGoal, goal_id)
    before = {"status": goal.status, "actual": goal.actual}
    goal.status = status
    if actual is not None:
        goal.actual = actual
    after = {"status": goal.status, "actual": goal.actual}
    await session.flush()
    delta = changes.diff(before, after)
    await record_item(session, actor, "plan.goal.status", goal, delta, "status")
    return goal


async def cancel_action(
    session: AsyncSession, *, actor: Actor, action_id: int, reason: str | None = None
) -> PlanAction:
    checks = Checks()
    clean_reason = checks.text("reason", reason, max_length=MAX_REASON)
    checks.raise_if_any()
    action: PlanAction = await _locked(session, PlanAction, action_id)
    if action.status is not ActionStatus.OPEN:
        raise InvalidTransitionError(
            f"A {action.status.value} action item cannot be cancelled.", field="id"
        )
    action.status = ActionStatus.CANCELLED
    action.cancel_reason = clean_reason
    await session.flush()
    delta = changes.diff(
        {"status": ActionStatus.OPEN, "reason": None},
        {"status": ActionStatus.CANCELLED, "reason": clean_reason},
    )
    await record_item(session, actor, "plan.action.cancel", action, delta, "cancelled")
    return action


async def set_white_space_status(
    session: AsyncSession, *, actor: Actor, white_space_id: int, status: WhiteSpaceStatus
) -> WhiteSpace:
    item: WhiteSpace = await _locked(session, WhiteSpace, white_space_id)
    before = item.status
    if before != status:
        item.status = status
        await session.flush()
        delta = changes.diff({"status": before}, {"status": status})
        await record_item(session, actor, "plan.white_space.status", item, delta, "status")
    return item


@dataclass(frozen=True, slots=True)
class ActionFilter:
    owner_id: int | None = None
    status: list[ActionStatus] | None = None
    due_before: date | None = None


# Undated actions last: a date no action is due on stands in for "none".
DUE_KEY = func.coalesce(PlanAction.due, cast(literal("9999-12-31"), Date))
ACTION_ORDER = (DUE_KEY, PlanAction.id)


def actions_query(filter: ActionFilter) -> Select[PlanAction]:
    query = select(PlanAction)
    if filter.owner_id is not None:
        query = query.where(PlanAction.owner_id == filter.owner_id)
    if filter.status:
        query = query.where(PlanAction.status.in_(filter.status))
    if filter.due_before is not None:
        query = query.where(PlanAction.due < filter.due_before)
    return query
