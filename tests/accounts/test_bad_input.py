"""Bad input: a UserError naming the field, and nothing written."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from app.models.accounts import Account
from app.models.audit import AuditEntry
from app.models.auth import Role
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.support import Api


async def _rows(api: Api) -> tuple[int, int]:
    accounts = await api.session.scalar(select(func.count()).select_from(Account))
    audits = await api.session.scalar(select(func.count()).select_from(AuditEntry))
    return int(accounts or 0), int(audits or 0)


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"name": ""}, "name", "INVALID_INPUT"),
        ({"name": "   "}, "name", "INVALID_INPUT"),
        ({"name": "x" * 201}, "name", "INVALID_INPUT"),
        ({"name": "Acme", "email": "not-an-email"}, "email", "INVALID_INPUT"),
        (
            {"name": "Acme", "address": {"countryCode": "XX"}},
            "address.countryCode",
            "INVALID_INPUT",
        ),
        (
            {"name": "Acme", "address": {"countryCode": "DEU"}},
            "address.countryCode",
            "INVALID_INPUT",
        ),
        ({"name": "Acme", "parentId": to_global_id("Account", 999999)}, "parentId", "NOT_FOUND"),
        ({"name": "Acme", "parentId": "bm9wZQ=="}, "parentId", "INVALID_ID"),
        ({"name": "Acme", "attributes": [1, 2]}, "attributes", "INVALID_INPUT"),
    ],
)
async def test_create_account_rejects(
    api: Api, fields: dict[str, Any], field: str, code: str
) -> None:
    manager = await api.caller(Role.MANAGER)
    before = await _rows(api)
    result = (await api.op("CreateAccount", {"input": fields}, caller=manager))["createAccount"]
    assert result["account"] is None
    assert [(e["code"], e["field"]) for e in result["errors"]] == [(code, field)]
    assert await _rows(api) == before


async def test_every_bad_field_is_reported_at_once(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    result = (
        await api.op("CreateAccount", {"input": {"name": "", "email": "nope"}}, caller=manager)
    )["createAccount"]
    assert sorted(e["field"] for e in result["errors"]) == ["email", "name"]


async def test_duplicate_external_ref_is_refused(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    await create_account(api.session, "First", external_ref="ERP-7")
    before = await _rows(api)
    result = (
        await api.op(
            "CreateAccount", {"input": {"name": "Second", "externalRef": "ERP-7"}}, caller=manager
        )
    )["createAccount"]
    assert [(e["code"], e["field"]) for e in result["errors"]] == [
        ("ALREADY_EXISTS", "externalRef")
    ]
    assert await _rows(api) == before


async def test_parent_cycle_is_refused(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    top = await create_account(api.session, "Top")
    middle = await create_account(api.session, "Middle", parent_id=top.id)
    leaf = await create_account(api.session, "Leaf", parent_id=middle.id)
    result = (
        await api.op(
            "UpdateAccount",
            {
                "input": {
                    "id": to_global_id("Account", top.id),
                    "parentId": to_global_id("Account", leaf.id),
                }
            },
            caller=manager,
        )
    )["updateAccount"]
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("INVALID_INPUT", "parentId")]
    self_parent = (
        await api.op(
            "UpdateAccount",
            {
                "input": {
                    "id": to_global_id("Account", top.id),
                    "parentId": to_global_id("Account", top.id),
                }
            },
            caller=manager,
        )
    )["updateAccount"]
    assert [e["field"] for e in self_parent["errors"]] == ["parentId"]
    await api.session.refresh(top)
    assert top.parent_id is None


async def test_contact_with_bad_email_and_unknown_account(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    account = await create_account(api.session, "Acme")
    bad_email = (
        await api.op(
            "AddContact",
            {
                "input": {
                    "accountId": to_global_id("Account", account.id),
                    "name": "Ann",
                    "email": "ann@",
                }
            },
            caller=manager,
        )
    )["addContact"]
    assert [e["field"] for e in bad_email["errors"]] == ["email"]
    unknown = (
        await api.op(
            "AddContact",
            {"input": {"accountId": to_global_id("Account", 424242), "name": "Ann"}},
            caller=manager,
        )
    )["addContact"]
    assert [(e["code"], e["field"]) for e in unknown["errors"]] == [("NOT_FOUND", "accountId")]


async def test_create_user_rejects_duplicate_and_malformed_email(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    variables = {"input": {"email": "Dup@Example.org", "name": "Dup", "role": "REP"}}
    assert (await api.op("CreateUser", variables, caller=admin))["createUser"]["errors"] == []
    again = (await api.op("CreateUser", variables, caller=admin))["createUser"]
    assert [(e["code"], e["field"]) for e in again["errors"]] == [("ALREADY_EXISTS", "email")]
    bad = (
        await api.op(
            "CreateUser", {"input": {"email": "nope", "name": "", "role": "REP"}}, caller=admin
        )
    )["createUser"]
    assert sorted(e["field"] for e in bad["errors"]) == ["email", "name"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "Ac\x00me"}, "name"),
        ({"name": "Acme", "industry": "\x00"}, "industry"),
        ({"name": "Acme", "address": {"city": "Be\x00rlin"}}, "city"),
        ({"name": "Acme", "attributes": {"k": ["ok", "n\x00"]}}, "attributes"),
        ({"name": "Acme", "attributes": {"k\x00": 1}}, "attributes"),
    ],
)
async def test_nul_characters_are_refused_by_field(
    api: Api, fields: dict[str, Any], field: str
) -> None:
    manager = await api.caller(Role.MANAGER)
    before = await _rows(api)
    result = (await api.op("CreateAccount", {"input": fields}, caller=manager))["createAccount"]
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("INVALID_INPUT", field)]
    assert await _rows(api) == before


async def test_a_nul_in_a_query_argument_is_invalid_input_not_internal(api: Api) -> None:
    rep = await api.caller(Role.REP)
    query = "query($s: String) { accounts(filter: {search: $s}) { totalCount } }"
    result = await api.gql(query, {"s": "a\x00b"}, caller=rep)
    assert [e["extensions"]["code"] for e in result["errors"]] == ["INVALID_INPUT"]


@pytest.mark.parametrize(
    "attributes",
    [{"big": 2**64}, {"list": [1, 1e21]}, {"deep": {"n": -1e19}}, {"f": 1e100}],
)
async def test_numbers_no_reader_could_send_back_are_refused(
    api: Api, attributes: dict[str, Any]
) -> None:
    """jsonb keeps 1e21 as a 22-digit integer, which no 64-bit JSON writer can answer: such
    an account would fail every read (found by the differential test)."""
    manager = await api.caller(Role.MANAGER)
    before = await _rows(api)
    variables = {"input": {"name": "Acme", "attributes": attributes}}
    result = (await api.op("CreateAccount", variables, caller=manager))["createAccount"]
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("INVALID_INPUT", "attributes")]
    assert await _rows(api) == before


async def test_large_numbers_below_the_limit_read_back(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    attributes = {"n": 2**64 - 1, "low": -(2**63), "f": 1.8e19, "small": 1e-300}
    created = await api.op(
        "CreateAccount", {"input": {"name": "Acme", "attributes": attributes}}, caller=manager
    )
    account_id = created["createAccount"]["account"]["id"]
    query = "query($id: ID!) { node(id: $id) { ... on Account { attributes } } }"
    found = await api.data(query, {"id": account_id}, caller=manager)
    assert found["node"]["attributes"] == attributes
