"""Handoff next steps: pending handoffs by receiver, and the next steps that fell due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from app.models.auth import Role
from app.models.teams import OrgSetting
from schema.relay import to_global_id
from tests.handoff.factories import qualified_account
from tests.support import Api, Caller

PENDING = """
query MyPendingHandoffs($receiverId: ID, $first: Int, $after: String) {
  pendingHandoffs(receiverId: $receiverId, first: $first, after: $after) {
    totalCount
    edges { node { id account { name } toOwner { id } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
OVERDUE = """
query OverdueNextSteps($receiverId: ID, $first: Int, $after: String) {
  overdueNextSteps(receiverId: $receiverId, first: $first, after: $after) {
    totalCount
    edges { node { id account { name } toOwner { id } nextStep nextStepDue } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def _move(api: Api, caller: Caller, pk: int, trigger: str, **extra: Any) -> dict[str, Any]:
    variables = {"input": {"accountId": to_global_id("Account", pk), "trigger": trigger, **extra}}
    data = await api.op("TransitionAccount", variables, caller=caller)
    result: dict[str, Any] = data["transitionAccount"]
    assert result["errors"] == [], result["errors"]
    return result


async def _hand_off(api: Api, manager: Caller, name: str, to: Caller) -> tuple[int, str]:
    account = await qualified_account(api.session, name)
    await _move(api, manager, account.id, "qualify")
    moved = await _move(
        api, manager, account.id, "handoff", reason="r", benefit="b", toOwnerId=to.id
    )
    return account.id, moved["event"]["id"]


async def _accept(api: Api, caller: Caller, event_id: str, step: str, days: int) -> None:
    due = (datetime.now(UTC) + timedelta(days=days)).isoformat()
    variables = {"input": {"eventId": event_id, "nextStep": step, "nextStepDue": due}}
    data = (await api.op("AcceptHandoff", variables, caller=caller))["acceptHandoff"]
    assert data["errors"] == []


def _names(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["account"]["name"] for edge in connection["edges"]]


async def _pending(api: Api, caller: Caller, receiver: Caller | None) -> dict[str, Any]:
    variables = {"receiverId": receiver.id if receiver else None}
    result: dict[str, Any] = await api.gql(PENDING, variables, caller=caller)
    return result


async def test_pending_handoffs_by_receiver(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    ae, other = await api.caller(Role.REP), await api.caller(Role.REP)
    await _hand_off(api, manager, "Alpha", ae)
    await _hand_off(api, manager, "Beta", other)
    _, gamma = await _hand_off(api, manager, "Gamma", ae)

    mine = (await _pending(api, ae, ae))["data"]["pendingHandoffs"]
    assert (mine["totalCount"], _names(mine)) == (2, ["Alpha", "Gamma"])
    assert {edge["node"]["toOwner"]["id"] for edge in mine["edges"]} == {ae.id}
    theirs = (await _pending(api, manager, other))["data"]["pendingHandoffs"]
    assert (theirs["totalCount"], _names(theirs)) == (1, ["Beta"])
    everyone = (await _pending(api, manager, None))["data"]["pendingHandoffs"]
    assert _names(everyone) == ["Alpha", "Beta", "Gamma"]

    refused = await _pending(api, ae, other)
    assert refused["data"] is None
    found = [(e["extensions"]["code"], e["extensions"]["field"]) for e in refused["errors"]]
    assert found == [("FORBIDDEN", "receiverId")]
    await _accept(api, ae, gamma, "Call", 3)
    after = (await _pending(api, ae, ae))["data"]["pendingHandoffs"]
    assert _names(after) == ["Alpha"]


async def test_overdue_next_steps_most_overdue_first_until_the_entry_moves(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    ae, other = await api.caller(Role.REP), await api.caller(Role.REP)
    alpha, alpha_event = await _hand_off(api, manager, "Alpha", ae)
    _, beta_event = await _hand_off(api, manager, "Beta", ae)
    _, gamma_event = await _hand_off(api, manager, "Gamma", other)
    await _hand_off(api, manager, "Delta", ae)  # never accepted: no next step yet
    await _accept(api, ae, alpha_event, "Send quote", -1)
    await _accept(api, ae, beta_event, "Demo", 2)
    await _accept(api, other, gamma_event, "Visit", -3)

    every = await api.data(OVERDUE, {}, caller=manager)
    assert _names(every["overdueNextSteps"]) == ["Gamma", "Alpha"]
    assert every["overdueNextSteps"]["totalCount"] == 2
    first = every["overdueNextSteps"]["edges"][1]["node"]
    assert (first["nextStep"], first["toOwner"]) == ("Send quote", {"id": ae.id})
    paged = await api.data(OVERDUE, {"first": 1}, caller=manager)
    cursor = paged["overdueNextSteps"]["pageInfo"]["endCursor"]
    rest = await api.data(OVERDUE, {"first": 1, "after": cursor}, caller=manager)
    assert _names(rest["overdueNextSteps"]) == ["Alpha"]
    assert rest["overdueNextSteps"]["pageInfo"]["hasNextPage"] is False

    mine = await api.data(OVERDUE, {"receiverId": ae.id}, caller=ae)
    assert _names(mine["overdueNextSteps"]) == ["Alpha"]
    refused = await api.gql(OVERDUE, {"receiverId": other.id}, caller=ae)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    await _move(api, manager, alpha, "win")
    moved_on = await api.data(OVERDUE, {"receiverId": ae.id}, caller=manager)
    assert moved_on["overdueNextSteps"] == {
        "totalCount": 0,
        "edges": [],
        "pageInfo": {"hasNextPage": False, "endCursor": None},
    }


async def test_a_rep_lists_the_handoffs_record_visibility_shows(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    ae, other = await api.caller(Role.REP), await api.caller(Role.REP)
    await _hand_off(api, manager, "Alpha", ae)
    _, beta = await _hand_off(api, manager, "Beta", other)
    await _hand_off(api, manager, "Gamma", other)
    await _accept(api, other, beta, "Visit", -1)
    pending = (await _pending(api, ae, None))["data"]["pendingHandoffs"]
    assert _names(pending) == ["Alpha", "Gamma"]
    assert _names((await api.data(OVERDUE, {}, caller=ae))["overdueNextSteps"]) == ["Beta"]

    api.session.add(OrgSetting(name="record_visibility", value="OWN"))
    await api.session.commit()
    pending = (await _pending(api, ae, None))["data"]["pendingHandoffs"]
    assert (pending["totalCount"], _names(pending)) == (1, ["Alpha"])
    assert (await api.data(OVERDUE, {}, caller=ae))["overdueNextSteps"]["totalCount"] == 0
    assert _names((await api.data(OVERDUE, {}, caller=other))["overdueNextSteps"]) == ["Beta"]
    everyone = (await _pending(api, manager, None))["data"]["pendingHandoffs"]
    assert _names(everyone) == ["Alpha", "Gamma"]
