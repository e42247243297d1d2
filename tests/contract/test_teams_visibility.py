"""The teams contract's operations of part V (DefineTeam, Teams, SetRecordVisibility,
VisibleAccounts), exactly as teams.graphql writes them, with known answers."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from app.events import pk_of
from app.models.audit import AuditEntry
from app.models.teams import OrgSetting, RecordVisibility, Team
from app.models.webhooks import OutboxEvent
from schema.relay import to_global_id
from tests.support import Api, Caller
from tests.teams.town import VISIBLE, Town, build, set_visibility

DEFINE_TEAM = """
mutation DefineTeam($input: DefineTeamInput!) {
  defineTeam(input: $input) {
    team { id name lead { id name } members { id name } }
    errors { code field message }
  }
}
"""
TEAMS = """
query Teams {
  teams { id name lead { id name } members { id name } }
}
"""
SET_RECORD_VISIBILITY = """
mutation SetRecordVisibility($input: SetRecordVisibilityInput!) {
  setRecordVisibility(input: $input) {
    visibility
    errors { code field message }
  }
}
"""
VISIBLE_ACCOUNTS = """
query VisibleAccounts($first: Int, $after: String) {
  accounts(first: $first, after: $after) {
    totalCount
    edges { node { id name } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


@pytest.fixture
async def town(api: Api) -> Town:
    return await build(api)


def person(caller: Caller, name: str) -> dict[str, str]:
    return {"id": caller.id, "name": name}


async def define(api: Api, caller: Caller, **input: Any) -> dict[str, Any]:
    data = await api.data(DEFINE_TEAM, {"input": input}, caller=caller)
    result: dict[str, Any] = data["defineTeam"]
    return result


async def written(api: Api, model: Any) -> int:
    api.session.expire_all()
    found = await api.session.scalar(select(func.count()).select_from(model))
    return int(found or 0)


async def test_define_team_creates_then_replaces_a_team(api: Api, town: Town) -> None:
    lead, members = town.manager.id, [town.sol.id, town.rhea.id]
    created = await define(api, town.admin, name="East", leadId=lead, memberIds=members)
    assert created["errors"] == []
    team = created["team"]
    assert team["name"] == "East"
    assert team["lead"] == person(town.manager, "Mona Manager")
    assert team["members"] == [person(town.rhea, "Rhea Rep"), person(town.sol, "Sol Rep")]

    replaced = await define(
        api, town.admin, id=team["id"], name="East 2", leadId=lead, memberIds=[town.remo.id]
    )
    assert replaced["errors"] == []
    assert replaced["team"]["id"] == team["id"]
    assert replaced["team"]["name"] == "East 2"
    assert replaced["team"]["members"] == [person(town.remo, "Remo Rep")]
    api.session.expire_all()
    actions = await api.session.scalars(
        select(AuditEntry.action).where(AuditEntry.entity_type == "Team").order_by(AuditEntry.id)
    )
    # two from the town's North and South, then this test's two
    assert list(actions) == ["team.create", "team.create", "team.create", "team.update"]
    types = await api.session.scalars(
        select(OutboxEvent.type).where(OutboxEvent.object_key == f"Team:{pk_of(team['id'])}")
    )
    assert list(types) == ["team.defined", "team.defined"]


async def test_define_team_refuses_a_lead_who_is_no_manager(api: Api, town: Town) -> None:
    before = await written(api, Team)
    result = await define(api, town.admin, name="Bad", leadId=town.rhea.id, memberIds=[])
    assert result["team"] is None
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("INVALID_INPUT", "leadId")]
    assert await written(api, Team) == before


async def test_define_team_names_unknown_ids_by_their_field(api: Api, town: Town) -> None:
    nobody = to_global_id("User", 999_999)
    result = await define(api, town.admin, name="X", leadId=nobody, memberIds=[nobody])
    errors = sorted((e["code"], e["field"]) for e in result["errors"])
    assert errors == [("NOT_FOUND", "leadId"), ("NOT_FOUND", "memberIds")]
    unknown_team = await define(
        api,
        town.admin,
        id=to_global_id("Team", 999_999),
        name="X",
        leadId=town.manager.id,
        memberIds=[],
    )
    assert [(e["code"], e["field"]) for e in unknown_team["errors"]] == [("NOT_FOUND", "id")]


async def test_only_an_admin_defines_a_team(api: Api, town: Town) -> None:
    before = await written(api, Team)
    result = await define(api, town.manager, name="Mine", leadId=town.manager.id, memberIds=[])
    assert [e["code"] for e in result["errors"]] == ["FORBIDDEN"]
    assert await written(api, Team) == before


async def test_teams_managers_read_every_team_a_rep_their_own(api: Api, town: Town) -> None:
    everyone = (await api.data(TEAMS, caller=town.manager))["teams"]
    assert [(t["name"], [m["name"] for m in t["members"]]) for t in everyone] == [
        ("North", ["Remo Rep", "Rhea Rep"]),
        ("South", ["Sol Rep"]),
    ]
    assert everyone[0]["lead"] == person(town.manager, "Mona Manager")
    own = (await api.data(TEAMS, caller=town.sol))["teams"]
    assert [t["name"] for t in own] == ["South"]


async def test_user_teams_and_team_node(api: Api, town: Town) -> None:
    query = "query($id: ID!) { node(id: $id) { ... on User { teams { id name } } } }"
    data = await api.data(query, {"id": town.rhea.id}, caller=town.manager)
    (north,) = data["node"]["teams"]
    assert north["name"] == "North"
    node = "query($id: ID!) { node(id: $id) { ... on Team { name lead { name } } } }"
    found = await api.data(node, {"id": north["id"]}, caller=town.remo)
    assert found["node"] == {"name": "North", "lead": {"name": "Mona Manager"}}
    assert (await api.data(node, {"id": north["id"]}, caller=town.sol))["node"] is None


async def test_set_record_visibility_stores_it_and_only_for_an_admin(api: Api, town: Town) -> None:
    refused = await api.data(
        SET_RECORD_VISIBILITY, {"input": {"visibility": "OWN"}}, caller=town.manager
    )
    assert refused["setRecordVisibility"]["visibility"] is None
    assert [e["code"] for e in refused["setRecordVisibility"]["errors"]] == ["FORBIDDEN"]
    assert await written(api, OrgSetting) == 0

    data = await api.data(
        SET_RECORD_VISIBILITY, {"input": {"visibility": "TEAM"}}, caller=town.admin
    )
    assert data["setRecordVisibility"] == {"visibility": "TEAM", "errors": []}
    api.session.expire_all()
    stored = await api.session.scalar(select(OrgSetting.value))
    assert stored == "TEAM"
    events = await api.session.scalars(
        select(OutboxEvent.data).where(OutboxEvent.type == "record_visibility.changed")
    )
    assert list(events) == [{"visibility": "TEAM", "previous": "ALL"}]


@pytest.mark.parametrize("visibility", list(RecordVisibility))
async def test_visible_accounts_under_each_visibility(
    api: Api, town: Town, visibility: RecordVisibility
) -> None:
    await set_visibility(api, visibility)
    names = VISIBLE[visibility]
    for first in (2, 10):
        data = await api.data(VISIBLE_ACCOUNTS, {"first": first}, caller=town.rhea)
        page = data["accounts"]
        assert page["totalCount"] == len(names)
        assert [e["node"]["name"] for e in page["edges"]] == names[:first]
        assert page["pageInfo"]["hasNextPage"] is (len(names) > first)
    manager = await api.data(VISIBLE_ACCOUNTS, {"first": 10}, caller=town.manager)
    assert manager["accounts"]["totalCount"] == 4
