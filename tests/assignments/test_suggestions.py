"""contactSuggestions beside its service: pages, whose suggestions a caller may read, and
the reason of an assignment not yet due (issue 21)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.accounts import Classification
from app.models.auth import Role
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.activities.factories import create_assignment, day_start, log
from tests.support import Api

QUERY = """
query($userId: ID, $first: Int, $after: String) {
  contactSuggestions(userId: $userId, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { assignment { account { name } } reason balance suggestedKind } }
  }
}
"""


async def assign(api: Api, user_id: int, name: str, *, every: int, started: int) -> int:
    account = await create_account(api.session, name, classification=Classification.B)
    await create_assignment(
        api.session,
        account_id=account.id,
        user_id=user_id,
        frequency=every,
        started_at=day_start(started),
    )
    return account.id


async def test_pages_in_order_and_counts(api: Api) -> None:
    rep = await api.caller(Role.REP)
    for name, started in (("Later", 20), ("Oldest", 40), ("Middle", 30)):
        await assign(api, rep.user_id, name, every=10, started=started)
    first = (await api.data(QUERY, {"first": 2}, caller=rep))["contactSuggestions"]
    assert first["totalCount"] == 3
    assert first["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["assignment"]["account"]["name"] for e in first["edges"]] == [
        "Oldest",
        "Middle",
    ]
    after = {"first": 2, "after": first["pageInfo"]["endCursor"]}
    rest = (await api.data(QUERY, after, caller=rep))["contactSuggestions"]
    assert rest["pageInfo"]["hasNextPage"] is False
    assert [e["node"]["assignment"]["account"]["name"] for e in rest["edges"]] == ["Later"]


async def test_a_deficit_not_yet_due_says_when(api: Api, session: AsyncSession) -> None:
    rep = await api.caller(Role.REP)
    account_id = await assign(api, rep.user_id, "Quiet", every=30, started=100)
    await log(session, account_id=account_id, occurred_at=day_start(10))
    data = await api.data(QUERY, {}, caller=rep)
    (edge,) = data["contactSuggestions"]["edges"]
    assert edge["node"] == {
        "assignment": {"account": {"name": "Quiet"}},
        "reason": "Due in 19 days; B accounts are contacted every 30 days; "
        "1 contact in the last 101 days where 3 were due.",
        "balance": -2,
        "suggestedKind": "CALL_OUTBOUND",
    }


async def test_a_rep_reads_only_their_own(api: Api) -> None:
    rep, other = await api.caller(Role.REP), await api.caller(Role.REP)
    await assign(api, other.user_id, "Theirs", every=10, started=40)
    mine = await api.data(QUERY, {"userId": rep.id}, caller=rep)
    assert mine["contactSuggestions"]["edges"] == []
    result = await api.gql(QUERY, {"userId": other.id}, caller=rep)
    assert result["data"] is None
    assert [e["extensions"] for e in result["errors"]] == [{"code": "FORBIDDEN", "field": "userId"}]
    manager = await api.caller(Role.MANAGER)
    theirs = await api.data(QUERY, {"userId": other.id}, caller=manager)
    assert len(theirs["contactSuggestions"]["edges"]) == 1


@pytest.mark.parametrize(
    ("user_id", "code"),
    [(to_global_id("User", 404), "NOT_FOUND"), (to_global_id("Account", 1), "NOT_FOUND")],
)
async def test_an_unknown_user_is_refused(api: Api, user_id: str, code: str) -> None:
    manager = await api.caller(Role.MANAGER)
    result = await api.gql(QUERY, {"userId": user_id}, caller=manager)
    assert [e["extensions"] for e in result["errors"]] == [{"code": code, "field": "userId"}]


async def test_integrations_read_no_suggestions(api: Api) -> None:
    integration = await api.caller(Role.INTEGRATION)
    result = await api.gql(QUERY, {}, caller=integration)
    assert [e["extensions"]["code"] for e in result["errors"]] == ["FORBIDDEN"]
