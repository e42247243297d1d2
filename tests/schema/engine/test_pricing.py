"""Page sizes are priced as they run: null, absent, float and `last` alike, on both paths."""

from __future__ import annotations

from typing import Any

import pytest

from app.models.auth import Role
from tests.accounts.factories import create_account
from tests.support import Api

# cost(f) = 1 + f * (1 + (1 + (1 + f * 2))): a page of accounts, each with a page of activities
NESTED = """query Q($f: Int = 0) {
  accounts(first: $f) { edges { node { id %s activities(first: $f) { edges { node { id } } } } } }
}"""
# revenueLast12Months has no SQL: strawberry answers (it costs nothing, being a leaf)
PATHS = {"compiled": NESTED % "", "graphql": NESTED % "revenueLast12Months"}


def cost(page: int) -> int:
    return 1 + page * (3 + 2 * page)


@pytest.mark.parametrize("path", PATHS)
async def test_a_page_size_is_priced_as_it_runs_null_absent_or_float(api: Api, path: str) -> None:
    rep = await api.caller(Role.REP)
    for name in ("A", "B", "C"):
        await create_account(api.session, name)
    # the same document, in this order: each answer must not reuse the price of the last
    asks: list[tuple[dict[str, Any], int, int]] = [
        ({}, cost(0), 0),  # absent: the default value, 0
        ({"f": None}, cost(50), 3),  # null: the default page size (50) runs
        ({"f": 2.0}, cost(2), 2),  # 2.0 is coerced to 2
        ({"f": 2}, cost(2), 2),
        ({"f": None}, cost(50), 3),
    ]
    for variables, expected, accounts in asks:
        response = await api.post(PATHS[path], variables, caller=rep)
        body = response.json()
        assert response.headers["x-accountflow-executor"] == path
        assert "errors" not in body, body
        assert len(body["data"]["accounts"]["edges"]) == accounts
        assert body["extensions"] == {"cost": expected}, variables


async def test_last_is_priced_as_the_page_it_runs(api: Api) -> None:
    rep = await api.caller(Role.REP)
    for name in ("A", "B", "C"):
        await create_account(api.session, name)
    query = "query($l: Int) { accounts(last: $l) { edges { node { id } } } }"
    for variables, expected, accounts in (
        ({"l": 100}, 1 + 100 * 2, 3),
        ({"l": 2.0}, 1 + 2 * 2, 2),
        ({"l": None}, 1 + 50 * 2, 3),  # neither first nor last: the default page
    ):
        body = (await api.post(query, variables, caller=rep)).json()
        assert "errors" not in body, body
        assert len(body["data"]["accounts"]["edges"]) == accounts
        assert body["extensions"] == {"cost": expected}, variables


async def test_a_page_size_inside_a_fragment_is_priced_from_the_variables(api: Api) -> None:
    rep = await api.caller(Role.REP)
    query = """query Q($f: Int! = 5) { ...Page }
      fragment Page on Query { accounts(first: $f) { edges { node { id } } } }"""
    assert (await api.gql(query, {"f": 7.0}, caller=rep))["extensions"] == {"cost": 1 + 7 * 2}
    assert (await api.gql(query, {}, caller=rep))["extensions"] == {"cost": 1 + 5 * 2}
