"""Validation that cannot go exponential, introspection on its own terms, cost before execution."""

from __future__ import annotations

import time

import pytest
from graphql import get_introspection_query

from app.models.auth import Role
from app.settings import Settings, SettingsError
from tests.accounts.factories import create_account
from tests.support import Api


def bomb(leaf: str, levels: int = 30) -> str:
    """Each fragment spreads the next twice: 2**levels paths in under 1.2 KB."""
    fragments = " ".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    return f"query {{ ...F0 }} {fragments} fragment F{levels} on Query {{ {leaf} }}"


async def test_fragment_bomb_is_refused_quickly_by_cost(api: Api) -> None:
    rep = await api.caller(Role.REP)
    started = time.perf_counter()
    result = await api.gql(bomb("viewer { id }"), caller=rep)
    assert time.perf_counter() - started < 2
    [error] = result["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert error["extensions"]["cost"] == 2**30
    assert result["data"] is None
    assert result["extensions"] == {"cost": 2**30}


async def test_alias_bomb_counts_aliases_per_spread(api: Api) -> None:
    rep = await api.caller(Role.REP)
    started = time.perf_counter()
    result = await api.gql(bomb("a: __typename"), caller=rep)
    assert time.perf_counter() - started < 2
    [error] = result["errors"]
    assert error["extensions"]["code"] == "TOO_MANY_ALIASES"
    assert f"has {2**30} aliases" in error["message"]


async def test_leaf_only_bomb_is_answered_quickly(api: Api) -> None:
    rep = await api.caller(Role.REP)
    started = time.perf_counter()
    result = await api.gql(bomb("__typename"), caller=rep)
    assert time.perf_counter() - started < 2
    assert result["data"] == {"__typename": "Query"}


async def test_unknown_fragment_is_a_validation_error(api: Api) -> None:
    rep = await api.caller(Role.REP)
    result = await api.gql("{ ...Nope viewer { id } }", caller=rep)
    assert [e["message"] for e in result["errors"]] == ["Unknown fragment 'Nope'."]
    assert "INTERNAL" not in str(result)


async def test_fragment_cycle_is_reported_not_followed(api: Api) -> None:
    rep = await api.caller(Role.REP)
    query = "{ ...A } fragment A on Query { ...B viewer { id } } fragment B on Query { ...A }"
    result = await api.gql(query, caller=rep)
    assert result["data"] is None
    assert any("Cannot spread fragment 'A' within itself" in e["message"] for e in result["errors"])
    assert "INTERNAL" not in str(result)


async def test_depth_counts_fragments_once_each(api: Api) -> None:
    rep = await api.caller(Role.REP)
    nested = "parent { " * 11 + "id" + " }" * 11
    query = (
        "{ accounts { edges { node { ...Deep } } } } fragment Deep on Account { " + nested + " }"
    )
    result = await api.gql(query, caller=rep)
    [error] = result["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_DEEP"
    assert error["message"] == (
        "'anonymous' exceeds maximum operation depth of 12 (its depth is 14)."
    )


MILLION = """
query Million {
  accounts(first: 100) { edges { node {
    activities(first: 100) { edges { node {
      account { activities(first: 100) { edges { node { id } } } }
    } } }
  } } }
}
"""


async def test_million_node_query_is_refused_before_execution(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    await create_account(api.session, "Acme")
    result = await api.gql(MILLION, caller=admin)
    [error] = result["errors"]
    assert error["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": 2_040_301, "maxCost": 50_000}
    assert result["data"] is None  # nothing ran: even the one account is not listed


@pytest.mark.parametrize(
    ("query", "variables", "cost"),
    [
        ("{ viewer { id } }", {}, 1),
        ("{ accounts(first: 10) { totalCount edges { node { id name } } } }", {}, 21),
        ("{ accounts { edges { node { id } } } }", {}, 101),  # no `first`: the default page
        ("query($n: Int) { accounts(first: $n) { edges { node { id } } } }", {"n": 3}, 7),
        ("query($n: Int = 4) { accounts(first: $n) { edges { node { id } } } }", {}, 9),
        # a bounded list without `first` counts its bound (100) of its objects
        ("{ accounts(first: 2) { edges { node { contacts { id } } } } }", {}, 1 + 2 * 102),
        # skipped by a literal directive: not counted
        ("{ viewer { id } accounts @skip(if: true) { totalCount } }", {}, 1),
    ],
)
async def test_every_response_carries_its_cost(
    api: Api, query: str, variables: dict[str, int], cost: int
) -> None:
    rep = await api.caller(Role.REP)
    result = await api.gql(query, variables, caller=rep)
    assert "errors" not in result, result
    assert result["extensions"] == {"cost": cost}


async def test_a_refused_document_costs_nothing(api: Api) -> None:
    rep = await api.caller(Role.REP)
    result = await api.gql("{ viewer { nope } }", caller=rep)
    assert result["extensions"] == {"cost": 0}


async def test_standard_introspection_query_is_answered(api: Api) -> None:
    rep = await api.caller(Role.REP)
    for everything in (False, True):
        query = get_introspection_query(
            descriptions=True,
            specified_by_url=everything,
            directive_is_repeatable=everything,
            schema_description=everything,
            input_value_deprecation=everything,
            one_of=everything,
        )
        result = await api.gql(query, caller=rep)
        assert "errors" not in result, result["errors"]
        names = {t["name"] for t in result["data"]["__schema"]["types"]}
        assert {"Account", "Query", "__Type"} <= names
        assert result["extensions"]["cost"] < 200


async def test_introspection_nested_deeper_than_the_standard_query_is_refused(api: Api) -> None:
    rep = await api.caller(Role.REP)
    deep = "{ __schema { types { " + "ofType { " * 30 + "name" + " }" * 30 + " } } }"
    started = time.perf_counter()
    result = await api.gql(deep, caller=rep)
    assert time.perf_counter() - started < 2
    [error] = result["errors"]
    assert error["extensions"]["code"] == "INTROSPECTION_TOO_DEEP"
    assert "'ofType' 30 levels deep" in error["message"]
    fields = '{ __type(name: "Account") { fields { type { fields { name } } } } }'
    [error] = (await api.gql(fields, caller=rep))["errors"]
    assert "'fields' 2 levels deep" in error["message"]
    # 30 levels of fields/type alternating, through a fragment
    chain = "fields { type { " * 15 + "name" + " } }" * 15
    query = "{ __schema { types { ...T } } } fragment T on __Type { " + chain + " }"
    errors = (await api.gql(query, caller=rep))["errors"]
    assert "'type' 15 levels deep" in errors[0]["message"]


async def test_introspection_does_not_count_against_depth(api: Api) -> None:
    rep = await api.caller(Role.REP)
    type_ref = "ofType { " * 9 + "name" + " }" * 9
    query = '{ __type(name: "Account") { fields { type { ' + type_ref + " } } } }"
    result = await api.gql(query, caller=rep)
    assert "errors" not in result, result


def test_limit_settings_are_validated() -> None:
    settings = Settings.from_env(
        {"ACCOUNTFLOW_MAX_COST": "1000", "ACCOUNTFLOW_RATE_LIMIT_COST_PER_MINUTE": "0"}
    )
    assert (settings.limits.max_cost, settings.limits.cost_per_minute) == (1000, 0)
    assert Settings.from_env({}).limits.cost_per_minute == 5_000_000
    for env in (
        {"ACCOUNTFLOW_MAX_COST": "0"},
        {"ACCOUNTFLOW_MAX_COST": "lots"},
        {"ACCOUNTFLOW_RATE_LIMIT_COST_PER_MINUTE": "-1"},
        {"ACCOUNTFLOW_ENV": "staging"},
    ):
        with pytest.raises(SettingsError):
            Settings.from_env(env)
    assert Settings.from_env({"ACCOUNTFLOW_ENV": "Production"}).production
