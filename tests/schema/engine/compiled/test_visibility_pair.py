"""Both read paths under each record visibility: a REP reads the same accounts on both, and
exactly the accounts the visibility allows (a list, `node`, search, nested fields, and
generated documents). The world's REP is in a team with a teammate; an outsider is not.

Under TEAM and OWN the compiled app leaves a REP's queries to strawberry; under ALL it
answers them itself. Each test sets the visibility in the shared world and puts ALL back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest
from sqlalchemy import text

from app import db
from app.models.auth import Role
from app.models.teams import RecordVisibility
from schema.relay import to_global_id
from tests.schema.engine.compiled.documents import sample
from tests.schema.engine.compiled.pair import TALLIES, Ask, Pair, Tally
from tests.schema.engine.compiled.world import World

tally = TALLIES.setdefault("record visibility", Tally())

LIST = "query L($first: Int) { accounts(first: $first) { totalCount edges { node { id } } } }"
NODE = "query N($id: ID!) { node(id: $id) { id ... on Account { name } } }"
SEARCH = (
    "query S($q: String) { accounts(first: 100, filter: {search: $q}) { totalCount"
    " edges { node { id } } } }"
)
NESTED = (
    "{ accounts(first: 100) { edges { node { id contacts { id account { id } }"
    " assignments { id account { id } } parent { id } } } } }"
)


@pytest.fixture(params=list(RecordVisibility), ids=lambda v: v.value)
async def visibility(request: pytest.FixtureRequest, world_url: str) -> AsyncIterator[str]:
    chosen: RecordVisibility = request.param
    await _set(world_url, chosen.value)
    try:
        yield chosen.value
    finally:
        await _set(world_url, "ALL")


async def _set(url: str, value: str) -> None:
    engine = db.create_engine(url, pool_size=1)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO org_settings (name, value) VALUES ('record_visibility', :v)"
                    " ON CONFLICT (name) DO UPDATE SET value = :v"
                ),
                {"v": value},
            )
    finally:
        await engine.dispose()


async def _expected(url: str, world: World, visibility: str, *, live: bool = True) -> set[str]:
    """The (live) accounts the world's REP reads, by the issue's rule in plain SQL."""
    rep = world.users[Role.REP]
    users = {"ALL": None, "TEAM": [rep, world.teammate], "OWN": [rep]}[visibility]
    query = "SELECT id FROM accounts WHERE " + ("archived_at IS NULL" if live else "true")
    if users is not None:
        query += (
            " AND id IN (SELECT account_id FROM assignments WHERE user_id = ANY(:u)"
            " UNION SELECT account_id FROM pipeline_entries WHERE owner_id = ANY(:u))"
        )
    engine = db.create_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            found = await connection.scalars(text(query), {"u": users} if users else {})
            return {to_global_id("Account", pk) for pk in found}
    finally:
        await engine.dispose()


def _data(body: bytes) -> dict[str, object]:
    parsed = orjson.loads(body)
    assert "errors" not in parsed, parsed
    data: dict[str, object] = parsed["data"]
    return data


async def test_a_reps_list_holds_exactly_the_visible_accounts(
    pair: Pair, world_url: str, visibility: str
) -> None:
    expected = await _expected(world_url, pair.world, visibility)
    answer = await pair.check(Ask(LIST, {"first": 100}, Role.REP), tally)
    accounts = _data(answer.body)["accounts"]
    assert isinstance(accounts, dict)
    assert accounts["totalCount"] == len(expected)
    assert {e["node"]["id"] for e in accounts["edges"]} == expected
    assert answer.executor == ("compiled" if visibility == "ALL" else "graphql")
    if visibility != "ALL":  # the world has accounts the REP does not hold
        assert len(expected) < len(await _expected(world_url, pair.world, "ALL"))
    manager = await pair.check(Ask(LIST, {"first": 100}, Role.MANAGER), tally)
    assert manager.executor == "compiled"


async def test_node_of_a_hidden_account_is_null(
    pair: Pair, world_url: str, visibility: str
) -> None:
    expected = await _expected(world_url, pair.world, visibility, live=False)
    for pk in pair.world.accounts[:20]:
        account = to_global_id("Account", pk)
        answer = await pair.check(Ask(NODE, {"id": account}, Role.REP), tally)
        node = _data(answer.body)["node"]
        assert (node is not None) == (account in expected), (pk, visibility)


async def test_search_finds_only_visible_accounts(
    pair: Pair, world_url: str, visibility: str
) -> None:
    expected = await _expected(world_url, pair.world, visibility)
    seen_any = False
    for words in ("Account", "Café", "example"):
        answer = await pair.check(Ask(SEARCH, {"q": words}, Role.REP), tally)
        accounts = _data(answer.body)["accounts"]
        assert isinstance(accounts, dict)
        found = {e["node"]["id"] for e in accounts["edges"]}
        assert found <= expected
        seen_any = seen_any or bool(found)
    assert seen_any


async def test_nested_fields_reach_only_visible_accounts(
    pair: Pair, world_url: str, visibility: str
) -> None:
    expected = await _expected(world_url, pair.world, visibility, live=False)
    answer = await pair.check(Ask(NESTED, None, Role.REP), tally)
    edges = _data(answer.body)["accounts"]
    assert isinstance(edges, dict)
    reached = set()
    for edge in edges["edges"]:
        node = edge["node"]
        reached |= {c["account"]["id"] for c in node["contacts"]}
        reached |= {a["account"]["id"] for a in node["assignments"]}
        if node["parent"] is not None:
            reached.add(node["parent"]["id"])
    assert reached <= expected


async def test_generated_rep_documents_agree(pair: Pair, visibility: str) -> None:
    for case in sample(pair.world, 60):
        ask = Ask(case.document, case.variables, Role.REP, case.operation_name)
        await pair.check(ask, tally)
