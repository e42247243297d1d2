"""Request limits: depth, aliases, page size."""

from __future__ import annotations

from app.models.auth import Role
from tests.accounts.factories import create_account
from tests.support import Api


async def test_page_size_over_100_is_an_error_not_a_cap(api: Api) -> None:
    rep = await api.caller(Role.REP)
    result = await api.gql("{ accounts(first: 500) { totalCount } }", caller=rep)
    assert result["data"] is None
    assert result["errors"][0]["extensions"] == {"code": "INVALID_INPUT", "field": "first"}
    ok = await api.data("{ accounts(first: 100) { totalCount } }", caller=rep)
    assert ok["accounts"]["totalCount"] == 0


async def test_negative_page_size_and_bad_cursor_are_errors(api: Api) -> None:
    rep = await api.caller(Role.REP)
    negative = await api.gql("{ accounts(first: -1) { totalCount } }", caller=rep)
    assert negative["errors"][0]["extensions"]["field"] == "first"
    cursor = await api.gql('{ accounts(after: "garbage!") { totalCount } }', caller=rep)
    assert cursor["errors"][0]["extensions"]["field"] == "after"


async def test_query_deeper_than_12_is_refused(api: Api) -> None:
    rep = await api.caller(Role.REP)
    await create_account(api.session, "Acme")
    nested = "parent { " * 11 + "id" + " }" * 11
    deep = await api.gql("{ accounts { edges { node { " + nested + " } } } }", caller=rep)
    assert deep["data"] is None
    assert "exceeds maximum operation depth" in deep["errors"][0]["message"]
    shallow = "parent { " * 8 + "id" + " }" * 8
    assert "errors" not in await api.gql(
        "{ accounts { edges { node { " + shallow + " } } } }", caller=rep
    )


async def test_more_than_40_aliases_are_refused(api: Api) -> None:
    rep = await api.caller(Role.REP)
    many = " ".join(f"a{i}: viewer {{ id }}" for i in range(41))
    result = await api.gql("{ " + many + " }", caller=rep)
    assert result["data"] is None
    assert "aliases" in result["errors"][0]["message"]
    forty = " ".join(f"a{i}: viewer {{ id }}" for i in range(40))
    assert "errors" not in await api.gql("{ " + forty + " }", caller=rep)
