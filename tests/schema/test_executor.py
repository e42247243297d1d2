"""The planned executor answers exactly as graphql-core does, and steps aside on errors."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
import strawberry
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    OperationDefinitionNode,
    OperationType,
    Undefined,
    parse,
    type_from_ast,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from strawberry.extensions import FieldExtension
from strawberry.extensions.validation_cache import _get_validate_cache

from app.models.accounts import Account, BuyingRole, Classification
from app.models.auth import Role, User
from app.settings import Settings
from schema import build_schema
from schema.context import Context
from schema.engine.executor import FastExecutionContext
from schema.relay import to_global_id
from tests.accounts.factories import create_account, create_contact
from tests.cadence.factories import create_assignment
from tests.planning.factories import at, create_activity, create_plan
from tests.support import Api, contract_operations

DETAIL = """
query Detail($id: ID!, $withBranches: Boolean!, $skipContacts: Boolean = false) {
  node(id: $id) {
    __typename
    id
    ... on Account {
      title: name
      classification
      attributes
      archivedAt
      address { countryCode city }
      ...Family
      contacts @skip(if: $skipContacts) { __typename id name buyingRole }
      branches(first: 2) @include(if: $withBranches) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { id name parent { name } } }
      }
    }
  }
  viewer { id email role }
}
fragment Family on Account { parent { id } name }
"""

LIST = """
query List($filter: AccountFilter) {
  first: accounts(first: 2, filter: $filter) { totalCount edges { node { name classification } } }
  second: accounts(first: 1) { edges { node { id contacts { name } } } }
}
"""


NOW = datetime.now(UTC)  # one instant for both executors: time-dependent fields agree


def context(session: AsyncSession, viewer: User) -> Context:
    settings = Settings.from_env({})
    return Context(
        session=session, viewer=viewer, token_id=0, request_id="t", settings=settings, now=NOW
    )


async def run_both(
    session: AsyncSession, viewer: User, query: str, variables: dict[str, Any]
) -> list[tuple[Any, Any]]:
    answers = []
    for planned in (True, False):
        schema = build_schema(planned=planned)
        result = await schema.execute(
            query, variable_values=variables, context_value=context(session, viewer)
        )
        errors = [error.formatted for error in result.errors or []]
        answers.append((result.data, errors))
    return answers


@pytest.fixture
async def family(api: Api) -> dict[str, int]:
    head = await create_account(
        api.session, name="Head", classification=Classification.A, attributes={"budget": 5}
    )
    await create_contact(api.session, head, name="Ann", role=BuyingRole.CHAMPION)
    await create_contact(api.session, head, name="Bob")
    ids = {"head": head.id}
    for name in ("North", "South", "West"):
        ids[name] = (await create_account(api.session, name=name, parent_id=head.id)).id
    return ids


async def viewer(api: Api) -> User:
    caller = await api.caller(Role.ADMIN, name="Ada")
    user = await api.session.get(User, caller.user_id)
    assert user is not None
    return user


@pytest.mark.parametrize(
    ("with_branches", "skip_contacts"), [(True, False), (False, True), (True, True)]
)
async def test_detail_is_answered_like_graphql_core(
    api: Api,
    family: dict[str, int],
    caplog: pytest.LogCaptureFixture,
    with_branches: bool,
    skip_contacts: bool,
) -> None:
    user = await viewer(api)
    variables = {
        "id": to_global_id("Account", family["head"]),
        "withBranches": with_branches,
        "skipContacts": skip_contacts,
    }
    with caplog.at_level(logging.DEBUG, logger="schema.engine.executor"):
        planned, core = await run_both(api.session, user, DETAIL, variables)
    assert planned == core
    assert planned[1] == []
    node = planned[0]["node"]
    assert node["__typename"] == "Account"
    assert node["attributes"] == {"budget": 5}
    assert ("contacts" in node) is not skip_contacts
    assert ("branches" in node) is with_branches
    assert "plan abandoned" not in caplog.text


async def test_lists_with_aliases_and_filters_match(api: Api, family: dict[str, int]) -> None:
    user = await viewer(api)
    planned, core = await run_both(
        api.session, user, LIST, {"filter": {"classification": ["A", "B"]}}
    )
    assert planned == core
    assert planned[0]["first"] == {
        "totalCount": 1,
        "edges": [{"node": {"name": "Head", "classification": "A"}}],
    }


async def test_errors_are_graphql_cores(
    api: Api, family: dict[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    user = await viewer(api)
    query = "{ accounts(first: 500) { totalCount } viewer { name } }"
    with caplog.at_level(logging.DEBUG, logger="schema.engine.executor"):
        planned, core = await run_both(api.session, user, query, {})
    assert planned == core
    assert planned[0] is None
    assert [error["message"] for error in planned[1]] == ["first must be between 0 and 100."]
    assert "plan abandoned" in caplog.text


async def test_validation_is_cached_across_requests(api: Api, family: dict[str, int]) -> None:
    user = await viewer(api)
    schema = build_schema()
    cache: Any = _get_validate_cache(256)
    results = []
    for _ in range(3):
        hits = cache.cache_info().hits
        results.append(await schema.execute(LIST, context_value=context(api.session, user)))
    assert cache.cache_info().hits == hits + 1
    assert [r.errors for r in results] == [None, None, None]


QUERY_VARIABLES: dict[str, dict[str, Any]] = {
    "AccountList": {"first": 10},
    "AuditLog": {"first": 10},
    "Assignments": {"first": 10},
    "PendingHandoffs": {"first": 10},
    "StageThroughput": {"from": "2020-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"},
    "HandoffReport": {"from": "2020-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"},
    "Forecast": {"groupBy": "OWNER", "periodStart": "2025-01-01"},
    "ClassificationSuggestions": {"first": 10},
    "ReviewsDue": {"withinDays": 3650},
    "ChurnEstimate": {"years": 3},
}


@functools.cache
def both_schemas() -> tuple[Any, Any]:
    return build_schema(planned=True), build_schema(planned=False)


@pytest.mark.parametrize("role", list(Role))
async def test_every_contract_query_answers_alike_for_every_role(
    api: Api, family: dict[str, int], role: Role
) -> None:
    """Mutations run serially, where the planned context hands over to graphql-core."""
    head = await api.session.get(Account, family["head"])
    assert head is not None
    caller = await api.caller(role)
    user = await api.session.get(User, caller.user_id)
    assert user is not None
    owner = await api.caller(Role.REP)
    await create_assignment(api.session, account_id=head.id, user_id=owner.user_id)
    await create_activity(api.session, head, "120.50", at(2025, 3))
    await create_plan(api.session, head, owner_id=owner.user_id)
    account_id = to_global_id("Account", head.id)
    queries = {
        name: text
        for name, text in contract_operations().items()
        if parse(text).definitions[0].operation is OperationType.QUERY  # type: ignore[attr-defined]
    }
    assert len(queries) >= 16
    answered = 0
    for name, text in queries.items():
        variables = {"id": account_id, **QUERY_VARIABLES.get(name, {})}
        operation = parse(text).definitions[0]
        assert isinstance(operation, OperationDefinitionNode)
        defined = {v.variable.name.value for v in operation.variable_definitions or ()}
        variables = {k: v for k, v in variables.items() if k in defined}
        answers = []
        for schema in both_schemas():
            result = await schema.execute(
                text, variable_values=variables, context_value=context(api.session, user)
            )
            errors = [error.formatted for error in result.errors or []]
            answers.append((result.data, errors))
        assert answers[0] == answers[1], (name, json.dumps(answers, default=str))
        answered += answers[0][0] is not None
    assert answered >= 1


class Upper(FieldExtension):
    def resolve(self, next_: Callable[..., Any], source: Any, info: Any, **kwargs: Any) -> Any:
        return next_(source, info, **kwargs).upper()


@strawberry.type
class Thing:
    name: str = strawberry.field(extensions=[Upper()])
    plain: str


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Dog(Named):
    pass


@strawberry.type
class Tiny:
    @strawberry.field
    async def things(self) -> list[Thing]:
        return [Thing(name="a", plain="b"), Thing(name="c", plain="d")]

    @strawberry.field
    async def dog(self) -> Dog:
        return SimpleNamespace(name="Tom")  # type: ignore[return-value]


async def tiny(query: str) -> list[tuple[Any, list[Any]]]:
    answers = []
    for planned in (FastExecutionContext, None):
        schema = strawberry.Schema(query=Tiny, types=[Dog], execution_context_class=planned)
        result = await schema.execute(query)
        answers.append((result.data, [e.message for e in result.errors or []]))
    return answers


async def test_a_field_with_an_extension_is_not_a_plain_attribute() -> None:
    planned, core = await tiny("{ things { name plain } }")
    assert planned == core
    assert planned[0] == {"things": [{"name": "A", "plain": "b"}, {"name": "C", "plain": "d"}]}


async def test_is_type_of_is_checked_like_graphql_core() -> None:
    planned, core = await tiny("{ dog { name } }")
    assert planned == core
    assert planned[1] == ["Expected value of type 'Dog' but got: <SimpleNamespace instance>."]


async def test_fallbacks_are_counted_in_metrics(api: Api) -> None:
    rep = await api.caller(Role.REP)
    auth = {"Authorization": f"Bearer {rep.token}"}
    line = 'accountflow_executor_fallbacks_total{reason="resolver error"}'

    async def count() -> float:
        text = (await api.client.get("/metrics", headers=auth)).text
        found = [row for row in text.splitlines() if row.startswith(line)]
        return float(found[0].split()[-1]) if found else 0.0

    before = await count()
    result = await api.gql("{ accounts(first: 500) { totalCount } }", caller=rep)
    assert result["errors"][0]["path"] == ["accounts"]
    assert await count() == before + 1


def dummy(type_: GraphQLInputType) -> Any:
    """A value of an input type: every required field filled, ids pointing at nothing."""
    if isinstance(type_, GraphQLNonNull):
        return dummy(type_.of_type)
    if isinstance(type_, GraphQLList):
        return [dummy(type_.of_type)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        return {
            name: dummy(field.type)
            for name, field in type_.fields.items()
            if isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined
        }
    return SCALARS.get(type_.name, "x")


SCALARS: dict[str, Any] = {
    "ID": to_global_id("Account", 999_999),
    "Int": 1,
    "Float": 1.0,
    "Boolean": True,
    "String": "Dummy",
    "Decimal": "1",
    "Date": "2025-06-01",
    "DateTime": "2025-06-01T12:00:00+00:00",
    "JSON": {},
}


@pytest.mark.parametrize("role", list(Role))
async def test_every_contract_mutation_answers_alike_for_every_role(
    api: Api, engine: AsyncEngine, family: dict[str, int], role: Role
) -> None:
    """Mutations run serially: the planned context hands them to graphql-core untouched.

    Each runs in a transaction rolled back afterwards, once per executor, from the same
    state; inputs are made from the schema (required fields only, ids of nothing).
    """
    caller = await api.caller(role)
    mutations = {
        name: text
        for name, text in contract_operations().items()
        if "mutation" in text.split("(")[0].split("{")[0]
    }
    assert len(mutations) >= 20
    schemas = both_schemas()
    for name, text in mutations.items():
        operation = parse(text).definitions[0]
        assert isinstance(operation, OperationDefinitionNode)
        variables = {}
        for definition in operation.variable_definitions or ():
            type_ = type_from_ast(schemas[1]._schema, definition.type)
            if type_ is not None:  # else validation refuses the operation, in both alike
                variables[definition.variable.name.value] = dummy(type_)  # type: ignore[arg-type]
        answers = []
        for schema in schemas:
            async with engine.connect() as connection:
                outer = await connection.begin()
                session = AsyncSession(bind=connection, join_transaction_mode="create_savepoint")
                user = await session.get(User, caller.user_id)
                assert user is not None
                result = await schema.execute(
                    text, variable_values=variables, context_value=context(session, user)
                )
                await session.close()
                await outer.rollback()
            errors = [error.formatted for error in result.errors or []]
            answers.append((normalised(result.data), errors))
        assert answers[0] == answers[1], (name, json.dumps(answers, default=str))


def normalised(data: Any) -> Any:
    """Ids and clocks differ between two rolled-back runs (sequences and now() move on)."""
    if isinstance(data, dict):
        return {
            k: "<varies>" if k == "id" or k.endswith("At") else normalised(v)
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [normalised(v) for v in data]
    return data


async def test_a_future_shared_by_many_fields_is_awaited_without_fallback(api: Api) -> None:
    """Ten assignments of one user load that user once: ten coroutines, one future."""
    from tests.accounts.factories import create_account
    from tests.cadence.factories import create_assignment

    rep = await api.caller(Role.REP)
    for n in range(10):
        account = await create_account(api.session, f"Shared {n}")
        await create_assignment(api.session, account_id=account.id, user_id=rep.user_id)
    auth = {"Authorization": f"Bearer {rep.token}"}

    async def fallbacks() -> float:
        text = (await api.client.get("/metrics", headers=auth)).text
        rows = [
            r for r in text.splitlines() if r.startswith("accountflow_executor_fallbacks_total")
        ]
        return sum(float(r.split()[-1]) for r in rows if not r.startswith("#"))

    before = await fallbacks()
    data = await api.data(
        "{ accounts { edges { node { assignments { user { id } } } } } }", caller=rep
    )
    users = {a["user"]["id"] for e in data["accounts"]["edges"] for a in e["node"]["assignments"]}
    assert users == {rep.id}
    assert await fallbacks() == before
