"""Frequencies (assignment, defaults) and closing plan items, over HTTP."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.kit.actor import SYSTEM
from app.models.accounts import Classification
from app.models.assignments import Assignment
from app.models.auth import Role
from app.models.planning import WhiteSpaceKind
from app.planning import items
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.activities.factories import create_assignment
from tests.planning.factories import create_plan
from tests.support import Api


def _errors(payload: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


async def test_update_assignment_recomputes_due_and_status_at_once(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    rep = await api.caller(Role.REP)
    account = await create_account(api.session, "Acme")
    started = datetime.now(UTC) - timedelta(days=20)
    row = await create_assignment(
        api.session, account_id=account.id, user_id=rep.user_id, frequency=60, started_at=started
    )
    gid = to_global_id("Assignment", row.id)
    result = (
        await api.op(
            "UpdateAssignment", {"input": {"id": gid, "contactFrequencyDays": 10}}, caller=manager
        )
    )["updateAssignment"]
    assert result["errors"] == []
    assert result["assignment"]["contactFrequencyDays"] == 10
    assert result["assignment"]["status"] == "OVERDUE"
    due = datetime.fromisoformat(result["assignment"]["nextContactDue"])
    assert due == started + timedelta(days=10)
    for bad in (0, 3651):
        failed = await api.op(
            "UpdateAssignment", {"input": {"id": gid, "contactFrequencyDays": bad}}, caller=manager
        )
        assert _errors(failed["updateAssignment"]) == [("INVALID_INPUT", "contactFrequencyDays")]
    unknown = await api.op(
        "UpdateAssignment",
        {"input": {"id": to_global_id("Assignment", 99999), "contactFrequencyDays": 5}},
        caller=manager,
    )
    assert _errors(unknown["updateAssignment"]) == [("NOT_FOUND", "id")]
    stored = await api.session.scalar(
        select(Assignment.contact_frequency_days).where(Assignment.id == row.id)
    )
    assert stored == 10


async def test_frequency_defaults_apply_to_new_assignments_only(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    rep = await api.caller(Role.REP)
    for cls, days in (("A", 14), ("D", 90), ("A", 7)):
        result = await api.op(
            "SetContactFrequencyDefault",
            {
                "input": {
                    "managerType": "SALES",
                    "classification": cls,
                    "contactFrequencyDays": days,
                }
            },
            caller=admin,
        )
        assert result["setContactFrequencyDefault"]["errors"] == []
    bad = await api.op(
        "SetContactFrequencyDefault",
        {"input": {"managerType": "SALES", "classification": "B", "contactFrequencyDays": 0}},
        caller=admin,
    )
    assert _errors(bad["setContactFrequencyDefault"]) == [("INVALID_INPUT", "contactFrequencyDays")]
    listed = await api.op("ContactFrequencyDefaults", caller=admin)
    assert listed["contactFrequencyDefaults"] == [
        {"managerType": "SALES", "classification": "A", "contactFrequencyDays": 7},
        {"managerType": "SALES", "classification": "D", "contactFrequencyDays": 90},
    ]
    key = await create_account(api.session, "Key", classification=Classification.A)
    small = await create_account(api.session, "Small", classification=Classification.D)
    plain = await create_account(api.session, "Plain")
    found: dict[str, Any] = {}
    for account in (key, small, plain):
        assigned = await api.op(
            "AssignAccount",
            {
                "input": {
                    "accountId": to_global_id("Account", account.id),
                    "userId": rep.id,
                    "managerType": "SALES",
                }
            },
            caller=admin,
        )
        payload = assigned["assignAccount"]
        found[account.name] = (
            payload["assignment"]["contactFrequencyDays"] if payload["assignment"] else None,
            _errors(payload),
        )
    assert found == {
        "Key": (7, []),
        "Small": (90, []),
        "Plain": (None, [("INVALID_INPUT", "contactFrequencyDays")]),
    }
    await api.op(
        "UpdateAccount",
        {"input": {"id": to_global_id("Account", key.id), "classification": "D"}},
        caller=admin,
    )
    stored = await api.session.scalar(
        select(Assignment.contact_frequency_days).where(Assignment.account_id == key.id)
    )
    assert stored == 7


async def test_goal_action_and_white_space_statuses_and_my_actions(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    rep = await api.caller(Role.REP)
    account = await create_account(api.session, "Planned")
    plan = await create_plan(api.session, account)
    goal = await items.add_goal(
        api.session, actor=SYSTEM, plan_id=plan.id, title="Grow", target=Decimal("1000")
    )
    soon = await items.add_action(
        api.session,
        actor=SYSTEM,
        plan_id=plan.id,
        title="Call",
        owner_id=rep.user_id,
        due=date(2030, 1, 5),
    )
    later = await items.add_action(
        api.session,
        actor=SYSTEM,
        plan_id=plan.id,
        title="Visit",
        owner_id=rep.user_id,
        due=date(2030, 3, 1),
    )
    undated = await items.add_action(
        api.session, actor=SYSTEM, plan_id=plan.id, title="Think", owner_id=rep.user_id
    )
    space = await items.add_white_space(
        api.session, actor=SYSTEM, plan_id=plan.id, kind=WhiteSpaceKind.PRODUCT, description="Parts"
    )
    await api.session.commit()
    goal_id = to_global_id("PlanGoal", goal.id)
    achieved = await api.op(
        "SetGoalStatus",
        {"input": {"id": goal_id, "status": "ACHIEVED", "actual": "1250.50"}},
        caller=manager,
    )
    assert achieved["setGoalStatus"] == {
        "goal": {"id": goal_id, "status": "ACHIEVED", "actual": "1250.50"},
        "errors": [],
    }
    bad = await api.op(
        "SetGoalStatus",
        {"input": {"id": goal_id, "status": "MISSED", "actual": "1.005"}},
        caller=manager,
    )
    assert _errors(bad["setGoalStatus"]) == [("INVALID_INPUT", "actual")]
    later_id = to_global_id("ActionItem", later.id)
    cancelled = await api.op(
        "CancelActionItem", {"input": {"id": later_id, "reason": "Not needed"}}, caller=manager
    )
    assert cancelled["cancelActionItem"] == {
        "action": {"id": later_id, "status": "CANCELLED"},
        "errors": [],
    }
    twice = await api.op("CancelActionItem", {"input": {"id": later_id}}, caller=manager)
    assert _errors(twice["cancelActionItem"]) == [("INVALID_TRANSITION", "id")]
    space_id = to_global_id("WhiteSpace", space.id)
    won = await api.op(
        "SetWhiteSpaceStatus", {"input": {"id": space_id, "status": "WON"}}, caller=manager
    )
    assert won["setWhiteSpaceStatus"] == {
        "whiteSpace": {"id": space_id, "status": "WON"},
        "errors": [],
    }
    mine = await api.op(
        "MyActions", {"filter": {"ownerId": rep.id, "status": ["OPEN"]}}, caller=rep
    )
    nodes = [e["node"] for e in mine["actionItems"]["edges"]]
    assert mine["actionItems"]["totalCount"] == 2
    assert [n["id"] for n in nodes] == [
        to_global_id("ActionItem", soon.id),
        to_global_id("ActionItem", undated.id),
    ]
    assert nodes[0]["plan"] == {
        "id": to_global_id("AccountPlan", plan.id),
        "account": {"id": to_global_id("Account", account.id), "name": "Planned"},
    }
    due = await api.op("MyActions", {"filter": {"dueBefore": "2030-02-01"}}, caller=rep)
    assert due["actionItems"]["totalCount"] == 1
    forbidden = await api.op(
        "SetWhiteSpaceStatus", {"input": {"id": space_id, "status": "LOST"}}, caller=rep
    )
    assert _errors(forbidden["setWhiteSpaceStatus"]) == [("FORBIDDEN", None)]
