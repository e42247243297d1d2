"""Editing and removing a plan's goals, action items and white space. Never commits.

An item changes only while its plan is open; the plan is locked before the item, as adding
an item locks it, so an edit and the plan's closing never interleave.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFoundError
from app.kit import changes, versioned
from app.kit.actor import Actor
from app.kit.validation import Checks
from app.models.planning import PlanAction, PlanGoal, WhiteSpace
from app.planning.items import Item, item_event
from app.planning.service import check_user, get_plan_for_update, require_open
from app.planning.terms import camel, decimal_in, money

UNSET = versioned.UNSET
TARGET_LIMIT = Decimal("999999999999.99")
GOAL_FIELDS = ("title", "metric", "target", "due")
ACTION_FIELDS = ("title", "owner_id", "due")
WHITE_SPACE_FIELDS = ("kind", "description", "estimated_value")
NOUNS = {PlanGoal: "goal", PlanAction: "action item", WhiteSpace: "white space item"}
# The item's part of its audit actions (plan.goal.update, plan.action.remove, ...).
_ACTION_NAMES = {PlanGoal: "goal", PlanAction: "action", WhiteSpace: "white_space"}


async def _locked_item(session: AsyncSession, model: type[Item], item_id: int) -> Item:
    """The item, locked after its open plan; NOT_FOUND or INVALID_TRANSITION on `id`."""
    plan_id = await session.scalar(select(model.plan_id).where(model.id == item_id))
    if plan_id is None:
        raise NotFoundError(f"Unknown {NOUNS[model]}.", field="id")
    plan = await get_plan_for_update(session, plan_id, field="id")
    require_open(plan, field="id")
    query = select(model).where(model.id == item_id).with_for_update()
    found: Item = (await session.scalars(query.execution_options(populate_existing=True))).one()
    return found


def _title(checks: Checks, values: dict[str, Any]) -> None:
    if "title" in values:
        values["title"] = checks.text("title", values["title"], max_length=200, required=True)


def _clean_goal(given: dict[str, Any]) -> dict[str, Any]:
    checks, values = Checks(), dict(given)
    _title(checks, values)
    if "metric" in values:
        values["metric"] = checks.text("metric", values["metric"], max_length=100)
    if "target" in values:
        values["target"] = decimal_in(checks, "target", values["target"], None, TARGET_LIMIT)
    checks.raise_if_any()
    return values


def _clean_action(given: dict[str, Any]) -> dict[str, Any]:
    checks, values = Checks(), dict(given)
    _title(checks, values)
    checks.raise_if_any()
    return values


def _clean_white_space(given: dict[str, Any]) -> dict[str, Any]:
    checks, values = Checks(), dict(given)
    if "kind" in values and values["kind"] is None:
        checks.fail("kind", "kind must not be null.")
    if "description" in values:
        values["description"] = checks.text(
            "description", values["description"], max_length=500, required=True
        )
    if "estimated_value" in values:
        values["estimated_value"] = money(checks, "estimatedValue", values["estimated_value"])
    checks.raise_if_any()
    return values


async def _check_owner(session: AsyncSession, actor: Actor, clean: dict[str, Any]) -> None:
    if "owner_id" in clean:
        await check_user(session, clean["owner_id"], field="ownerId")


async def _lock_goal(session: AsyncSession, item_id: int) -> PlanGoal:
    return await _locked_item(session, PlanGoal, item_id)


async def _lock_action(session: AsyncSession, item_id: int) -> PlanAction:
    return await _locked_item(session, PlanAction, item_id)


async def _lock_white_space(session: AsyncSession, item_id: int) -> WhiteSpace:
    return await _locked_item(session, WhiteSpace, item_id)


def _updated(item: PlanGoal | PlanAction | WhiteSpace, delta: dict[str, Any]) -> Any:
    return item_event(item, "updated")


def _recipe(model: type[Item], fields: tuple[str, ...], **steps: Any) -> versioned.Recipe[Any]:
    return versioned.Recipe(
        noun=NOUNS[model],
        entity_type=model.__name__,
        action=f"plan.{_ACTION_NAMES[model]}.update",
        fields=fields,
        announce=_updated,
        versioned=False,
        audit_name=camel,
        refresh=None,
        **steps,
    )


GOAL_UPDATE = _recipe(PlanGoal, GOAL_FIELDS, clean=_clean_goal, lock=_lock_goal)
ACTION_UPDATE = _recipe(
    PlanAction, ACTION_FIELDS, clean=_clean_action, lock=_lock_action, prepare=_check_owner
)
WHITE_SPACE_UPDATE = _recipe(
    WhiteSpace, WHITE_SPACE_FIELDS, clean=_clean_white_space, lock=_lock_white_space
)


async def update_goal(
    session: AsyncSession, *, actor: Actor, goal_id: int, **fields: Any
) -> PlanGoal:
    row: PlanGoal = await versioned.update(
        session, GOAL_UPDATE, actor=actor, row_id=goal_id, fields=fields
    )
    return row


async def update_action(
    session: AsyncSession, *, actor: Actor, action_id: int, **fields: Any
) -> PlanAction:
    row: PlanAction = await versioned.update(
        session, ACTION_UPDATE, actor=actor, row_id=action_id, fields=fields
    )
    return row


async def update_white_space(
    session: AsyncSession, *, actor: Actor, white_space_id: int, **fields: Any
) -> WhiteSpace:
    row: WhiteSpace = await versioned.update(
        session, WHITE_SPACE_UPDATE, actor=actor, row_id=white_space_id, fields=fields
    )
    return row


_KEPT = {
    PlanGoal: (*GOAL_FIELDS, "status", "actual"),
    PlanAction: (*ACTION_FIELDS, "status"),
    WhiteSpace: (*WHITE_SPACE_FIELDS, "status"),
}


async def remove_item(
    session: AsyncSession, *, actor: Actor, model: type[Item], item_id: int
) -> Item:
    """Delete a goal, action item or white space item; its audit row keeps what it held."""
    item = await _locked_item(session, model, item_id)
    before = {camel(key): getattr(item, key) for key in _KEPT[model]}
    delta = changes.diff(before, dict.fromkeys(before))
    event = item_event(item, "removed")
    await session.delete(item)
    await session.flush()
    audit = changes.Audit(f"plan.{_ACTION_NAMES[model]}.remove", model.__name__, item.id, delta)
    await changes.record(session, actor=actor, audit=audit, events=event)
    return item
