"""A plan's narrative and reviews, and the root plans list under record visibility."""

from __future__ import annotations

from datetime import date
from typing import Any

from app.kit.actor import SYSTEM
from app.models.auth import Role
from app.models.planning import PlanStatus
from app.models.teams import OrgSetting
from app.planning import service
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.planning.factories import assign, create_plan
from tests.support import Api, Caller

PLAN = """
query ($id: ID!) {
  node(id: $id) {
    ... on AccountPlan { challenges strategy reviews { at notes reviewer { id } } }
  }
}
"""
PLANS = """
query Plans($filter: PlanFilter, $first: Int, $after: String) {
  plans(filter: $filter, first: $first, after: $after) {
    totalCount
    edges { node { id status periodStart account { name } owner { id } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def _plan(api: Api, caller: Caller, pk: int) -> dict[str, Any]:
    data = await api.data(PLAN, {"id": to_global_id("AccountPlan", pk)}, caller=caller)
    node: dict[str, Any] = data["node"]
    return node


async def test_the_narrative_is_set_on_create_and_update(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    acme = await create_account(api.session, "Acme")
    create = {
        "accountId": to_global_id("Account", acme.id),
        "periodStart": "2026-01-01",
        "periodEnd": "2026-12-31",
        "growthTargetPct": "5",
        "challenges": " A rival dealer opened next door. ",
        "strategy": "Service contracts first.",
    }
    created = (await api.op("CreatePlan", {"input": create}, caller=manager))["createPlan"]
    assert created["errors"] == []
    plan_id = created["plan"]["id"]
    update = {"id": plan_id, "strategy": None, "challenges": "Price."}
    updated = (await api.op("UpdatePlan", {"input": update}, caller=manager))["updatePlan"]
    assert (updated["errors"], updated["plan"]["version"]) == ([], 2)
    data = await api.data(PLAN, {"id": plan_id}, caller=manager)
    assert data["node"] == {"challenges": "Price.", "strategy": None, "reviews": []}

    too_long = {"id": plan_id, "challenges": "x" * 4001}
    refused = (await api.op("UpdatePlan", {"input": too_long}, caller=manager))["updatePlan"]
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("INVALID_INPUT", "challenges")]
    again = await api.data(PLAN, {"id": plan_id}, caller=manager)
    assert again["node"]["challenges"] == "Price."


async def test_reviews_are_read_by_those_who_read_the_plan(api: Api) -> None:
    manager, rep = await api.caller(Role.MANAGER), await api.caller(Role.REP)
    bot = await api.caller(Role.INTEGRATION)
    acme = await create_account(api.session, "Acme")
    await assign(api.session, rep.user_id, acme)
    plan = await create_plan(api.session, acme)
    for caller, notes in ((manager, "Behind on parts"), (rep, None), (rep, "Caught up")):
        input = {"planId": to_global_id("AccountPlan", plan.id), "notes": notes}
        payload = (await api.op("RecordReview", {"input": input}, caller=caller))["recordReview"]
        assert payload["errors"] == []

    reviews = (await _plan(api, rep, plan.id))["reviews"]
    assert [(r["notes"], r["reviewer"]) for r in reviews] == [
        ("Caught up", {"id": rep.id}),
        (None, {"id": rep.id}),
        ("Behind on parts", {"id": manager.id}),
    ]
    assert reviews[0]["at"] >= reviews[1]["at"] >= reviews[2]["at"]
    refused = await api.gql(PLAN, {"id": to_global_id("AccountPlan", plan.id)}, caller=bot)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def _names(api: Api, caller: Caller, **variables: Any) -> list[str]:
    data = await api.data(PLANS, variables, caller=caller)
    return [edge["node"]["account"]["name"] for edge in data["plans"]["edges"]]


async def test_plans_are_filtered_and_paged_newest_period_first(api: Api) -> None:
    manager, rep = await api.caller(Role.MANAGER), await api.caller(Role.REP)
    acme, beta = (
        await create_account(api.session, "Acme"),
        await create_account(api.session, "Beta"),
    )
    old = await create_plan(api.session, acme, start=date(2024, 1, 1), end=date(2024, 12, 31))
    await create_plan(api.session, acme, status=PlanStatus.ACTIVE)  # 2025
    await create_plan(
        api.session, beta, start=date(2025, 7, 1), end=date(2026, 6, 30), owner_id=rep.user_id
    )
    await service.set_plan_status(
        api.session, actor=SYSTEM, plan_id=old.id, status=PlanStatus.ACTIVE
    )
    await api.session.commit()

    assert await _names(api, manager) == ["Beta", "Acme", "Acme"]
    first = await api.data(PLANS, {"first": 2}, caller=manager)
    assert first["plans"]["totalCount"] == 3
    assert first["plans"]["pageInfo"]["hasNextPage"] is True
    after = first["plans"]["pageInfo"]["endCursor"]
    rest = await api.data(PLANS, {"first": 2, "after": after}, caller=manager)
    assert [e["node"]["periodStart"] for e in rest["plans"]["edges"]] == ["2024-01-01"]
    assert rest["plans"]["pageInfo"]["hasNextPage"] is False

    acme_id = to_global_id("Account", acme.id)
    filters: list[tuple[dict[str, Any], list[str]]] = [
        ({"status": ["ACTIVE"]}, ["Acme", "Acme"]),
        ({"status": ["DRAFT"]}, ["Beta"]),
        ({"accountId": acme_id, "periodIncludes": "2025-12-31"}, ["Acme"]),
        ({"periodIncludes": "2026-01-01"}, ["Beta"]),
        ({"ownerId": rep.id}, ["Beta"]),
        ({"ownerId": manager.id}, []),
    ]
    for filter, expected in filters:
        assert await _names(api, manager, filter=filter) == expected, filter


async def test_a_rep_lists_the_plans_record_visibility_shows(api: Api) -> None:
    rep = await api.caller(Role.REP)
    bot = await api.caller(Role.INTEGRATION)
    held, other = (
        await create_account(api.session, "Held"),
        await create_account(api.session, "Other"),
    )
    await assign(api.session, rep.user_id, held)
    await create_plan(api.session, held)
    await create_plan(api.session, other)
    assert await _names(api, rep) == ["Other", "Held"]  # the same period: newest id first
    api.session.add(OrgSetting(name="record_visibility", value="OWN"))
    await api.session.commit()
    assert await _names(api, rep) == ["Held"]
    data = await api.data(PLANS, {}, caller=rep)
    assert data["plans"]["totalCount"] == 1
    refused = await api.gql(PLANS, {}, caller=bot)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
