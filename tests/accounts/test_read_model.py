"""Account's read model is the one copy: the type, the compiled path and the export follow it."""

from __future__ import annotations

from pathlib import Path

from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType, build_schema

from app.accounts import read
from app.imports.accounts import AccountImporter
from app.imports.export import EXPORTS
from app.models.auth import Role
from app.models.imports import ImportKind
from schema.engine.compiled import COVERED
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.support import Api

SDL = build_schema((Path(__file__).resolve().parents[2] / "schema" / "schema.graphql").read_text())


def _type(name: str) -> GraphQLObjectType:
    found = SDL.type_map[name]
    assert isinstance(found, GraphQLObjectType)
    return found


def test_every_column_is_a_field_of_the_type_and_compiled() -> None:
    for within, type_name in ((None, "Account"), ("address", "Address")):
        names = {c.name for c in read.COLUMNS if c.within == within}
        assert names <= set(_type(type_name).fields), type_name
        assert names <= COVERED[type_name], type_name


def test_every_contact_column_is_a_field_of_contact_compiled_and_exported() -> None:
    names = [c.name for c in read.CONTACT_COLUMNS]
    assert set(names) <= set(_type("Contact").fields)
    assert set(names) <= COVERED["Contact"]
    exported = EXPORTS[ImportKind.CONTACTS].columns
    written = [c.name for c in read.CONTACT_COLUMNS if c.exported]
    assert exported == ("id", "accountId", "accountExternalRef", *written)


def test_the_filter_input_is_the_read_models() -> None:
    given = SDL.type_map["AccountFilter"]
    assert isinstance(given, GraphQLInputObjectType)
    names = {f.name for f in read.FILTERS} | set(read.JOINED_FILTERS)
    assert set(given.fields) == names | {"includeArchived", "pipeline"}


def test_the_orders_are_the_read_models() -> None:
    given = SDL.type_map["AccountOrderField"]
    assert isinstance(given, GraphQLEnumType)
    orders = set(read.ORDER_COLUMNS) | set(read.COMPUTED_ORDERS)
    assert set(given.values) == {field.value for field in orders}
    assert set(read.OrderField) == orders | {read.OrderField.RELEVANCE}


def test_the_export_writes_the_columns_the_import_reads() -> None:
    assert EXPORTS[ImportKind.ACCOUNTS].columns == read.CSV_COLUMNS
    assert AccountImporter.columns == read.CSV_COLUMNS


async def test_a_nul_in_a_column_filter_names_that_filter(api: Api) -> None:
    rep = await api.caller(Role.REP)
    await create_account(api.session, "Acme", country_code="DE")
    query = "query($c: String) { accounts(filter: {countryCode: $c}) { totalCount } }"
    result = await api.gql(query, {"c": "d\x00e"}, caller=rep)
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in result["errors"]] == [
        ("INVALID_INPUT", "filter.countryCode")
    ]


async def test_each_column_filter_narrows_the_list(api: Api) -> None:
    rep = await api.caller(Role.REP)
    parent = await create_account(api.session, "Parent", country_code="FR")
    await create_account(api.session, "Kid", country_code="DE", industry="Farming")
    await create_account(api.session, "Branch", parent_id=parent.id, external_ref="b-1")
    query = "query($f: AccountFilter) { accounts(filter: $f) { edges { node { name } } } }"
    for given, names in [
        ({"countryCode": "de"}, ["Kid"]),
        ({"industry": "Farming"}, ["Kid"]),
        ({"industry": ""}, ["Branch", "Kid", "Parent"]),
        ({"parentId": to_global_id("Account", parent.id)}, ["Branch"]),
        ({"externalRef": " b-1 "}, ["Branch"]),
        ({"externalRef": ""}, []),
    ]:
        data = await api.data(query, {"f": given}, caller=rep)
        assert [e["node"]["name"] for e in data["accounts"]["edges"]] == names, given
