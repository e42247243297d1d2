"""The writers test's cases for editing and removing a plan's goals, actions and white space."""

from __future__ import annotations

from app.kit.actor import SYSTEM
from app.models.planning import WhiteSpaceKind
from app.planning import items
from tests.kit.mutation_cases import case
from tests.kit.writers import World, gid


@case("updatePlanGoal", "plan.goal.update", "PlanGoal", "goal.changed")
async def _update_goal(w: World) -> None:
    plan = await w.plan()
    goal = await items.add_goal(w.session, actor=SYSTEM, plan_id=plan.id, title="Grow")
    await w.mark()
    await w.op("UpdatePlanGoal", id=gid("PlanGoal", goal.id), title="Grow parts")


@case("removePlanGoal", "plan.goal.remove", "PlanGoal", "goal.changed")
async def _remove_goal(w: World) -> None:
    plan = await w.plan()
    goal = await items.add_goal(w.session, actor=SYSTEM, plan_id=plan.id, title="Grow")
    await w.mark()
    await w.op("RemovePlanGoal", id=gid("PlanGoal", goal.id))


@case("updateActionItem", "plan.action.update", "PlanAction", "action_item.changed")
async def _update_action(w: World) -> None:
    plan = await w.plan()
    action = await items.add_action(w.session, actor=SYSTEM, plan_id=plan.id, title="Visit")
    await w.mark()
    await w.op("UpdateActionItem", id=gid("ActionItem", action.id), due="2026-03-01")


@case("removeActionItem", "plan.action.remove", "PlanAction", "action_item.changed")
async def _remove_action(w: World) -> None:
    plan = await w.plan()
    action = await items.add_action(w.session, actor=SYSTEM, plan_id=plan.id, title="Visit")
    await w.mark()
    await w.op("RemoveActionItem", id=gid("ActionItem", action.id))


async def _white_space(w: World) -> int:
    plan = await w.plan()
    item = await items.add_white_space(
        w.session, actor=SYSTEM, plan_id=plan.id, kind=WhiteSpaceKind.PRODUCT, description="Filters"
    )
    return item.id


@case("updateWhiteSpace", "plan.white_space.update", "WhiteSpace", "white_space.changed")
async def _update_white_space(w: World) -> None:
    item_id = await _white_space(w)
    await w.mark()
    await w.op("UpdateWhiteSpace", id=gid("WhiteSpace", item_id), estimatedValue="2500")


@case("removeWhiteSpace", "plan.white_space.remove", "WhiteSpace", "white_space.changed")
async def _remove_white_space(w: World) -> None:
    item_id = await _white_space(w)
    await w.mark()
    await w.op("RemoveWhiteSpace", id=gid("WhiteSpace", item_id))
