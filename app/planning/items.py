"""What a plan holds: goals, action items and white space. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import events
from app.db import rows_by_id
from app.errors import InvalidTransitionError, NotFoundError
from app.events import Event, EventType
from app.kit import changes
from app.kit.actor import Actor
from app.kit.changes import Audit
from app.kit.validation import Checks
from app.models.planning import (
    AccountPlan,
    ActionStatus,
    PlanAction,
    PlanGoal,
    WhiteSpace,
    WhiteSpaceKind,
)
from app.planning.service import check_user, get_plan_for_update, require_open
from app.planning.terms import decimal_in, money

Item = TypeVar("Item", PlanGoal, PlanAction, WhiteSpace)


async def _open_plan(session: AsyncSession, plan_id: int) -> AccountPlan:
    plan = await get_plan_for_update(session, plan_id, field="planId")
    require_open(plan, field="planId")
    return plan


# Per item model: its event and its GraphQL type (for global ids).
_EVENTS = {
    PlanGoal: (EventType.GOAL_CHANGED, "PlanGoal"),
    PlanAction: (EventType.ACTION_ITEM_CHANGED, "ActionItem"),
    WhiteSpace: (EventType.WHITE_SPACE_CHANGED, "WhiteSpace"),
}


def item_event(item: PlanGoal | PlanAction | WhiteSpace, change: str) -> Event:
    """goal.changed, action_item.changed or white_space.changed: the item as it is now."""
    kind, type_name = _EVENTS[type(item)]
    data: dict[str, Any] = {
        "id": events.global_id(type_name, item.id),
        "change": change,
        "planId": events.global_id("AccountPlan", item.plan_id),
        "accountId": events.global_id("Account", item.account_id),
        "status": item.status.value,
    }
    return Event(kind, data, account_id=item.account_id)


async def record_item(
    session: AsyncSession,
    actor: Actor,
    action: str,
    item: PlanGoal | PlanAction | WhiteSpace,
    delta: dict[str, Any],
    change: str,
) -> None:
    audit = Audit(action, type(item).__name__, item.id, delta)
    await changes.record(session, actor=actor, audit=audit, events=item_event(item, change))


async def _add(
    session: AsyncSession, actor: Actor, action: str, item: Item, values: dict[str, Any]
) -> Item:
    session.add(item)
    await session.flush()
    await session.refresh(item)
    await record_item(session, actor, action, item, changes.created(values), "created")
    return item


async def add_goal(
    session: AsyncSession,
    *,
    actor: Actor,
    plan_id: int,
    title: str,
    metric: str | None = None,
    target: Decimal | None = None,
    due: date | None = None,
) -> PlanGoal:
    checks = Checks()
    values = {
        "title": checks.text("title", title, max_length=200, required=True),
        "metric": checks.text("metric", metric, max_length=100),
        "target": decimal_in(checks, "target", target, None, Decimal("999999999999.99")),
        "due": due,
    }
    checks.raise_if_any()
    plan = await _open_plan(session, plan_id)
    goal = PlanGoal(plan_id=plan.id, account_id=plan.account_id, **values)
    return await _add(session, actor, "plan.goal.add", goal, {"planId": plan.id, **values})


async def add_action(
    session: AsyncSession,
    *,
    actor: Actor,
    plan_id: int,
    title: str,
    owner_id: int | None = None,
    due: date | None = None,
) -> PlanAction:
    checks = Checks()
    values: dict[str, Any] = {
        "title": checks.text("title", title, max_length=200, required=True),
        "owner_id": owner_id,
        "due": due,
    }
    checks.raise_if_any()
    await check_user(session, owner_id, field="ownerId")
    plan = await _open_plan(session, plan_id)
    action = PlanAction(plan_id=plan.id, account_id=plan.account_id, **values)
    return await _add(session, actor, "plan.action.add", action, {"planId": plan.id, **values})


async def action_account_id(session: AsyncSession, action_id: int) -> int:
    found = await session.scalar(select(PlanAction.account_id).where(PlanAction.id == action_id))
    if found is None:
        raise NotFoundError("Unknown action item.", field="id")
    return found


async def complete_action(session: AsyncSession, *, actor: Actor, action_id: int) -> PlanAction:
    query = select(PlanAction).where(PlanAction.id == action_id).with_for_update()
    action = (await session.scalars(query.execution_options(populate_existing=True))).one()
    if action.status is not ActionStatus.OPEN:
        raise InvalidTransitionError(
            f"A {action.status.value} action item cannot be completed.", field="id"
        )
    action.status = ActionStatus.DONE
    action.completed_at = func.now()
    await session.flush()
    await session.refresh(action)
    delta = changes.diff(
        {"status": ActionStatus.OPEN, "completedAt": None},
        {"status": action.status, "completedAt": action.completed_at},
    )
    await record_item(session, actor, "plan.action.complete", action, delta, "completed")
    return action


async def add_white_space(
    session: AsyncSession,
    *,
    actor: Actor,
    plan_id: int,
    kind: WhiteSpaceKind,
    description: str,
    estimated_value: Decimal | None = None,
) -> WhiteSpace:
    checks = Checks()
    values: dict[str, Any] = {
        "kind": kind,
        "description": checks.text("description", description, max_length=500, required=True),
        "estimated_value": money(checks, "estimatedValue", estimated_value),
    }
    checks.raise_if_any()
    plan = await _open_plan(session, plan_id)
    item = WhiteSpace(plan_id=plan.id, account_id=plan.account_id, **values)
    return await _add(session, actor, "plan.white_space.add", item, {"planId": plan.id, **values})


async def _by_plan(
    session: AsyncSession, model: type[Item], plan_ids: Sequence[int]
) -> list[list[Item]]:
    query = select(model).where(model.plan_id.in_(plan_ids)).order_by(model.plan_id, model.id)
    grouped: dict[int, list[Item]] = {i: [] for i in plan_ids}
    for row in await session.scalars(query):
        grouped[row.plan_id].append(row)
    return [grouped[i] for i in plan_ids]


async def goals_by_plan(session: AsyncSession, plan_ids: Sequence[int]) -> list[list[PlanGoal]]:
    return await _by_plan(session, PlanGoal, plan_ids)


async def actions_by_plan(session: AsyncSession, plan_ids: Sequence[int]) -> list[list[PlanAction]]:
    return await _by_plan(session, PlanAction, plan_ids)


async def white_space_by_plan(
    session: AsyncSession, plan_ids: Sequence[int]
) -> list[list[WhiteSpace]]:
    return await _by_plan(session, WhiteSpace, plan_ids)


goals_by_id = rows_by_id(PlanGoal)
actions_by_id = rows_by_id(PlanAction)
white_space_by_id = rows_by_id(WhiteSpace)
