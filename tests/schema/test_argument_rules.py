"""Sorting or filtering by a value is reading it: a list's orders and filters follow the rule
table of the fields they stand for (schema/authz_arguments.py), on both read paths."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType, get_named_type

from app.models.auth import Role
from schema import permissions, schema
from schema.authz import ARGUMENT_RULES
from tests.accounts.factories import create_account
from tests.support import Api

GRAPHQL = schema._schema
EXECUTOR = "x-accountflow-executor"


def _list_arguments() -> Iterator[tuple[str, str]]:
    """(root, key) of every filter field and order of the Query's fields."""
    query = GRAPHQL.query_type
    assert query is not None
    for root, field in query.fields.items():
        for name, argument in field.args.items():
            named = get_named_type(argument.type)
            if name == "filter":
                assert isinstance(named, GraphQLInputObjectType)
                yield from ((root, f"filter.{f}") for f in named.fields)
            elif name == "orderBy":
                assert isinstance(named, GraphQLInputObjectType)
                values = get_named_type(named.fields["field"].type)
                assert isinstance(values, GraphQLEnumType)
                yield from ((root, f"orderBy.{v}") for v in values.values)


LIST_ARGUMENTS = sorted(_list_arguments())


@pytest.mark.parametrize(
    ("root", "key"), LIST_ARGUMENTS, ids=[f"{r}.{k}" for r, k in LIST_ARGUMENTS]
)
def test_every_filter_and_order_names_what_it_reads(root: str, key: str) -> None:
    assert key in ARGUMENT_RULES.get(root, {}), f"{root}({key}) has no rule in ARGUMENT_RULES"


def test_the_rules_name_real_filters_orders_and_fields() -> None:
    assert {(r, k) for r, rules in ARGUMENT_RULES.items() for k in rules} == set(LIST_ARGUMENTS)
    for rules in ARGUMENT_RULES.values():
        for fields in rules.values():
            for coordinate in fields:
                type_name, _, name = coordinate.partition(".")
                found = GRAPHQL.type_map.get(type_name)
                assert isinstance(found, GraphQLObjectType), coordinate
                assert name in found.fields, coordinate


REFUSED_TO_INTEGRATIONS = [
    ("orderBy: {field: REVENUE_LAST_12_MONTHS}", "orderBy"),
    ("orderBy: {field: NEXT_CONTACT_DUE, direction: DESC}", "orderBy"),
    ('filter: {assignedUserId: "VXNlcjox"}', "filter.assignedUserId"),
    ("filter: {managerType: SALES}", "filter.managerType"),
    ("filter: {cadenceStatus: [OVERDUE]}", "filter.cadenceStatus"),
    ('filter: {stage: "PROSPECT"}', "filter.stage"),
]


def _accounts(arguments: str) -> str:
    return f"{{ accounts(first: 5, {arguments}) {{ edges {{ cursor node {{ name }} }} }} }}"


@pytest.mark.parametrize(("arguments", "field"), REFUSED_TO_INTEGRATIONS)
async def test_an_integration_may_not_sort_or_filter_by_what_it_may_not_read(
    api: Api, arguments: str, field: str
) -> None:
    await create_account(api.session, "Acme")
    await api.session.commit()
    erp = await api.caller(Role.INTEGRATION)
    result = await api.gql(_accounts(arguments), caller=erp)
    assert result["data"] is None
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in result["errors"]] == [
        ("FORBIDDEN", field)
    ]


@pytest.mark.parametrize(("arguments", "field"), REFUSED_TO_INTEGRATIONS)
async def test_staff_sort_and_filter_by_them(api: Api, arguments: str, field: str) -> None:
    rep = await api.caller(Role.REP)
    result = await api.gql(_accounts(arguments), caller=rep)
    assert "errors" not in result


async def test_an_integration_filters_by_what_it_reads_on_the_compiled_path(api: Api) -> None:
    await create_account(api.session, "Acme", industry="Dairy")
    await create_account(api.session, "Other", industry="Steel")
    await api.session.commit()
    erp = await api.caller(Role.INTEGRATION)
    query = _accounts('filter: {industry: "Dairy"}, orderBy: {field: CREATED_AT}')
    response = await api.post(query, caller=erp)
    assert response.headers[EXECUTOR] == "compiled"
    edges = response.json()["data"]["accounts"]["edges"]
    assert [e["node"]["name"] for e in edges] == ["Acme"]


@pytest.fixture
def created_at_needs_revenue() -> Iterator[None]:
    """A rule that refuses an order the compiled path covers: CREATED_AT reads revenue."""
    rules = ARGUMENT_RULES["accounts"]
    before = rules["orderBy.CREATED_AT"]
    rules["orderBy.CREATED_AT"] = ("Account.revenueLast12Months",)
    permissions._argument_readers.cache_clear()
    yield
    rules["orderBy.CREATED_AT"] = before
    permissions._argument_readers.cache_clear()


@pytest.mark.usefixtures("created_at_needs_revenue")
async def test_the_compiled_path_follows_the_same_rules(api: Api) -> None:
    await create_account(api.session, "Acme")
    await api.session.commit()
    erp = await api.caller(Role.INTEGRATION)
    query = """query($order: AccountOrder) {
        accounts(first: 5, orderBy: $order) { edges { node { name } } } }"""
    by_name = await api.post(query, {"order": {"field": "NAME"}}, caller=erp)
    assert by_name.headers[EXECUTOR] == "compiled"
    # The same document and role with another order: the compiled plan does not serve it.
    by_creation = await api.post(query, {"order": {"field": "CREATED_AT"}}, caller=erp)
    assert by_creation.headers[EXECUTOR] == "graphql"
    errors: list[dict[str, Any]] = by_creation.json()["errors"]
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in errors] == [
        ("FORBIDDEN", "orderBy")
    ]
    rep = await api.caller(Role.REP)
    allowed = await api.post(query, {"order": {"field": "CREATED_AT"}}, caller=rep)
    assert allowed.headers[EXECUTOR] == "compiled"
