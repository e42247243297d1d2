"""Editing and removing a plan's goals, action items and white space (issue 21)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from app.kit.actor import SYSTEM
from app.models.audit import AuditEntry
from app.models.auth import Role
from app.models.planning import PlanAction, PlanGoal, PlanStatus, WhiteSpace, WhiteSpaceKind
from app.models.webhooks import OutboxEvent
from app.planning import items, service
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.planning.factories import assign, create_plan
from tests.support import Api, Caller

NODE = "query ($id: ID!) { node(id: $id) { id } }"


def errors(payload: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


async def _run(api: Api, name: str, caller: Caller, **input: Any) -> dict[str, Any]:
    data = await api.op(name, {"input": input}, caller=caller)
    (payload,) = data.values()
    result: dict[str, Any] = payload
    return result


async def _trail(api: Api) -> tuple[int, int]:
    """How many audit rows and events there are: a refused write adds none."""
    audit = await api.session.scalar(select(func.count()).select_from(AuditEntry))
    outbox = await api.session.scalar(select(func.count()).select_from(OutboxEvent))
    return int(audit or 0), int(outbox or 0)


async def _last_audit(api: Api) -> tuple[str, str, int | None, dict[str, Any]]:
    row = await api.session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    assert row is not None
    return row.action, row.entity_type, row.entity_id, row.changes


async def _last_event(api: Api) -> tuple[str, dict[str, Any]]:
    row = await api.session.scalar(select(OutboxEvent).order_by(OutboxEvent.id.desc()).limit(1))
    assert row is not None
    return row.type, row.data


async def _plan_with_items(api: Api, name: str = "Acme") -> tuple[int, PlanGoal, PlanAction, Any]:
    plan = await create_plan(api.session, await create_account(api.session, name))
    goal = await items.add_goal(
        api.session, actor=SYSTEM, plan_id=plan.id, title="Grow", metric="m"
    )
    action = await items.add_action(api.session, actor=SYSTEM, plan_id=plan.id, title="Visit")
    space = await items.add_white_space(
        api.session, actor=SYSTEM, plan_id=plan.id, kind=WhiteSpaceKind.PRODUCT, description="F"
    )
    await api.session.commit()
    return plan.id, goal, action, space


async def test_a_goal_is_edited_then_removed(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    plan_id, goal, _, _ = await _plan_with_items(api)
    gid = to_global_id("PlanGoal", goal.id)

    edited = await _run(
        api, "UpdatePlanGoal", manager, id=gid, title=" Grow parts ", metric=None, target="1500.5"
    )
    assert edited == {
        "goal": {
            "id": gid,
            "title": "Grow parts",
            "metric": None,
            "target": "1500.50",
            "due": None,
            "status": "OPEN",
        },
        "errors": [],
    }
    assert await _last_audit(api) == (
        "plan.goal.update",
        "PlanGoal",
        goal.id,
        {
            "title": {"before": "Grow", "after": "Grow parts"},
            "metric": {"before": "m", "after": None},
            "target": {"before": None, "after": "1500.5"},
        },
    )
    kind, data = await _last_event(api)
    assert (kind, data["id"], data["change"]) == ("goal.changed", gid, "updated")

    removed = await _run(api, "RemovePlanGoal", manager, id=gid)
    assert removed == {"removedId": gid, "errors": []}
    assert await api.session.get(PlanGoal, goal.id, populate_existing=True) is None
    action, _, entity_id, changes = await _last_audit(api)
    assert (action, entity_id, changes["title"]) == (
        "plan.goal.remove",
        goal.id,
        {"before": "Grow parts", "after": None},
    )
    kind, data = await _last_event(api)
    assert (kind, data["change"], data["planId"]) == (
        "goal.changed",
        "removed",
        to_global_id("AccountPlan", plan_id),
    )
    assert (await api.data(NODE, {"id": gid}, caller=manager))["node"] is None
    again = await _run(api, "RemovePlanGoal", manager, id=gid)
    assert errors(again) == [("NOT_FOUND", "id")]


async def test_an_action_item_changes_owner_and_due_then_goes(api: Api) -> None:
    manager, rep = await api.caller(Role.MANAGER), await api.caller(Role.REP)
    _, _, action, _ = await _plan_with_items(api)
    gid = to_global_id("ActionItem", action.id)

    edited = await _run(api, "UpdateActionItem", manager, id=gid, ownerId=rep.id, due="2026-03-01")
    assert edited["action"] == {
        "id": gid,
        "title": "Visit",
        "due": "2026-03-01",
        "status": "OPEN",
        "owner": {"id": rep.id},
    }
    cleared = await _run(api, "UpdateActionItem", manager, id=gid, ownerId=None)
    assert cleared["action"]["owner"] is None
    assert (await _run(api, "RemoveActionItem", manager, id=gid))["errors"] == []
    assert await api.session.get(PlanAction, action.id, populate_existing=True) is None


async def test_white_space_is_edited_and_removed(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    _, _, _, space = await _plan_with_items(api)
    gid = to_global_id("WhiteSpace", space.id)
    edited = await _run(
        api, "UpdateWhiteSpace", manager, id=gid, kind="LOCATION", estimatedValue="2500"
    )
    assert edited["whiteSpace"] == {
        "id": gid,
        "kind": "LOCATION",
        "description": "F",
        "estimatedValue": "2500.00",
        "status": "IDENTIFIED",
    }
    assert (await _run(api, "RemoveWhiteSpace", manager, id=gid))["removedId"] == gid
    assert await api.session.get(WhiteSpace, space.id, populate_existing=True) is None


BAD_EDITS = [
    ("UpdatePlanGoal", "PlanGoal", {"title": "  "}, ("INVALID_INPUT", "title")),
    ("UpdatePlanGoal", "PlanGoal", {"title": None}, ("INVALID_INPUT", "title")),
    ("UpdatePlanGoal", "PlanGoal", {"metric": "m" * 101}, ("INVALID_INPUT", "metric")),
    ("UpdatePlanGoal", "PlanGoal", {"target": "1e13"}, ("INVALID_INPUT", "target")),
    ("UpdateActionItem", "ActionItem", {"title": "x" * 201}, ("INVALID_INPUT", "title")),
    (
        "UpdateActionItem",
        "ActionItem",
        {"ownerId": to_global_id("User", 999999)},
        ("NOT_FOUND", "ownerId"),
    ),
    ("UpdateWhiteSpace", "WhiteSpace", {"kind": None}, ("INVALID_INPUT", "kind")),
    ("UpdateWhiteSpace", "WhiteSpace", {"description": ""}, ("INVALID_INPUT", "description")),
    (
        "UpdateWhiteSpace",
        "WhiteSpace",
        {"estimatedValue": "-1"},
        ("INVALID_INPUT", "estimatedValue"),
    ),
]


@pytest.mark.parametrize(("operation", "type_name", "change", "error"), BAD_EDITS)
async def test_bad_edits_name_the_field_and_write_nothing(
    api: Api, operation: str, type_name: str, change: dict[str, Any], error: tuple[str, str]
) -> None:
    manager = await api.caller(Role.MANAGER)
    _, goal, action, space = await _plan_with_items(api)
    pk = {"PlanGoal": goal.id, "ActionItem": action.id, "WhiteSpace": space.id}[type_name]
    before = await _trail(api)
    refused = await _run(api, operation, manager, id=to_global_id(type_name, pk), **change)
    assert errors(refused) == [error]
    assert await _trail(api) == before


async def test_a_closed_plan_keeps_its_items(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    plan_id, goal, action, space = await _plan_with_items(api)
    for status in (PlanStatus.ACTIVE, PlanStatus.CLOSED):
        await service.set_plan_status(api.session, actor=SYSTEM, plan_id=plan_id, status=status)
    await api.session.commit()
    before = await _trail(api)
    goal_id, action_id = to_global_id("PlanGoal", goal.id), to_global_id("ActionItem", action.id)
    space_id = to_global_id("WhiteSpace", space.id)
    refused = [
        await _run(api, "UpdatePlanGoal", manager, id=goal_id, title="New"),
        await _run(api, "RemovePlanGoal", manager, id=goal_id),
        await _run(api, "UpdateActionItem", manager, id=action_id, title="New"),
        await _run(api, "RemoveActionItem", manager, id=action_id),
        await _run(api, "UpdateWhiteSpace", manager, id=space_id, description="New"),
        await _run(api, "RemoveWhiteSpace", manager, id=space_id),
    ]
    assert [errors(payload) for payload in refused] == [[("INVALID_TRANSITION", "id")]] * 6
    assert await _trail(api) == before


async def test_a_rep_edits_only_the_items_of_accounts_they_hold(api: Api) -> None:
    rep = await api.caller(Role.REP)
    _, goal, action, space = await _plan_with_items(api, "Theirs")
    before = await _trail(api)
    goal_id = to_global_id("PlanGoal", goal.id)
    refused = [
        await _run(api, "UpdatePlanGoal", rep, id=goal_id, title="Mine now"),
        await _run(api, "RemovePlanGoal", rep, id=goal_id),
        await _run(api, "RemoveActionItem", rep, id=to_global_id("ActionItem", action.id)),
        await _run(api, "RemoveWhiteSpace", rep, id=to_global_id("WhiteSpace", space.id)),
    ]
    assert [errors(payload) for payload in refused] == [[("FORBIDDEN", None)]] * 4
    assert await _trail(api) == before

    held = await create_account(api.session, "Held")
    await assign(api.session, rep.user_id, held)
    plan = await create_plan(api.session, held)
    mine = await items.add_goal(api.session, actor=SYSTEM, plan_id=plan.id, title="Grow")
    await api.session.commit()
    allowed = await _run(
        api, "UpdatePlanGoal", rep, id=to_global_id("PlanGoal", mine.id), title="Grow more"
    )
    assert (allowed["errors"], allowed["goal"]["title"]) == ([], "Grow more")
