"""The planned executor answers exactly as graphql-core does, and steps aside on errors."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.extensions.validation_cache import _get_validate_cache

from app.accounts.models import BuyingRole, Classification
from app.auth.models import Role, User
from app.settings import Settings
from schema import build_schema
from schema.context import Context
from schema.relay import to_global_id
from tests.accounts.factories import create_account, create_contact
from tests.support import Api

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


def context(session: AsyncSession, viewer: User) -> Context:
    settings = Settings.from_env({})
    return Context(session=session, viewer=viewer, token_id=0, request_id="t", settings=settings)


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
    with caplog.at_level(logging.DEBUG, logger="schema.executor"):
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
    with caplog.at_level(logging.DEBUG, logger="schema.executor"):
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
