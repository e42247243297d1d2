"""node(id:) loads every type that implements Node, each under its type's read rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graphql import GraphQLObjectType, build_schema
from sqlalchemy import select

from app.kit.actor import SYSTEM
from app.models.audit import AuditEntry
from app.models.auth import Role
from app.models.planning import WhiteSpaceKind
from app.planning import items
from schema.relay import NODE_LOADERS, to_global_id
from tests.accounts.factories import create_account
from tests.planning.factories import create_plan
from tests.support import Api

SDL = Path(__file__).resolve().parents[2] / "schema" / "schema.graphql"
ITEMS = """
query ($goal: ID!, $action: ID!, $space: ID!) {
  goal: node(id: $goal) { id ... on PlanGoal { title status } }
  action: node(id: $action) { id ... on ActionItem { title plan { id } } }
  space: node(id: $space) { id ... on WhiteSpace { kind description } }
}
"""
AUDIT = """
query ($id: ID!) {
  node(id: $id) { id ... on AuditEntry { action entityType entityId actor { id } } }
}
"""


def test_every_node_type_has_a_loader() -> None:
    schema = build_schema(SDL.read_text())
    nodes = {
        name
        for name, type_ in schema.type_map.items()
        if isinstance(type_, GraphQLObjectType) and any(i.name == "Node" for i in type_.interfaces)
    }
    assert {"PlanGoal", "ActionItem", "WhiteSpace", "AuditEntry"} <= nodes
    assert nodes - set(NODE_LOADERS) == set()


async def _items(api: Api) -> dict[str, Any]:
    plan = await create_plan(api.session, await create_account(api.session))
    goal = await items.add_goal(api.session, actor=SYSTEM, plan_id=plan.id, title="Grow")
    action = await items.add_action(api.session, actor=SYSTEM, plan_id=plan.id, title="Visit")
    space = await items.add_white_space(
        api.session, actor=SYSTEM, plan_id=plan.id, kind=WhiteSpaceKind.DIVISION, description="D"
    )
    await api.session.commit()
    return {
        "goal": to_global_id("PlanGoal", goal.id),
        "action": to_global_id("ActionItem", action.id),
        "space": to_global_id("WhiteSpace", space.id),
        "plan": to_global_id("AccountPlan", plan.id),
    }


async def test_plan_items_load_by_id_for_those_who_read_plans(api: Api) -> None:
    rep, bot = await api.caller(Role.REP), await api.caller(Role.INTEGRATION)
    ids = await _items(api)
    variables = {key: ids[key] for key in ("goal", "action", "space")}
    data = await api.data(ITEMS, variables, caller=rep)
    assert data == {
        "goal": {"id": ids["goal"], "title": "Grow", "status": "OPEN"},
        "action": {"id": ids["action"], "title": "Visit", "plan": {"id": ids["plan"]}},
        "space": {"id": ids["space"], "kind": "DIVISION", "description": "D"},
    }
    refused = await api.gql(ITEMS, variables, caller=bot)
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["FORBIDDEN"] * 3
    unknown = {
        key: to_global_id(key_type, 999999)
        for key, key_type in (
            ("goal", "PlanGoal"),
            ("action", "ActionItem"),
            ("space", "WhiteSpace"),
        )
    }
    assert await api.data(ITEMS, unknown, caller=rep) == {
        "goal": None,
        "action": None,
        "space": None,
    }


async def test_audit_entries_load_by_id_for_managers_except_what_they_may_not_read(
    api: Api,
) -> None:
    admin, manager = await api.caller(Role.ADMIN), await api.caller(Role.MANAGER)
    rep = await api.caller(Role.REP)
    account = await create_account(api.session, "Audited")
    query = select(AuditEntry.id).where(
        AuditEntry.entity_type == "Account", AuditEntry.entity_id == account.id
    )
    entry_id = to_global_id("AuditEntry", int(await api.session.scalar(query) or 0))
    webhook_entry = AuditEntry(
        action="webhook.create", entity_type="Webhook", entity_id=1, actor_user_id=admin.user_id
    )
    api.session.add(webhook_entry)
    await api.session.commit()

    data = await api.data(AUDIT, {"id": entry_id}, caller=manager)
    assert data["node"] == {
        "id": entry_id,
        "action": "account.create",
        "entityType": "Account",
        "entityId": to_global_id("Account", account.id),
        "actor": None,
    }
    webhook_id = to_global_id("AuditEntry", webhook_entry.id)
    assert (await api.data(AUDIT, {"id": webhook_id}, caller=manager))["node"] is None
    seen = await api.data(AUDIT, {"id": webhook_id}, caller=admin)
    assert seen["node"]["actor"] == {"id": admin.id}
    refused = await api.gql(AUDIT, {"id": entry_id}, caller=rep)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
